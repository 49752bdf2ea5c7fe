"""The text layer of the PDF reports: what copying, searching and pypdf read from a report says
耿马 and 一小学, as the HTML did, not the radicals Chromium writes for their glyphs (耿⻢, ⼀⼩学).
Checked on a real Chromium PDF, on hand-written /ToUnicode maps, and on the table itself."""

from __future__ import annotations

import io
import logging
import re
import shutil
import tomllib
import unicodedata
import zlib
from importlib import resources
from pathlib import Path

import pytest
from pypdf import PdfReader

from monitor.evaluate import tounicode
from monitor.evaluate.document import Document, Heading, Para, Table
from monitor.evaluate.formats import to_html
from monitor.evaluate.pdf import html_to_pdf
from monitor.evaluate.tounicode import restore_ideographs

ROOT = Path(__file__).parents[2]
RADICALS = re.compile("[\u2e80-\u2fdf]")  # CJK Radicals Supplement and Kangxi Radicals


def table_lines() -> list[list[str]]:
    text = resources.files("monitor.evaluate").joinpath("radicals.tsv").read_text("utf-8")
    return [line.split("\t") for line in text.splitlines() if line and not line.startswith("#")]


def table() -> dict[int, int]:
    return {int(f[0], 16): int(f[1], 16) for f in table_lines()}


# --- a real Chromium PDF --------------------------------------------------------------------

@pytest.mark.skipif(shutil.which("chromium") is None,
                    reason="needs Debian's chromium (installed by .ci/run)")
async def test_a_chromium_pdf_reads_back_with_the_ideographs_of_its_html(
        monkeypatch: pytest.MonkeyPatch) -> None:
    words = ["耿马县", "第一小学", "一小学", "马", "长", "门", "见", "食品", "龙", "用户",
             "胶囊", "鱼", "鸟", "黄", "齿", "车", "贝", "风", "飞", "页", "金", "言", "走"]
    doc = Document("耿马县食品安全舆情专报", "耿马县卫生健康局").add(
        Heading("一、基本情况"),
        Para("耿马县第一小学食品安全事件：家长反映学校食堂饭菜变质，龙门镇卫生院见诊学生12名。"),
        Table(("词", "说明"), [(w, f"{w}（测试）") for w in words]))
    html = to_html(doc)
    assert not RADICALS.search(html)
    printed: list[bytes] = []  # what Chromium wrote, before the rewrite

    def keeping(data: bytes) -> bytes:
        printed.append(data)
        return restore_ideographs(data)

    monkeypatch.setattr(tounicode, "restore_ideographs", keeping)
    data = await html_to_pdf(html)
    pdf = PdfReader(io.BytesIO(data))
    text = "".join(page.extract_text() for page in pdf.pages)
    assert not RADICALS.search(text), sorted({f"U+{ord(c):04X} {c}" for c in RADICALS.findall(text)})
    assert not set(text) & {chr(c) for c in table()}  # nor 㬵 for 胶 and the like
    compact = "".join(text.split())
    for word in ("耿马县食品安全舆情专报", "耿马县第一小学食品安全事件", "一小学", "龙门镇卫生院",
                 *words):
        assert word in compact
    # the rest of the PDF as Chromium wrote it
    [raw] = printed
    assert RADICALS.search(PdfReader(io.BytesIO(raw)).pages[0].extract_text())  # the bug
    assert len(PdfReader(io.BytesIO(raw)).pages) == len(pdf.pages) == 1
    assert 0.9 < len(data) / len(raw) < 1.1


# --- hand-written /ToUnicode maps -----------------------------------------------------------

def cmap(body: str, two_bytes: bool = False) -> bytes:
    space = "<0000> <FFFF>" if two_bytes else "<00> <FF>"
    return ("/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n"
            "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n"
            "/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n"
            f"1 begincodespacerange\n{space}\nendcodespacerange\n{body}\nendcmap\n"
            "CMapName currentdict /CMap defineresource pop\nend\nend\n").encode()


def stream(data: bytes, compress: bool = True) -> bytes:
    if compress:  # as Chromium writes them
        data = zlib.compress(data)
    head = b"<< /Length %d%s >>" % (len(data), b" /Filter /FlateDecode" if compress else b"")
    return head + b"\nstream\n" + data + b"\nendstream"


def pdf(fonts: dict[str, tuple[bytes, bool]], content: bytes, in_form: bool = False) -> bytes:
    """A one-page PDF whose fonts (resource name → ToUnicode map, two-byte codes) draw the
    content, on the page or in a form the page draws."""
    objects: dict[int, bytes] = {1: b"<< /Type /Catalog /Pages 2 0 R >>",
                                 2: b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>"}
    refs = []
    for n, (name, (to_unicode, two_bytes)) in enumerate(fonts.items()):
        font, umap, cid = 10 + 3 * n, 11 + 3 * n, 12 + 3 * n
        objects[umap] = stream(to_unicode, compress=n % 2 == 0)
        if two_bytes:
            objects[font] = (f"<< /Type /Font /Subtype /Type0 /BaseFont /{name} /Encoding "
                             f"/Identity-H /DescendantFonts [{cid} 0 R] /ToUnicode {umap} 0 R >>"
                             ).encode()
            objects[cid] = (f"<< /Type /Font /Subtype /CIDFontType2 /BaseFont /{name} "
                            "/CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) "
                            "/Supplement 0 >> /DW 1000 >>").encode()
        else:
            objects[font] = (f"<< /Type /Font /Subtype /Type1 /BaseFont /{name} "
                             f"/ToUnicode {umap} 0 R >>").encode()
            objects[cid] = b"null"
        refs.append(f"/{name} {font} 0 R")
    fonts_dict = f"<< /Font << {' '.join(refs)} >> >>"
    if in_form:
        objects[5] = (f"<< /Type /XObject /Subtype /Form /BBox [0 0 300 300] "
                      f"/Resources {fonts_dict} /Length {len(content)} >>\nstream\n").encode()
        objects[5] += content + b"\nendstream"
        content, fonts_dict = b"/X0 Do", "<< /XObject << /X0 5 0 R >> >>"
    objects[3] = (f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 300 300] /Resources {fonts_dict} "
                  "/Contents 4 0 R >>").encode()
    objects[4] = stream(content, compress=False)
    return _file(objects)


def _file(objects: dict[int, bytes]) -> bytes:
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = {}
    for number in sorted(objects):
        offsets[number] = out.tell()
        out.write(b"%d 0 obj\n%s\nendobj\n" % (number, objects[number]))
    size = max(objects) + 1
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % size)
    for number in range(1, size):
        out.write(b"%010d 00000 n \n" % offsets[number] if number in offsets
                  else b"0000000000 00000 f \n")
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (size, xref))
    return out.getvalue()


def text_of(data: bytes) -> str:
    return "".join(PdfReader(io.BytesIO(data)).pages[0].extract_text().split())


def maps_of(data: bytes) -> dict[str, str]:
    """Font name → its ToUnicode map's bf sections, as text."""
    page = PdfReader(io.BytesIO(data)).pages[0]
    fonts = page["/Resources"].get("/Font") or (
        page["/Resources"]["/XObject"]["/X0"]["/Resources"]["/Font"])
    out = {}
    for font in fonts.values():
        font = font.get_object()
        text = font["/ToUnicode"].get_data().decode()
        out[str(font["/BaseFont"])[1:]] = text[text.index("endcodespacerange") + 18:
                                               text.index("endcmap")].strip()
    return out


def test_bfchar_destinations_become_ideographs() -> None:
    before = pdf({"F": (cmap("3 beginbfchar\n<01> <2EE2>\n<02> <2F00>\n<03> <0041>\nendbfchar"),
                        False)},
                 b"BT /F 12 Tf 10 10 Td <010203> Tj ET")
    assert text_of(before) == "⻢⼀A"
    after = restore_ideographs(before)
    assert text_of(after) == "马一A"
    assert maps_of(after)["F"] == "3 beginbfchar\n<01> <9A6C>\n<02> <4E00>\n<03> <0041>\nendbfchar"


def test_bfrange_arrays_keep_one_destination_per_code() -> None:
    before = pdf({"F": (cmap("2 beginbfrange\n<01> <03> [<2F00> <2F29> <5B66>]\n"
                             "<10> <11> [<0066006C> <2EE2>]\nendbfrange"), False)},
                 b"BT /F 12 Tf 10 10 Td <0102031011> Tj ET")
    assert text_of(before) == "⼀⼩学fl⻢"
    after = restore_ideographs(before)
    assert text_of(after) == "一小学fl马"
    assert maps_of(after)["F"] == ("2 beginbfrange\n<01> <03> [<4E00> <5C0F> <5B66>]\n"
                                   "<10> <11> [<0066006C> <9A6C>]\nendbfrange")


def test_a_bfrange_across_radicals_is_split_so_every_code_maps_as_before() -> None:
    # 0030–003F count up from ⻰ U+2EF0: four radicals, twelve unassigned code points after the
    # Radicals Supplement (kept as a range), then ⼀ U+2F00 onwards; 0050–0059 from U+2E7C: six
    # code points no ideograph shares, ⺂ ⺃, ⺄ (none), ⺅; 0100–0104 ideographs, left alone
    before = pdf({"T": (cmap("3 beginbfrange\n<0030> <0045> <2EF0>\n<0050> <0059> <2E7C>\n"
                             "<0100> <0104> <4E00>\nendbfrange", two_bytes=True), True)},
                 b"BT /T 12 Tf 10 10 Td <00300033003400400045005000560058005901000104> Tj ET")
    assert text_of(before) == "⻰⻳\u2ef4⼀⼅\u2e7c⺂⺄⺅一丄"
    after = restore_ideographs(before)
    assert text_of(after) == "龙龟\u2ef4一亅\u2e7c乛⺄亻一丄"
    assert maps_of(after)["T"] == (
        "3 beginbfrange\n<0034> <003F> <2EF4>\n<0050> <0055> <2E7C>\n<0100> <0104> <4E00>\n"
        "endbfrange\n"
        "14 beginbfchar\n<0030> <9F99>\n<0031> <9F9C>\n<0032> <4E80>\n<0033> <9F9F>\n"
        "<0040> <4E00>\n<0041> <4E28>\n<0042> <4E36>\n<0043> <4E3F>\n<0044> <4E59>\n"
        "<0045> <4E85>\n<0056> <4E5B>\n<0057> <4E5A>\n<0058> <2E84>\n<0059> <4EBB>\n"
        "endbfchar")


def test_long_sections_are_cut_at_a_hundred_entries() -> None:
    equivalents = table()
    before = pdf({"F": (cmap("1 beginbfrange\n<00> <FF> <2E80>\nendbfrange"), False)},
                 b"BT /F 12 Tf 10 10 Td <" + bytes(range(256)).hex().encode() + b"> Tj ET")
    after = restore_ideographs(before)
    assert text_of(after) == "".join(chr(equivalents.get(c, c)) for c in range(0x2E80, 0x2F80))
    sections = re.findall(r"(\d+) begin(bf\w+)\n(.*?)\nend\2", maps_of(after)["F"],
                          re.DOTALL)
    assert all(int(n) == len(lines.splitlines()) <= 100 for n, _, lines in sections)
    chars = [len(lines.splitlines()) for _, kind, lines in sections if kind == "bfchar"]
    # each radical a bfchar entry (and an unchanged code between two of them, too)
    assert len(chars) >= 3
    assert sum(chars) >= len([c for c in range(0x2E80, 0x2F80) if c in equivalents]) > 200


def test_fonts_in_forms_are_rewritten_too() -> None:
    before = pdf({"F": (cmap("1 beginbfchar\n<01> <2EE2>\nendbfchar"), False)},
                 b"BT /F 12 Tf 10 10 Td <01> Tj ET", in_form=True)
    assert maps_of(restore_ideographs(before))["F"] == "1 beginbfchar\n<01> <9A6C>\nendbfchar"


def test_comments_and_strings_are_not_sections() -> None:
    body = ("% 1 beginbfchar <01> <2EE2> endbfchar\n/Note (beginbfchar \\) (endbfchar)) def\n"
            "1 beginbfchar\n<01> <2EE2>\nendbfchar")
    before = pdf({"F": (cmap(body), False)}, b"BT /F 12 Tf 10 10 Td <01> Tj ET")
    after = maps_of(restore_ideographs(before))["F"]
    assert after.endswith("def\n1 beginbfchar\n<01> <9A6C>\nendbfchar")
    assert after.startswith("% 1 beginbfchar <01> <2EE2> endbfchar\n/Note (")


def test_a_pdf_without_radicals_comes_back_byte_for_byte() -> None:
    before = pdf({"F": (cmap("1 beginbfrange\n<01> <03> <4E00>\nendbfrange"), False)},
                 b"BT /F 12 Tf 10 10 Td <010203> Tj ET")
    assert restore_ideographs(before) == before


@pytest.mark.parametrize("body", [
    "2 beginbfchar\n<01> <2EE2>\n<02>\nendbfchar",  # a code without destination
    "1 beginbfchar\n<01> <2EE2\nendbfchar",  # a hex string not closed
    "1 beginbfchar\n<01> <2EE>\nendbfchar",  # half a byte
    "1 beginbfrange\n<01> <02> <2EE2>\n",  # no end
    "1 beginbfrange\n<01> <03> [<2F00> <2F29>]\nendbfrange",  # a destination short
    "1 beginbfrange\n<05> <01> <2EE2>\nendbfrange",  # backwards
    "1 beginbfrange\n<01> <0002> <2EE2>\nendbfrange",  # codes of two lengths
    "1 beginbfchar\n<01> <2EE2>\nendbfchar\nendbfchar",  # an end too many
])
def test_a_damaged_map_is_left_as_it_is_and_named(body: str,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    broken = cmap(body)
    before = pdf({"Good": (cmap("1 beginbfchar\n<01> <2EE2>\nendbfchar"), False),
                  "Broken": (broken, False)},
                 b"BT /Good 12 Tf 10 10 Td <01> Tj /Broken 12 Tf <01> Tj ET")
    with caplog.at_level(logging.WARNING, logger="monitor.evaluate.tounicode"):
        after = restore_ideographs(before)
    fonts = PdfReader(io.BytesIO(after)).pages[0]["/Resources"]["/Font"]
    assert fonts["/Broken"]["/ToUnicode"].get_data() == broken
    assert maps_of(after)["Good"] == "1 beginbfchar\n<01> <9A6C>\nendbfchar"  # the rest still
    [record] = caplog.records
    assert record.levelno == logging.WARNING
    assert "PDF font /Broken (Type1, object" in record.getMessage()
    assert "left as it is" in record.getMessage()


def test_a_file_pypdf_cannot_read_comes_back_as_it_was(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="monitor.evaluate.tounicode"):
        assert restore_ideographs(b"%PDF-1.4\nnot really") == b"%PDF-1.4\nnot really"
    assert "could not be read" in caplog.text


# --- the table --------------------------------------------------------------------------------

def test_the_table_maps_radicals_to_unified_ideographs() -> None:
    lines = table_lines()
    equivalents = table()
    assert len(equivalents) == len(lines)  # each code point once
    kinds: dict[str, int] = {}
    for source, target, *_ in lines:
        s, t = int(source, 16), int(target, 16)
        kind = ("kangxi" if 0x2F00 <= s <= 0x2FDF else "supplement" if 0x2E80 <= s <= 0x2EFF
                else "ext-a" if 0x3400 <= s <= 0x4DBF else "?")
        kinds[kind] = kinds.get(kind, 0) + 1
        assert kind != "?", source
        assert "CJK UNIFIED IDEOGRAPH" in unicodedata.name(chr(t)), (source, target)
        assert 0x4E00 <= t <= 0x9FFF or (0x3400 <= t <= 0x4DBF and kind != "ext-a")
        assert t not in equivalents  # one step is enough
    named = [c for c in range(0x2F00, 0x2FE0) if unicodedata.name(chr(c), None)]
    assert kinds["kangxi"] == len(named) == 214  # every Kangxi radical has its ideograph
    assert kinds["supplement"] >= 70
    for radical, ideograph in ("⻢马", "⻓长", "⻔门", "⻅见", "⻰龙", "⻝食", "⼀一", "⼩小",
                               "⾷食", "⾦金", "⺟母", "⻳龟", "㬵胶"):
        assert equivalents[ord(radical)] == ord(ideograph)


def test_the_table_agrees_with_nfkc() -> None:
    disagree = {}
    for source, target in table().items():
        folded = unicodedata.normalize("NFKC", chr(source))
        if folded != chr(source) and folded != chr(target):
            disagree[chr(source)] = (folded, chr(target))
    # NFKC folds ⼾ to the traditional 戶, but the SC face draws it as 户 (用户, 户籍), and 户
    # is what a report that shows ⼾ had in its HTML
    assert disagree == {"⼾": ("戶", "户")}


def test_the_table_ships_with_the_package_and_says_how_it_was_built() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
    assert "evaluate/radicals.tsv" in config["tool"]["setuptools"]["package-data"]["monitor"]
    text = resources.files("monitor.evaluate").joinpath("radicals.tsv").read_text("utf-8")
    assert "python -m monitor.evaluate.build_radicals" in text.split("\n# from")[0]


def test_the_table_is_what_the_installed_fonts_give(tmp_path: Path) -> None:
    pytest.importorskip("fontTools", reason="fontTools builds the table (the dev extra)")
    from monitor.evaluate.build_radicals import FONTS, main

    if not all(path.is_file() for path in FONTS):
        pytest.skip("needs Debian's fonts-noto-cjk")
    out = tmp_path / "radicals.tsv"
    assert main(["-o", str(out)]) == 0
    rebuilt = [line for line in out.read_text("utf-8").splitlines() if not line.startswith("#")]
    assert rebuilt == ["\t".join(f) for f in table_lines()]
