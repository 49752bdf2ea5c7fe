from tests.incidents.conftest import analyzer

__all__ = ["analyzer"]
