"""Agreement and speed of the fast feed reader (monitor/collect/fastfeed.py) against feedparser.

Each feed is decoded twice by decode.py, once as the collector does (the fast reader where it
trusts itself, feedparser elsewhere) and once with feedparser alone, and the entries are
compared field by field after our normalisation: title (plain text), link (resolved against
the feed's URL), id (the GUID), published (UTC, after the CST and missing-zone fixes) and
summary (nh3-sanitised, whitespace collapsed). Then the parse and decode rates of both, and of
plain feedparser (its defaults, as bench/collect_bench.py runs it), on the generated corpus.

Corpora: feedparser's own test feeds (the tests/ folder of its source distribution; nothing
is fetched at run time, see --feedparser-tests), the collector's test fixtures, and generated
real-shaped Chinese feeds (RSS in UTF-8 and GBK, RSSHub-style CDATA HTML, CMS feeds with CST
or zone-less dates and content:encoded, Atom, RDF with dc:date, relative links, entities,
missing GUIDs; a few malformed ones that must fall back).

    python bench/parse_agreement_bench.py [--feedparser-tests DIR] [--feeds 400] [--candidates]

--candidates also measures fastfeedparser and feedparser-rs, where importable, read through
the same normalisation (they are not dependencies of the project).
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import feedparser

from monitor.collect import decode, fastfeed
from monitor.collect.encoding import as_utf8_xml, decode_bytes
from monitor.errors import SourceError
from monitor.records import Media, Source, SourceKind

FIELDS = ("title", "link", "id", "published", "summary")
BASE_URL = "https://wjw.lincang.example/rss/feed.xml"
HERE = Path(__file__).resolve().parent
FIXTURES = HERE.parent / "tests" / "data" / "feeds"
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
SOURCE = Source(name="bench", url=BASE_URL, kind=SourceKind.RSS, media=Media.LOCAL,
                region="临沧", interval_s=900)
TESTS_HELP = """feedparser's test feeds were not found. They are in its source distribution:
    pip download --no-binary :all: --no-deps feedparser==%s -d /tmp/fp
    tar xzf /tmp/fp/feedparser-*.tar.gz -C /tmp/fp
then pass --feedparser-tests /tmp/fp/feedparser-%s/tests, set FEEDPARSER_TESTS to it, or
copy that folder to bench/data/feedparser-tests. Going on without them."""


@dataclass(frozen=True, slots=True)
class Feed:
    name: str
    body: bytes
    content_type: str | None = None


@dataclass
class Tally:
    feeds: int = 0
    fast_feeds: int = 0
    feeds_same: int = 0  # the same ParsedFeed (items, warnings, ttl, title) or the same error
    entries: int = 0
    fast_entries: int = 0
    entries_same: int = 0  # all five fields, over all entries (fast path with fallback)
    fast_same: Counter[str] = field(default_factory=Counter)  # per field, fast-read entries
    fallbacks: Counter[str] = field(default_factory=Counter)
    examples: list[str] = field(default_factory=list)


def normalised(entries: Iterable[Any]) -> list[dict[str, object]]:
    """The compared fields, as _to_items makes them."""
    return [{"title": decode._plain(e.title),
             "link": urljoin(BASE_URL, e.link) if e.link else "",
             "id": e.guid, "published": e.published_at,
             "summary": decode._WS.sub(" ", decode._sanitize(e.summary)).strip()}
            for e in entries]


def outcome(feed: Feed, fast_path: bool) -> tuple[str, list[dict[str, object]], object]:
    """(reader or "error", normalised entries, everything else decode_feed gives)."""
    try:
        text = decode_bytes(feed.body, feed.content_type).text
        entries, meta = decode._parse_xml_feed(text, feed.body, feed.content_type, SOURCE,
                                               fast_path)
        parsed = decode.decode_feed(feed.body, feed.content_type, SOURCE, BASE_URL, NOW,
                                    fast_path=fast_path)
    except SourceError as exc:
        return "error", [], exc.reason
    rest = (parsed.items, parsed.warnings, parsed.ttl_s, parsed.title, parsed.encoding)
    return str(meta["reader"]), normalised(entries), rest


def compare(feeds: Iterable[Feed], tally: Tally) -> Tally:
    for feed in feeds:
        tally.feeds += 1
        reader, fast, fast_rest = outcome(feed, fast_path=True)
        _, ref, ref_rest = outcome(feed, fast_path=False)
        tally.feeds_same += (fast, fast_rest) == (ref, ref_rest)
        if reader != "fastfeed":
            tally.fallbacks[fallback_reason(feed)] += 1
        else:
            tally.fast_feeds += 1
            tally.fast_entries += len(ref)
        tally.entries += len(ref)
        for k, want in enumerate(ref):
            got = fast[k] if k < len(fast) else {}
            tally.entries_same += got == want
            if reader == "fastfeed":
                for name in FIELDS:
                    same = name in got and got[name] == want[name]
                    tally.fast_same[name] += same
                    if not same and len(tally.examples) < 12:
                        tally.examples.append(f"{feed.name} #{k} {name}: feedparser "
                                              f"{want[name]!r:.80} / fast {got.get(name)!r:.80}")
                tally.fast_same["all five"] += got == want
        if len(fast) != len(ref) and len(tally.examples) < 12:
            tally.examples.append(f"{feed.name}: {len(ref)} entries by feedparser, "
                                  f"{len(fast)} with the fast path")
    return tally


def fallback_reason(feed: Feed) -> str:
    try:
        fastfeed.read(as_utf8_xml(decode_bytes(feed.body, feed.content_type).text))
    except fastfeed.NotTrusted as exc:
        reason = str(exc)
        return reason.split(":")[0] if reason.startswith("not well-formed") else reason
    return "not XML (JSON, or an empty body)"


# --- corpora -----------------------------------------------------------------------------

def feedparser_test_feeds(folder: Path) -> list[Feed]:
    files = sorted(p for p in folder.rglob("*.xml") if p.is_file())
    return [Feed(str(p.relative_to(folder)), p.read_bytes()) for p in files]


def fixture_feeds() -> list[Feed]:
    return [Feed(f"fixtures/{p.name}", p.read_bytes()) for p in sorted(FIXTURES.glob("*.xml"))]


TOPICS = ["医院", "急诊", "疫苗接种", "食品安全", "养老院", "医保报销", "救护车", "卫生院",
          "传染病", "药品", "体检", "门诊", "住院", "护理", "疾控中心", "120急救"]
PLACES = ["临翔区", "凤庆县", "云县", "永德县", "镇康县", "双江县", "耿马县", "沧源县"]
GBK_ONLY = ["喆", "堃", "镕", "玥", "昇"]  # in GBK, not in GB2312
_CST = timezone(timedelta(hours=8))  # Beijing time


class Generator:
    """Real-shaped Chinese feeds; every entry gets its own date, so no cache helps a pass."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)  # noqa: S311 - reproducible bench data, not secrets
        self.clock = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

    def stamp(self) -> datetime:
        self.clock -= timedelta(seconds=self.rng.randint(61, 3599))
        return self.clock

    def title(self, n: int, i: int) -> str:
        r = self.rng
        return f"{r.choice(PLACES)}{r.choice(TOPICS)}{r.choice(['情况通报', '工作动态', '答网友问'])}第{n}-{i}期"

    def paragraph(self) -> str:
        r = self.rng
        return (f"{r.choice(PLACES)}卫生健康委员会就{r.choice(TOPICS)}有关问题作出说明，"
                f"群众反映的情况正在核实处理中。" * r.randint(1, 4))

    def feed(self, n: int, entries: int) -> Feed:
        kinds: list[Callable[[int, int], Feed]] = [
            self.rss_plain, self.rss_gbk, self.rsshub, self.cms, self.atom, self.rdf,
            self.forum]
        return kinds[n % len(kinds)](n, entries)

    def rss(self, n: int, items: list[str], extra_ns: str = "", head: str = "",
            encoding: str = "utf-8") -> str:
        return (f'<?xml version="1.0" encoding="{encoding}"?>\n<rss version="2.0"{extra_ns}>'
                f"<channel><title>临沧市卫生健康委员会 {n}</title><link>https://wjw.lincang.example/"
                f"</link><description>政务信息</description><language>zh-cn</language>{head}"
                f"{''.join(items)}</channel></rss>")

    def rss_plain(self, n: int, entries: int) -> Feed:
        items = []
        for i in range(entries):
            when = self.stamp().astimezone(_CST)
            items.append(
                f"<item><title>{self.title(n, i)}</title>"
                f"<link>https://wjw.lincang.example/news/{n}/{i}.html</link>"
                f"<guid>https://wjw.lincang.example/news/{n}/{i}.html</guid>"
                f"<pubDate>{when:%a, %d %b %Y %H:%M:%S} +0800</pubDate>"
                f"<description>&lt;p&gt;{self.paragraph()}&lt;/p&gt;</description></item>")
        return Feed(f"rss-utf8-{n}", self.rss(n, items, head="<ttl>30</ttl>").encode(),
                    "application/rss+xml")

    def rss_gbk(self, n: int, entries: int) -> Feed:
        items = []
        for i in range(entries):
            when = self.stamp().astimezone(_CST)
            name = self.rng.choice(GBK_ONLY)
            items.append(
                f"<item><title>{self.title(n, i)}（{name}医生）</title>"
                f"<link>http://www.lincang.example/xwzx/{n}_{i}.shtml</link>"
                f"<pubDate>{when:%a, %d %b %Y %H:%M:%S} +0800</pubDate>"
                f"<description>{self.paragraph()}</description></item>")
        text = self.rss(n, items, encoding="gb2312")
        ctype = "text/xml; charset=GBK" if n % 2 else "text/xml"
        return Feed(f"rss-gbk-{n}", text.encode("gbk"), ctype)

    def rsshub(self, n: int, entries: int) -> Feed:
        items = []
        for i in range(entries):
            when = self.stamp()
            link = f"/wap/news/{n}{i:03d}.html" if i % 3 == 0 else \
                f"https://m.example.com/a/{n}{i:03d}?from=rss&amp;id={i}"
            items.append(
                f"<item><title><![CDATA[{self.title(n, i)} | 健康{'&'}民生]]></title>"
                f"<description><![CDATA[<p>{self.paragraph()}</p><img src=\"/pic/{i}.jpg\" "
                f"referrerpolicy=\"no-referrer\"><br><a href=\"./more.html\">阅读全文</a>"
                f"&nbsp;&copy;]]></description>"
                f"<pubDate>{when:%a, %d %b %Y %H:%M:%S} GMT</pubDate>"
                f"<guid isPermaLink=\"false\">{link}</guid><link>{link}</link>"
                f"<author><![CDATA[健康临沧]]></author><category>卫生</category></item>")
        head = ('<atom:link href="https://rsshub.example/lincang/wjw" rel="self" '
                'type="application/rss+xml"/><generator>RSSHub</generator>'
                '<image><url>https://rsshub.example/logo.png</url><title>logo</title>'
                '<link>https://rsshub.example/</link></image>')
        text = self.rss(n, items, ' xmlns:atom="http://www.w3.org/2005/Atom"', head)
        return Feed(f"rsshub-{n}", text.encode(), "application/xml")

    def cms(self, n: int, entries: int) -> Feed:
        items = []
        for i in range(entries):
            local = self.stamp().astimezone(_CST)
            date = (f"{local:%a %b %d %H:%M:%S} CST {local:%Y}" if i % 2 else
                    f"{local:%Y-%m-%d %H:%M:%S}")
            guid = "" if i % 4 == 0 else f"<guid isPermaLink=\"false\">cms-{n}-{i}</guid>"
            items.append(
                f"<item><title>{self.title(n, i)} &amp; &#x901A;&#30693; &quot;公告&quot;</title>"
                f"<link>\n  http://cms.example.gov.cn/art/2026/3/2/art_{n}_{i}.html?a=1&amp;b=2\n"
                f"</link>{guid}<pubDate>{date}</pubDate><dc:creator>办公室</dc:creator>"
                f"<content:encoded><![CDATA[<div class=\"TRS\"><p style=\"text-indent:2em\">"
                f"{self.paragraph()}</p><script>track()</script></div>]]></content:encoded>"
                "</item>")
        ns = (' xmlns:content="http://purl.org/rss/1.0/modules/content/"'
              ' xmlns:dc="http://purl.org/dc/elements/1.1/"')
        return Feed(f"cms-{n}", self.rss(n, items, ns).encode(), "text/xml; charset=utf-8")

    def atom(self, n: int, entries: int) -> Feed:
        parts = []
        for i in range(entries):
            updated = self.stamp()
            published = updated - timedelta(hours=1)
            links = (f'<link rel="alternate" type="text/html" href="https://news.example.cn/'
                     f'{n}/{i}.htm"/>' if i % 5 else "")
            parts.append(
                f"<entry><title type=\"html\">{self.title(n, i)} &amp;lt;快讯&amp;gt;</title>"
                f"<id>tag:news.example.cn,2026:{n}-{i}</id>{links}"
                f'<link rel="replies" href="https://news.example.cn/{n}/{i}#c"/>'
                f"<published>{published.astimezone(_CST).isoformat()}</published>"
                f"<updated>{updated:%Y-%m-%dT%H:%M:%SZ}</updated>"
                f"<author><name>记者{i}</name></author>"
                f"<summary type=\"html\">&lt;p&gt;{self.paragraph()}&lt;/p&gt;</summary>"
                f"<content type=\"html\">&lt;p&gt;{self.paragraph()}&lt;/p&gt;&lt;p&gt;"
                f"{self.paragraph()}&lt;/p&gt;</content></entry>")
        text = (f'<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom" '
                f'xml:lang="zh-CN"><title>健康新闻 {n}</title><id>tag:news.example.cn,2026:feed</id>'
                f'<updated>2026-03-02T09:00:00Z</updated><link rel="self" href="/atom.xml"/>'
                f"{''.join(parts)}</feed>")
        return Feed(f"atom-{n}", text.encode(), "application/atom+xml")

    def rdf(self, n: int, entries: int) -> Feed:
        items = []
        for i in range(entries):
            when = self.stamp().astimezone(_CST)
            items.append(
                f'<item rdf:about="http://blog.example.cn/{n}/{i}.html">'
                f"<title>{self.title(n, i)}</title><link>http://blog.example.cn/{n}/{i}.html</link>"
                f"<description>{self.paragraph()}</description>"
                f"<dc:date>{when.isoformat()}</dc:date><dc:subject>健康</dc:subject>"
                f"<content:encoded><![CDATA[<p>{self.paragraph()}</p>]]></content:encoded>"
                "</item>")
        text = (f'<?xml version="1.0" encoding="utf-8"?>\n<rdf:RDF xmlns:rdf='
                f'"http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/" '
                f'xmlns:dc="http://purl.org/dc/elements/1.1/" '
                f'xmlns:content="http://purl.org/rss/1.0/modules/content/">'
                f'<channel rdf:about="http://blog.example.cn/"><title>医生博客 {n}</title>'
                f"<link>http://blog.example.cn/</link><description>博客</description>"
                f"<dc:language>zh-CN</dc:language></channel>{''.join(items)}</rdf:RDF>")
        return Feed(f"rdf-{n}", text.encode(), "application/rdf+xml")

    def forum(self, n: int, entries: int) -> Feed:
        """A hand-made forum feed, and now and then a broken one that must fall back."""
        items = []
        for i in range(entries):
            when = self.stamp().astimezone(_CST)
            title = self.title(n, i)
            if i == 1:
                title = f"  {title}\n\t "  # padded
            if i == 2:
                title = f"{title} \U0001f637 𠮷"  # emoji and a four-byte character
            guid = f"<guid>thread-{n}-{i % max(1, entries - 3)}</guid>"  # some repeated
            items.append(
                f"<item><title>{title}</title><link>./thread-{n}-{i}.html</link>{guid}"
                f"<pubDate>{when:%Y-%m-%d %H:%M}</pubDate>"
                f"<description>{self.paragraph()}  \n  </description>"
                f"<comments>./thread-{n}-{i}.html#reply</comments></item>")
        text = self.rss(n, items)
        broken = n % 4
        if broken == 1:
            text = text.replace("</title>", " & 回复</title>", 1)  # a bare ampersand
        elif broken == 2:
            text = text.replace("<description>", "<description>热点&nbsp;", 1)  # an HTML entity
        elif broken == 3:
            text = text[: len(text) * 2 // 3]  # cut off
        return Feed(f"forum-{n}{'-broken' if broken else ''}", text.encode(), "text/xml")



# --- speed -------------------------------------------------------------------------------

def rate(feeds: list[Feed], parse: Callable[[Feed], int], repeat: int = 3) -> float:
    """Best entries/s of ``repeat`` passes, the date cache emptied before each."""
    best = 0.0
    for _ in range(repeat):
        clear_date_cache()
        start = time.perf_counter()
        entries = sum(parse(feed) for feed in feeds)
        best = max(best, entries / (time.perf_counter() - start))
    return best


def clear_date_cache() -> None:
    tables = fastfeed._TABLES
    if tables is not None and hasattr(tables.parse_date, "cache_clear"):
        tables.parse_date.cache_clear()


def fast_or_feedparser(data: bytes) -> int:
    try:
        return len(fastfeed.read(data).entries)
    except fastfeed.NotTrusted:
        return len(feedparser.parse(data, sanitize_html=False,
                                    resolve_relative_uris=False).entries)


def speed(feeds: list[Feed]) -> list[tuple[str, float]]:
    utf8 = [(f, as_utf8_xml(decode_bytes(f.body, f.content_type).text)) for f in feeds]
    by_data = {id(f): data for f, data in utf8}
    return [
        ("plain feedparser (defaults, raw bytes)",
         rate(feeds, lambda f: len(feedparser.parse(f.body).entries))),
        ("feedparser as decode.py calls it",
         rate(feeds, lambda f: len(feedparser.parse(by_data[id(f)], sanitize_html=False,
                                                    resolve_relative_uris=False).entries))),
        ("fast reader, feedparser where it declines",
         rate(feeds, lambda f: fast_or_feedparser(by_data[id(f)]))),
        ("decode_feed, feedparser only", rate(feeds, lambda f: decoded(f, False))),
        ("decode_feed, fast path", rate(feeds, lambda f: decoded(f, True))),
    ]


def decoded(feed: Feed, fast_path: bool) -> int:
    try:
        return len(decode.decode_feed(feed.body, feed.content_type, SOURCE, BASE_URL, NOW,
                                      fast_path=fast_path).items)
    except SourceError:
        return 0


# --- other candidates ----------------------------------------------------------------------

def candidate_readers() -> dict[str, Callable[[bytes], list[dict[str, Any]]]]:
    readers: dict[str, Callable[[bytes], list[dict[str, Any]]]] = {}
    from feedparser.datetimes import _parse_date
    try:
        import fastfeedparser  # type: ignore[import-not-found]
    except ImportError:
        pass
    else:
        def ffp(data: bytes) -> list[dict[str, Any]]:
            out = []
            for e in fastfeedparser.parse(data).entries:
                raw = e.get("published") or e.get("updated")
                out.append({"title": e.get("title"), "link": e.get("link"), "id": e.get("id"),
                            "summary": e.get("description") or e.get("summary"),
                            "content": e.get("content"), "published": raw,
                            "published_parsed": _parse_date(raw) if raw else None})
            return out
        readers["fastfeedparser"] = ffp
    try:
        import feedparser_rs  # type: ignore[import-not-found]
    except ImportError:
        pass
    else:
        def fprs(data: bytes) -> list[dict[str, Any]]:
            out = []
            for e in feedparser_rs.parse(data).entries:
                content = [{"value": c.value} for c in (e.content or [])]
                out.append({"title": e.title, "link": e.link, "id": e.id, "summary": e.summary,
                            "content": content, "published": e.published,
                            "published_parsed": e.published_parsed, "updated": e.updated,
                            "updated_parsed": e.updated_parsed})
            return out
        readers["feedparser-rs"] = fprs
    return readers


def candidates(feeds: list[Feed]) -> None:
    readers = candidate_readers()
    if not readers:
        print("\nno other candidate importable (pip install fastfeedparser feedparser-rs)")
        return
    print("\nother candidates, no fallback, on the generated corpus (fields as above)")
    for name, read in readers.items():
        same: Counter[str] = Counter()
        total = 0
        for feed in feeds:
            data = as_utf8_xml(decode_bytes(feed.body, feed.content_type).text)
            _, ref, _ = outcome(feed, fast_path=False)
            try:
                got = normalised(decode._xml_entry(e) for e in read(data))
            except Exception:  # noqa: BLE001 - a candidate's failure counts as disagreement
                got = []
            total += len(ref)
            for k, want in enumerate(ref):
                have = got[k] if k < len(got) else {}
                for f in FIELDS:
                    same[f] += have.get(f) == want[f]
                same["all five"] += have == want
        utf8 = [as_utf8_xml(decode_bytes(f.body, f.content_type).text) for f in feeds]
        start = time.perf_counter()
        parsed = sum(len(read(data)) for data in utf8)
        per_s = parsed / (time.perf_counter() - start)
        cells = "  ".join(f"{f} {pct(same[f], total)}" for f in (*FIELDS, "all five"))
        print(f"  {name:15} {cells}   {per_s:,.0f} entries/s")


# --- report ------------------------------------------------------------------------------

def pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:6.2f}%" if whole else "     -"


def report(name: str, tally: Tally) -> None:
    print(f"\n== {name}")
    print(f"feeds {tally.feeds}; read by the fast reader {tally.fast_feeds} "
          f"({pct(tally.fast_feeds, tally.feeds).strip()}); entries {tally.entries}, of which "
          f"{tally.fast_entries} in feeds it read")
    print("agreement on the entries the fast reader read:")
    for f in (*FIELDS, "all five"):
        print(f"  {f:10} {pct(tally.fast_same[f], tally.fast_entries)}  "
              f"({tally.fast_entries - tally.fast_same[f]} differ)")
    print(f"as the collector now decodes (fast path, feedparser fallback) vs feedparser alone: "
          f"entries {pct(tally.entries_same, tally.entries).strip()} identical, whole "
          f"ParsedFeed or error {pct(tally.feeds_same, tally.feeds).strip()} identical")
    if tally.fallbacks:
        top = ", ".join(f"{reason} {n}" for reason, n in tally.fallbacks.most_common(8))
        print(f"left to feedparser: {top}")
    for line in tally.examples:
        print(f"  differs: {line}")


def find_feedparser_tests(given: str | None) -> Path | None:
    for candidate in (given, os.environ.get("FEEDPARSER_TESTS"), HERE / "data" / "feedparser-tests"):
        if candidate and (Path(candidate) / "wellformed").is_dir():
            return Path(candidate)
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feedparser-tests", help="the tests/ folder of feedparser's sdist")
    parser.add_argument("--feeds", type=int, default=420, help="generated feeds")
    parser.add_argument("--entries", type=int, default=30, help="entries per generated feed")
    parser.add_argument("--candidates", action="store_true",
                        help="also measure fastfeedparser and feedparser-rs if importable")
    args = parser.parse_args()
    print(f"feedparser {feedparser.__version__}, fast reader {'on' if fastfeed._TABLES else 'OFF'}")
    folder = find_feedparser_tests(args.feedparser_tests)
    if folder is None:
        version = feedparser.__version__
        print(TESTS_HELP % (version, version), file=sys.stderr)
    else:
        report(f"feedparser's test feeds ({folder})",
               compare(feedparser_test_feeds(folder), Tally()))
    report("the collector's test fixtures", compare(fixture_feeds(), Tally()))
    generator = Generator(seed=2026)
    generated = [generator.feed(n, args.entries) for n in range(args.feeds)]
    report(f"generated Chinese feeds ({args.feeds} x {args.entries} entries)",
           compare(generated, Tally()))
    print("\nspeed on the generated feeds (best of 3, entries/s, date cache emptied each pass)")
    rates = speed(generated)
    plain = rates[0][1]
    for label, value in rates:
        print(f"  {label:44} {value:9,.0f}   x{value / plain:5.2f} plain feedparser")
    print(f"  fast reader / feedparser as decode.py calls it: x{rates[2][1] / rates[1][1]:.2f}; "
          f"decode_feed fast / feedparser only: x{rates[4][1] / rates[3][1]:.2f}")
    if args.candidates:
        candidates(generated)


if __name__ == "__main__":
    main()
