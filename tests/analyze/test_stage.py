"""Collected items are analysed as they arrive, and nothing is lost across restarts."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from monitor.analyze.analyzer import load_analyzer
from monitor.analyze.lexicon import PROJECT_DIR
from monitor.analyze.stage import AnalysisStage
from monitor.clock import SimClock
from monitor.collect.poller import PollReport
from monitor.records import Source
from monitor.store import Store
from monitor.store.items import list_items
from monitor.store.signals import backlog, signals_for
from tests.conftest import FeedHost, make_source


async def test_items_get_signals_once(store: Store, clock: SimClock, feed_host: FeedHost,
                                      poll: Callable[..., Awaitable[dict[str, PollReport]]]
                                      ) -> None:
    url = feed_host.serve_file("/wjw.xml", "utf8_rss2.xml")
    await poll(make_source("wjw", url))
    assert await store.run(backlog) == 3

    analyzer = load_analyzer(PROJECT_DIR / "profile.yaml", PROJECT_DIR / "plans.yaml")
    stage = AnalysisStage(store, analyzer, clock)
    assert await stage.analyse_pending() == 3
    assert await store.run(backlog) == 0
    assert await stage.analyse_pending() == 0  # a second pass finds nothing to do

    items = await store.run(lambda c: list_items(c))
    signals = await store.run(lambda c: signals_for(c, [i.id for i in items if i.id]))
    by_title = {i.title: signals[i.id] for i in items if i.id}
    emergency = by_title["临沧市人民医院开通急诊绿色通道"]
    assert emergency.health
    assert emergency.places == ("临沧市人民医院",)
    assert "access_to_care" in [t.key for t in emergency.topics]
    food = by_title["耿马县开展食品安全专项检查"]
    assert food.health
    assert "food_safety" in [t.key for t in food.topics]
    assert all(s.model == analyzer.model.ident for s in signals.values())


async def test_items_stored_while_analysis_was_down_are_analysed_later(
        store: Store, clock: SimClock, feed_host: FeedHost,
        poll: Callable[..., Awaitable[dict[str, PollReport]]]) -> None:
    source: Source = make_source("a", feed_host.serve_file("/a.xml", "rss091.xml"))
    await poll(source)
    waiting = await store.run(backlog)
    assert waiting > 0
    # a new process: a fresh stage finds the queue in the store
    stage = AnalysisStage(store, load_analyzer(PROJECT_DIR / "profile.yaml",
                                               PROJECT_DIR / "plans.yaml"), clock)
    assert await stage.analyse_pending() == waiting
