"""One HTTP fetch of one feed: conditional GET, redirects checked hop by hop, a total timeout,
a body cap counted after decompression, per-host politeness. Foreign errors become SourceError."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from urllib.parse import urljoin, urlsplit

import aiohttp
from multidict import CIMultiDictProxy

from monitor.collect.guard import AddressGuard, GuardedResolver
from monitor.config import FetchSettings
from monitor.errors import SourceError
from monitor.records import Source

_REDIRECTS = {301, 302, 303, 307, 308}
_CHUNK = 64 * 1024


@dataclass(frozen=True, slots=True)
class Validators:
    etag: str | None = None
    last_modified: str | None = None


@dataclass(frozen=True, slots=True)
class FetchResult:
    status: int
    final_url: str
    body: bytes | None  # None on 304
    content_type: str | None
    validators: Validators
    cache_hint_s: int | None  # Cache-Control max-age / Expires: no point asking sooner
    warnings: list[str] = field(default_factory=list)

    @property
    def not_modified(self) -> bool:
        return self.status == 304


class HostThrottle:
    """At most ``per_host`` requests at once to one host, and ``gap`` seconds between starts."""

    def __init__(self, per_host: int, gap: float) -> None:
        self.per_host = per_host
        self.gap = gap
        self._slots: dict[str, asyncio.Semaphore] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._last_start: dict[str, float] = {}

    async def acquire(self, host: str) -> None:
        await self._slots.setdefault(host, asyncio.Semaphore(self.per_host)).acquire()
        try:
            async with self._locks.setdefault(host, asyncio.Lock()):
                wait = self._last_start.get(host, -1e18) + self.gap - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                self._last_start[host] = time.monotonic()
        except BaseException:
            self._slots[host].release()
            raise

    def release(self, host: str) -> None:
        self._slots[host].release()


class Fetcher:
    """Owns the process's one client session, its address guard and the per-host throttle."""

    def __init__(self, settings: FetchSettings, trusted_hosts: Sequence[str] = ()) -> None:
        """``trusted_hosts`` join the private-address allow-list (the sources' own RSSHub)."""
        self.settings = settings
        self.guard = AddressGuard([*settings.allow_private, *trusted_hosts])
        self.throttle = HostThrottle(settings.per_host, settings.host_gap)
        self._session: aiohttp.ClientSession | None = None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:  # made lazily: a session must be created inside the loop
            connector = aiohttp.TCPConnector(resolver=GuardedResolver(self.guard),
                                             limit=self.settings.concurrency, ttl_dns_cache=300)
            self._session = aiohttp.ClientSession(
                connector=connector, headers={"User-Agent": self.settings.user_agent},
                timeout=aiohttp.ClientTimeout(total=None,
                                              sock_connect=self.settings.connect_timeout))
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def fetch(self, source: Source, validators: Validators) -> FetchResult:
        try:
            async with asyncio.timeout(self.settings.timeout):
                return await self._follow(source, validators)
        except TimeoutError:
            raise SourceError(source.name, f"timed out after {self.settings.timeout} s "
                              "(slow or stalled server)") from None
        except aiohttp.ClientConnectorDNSError as exc:
            raise SourceError(source.name, f"DNS lookup failed: {exc.os_error}") from None
        except aiohttp.ClientConnectorError as exc:
            raise SourceError(source.name, f"cannot connect: {exc.os_error}; is the server up "
                              "and the URL right?") from None
        except aiohttp.ClientError as exc:
            raise SourceError(source.name, f"HTTP error: {type(exc).__name__}: {exc}") from None

    async def _follow(self, source: Source, validators: Validators) -> FetchResult:
        url = source.url
        seen = {url}
        warnings: list[str] = []
        headers = dict(source.headers)
        if validators.etag:
            headers["If-None-Match"] = validators.etag
        if validators.last_modified:
            headers["If-Modified-Since"] = validators.last_modified
        for _hop in range(self.settings.max_redirects + 1):
            host = (urlsplit(url).hostname or "").lower()
            refusal = self.guard.refusal(host)
            if refusal:
                raise SourceError(source.name, f"{refusal} (url {url})")
            await self.throttle.acquire(host)
            try:
                async with self.session.get(url, headers=headers, allow_redirects=False) as resp:
                    target = _redirect_target(resp, url, source)
                    if target is None:
                        return await _result(resp, source, url, self.settings, warnings)
            finally:
                self.throttle.release(host)
            if target in seen:
                raise SourceError(source.name, f"redirect loop at {target}")
            if resp.status in (301, 308):
                warnings.append(f"moved permanently to {target}; update sources.yaml")
            seen.add(target)
            url = target
        raise SourceError(source.name, f"more than {self.settings.max_redirects} redirects "
                          f"(last to {url})")


def _redirect_target(resp: aiohttp.ClientResponse, url: str, source: Source) -> str | None:
    if resp.status not in _REDIRECTS or "Location" not in resp.headers:
        return None
    target = urljoin(url, resp.headers["Location"])
    if urlsplit(target).scheme not in ("http", "https"):
        raise SourceError(source.name, f"redirect to a non-HTTP URL {target}")
    return target


async def _result(resp: aiohttp.ClientResponse, source: Source, url: str,
                  settings: FetchSettings, warnings: list[str]) -> FetchResult:
    validators = Validators(resp.headers.get("ETag"), resp.headers.get("Last-Modified"))
    hint = cache_hint_s(resp.headers)
    if resp.status == 304:
        return FetchResult(304, url, None, None, validators, hint, warnings)
    if resp.status >= 400:
        retry = retry_after_s(resp.headers.get("Retry-After"))
        reason = resp.reason or ""
        raise SourceError(source.name, f"HTTP {resp.status} {reason}".rstrip(),
                          http_status=resp.status, retry_after_s=retry)
    if resp.status != 200:
        raise SourceError(source.name, f"unexpected HTTP {resp.status}", http_status=resp.status)
    body = await read_capped(resp, settings.max_body, source.name)
    return FetchResult(200, url, body, resp.headers.get("Content-Type"), validators, hint,
                       warnings)


async def read_capped(resp: aiohttp.ClientResponse, cap: int, name: str) -> bytes:
    """Read the body in chunks, stopping as soon as it passes ``cap`` decompressed bytes."""
    declared = resp.content_length
    if declared is not None and declared > cap and "Content-Encoding" not in resp.headers:
        raise SourceError(name, f"body of {declared} bytes exceeds the {cap}-byte cap",
                          http_status=resp.status)
    parts: list[bytes] = []
    size = 0
    async for chunk in resp.content.iter_chunked(_CHUNK):
        size += len(chunk)
        if size > cap:
            raise SourceError(name, f"body exceeds the {cap}-byte cap (counted after "
                              "decompression); stopped reading", http_status=resp.status)
        parts.append(chunk)
    return b"".join(parts)


def retry_after_s(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def cache_hint_s(headers: CIMultiDictProxy[str]) -> int | None:
    for directive in headers.get("Cache-Control", "").split(","):
        name, _, value = directive.strip().partition("=")
        if name.lower() == "max-age" and value.strip().isdigit():
            return int(value)
    expires = headers.get("Expires")
    if expires:
        try:
            delta = parsedate_to_datetime(expires).timestamp() - time.time()
        except (TypeError, ValueError):
            return None
        return max(0, int(delta))
    return None
