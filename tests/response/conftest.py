from tests.incidents.conftest import analyzer, run_replay

__all__ = ["analyzer", "run_replay"]
