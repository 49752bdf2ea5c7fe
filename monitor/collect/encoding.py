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


_SAMPLE = 8192  # characters looked at to judge which reading is Chinese


@dataclass(frozen=True, slots=True)
class Decoded:
    text: str
    encoding: str  # the codec used
    note: str  # how it was chosen, for the item's encoding note and the logs


def codec_name(label: str) -> str | None:
    label = label.strip().lower()
    if label in _WIDER:
        return _WIDER[label]
    try:
        name = codecs.lookup(label).name
    except LookupError:
        return None
    return _WIDER.get(name, name)


def http_charset(content_type: str | None) -> str | None:
    match = _CHARSET.search(content_type or "")
    return match.group(1) if match else None


def decode_bytes(body: bytes, content_type: str | None = None) -> Decoded:
    if body.startswith(codecs.BOM_UTF8):
        return Decoded(body[3:].decode("utf-8", "replace"), "utf-8", "utf-8 (byte order mark)")
    if body.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return Decoded(body.decode("utf-16", "replace"), "utf-16", "utf-16 (byte order mark)")
    prolog = _PROLOG.match(body[:512])
    declared = [("http charset", http_charset(content_type)),
                ("xml prolog", prolog.group(1).decode("ascii") if prolog else None)]
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        return _utf8_or_gb_lookalike(body, text, declared)
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


def _cjk_share(text: str) -> float:
    wide = [c for c in text if ord(c) > 0x7F]
    return sum(_is_cjk(c) for c in wide) / len(wide) if wide else 1.0


def _is_cjk(char: str) -> bool:
    code = ord(char)
    return 0x3000 <= code <= 0x9FFF or 0xF900 <= code <= 0xFFEF or 0x20000 <= code <= 0x3FFFF


def _utf8_or_gb_lookalike(body: bytes, text: str,
                          declared: list[tuple[str, str | None]]) -> Decoded:
    """Valid UTF-8 wins, except for the short GBK texts that happen to be valid UTF-8 too
    (GBK "一" is the bytes of Cyrillic "һ"): when a GB label is declared and reading by it
    gives Chinese where UTF-8 gives no Chinese, the label is right."""
    label_at = next(((where, label) for where, label in declared
                     if label and codec_name(label) == "gb18030"), None)
    if label_at is not None:
        utf8_share = _cjk_share(text[:_SAMPLE])
        if utf8_share < 0.5:
            try:
                other = body.decode("gb18030")
            except UnicodeDecodeError:
                other = ""
            if other and _cjk_share(other[:_SAMPLE]) > utf8_share:
                where, label = label_at
                return Decoded(other, "gb18030", f"gb18030 ({where} {label}; also valid utf-8)")
    return Decoded(text, "utf-8", "utf-8")


def as_utf8_xml(text: str) -> bytes:
    """UTF-8 bytes whose XML prolog, if any, says so: parsers must not re-decode them."""
    return _PROLOG_TEXT.sub(r'\1"utf-8"', text, count=1).encode("utf-8")
