"""Tone and risk cues: the words, emoji and platform emoticons a text carries.

Tone cues feed the classifier: each hit adds a token of its category ("anger", "grief"…) beside
the text's words, so the model learns one weight per category from the corpus, and a word of
the lexicon counts even where no corpus text used it. Emoji and Weibo emoticons ("[怒]") are
read from the raw text, since normalisation strips them.

Risk cues give a second per-item signal, apart from tone: what makes an item sensitive for a
health authority (deaths, children, epidemics, poisoning, violence against medics, rumours, the
jurisdiction's own hospitals), so that a calm notice of new cases can still be high in risk.
Both lexicons are data (models/lexicon/tone.yaml, risk.yaml); this module only reads them.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import ahocorasick
from pydantic import BaseModel, ConfigDict, Field

from monitor.analyze.text import normalize
from monitor.config import read_yaml, validate

CUE_PREFIX = "〔"  # a cue token is 〔category〕: no word of any text has this form
TONE_NAMES = {"anger": "愤怒", "fear": "恐惧", "grief": "悲伤", "complaint": "投诉",
              "distrust": "不信任", "spread": "求扩散", "alarm": "惊警", "positive": "正面"}
_EMOTICON = re.compile(r"\[([^\[\]\s]{1,8})\]")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ToneFile(_Strict):
    words: dict[str, list[str]]
    negated: list[str] = Field(default_factory=list)
    emoji: dict[str, str] = Field(default_factory=dict)
    emoticons: dict[str, list[str]] = Field(default_factory=dict)


class RiskCategory(_Strict):
    key: str = Field(pattern=r"^[a-z][a-z_]*$")
    name: str = Field(min_length=1)
    weight: float = Field(gt=0, lt=1)
    words: list[str] = Field(min_length=1)
    modifier: bool = False  # counts only beside a category that is not a modifier


class LocalUnits(_Strict):
    name: str = Field(min_length=1)
    weight: float = Field(gt=0, lt=1)


class RiskFile(_Strict):
    categories: list[RiskCategory] = Field(min_length=1)
    negated: list[str] = Field(default_factory=list)
    local_units: LocalUnits


def cue_token(category: str) -> str:
    return f"{CUE_PREFIX}{category}〕"


def _automaton(entries: Iterable[tuple[str, str]]) -> ahocorasick.Automaton:
    """Word → category ("" for a negated phrase), keyed by normalised text."""
    automaton = ahocorasick.Automaton()
    for word, category in entries:
        key = normalize(word)
        if key:
            automaton.add_word(key, (len(key), category))
    if len(automaton) == 0:
        automaton.add_word("\x00", (1, ""))
    automaton.make_automaton()
    return automaton


def _hits(automaton: ahocorasick.Automaton, text: str) -> list[str]:
    """The categories of the leftmost-longest matches, which never overlap, in text order; a
    negated phrase (category "") hides what it covers and counts for nothing."""
    return [category for _, (_, category) in automaton.iter_long(text) if category]


@dataclass(frozen=True)
class Tone:
    """Finds tone cues; ``fingerprint`` identifies the lexicon for the model card."""

    automaton: ahocorasick.Automaton
    emoji: dict[str, str]  # character → category
    emoticons: dict[str, str]  # emoticon name → category
    fingerprint: str
    any_emoji: re.Pattern[str]
    bmp_emoji: re.Pattern[str] | None  # those within the BMP, looked for only when needed

    def cues(self, raw: str, normalized: str) -> tuple[str, ...]:
        tokens = [cue_token(c) for c in _hits(self.automaton, normalized)]
        # most emoji lie beyond the BMP, and max() finds out in C whether the text has any
        if not raw.isascii() and (max(raw) > "\uffff" or self.bmp_emoji is not None
                                  and self.bmp_emoji.search(raw)):
            tokens += [cue_token(self.emoji[ch]) for ch in self.any_emoji.findall(raw)]
        if "[" in raw:
            tokens += [cue_token(self.emoticons[name]) for name in _EMOTICON.findall(raw)
                       if name.casefold() in self.emoticons]
        return tuple(tokens)


def load_tone(path: Path) -> Tone:
    m = validate(path, ToneFile, read_yaml(path))
    entries = [(w, c) for c, words in m.words.items() for w in words]
    entries += [(w, "") for w in m.negated]
    emoji = {ch: c for c, chars in m.emoji.items() for ch in chars}
    emoticons = {name.casefold(): c for c, names in m.emoticons.items() for name in names}
    every = re.compile("[" + "".join(map(re.escape, emoji)) + "]" if emoji else "(?!)")
    bmp = "".join(re.escape(ch) for ch in emoji if ch <= "\uffff")
    return Tone(_automaton(entries), emoji, emoticons, _digest(path), every,
                re.compile(f"[{bmp}]") if bmp else None)


@dataclass(frozen=True)
class Risk:
    """Scores an item's sensitivity: 1 − Π(1 − weight) over the categories it touches."""

    automaton: ahocorasick.Automaton
    weights: dict[str, float]  # category name → weight
    order: dict[str, int]  # category name → its place in the file, for stable reasons
    local_units: frozenset[str]  # the profile's own hospitals and units
    local_name: str
    modifiers: frozenset[str]  # categories that only add to others (children, a hospital…)

    def assess(self, normalized: str, places: Iterable[str]) -> tuple[float, tuple[str, ...]]:
        names = set(_hits(self.automaton, normalized))
        if self.local_units.intersection(places):
            names.add(self.local_name)
        if names <= self.modifiers:
            return 0.0, ()
        # in a fixed order, so that the product rounds the same in every process
        ranked = sorted(names, key=lambda n: (-self.weights[n], self.order[n]))
        keep = 1.0
        for name in ranked:
            keep *= 1.0 - self.weights[name]
        return round(1.0 - keep, 3), tuple(ranked)


def load_risk(path: Path, local_units: Iterable[str]) -> Risk:
    m = validate(path, RiskFile, read_yaml(path))
    entries = [(w, c.name) for c in m.categories for w in c.words]
    entries += [(w, "") for w in m.negated]
    weights = {c.name: c.weight for c in m.categories}
    weights[m.local_units.name] = m.local_units.weight
    order = {name: n for n, name in enumerate(weights)}
    modifiers = {c.name for c in m.categories if c.modifier} | {m.local_units.name}
    return Risk(_automaton(entries), weights, order, frozenset(local_units), m.local_units.name,
                frozenset(modifiers))


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def tone_name(token: str) -> str | None:
    """The Chinese name of a cue token's category, or None for an ordinary word."""
    if not token.startswith(CUE_PREFIX):
        return None
    return TONE_NAMES.get(token[1:-1], token[1:-1])
