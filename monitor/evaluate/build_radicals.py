"""Builds radicals.tsv, the table tounicode.py uses to put ideographs back into the text of the
PDFs Chromium prints, from the Noto CJK fonts installed here (Debian's fonts-noto-cjk).

Chromium's PDF backend (Skia) writes each font's /ToUnicode map by taking, for every glyph, the
lowest code point the font's cmap gives for it. Noto CJK draws a radical with the very glyph of
its ideograph (⻢ U+2EE2 and 马 U+9A6C are one glyph in the SC face), so the radical, being the
lower code point, is what the PDF's text says. This script asks the fonts which ideographs
share each radical's glyph; that is exactly the set of characters Chromium can turn into it.

Run it offline, after a change of the fonts:

    .venv/bin/python -m monitor.evaluate.build_radicals [FONT.ttc ...]

It needs fontTools (in the dev extra); the service itself only reads the TSV it writes.
"""

from __future__ import annotations

import argparse
import sys
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

FONTS = (Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"),
         Path("/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc"))
OUTPUT = Path(__file__).with_name("radicals.tsv")
# SC first: the reports are zh-CN and Chromium lays them out in the SC face. The other faces only
# answer for radicals whose glyph the SC faces give to no ideograph.
REGIONS = ("SC", "TC", "HK", "JP", "KR")

SUPPLEMENT = range(0x2E80, 0x2F00)  # CJK Radicals Supplement
KANGXI = range(0x2F00, 0x2FE0)  # Kangxi Radicals
EXT_A = range(0x3400, 0x4DC0)  # CJK Unified Ideographs Extension A
URO = range(0x4E00, 0xA000)  # CJK Unified Ideographs


@dataclass(frozen=True)
class Face:
    name: str  # "Noto Sans CJK SC"
    region: str  # "SC"
    glyphs: dict[int, str]  # code point → glyph name, the font's best cmap
    by_glyph: dict[str, list[int]]  # glyph name → its code points, ascending


@dataclass(frozen=True)
class Entry:
    source: int
    target: int
    kind: str  # "kangxi", "supplement" or "ext-a"
    face: str  # the face whose glyphs say so, or "NFKC"

    def line(self) -> str:
        return (f"{self.source:04X}\t{self.target:04X}\t{chr(self.source)}\t{chr(self.target)}"
                f"\t{self.kind}\t{self.face}")


def load_faces(paths: Iterable[Path]) -> tuple[list[Face], list[str]]:
    """The CJK faces of the font files, best region first, and a line per file for the header."""
    from fontTools.ttLib import TTCollection  # build-time only: fontTools is no dependency

    faces: list[tuple[int, int, Face]] = []
    described: list[str] = []
    for path in paths:
        collection = TTCollection(str(path), lazy=True)
        try:
            for font in collection.fonts:
                name = str(font["name"].getDebugName(1))
                region = name.rsplit(" ", 1)[-1]
                if region not in REGIONS or " Mono " in name:  # Mono has the Sans cmap
                    continue
                glyphs: dict[int, str] = dict(font.getBestCmap())
                by_glyph: dict[str, list[int]] = defaultdict(list)
                for code, glyph in sorted(glyphs.items()):
                    by_glyph[glyph].append(code)
                faces.append((REGIONS.index(region), len(faces),
                              Face(name, region, glyphs, dict(by_glyph))))
            version = str(collection.fonts[0]["name"].getDebugName(5)).split(";")[0]
        finally:
            collection.close()  # lazy loading kept the file open
        described.append(f"{path.name} ({version})")
    return [face for _, _, face in sorted(faces, key=lambda f: f[:2])], described


def sharing(face: Face, code: int, wanted: Sequence[range]) -> int | None:
    """The ideograph drawn with the glyph of code, in the first of the wanted ranges that has
    one (the lowest code point there), or None."""
    glyph = face.glyphs.get(code)
    if glyph is None:
        return None
    for block in wanted:
        found = [c for c in face.by_glyph[glyph] if c in block and c != code]
        if found:
            return found[0]
    return None


def radical_entry(code: int, faces: list[Face], notes: list[str]) -> Entry | None:
    kind = "kangxi" if code in KANGXI else "supplement"
    answers = [(face, target) for face in faces
               if (target := sharing(face, code, (URO, EXT_A))) is not None]
    nfkc = unicodedata.normalize("NFKC", chr(code))
    folded = ord(nfkc) if len(nfkc) == 1 and nfkc != chr(code) else None
    if not answers:
        if folded is None:
            return None
        return Entry(code, folded, kind, "NFKC")
    face, target = answers[0]
    others = {t for f, t in answers if f.region == face.region and t != target}
    if others:
        notes.append(f"U+{code:04X} {chr(code)}: {face.name} says {chr(target)}, other "
                     f"{face.region} faces say {''.join(map(chr, sorted(others)))}")
    if folded is not None and folded != target:
        notes.append(f"U+{code:04X} {chr(code)}: NFKC gives {chr(folded)} U+{folded:04X}, "
                     f"{face.name} draws it as {chr(target)} U+{target:04X}; the font wins, "
                     "since that is the character the HTML had")
    return Entry(code, target, kind, face.name)


def build(faces: list[Face]) -> tuple[list[Entry], list[str]]:
    notes: list[str] = []
    entries = [entry for code in (*SUPPLEMENT, *KANGXI)
               if unicodedata.name(chr(code), None)
               and (entry := radical_entry(code, faces, notes)) is not None]
    # Extension A comes before the unified block too, so where an SC face draws an Extension A
    # character with an ideograph's glyph, Chromium writes the rare character for the common
    # one: 胶 (as in 胶囊, capsules) comes out as 㬵. Only the SC faces count here: in another
    # face the two may look different, and then the rare character was really in the text.
    seen: set[int] = set()
    for face in faces:
        if face.region != "SC":
            continue
        for code in EXT_A:
            target = sharing(face, code, (URO,))
            if target is not None and code not in seen:
                seen.add(code)
                entries.append(Entry(code, target, "ext-a", face.name))
    return sorted(entries, key=lambda e: e.source), notes


def render(entries: list[Entry], fonts: list[str]) -> str:
    import fontTools

    kangxi = sum(e.kind == "kangxi" for e in entries)
    supplement = sum(e.kind == "supplement" for e in entries)
    header = [
        "# Look-alike code points and the ideograph that shares their glyph, for the /ToUnicode",
        "# maps of the PDFs Chromium prints (monitor/evaluate/tounicode.py reads the first two",
        "# columns). Built offline, do not edit: .venv/bin/python -m monitor.evaluate.build_radicals",
        f"# with fontTools {fontTools.version} from:",
        *(f"#   {font}" for font in fonts),
        "# A radical maps to the ideograph (unified block first, then Extension A) that the first",
        f"# face in the order {', '.join(REGIONS)} draws with the radical's glyph; a Kangxi radical",
        "# no face shares falls back to its NFKC form. An Extension A character maps to the",
        "# unified ideograph an SC face draws with its glyph.",
        (f"# {kangxi} Kangxi radicals, {supplement} from the Radicals Supplement, "
         f"{len(entries) - kangxi - supplement} Extension A look-alikes."),
        "# from\tto\tfrom\tto\tkind\tface",
    ]
    return "\n".join([*header, *(e.line() for e in entries)]) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("fonts", nargs="*", type=Path, default=list(FONTS),
                        help="Noto CJK font collections (default: Debian's Sans and Serif)")
    parser.add_argument("-o", "--output", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)
    missing = [str(p) for p in args.fonts if not p.is_file()]
    if missing:
        print(f"no such font file: {', '.join(missing)} (apt-get install fonts-noto-cjk)",
              file=sys.stderr)
        return 2
    faces, fonts = load_faces(args.fonts)
    if not any(face.region == "SC" for face in faces):
        print("none of the fonts has a Simplified Chinese (SC) face", file=sys.stderr)
        return 2
    entries, notes = build(faces)
    for note in notes:
        print(note, file=sys.stderr)
    args.output.write_text(render(entries, fonts), encoding="utf-8")
    print(f"{args.output}: {len(entries)} entries", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
