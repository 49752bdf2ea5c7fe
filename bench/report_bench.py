"""Report benchmark: a quarter's report over many incidents, and masking throughput.

A store with ``--incidents`` incidents opened on one day (each with ``--per`` items, a short
timeline and a deadline) is filled straight through the driver (web_bench's filler); then the
period report over that day is built and written in every format, and the time of each step is
printed. Masking is timed on the titles and texts of the demo scenario.

    python bench/report_bench.py [--incidents 500] [--per 100] [--pdf/--no-pdf]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from web_bench import NOW, fill

from monitor.evaluate.formats import to_docx, to_html, to_markdown
from monitor.evaluate.masking import mask
from monitor.evaluate.reports import context_for, period_assessments, period_document
from monitor.response.roster import load_roster
from monitor.store import Store

SCENARIO = Path(__file__).parents[1] / "monitor" / "demo" / "scenario.jsonl"


def timed(label: str, fn, *args):  # type: ignore[no-untyped-def]
    began = time.perf_counter()
    result = fn(*args)
    print(f"{label:<32} {time.perf_counter() - began:8.2f} s")
    return result


def realistic(store: Store) -> None:
    """The filler's deadline events carry only a label; give them what the clocks write, and
    a release to every third incident."""
    opened = NOW - timedelta(days=30)
    due = (opened + timedelta(hours=48)).isoformat()
    with store.engine.begin() as conn:
        raw = conn.connection.driver_connection
        assert raw is not None
        raw.execute("UPDATE timeline SET data = ? WHERE type = 'deadline_set'", (json.dumps(
            {"deadline": "response", "label": "回应（48小时内）", "due": due}),))
        at = (opened + timedelta(hours=2)).strftime("%Y-%m-%d %H:%M:%S.%f")
        raw.execute(
            "INSERT INTO timeline (incident_id, at, type, actor, data) SELECT id, ?, "
            "'milestone_recorded', '值班员甲', ? FROM incidents WHERE id % 3 = 0",
            (at, json.dumps({"kind": "authoritative_release", "url": "https://wjw.example/1"})))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--incidents", type=int, default=500)
    parser.add_argument("--per", type=int, default=100)
    parser.add_argument("--pdf", action=argparse.BooleanOptionalAction, default=True)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        url = f"sqlite:///{Path(scratch) / 'r.db'}"
        fill(url, args.incidents * args.per, args.incidents, live=args.incidents // 10)
        store = Store(url)
        realistic(store)
        print(f"store: {args.incidents:,} incidents × {args.per} items")
        day = (NOW - timedelta(days=30)).date()
        ctx = context_for(load_roster())(NOW)
        try:
            assessments = timed("evaluate every incident", lambda: store.transaction(
                lambda c: period_assessments(c, day, day, ctx)))
        finally:
            store.close()
        print(f"  {len(assessments):,} incidents evaluated")
        doc = timed("build the document", period_document, assessments, day, day, ctx)
        html = timed("HTML", to_html, doc)
        md = timed("Markdown", to_markdown, doc)
        docx = timed("DOCX", to_docx, doc)
        print(f"  sizes: HTML {len(html.encode()):,} B, Markdown {len(md.encode()):,} B, "
              f"DOCX {len(docx):,} B")
        if args.pdf:
            from monitor.evaluate.pdf import html_to_pdf
            pdf = timed("PDF (headless Chromium)", lambda: asyncio.run(html_to_pdf(html)))
            print(f"  PDF {len(pdf):,} B")
    texts = []
    for line in SCENARIO.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        if record["type"] == "item":
            texts.append(record["title"] + "。" + record.get("text", ""))
    chars = sum(map(len, texts))
    mask("患者张建国（男，62岁）")  # the segmenter loads once, as in a service
    began = time.perf_counter()
    for text in texts:
        mask(text)
    spent = time.perf_counter() - began
    print(f"masking: {len(texts):,} texts, {chars:,} characters in {spent:.2f} s "
          f"({chars / spent / 1e6:.2f} M chars/s)")


if __name__ == "__main__":
    main()
