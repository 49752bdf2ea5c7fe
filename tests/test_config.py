"""sources.yaml and settings: every mistake is an error naming the file, the line and the fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.config import PROJECT_DIR, load_settings, load_sources, parse_duration
from monitor.errors import ConfigError
from monitor.records import Media, SourceKind

GOOD = """\
rsshub: http://127.0.0.1:1200
sources:
  - name: lincang-wjw
    url: https://wjw.lincang.example/rss.xml
    media: government
    region: 临沧
    interval: 10m
    weight: 3
  - name: weibo-lincang
    url: /weibo/keyword/临沧医院
    kind: rsshub
    media: social
    region: 临沧
    enabled: false
    headers:
      Cookie: from-env-in-production
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sources.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_good_file_loads_with_defaults_and_rsshub_routes(tmp_path: Path) -> None:
    loaded = load_sources(write(tmp_path, GOOD))
    first, second = loaded.sources
    assert first.interval_s == 600
    assert first.kind is SourceKind.AUTO  # told from the response
    assert first.media is Media.GOVERNMENT
    assert first.weight == 3.0
    assert second.url == "http://127.0.0.1:1200/weibo/keyword/临沧医院"
    assert second.enabled is False
    assert second.headers == {"Cookie": "from-env-in-production"}
    assert loaded.trusted_hosts == ["127.0.0.1"]


@pytest.mark.parametrize(("change", "expected"), [
    (("interval: 10m", "intervall: 10m"),
     "sources.yaml:7: source 'lincang-wjw': unknown key 'intervall'; did you mean 'interval'?"),
    (("interval: 10m", "interval: 5"),
     ("sources.yaml:7: source 'lincang-wjw': interval: Input should be greater than or equal "
     "to 60 (got 5)")),
    (("media: government", "media: tv"),
     ("sources.yaml:5: source 'lincang-wjw': media: Input should be 'central', 'provincial', "
     "'local', 'government', 'social', 'forum', 'hotline' or 'unknown' (got 'tv')")),
    (("url: https://wjw.lincang.example/rss.xml", "url: ftp://wjw.lincang.example/rss.xml"),
     ("sources.yaml:4: source 'lincang-wjw': url: Value error, an http(s) URL, or an RSSHub route "
     "starting with /")),
    (("name: weibo-lincang", "name: lincang-wjw"),
     "sources.yaml:9: source 'lincang-wjw' is listed twice"),
    (("    region: 临沧\n    interval", "    region: ''\n    interval"),
     "sources.yaml:6: source 'lincang-wjw': region: String should have at least 1 character"),
    (("sources:", "hosts:\n  http://rsshub.local: {gap: 1}\nsources:"),
     "sources.yaml:3: hosts: Value error, 'http://rsshub.local' is not a host name"),
    (("sources:", "hosts:\n  rsshub.local: {gapp: 1}\nsources:"),
     "sources.yaml:3: unknown key 'gapp'; did you mean 'gap'?"),
    (("    weight: 3\n", "    weight: 3\n    weight: 4\n"),
     "sources.yaml:9: key 'weight' appears twice in the same block"),
    (("kind: rsshub", "kind: rss"), "sources.yaml:9: source 'weibo-lincang': a route"),
    (("interval: 10m", "interval: [10m"), "sources.yaml:8: not valid YAML"),
    (("enabled: false", 'enabled: "no"'),
     ("source 'weibo-lincang': enabled: Input should be a valid boolean (got 'no'); write true "
      "or false")),
])
def test_mistakes_name_the_file_line_and_what_is_allowed(
        tmp_path: Path, change: tuple[str, str], expected: str) -> None:
    old, new = change
    assert old in GOOD
    path = write(tmp_path, GOOD.replace(old, new, 1))
    with pytest.raises(ConfigError) as caught:
        load_sources(path)
    message = str(caught.value).replace(str(tmp_path) + "/", "")
    assert expected in message


MINIMAL = """\
rsshub: http://rsshub.local:1200
hosts:
  rsshub.local: {concurrency: 4, headers: {X-Access: k}}
  news.example.cn: {gap: 2}
sources:
  - name: city-news
    url: https://news.example.cn/rss.xml
  - name: weibo-hospital
    url: /weibo/keyword/医院
"""


def test_name_and_url_are_enough_and_what_was_assumed_is_kept(tmp_path: Path) -> None:
    loaded = load_sources(write(tmp_path, MINIMAL), default_region="临沧市")
    news, weibo = loaded.sources
    assert (news.kind, news.media, news.region) == (SourceKind.AUTO, Media.UNKNOWN, "临沧市")
    assert news.assumed == ("kind", "media", "region")
    # a route is an RSSHub one without saying so
    assert weibo.kind is SourceKind.RSSHUB
    assert weibo.url == "http://rsshub.local:1200/weibo/keyword/医院"
    assert loaded.rsshub_host == "rsshub.local"
    assert loaded.hosts["rsshub.local"].concurrency == 4
    assert loaded.hosts["rsshub.local"].headers == {"X-Access": "k"}
    assert loaded.hosts["news.example.cn"].gap == 2
    # without a jurisdiction, a region still reads as something a person understands
    assert load_sources(write(tmp_path, MINIMAL)).sources[0].region == "未指定"


def test_route_without_rsshub_base_says_how_to_set_it(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MONITOR_RSSHUB", raising=False)
    path = write(tmp_path, GOOD.replace("rsshub: http://127.0.0.1:1200\n", ""))
    with pytest.raises(ConfigError, match="set `rsshub:` at the top of the file or MONITOR_RSSHUB"):
        load_sources(path)


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load_sources(tmp_path / "nope.yaml")


def test_the_shipped_sources_file_is_valid() -> None:
    loaded = load_sources(PROJECT_DIR / "sources.yaml")
    assert len(loaded.sources) >= 10
    assert {s.media for s in loaded.sources} >= {Media.CENTRAL, Media.GOVERNMENT, Media.SOCIAL}


def test_settings_precedence_and_private_allow_list(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "monitor.yaml"
    config.write_text("database: sqlite:///from-file.db\nsources: feeds.yaml\n"
                      "fetch:\n  timeout: 20s\n  allow_private: [rsshub.internal]\n",
                      encoding="utf-8")
    monkeypatch.setenv("MONITOR_DB", "sqlite:///from-env.db")
    monkeypatch.setenv("MONITOR_ALLOW_PRIVATE", "10.0.0.0/8, rss.lan")
    settings = load_settings(config)
    assert settings.database_url == "sqlite:///from-file.db"
    assert settings.sources_path == tmp_path / "feeds.yaml"
    assert settings.fetch.timeout == 20
    assert settings.fetch.allow_private == ["rsshub.internal", "10.0.0.0/8", "rss.lan"]
    assert load_settings(None).database_url == "sqlite:///from-env.db"
    assert load_settings(config, database="sqlite:///cli.db").database_url == "sqlite:///cli.db"


def test_settings_typo_is_reported_with_its_line(tmp_path: Path) -> None:
    config = tmp_path / "monitor.yaml"
    config.write_text("fetch:\n  timeout: 20\n  per_hots: 3\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"monitor.yaml:3: unknown key 'per_hots'; did you mean "
                                          r"'per_host'\?"):
        load_settings(config)


@pytest.mark.parametrize(("text", "seconds"), [
    (900, 900), ("90s", 90), ("15m", 900), ("2h", 7200), ("1d", 86400), ("1.5h", 5400)])
def test_durations(text: object, seconds: int) -> None:
    assert parse_duration(text) == seconds


def test_a_trusted_proxy_that_is_no_address_names_its_line(tmp_path: Path) -> None:
    config = tmp_path / "monitor.yaml"
    config.write_text("web:\n  trusted_proxies:\n    - 10.0.0.0/33\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"monitor.yaml:\d+: .*10.0.0.0/33.* not an IP address"):
        load_settings(config)


@pytest.mark.parametrize(("text", "expected"), [
    ("fetch:\n  timeout: 0\n", "monitor.yaml:2: fetch.timeout: Input should be greater than 0"),
    ("fetch:\n  connect_timeout: -5\n", "monitor.yaml:2: fetch.connect_timeout: Input should be"),
    ("fetch:\n  allow_private: [feeds.internal, 10.0.0.0/33]\n",
     "'10.0.0.0/33' is neither a host name nor a valid IP address or CIDR range"),
])
def test_settings_that_would_quietly_break_fetching_are_refused(
        tmp_path: Path, text: str, expected: str) -> None:
    config = tmp_path / "monitor.yaml"
    config.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_settings(config)
    assert expected in str(caught.value).replace(str(tmp_path) + "/", "")
