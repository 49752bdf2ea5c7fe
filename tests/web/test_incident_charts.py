"""事件分析 in a real headless Chromium (Debian's chromium, driven by Playwright): on a phone
and on a desk screen every chart draws from /api/incidents/{id}/analysis with ECharts, nothing
is asked of another host, nothing fails in the console, the XSS title runs nothing, and the
charts follow the window. Screenshots at both sizes go to build/screenshots/ for people to
look at (incident-phone.png, incident-desktop.png)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import Browser, Dialog, Page, Request

from monitor.app import build_app
from monitor.clock import SimClock
from monitor.config import load_settings
from tests.web.test_browser import XSS, browser, sign_in
from tests.web.test_incident_analysis import demo_sources, site_copy

__all__ = ["browser"]
SCREENSHOTS = Path(__file__).parents[2] / "build" / "screenshots"
CHARTS = ("trend", "spread", "words", "media", "regions")
SIZES = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1920, "height": 1080}}


@pytest.fixture
async def site(demo_db: tuple[str, datetime], tmp_path: Path) -> AsyncIterator[str]:
    app = build_app(load_settings(database=site_copy(demo_db, tmp_path)),
                    clock=SimClock(demo_db[1]), poll=False, send_alerts=False,
                    sources=demo_sources())
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        yield str(server.make_url("")).rstrip("/")
    finally:
        await server.close()


async def drawn(page: Page) -> dict[str, dict[str, object]]:
    """Per chart container: whether it holds a canvas, its ECharts instance's first series'
    data length, and its width."""
    await page.wait_for_selector("#analysis[data-drawn=yes]")
    return await page.evaluate("""(names) => Object.fromEntries(names.map((name) => {
        const el = document.querySelector(`[data-chart="${name}"]`);
        const chart = echarts.getInstanceByDom(el);
        const series = chart ? chart.getOption().series : [];
        return [name, {canvas: el.querySelector('canvas') !== null,
                       points: series.length ? series[0].data.length : 0,
                       width: el.getBoundingClientRect().width,
                       drawn: chart ? chart.getWidth() : 0}];
    }))""", list(CHARTS))


@pytest.mark.parametrize("size", list(SIZES))
async def test_every_chart_draws_on_a_phone_and_a_desk_screen(
        browser: Browser, site: str, size: str) -> None:
    phone = size == "phone"
    page = await browser.new_page(viewport=SIZES[size], locale="zh-CN", timezone_id="UTC",
                                  is_mobile=phone, has_touch=phone)
    hosts: set[str] = set()
    errors: list[str] = []
    dialogs: list[str] = []

    def asked(request: Request) -> None:
        hosts.add(urlsplit(request.url).netloc)

    async def dialog(d: Dialog) -> None:
        dialogs.append(d.message)
        await d.dismiss()

    page.on("request", asked)
    # the browser's own look for /favicon.ico (the service has none) is not the page's
    page.on("console", lambda m: errors.append(f"{m.text} {m.location.get('url')}")
            if m.type == "error" and not m.location.get("url", "").endswith("/favicon.ico")
            else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("dialog", dialog)
    await sign_in(browser, site, "wang", page)
    await page.goto(f"{site}/incidents/1")
    charts = await drawn(page)
    for name, state in charts.items():
        assert state["canvas"], name
        assert int(str(state["points"])) > 0, (name, state)
    await page.wait_for_timeout(300)  # the word cloud lays its words out in steps
    # the page fits the screen: nothing to scroll sideways for
    assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert hosts == {urlsplit(site).netloc}
    assert errors == []
    assert dialogs == []
    assert await page.evaluate("window.__xss") is None
    assert XSS[:20] in await page.inner_text("#analysis")  # shown as text, in the lists
    # Beijing time whatever the browser's zone (this one runs in UTC)
    assert await page.evaluate("""() => {
        const chart = echarts.getInstanceByDom(document.querySelector('[data-chart=trend]'));
        return chart.getOption().useUTC;}""") is True
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / f"incident-{size}.png"), full_page=True)
    await page.close()


async def test_the_charts_follow_the_window_and_the_lists_print(browser: Browser,
                                                                site: str) -> None:
    page = await browser.new_page(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    await sign_in(browser, site, "zhang", page)
    await page.goto(f"{site}/incidents/2")
    wide = await drawn(page)
    await page.set_viewport_size({"width": 600, "height": 900})
    await page.wait_for_function("""() => {
        const el = document.querySelector('[data-chart=trend]');
        return echarts.getInstanceByDom(el).getWidth() === Math.round(
            el.getBoundingClientRect().width);}""")
    narrow = await drawn(page)
    assert float(str(narrow["trend"]["drawn"])) < float(str(wide["trend"]["drawn"]))
    await page.emulate_media(media="print")
    assert not await page.is_visible("header.top")
    assert not await page.is_visible("#analysis a.export")
    for table in ("table.spread", "#analysis ol.posts"):
        assert await page.is_visible(table)
    # on paper the charts fit the page's width
    assert await page.evaluate("""() => [...document.querySelectorAll('#analysis canvas')]
        .every((c) => c.getBoundingClientRect().right <= document.documentElement.clientWidth + 1)""")
    await page.close()


async def test_an_empty_chart_says_so(browser: Browser, site: str) -> None:
    page = await browser.new_page(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    await sign_in(browser, site, "zhang", page)
    # a report entered by hand: one item, no district named, no repost, no government site
    await page.goto(f"{site}/incidents/new")
    await page.fill("input[name=title]", "来电反映某卫生院收费问题")
    await page.select_option("select[name=channel]", "媒体问询")
    async with page.expect_navigation():
        await page.click("form.stack button[type=submit]")
    charts = await drawn(page)
    assert all(state["canvas"] for state in charts.values())
    title = await page.evaluate("""() => {
        const chart = echarts.getInstanceByDom(document.querySelector('[data-chart=regions]'));
        return chart.getOption().title[0].text;}""")
    assert title == "暂无数据"
    assert "人工录入" in await page.inner_text("#analysis")
    assert "人工立案" in await page.inner_text("#analysis .kpis")
    await page.close()
