"""Normal forms of URLs and titles, used to recognise the same story twice."""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

# Query parameters that only say where a click came from.
_TRACKING = re.compile(
    r"^(utm_\w+|spm|from|source|share_?\w*|src|ref|refer|wfr|isappinstalled|scene|"
    r"clicktime|enterid|timestamp|_t|t|fbclid|gclid|vd_source|sharer_\w+)$",
    re.IGNORECASE,
)
# Separators between a headline and the site name or a kicker, as in "标题_新浪网" or "临沧 | 标题".
_TITLE_PARTS = re.compile(r"\s[-|–—]\s|[|｜_:：—]")
_NOT_WORD = re.compile(r"[\W_]+", re.UNICODE)
MIN_TITLE_KEY = 8  # shorter keys ("通知公告", "今日要闻") collide across unrelated stories


def normalize_url(url: str) -> str:
    """Lower-case host, one scheme, no default port, no fragment, no tracking parameters,
    sorted query, no trailing slash. Returns "" for what is not an http(s) URL."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return ""
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return ""
    host = parts.hostname.lower().removeprefix("www.")
    if port and port not in (80, 443):
        host = f"{host}:{port}"
    path = re.sub(r"/{2,}", "/", parts.path or "/")
    if len(path) > 1:
        path = path.rstrip("/")
    query = sorted((k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
                   if not _TRACKING.match(k))
    return urlunsplit(("https", host, path, urlencode(query), ""))


def normalize_title(title: str) -> str:
    """A key for the same headline across sites: NFKC, lower case, the longest part between
    separators, punctuation and spaces removed. "" when too short to compare safely."""
    text = unicodedata.normalize("NFKC", title).lower()
    parts = [p for p in _TITLE_PARTS.split(text) if p.strip()]
    longest = max(parts, key=lambda p: len(_NOT_WORD.sub("", p)), default="")
    key = _NOT_WORD.sub("", longest)
    return key if len(key) >= MIN_TITLE_KEY else ""
