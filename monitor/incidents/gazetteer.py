"""China's provinces, prefectures and counties by name, for stories from outside the
jurisdiction. The profile knows only the jurisdiction's own places; a story from 孝义 told by
residents, by a newsroom and by the county's bulletin shares little but the county's name, so
that name becomes a term of its own in the clustering vectors, as the profile's places do.

The names come from models/lexicon/places_cn.tsv (see build_places.py there); a name or short
form that is one of the profile's places is left to the profile."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from pathlib import Path

import ahocorasick

from monitor.analyze.lexicon import MODELS_DIR
from monitor.analyze.text import normalize
from monitor.errors import ConfigError

PLACES_CN_PATH = MODELS_DIR / "lexicon" / "places_cn.tsv"
LEVELS = ("province", "prefecture", "county")


class Gazetteer:
    def __init__(self, rows: Iterable[tuple[str, str, str]], skip: Iterable[str] = ()) -> None:
        """``rows``: (name, short form or "", level); ``skip``: names left to the profile."""
        skipped = {normalize(s) for s in skip}
        self._automaton = ahocorasick.Automaton()
        levels: dict[str, str] = {}
        for name, short, level in rows:
            canonical = short or name  # 孝义市 and 孝义 are one term
            levels.setdefault(canonical, level)
            full = normalize(name)
            for key in {full, normalize(short)} - {""}:
                if key not in skipped:
                    self._automaton.add_word(key, (canonical, level, key != full))
        self.levels = levels  # canonical name → level (the first listed, for a shared name)
        if len(self._automaton) == 0:
            self._automaton.add_word("\x00", ("", "county", False))
        self._automaton.make_automaton()

    def find(self, normalized: str, words: Collection[str] | None = None) -> dict[str, str]:
        """The places named in normalised text, canonical name → level; the longest name
        wins. With the text's ``words``, a short form counts only as a word of its own: 孝义
        in 孝义那边, not 望都 in 希望都平安."""
        return {name: level for _, (name, level, short) in self._automaton.iter_long(normalized)
                if name and not (short and words is not None and name not in words)}


def load_gazetteer(path: Path = PLACES_CN_PATH, skip: Iterable[str] = ()) -> Gazetteer:
    rows = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the place names ({exc.strerror})") from None
    for number, line in enumerate(lines, 1):
        fields = line.split("\t")
        if len(fields) != 3 or not fields[0] or fields[2] not in LEVELS:
            raise ConfigError(f"{path}:{number}: expected name<TAB>short form<TAB>level "
                              f"(one of {', '.join(LEVELS)})")
        rows.append((fields[0], fields[1], fields[2]))
    return Gazetteer(rows, skip)
