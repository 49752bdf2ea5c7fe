from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from monitor.collect.normalize import normalize_title, normalize_url


@pytest.mark.parametrize(("url", "expected"), [
    ("HTTP://WWW.Example.COM:80/a/b/?utm_source=rss&id=3&spm=1.2#top", "https://example.com/a/b?id=3"),
    ("https://example.com", "https://example.com/"),
    ("https://example.com:8443//x//y/", "https://example.com:8443/x/y"),
    ("https://m.example.com/p?b=2&a=1", "https://m.example.com/p?a=1&b=2"),
    ("javascript:alert(1)", ""),
    ("not a url", ""),
    ("http://[::1", ""),
])
def test_normalize_url(url: str, expected: str) -> None:
    assert normalize_url(url) == expected


@pytest.mark.parametrize(("a", "b"), [
    ("临沧市人民医院开通急诊绿色通道", "临沧市人民医院开通急诊绿色通道_新浪新闻"),
    ("临沧市人民医院开通急诊绿色通道", "云南临沧 | 临沧市人民医院开通急诊绿色通道"),
    ("临沧市人民医院开通急诊绿色通道！", "临沧市人民医院开通急诊绿色通道"),
    ("ＡＢＣ医院发布公告称今日停诊", "abc医院发布公告称今日停诊"),  # full-width folded
])
def test_same_headline_on_other_sites_has_the_same_key(a: str, b: str) -> None:
    assert normalize_title(a) == normalize_title(b) != ""


def test_short_generic_titles_are_not_compared() -> None:
    assert normalize_title("通知公告") == ""
    assert normalize_title("今日要闻") == ""


@given(st.text())
def test_normalizers_never_raise(text: str) -> None:
    assert isinstance(normalize_title(text), str)
    assert isinstance(normalize_url(text), str)
