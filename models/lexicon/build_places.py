"""Build places_cn.tsv, the names of China's provinces, prefectures and counties, from the
administrative division codes bundled with the cpca package (MIT licence, ``adcodes.csv``:
code, name, coordinates; and ``56_nations.csv``). Only the names and their level are kept.

Each row is ``name<TAB>short<TAB>level``. The short form is how the news says it (孝义市 →
孝义, 耿马傣族佤族自治县 → 耿马, 西双版纳傣族自治州 → 西双版纳); districts (…区) get none, since
theirs are often ordinary words (和平, 新华, 城关), and so does a short form that jieba's
dictionary knows as a frequent ordinary word (公安, 合作, 日照; for counties, also a frequent
word tagged other than a place, or any very frequent one: 和平, 友谊, 平原). Run once, by hand, with cpca and
jieba installed (neither is needed at run time):

    pip install cpca jieba && python models/lexicon/build_places.py
"""

from __future__ import annotations

import csv
import importlib.metadata
import re
from pathlib import Path

import jieba

OUT = Path(__file__).with_name("places_cn.tsv")
SUFFIX = re.compile(r"(.+?)(自治区|特别行政区|自治州|自治县|自治旗|地区|林区|省|市|县|盟|旗)")
NAME_TAGS = {"ns", "nr", "nrt", "nrfg", "nz", "s"}  # jieba tags that may be a place's name
COMMON = 300  # a short form jieba counts this often under another tag is an ordinary word


def main() -> None:
    cpca = importlib.metadata.distribution("cpca")
    rows = list(csv.DictReader(cpca.locate_file("cpca/resources/adcodes.csv")
                               .read_text(encoding="utf-8").splitlines()))
    nations = [n.strip() for n in cpca.locate_file("cpca/resources/56_nations.csv")
               .read_text(encoding="utf-8").splitlines() if n.strip()]
    words = {}
    with open(Path(jieba.__file__).with_name("dict.txt"), encoding="utf-8") as lines:
        for line in lines:
            word, freq, tag = line.split()
            words[word] = (int(freq), tag)
    seen, out = set(), []
    for row in rows:
        code, name = row["adcode"], row["name"]
        if "直辖" in name or name in ("县", "市辖区") or name in seen:
            continue
        seen.add(name)
        level = ("province" if code[2:] == "0" * 10 else
                 "prefecture" if code[4:] == "0" * 8 else "county")
        short = ""
        match = SUFFIX.fullmatch(name)
        if match and not (level == "county" and name.endswith("区")):
            short = _without_nations(match.group(1), nations)
        freq, tag = words.get(short, (0, "ns"))
        # a county's short form is the likeliest to be an ordinary word too (和平, 平原, 友谊)
        ordinary = (freq >= COMMON and tag != "ns" or freq >= 5000) if level == "county" \
            else freq >= COMMON and tag not in NAME_TAGS
        if len(short) < 2 or short == name or ordinary:
            short = ""
        out.append((name, short, level))
    out.sort(key=lambda r: (("province", "prefecture", "county").index(r[2]), r[0]))
    OUT.write_text("".join(f"{n}\t{s}\t{lv}\n" for n, s, lv in out), encoding="utf-8")
    print(f"{OUT}: {len(out)} places, {sum(bool(s) for _, s, _ in out)} with a short form")


def _without_nations(stem: str, nations: list[str]) -> str:
    """耿马傣族佤族 → 耿马."""
    while True:
        for nation in nations:
            if stem.endswith(nation) and len(stem) > len(nation):
                stem = stem[: -len(nation)]
                break
        else:
            return stem


if __name__ == "__main__":
    main()
