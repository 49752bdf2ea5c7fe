"""Item search (jieba words in the full-text index), label feedback, sources and plans pages."""

from __future__ import annotations

from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient

from monitor.analyze.analyzer import Analyzer
from monitor.analyze.stage import AnalysisStage
from monitor.clock import SimClock
from monitor.collect.normalize import normalize_title, normalize_url
from monitor.records import FetchStatus, Item, SourceHealth
from monitor.store import Store
from monitor.store.items import insert_items
from monitor.store.labels import latest_labels
from monitor.store.sources import put_health
from tests.notify.test_ack_web import NOW
from tests.web.test_auth import csrf_of, sign_in

TEXTS = [("凤庆县人民医院产妇死亡，家属质疑延误救治", "家属称医院抢救不及时"),
         ("临沧今年粮食产量再创新高", "秋收工作顺利完成"),
         ("<b>产妇</b>在县医院生产后死亡<script>alert(1)</script>", "网友讨论")]


@pytest.fixture
async def analysed(tmp_path: Path, analyzer: Analyzer) -> None:
    """Items stored and analysed before the service starts (listed before ``signed``)."""
    store = Store(f"sqlite:///{tmp_path / 'm.db'}")
    batch = [Item(source="weibo", ident=f"u:{n}", guid=None, url=f"https://w.example/{n}",
                  url_norm=normalize_url(f"https://w.example/{n}"), title=title,
                  title_norm=normalize_title(title), summary=body, published_at=None,
                  fetched_at=NOW, content_hash=f"{n + 10:064x}")
             for n, (title, body) in enumerate(TEXTS)]
    try:
        store.transaction(lambda c: insert_items(c, batch, NOW))
        await AnalysisStage(store, analyzer, SimClock(NOW)).analyse_pending()
    finally:
        store.close()


async def test_search_finds_by_words_and_feedback_is_recorded(
        analysed: None, signed: tuple[TestClient, SimClock, str]) -> None:
    client, _, url = signed
    assert await sign_in(client, "zhang") == 303
    page = await (await client.get("/items", params={"q": "产妇 死亡"})).text()
    assert "找到 2 条" in page
    assert "凤庆县人民医院产妇死亡" in page
    assert "粮食" not in page
    assert "<script>alert(1)" not in page
    assert "&lt;script&gt;" in page
    assert "找到 0 条" in await (await client.get("/items", params={"q": "火箭发射"})).text()
    found = await (await client.get("/api/items", params={"q": "产妇 死亡"})).json()
    assert len(found) == 2
    assert found[0]["title"].startswith(("凤庆县人民医院", "<b>产妇</b>"))
    sources = await (await client.get("/api/sources")).json()
    assert sources
    assert {"name", "status", "consecutive_failures"} <= set(sources[0])
    done = await client.post("/items/2/label", data={"csrf": await csrf_of(client),
                                                     "relevant": "0", "topic": ""},
                             allow_redirects=False)
    assert done.status == 303
    store = Store(url)
    try:
        labels = store.transaction(latest_labels)
    finally:
        store.close()
    assert [(x.label.item_id, x.label.relevant, x.label.labelled_by) for x in labels] == [
        (2, False, "值班员张")]


async def test_a_leader_cannot_label_and_sees_sources_and_plans(
        signed: tuple[TestClient, SimClock, str]) -> None:
    client, _, url = signed
    store = Store(url)
    try:  # a slow server and a busy host read differently from a broken feed
        store.transaction(lambda c: (
            put_health(c, SourceHealth("people-health", "u", FetchStatus.ERROR, fault="slow",
                                       consecutive_failures=2)),
            put_health(c, SourceHealth("people-society", "u", FetchStatus.BUSY, fault="busy"))))
    finally:
        store.close()
    assert await sign_in(client, "wang") == 303
    refused = await client.post("/items/1/label", data={"csrf": await csrf_of(client),
                                                        "relevant": "1"})
    assert refused.status == 403
    sources = await (await client.get("/sources")).text()
    assert "信息来源" in sources
    assert "未抓取" in sources
    assert "失败（服务器响应慢）" in sources
    assert "主机繁忙，排队等待" in sources
    assert "中央媒体" in sources
    plans = await (await client.get("/plans")).text()
    assert "监测方案" in plans
    assert "最近命中" in plans
    listed = await (await client.get("/api/plans")).json()
    assert listed
    assert {"name", "words", "recent"} <= set(listed[0])


async def test_the_openapi_document_describes_every_json_route(
        signed: tuple[TestClient, SimClock, str]) -> None:
    client, _, _ = signed
    document = await (await client.get("/api/openapi.json")).json()
    assert document["openapi"].startswith("3.")
    served = {r.resource.canonical for r in client.app.router.routes()  # type: ignore[union-attr]
              if r.resource is not None and r.resource.canonical.startswith("/api/")
              and r.resource.canonical != "/api/openapi.json"}
    assert served <= set(document["paths"])
    assert "/api/incidents/{id}/actions" in document["paths"]
    assert {"/reports/period", "/incidents/{id}/report", "/incidents/{id}/evaluation"} <= set(
        document["paths"])
