"""Watch plans (监测方案): the duty office's keyword rules.

A plan is either four word lists, as 舆情 desks write them (any subject word AND any region
word AND any event word, and no exclusion word), or an advanced boolean expression::

    (医院 OR 卫生院) AND (投诉 OR 纠纷 OR "打 人") AND NOT (演习 OR 电视剧)

Operators: ``AND`` (also ``&``, ``+`` or just a space), ``OR`` (also ``|``), ``NOT`` (also a
leading ``-`` or ``!``), parentheses, and quoted phrases ("…" or “…”) for text containing
spaces or operator characters. NOT binds tightest, then AND, then OR. Words match anywhere in
the normalised text (so traditional characters and full-width letters match too); a word of
Latin letters and digits matches only as a whole word ("icu" does not match "icup").

All plans compile once into one Aho-Corasick automaton, so checking an item costs one pass
over its text whatever the number of plans and words.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import ahocorasick
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from monitor.analyze.text import half_width, normalize
from monitor.config import line_of, read_yaml, validate
from monitor.errors import ConfigError
from monitor.records import PlanMatch

# --- expressions ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Word:
    text: str  # normalised


@dataclass(frozen=True, slots=True)
class Not:
    operand: Node


@dataclass(frozen=True, slots=True)
class AllOf:
    operands: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class AnyOf:
    operands: tuple[Node, ...]


Node = Word | Not | AllOf | AnyOf


class PlanSyntaxError(ValueError):
    def __init__(self, message: str, position: int) -> None:
        super().__init__(message)
        self.message = message
        self.position = position  # 0-based character offset into the expression


_OPEN_QUOTES = {'"': '"', "“": "”", "「": "」"}
_SYMBOLS = {"(": "open", ")": "close", "|": "or", "&": "and", "+": "and"}
_BREAK = set(" \t\r\n") | set(_SYMBOLS) | set(_OPEN_QUOTES)
_KEYWORDS = {"AND": "and", "OR": "or", "NOT": "not"}


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # word, phrase, and, or, not, open, close, end
    text: str
    position: int


def _tokens(expr: str) -> list[_Token]:
    # （）｜＋！ typed on a Chinese keyboard are the operators too; positions do not move
    expr = half_width(expr)
    out: list[_Token] = []
    i = 0
    while i < len(expr):
        ch = expr[i]
        if ch.isspace():
            i += 1
        elif ch in _SYMBOLS:
            out.append(_Token(_SYMBOLS[ch], ch, i))
            i += 1
        elif ch in "-!" and (i + 1 < len(expr) and not expr[i + 1].isspace()):
            out.append(_Token("not", ch, i))
            i += 1
        elif ch in _OPEN_QUOTES:
            end = expr.find(_OPEN_QUOTES[ch], i + 1)
            if end < 0:
                raise PlanSyntaxError(f"quote {ch} is never closed", i)
            if not expr[i + 1:end].strip():
                raise PlanSyntaxError("empty phrase", i)
            out.append(_Token("phrase", expr[i + 1:end], i))
            i = end + 1
        else:
            start = i
            while i < len(expr) and expr[i] not in _BREAK:
                i += 1
            text = expr[start:i]
            out.append(_Token(_KEYWORDS.get(text, "word"), text, start))
    out.append(_Token("end", "", len(expr)))
    return out


class _Parser:
    def __init__(self, expr: str) -> None:
        self.tokens = _tokens(expr)
        self.at = 0

    @property
    def peek(self) -> _Token:
        return self.tokens[self.at]

    def take(self) -> _Token:
        token = self.tokens[self.at]
        self.at += 1
        return token

    def parse(self) -> Node:
        if self.peek.kind == "end":
            raise PlanSyntaxError("the expression is empty", 0)
        node = self.any_()
        if self.peek.kind != "end":
            token = self.peek
            what = "a ')' without its '('" if token.kind == "close" else f"{token.text!r}"
            raise PlanSyntaxError(f"unexpected {what}", token.position)
        return node

    def any_(self) -> Node:
        parts = [self.all_()]
        while self.peek.kind == "or":
            self.take()
            parts.append(self.all_())
        return parts[0] if len(parts) == 1 else AnyOf(tuple(parts))

    def all_(self) -> Node:
        parts = [self.not_()]
        while self.peek.kind in ("and", "word", "phrase", "not", "open"):
            if self.peek.kind == "and":
                self.take()
            parts.append(self.not_())
        return parts[0] if len(parts) == 1 else AllOf(tuple(parts))

    def not_(self) -> Node:
        if self.peek.kind == "not":
            self.take()
            return Not(self.not_())
        return self.atom()

    def atom(self) -> Node:
        token = self.take()
        if token.kind in ("word", "phrase"):
            text = normalize(token.text)
            if not text:
                raise PlanSyntaxError(f"{token.text!r} has nothing left to match once "
                                      "normalised (only symbols or emoji)", token.position)
            return Word(text)
        if token.kind == "open":
            node = self.any_()
            if self.peek.kind != "close":
                raise PlanSyntaxError("'(' is never closed", token.position)
            self.take()
            return node
        if token.kind == "end":
            raise PlanSyntaxError("the expression ends where a word or '(' is expected",
                                  token.position)
        raise PlanSyntaxError(f"expected a word, a phrase or '(' but found {token.text!r}",
                              token.position)


def parse_expression(expr: str) -> Node:
    """Parse an advanced plan expression; PlanSyntaxError carries the position."""
    return _Parser(expr).parse()


Test = Callable[[AbstractSet[str]], bool]


def compile_node(node: Node) -> Test:
    """A function of the set of words found that says whether ``node`` holds; groups of
    plain words become single set operations."""
    if isinstance(node, Word):
        word = node.text
        return lambda found: word in found
    if isinstance(node, Not):
        inner = compile_node(node.operand)
        return lambda found: not inner(found)
    if all(isinstance(n, Word) for n in node.operands):
        words = frozenset(n.text for n in node.operands)  # type: ignore[union-attr]
        if isinstance(node, AllOf):
            return words.issubset
        return lambda found: not words.isdisjoint(found)
    parts = tuple(compile_node(n) for n in node.operands)
    if isinstance(node, AllOf):
        return lambda found: all(part(found) for part in parts)
    return lambda found: any(part(found) for part in parts)


def positive_words(node: Node, negated: bool = False) -> list[str]:
    """Words whose presence can make the plan match (not those under a NOT), in order."""
    if isinstance(node, Word):
        return [] if negated else [node.text]
    if isinstance(node, Not):
        return positive_words(node.operand, not negated)
    return [w for n in node.operands for w in positive_words(n, negated)]


def all_words(node: Node) -> list[str]:
    if isinstance(node, Word):
        return [node.text]
    if isinstance(node, Not):
        return all_words(node.operand)
    return [w for n in node.operands for w in all_words(n)]


def from_lists(subject: Sequence[str], region: Sequence[str], event: Sequence[str],
               exclude: Sequence[str]) -> Node:
    """The expression a simple plan stands for: (any subject) AND (any region) AND (any event)
    AND NOT (any exclusion); an empty list is left out."""
    groups: list[Node] = [AnyOf(tuple(Word(normalize(w)) for w in words))
              for words in (subject, region, event) if words]
    if exclude:
        groups.append(Not(AnyOf(tuple(Word(normalize(w)) for w in exclude))))
    return groups[0] if len(groups) == 1 else AllOf(tuple(groups))


# --- plans file -------------------------------------------------------------------------------


class PlanModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    name: str = Field(min_length=1)
    subject: list[str] = Field(default_factory=list)
    region: list[str] = Field(default_factory=list)
    event: list[str] = Field(default_factory=list)
    exclude: list[str] = Field(default_factory=list)
    expression: str | None = None
    scope: Literal["title", "text"] = Field(default="text", alias="in")
    enabled: bool = True

    @field_validator("subject", "region", "event", "exclude", mode="before")
    @classmethod
    def _numbers_are_words(cls, value: object) -> object:
        # 120 or 12345 in a YAML list arrive as numbers; they are words here
        if isinstance(value, list):
            return [str(v) if isinstance(v, int | float) and not isinstance(v, bool) else v
                    for v in value]
        return value

    @model_validator(mode="after")
    def _one_form(self) -> PlanModel:
        lists = self.subject or self.region or self.event
        if self.expression is not None and (lists or self.exclude):
            raise ValueError("give either `expression` or the word lists "
                             "(subject/region/event/exclude), not both")
        if self.expression is None and not lists:
            raise ValueError("needs `expression` or at least one of subject, region, event")
        for words in (self.subject, self.region, self.event, self.exclude):
            for word in words:
                if not normalize(str(word)):
                    raise ValueError(f"word {word!r} has nothing left to match once normalised")
        return self


class PlansFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    plans: list[PlanModel] = Field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Plan:
    name: str
    node: Node
    scope: str  # "title" or "text"
    words: tuple[str, ...]  # positive words, reported when they match
    vocabulary: frozenset[str]  # every word the expression mentions
    test: Test
    # The verdict when none of its words occurs: most texts contain none, and then the
    # expression need not be evaluated.
    when_absent: bool


class PlanSet:
    """Compiled plans. ``match(title, text)`` takes normalised strings."""

    def __init__(self, plans: Iterable[Plan]) -> None:
        self.plans = tuple(plans)
        self._automaton = ahocorasick.Automaton()
        for word in sorted({w for p in self.plans for w in all_words(p.node)}):
            self._automaton.add_word(word, word)
        if self.plans:
            self._automaton.make_automaton()
        self.title_scoped = any(p.scope == "title" for p in self.plans)

    def _found(self, text: str) -> set[str]:
        found = set()
        for end, word in self._automaton.iter(text):
            if word.isascii() and word.isalnum():
                start = end - len(word) + 1
                before = text[start - 1] if start > 0 else " "
                after = text[end + 1] if end + 1 < len(text) else " "
                if (before.isascii() and before.isalnum()) or (after.isascii() and after.isalnum()):
                    continue
            found.add(word)
        return found

    def match(self, title: str, text: str) -> list[PlanMatch]:
        if not self.plans:
            return []
        in_title = self._found(title) if self.title_scoped else set()
        in_text = in_title | self._found(text)
        hits = []
        for plan in self.plans:
            found = in_title if plan.scope == "title" else in_text
            if plan.test(found) if not found.isdisjoint(plan.vocabulary) else plan.when_absent:
                hits.append(PlanMatch(plan.name, tuple(dict.fromkeys(
                    w for w in plan.words if w in found))))
        return hits


def compile_plan(model: PlanModel) -> Plan:
    if model.expression is not None:
        node = parse_expression(model.expression)
        if not positive_words(node):
            raise PlanSyntaxError("every word is under NOT, so the plan would match almost "
                                  "everything; add a word the text must contain", 0)
    else:
        node = from_lists(model.subject, model.region, model.event, model.exclude)
    test = compile_node(node)
    return Plan(model.name, node, model.scope, tuple(dict.fromkeys(positive_words(node))),
                frozenset(all_words(node)), test, test(frozenset()))


def load_plans(path: Path) -> PlanSet:
    """Read and compile a plans file; a bad expression names its plan, line and position."""
    doc = read_yaml(path)
    model = validate(path, PlansFile, doc)
    plans = []
    seen: set[str] = set()
    for index, pm in enumerate(model.plans):
        line = line_of(doc.node, ("plans", index))
        if pm.name in seen:
            raise ConfigError(f"{path}:{line}: plan {pm.name!r} is listed twice; names must "
                              "be unique")
        seen.add(pm.name)
        try:
            plan = compile_plan(pm)
        except PlanSyntaxError as exc:
            line = line_of(doc.node, ("plans", index, "expression"))
            raise ConfigError(
                f"{path}:{line}: plan {pm.name!r}: {exc.message} at position "
                f"{exc.position + 1} of the expression\n    {pm.expression}\n"
                f"    {_caret(pm.expression or '', exc.position)}") from None
        if pm.enabled:
            plans.append(plan)
    return PlanSet(plans)


def _caret(expr: str, position: int) -> str:
    # CJK characters take two columns in a terminal
    width = sum(2 if ord(ch) > 0x2E80 else 1 for ch in expr[:position])
    return " " * width + "^"
