"""The parts of 舆情态势 that need no store: periods read from a query, hot words of titles, the
sources that went silent, counties' short names."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from monitor.analyze.analyzer import Analyzer
from monitor.clock import SHANGHAI
from monitor.config import SourceList
from monitor.records import FetchStatus, Media, Source, SourceHealth, SourceKind
from monitor.store import Store
from monitor.web.hotwords import HotWords
from monitor.web.periods import PeriodError, parse_period
from monitor.web.situation_data import SituationData

TODAY = date(2026, 3, 8)
NOW = datetime(2026, 3, 8, 15, 0, tzinfo=SHANGHAI)


def test_periods_are_whole_beijing_days_up_to_today() -> None:
    week = parse_period({}, TODAY)  # the default
    assert (week.key, week.first, week.last) == ("7d", date(2026, 3, 2), TODAY)
    assert len(week.days) == 7
    assert not week.hourly
    assert week.query() == "period=7d"
    start, end = week.span
    assert start == datetime(2026, 3, 2, tzinfo=SHANGHAI)
    assert end == datetime(2026, 3, 9, tzinfo=SHANGHAI)
    today = parse_period({"period": "today"}, TODAY)
    assert today.hourly
    assert today.days == [TODAY]
    assert len(parse_period({"period": "30d"}, TODAY).days) == 30
    custom = parse_period({"from": "2026-03-07", "to": "2026-03-20"}, TODAY)
    assert (custom.key, custom.first, custom.last) == ("custom", date(2026, 3, 7), TODAY)
    assert custom.hourly  # two days once cut at today
    assert custom.query() == "period=custom&from=2026-03-07&to=2026-03-08"
    assert "2026-03-07 至 2026-03-08" in custom.label
    with pytest.raises(PeriodError, match="起止日期"):
        parse_period({"period": "custom", "from": "2026-3-7", "to": "2026-03-08"}, TODAY)


def test_hot_words_leave_out_what_says_nothing(analyzer: Analyzer) -> None:
    words = HotWords(analyzer.segmenter, analyzer.profile.words())
    counted = words.count([
        "凤庆县人民医院门诊排长队 患者反映挂号难",
        "凤庆县人民医院门诊排长队 患者反映挂号难",  # a repost: the same title counts twice
        "今年每天都有几个患者在北京看病 2026年3月",
        "患者张建国的家属投诉临沧市人民医院",
    ])
    assert counted["患者"] == 4
    assert counted["门诊"] == 2
    assert counted["挂号难"] == 2  # a health word of the dictionary
    assert counted["投诉"] == 1
    left_out = {"凤庆县人民医院", "临沧市人民医院", "北京", "今年", "每天", "几个", "反映",
                "2026", "3月", "张建国"}
    assert not left_out & set(counted), left_out & set(counted)


def test_silent_sources(analyzer: Analyzer, tmp_path: Path) -> None:
    def source(name: str, enabled: bool = True) -> Source:
        return Source(name=name, url=f"https://{name}.example/feed", kind=SourceKind.RSS,
                      media=Media.GOVERNMENT, region="临沧市", interval_s=900, enabled=enabled)

    listed = SourceList([source("fresh"), source("failing"), source("quiet"),
                         source("never"), source("off", enabled=False), source("gone")])
    store = Store(f"sqlite:///{tmp_path / 'm.db'}")
    try:
        data = SituationData(store, analyzer, listed, 86400)
    finally:
        store.close()
    ok = NOW - timedelta(minutes=10)
    health = {
        # 96 entries a day: polled every 15 minutes, silent after 45
        "fresh": SourceHealth("fresh", "", FetchStatus.OK, last_success_at=ok,
                              entries_per_day=96),
        "failing": SourceHealth("failing", "", FetchStatus.ERROR,
                                last_success_at=NOW - timedelta(hours=2),
                                last_error="HTTP 503", entries_per_day=96),
        "quiet": SourceHealth("quiet", "", FetchStatus.OK, last_success_at=ok,
                              entries_per_day=96),
        "gone": SourceHealth("gone", "", FetchStatus.GONE,
                             last_success_at=NOW - timedelta(days=3)),
    }
    newest = {"fresh": NOW - timedelta(minutes=20), "failing": NOW - timedelta(hours=2),
              "quiet": NOW - timedelta(hours=5)}
    silent = {s["name"]: s for s in data._silent(health, newest, NOW)}
    assert set(silent) == {"failing", "quiet", "never", "gone"}
    assert silent["failing"]["reason"] == "2小时未成功抓取"
    assert silent["failing"]["last_error"] == "HTTP 503"
    assert silent["quiet"]["reason"] == "5小时无新信息"
    assert silent["never"]["reason"] == "从未成功抓取"
    assert silent["gone"]["reason"] == "已下线（HTTP 410）"
    assert silent["quiet"]["media"] == "政府网站"
    # a source that posts once a day is polled daily, and silent only after three days
    health["quiet"] = SourceHealth("quiet", "", FetchStatus.OK, last_success_at=ok,
                                   entries_per_day=1)
    assert "quiet" not in {s["name"] for s in data._silent(health, newest, NOW)}
    labels = {r.name: r.label for r in data.regions}
    assert labels["双江拉祜族佤族布朗族傣族自治县"] == "双江县"
    assert labels["临翔区"] == "临翔区"
    assert labels["云县"] == "云县"
