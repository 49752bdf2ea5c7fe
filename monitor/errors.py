"""One exception hierarchy; foreign errors are converted at the seam where they enter."""


class MonitorError(Exception):
    """Base of every error a person is meant to read. ``exit_code`` is what the CLI returns."""

    exit_code = 1


class ConfigError(MonitorError):
    exit_code = 2


class SourceError(MonitorError):
    """A fetch or parse failure of one source; recorded in its health row, never fatal."""

    def __init__(self, source: str, message: str, *, http_status: int | None = None,
                 retry_after_s: float | None = None) -> None:
        super().__init__(f"source {source!r}: {message}")
        self.source = source
        self.reason = message
        self.http_status = http_status
        self.retry_after_s = retry_after_s

    def __reduce__(self) -> tuple[object, ...]:
        # raised in parser worker processes, so it must survive pickling
        return (_source_error, (self.source, self.reason, self.http_status, self.retry_after_s))


def _source_error(source: str, reason: str, http_status: int | None,
                  retry_after_s: float | None) -> SourceError:
    return SourceError(source, reason, http_status=http_status, retry_after_s=retry_after_s)


class StoreError(MonitorError):
    exit_code = 3
