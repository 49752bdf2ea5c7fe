"""The replay format (DESIGN.md): one JSON object per line, an item, a person's action or the
end of the scenario, in time order."""

from __future__ import annotations

import html
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from monitor.clock import SHANGHAI
from monitor.collect.decode import content_hash
from monitor.collect.normalize import normalize_title, normalize_url
from monitor.incidents.engine import ACTIONS, MILESTONE_KINDS
from monitor.incidents.intake import Intake, intake_item
from monitor.records import Item


class ScenarioError(ValueError):
    def __init__(self, line: int, message: str) -> None:
        super().__init__(f"line {line}: {message}")
        self.line, self.message = line, message

    def __reduce__(self) -> tuple[type[ScenarioError], tuple[int, str]]:
        return ScenarioError, (self.line, self.message)  # so that it crosses processes


@dataclass(frozen=True)
class Step:
    line: int
    at: datetime
    item: Item | None = None
    action: dict[str, Any] = field(default_factory=dict)


def parse(lines: Iterable[str]) -> Iterator[Step | ScenarioError]:
    """Steps of a scenario, or an error for a line that cannot be used."""
    order = InOrder()
    for number, line in enumerate(lines, 1):
        if line.strip():
            yield order.check(parse_line(number, line))


def parse_line(number: int, line: str) -> Step | ScenarioError:
    try:
        return _step(number, json.loads(line))
    except ScenarioError as exc:
        return exc
    except ValueError as exc:
        return ScenarioError(number, f"not JSON ({exc})")


class InOrder:
    """Refuses a step earlier than the one before it."""

    def __init__(self) -> None:
        self.last: datetime | None = None

    def check(self, step: Step | ScenarioError) -> Step | ScenarioError:
        if isinstance(step, ScenarioError):
            return step
        if self.last is not None and step.at < self.last:
            return ScenarioError(step.line, f"'at' {step.at.isoformat()} is earlier than the "
                                            "line before; scenario lines must be in time order")
        self.last = step.at
        return step


def _time(number: int, value: object, name: str) -> datetime:
    if not isinstance(value, str):
        raise ScenarioError(number, f"{name!r} must be an ISO 8601 time")
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise ScenarioError(number, f"{name!r} is not an ISO 8601 time: {value!r}") from None
    return when if when.tzinfo else when.replace(tzinfo=SHANGHAI)


def _step(number: int, record: object) -> Step:
    if not isinstance(record, dict):
        raise ScenarioError(number, "not a JSON object")
    at = _time(number, record.get("at"), "at")
    kind = record.get("type")
    if kind == "item":
        for key in ("source", "url", "title"):
            if not isinstance(record.get(key), str) or not record[key]:
                raise ScenarioError(number, f"an item needs a non-empty string {key!r}")
        text = record.get("text") or ""
        published = (_time(number, record["published_at"], "published_at")
                     if record.get("published_at") else None)
        url_norm = normalize_url(record["url"])
        summary = html.escape(str(text))
        item = Item(source=record["source"], ident="u:" + url_norm, guid=None, url=record["url"],
                    url_norm=url_norm, title=record["title"],
                    title_norm=normalize_title(record["title"]), summary=summary,
                    published_at=published, fetched_at=at,
                    content_hash=content_hash(record["title"], url_norm, str(text)))
        return Step(number, at, item=item)
    if kind == "action":
        action = record.get("action")
        if action == "open":
            return _opening(number, at, record)
        if action not in ACTIONS:
            raise ScenarioError(number, f"unknown action {action!r}; known: open, "
                                        f"{', '.join(ACTIONS)}")
        if not isinstance(record.get("item_url"), str):
            raise ScenarioError(number, "an action needs 'item_url', the URL of an item of "
                                        "its incident")
        if action == "milestone" and record.get("kind") not in MILESTONE_KINDS:
            raise ScenarioError(number, f"a milestone needs 'kind', one of "
                                        f"{', '.join(MILESTONE_KINDS)}")
        return Step(number, at, action=dict(record))
    if kind == "end":  # the scenario runs on to this time: clocks still act until then
        return Step(number, at)
    raise ScenarioError(number, f"'type' must be \"item\", \"action\" or \"end\" "
                                f"(got {kind!r})")


def _opening(number: int, at: datetime, record: dict[str, Any]) -> Step:
    """人工立案: a report entered by hand (its title and text become an item of their own, as
    the dashboard and the command line store them), or a post named by ``item_url``."""
    title, url = record.get("title"), record.get("item_url")
    if not (isinstance(title, str) and title.strip()) and not isinstance(url, str):
        raise ScenarioError(number, "an open action needs 'title' (a report entered by hand) "
                                    "or 'item_url' (a post to open it from)")
    for key in ("text", "channel", "by", "level", "region", "occurred"):
        if record.get(key) is not None and not isinstance(record[key], str):
            raise ScenarioError(number, f"{key!r} must be a string")
    if record.get("occurred"):
        record = {**record, "occurred": _time(number, record["occurred"], "occurred").isoformat()}
    urls = [url] if isinstance(url, str) else []
    report = None
    if isinstance(title, str) and title.strip():
        report = intake_item(Intake(title=title, by=str(record.get("by") or "replay"), at=at,
                                    text=str(record.get("text") or "")),
                             at, url=f"intake:line-{number}")
        urls.insert(0, report.url)
    return Step(number, at, item=report, action={**record, "item_urls": urls})
