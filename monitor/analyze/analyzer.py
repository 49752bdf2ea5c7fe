"""Analysis of one batch of texts: classifier scores, watch-plan hits and places named."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import ahocorasick

from monitor.analyze.cues import Risk, Tone, load_risk, load_tone, tone_name
from monitor.analyze.features import Doc
from monitor.analyze.lexicon import (
    HEALTH_WORDS_PATH,
    MODELS_DIR,
    RISK_PATH,
    STOPWORDS_PATH,
    TAXONOMY_PATH,
    TONE_PATH,
    Profile,
    Topic,
    load_profile,
    load_taxonomy,
    read_word_list,
)
from monitor.analyze.model import Model, load_model
from monitor.analyze.plans import PlanSet, load_plans
from monitor.analyze.text import normalize, title_and_body
from monitor.analyze.tokens import Segmenter
from monitor.records import Signal, TopicScore

log = logging.getLogger(__name__)
THRESHOLD = 0.5
RISK_FLOOR = 0.05  # below this health score an item's risk would round to next to nothing
# The classifier reads the title and the start of the body: the lead says what a story is
# about, and the tail of a long article adds cost and noise rather than evidence. Plans read
# everything.
CLASSIFY_CHARS = 600


def make_segmenter(profile: Profile) -> Segmenter:
    words = [*profile.words(), *read_word_list(HEALTH_WORDS_PATH)]
    return Segmenter(words, read_word_list(STOPWORDS_PATH))


def make_doc(segmenter: Segmenter, normalized: str, tone: Tone | None = None,
             raw: str = "") -> Doc:
    """What the classifier reads of a text; ``tone`` adds its tone cues (``raw``: the text
    before normalisation, for emoji and emoticons)."""
    text = normalized[:CLASSIFY_CHARS]
    cues = tone.cues(raw[:2 * CLASSIFY_CHARS], text) if tone is not None else ()
    return Doc(text, segmenter.words(text), cues)


# A generic alias such as 市人民医院 means the jurisdiction's own unit in 在市人民医院 or at the start
# of a text, but is part of another city's name in 孝义市人民医院: after a character other than
# these, it is not ours.
_BEFORE_GENERIC = frozenset("在到去来往从的和与及送至进是了被由向对给把经将赴入住回找据称据悉")


class PlaceFinder:
    """Finds the profile's places and units in normalised text; reports canonical names,
    longest match first, so 凤庆县人民医院 is reported rather than also 凤庆."""

    def __init__(self, profile: Profile) -> None:
        self._automaton = ahocorasick.Automaton()
        for place in profile.places:
            for word in (place.name, *place.aliases):
                key = normalize(word)
                if len(key) >= 2:
                    generic = key[0] in "市县区"
                    self._automaton.add_word(key, (len(key), place.name, generic))
        self._automaton.make_automaton()

    def find(self, text: str) -> tuple[str, ...]:
        spans = []
        for end, (length, name, generic) in self._automaton.iter(text):
            start = end - length + 1
            if generic and start > 0 and _is_cjk(text[start - 1]) \
                    and text[start - 1] not in _BEFORE_GENERIC:
                continue
            spans.append((start, end, name))
        # keep matches not inside a longer one
        spans.sort(key=lambda s: (s[0], -s[1]))
        found: dict[str, None] = {}
        reach = -1
        for _start, end, name in spans:
            if end <= reach:
                continue
            reach = end
            found[name] = None
        return tuple(found)


def _is_cjk(char: str) -> bool:
    return "\u4e00" <= char <= "\u9fff"


@dataclass(frozen=True)
class Analyzer:
    model: Model
    segmenter: Segmenter
    plans: PlanSet
    places: PlaceFinder
    topics: tuple[Topic, ...]
    profile: Profile
    tone: Tone
    risk: Risk

    def analyze(self, texts: Sequence[tuple[str, str]],
                words: list[list[str]] | None = None) -> list[Signal]:
        """Signals for (title, body) pairs, in order; the body is plain text. ``words``, when
        given, receives each text's words as the classifier read them (for the search index)."""
        # the title alone is needed only by plans that look at titles
        raws = [title_and_body(t, b) for t, b in texts]
        joined = [normalize(raw) for raw in raws]
        titles = ([normalize(t) for t, _ in texts] if self.plans.title_scoped
                  else [""] * len(texts))
        docs = [make_doc(self.segmenter, text, self.tone, raw)
                for text, raw in zip(joined, raws, strict=True)]
        if words is not None:
            words.extend(list(doc.words) for doc in docs)
        # what raised negativity is worth telling for the items a duty officer may see
        probs, why = self.model.predict_explained(docs, "negative", THRESHOLD, "health")
        rows = probs.tolist()
        keys = self.model.outputs[1:-1]
        ident = self.model.ident
        signals = []
        for title, text, doc, row, tone_terms in zip(titles, joined, docs, rows, why,
                                                     strict=True):
            health = row[0]
            topics: tuple[TopicScore, ...] = ()
            if health >= THRESHOLD:
                scored = sorted(((p, k) for k, p in zip(keys, row[1:-1], strict=True)
                                 if p >= THRESHOLD), reverse=True)
                topics = tuple(TopicScore(k, round(p, 3)) for p, k in scored)
            places = self.places.find(text)
            # a death in a film review is no risk to a health authority: risk is weighed by
            # the health score, and not looked for where that would leave nothing
            risk, risk_terms = (self.risk.assess(doc.text, places) if health >= RISK_FLOOR
                                else (0.0, ()))
            risk = round(risk * health, 3)
            signals.append(Signal(
                health=health >= THRESHOLD, health_score=round(health, 3), topics=topics,
                negative=round(row[-1], 3), plans=tuple(self.plans.match(title, text)),
                places=places, model=ident, risk=risk, risk_terms=risk_terms,
                tone_terms=tuple(tone_name(t) or t for t in tone_terms)))
        return signals


def load_analyzer(profile_path: Path, plans_path: Path, model_dir: Path = MODELS_DIR,
                  taxonomy_path: Path = TAXONOMY_PATH) -> Analyzer:
    topics = tuple(load_taxonomy(taxonomy_path))
    profile = load_profile(profile_path)
    model = load_model(model_dir, [t.key for t in topics])
    segmenter = make_segmenter(profile)
    if model.card.get("segmenter_sha256") != segmenter.fingerprint:
        log.warning("the profile or word lists changed since the model was trained; it still "
                    "works, but run `monitor train` so that it learns the new words")
    tone = load_tone(TONE_PATH)
    if model.card.get("tone_sha256") != tone.fingerprint:
        log.warning("models/lexicon/tone.yaml changed since the model was trained; it still "
                    "works, but run `monitor train` so that it learns the new cues")
    units = [p.name for p in profile.places if p.kind not in ("city", "region", "town")]
    risk = load_risk(RISK_PATH, units)
    return Analyzer(model, segmenter, load_plans(plans_path), PlaceFinder(profile), topics,
                    profile, tone, risk)
