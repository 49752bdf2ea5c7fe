from tests.web.test_auth import signed

__all__ = ["signed"]
