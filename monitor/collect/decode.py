"""Feed bytes to Items. Pure: no I/O, time is passed in."""

from __future__ import annotations

import calendar
import hashlib
import html
import json
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urljoin

import feedparser
import nh3

from monitor.collect import fastfeed
from monitor.collect.encoding import as_utf8_xml, decode_bytes
from monitor.collect.normalize import normalize_title, normalize_url
from monitor.errors import SourceError
from monitor.records import Item, Source, SourceKind

MAX_SUMMARY_CHARS = 20_000
MAX_GUID_CHARS = 200
UNRELIABLE_GUID_SHARE = 0.05  # FreshRSS: beyond 5% empty or repeated GUIDs, identify by link/hash
_WS = re.compile(r"\s+")
_TZ_GIVEN = re.compile(r"(Z|[+-]\d{2}:?\d{2}|\b(?:GMT|UTC|UT|[A-Z]{3}))\s*$|T\d.*Z", re.IGNORECASE)
_CST = re.compile(r"\bCST\b")
_HTML_PAGE = re.compile(rb"^\s*(<!--.*?-->\s*)*<(!doctype\s+html|html)", re.IGNORECASE | re.DOTALL)
# Characters nh3 may change: text without them comes out of nh3 as it went in (no tag,
# entity, carriage return, NUL or byte order mark to read; for the sanitiser no > or no-break
# space to escape either), so most titles need no nh3 call at all.
_NH3_PLAIN_CHANGES = re.compile("[<&\x00\r\ufeff]")
_NH3_CLEAN_CHANGES = re.compile("[<>&\x00\r\ufeff\xa0]")


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    items: list[Item]
    encoding: str
    warnings: list[str] = field(default_factory=list)
    ttl_s: int | None = None  # the feed's own <ttl>, a floor for the poll interval
    title: str | None = None
    reader: str = "feedparser"  # what read the entries: "fastfeed", "feedparser" or "json"


@dataclass(frozen=True, slots=True)
class _Entry:
    guid: str | None
    link: str
    title: str
    summary: str
    published_at: datetime | None


def decode_feed(body: bytes, content_type: str | None, source: Source, base_url: str,
                fetched_at: datetime, fast_path: bool = True) -> ParsedFeed:
    """Decode, parse and turn entries into Items. Raises SourceError when nothing readable
    is there (an HTML page, an empty body, garbage); a damaged feed yields what can be read
    plus a warning. ``fast_path=False`` has feedparser read every XML feed (the reference
    that the fast reader is measured against)."""
    if not body.strip():
        raise SourceError(source.name, "empty response body; check the URL")
    decoded = decode_bytes(body, content_type)
    stripped = decoded.text.lstrip()
    if source.kind is SourceKind.JSON or stripped.startswith("{"):
        entries, meta = _parse_json_feed(decoded.text, source)
        meta["reader"] = "json"
    else:
        entries, meta = _parse_xml_feed(decoded.text, body, content_type, source, fast_path)
    language = meta.get("language")
    items = _to_items(entries, source, base_url, fetched_at, language, decoded.note)
    return ParsedFeed(items=items, encoding=decoded.note, warnings=meta.get("warnings", []),
                      ttl_s=meta.get("ttl_s"), title=meta.get("title"), reader=meta["reader"])


def _parse_xml_feed(text: str, raw: bytes, content_type: str | None, source: Source,
                    fast_path: bool = True) -> tuple[list[_Entry], dict[str, Any]]:
    data = as_utf8_xml(text)
    fast = _read_fast(data) if fast_path else None
    feed: Any
    raw_entries: list[Any]
    warnings: list[str]
    if fast is not None:
        # Only a well-formed feed of a known shape with entries gets here, so there is no
        # warning to give and no SourceError to raise.
        feed, raw_entries, warnings, reader = fast.feed, fast.entries, [], "fastfeed"
    else:
        feed, raw_entries, warnings = _read_feedparser(data, raw, content_type, source)
        reader = "feedparser"
    ttl_s = None
    ttl = str(feed.get("ttl", "")).strip()
    if ttl.isdigit():
        ttl_s = int(ttl) * 60
    entries = [_xml_entry(e) for e in raw_entries]
    meta = {"warnings": warnings, "ttl_s": ttl_s, "language": feed.get("language"),
            "title": _plain(feed.get("title", "")), "reader": reader}
    return entries, meta


def _read_fast(data: bytes) -> fastfeed.FastFeed | None:
    try:
        return fastfeed.read(data)
    except fastfeed.NotTrusted:
        return None


def _read_feedparser(data: bytes, raw: bytes, content_type: str | None,
                     source: Source) -> tuple[Any, list[Any], list[str]]:
    # We sanitise summaries ourselves (nh3) and resolve links against the final URL, so
    # feedparser's own sanitiser, ~3x its parse time, is switched off.
    parsed = feedparser.parse(data, sanitize_html=False, resolve_relative_uris=False)
    warnings: list[str] = []
    if not parsed.entries:
        if _HTML_PAGE.match(raw[:4096]) or "html" in (content_type or "").lower():
            raise SourceError(source.name, "the server sent an HTML page, not a feed; "
                              "check the URL (it may be a login, error or redirect page)")
        if parsed.bozo and not parsed.version:
            raise SourceError(source.name, f"not a readable feed: {_bozo_text(parsed)}")
        # broken before its first entry: what follows is lost, so it is no healthy empty feed
        if parsed.bozo and not isinstance(parsed.get("bozo_exception"),
                                          feedparser.CharacterEncodingOverride):
            raise SourceError(source.name, f"malformed feed, no entry could be read: "
                              f"{_bozo_text(parsed)}")
    elif parsed.bozo:
        warnings.append(f"malformed feed, read {len(parsed.entries)} entries anyway: "
                        f"{_bozo_text(parsed)}")
    return parsed.feed, parsed.entries, warnings


def _bozo_text(parsed: Any) -> str:
    exc = parsed.get("bozo_exception")
    line = getattr(exc, "getLineNumber", lambda: None)() if exc is not None else None
    where = f" at line {line}" if line else ""
    return f"{type(exc).__name__}{where}: {exc}" if exc else "unknown parse problem"


def _xml_entry(entry: Any) -> _Entry:
    summary = entry.get("summary") or ""
    if not summary and entry.get("content"):
        summary = entry["content"][0].get("value", "")
    published = _entry_time(entry, "published") or _entry_time(entry, "updated")
    return _Entry(guid=(entry.get("id") or "").strip() or None,
                  link=(entry.get("link") or "").strip(),
                  title=entry.get("title") or "", summary=summary, published_at=published)


def _entry_time(entry: Any, key: str) -> datetime | None:
    # dict.get: FeedParserDict would answer "updated" with "published" and a
    # DeprecationWarning; decode only asks for "updated" when "published" could not be read.
    parsed = dict.get(entry, f"{key}_parsed")
    if not parsed or not isinstance(parsed, tuple):
        return None  # none read, or an element named published_parsed standing in for it
    raw = str(dict.get(entry, key, ""))
    stamp = datetime.fromtimestamp(calendar.timegm(parsed), UTC)
    if _CST.search(raw):
        # Chinese sites (Java's Date.toString) write CST for China Standard Time, +08:00;
        # feedparser reads it as US Central, -06:00.
        return stamp - timedelta(hours=14)
    if not _TZ_GIVEN.search(raw.strip()):
        # No zone given: feedparser assumed UTC, but these feeds mean Beijing time.
        return stamp - timedelta(hours=8)
    return stamp


def _parse_json_feed(text: str, source: Source) -> tuple[list[_Entry], dict[str, Any]]:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SourceError(source.name, f"not a readable JSON Feed: {exc}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("items"), list):
        raise SourceError(source.name, "not a JSON Feed: no \"items\" list at the top level")
    warnings = []
    if not str(doc.get("version", "")).startswith("https://jsonfeed.org/version/"):
        warnings.append("JSON feed without a jsonfeed.org version; read as JSON Feed 1.1")
    entries = []
    for raw in doc["items"]:
        if not isinstance(raw, dict):
            warnings.append("skipped a JSON Feed item that is not an object")
            continue
        summary = raw.get("content_html") or raw.get("summary") or html.escape(
            str(raw.get("content_text") or ""))
        entries.append(_Entry(
            guid=str(raw["id"]).strip() or None if raw.get("id") is not None else None,
            link=str(raw.get("url") or raw.get("external_url") or "").strip(),
            title=str(raw.get("title") or ""), summary=str(summary),
            published_at=_iso_time(raw.get("date_published") or raw.get("date_modified"))))
    return entries, {"warnings": warnings, "language": doc.get("language"),
                     "title": _plain(str(doc.get("title", "")))}


def _iso_time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        stamp = datetime.fromisoformat(value)
    except ValueError:
        return None
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=UTC) - timedelta(hours=8)
    return stamp.astimezone(UTC)


def _plain(markup: str) -> str:
    """Text of a title: tags dropped, entities read, whitespace collapsed."""
    text = markup if _NH3_PLAIN_CHANGES.search(markup) is None else html.unescape(
        nh3.clean(markup, tags=set()))
    return _WS.sub(" ", text).strip()


def _sanitize(markup: str) -> str:
    markup = markup[:MAX_SUMMARY_CHARS * 2]
    if _NH3_CLEAN_CHANGES.search(markup) is None:
        return markup[:MAX_SUMMARY_CHARS]  # plain text, which nh3 would give back unchanged
    return nh3.clean(markup, link_rel="noopener noreferrer nofollow")[:MAX_SUMMARY_CHARS]


def content_hash(title: str, url_norm: str, summary_text: str) -> str:
    digest = hashlib.sha256(f"{title}\n{url_norm}\n{summary_text}".encode())
    return digest.hexdigest()[:32]


def _guids_unreliable(entries: Iterable[_Entry]) -> bool:
    guids = [e.guid for e in entries]
    if not guids:
        return False
    counts = Counter(g for g in guids if g)
    bad = sum(1 for g in guids if not g or counts[g] > 1)
    return bad / len(guids) > UNRELIABLE_GUID_SHARE


def _to_items(entries: list[_Entry], source: Source, base_url: str, fetched_at: datetime,
              language: str | None, encoding: str) -> list[Item]:
    use_guid = not _guids_unreliable(entries)
    prepared = []
    for entry in entries:
        url = urljoin(base_url, entry.link) if entry.link else ""
        title = _plain(entry.title)
        summary = _sanitize(entry.summary)
        url_norm = normalize_url(url)
        if not title and not summary and not url_norm:
            continue
        chash = content_hash(title, url_norm, _plain(summary))
        prepared.append((entry, url, url_norm, title, summary, chash))
    url_counts = Counter(p[2] for p in prepared)
    items = []
    for entry, url, url_norm, title, summary, chash in prepared:
        if use_guid and entry.guid:
            ident = "g:" + _bounded(entry.guid)
        elif url_norm and url_counts[url_norm] == 1:
            ident = "u:" + _bounded(url_norm)
        else:
            ident = "h:" + chash
        items.append(Item(
            source=source.name, ident=ident, guid=entry.guid, url=url, url_norm=url_norm,
            title=title, title_norm=normalize_title(title), summary=summary,
            published_at=entry.published_at, fetched_at=fetched_at, content_hash=chash,
            language=(language or None) and str(language)[:32], encoding=encoding[:64]))
    return items


def _bounded(key: str) -> str:
    if len(key) <= MAX_GUID_CHARS:
        return key
    return key[:100] + "#" + hashlib.sha256(key.encode()).hexdigest()[:32]
