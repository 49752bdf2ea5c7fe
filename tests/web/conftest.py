from tests.incidents.conftest import analyzer
from tests.web.test_auth import signed
from tests.web.test_browser import demo_db

__all__ = ["analyzer", "demo_db", "signed"]
