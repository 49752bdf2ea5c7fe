"""Incidents a person opens (接报 / 人工立案): a hotline call, an order from above, a journalist's
question or one alarming post, filed at once with its clocks running, whether or not
detection has seen the story. Written straight to the store, so the command line can do it
while the service runs; the incident stage then takes the incident over (Engine.take_by_hand)
and what the story brings later joins it.

A report's words are a person's: they are de-identified before they are stored."""

from __future__ import annotations

import hashlib
import html
from collections.abc import Collection
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import Connection, select

from monitor.collect.decode import content_hash
from monitor.collect.normalize import normalize_title
from monitor.evaluate.masking import mask
from monitor.incidents.engine import (
    INTAKE,
    SYSTEM,
    ActionError,
    Changes,
    apply_action,
    backdating,
    event_time,
)
from monitor.incidents.settings import LEVELS
from monitor.records import Incident, IncidentStatus, Item
from monitor.store.incidents import apply_changes, next_incident_id, stored_item_by_url
from monitor.store.items import insert_items
from monitor.store.schema import incident_items

INTAKE_SOURCE = INTAKE  # the items of reports entered by hand
CHANNELS = ("电话/12320热线", "上级交办", "媒体问询", "网络巡查", "其他")
MAX_TITLE = 200
MAX_TEXT = 5000


@dataclass(frozen=True)
class Intake:
    """What a person enters to open an incident."""

    title: str
    by: str
    at: datetime  # when the office learned of it; the clocks run from here
    channel: str = "其他"
    text: str = ""
    occurred: datetime | None = None  # when the event itself happened, if known
    level: str | None = None  # confirmed at once
    item_urls: tuple[str, ...] = ()  # stored items it is about
    region: str | None = None
    because: str | None = None  # the action that opened it from an item (confirm, ack)


def check(intake: Intake, now: datetime) -> None:
    """What a person can get wrong, said in words they can act on."""
    if not intake.title.strip():
        raise ActionError("an incident opened by hand needs a title (标题)")
    if len(intake.title) > MAX_TITLE or len(intake.text) > MAX_TEXT:
        raise ActionError(f"a title has up to {MAX_TITLE} characters and a text up to "
                          f"{MAX_TEXT}")
    if intake.channel not in CHANNELS:
        raise ActionError(f"channel {intake.channel!r} is not one of {', '.join(CHANNELS)}")
    if intake.level is not None and intake.level not in LEVELS:
        raise ActionError(f"level {intake.level!r} is not one of {', '.join(LEVELS)}")
    if not intake.by.strip():
        raise ActionError("say who opens it (--by, or the signed-in user)")
    for when, what in ((intake.at, "when the office learned of it"),
                       (intake.occurred, "when it happened")):
        if when is not None:
            if when.tzinfo is None:
                raise ActionError(f"{what}: give the time with its zone, e.g. +08:00")
            backdating(when, now, what)  # refuses a time to come


def intake_item(intake: Intake, now: datetime, public_names: Collection[str] = (),
                url: str | None = None) -> Item:
    """The report as an item of its own: what the story is matched against when it spreads.
    ``url``: its name, unique; by default made from when and what was entered."""
    title = mask(intake.title.strip(), public_names)
    text = mask(intake.text.strip(), public_names)
    if url is None:
        digest = hashlib.sha256(f"{intake.at.isoformat()}\n{title}\n{text}".encode())
        url = f"intake:{now.strftime('%Y%m%dT%H%M%S')}-{digest.hexdigest()[:8]}"
    return Item(source=INTAKE_SOURCE, ident="i:" + url, guid=None, url=url, url_norm="",
                title=title, title_norm=normalize_title(title), summary=html.escape(text),
                published_at=intake.at, fetched_at=max(now, intake.at),
                content_hash=content_hash(title, url, text))


def store_intake_item(conn: Connection, intake: Intake, now: datetime,
                      public_names: Collection[str] = ()) -> Intake:
    """Store the report as an item; the intake then names it among its items."""
    item = intake_item(intake, now, public_names)
    insert_items(conn, [item], now)
    return replace(intake, title=item.title, text=html.unescape(item.summary),
                   item_urls=(item.url, *intake.item_urls))


def open_by_hand(conn: Connection, intake: Intake, now: datetime, dismiss_margin: float,
                 public_names: Collection[str] = ()) -> tuple[Incident, list[int]]:
    """Open the incident in the store, in this transaction: the incident, its items, and on its
    timeline 人工立案 by whom, when and through which channel, then the occurrence time and
    the level if given. Without a title it takes the first item's. Returns it and its item
    ids."""
    found = _items(conn, intake.item_urls)
    if not intake.title.strip() and found:
        intake = replace(intake, title=found[0].title)
    check(intake, now)
    intake = replace(intake, title=mask(intake.title.strip(), public_names),
                     text=mask(intake.text.strip(), public_names))
    first = min(found, key=lambda i: (event_time(i), i.id or 0)) if found else None
    if first is None or first.id is None:
        raise ActionError("an incident opened by hand needs an item: its report, or a post")
    incident = Incident(
        id=next_incident_id(conn), status=IncidentStatus.OPEN, title=intake.title.strip(),
        opened_at=intake.at, updated_at=now, first_item_id=first.id,
        first_source=first.source, region=intake.region, items=len(found),
        stories=len(found), sources=len({i.source for i in found}))
    changes = Changes()
    changes.incidents[incident.id] = incident
    data: dict[str, object] = {
        "title": incident.title, "by_hand": True, "channel": intake.channel,
        "items": len(found), "recorded_at": now.isoformat(), **backdating(intake.at, now,
                                                                          "opened")}
    for key, value in (("text", intake.text.strip()), ("region", intake.region),
                       ("level", intake.level), ("because", intake.because)):
        if value:
            data[key] = value
    changes.event(incident, intake.at, "opened", intake.by, **data)
    for item in found:
        changes.incident_items.append((item.id or 0, incident.id, now))
        changes.event(incident, intake.at, "item_added", SYSTEM, item=item.id, url=item.url,
                      title=item.title, source=item.source, story=item.id, repost=False)
    if intake.occurred is not None:
        incident = apply_action(incident, "occurred", intake.by, intake.at, changes,
                                dismiss_margin, {"time": intake.occurred})
    if intake.level is not None:
        incident = apply_action(incident, "confirm", intake.by, intake.at, changes,
                                dismiss_margin, {"level": intake.level})
    incident = changes.incidents[incident.id] = replace(incident, updated_at=now)
    apply_changes(conn, changes)
    return incident, [i.id for i in found if i.id is not None]


def _items(conn: Connection, urls: tuple[str, ...]) -> list[Item]:
    found = []
    for url in dict.fromkeys(urls):
        item = stored_item_by_url(conn, url)
        if item is None:
            raise ActionError(f"no stored item has the URL {url}; `monitor items` lists them")
        filed = conn.execute(select(incident_items.c.incident_id)
                             .where(incident_items.c.item_id == item.id)).scalar()
        if filed is not None:
            raise ActionError(f"the item {url} is in incident #{filed} already; act on that "
                              "incident instead")
        found.append(item)
    return found
