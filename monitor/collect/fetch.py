"""One HTTP fetch of one feed: conditional GET, redirects checked hop by hop, a total timeout,
a body cap counted after decompression, per-host politeness. Foreign errors become SourceError."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from urllib.parse import urljoin, urlsplit

import aiohttp
from multidict import CIMultiDictProxy

from monitor.collect.guard import AddressGuard, GuardedResolver
from monitor.config import FetchSettings, HostPolicy, SourceList
from monitor.errors import SourceError
from monitor.records import Source

log = logging.getLogger(__name__)
_REDIRECTS = {301, 302, 303, 307, 308}
_CHUNK = 64 * 1024
RSSHUB_CONCURRENCY = 8  # the operator's own server, which is built to be asked
MAX_PAUSE_WAIT_S = 60.0  # a request queues through a host's pause up to this long
BUSY_PAUSE_S = 30.0  # a 429 without Retry-After
LONG_ROUND_S = 60.0  # a host's queue this long is logged with the round's length


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


@dataclass(frozen=True, slots=True)
class HostLimits:
    concurrency: int  # requests at once
    gap: float  # seconds between request starts
    headers: dict[str, str] = field(default_factory=dict)


class HostBusy(Exception):
    """The host asked us to wait longer than a request may queue for it."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"host busy for {seconds:.0f} s")
        self.seconds = seconds


class HostThrottle:
    """Each host's limits: ``concurrency`` requests at once, ``gap`` seconds between starts,
    and a pause when it answers 429 or 503 with Retry-After. Waiting here is scheduling, not
    slowness: no request timeout runs while a request waits for its host."""

    def __init__(self, default: HostLimits, limits: Mapping[str, HostLimits] | None = None,
                 max_pause_wait: float = MAX_PAUSE_WAIT_S) -> None:
        self.default = default
        self.limits = dict(limits or {})
        self.max_pause_wait = max_pause_wait
        self._slots: dict[str, asyncio.Semaphore] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._last_start: dict[str, float] = {}
        self._paused_until: dict[str, float] = {}

    def of(self, host: str) -> HostLimits:
        return self.limits.get(host, self.default)

    def pause(self, host: str, seconds: float) -> None:
        until = time.monotonic() + seconds
        self._paused_until[host] = max(self._paused_until.get(host, 0.0), until)

    def paused_for(self, host: str) -> float:
        return max(0.0, self._paused_until.get(host, 0.0) - time.monotonic())

    async def acquire(self, host: str) -> None:
        """Wait for a slot and the gap (and a short pause); HostBusy for a long pause."""
        limits = self.of(host)
        slots = self._slots.setdefault(host, asyncio.Semaphore(limits.concurrency))
        if (paused := self.paused_for(host)) > self.max_pause_wait:
            raise HostBusy(paused)
        await slots.acquire()
        try:
            async with self._locks.setdefault(host, asyncio.Lock()):
                if (paused := self.paused_for(host)) > self.max_pause_wait:
                    raise HostBusy(paused)
                wait = max(paused, self._last_start.get(host, -1e18) + limits.gap
                           - time.monotonic())
                if wait > 0:
                    await asyncio.sleep(wait)
                self._last_start[host] = time.monotonic()
        except BaseException:
            slots.release()
            raise

    def release(self, host: str) -> None:
        self._slots[host].release()


class Fetcher:
    """Owns the process's one client session, its address guard and the per-host throttle."""

    def __init__(self, settings: FetchSettings, trusted_hosts: Sequence[str] = (),
                 hosts: Mapping[str, HostPolicy] | None = None,
                 rsshub_host: str | None = None) -> None:
        """``trusted_hosts`` join the private-address allow-list (the sources' own RSSHub);
        ``hosts``: sources.yaml's per-host settings; ``rsshub_host``: the operator's own
        RSSHub, which gets generous defaults."""
        self.settings = settings
        self.guard = AddressGuard([*settings.allow_private, *trusted_hosts])
        default = HostLimits(settings.per_host, settings.host_gap)
        limits = {}
        if rsshub_host:
            limits[rsshub_host] = HostLimits(max(RSSHUB_CONCURRENCY, settings.per_host), 0.0)
        for name, policy in (hosts or {}).items():
            base = limits.get(name, default)
            limits[name] = HostLimits(
                policy.concurrency if policy.concurrency is not None else base.concurrency,
                policy.gap if policy.gap is not None else base.gap, dict(policy.headers))
        self.throttle = HostThrottle(default, limits)
        self.rsshub_host = rsshub_host
        # requests at once over all hosts, taken after the host's own slot so that a long
        # queue for one host never holds back the others
        self._slots = asyncio.Semaphore(settings.concurrency)
        self._session: aiohttp.ClientSession | None = None

    @classmethod
    def for_sources(cls, settings: FetchSettings, sources: SourceList) -> Fetcher:
        return cls(settings, sources.trusted_hosts, sources.hosts, sources.rsshub_host)

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

    def long_rounds(self, sources: Sequence[Source]) -> dict[str, tuple[int, float]]:
        """Hosts whose queue makes a round of these sources long: how many sources each has
        and the least time the round takes, from the host's gap alone."""
        by_host = Counter((urlsplit(s.url).hostname or "").lower() for s in sources)
        return {host: (count, least) for host, count in by_host.items()
                if (least := (count - 1) * self.throttle.of(host).gap) >= LONG_ROUND_S}

    async def fetch(self, source: Source, validators: Validators) -> FetchResult:
        try:
            return await self._follow(source, validators)
        except TimeoutError:
            raise SourceError(source.name, f"timed out after {self.settings.timeout} s of "
                              "request (slow or stalled server)", fault="slow") from None
        except aiohttp.ClientConnectorDNSError as exc:
            raise SourceError(source.name, f"DNS lookup failed: {exc.os_error}",
                              fault="down") from None
        except aiohttp.ClientConnectorError as exc:
            raise SourceError(source.name, f"cannot connect: {exc.os_error}; is the server up "
                              "and the URL right?", fault="down") from None
        except aiohttp.ClientError as exc:
            raise SourceError(source.name, f"HTTP error: {type(exc).__name__}: {exc}",
                              fault="down") from None

    async def _follow(self, source: Source, validators: Validators) -> FetchResult:
        url = source.url
        seen = {url}
        warnings: list[str] = []
        conditional = {}
        if validators.etag:
            conditional["If-None-Match"] = validators.etag
        if validators.last_modified:
            conditional["If-Modified-Since"] = validators.last_modified
        # the timeout is the request's own time: redirects included, queueing not
        budget = float(self.settings.timeout)
        for _hop in range(self.settings.max_redirects + 1):
            host = (urlsplit(url).hostname or "").lower()
            refusal = self.guard.refusal(host)
            if refusal:
                raise SourceError(source.name, f"{refusal} (url {url})")
            headers = {**self.throttle.of(host).headers, **source.headers, **conditional}
            try:
                await self.throttle.acquire(host)
            except HostBusy as busy:
                raise SourceError(source.name, f"not asked: {host} asked us to wait "
                                  f"{busy.seconds:.0f} s more (429/503 Retry-After)",
                                  retry_after_s=busy.seconds, fault="busy") from None
            try:
                async with self._slots:
                    started = time.monotonic()
                    try:
                        async with asyncio.timeout(budget), self.session.get(
                                url, headers=headers, allow_redirects=False) as resp:
                            self._heed_busy(resp, host)
                            target = _redirect_target(resp, url, source)
                            if target is None:
                                return await _result(resp, source, url, self.settings,
                                                     warnings)
                    finally:
                        budget = max(0.001, budget - (time.monotonic() - started))
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

    def _heed_busy(self, resp: aiohttp.ClientResponse, host: str) -> None:
        """429, or 503 with Retry-After: the host is busy, so all its sources wait. Not for
        RSSHub: there it is one route's upstream that is limited, not the server."""
        if host == self.rsshub_host:
            return
        retry = retry_after_s(resp.headers.get("Retry-After"))
        if resp.status == 429 or (resp.status == 503 and retry is not None):
            seconds = min(retry if retry is not None else BUSY_PAUSE_S, self.settings.max_interval)
            self.throttle.pause(host, seconds)
            log.warning("host %s answered HTTP %d: its sources wait %.0f s", host, resp.status,
                        seconds)


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
        busy = resp.status == 429 or (resp.status == 503 and retry is not None)
        fault = "busy" if busy else "down" if resp.status >= 500 else "refused"
        raise SourceError(source.name, f"HTTP {resp.status} {reason}".rstrip(),
                          http_status=resp.status, retry_after_s=retry, fault=fault)
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
