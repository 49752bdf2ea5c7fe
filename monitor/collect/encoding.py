"""Bytes of a feed to text: valid UTF-8 wins, then the HTTP charset, then the XML prolog
(gb2312 and gbk read as gb18030, their superset), then detection."""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

from charset_normalizer import from_bytes

_PROLOG = re.compile(rb"^\s*<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9._:-]+)[\"']", re.DOTALL)
_PROLOG_TEXT = re.compile(r"^(\s*<\?xml[^>]*?encoding\s*=\s*)[\"'][^\"']*[\"']", re.DOTALL)
_CHARSET = re.compile(r"charset\s*=\s*[\"']?([A-Za-z0-9._:-]+)", re.IGNORECASE)
# Servers label GBK text as gb2312 (a subset) all the time; gb18030 reads all three.
_WIDER = {"gb2312": "gb18030", "gbk": "gb18030", "cp936": "gb18030", "hz-gb-2312": "gb18030",
          "x-gbk": "gb18030", "euc-cn": "gb18030", "big5": "big5hkscs", "iso-8859-1": "cp1252",
          "latin-1": "cp1252", "us-ascii": "cp1252", "ascii": "cp1252"}


@dataclass(frozen=True, slots=True)
class Decoded:
    text: str
    encoding: str  # the codec used
    note: str  # how it was chosen, for the item's encoding note and the logs


def codec_name(label: str) -> str | None:
    try:
        name = codecs.lookup(label.strip().lower()).name
    except LookupError:
        return None
    return _WIDER.get(name, _WIDER.get(label.strip().lower(), name))


def http_charset(content_type: str | None) -> str | None:
    match = _CHARSET.search(content_type or "")
    return match.group(1) if match else None


def decode_bytes(body: bytes, content_type: str | None = None) -> Decoded:
    if body.startswith(codecs.BOM_UTF8):
        return Decoded(body[3:].decode("utf-8", "replace"), "utf-8", "utf-8 (byte order mark)")
    if body.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return Decoded(body.decode("utf-16", "replace"), "utf-16", "utf-16 (byte order mark)")
    try:
        return Decoded(body.decode("utf-8"), "utf-8", "utf-8")
    except UnicodeDecodeError:
        pass
    prolog = _PROLOG.match(body[:512])
    declared = [("http charset", http_charset(content_type)),
                ("xml prolog", prolog.group(1).decode("ascii") if prolog else None)]
    for where, label in declared:
        codec = codec_name(label) if label else None
        if codec and codec not in ("utf-8", "utf-16"):
            try:
                return Decoded(body.decode(codec), codec, f"{codec} ({where} {label})")
            except UnicodeDecodeError:
                continue
    best = from_bytes(body[:65536]).best()
    if best is not None and best.encoding:
        codec = codec_name(best.encoding) or "gb18030"
        try:
            return Decoded(body.decode(codec), codec, f"{codec} (detected)")
        except UnicodeDecodeError:
            pass
    # Chinese feeds that are not UTF-8 are nearly always in the GB family.
    return Decoded(body.decode("gb18030", "replace"), "gb18030",
                   "gb18030 (undetermined; undecodable bytes replaced)")


def as_utf8_xml(text: str) -> bytes:
    """UTF-8 bytes whose XML prolog, if any, says so: parsers must not re-decode them."""
    return _PROLOG_TEXT.sub(r'\1"utf-8"', text, count=1).encode("utf-8")
