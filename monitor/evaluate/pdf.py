"""HTML reports printed to PDF by a headless Chromium (Debian's, driven by Playwright), which
lays out Chinese with the system's CJK fonts exactly as the screen shows it."""

from __future__ import annotations

import asyncio
import os
import shutil

from monitor.errors import MonitorError


def find_chromium() -> str:
    path = (os.environ.get("MONITOR_CHROMIUM") or shutil.which("chromium")
            or shutil.which("chromium-browser"))
    if not path:
        raise MonitorError("PDF needs Chromium: apt-get install chromium fonts-noto-cjk, or set "
                           "MONITOR_CHROMIUM to a Chromium executable")
    return path


async def html_to_pdf(html: str) -> bytes:
    try:
        from playwright.async_api import async_playwright

        from monitor.evaluate.tounicode import restore_ideographs  # needs pypdf
    except ImportError as e:
        missing = (e.name or "playwright").split(".")[0]  # playwright or pypdf
        raise MonitorError(f"PDF needs the Python package {missing}: pip install "
                           "'health-opinion-monitor[pdf]'") from None
    async with async_playwright() as p:
        # no sandbox: services here often run as root in a container, where it cannot start
        browser = await p.chromium.launch(executable_path=find_chromium(), args=["--no-sandbox"])
        try:
            page = await browser.new_page()
            await page.set_content(html, wait_until="load")
            pdf = await page.pdf(format="A4", print_background=True,
                                 display_header_footer=True, header_template="<span></span>",
                                 footer_template=(
                                     "<div style='font-size:8px;width:100%;text-align:center'>"
                                     "<span class=pageNumber></span>/<span class=totalPages>"
                                     "</span></div>"),
                                 margin={"top": "15mm", "bottom": "15mm", "left": "15mm",
                                         "right": "15mm"})
        finally:
            await browser.close()
    # Chromium's text layer gives some ideographs as the radicals drawn with the same glyph
    # (耿马 as 耿⻢): corrected here. A thread, since parsing a long report would hold up
    # the event loop the web server answers on.
    return await asyncio.to_thread(restore_ideographs, pdf)
