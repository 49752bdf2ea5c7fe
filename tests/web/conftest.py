from tests.incidents.conftest import analyzer
from tests.web.test_auth import signed

__all__ = ["analyzer", "signed"]
