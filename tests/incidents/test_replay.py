"""Incidents from replayed scenarios: opening, reposts, lifecycle, re-flares, determinism."""

from __future__ import annotations

from monitor.incidents.settings import load_incident_settings
from tests.incidents.conftest import DISPUTE, Replay, action, item, items_of, opened


def dispute(start: float = 0, step: float = 6, prefix: str = "d") -> list[dict[str, object]]:
    return [item(start + i * step, source, f"https://{prefix}.example/{i}", title, text)
            for i, (source, title, text) in enumerate(DISPUTE)]


BACKGROUND = [
    ("news", "今年一季度全市规模以上工业增加值增长7.2%", "经济运行稳中向好，持续健康发展"),
    ("sports", "市全民健身运动会开幕 三千名运动员参赛", "比赛场馆就在市人民医院对面"),
    ("tech", "警惕新型电脑病毒 多家企业内网遭攻击", "安全专家提醒及时更新系统补丁"),
    ("news", "临沧至清水河高速公路完成年度投资目标", "项目建设进展顺利"),
    ("weibo-x", "今天的晚霞太美了 随手一拍就是壁纸", "下班路上看到的"),
]


async def test_fifth_related_item_opens_an_incident_and_copies_join_it(
        run_replay: Replay) -> None:
    copies = [item(40, "weibo-d", "https://c.example/1",
                   "【转】凤庆县人民医院产妇死亡，家属质疑医院延误救治｜红星新闻",
                   "家属称产妇在凤庆县人民医院生产后大出血，医院延误抢救近两个小时")]
    background = [item(3 + i, s, f"https://b.example/{i}", t, x)
                  for i, (s, t, x) in enumerate(BACKGROUND)]
    records = sorted(dispute() + copies + background, key=lambda r: str(r["at"]))
    events = await run_replay(records)
    assert len(opened(events)) == 1
    incident = opened(events)[0]
    assert incident["at"] == str(records[0]["at"]).replace("08:00:00", "08:24:00")
    assert incident["region"] == "凤庆县"
    assert "medical_dispute" in incident["topics"]
    urls = items_of(events, incident["incident"])
    assert set(urls) == {f"https://d.example/{i}" for i in range(6)} | {"https://c.example/1"}
    copy = next(e for e in events if e.get("url") == "https://c.example/1")
    original = next(e for e in events if e.get("url") == "https://d.example/0")
    assert copy["repost"] is True
    assert copy["story"] == original["item"]
    levels = [e for e in events if e["type"] == "level_proposed"]
    assert levels
    assert levels[0]["level"] == "IV"
    assert "items from" in levels[0]["reasons"]


async def test_neutral_news_told_many_times_opens_nothing(run_replay: Replay) -> None:
    good = [("lincang-daily", "临沧启动农村妇女两癌免费筛查 今年覆盖5万人"),
            ("yunnan-net", "临沧市为农村妇女免费开展宫颈癌乳腺癌筛查"),
            ("toutiao", "好消息！临沧农村妇女可免费做两癌筛查"),
            ("weibo-a", "临沧两癌免费筛查启动，符合条件的农村妇女可到乡镇卫生院预约"),
            ("thepaper", "临沧市启动农村适龄妇女两癌免费筛查项目"),
            ("weibo-b", "转发：临沧农村妇女两癌免费筛查开始预约啦")]
    events = await run_replay([item(i * 5, s, f"https://g.example/{i}", t, t)
                               for i, (s, t) in enumerate(good)])
    assert opened(events) == []


async def test_one_watched_notice_reposted_does_not_make_neutral_news_an_incident(
        run_replay: Replay) -> None:
    # a plan matches the notice (药品 + 不良反应) and its two copies: three of eight items, but
    # one of six stories, so the run of drug approvals around it is not watched enough
    approval = "国家药监局近日批准一款国产创新药上市，{}"
    notice = ("国家药监局批准国产创新药上市并提示药品不良反应",
              "国家药监局近日批准一款国产创新药上市，提醒患者关注药品不良反应，按说明书用药。")
    news = [("lincang-daily", "国家药监局批准一款国产创新药上市", approval.format("用于治疗肺癌。")),
            ("yunnan-net", "国家药监局批准国产降脂创新药上市", approval.format("用于降血脂。")),
            ("thepaper", "国家药监局批准国产九价HPV疫苗上市", approval.format("还有一款疫苗。")),
            ("weibo-a", *notice),
            ("weibo-b", "转发：" + notice[0], notice[1]),
            ("toutiao", notice[0] + "｜头条", notice[1]),
            ("zhihu", "国家药监局又批准一款国产创新药上市", approval.format("治疗阿尔茨海默病。")),
            ("douyin", "国家药监局批准国产罕见病创新药上市", approval.format("治疗罕见病。"))]
    events = await run_replay([item(i * 20, s, f"https://n.example/{i}", t, b)
                               for i, (s, t, b) in enumerate(news)])
    assert opened(events) == []


async def test_lifecycle_and_reflare(run_replay: Replay) -> None:
    first = "https://d.example/0"
    records = [
        *dispute(),
        action(60, "ack", first),
        action(70, "confirm", first, level="II"),
        action(120, "milestone", first, kind="authoritative_release",
               url="https://wjw.example/1"),
        action(300, "close", first),
        *dispute(start=600, prefix="r"),
    ]
    events = await run_replay(records)
    kinds = [(e["type"], e["incident"]) for e in events
             if e["type"] in ("opened", "acknowledged", "confirmed", "milestone_recorded", "closed")]
    assert kinds == [("opened", 1), ("acknowledged", 1), ("confirmed", 1), ("milestone_recorded", 1),
                     ("closed", 1), ("opened", 2)]
    confirmed = next(e for e in events if e["type"] == "confirmed")
    assert confirmed["level"] == "II"
    assert confirmed["actor"] == "值班员甲"
    milestone = next(e for e in events if e["type"] == "milestone_recorded")
    assert milestone["status"] == "responding"
    assert opened(events)[1]["reflare_of"] == 1


async def test_dismissed_incident_returns_only_past_the_margin(run_replay: Replay) -> None:
    first = "https://d.example/0"
    more = [item(120 + i, f"src-{i}", f"https://m.example/{i}", f"凤庆县人民医院产妇死亡 第{i}条追问",
                 "凤庆县人民医院产妇死亡，家属质疑医院延误救治，网友要求彻查") for i in range(40)]
    events = await run_replay([*dispute(), action(50, "dismiss", first), *more])
    dismissed = next(e for e in events if e["type"] == "dismissed")
    back = [e for e in events if e["type"] == "resurfaced"]
    assert len(back) == 1
    assert back[0]["heat"] >= dismissed["comes_back_at_heat"]
    added_before = [e for e in events if e["type"] == "item_added"
                    and e["at"] < back[0]["at"]]
    assert len(added_before) > 6  # it kept collecting items while dismissed


async def test_same_file_twice_gives_the_same_timeline(run_replay: Replay) -> None:
    records = [*dispute(), action(60, "ack", "https://d.example/0")]
    assert await run_replay(records) == await run_replay(records)


async def test_bad_lines_are_reported_and_the_rest_replayed(run_replay: Replay) -> None:
    records: list[object] = [
        *dispute()[:3], "not json", {"type": "item", "at": "soon"},
        {"type": "action", "at": "2026-03-02T09:00:00+08:00", "action": "approve",
         "item_url": "x"},
        *dispute()[3:],
        action(90, "ack", "https://nowhere.example/1"),
    ]
    events = await run_replay(records)  # type: ignore[arg-type]
    assert len(opened(events)) == 1
    errors = events[-1]["errors"]
    assert errors[0].startswith("line 4: not JSON")
    assert "line 5: 'at' is not an ISO 8601 time" in errors[1]
    assert "line 6: unknown action 'approve'" in errors[2]
    assert "line 10: no stored item has the URL https://nowhere.example/1" in errors[3]


# An official notice of new cases, calm in tone, reposted fast by many accounts.
NOTICE = ("临沧市卫生健康委员会关于新增本土确诊病例的通报",
          ("2026年3月2日0时至12时，临沧市新增本土确诊病例12例，均为集中隔离人员，已转运至"
           "定点医院隔离治疗，相关风险区域已落实管控措施。"))


async def test_a_calm_high_risk_story_spreading_fast_opens_and_says_why(
        run_replay: Replay) -> None:
    reposts = [item(i * 4, f"weibo-{i}", f"https://n.example/{i}",
                    ("转发：" if i else "") + NOTICE[0], NOTICE[1]) for i in range(8)]
    events = await run_replay(reposts)
    [incident] = opened(events)
    assert "涉及疫情与传染病" in incident["why"]
    assert "小时内" in incident["why"]
    assert incident["first_source"] == "weibo-0"


async def test_a_calm_story_spreading_slowly_opens_nothing(run_replay: Replay) -> None:
    reposts = [item(i * 40, f"weibo-{i}", f"https://n.example/{i}",
                    ("转发：" if i else "") + NOTICE[0], NOTICE[1]) for i in range(8)]
    assert opened(await run_replay(reposts)) == []


async def test_an_earlier_post_that_only_shares_the_town_is_not_the_first_item(
        run_replay: Replay) -> None:
    stray = item(0, "weibo-z", "https://z.example/0", "凤庆县人民医院产科新大楼今天启用",
                 "凤庆县人民医院产科新大楼今天正式启用，新增床位80张")
    records = [stray, *dispute(start=150)]
    settings = load_incident_settings()
    loose = settings.model_copy(update={"cluster": settings.cluster.model_copy(
        update={"core_gap": 24 * 3600})})
    # without the check, the parking notice is the incident's first item
    [before] = opened(await run_replay(records, settings=loose))
    assert before["first_source"] == "weibo-z"
    [incident] = opened(await run_replay(records))
    assert incident["first_source"] == "weibo-a"
    assert "https://z.example/0" not in items_of(await run_replay(records), incident["incident"])


async def test_a_quiet_incident_asks_more_of_a_late_ordinary_item(run_replay: Replay) -> None:
    late = item(8 * 60, "weibo-y", "https://y.example/0", "凤庆县人民医院产科今起开设孕妇学校",
                "凤庆县人民医院产科今起每周六开设孕妇学校，产妇和家属可免费参加")
    records = [*dispute(), late]
    settings = load_incident_settings()
    lenient = settings.model_copy(update={"cluster": settings.cluster.model_copy(
        update={"idle_penalty": 0.0})})
    # without the penalty the hospital's routine notice joins the death of eight hours before
    [before] = opened(events := await run_replay(records, settings=lenient))
    assert "https://y.example/0" in items_of(events, before["incident"])
    [incident] = opened(events := await run_replay(records))
    assert "https://y.example/0" not in items_of(events, incident["incident"])


# An accident in a county outside the jurisdiction, told by residents and by newsrooms in words
# the two voices hardly share: the county's name is what they have in common.
RESIDENTS = [
    "邹平这边刚才一声闷响，西边冒起好大一股黑烟，救护车一辆接一辆往那边开，听说有人受伤了",
    "邹平人民医院急诊门口全是人，好多伤员被抬进去，身上都是黑的，太吓人了",
    "我表哥在那个厂上班，电话一直打不通，医院说伤员名单还没出来，急死了😭",
    "求扩散！邹平的医院急需A型血和O型血，能去的朋友去献个血吧",
]
NEWSROOMS = [
    ("快讯｜山东邹平一化工企业发生爆燃 救援正在进行", "记者从邹平市获悉，当地一化工企业发生爆燃，伤亡情况正在核实。"),
    ("邹平市通报化工企业爆燃事故：已致2人死亡", "邹平市应急管理局通报，事故已造成2人死亡、6人受伤，伤者已送医救治。"),
    ("山东邹平化工企业爆燃事故伤者正在救治", "邹平市人民政府新闻办公室消息，6名伤者正在邹平市人民医院救治。"),
]


# every item but the one that names no place
NAMED = {"https://r.example/0", "https://r.example/1", "https://r.example/3",
         "https://w.example/0", "https://w.example/1", "https://w.example/2"}


def two_voices() -> list[dict[str, object]]:
    told = [item(i * 6, f"weibo-{i}", f"https://r.example/{i}", text, text)
            for i, text in enumerate(RESIDENTS)]
    told += [item(3 + i * 6, f"news-{i}", f"https://w.example/{i}", title, text)
             for i, (title, text) in enumerate(NEWSROOMS)]
    return sorted(told, key=lambda r: str(r["at"]))


async def test_threads_of_one_event_open_together(run_replay: Replay) -> None:
    settings = load_incident_settings()
    # a strict similarity splits the two voices into threads of fewer than five items
    strict = settings.cluster.model_copy(update={"similarity": 0.5, "merge_similarity": 0.9})
    apart = settings.model_copy(update={"cluster": strict.model_copy(
        update={"same_area_similarity": 1.0})})
    assert opened(await run_replay(two_voices(), settings=apart)) == []
    together = settings.model_copy(update={"cluster": strict})
    [incident] = opened(events := await run_replay(two_voices(), settings=together))
    # both voices: the residents' first posts and every newsroom's report
    assert NAMED - {"https://r.example/3"} <= set(items_of(events, incident["incident"]))
    assert incident["first_source"] == "weibo-0"
