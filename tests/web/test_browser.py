"""End to end in a real headless Chromium (Debian's chromium, driven by Playwright): sign in,
see an incident of the replayed demo scenario, acknowledge it, record the authoritative
release, watch the countdown change state; a leader cannot act; a feed title carrying XSS
payloads shows as text and runs nothing; a form without its CSRF token is refused; a duty
officer on a phone opens an incident by hand (人工立案) from the navigation.

Set MONITOR_SCREENSHOTS=docs to write the board and incident screenshots shown in README."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import Browser, Page, async_playwright
from sqlalchemy import text

from monitor.analyze.analyzer import Analyzer
from monitor.analyze.stage import AnalysisStage
from monitor.app import build_app
from monitor.clock import SimClock
from monitor.config import load_settings
from monitor.incidents import make_engine
from monitor.incidents.replay import replay
from monitor.incidents.settings import load_incident_settings
from monitor.incidents.stage import IncidentStage
from monitor.response.clocks import Clocks
from monitor.response.policy import load_policy
from monitor.response.roster import load_roster
from monitor.response.stage import ResponseStage
from monitor.store import Store
from monitor.store.users import add_user
from monitor.web.auth import hash_password

DEMO = Path(__file__).parents[2] / "monitor" / "demo" / "scenario.jsonl"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
PASSWORD = "correct horse battery"
XSS = "<script>window.__xss=1</script><img src=x onerror=\"window.__xss=2\">"


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory, analyzer: Analyzer
            ) -> tuple[str, datetime]:
    """The demo scenario's first day replayed, two users, and a feed title carrying XSS."""
    lines = DEMO.read_text(encoding="utf-8").splitlines()
    start = datetime.fromisoformat(json.loads(lines[0])["at"])
    day = [line for line in lines
           if datetime.fromisoformat(json.loads(line)["at"]) < start + timedelta(hours=21)]
    url = f"sqlite:///{tmp_path_factory.mktemp('browser') / 'm.db'}"
    store = Store(url)
    clock = SimClock(start)
    try:
        asyncio.run(replay(
            day, store, AnalysisStage(store, analyzer, clock),
            IncidentStage(store, make_engine(analyzer, load_incident_settings()), clock),
            clock, lambda e: None, lambda m: None,
            ResponseStage(store, Clocks(load_policy(), load_roster()), clock)))
        hashed = hash_password(PASSWORD)
        store.transaction(lambda c: add_user(c, "zhang", "值班员张", "duty_officer", hashed,
                                             start))
        store.transaction(lambda c: add_user(c, "wang", "王局长", "leader", hashed, start))
        store.transaction(lambda c: add_user(c, "li", "考核员李", "evaluator", hashed, start))
        store.transaction(lambda c: c.execute(text(
            "UPDATE items SET title = :t || title WHERE id IN (SELECT first_item_id FROM "
            "incidents)"), {"t": XSS}))
    finally:
        store.close()
    return url, clock.now()


@pytest.fixture
async def site(demo_db: tuple[str, datetime], tmp_path: Path) -> AsyncIterator[str]:
    url, now = demo_db
    copy = tmp_path / "site.db"
    shutil.copy(url.removeprefix("sqlite:///"), copy)
    app = build_app(load_settings(database=f"sqlite:///{copy}"), clock=SimClock(now),
                    poll=False, send_alerts=False)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        yield str(server.make_url("")).rstrip("/")
    finally:
        await server.close()


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    if CHROMIUM is None:
        pytest.fail("Chromium is needed: apt-get install chromium fonts-noto-cjk (.ci/run "
                    "installs them)")
    async with async_playwright() as p:
        launched = await p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        await launched.close()


async def sign_in(browser: Browser, site: str, name: str, page: Page | None = None) -> Page:
    page = page or await browser.new_page(viewport={"width": 1280, "height": 900},
                                          locale="zh-CN")
    await page.goto(f"{site}/login")
    await page.fill("input[name=name]", name)
    await page.fill("input[name=password]", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_url(f"{site}/board")
    return page


def shoot(page: Page, name: str) -> str | None:
    folder = os.environ.get("MONITOR_SCREENSHOTS")
    return str(Path(folder) / name) if folder else None


async def test_a_duty_officer_acknowledges_and_records_the_release(browser: Browser,
                                                                   site: str) -> None:
    page = await sign_in(browser, site, "zhang")
    rows = page.locator("tbody tr")
    assert await rows.count() >= 2
    if path := shoot(page, "board.png"):
        await page.screenshot(path=path, full_page=True)
    await rows.first.locator("a").click()
    await page.wait_for_selector("h3:has-text('时间线')")
    assert await page.evaluate("window.__xss") is None  # the payload is text, not code
    assert XSS[:20] in await page.inner_text("body")
    incident_url = page.url
    async with page.expect_navigation():
        await page.click("form:has(input[value=ack]) button")
    assert await page.locator("tr", has_text="值班员张").filter(has_text="确认收到").count()
    await page.select_option("select[name=kind]", "authoritative_release")
    await page.fill("input[name=url]", "https://wjw.example.gov.cn/notice/1")
    await page.fill("input[name=channel]", "官方微博")
    async with page.expect_response(lambda r: r.request.method == "POST") as posted:
        await page.click("form:has(input[value=milestone]) button")
    assert (await posted.value).status == 303
    await page.goto(incident_url)
    recorded = page.locator("tr", has_text="值班员张").filter(has_text="记录处置节点")
    assert await recorded.count() == 1, (await page.inner_text("body"))[:400]
    assert "wjw.example.gov.cn" in await recorded.inner_html()
    if path := shoot(page, "incident.png"):
        await page.screenshot(path=path, full_page=True)


async def test_the_countdown_changes_state_as_time_passes(browser: Browser, site: str) -> None:
    page = await browser.new_page(locale="zh-CN")
    await page.clock.install()  # the browser's clock, moved by the test
    await sign_in(browser, site, "zhang", page)
    incident = await page.locator("tbody tr").first.get_attribute("data-incident")
    # a follow-up release keeps a follow-up clock running
    status = await page.evaluate(
        """async (id) => {const me = await (await fetch('/api/me')).json();
        const r = await fetch(`/api/incidents/${id}/actions`, {method: 'POST', headers:
        {'Content-Type': 'application/json', 'X-CSRF-Token': me.csrf}, body: JSON.stringify(
        {action: 'milestone', kind: 'follow_up', url: 'https://wjw.example.gov.cn/2'})});
        return r.status;}""", incident)
    assert status == 200
    await page.wait_for_timeout(300)  # the response stage plans the next follow-up
    await page.goto(f"{site}/board")
    countdown = page.locator(f"tr[data-incident='{incident}'] [data-due]")
    assert await countdown.get_attribute("class") == "due-ok"
    assert "剩余" in await countdown.inner_text()
    due = datetime.fromisoformat(str(await countdown.get_attribute("data-due")))
    now = datetime.fromisoformat(str(await page.get_attribute("body", "data-now")))
    left = int((due - now).total_seconds())
    await page.clock.fast_forward((left - 30 * 60) * 1000)  # half an hour before
    await page.wait_for_function(
        f"document.querySelector(\"tr[data-incident='{incident}'] [data-due]\")"
        ".className === 'due-near'")
    await page.clock.fast_forward(3600 * 1000)  # half an hour after
    await page.wait_for_function(
        f"document.querySelector(\"tr[data-incident='{incident}'] [data-due]\")"
        ".className === 'due-missed'")
    assert "已超时" in await countdown.inner_text()


async def test_a_leader_sees_but_cannot_act_and_forms_need_their_token(browser: Browser,
                                                                       site: str) -> None:
    leader = await sign_in(browser, site, "wang")
    await leader.locator("tbody tr a").first.click()
    await leader.wait_for_selector("h3:has-text('时间线')")
    assert await leader.locator("form:has(input[value=ack])").count() == 0
    incident = leader.url.rsplit("/", 1)[1]
    status = await leader.evaluate(
        """async (id) => {const me = await (await fetch('/api/me')).json();
        const r = await fetch(`/incidents/${id}/act`, {method: 'POST', headers:
        {'Content-Type': 'application/x-www-form-urlencoded'},
        body: `csrf=${encodeURIComponent(me.csrf)}&action=ack`}); return r.status;}""",
        incident)
    assert status == 403
    officer = await sign_in(browser, site, "zhang")
    await officer.goto(f"{site}/incidents/{incident}")
    await officer.evaluate("document.querySelectorAll('input[name=csrf]').forEach(e => "
                           "e.remove())")
    async with officer.expect_response(lambda r: r.request.method == "POST") as posted:
        await officer.click("form:has(input[value=ack]) button")
    assert (await posted.value).status == 403


async def test_an_evaluator_decides_on_a_finding_from_the_incident_page(browser: Browser,
                                                                        site: str) -> None:
    page = await sign_in(browser, site, "li")
    await page.goto(f"{site}/incidents/1")
    await page.click("text=回应效果评估与问责建议")
    await page.wait_for_selector("h3:has-text('回应效果评分')")
    assert await page.locator("figure svg rect").count() > 0  # the chart drew
    proposed = page.locator("select[name=ground] option", has_text="（建议）")
    assert await proposed.count() >= 1, await page.inner_text("body")
    ground = await proposed.first.get_attribute("value")
    name = (await proposed.first.inner_text()).removesuffix("（建议）")
    await page.select_option("select[name=ground]", ground)
    await page.select_option("select[name=decision]", "confirmed")
    await page.fill("textarea[name=reason]", "核实属实")
    async with page.expect_navigation():
        await page.click("button:has-text('提交认定')")
    row = page.locator("tr", has_text=name).filter(has_text="确认")
    assert await row.count() == 1
    assert "考核员李" in await row.inner_text()
    if path := shoot(page, "evaluation.png"):
        await page.screenshot(path=path, full_page=True)
    # the incident's report prints from the same data, with the decision in it
    await page.goto(f"{site}/incidents/1/report")
    assert "核实属实" in await page.inner_text("body")


async def test_chromium_gets_the_security_headers_and_refuses_to_frame_the_site(
        browser: Browser, site: str) -> None:
    page = await browser.new_page()
    answer = await page.goto(f"{site}/login")
    assert answer is not None
    headers = await answer.all_headers()
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert headers["x-frame-options"] == "DENY"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["cache-control"] == "no-store"
    # another site that frames the sign-in page gets an empty frame, not the form
    framing = await browser.new_page()
    await framing.set_content(f"<iframe src='{site}/login'></iframe>")
    await framing.wait_for_timeout(500)
    framed = framing.frames[1]
    assert await framed.locator("input[name=password]").count() == 0
    await page.close()
    await framing.close()


async def test_a_duty_officer_opens_an_incident_by_hand_on_a_phone(browser: Browser,
                                                                   site: str) -> None:
    page = await browser.new_page(viewport={"width": 390, "height": 844}, locale="zh-CN",
                                  is_mobile=True, has_touch=True)
    await sign_in(browser, site, "zhang", page)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    await page.click("nav a:has-text('人工立案')")
    await page.wait_for_url(f"{site}/incidents/new")
    # the form fits the phone's width: nothing to scroll sideways for
    assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert await page.input_value("input[name=at]")  # now, Beijing time, already filled in
    title = "媒体问询：凤庆县疾控中心疫苗接种差错"
    await page.fill("input[name=title]", title)
    await page.fill("textarea[name=text]", "记者来电（13912345678）询问接种差错一事，\n要求今日答复。")
    await page.select_option("select[name=channel]", "媒体问询")
    await page.select_option("select[name=level]", "III")
    await page.fill("input[name=region]", "凤庆县")
    async with page.expect_navigation():
        await page.click("form.stack button[type=submit]")
    assert page.url.rsplit("/", 1)[0] == f"{site}/incidents", page.url
    assert title in await page.inner_text("h2")
    opened = page.locator("tr", has_text="人工立案（媒体问询，值班员张）")
    assert await opened.count() == 1, (await page.inner_text("body"))[:600]
    shown = await opened.inner_text()
    assert "139****5678" in shown
    assert "13912345678" not in await page.inner_text("body")
    assert "Ⅲ级" in await page.inner_text("body")
    assert errors == []  # the security policy refused nothing the page needs
