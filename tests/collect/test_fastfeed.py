"""The fast feed reader gives decode_feed exactly what feedparser gives it, on the feeds it
reads, and leaves every other feed to feedparser."""

from __future__ import annotations

import html
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from xml.sax.saxutils import escape

import feedparser
import nh3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor.collect import decode, fastfeed
from monitor.collect.decode import ParsedFeed, decode_feed
from monitor.errors import SourceError
from monitor.records import Media, Source, SourceKind
from tests.conftest import FEEDS

BASE = "https://wjw.lincang.example/rss/feed.xml"
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
SOURCE = Source(name="t", url=BASE, kind=SourceKind.RSS, media=Media.LOCAL, region="临沧",
                interval_s=900)
NS = ('xmlns:content="http://purl.org/rss/1.0/modules/content/" '
      'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:atom="http://www.w3.org/2005/Atom" '
      'xmlns:media="http://search.yahoo.com/mrss/"')


def rss(items: str, head: str = "<title>临沧卫健委</title>", prolog: str = "utf-8") -> bytes:
    return (f'<?xml version="1.0" encoding="{prolog}"?><rss version="2.0" {NS}><channel>{head}'
            f"{items}</channel></rss>").encode("gbk" if prolog == "gb2312" else "utf-8")


def both(body: bytes, content_type: str | None = "application/rss+xml"
         ) -> tuple[ParsedFeed, ParsedFeed]:
    fast = decode_feed(body, content_type, SOURCE, BASE, NOW)
    alone = decode_feed(body, content_type, SOURCE, BASE, NOW, fast_path=False)
    return fast, alone


def assert_read_fast_and_same(body: bytes, content_type: str | None = "application/rss+xml"
                              ) -> ParsedFeed:
    fast, alone = both(body, content_type)
    assert fast.reader == "fastfeed"
    assert alone.reader == "feedparser"
    assert replace(fast, reader="feedparser") == alone
    return fast


REPRESENTATIVE = {
    "rss2 with escaped html": rss(
        "<item><title>临翔区医院开通急诊绿色通道</title><link>https://wjw.lincang.example/n/1.html"
        "</link><guid>n-1</guid><pubDate>Mon, 02 Mar 2026 09:30:00 +0800</pubDate>"
        "<description>&lt;p&gt;急诊&lt;b&gt;绿色通道&lt;/b&gt;开通&lt;/p&gt;</description></item>",
        head="<title>卫健委</title><language>zh-cn</language><ttl>30</ttl>"),
    "gbk labelled gb2312": rss(
        "<item><title>凤庆县医院张喆医生获表彰</title><link>http://www.lincang.example/a.shtml</link>"
        "<pubDate>Mon, 02 Mar 2026 09:30:00 +0800</pubDate><description>表彰</description></item>",
        prolog="gb2312"),
    "rsshub cdata and relative links": rss(
        "<item><title><![CDATA[健康 & 民生 <快讯>]]></title><link>/wap/news/1.html</link>"
        "<guid isPermaLink=\"false\">/wap/news/1.html</guid>"
        "<description><![CDATA[<p>正文</p><img src=\"/a.jpg\"><a href=\"./b.html\">全文</a>"
        "&nbsp;&copy;]]></description><pubDate>Mon, 02 Mar 2026 01:30:00 GMT</pubDate>"
        "<author><![CDATA[健康临沧]]></author><category>卫生</category></item>",
        head='<title>RSSHub</title><atom:link href="https://rsshub.example/x" rel="self" '
             'type="application/rss+xml"/>'),
    "entities and a padded query link": rss(
        "<item><title>通知 &amp; 公告 &#x4E2D;&#25991; &quot;答问&quot;</title>"
        "<link>\n  http://cms.example.gov.cn/art.html?a=1&amp;b=2\n</link>"
        "<pubDate>Mon Mar 02 13:07:00 CST 2026</pubDate></item>"),
    "content:encoded, no guid, a zone-less date": rss(
        "<item><title>无GUID</title><link>http://cms.example.gov.cn/1.html</link>"
        "<pubDate>2026-03-02 13:07:00</pubDate><dc:creator>办公室</dc:creator>"
        "<content:encoded><![CDATA[<div><p>全文</p><script>x()</script></div>]]>"
        "</content:encoded></item>"),
    "dc:date and a permalink guid for a link": rss(
        "<item><title>只有GUID</title><guid>https://wjw.lincang.example/g/7.html</guid>"
        "<dc:date>2026-03-02T13:07:00+08:00</dc:date><description>正文</description></item>"),
    "windows-1252 and mojibake": rss(
        "<item><title>\u0093quoted\u0094 and Ã©tÃ©</title><link>https://x.example/1</link>"
        "<description>don\u0092t</description></item>"),
    "atom": (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom" '
        'xml:lang="zh-CN"><title>健康新闻</title><id>tag:news.example.cn,2026:feed</id>'
        '<entry><title type="html">疫情通报 &amp;lt;快讯&amp;gt;</title>'
        "<id>tag:news.example.cn,2026:1</id>"
        '<link rel="replies" href="https://news.example.cn/1#c"/>'
        '<link rel="alternate" type="text/html" href="https://news.example.cn/1.htm"/>'
        "<published>2026-03-02T09:00:00+08:00</published><updated>2026-03-02T02:00:00Z</updated>"
        "<author><name>记者</name></author><summary type=\"html\">&lt;p&gt;摘要&lt;/p&gt;"
        "</summary><content type=\"html\">&lt;p&gt;全文&lt;/p&gt;</content></entry>"
        "<entry><title>没有网页链接</title><id>tag:news.example.cn,2026:2</id>"
        "<updated>2026-03-02T03:00:00Z</updated><content>纯文本</content></entry></feed>"
    ).encode(),
    "rdf": (
        '<?xml version="1.0" encoding="utf-8"?><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/'
        '22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/"><channel rdf:about="http://b.example/">'
        "<title>医生博客</title><link>http://b.example/</link><description>d</description>"
        "<dc:language>zh-CN</dc:language></channel>"
        '<item rdf:about="http://b.example/1.html"><title>义诊</title>'
        "<link>http://b.example/1.html</link><description>义诊活动</description>"
        "<dc:date>2026-03-02T09:00:00+08:00</dc:date></item></rdf:RDF>"
    ).encode(),
}


@pytest.mark.parametrize("name", sorted(REPRESENTATIVE))
def test_representative_feeds_are_read_fast_and_exactly_as_feedparser(name: str) -> None:
    parsed = assert_read_fast_and_same(REPRESENTATIVE[name])
    assert parsed.items


def test_what_the_fast_reader_gives_for_a_chinese_rss_feed() -> None:
    parsed = assert_read_fast_and_same(REPRESENTATIVE["rsshub cdata and relative links"])
    [item] = parsed.items
    assert item.title == "健康 & 民生 <快讯>"
    assert item.url == "https://wjw.lincang.example/wap/news/1.html"
    assert item.guid == "/wap/news/1.html"
    assert item.published_at == datetime(2026, 3, 2, 1, 30, tzinfo=UTC)
    assert 'rel="noopener noreferrer nofollow"' in item.summary


def test_cst_and_zone_less_dates_are_beijing_time_on_the_fast_path() -> None:
    cst = assert_read_fast_and_same(REPRESENTATIVE["entities and a padded query link"])
    zoneless = assert_read_fast_and_same(
        REPRESENTATIVE["content:encoded, no guid, a zone-less date"])
    assert cst.items[0].published_at == datetime(2026, 3, 2, 5, 7, tzinfo=UTC)
    assert zoneless.items[0].published_at == datetime(2026, 3, 2, 5, 7, tzinfo=UTC)
    assert cst.items[0].url == "http://cms.example.gov.cn/art.html?a=1&b=2"


@pytest.mark.parametrize("path", sorted(FEEDS.glob("*.xml")), ids=lambda p: p.name)
def test_the_collectors_fixture_feeds_decode_as_with_feedparser_alone(path: Path) -> None:
    body = path.read_bytes()
    fast, alone = both(body, "text/xml")
    assert replace(fast, reader="feedparser") == alone


NOT_TRUSTED = {
    "bare ampersand": rss("<item><title>急诊 & 门诊</title><link>https://x/1</link></item>"),
    "html entity": rss("<item><title>急诊&nbsp;门诊</title><link>https://x/1</link></item>"),
    "cut off": rss("<item><title>急诊</title><link>https://x/1</link></item>" * 3)[:-40],
    "doctype": b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "b">]><rss version="2.0">'
               b"<channel><item><title>&a;</title></item></channel></rss>",
    "xml:base": rss('<item xml:base="https://other.example/"><title>t</title><link>x</link>'
                    "</item>"),
    "markup in a title": rss("<item><title>a <b>b</b></title></item>"),
    "two titles": rss("<item><title>a</title><title>b</title></item>"),
    "atom 0.3": b'<feed version="0.3" xmlns="http://purl.org/atom/ns#"><entry><title mode='
                b'"escaped">a</title></entry></feed>',
    "xhtml content": b'<feed xmlns="http://www.w3.org/2005/Atom"><entry><title>t</title>'
                     b'<content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml"><p>x'
                     b"</p></div></content></entry></feed>",
    # feedparser's prefix maps are global: it reads zz:date here as dc:date
    "a namespace under two prefixes": b'<rss version="2.0" xmlns:dc="http://u.example/" '
                                      b'xmlns:zz="http://u.example/"><channel><item><title>t'
                                      b"</title><zz:date>2026-03-02</zz:date></item></channel>"
                                      b"</rss>",
    "a prefix bound twice": b'<rss version="2.0" xmlns:x="http://purl.org/dc/elements/1.1/">'
                            b'<channel><item xmlns:x="http://u.example/"><title>t</title>'
                            b"<x:date>2026-03-02</x:date></item></channel></rss>",
    "media:title": rss("<item><title>a</title><media:title>b</media:title></item>"),
    "nested title": rss('<item><x:foo xmlns:x="http://u.example/"><title>n</title></x:foo>'
                        "</item>"),
}


@pytest.mark.parametrize("name", sorted(NOT_TRUSTED))
def test_anything_else_is_left_to_feedparser(name: str) -> None:
    fast, alone = both(NOT_TRUSTED[name])
    assert fast.reader == "feedparser"
    assert fast == alone


def test_a_malformed_feed_still_warns_and_an_html_page_still_fails() -> None:
    fast, _ = both(NOT_TRUSTED["bare ampersand"])
    assert len(fast.warnings) == 1
    assert "malformed feed" in fast.warnings[0]
    page = b"<!DOCTYPE html><html><head><title>login</title></head><body>x</body></html>"
    with pytest.raises(SourceError, match="HTML page"):
        decode_feed(page, "text/html", SOURCE, BASE, NOW)
    empty = rss("")
    fast, alone = both(empty)
    assert fast == alone
    assert fast.items == []


def test_no_feed_is_trusted_if_feedparser_moved_its_internals(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fastfeed, "_TABLES", None)
    fast, alone = both(REPRESENTATIVE["atom"])
    assert fast.reader == "feedparser"
    assert fast == alone


def test_the_tables_come_from_feedparser() -> None:
    tables = fastfeed._TABLES
    assert tables is not None
    assert tables.prefixes["http://purl.org/rss/1.0/modules/content/"] == "content"
    assert {"title", "pubdate", "dc_date", "content_encoded", "media_title"} <= tables.handled
    assert fastfeed.HARMLESS <= tables.handled  # each one read in feedparser's source
    assert fastfeed.CP1252 == feedparser.html._cp1252


# --- properties ----------------------------------------------------------------------------

XML_CHARS = st.characters(blacklist_categories=("Cs",), blacklist_characters="\ufffe\uffff")
XML_TEXT = st.text(XML_CHARS.filter(lambda c: c in "\t\n\r" or ord(c) >= 0x20), max_size=40)


@settings(max_examples=300, deadline=None)
@given(st.text(st.characters(blacklist_categories=("Cs",)), max_size=60))
def test_text_that_skips_nh3_is_what_nh3_would_give(text: str) -> None:
    assert decode._plain(text) == decode._WS.sub(
        " ", html.unescape(nh3.clean(text, tags=set()))).strip()
    assert decode._sanitize(text) == nh3.clean(text, link_rel="noopener noreferrer nofollow")


@settings(max_examples=300, deadline=None)
@given(st.text(st.sampled_from("htpsfile:/+-.,aZ9 \u4e2d"), max_size=20))
def test_uris_are_fixed_as_feedparser_fixes_them(uri: str) -> None:
    assert fastfeed.fix_uri(uri) == feedparser.urls._urifixer.sub(r"\1\3", uri)


@settings(max_examples=300, deadline=None)
@given(XML_TEXT)
def test_text_is_cleaned_up_as_feedparser_cleans_it(text: str) -> None:
    body = rss(f"<item><title>{escape(text)}</title><description>{escape(text)}</description>"
               f"<link>{escape(text)}</link></item>")
    fast, alone = both(body)
    assert replace(fast, reader="feedparser") == alone


TEXTS = ["临沧", "  padded \n", "", "a &amp; b", "&lt;p&gt;x&lt;/p&gt;", "<![CDATA[<p>a & b</p>]]>",
         "Ã©tÃ©", "\u0093q\u0094", "&#x4E2D;", "\u3000全角\u3000"]
URLS = ["https://a.example/1", "http:///b.example/2", "/rel/3", "./rel4", "", "tag:x,2026:7",
        "https://q.example/?a=1&amp;b=2", "https://q.example/?a&amp;amp;b;c", "javascript:x()"]
DATES = ["Mon, 02 Mar 2026 05:07:00 +0800", "Mon Mar 02 13:07:00 CST 2026", "2026-03-02 13:07",
         "2026-03-02T13:07:00+08:00", "garbage", ""]


@st.composite
def entry_child(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from([
        "title", "link", "guid", "id", "description", "summary", "content", "content:encoded",
        "pubDate", "published", "updated", "dc:date", "dc:title", "author", "category",
        "comments", "atom:link", "source", "enclosure", "media:title", "Title", "x:foo"]))
    if kind in ("link", "atom:link"):
        if draw(st.booleans()):
            rel = draw(st.sampled_from(["", ' rel="alternate"', ' rel="self"', ' rel="related"']))
            kind_attr = draw(st.sampled_from(["", ' type="text/html"', ' type="image/png"']))
            name = draw(st.sampled_from(["href", "url", "uri"]))
            return f'<{kind}{rel}{kind_attr} {name}="{draw(st.sampled_from(URLS))}"/>'
        return f"<{kind}>{draw(st.sampled_from(URLS))}</{kind}>"
    if kind in ("guid", "id"):
        attr = draw(st.sampled_from(["", ' isPermaLink="false"', ' isPermaLink="False"']))
        return f"<{kind}{attr}>{draw(st.sampled_from(URLS))}</{kind}>"
    if kind in ("pubDate", "published", "updated", "dc:date"):
        return f"<{kind}>{draw(st.sampled_from(DATES))}</{kind}>"
    if kind == "x:foo":
        inner = draw(st.sampled_from(["plain", "<x:bar>deep</x:bar>", "<title>nested</title>"]))
        return f'<x:foo xmlns:x="http://example.com/x">{inner}</x:foo>'
    if kind == "source":
        return draw(st.sampled_from(["<source url=\"https://s/\">来源</source>",
                                     "<source><title>t</title></source>"]))
    if kind == "enclosure":
        return '<enclosure url="https://e/a.mp3" type="audio/mpeg" length="1"/>'
    attr = draw(st.sampled_from(["", "", ' type="html"', ' type="text"', ' type="xhtml"']))
    return f"<{kind}{attr}>{draw(st.sampled_from(TEXTS))}</{kind}>"


@st.composite
def random_feed(draw: st.DrawFn) -> bytes:
    items = draw(st.lists(st.lists(entry_child(), max_size=6), min_size=1, max_size=3))
    head = draw(st.sampled_from(["<title>t</title>", "", "<title>t</title><ttl>5</ttl>",
                                 "<language>zh-cn</language><title>a</title><title>b</title>"]))
    body = "".join(f"<item>{''.join(children)}</item>" for children in items)
    if draw(st.booleans()):
        return rss(body, head=head)
    return (f'<feed xmlns="http://www.w3.org/2005/Atom" {NS}>{head}'
            f"{body.replace('<item>', '<entry>').replace('</item>', '</entry>')}</feed>"
            ).encode()


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_feed())
def test_whenever_the_fast_reader_reads_a_feed_it_agrees_with_feedparser(body: bytes) -> None:
    fast, alone = both(body)
    assert replace(fast, reader="feedparser") == alone


def test_element_names_are_matched_without_case_as_feedparser_matches_them() -> None:
    body = rss("<item><Title>大写</Title><PUBDATE>Mon, 02 Mar 2026 05:07:00 +0800</PUBDATE>"
               "</item>")
    parsed = assert_read_fast_and_same(body)
    assert parsed.items[0].title == "大写"
    assert parsed.items[0].published_at == datetime(2026, 3, 2, 5, 7, tzinfo=UTC) - \
        timedelta(hours=8)


def test_an_element_named_like_a_parsed_date_is_no_date_rather_than_a_crash() -> None:
    body = rss("<item><title>t</title><published_parsed>x</published_parsed></item>")
    fast, alone = both(body)
    assert fast == alone
    assert fast.items[0].published_at is None
