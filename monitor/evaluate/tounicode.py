"""Puts the ideographs back into the text of the PDFs Chromium prints.

Chromium's PDF backend (Skia) writes each font's /ToUnicode map, which is what copying,
searching and text extraction read, by taking for every glyph the lowest code point the font's
cmap gives for it. Noto CJK draws a radical with its ideograph's very glyph (⻢ U+2EE2 and 马
U+9A6C), so the radical wins and a search for 耿马 in the PDF finds nothing. The pages look
right; only these maps are wrong, so they are what this rewrites: every destination that is a
look-alike in radicals.tsv (built by build_radicals.py) becomes its ideograph, and nothing else
in the PDF changes.
"""

from __future__ import annotations

import io
import logging
import re
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources

from pypdf import PdfReader, PdfWriter
from pypdf.errors import PyPdfError
from pypdf.generic import DictionaryObject, IndirectObject, PdfObject, StreamObject

log = logging.getLogger(__name__)

TABLE = "radicals.tsv"
# The PDF specification allows at most 100 entries between a begin and an end operator.
BLOCK_SIZE = 100
# A bfrange is expanded code by code; ToUnicode maps of real fonts stay far below a two-byte
# code space, so a bigger one is treated as damage instead of being expanded.
MAX_RANGE = 0x10000


def restore_ideographs(pdf: bytes) -> bytes:
    """The PDF with radicals and other look-alikes in its fonts' /ToUnicode maps replaced by
    the ideographs they stand for. A PDF that needs no change comes back as it was, byte for
    byte; a font whose map cannot be read keeps it, with a warning."""
    table = _equivalents()
    try:
        writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    except (PyPdfError, ValueError, KeyError) as e:
        log.warning("the PDF could not be read to correct its text layer, so it is left as it "
                    "is (copied text may show CJK radicals in place of ideographs): %s", e)
        return pdf
    changed = 0
    for label, font in _fonts(writer):
        stream = _get(font, "/ToUnicode")
        if not isinstance(stream, StreamObject):
            continue  # no map, or /Identity-H and the like: nothing Skia wrote
        try:
            fixed = _rewrite_cmap(stream.get_data(), table)
            if fixed is not None:
                stream.set_data(fixed)
                changed += 1
        except (PyPdfError, ValueError, zlib.error) as e:  # _DamagedCMap is a ValueError
            log.warning("PDF font %s: its /ToUnicode map is left as it is, since it could not "
                        "be rewritten (%s); text copied in this font may show CJK radicals in "
                        "place of ideographs", label, e)
    if not changed:
        return pdf
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


@cache
def _equivalents() -> dict[int, int]:
    """Look-alike code point → its ideograph, from the first two columns of radicals.tsv."""
    text = resources.files(__package__ or "monitor.evaluate").joinpath(TABLE).read_text("utf-8")
    table: dict[int, int] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.split("\t")
        try:
            source, target = int(fields[0], 16), int(fields[1], 16)
        except (IndexError, ValueError):
            source = target = -1
        # _fixed works on UTF-16 code units: both sides must be one, and no surrogate
        if not all(0 <= c <= 0xFFFF and not 0xD800 <= c <= 0xDFFF for c in (source, target)):
            raise ValueError(f"{TABLE} line {number} is not two BMP code points in hex: "
                             f"{line!r}; rebuild it with monitor.evaluate.build_radicals")
        table[source] = target
    return table


class _DamagedCMap(ValueError):
    """A /ToUnicode map this module does not understand well enough to rewrite safely."""


def _fonts(writer: PdfWriter) -> Iterator[tuple[str, DictionaryObject]]:
    """Every font the pages can use, once each, with a name for messages: the fonts of the
    pages' resources (inherited ones too), and of the forms, patterns and Type 3 glyphs
    those draw."""
    pending: list[PdfObject | None] = []
    for page in writer.pages:
        node: PdfObject | None = page
        while isinstance(node, DictionaryObject):
            pending.append(node.get("/Resources"))
            node = _get(node, "/Parent")
    seen: set[int] = set()
    while pending:
        resources_ = _resolved(pending.pop())
        if not isinstance(resources_, DictionaryObject) or id(resources_) in seen:
            continue
        seen.add(id(resources_))
        fonts = _get(resources_, "/Font")
        if isinstance(fonts, DictionaryObject):
            for key in fonts:
                font = _resolved(fonts.raw_get(key))
                if isinstance(font, DictionaryObject) and id(font) not in seen:
                    seen.add(id(font))
                    yield _font_label(key, fonts.raw_get(key), font), font
                    pending.append(_get(font, "/Resources"))  # a Type 3 font's glyphs
        for kind in ("/XObject", "/Pattern"):
            named = _get(resources_, kind)
            if isinstance(named, DictionaryObject):
                for key in named:
                    item = _get(named, key)
                    if isinstance(item, DictionaryObject):  # a stream is one too
                        pending.append(_get(item, "/Resources"))


def _resolved(obj: PdfObject | None) -> PdfObject | None:
    return obj.get_object() if isinstance(obj, IndirectObject) else obj


def _get(d: DictionaryObject, key: str) -> PdfObject | None:
    # pypdf's get(), unlike [], hands back indirect references as they are
    return _resolved(d.get(key))


def _font_label(key: str, ref: PdfObject, font: DictionaryObject) -> str:
    parts = [str(_get(font, "/BaseFont") or _get(font, "/Name") or key)]
    parts.append(str(_get(font, "/Subtype") or "").lstrip("/") or "font")
    if isinstance(ref, IndirectObject):
        parts.append(f"object {ref.idnum}")
    return f"{parts[0]} ({', '.join(parts[1:])})"


# --- the CMap -------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # "hex", "word" (operators and numbers), "name" or "other"
    text: bytes
    start: int
    end: int


_SPACE = re.compile(rb"(?:[\x00\t\n\x0c\r ]+|%[^\r\n]*)+")
_HEX = re.compile(rb"<([0-9A-Fa-f\x00\t\n\x0c\r ]*)>")
_REGULAR = re.compile(rb"[^\x00\t\n\x0c\r ()<>\[\]{}/%]+")


def _tokens(data: bytes) -> Iterator[_Token]:
    """The PostScript tokens of a CMap; a literal string or a dictionary bracket is one
    "other" token, since only the bf sections are read."""
    pos = 0
    while True:
        if m := _SPACE.match(data, pos):
            pos = m.end()
        if pos >= len(data):
            return
        start, char = pos, data[pos:pos + 1]
        if data.startswith((b"<<", b">>"), pos):
            kind, pos = "other", pos + 2
        elif char == b"<":
            if not (m := _HEX.match(data, pos)):
                raise _DamagedCMap(f"a hex string at byte {pos} is not closed or not hex")
            kind, pos = "hex", m.end()
        elif char == b"(":
            kind, pos = "other", _string_end(data, pos)
        elif char in b"[]{}":
            kind, pos = "other", pos + 1
        elif char in b")>":
            raise _DamagedCMap(f"a stray {char.decode()!r} at byte {pos}")
        else:
            m = _REGULAR.match(data, pos + (char == b"/"))
            kind, pos = ("name" if char == b"/" else "word"), (m.end() if m else pos + 1)
        yield _Token(kind, data[start:pos], start, pos)


def _string_end(data: bytes, pos: int) -> int:
    """Where the literal string opening at pos ends: its parentheses nest, and a backslash
    escapes the character after it."""
    depth, i = 0, pos
    while i < len(data):
        char = data[i]
        if char == 0x5C:  # backslash
            i += 1
        elif char == 0x28:
            depth += 1
        elif char == 0x29:
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    raise _DamagedCMap(f"the string at byte {pos} is not closed")


def _hex(token: _Token) -> bytes:
    digits = re.sub(rb"[^0-9A-Fa-f]", b"", token.text)
    if len(digits) % 2:
        raise _DamagedCMap(f"{token.text.decode()} has an odd number of hex digits")
    return bytes.fromhex(digits.decode())


def _rewrite_cmap(cmap: bytes, table: Mapping[int, int]) -> bytes | None:
    """The CMap with its look-alike destinations replaced, or None when it has none. Only the
    bfchar and bfrange sections holding one are written anew; raises _DamagedCMap for a map
    it cannot follow."""
    tokens = list(_tokens(cmap))
    edits: list[tuple[int, int, bytes]] = []
    i = 0
    while i < len(tokens):
        word = tokens[i].text if tokens[i].kind == "word" else b""
        if word in (b"endbfchar", b"endbfrange"):
            raise _DamagedCMap(f"{word.decode()} at byte {tokens[i].start} ends no section")
        if word not in (b"beginbfchar", b"beginbfrange"):
            i += 1
            continue
        end = b"end" + word[5:]
        j = next((k for k in range(i + 1, len(tokens)) if tokens[k].kind != "hex"
                  and tokens[k].text not in (b"[", b"]")), len(tokens))
        if j == len(tokens) or tokens[j].text != end:
            raise _DamagedCMap(f"{word.decode()} at byte {tokens[i].start} is not followed by "
                              f"{end.decode()}")
        body = tokens[i + 1:j]
        new = _bfchar(body, table) if word == b"beginbfchar" else _bfrange(body, table)
        if new is not None:
            # the count before the operator belongs to the section: the new one has its own
            count = tokens[i - 1] if i and tokens[i - 1].text.isdigit() else tokens[i]
            edits.append((count.start, tokens[j].end, new))
        i = j + 1
    if not edits:
        return None
    out, pos = [], 0
    for start, stop, new in edits:
        out += [cmap[pos:start], new]
        pos = stop
    return b"".join([*out, cmap[pos:]])


def _fixed(destination: bytes, table: Mapping[int, int]) -> bytes:
    """The destination, UTF-16BE, with each look-alike code unit replaced. Every table entry
    is in the BMP and no surrogate, so code units can be looked at one by one."""
    if len(destination) % 2:
        return destination  # one byte: no CJK character at all
    units = [int.from_bytes(destination[k:k + 2], "big") for k in range(0, len(destination), 2)]
    return b"".join(table.get(u, u).to_bytes(2, "big") for u in units)


def _bfchar(body: list[_Token], table: Mapping[int, int]) -> bytes | None:
    if len(body) % 2 or any(t.kind != "hex" for t in body):
        raise _DamagedCMap("a bfchar section is not pairs of hex strings")
    pairs = [(_hex(body[k]), _hex(body[k + 1])) for k in range(0, len(body), 2)]
    fixed = [(code, _fixed(dst, table)) for code, dst in pairs]
    return _sections(b"bfchar", [_line(c, d) for c, d in fixed]) if fixed != pairs else None


def _bfrange(body: list[_Token], table: Mapping[int, int]) -> bytes | None:
    ranges: list[bytes] = []
    chars: list[bytes] = []
    changed = False
    k = 0
    while k < len(body):
        if len(body) - k < 3 or body[k].kind != "hex" or body[k + 1].kind != "hex":
            raise _DamagedCMap("a bfrange entry is not <low> <high> and a destination")
        low, high = _hex(body[k]), _hex(body[k + 1])
        first, last = int.from_bytes(low, "big"), int.from_bytes(high, "big")
        if len(low) != len(high) or not low or first > last or last - first >= MAX_RANGE:
            raise _DamagedCMap(f"the bfrange {low.hex().upper()}–{high.hex().upper()} is not a "
                              "range of codes of one length")
        codes = [n.to_bytes(len(low), "big") for n in range(first, last + 1)]
        if body[k + 2].text == b"[":
            close = next((m for m in range(k + 3, len(body)) if body[m].kind != "hex"), None)
            if close is None or body[close].text != b"]" or close - k - 3 != len(codes):
                raise _DamagedCMap(f"the bfrange {low.hex().upper()}–{high.hex().upper()} does "
                                  "not have one destination per code")
            dsts = [_hex(t) for t in body[k + 3:close]]
            fixed = [_fixed(d, table) for d in dsts]
            changed |= fixed != dsts
            # an array keeps every code's destination its own, so it stays as it is
            ranges.append(b"%s %s [%s]" % (_code(low), _code(high),
                                           b" ".join(map(_code, fixed))))
            k = close + 1
        elif body[k + 2].kind == "hex":
            start = _hex(body[k + 2])
            changed |= _split(codes, start, table, ranges, chars)
            k += 3
        else:
            raise _DamagedCMap("a bfrange destination is neither a hex string nor an array")
    if not changed:
        return None
    return b"\n".join(s for s in (_sections(b"bfrange", ranges), _sections(b"bfchar", chars))
                      if s)


def _split(codes: list[bytes], start: bytes, table: Mapping[int, int], ranges: list[bytes],
           chars: list[bytes]) -> bool:
    """Adds the range of codes whose destinations count up from start: as one range when
    none is a look-alike, else as ranges of the runs without one and a bfchar entry for
    each code with one. Whether any was."""
    base = int.from_bytes(start, "big")
    try:
        # as readers do: the whole destination counts up, not only its last byte
        dsts = [(base + n).to_bytes(len(start), "big") for n in range(len(codes))]
    except OverflowError:
        raise _DamagedCMap(f"the bfrange from {codes[0].hex().upper()} counts past the end of "
                          f"its destination {start.hex().upper()}") from None
    fixed = [_fixed(d, table) for d in dsts]
    run = 0  # where the current run of unchanged destinations began
    for n in range(len(codes) + 1):
        if n < len(codes) and fixed[n] == dsts[n]:
            continue
        if n - run > 1:
            ranges.append(b"%s %s %s" % (_code(codes[run]), _code(codes[n - 1]),
                                         _code(dsts[run])))
        elif n - run == 1:
            chars.append(_line(codes[run], dsts[run]))
        if n < len(codes):
            chars.append(_line(codes[n], fixed[n]))
        run = n + 1
    return fixed != dsts


def _code(data: bytes) -> bytes:
    return b"<" + data.hex().upper().encode() + b">"


def _line(code: bytes, destination: bytes) -> bytes:
    return _code(code) + b" " + _code(destination)


def _sections(kind: bytes, lines: list[bytes]) -> bytes:
    return b"\n".join(b"%d begin%s\n%s\nend%s" % (len(chunk), kind, b"\n".join(chunk), kind)
                      for chunk in (lines[k:k + BLOCK_SIZE]
                                    for k in range(0, len(lines), BLOCK_SIZE)))
