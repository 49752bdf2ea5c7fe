"""One exception hierarchy; foreign errors are converted at the seam where they enter."""


class MonitorError(Exception):
    """Base of every error a person is meant to read. ``exit_code`` is what the CLI returns."""

    exit_code = 1


class ConfigError(MonitorError):
    exit_code = 2


class SourceError(MonitorError):
    """A fetch or parse failure of one source; recorded in its health row, never fatal."""

    def __init__(self, source: str, message: str, *, http_status: int | None = None,
                 retry_after_s: float | None = None, fault: str | None = None) -> None:
        """``fault``: whose it is, for source health (see FAULTS); None: the feed's own."""
        super().__init__(f"source {source!r}: {message}")
        self.source = source
        self.reason = message
        self.http_status = http_status
        self.retry_after_s = retry_after_s
        self.fault = fault

    def __reduce__(self) -> tuple[object, ...]:
        # raised in parser worker processes, so it must survive pickling
        return (_source_error, (self.source, self.reason, self.http_status, self.retry_after_s,
                                self.fault))


# what a failed fetch says of the server, in the words source health shows
FAULTS = {"busy": "主机繁忙，排队等待", "slow": "服务器响应慢", "down": "服务器无法访问",
          "refused": "请求被拒绝", "feed": "内容无法解析"}


def _source_error(source: str, reason: str, http_status: int | None,
                  retry_after_s: float | None, fault: str | None) -> SourceError:
    return SourceError(source, reason, http_status=http_status, retry_after_s=retry_after_s,
                       fault=fault)


class StoreError(MonitorError):
    exit_code = 3
