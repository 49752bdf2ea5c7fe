"""A fast reader for the common shapes of feed (RSS 2.0 and 0.9x, RSS 1.0/RDF, Atom 1.0) on
lxml. It gives what decode.py reads of feedparser's result, as feedparser gives it, at a
fraction of the cost; or it raises NotTrusted, and feedparser reads the feed as before.

Agreement comes from refusing, not from imitating every quirk. feedparser names each element
by a canonical namespace prefix and its lower-cased local name (its "key"), dispatches on
that key at any depth, and keeps state from one element to the next. So a feed is read here
only when every key in it is one modelled below, or one that feedparser ignores, or handles
without touching the fields we read. Anything else (a DOCTYPE, a base URI, a parse error or
warning, markup inside a text field, a second title, a content type that feedparser would
decode as base64 or serialise as XHTML, an unknown root, no entries) is left to feedparser.
bench/parse_agreement_bench.py measures how often the two agree."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from lxml import etree  # type: ignore[import-untyped]  # no stubs installed; used as Any

_ATOM = "http://www.w3.org/2005/Atom"
_RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"

# feedparser drops the slashes after "scheme://" in links and permalink ids (its _urifixer;
# [+-.] is the range + , - . there as here).
_URIFIXER = re.compile(r"^([A-Za-z][A-Za-z0-9+-.]*://)(/*)")
_AMP_NAME = re.compile(r"&([A-Za-z0-9_]+);")
_C1 = re.compile("[\x80-\x9f]")
_FIRST_ELEMENT = re.compile(rb"<\w")
# Anything that could set feedparser's base URI: xml:base, or a bare base attribute (which
# it honours too, and whose effect can outlive its element). Searched as "base=" first,
# which is many times faster than the whole pattern and rarely found.
_BASE = re.compile(rb"base\s*=")
_BASE_ATTR = re.compile(rb"(?:\sbase|xml:base)\s*=")
_XMLNS = re.compile(rb"""xmlns:([^\s=/>]+)\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_TEXT_TYPES = frozenset({"text", "html", "text/plain", "text/html"})  # none read as base64
_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})


def _cp1252_table() -> dict[int, str]:
    # feedparser reads C1 controls as the Windows-1252 characters they were meant to be.
    table = {}
    for code in range(0x80, 0xA0):
        try:
            table[code] = bytes([code]).decode("cp1252")
        except UnicodeDecodeError:
            continue
    return table


CP1252 = _cp1252_table()

# Keys whose values we read, by the field each sets.
_TITLE = frozenset({"title", "dc_title"})
_LINK = frozenset({"link"})
_ID = frozenset({"guid", "id"})
_DESCRIPTION = frozenset({"description", "dc_description"})
_SUMMARY = frozenset({"summary"})
_CONTENT = frozenset({"content", "content_encoded"})
_PUBLISHED = frozenset({"pubdate", "published", "issued", "dcterms_issued"})
_UPDATED = frozenset({"updated", "modified", "lastbuilddate", "dc_date", "dcterms_modified"})
_GROUPS = (_TITLE, _LINK, _ID, _DESCRIPTION, _SUMMARY, _CONTENT, _PUBLISHED, _UPDATED)
_GROUP_OF = {key: group for group in _GROUPS for key in group}
_ENTRY = frozenset({"item", "entry"})

# Keys feedparser handles inside an entry without touching the fields above or the state they
# depend on (the title depth, the image and source contexts, the summary/content switch), as
# read in mixin.py and namespaces/*.py of feedparser 6.0.
HARMLESS = frozenset({
    "author", "managingeditor", "contributor", "name", "email", "url", "uri", "homepage",
    "category", "keywords", "enclosure", "language", "webmaster", "generator", "rights",
    "copyright", "subtitle", "tagline", "info", "created", "expirationdate", "cloud",
    "newlocation", "dc_creator", "dc_author", "dc_subject", "dc_publisher", "dc_rights",
    "dc_contributor", "dc_language", "dcterms_created", "dcterms_valid", "itunes_author",
    "itunes_name", "itunes_email", "itunes_subtitle", "itunes_owner", "itunes_keywords",
    "itunes_category", "itunes_image", "itunes_link", "itunes_block", "itunes_explicit",
    "media_category", "media_keywords", "media_rating", "media_credit", "media_restriction",
    "media_license", "media_content", "media_thumbnail", "media_player", "media_group",
    "georss_point", "georss_line", "georss_polygon", "georss_box", "georss_where", "where",
    "gml_point", "gml_linestring", "gml_polygon", "gml_exterior", "gml_linearring", "gml_pos",
    "gml_poslist", "psc_chapters", "psc_chapter", "cc_license",
})
# feedparser stores an element it has no handler for under its key, so that key must not be
# a name decode.py reads, nor an alias of one in FeedParserDict.keymap.
_RESERVED = frozenset({
    "title", "link", "links", "id", "guid", "guidislink", "summary", "description",
    "content", "published", "published_parsed", "updated", "updated_parsed", "issued",
    "issued_parsed", "modified", "modified_parsed", "date", "date_parsed",
})
# Unprefixed children that keep feedparser inside an <image> or <textinput>; any other one
# ends that context early, and a title after it would become the feed's title.
_IMAGE_CHILDREN = frozenset({"title", "link", "description", "url", "href", "width", "height"})
_TEXTINPUT_CHILDREN = frozenset({"title", "link", "description", "name"})
_FEED_TITLE = frozenset({"title", "dc_title", "media_title"})
_FEED_LANGUAGE = frozenset({"language", "dc_language"})


class NotTrusted(Exception):
    """The feed has something this reader does not model exactly; feedparser reads it."""


@dataclass(frozen=True, slots=True)
class FastFeed:
    """What decode.py reads of ``feedparser.parse()``, shaped as there: ``feed`` holds title,
    language and ttl when present; each entry holds title, link, id, summary, content
    ([{"value": …}]), published and published_parsed, and updated with updated_parsed (only
    parsed when no published date could be read, the only case decode.py looks at it)."""

    feed: dict[str, str]
    entries: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Tables:
    prefixes: dict[str, str]  # lower-cased namespace URI → feedparser's prefix for it
    handled: frozenset[str]  # keys feedparser has a _start_ or _end_ method for
    parse_date: Callable[[str], Any]


def _feedparser_tables() -> _Tables | None:
    """feedparser's own namespace table, handler names and date parser, so that keys and
    dates come out as it makes them; None (no feed is trusted) if a release moved them."""
    try:
        from feedparser.datetimes import _parse_date
        from feedparser.mixin import _FeedParserMixin
    except ImportError:
        return None
    namespaces = getattr(_FeedParserMixin, "namespaces", None)
    if not isinstance(namespaces, dict) or not callable(_parse_date):
        return None
    handled = frozenset(name.split("_", 2)[2] for name in dir(_FeedParserMixin)
                        if name.startswith(("_start_", "_end_")))
    # A feed polled again repeats nearly all its dates, and feedparser's date parser, which
    # tries one format after another, took a third of this reader's time. Its struct_time
    # results are immutable, so handing the same one out again is safe.
    cached_parse_date = functools.lru_cache(maxsize=8192)(_parse_date)
    return _Tables({uri.lower(): prefix.lower() for uri, prefix in namespaces.items()},
                   handled, cached_parse_date)


_TABLES = _feedparser_tables()
_NAMES: dict[tuple[str, str | None], tuple[str, bool]] = {}  # (tag, prefix) → (key, prefixed)


def read(data: bytes) -> FastFeed:
    """Read UTF-8 feed bytes (as_utf8_xml's) the way feedparser would, or raise NotTrusted."""
    if _TABLES is None:
        raise NotTrusted("feedparser's internals are not where this reader expects them")
    first = _FIRST_ELEMENT.search(data)
    if first is not None and b"<!doctype" in data[:first.start()].lower():
        raise NotTrusted("a DOCTYPE")  # feedparser rewrites it and its entities first
    if _BASE.search(data) and _BASE_ATTR.search(data):
        raise NotTrusted("a base URI attribute")
    _check_prefixes(data, _TABLES)
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                             huge_tree=False)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise NotTrusted(f"not well-formed: {exc}") from None
    if len(parser.error_log):
        raise NotTrusted(f"parser warning: {parser.error_log[0].message}")
    return _Reader(_TABLES).read(root)


def _check_prefixes(data: bytes, tables: _Tables) -> None:
    """feedparser keeps one map of prefixes for the whole document, not one per element:
    refuse a prefix bound to two namespaces, or a namespace it does not know under two
    prefixes, where its names and ours could part."""
    prefixes: dict[bytes, bytes] = {}
    unknown: dict[bytes, bytes] = {}
    for match in _XMLNS.finditer(data):
        prefix, uri = match.group(1), match.group(2) if match.group(2) is not None else \
            match.group(3)
        if prefixes.setdefault(prefix, uri) != uri:
            raise NotTrusted(f"prefix {prefix.decode(errors='replace')} bound twice")
        if uri.decode(errors="replace").lower() not in tables.prefixes and \
                unknown.setdefault(uri, prefix) != prefix:
            raise NotTrusted("a namespace under two prefixes")


class _Reader:
    def __init__(self, tables: _Tables) -> None:
        self.tables = tables
        self.feed: dict[str, str] = {}
        self.entries: list[Any] = []
        self.title_reset = False  # an entry, image or text input came: see feed_field
        self.seen: set[str] = set()

    def read(self, root: Any) -> FastFeed:
        tag = root.tag
        if tag == "rss":
            channels = [child for child in root if self.name(child)[0] == "channel"]
            if len(channels) != 1:
                raise NotTrusted("RSS without exactly one channel")
            self.root_language(root)
            self.walk_feed(root, "root", channels[0])
        elif tag == f"{{{_RDF}}}RDF":
            self.walk_feed(root, "root", root)
        elif tag == f"{{{_ATOM}}}feed":
            self.root_language(root)
            self.walk_feed(root, "channel", root)
        else:
            raise NotTrusted(f"root element {tag!r}")
        if not self.entries:
            raise NotTrusted("no entries")  # feedparser tells an empty feed from a broken one
        return FastFeed(self.feed, [self.entry(el) for el in self.entries])

    def name(self, el: Any) -> tuple[str, bool]:
        """feedparser's key for an element, and whether it has a prefix: a known namespace
        gives its canonical prefix, another the document's, all lower-cased; "" for
        comments and processing instructions."""
        tag = el.tag
        if not isinstance(tag, str):
            return "", False
        prefix = el.prefix
        cached = _NAMES.get((tag, prefix))
        if cached is not None:
            return cached
        namespace, _, local = tag[1:].partition("}") if tag[0] == "{" else ("", "", tag)
        lowered = namespace.lower()
        if "backend.userland.com/rss" in lowered:
            canonical = ""
        elif lowered in self.tables.prefixes:
            canonical = self.tables.prefixes[lowered]
        else:
            canonical = (prefix or "").lower() if namespace else ""
        named = (f"{canonical}_{local.lower()}" if canonical else local.lower(), bool(canonical))
        if len(_NAMES) > 10_000:  # a feed inventing names must not grow this for ever
            _NAMES.clear()
        _NAMES[(tag, prefix)] = named
        return named

    def attrs(self, el: Any) -> dict[str, str]:
        """Attributes named as feedparser names them (rel and type values lower-cased)."""
        items = el.items()
        if not items:
            return {}
        named: dict[str, str] = {}
        for name, value in items:
            namespace, _, local = name[1:].partition("}") if name[0] == "{" else ("", "", name)
            prefix = self.tables.prefixes.get(namespace.lower(), "") if namespace else ""
            key = f"{prefix}:{local.lower()}" if prefix else local.lower()
            if key in named:
                raise NotTrusted(f"attribute {key} given twice")
            named[key] = value.lower() if key in ("rel", "type") else value
        return named

    def root_language(self, root: Any) -> None:
        attrs = self.attrs(root)
        lang = attrs.get("xml:lang", attrs.get("lang"))
        if lang:
            self.feed["language"] = lang.replace("_", "-")

    def walk_feed(self, parent: Any, context: str, entries_in: Any) -> None:
        """Everything outside the entries: find the entries, read the feed's title, language
        and ttl, and refuse what would make feedparser read any of them otherwise."""
        for child in parent:
            key = self.name(child)[0]
            if not key:
                continue
            if key in _ENTRY:
                if parent is not entries_in:
                    raise NotTrusted(f"an {key} out of its place")
                self.entries.append(child)
                self.title_reset = True
            elif key == "channel" and context == "root":
                self.walk_feed(child, "channel", entries_in)
            elif key in ("image", "textinput") and context in ("root", "channel"):
                self.walk_box(child, _IMAGE_CHILDREN if key == "image" else _TEXTINPUT_CHILDREN)
                self.title_reset = True
            elif key in _FEED_TITLE or key in _FEED_LANGUAGE or key == "ttl":
                if context != "channel":
                    raise NotTrusted(f"{key} out of the channel")
                self.feed_field(child, key)
            elif key in ("source", "image", "textinput", "channel"):
                raise NotTrusted(f"{key} out of its place")
            else:
                self.walk_feed(child, "other", entries_in)

    def walk_box(self, box: Any, allowed: frozenset[str]) -> None:
        for child in box:
            key, prefixed = self.name(child)
            if key and (not prefixed and key not in allowed or len(child)):
                raise NotTrusted(f"{key} in an image or text input")

    def feed_field(self, el: Any, key: str) -> None:
        group = "title" if key in _FEED_TITLE else "language" if key in _FEED_LANGUAGE else key
        if group in self.seen:
            raise NotTrusted(f"a second feed {group}")
        self.seen.add(group)
        if group == "title" and self.title_reset:
            # feedparser keeps a title only if no title was kept at its depth or above since
            # the last entry, image or text input began: an order we do not follow.
            raise NotTrusted("the feed title after an entry or image")
        if group == "ttl" and len(el.attrib):
            raise NotTrusted("ttl with attributes")  # feedparser keeps the attributes instead
        self.feed[group] = self.field_text(el, typed=group == "title")

    def entry(self, el: Any) -> dict[str, Any]:
        attrs = self.attrs(el)
        if "href" in attrs or "lastmod" in attrs:
            raise NotTrusted("CDF item attributes")
        entry: dict[str, Any] = {}
        if attrs.get("rdf:about"):
            entry["id"] = attrs["rdf:about"]
        seen: set[frozenset[str]] = set()
        for child in el:
            key = self.name(child)[0]
            if not key:
                continue
            group = _GROUP_OF.get(key)
            if group is not None:
                if group in seen and group is not _LINK:
                    raise NotTrusted(f"a second {key} in an entry")
                seen.add(group)
                self.entry_field(entry, child, key, group)
            elif key == "source":
                if len(child):  # Atom's source has a title, id and links of its own
                    raise NotTrusted("an entry source with children")
            elif key in HARMLESS or key not in self.tables.handled and key not in _RESERVED:
                if len(child):
                    self.check_inside(child)
            else:
                raise NotTrusted(f"{key} in an entry")
        if _DESCRIPTION in seen and _SUMMARY in seen:
            raise NotTrusted("both a description and a summary")
        self.dates(entry)
        return entry

    def check_inside(self, el: Any) -> None:
        """feedparser dispatches on keys at any depth: nothing nested may be read as ours."""
        for child in el.iterdescendants():
            key = self.name(child)[0]
            if key and key not in HARMLESS and (key in self.tables.handled or key in _RESERVED):
                raise NotTrusted(f"{key} nested in an entry")

    def entry_field(self, entry: dict[str, Any], el: Any, key: str,
                    group: frozenset[str]) -> None:
        if group is _LINK:
            self.link(entry, el)
        elif group is _ID:
            self.guid(entry, el)
        elif group is _TITLE:
            entry["title"] = self.field_text(el, typed=True)
        elif group is _DESCRIPTION or group is _SUMMARY:
            entry["summary"] = self.field_text(el, typed=True)
        elif group is _CONTENT:
            value = self.field_text(el, typed=True)
            entry["content"] = [{"value": value}]
            entry.setdefault("summary", value)  # text and HTML content stand in for a summary
        else:
            entry["published" if group is _PUBLISHED else "updated"] = self.field_text(el)

    def link(self, entry: dict[str, Any], el: Any) -> None:
        if len(el):
            raise NotTrusted("markup inside a link")
        attrs = self.attrs(el)
        # feedparser's _enforce_href: a non-empty url or uri stands for href
        href = attrs.get("url", attrs.get("uri", attrs.get("href"))) or attrs.get("href")
        if href is None:  # RSS: the link is the text
            text = pop_text(el.text or "", uri=True)
            if "&" in text:  # feedparser undoes a double escape, and even "&b;" in a query
                text = _AMP_NAME.sub(r"&\g<1>", text.replace("&amp;", "&"))
            entry["link"] = text
            return
        rel = attrs.get("rel", "alternate")
        kind = attrs.get("type", "application/atom+xml" if rel == "self" else "text/html")
        if rel == "alternate" and _content_type(kind) in _HTML_TYPES:
            entry["link"] = fix_uri(href)

    def guid(self, entry: dict[str, Any], el: Any) -> None:
        if len(el):
            raise NotTrusted("markup inside an id")
        permalink = self.attrs(el).get("ispermalink", "true") == "true"
        text = pop_text(el.text or "", uri=permalink)
        if permalink:
            entry.setdefault("link", text)  # a permalink stands in for a missing link
        entry["id"] = text

    def field_text(self, el: Any, typed: bool = False) -> str:
        """A field's text as feedparser's pop() gives it; refuses markup inside, Atom 0.3
        modes and the content types feedparser would decode as base64 or as XHTML."""
        if len(el):
            raise NotTrusted("markup inside a text field")
        attrs = self.attrs(el)
        if "mode" in attrs:
            raise NotTrusted("an Atom 0.3 content mode")
        if typed and attrs.get("type", "text") not in _TEXT_TYPES:
            raise NotTrusted(f"content type {attrs['type']!r}")
        return pop_text(el.text or "")

    def dates(self, entry: dict[str, Any]) -> None:
        parse_date = self.tables.parse_date
        if "published" in entry:
            entry["published_parsed"] = parse_date(entry["published"])
        if "updated" in entry and not entry.get("published_parsed"):
            entry["updated_parsed"] = parse_date(entry["updated"])


def _content_type(kind: str) -> str:
    return {"text": "text/plain", "html": "text/html",
            "xhtml": "application/xhtml+xml"}.get(kind, kind)


def pop_text(raw: str, uri: bool = False) -> str:
    """What feedparser makes of an element's text: stripped; for a URI, the slashes after
    "scheme://" dropped; UTF-8 that was read as Latin-1 read again; C1 controls read as
    cp1252."""
    text = raw.strip()
    if uri:
        text = fix_uri(text)
    if text.isascii():
        return text
    try:
        text = text.encode("iso-8859-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        pass
    if _C1.search(text):
        text = text.translate(CP1252)
    return text


def fix_uri(uri: str) -> str:
    """feedparser's _urifixer: the slashes right after "scheme://" dropped."""
    match = _URIFIXER.match(uri)
    if match is None or match.start(2) == match.end(2):
        return uri
    return uri[:match.start(2)] + uri[match.end(2):]
