"""Incidents opened by hand (人工立案): a hotline call that detection never saw, a post a duty
officer confirms before detection opened anything, and a story that spreads after it was
reported, through the replay and the real pipeline."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from monitor.analyze.analyzer import Analyzer
from monitor.analyze.stage import AnalysisStage
from monitor.analyze.text import plain_text
from monitor.clock import SimClock
from monitor.collect.decode import content_hash
from monitor.collect.normalize import normalize_title, normalize_url
from monitor.incidents import make_engine
from monitor.incidents.engine import Changes
from monitor.incidents.intake import Intake, open_by_hand, store_intake_item
from monitor.incidents.settings import load_incident_settings
from monitor.incidents.stage import IncidentStage, write_changes
from monitor.records import Item
from monitor.store import Store
from monitor.store.incidents import (
    analysed_after,
    filed_item_ids,
    list_incidents,
    timeline_after,
)
from monitor.store.items import insert_items
from tests.incidents.conftest import DISPUTE, START, Replay, action, item


def opening(minute: float, **fields: Any) -> dict[str, Any]:
    return {"type": "action", "at": (START + timedelta(minutes=minute)).isoformat(),
            "action": "open", "by": "值班员甲", **fields}


def of_type(events: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [e for e in events if e["type"] == kind]


CALL = opening(0, title="12320热线来电：凤庆县人民医院产妇死亡，家属质疑延误救治",
               text="来电人张某（13812345678）称其妻子在凤庆县人民医院生产后大出血死亡，"
                    "医院延误抢救，家属已聚集医院门口。",
               channel="电话/12320热线", level="II")


async def test_a_hotline_call_runs_the_major_clocks_from_when_the_office_learned(
        run_replay: Replay) -> None:
    events = await run_replay([CALL, {"type": "end",
                                      "at": (START + timedelta(hours=26)).isoformat()}])
    assert "errors" not in events[-1]["type"]
    [opened] = of_type(events, "opened")
    assert opened["by_hand"] is True
    assert opened["channel"] == "电话/12320热线"
    assert opened["actor"] == "值班员甲"
    assert "13812345678" not in opened["text"]  # the caller's number is de-identified
    assert "138****5678" in opened["text"]
    due = {e["deadline"]: e["due"] for e in of_type(events, "deadline_set")}
    assert due["release"] == (START + timedelta(hours=5)).isoformat()
    assert due["press_conference"] == (START + timedelta(hours=24)).isoformat()
    missed = [e["deadline"] for e in of_type(events, "deadline_missed")]
    for key in ("release_target", "release", "press_conference", "internal_report"):
        assert missed.count(key) == 1, key
    assert of_type(events, "reminder")
    assert of_type(events, "escalated")


async def test_the_story_that_spreads_later_joins_the_reported_incident(
        run_replay: Replay) -> None:
    posts = [item(60 + i * 6, source, f"https://d.example/{i}", title, text)
             for i, (source, title, text) in enumerate(DISPUTE)]
    events = await run_replay([CALL, *posts], clocks=False)
    assert "errors" not in events[-1]["type"]
    assert {e["incident"] for e in of_type(events, "opened")} == {1}
    added = [e["url"] for e in of_type(events, "item_added")]
    assert added[0].startswith("intake:")  # the report first, then what detection found
    assert {f"https://d.example/{i}" for i in range(len(DISPUTE))} <= set(added)
    assert {e["incident"] for e in of_type(events, "item_added")} == {1}


async def test_confirming_a_post_in_no_incident_opens_one_from_it(run_replay: Replay) -> None:
    post = item(0, "weibo-a", "https://d.example/0", *DISPUTE[0][1:])
    events = await run_replay([
        post, action(5, "confirm", "https://d.example/0", level="II"),
        {"type": "end", "at": (START + timedelta(hours=25)).isoformat()}])
    assert "errors" not in events[-1]["type"]
    [opened] = of_type(events, "opened")
    assert opened["by_hand"] is True
    assert opened["because"] == "confirm"
    assert opened["title"] == DISPUTE[0][1]
    assert [e["level"] for e in of_type(events, "confirmed")] == ["II"]
    missed = [e["deadline"] for e in of_type(events, "deadline_missed")]
    assert missed.count("release") == 1
    assert missed.count("press_conference") == 1
    reminders = [(e["deadline"], e.get("minutes_left")) for e in of_type(events, "reminder")]
    assert reminders
    assert len(reminders) == len(set(reminders))  # each reminder once
    assert of_type(events, "escalated")


async def test_a_wrong_opening_is_reported_and_the_replay_goes_on(run_replay: Replay) -> None:
    events = await run_replay([
        opening(0, title="来电", channel="微信"), opening(1, text="没有标题"),
        opening(2, title="上级交办：某县养老院食物中毒", channel="上级交办", level="V"),
        opening(3, title="媒体问询：某医院收费", channel="媒体问询")], clocks=False)
    errors = events[-1]["errors"]
    assert "channel '微信' is not one of" in errors[0]
    assert "line 2: an open action needs 'title'" in errors[1]
    assert "level 'V' is not one of" in errors[2]
    assert len(errors) == 3
    assert len(of_type(events, "opened")) == 1


async def test_an_incident_opened_elsewhere_is_taken_over_and_the_story_joins_it(
        tmp_path: Path, analyzer: Analyzer) -> None:
    """The command line opens it while the service runs: the service's stages find it in the
    store, read the report like any item, and file the posts that follow under it."""
    store = Store(f"sqlite:///{tmp_path / 'm.db'}")
    clock = SimClock(START)
    analysis = AnalysisStage(store, analyzer, clock)
    incidents = IncidentStage(store, make_engine(analyzer, load_incident_settings()), clock)
    try:
        await incidents.process_pending()  # the service is up and has read the empty store
        report = Intake(title=CALL["title"], by="值班员甲", at=START, text=CALL["text"],
                        channel="电话/12320热线")
        store.transaction(lambda c: open_by_hand(
            c, store_intake_item(c, report, START), START, 2.0))
        await analysis.analyse_pending()
        await incidents.process_pending()
        posts = [post(60 + i * 6, i) for i in range(len(DISPUTE))]
        for at, batch in posts:
            clock.advance((at - clock.now()).total_seconds())
            store.transaction(lambda c, b=batch: insert_items(c, [b], clock.now()))
            await analysis.analyse_pending()
            await incidents.process_pending()
        events = store.transaction(lambda c: timeline_after(c, 0))
        [incident] = store.transaction(lambda c: list_incidents(c))
    finally:
        store.close()
    assert {e.incident_id for e in events} == {1}
    added = [e.data["url"] for e in events if e.type == "item_added"]
    assert added[0].startswith("intake:")
    assert len(added) == 1 + len(DISPUTE)
    # described from its posts, it keeps the title the duty officer gave it
    assert incident.title == CALL["title"]
    assert incident.items == 1 + len(DISPUTE)


def post(minute: float, n: int) -> tuple[datetime, Item]:
    source, title, text = DISPUTE[n]
    at = START + timedelta(minutes=minute)
    url = f"https://d.example/{n}"
    return at, Item(source=source, ident="u:" + url, guid=None, url=url,
                    url_norm=normalize_url(url), title=title, title_norm=normalize_title(title),
                    summary=text, published_at=None, fetched_at=at,
                    content_hash=content_hash(title, url, text))


async def test_an_id_taken_meanwhile_by_another_process_moves_the_engines_incident(
        tmp_path: Path, analyzer: Analyzer) -> None:
    store = Store(f"sqlite:///{tmp_path / 'm.db'}")
    clock = SimClock(START)
    analysis = AnalysisStage(store, analyzer, clock)
    engine = make_engine(analyzer, load_incident_settings())
    try:
        for minute, n in ((i * 6, i) for i in range(len(DISPUTE))):
            at, batch = post(minute, n)
            clock.advance((at - clock.now()).total_seconds())
            store.transaction(lambda c, b=batch: insert_items(c, [b], clock.now()))
        await analysis.analyse_pending()
        rows = store.transaction(lambda c: analysed_after(c, 0, 100))
        changes = Changes()
        for stored, signal in rows:  # the engine decides; not written yet
            engine.observe(stored, plain_text(stored.summary), signal, 1.0, changes)
        assert changes.opened() == [1]
        # meanwhile a person opens one from the command line, and it takes #1
        hand = Intake(title="上级交办：某县养老院食物中毒", by="科长乙", at=clock.now(),
                      channel="上级交办")
        store.transaction(lambda c: open_by_hand(c, store_intake_item(c, hand, clock.now()),
                                                 clock.now(), 2.0))
        ids = store.transaction(lambda c: write_changes(c, changes))
        engine.renumber(ids)
        stored_incidents = store.transaction(lambda c: list_incidents(c))
        filed = store.transaction(lambda c: filed_item_ids(c, 2))
    finally:
        store.close()
    assert ids == {1: 2}
    assert [(i.id, i.title.startswith("上级交办")) for i in stored_incidents] == [
        (1, True), (2, False)]
    assert filed == [r[0].id for r in rows]
    assert engine.live_incident_ids() == [2]
    assert engine.knows(2)
