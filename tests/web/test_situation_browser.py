"""舆情态势 in a real headless Chromium (Debian's chromium, driven by Playwright), on a phone
(390×844) and a desk screen (1920×1080): every chart draws on a canvas with its data, nothing
is asked of another host, nothing goes to the console as an error, a feed's markup in an
incident's title stays text, a period without data says 暂无数据 in each chart. Screenshots of
both sizes go to build/screenshots/ for people to look at."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import Browser, Page, async_playwright
from sqlalchemy import text

from monitor.app import build_app
from monitor.clock import SimClock
from monitor.config import load_settings
from monitor.store import Store
from tests.web.test_browser import CHROMIUM, XSS, sign_in
from tests.web.test_situation import demo_sources, situation_copy

SCREENSHOTS = Path(__file__).parents[2] / "build" / "screenshots"
CHARTS = ("chart-trend", "chart-sentiment", "chart-topics", "chart-media", "chart-regions",
          "chart-words")
SIZES = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1920, "height": 1080}}


@pytest.fixture
async def situation_site(demo_db: tuple[str, datetime], tmp_path: Path) -> AsyncIterator[str]:
    url = situation_copy(demo_db, tmp_path)
    store = Store(url)
    try:  # the hottest incident's title carries the payload too: the table shows it
        store.transaction(lambda c: c.execute(text(
            "UPDATE incidents SET title = :t || title WHERE id = (SELECT id FROM incidents "
            "ORDER BY heat DESC LIMIT 1)"), {"t": XSS}))
    finally:
        store.close()
    app = build_app(load_settings(database=url), clock=SimClock(demo_db[1]), poll=False,
                    send_alerts=False, sources=demo_sources(url))
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        yield str(server.make_url("")).rstrip("/")
    finally:
        await server.close()


@pytest.fixture
async def chromium() -> AsyncIterator[Browser]:
    if CHROMIUM is None:
        pytest.fail("Chromium is needed: apt-get install chromium fonts-noto-cjk (.ci/run "
                    "installs them)")
    async with async_playwright() as p:
        launched = await p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        await launched.close()


async def watched_page(browser: Browser, site: str, size: str
                       ) -> tuple[Page, list[str], list[str], list[str]]:
    """A signed-in page of that size, with what it asks of other hosts, its console errors
    and uncaught exceptions, and its dialogs recorded."""
    phone = size == "phone"
    page = await browser.new_page(viewport=SIZES[size], locale="zh-CN", is_mobile=phone,
                                  has_touch=phone)
    own = urlsplit(site).netloc
    elsewhere: list[str] = []
    errors: list[str] = []
    dialogs: list[str] = []
    page.on("request", lambda r: elsewhere.append(r.url)
            if urlsplit(r.url).netloc != own and not r.url.startswith("data:") else None)

    async def dismiss(dialog: object) -> None:
        dialogs.append(str(getattr(dialog, "message", "")))
        await dialog.dismiss()  # type: ignore[attr-defined]

    page.on("dialog", dismiss)
    await sign_in(browser, site, "wang", page)
    # from here on: the sign-in page's own /favicon.ico 404 is the browser's, not ours
    page.on("console", lambda m: errors.append(f"{m.text} {m.location.get('url')}")
            if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    return page, elsewhere, errors, dialogs


async def drawn(page: Page) -> None:
    # a selector, not wait_for_function: its polling evaluates a string, which the page's
    # security policy (no 'unsafe-eval') refuses
    await page.wait_for_selector("#situation[data-drawn=yes]", state="attached")
    # the word cloud lays its words out after the option is set
    await page.wait_for_timeout(600)


async def series_lengths(page: Page) -> dict[str, int]:
    return await page.evaluate(
        """(ids) => Object.fromEntries(ids.map((id) => {
            const el = document.getElementById(id);
            const chart = echarts.getInstanceByDom(el);
            const ok = el.querySelector('canvas') !== null && chart !== undefined;
            return [id, ok ? chart.getOption().series[0].data.length : -1];
        }))""", list(CHARTS))


@pytest.mark.parametrize("size", list(SIZES))
async def test_the_situation_page_draws_every_chart(chromium: Browser, situation_site: str,
                                                    size: str) -> None:
    page, elsewhere, errors, dialogs = await watched_page(chromium, situation_site, size)
    if size == "phone":  # from the navigation, as a leader on a phone would
        await page.click("nav a:has-text('舆情态势')")
        await page.wait_for_url(f"{situation_site}/situation")
        await page.click(".periods a:has-text('近7天')")
        await page.wait_for_url(f"{situation_site}/situation?period=7d")
    else:
        await page.goto(f"{situation_site}/situation?period=7d")
    await drawn(page)
    lengths = await series_lengths(page)
    assert all(n > 0 for n in lengths.values()), lengths
    # canvases as wide as their boxes: the charts fit the screen
    widths = await page.evaluate(
        """(ids) => ids.map((id) => {const el = document.getElementById(id);
            return [el.clientWidth, el.querySelector('canvas').getBoundingClientRect().width];
        })""", list(CHARTS))
    assert all(abs(box - canvas) <= 2 and box > 200 for box, canvas in widths), widths
    assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    body = await page.inner_text("body")
    assert "重点事件" in body
    assert "热词" in body
    assert XSS[:30] in body  # the payload shows as the text it is
    assert await page.evaluate("window.__xss") is None
    assert dialogs == []
    assert elsewhere == []
    assert errors == []
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / f"situation-{size}.png"), full_page=True)
    await page.close()


async def test_the_charts_follow_the_window_and_say_when_there_is_nothing(
        chromium: Browser, situation_site: str) -> None:
    page, elsewhere, errors, _ = await watched_page(chromium, situation_site, "desktop")
    await page.goto(f"{situation_site}/situation?period=7d")
    await drawn(page)
    await page.set_viewport_size({"width": 800, "height": 900})
    await page.wait_for_timeout(300)
    width = await page.evaluate(
        "document.querySelector('#chart-trend canvas').getBoundingClientRect().width")
    assert width < 800
    # a period with nothing collected: each chart says so instead of staying blank
    await page.goto(f"{situation_site}/situation?period=custom&from=2025-01-01&to=2025-01-07")
    await drawn(page)
    titles = await page.evaluate(
        """(ids) => ids.map((id) => {const o = echarts.getInstanceByDom(
            document.getElementById(id)).getOption(); return o.title && o.title[0].text;})""",
        list(CHARTS))
    assert titles == ["暂无数据"] * len(CHARTS)
    assert "暂无数据" in await page.inner_text("body")  # the hot-word list too
    # the export link carries the period
    link = await page.get_attribute("a:has-text('导出Excel')", "href")
    assert link == "/situation.xlsx?period=custom&from=2025-01-01&to=2025-01-07"
    assert elsewhere == []
    assert errors == []
    await page.close()

