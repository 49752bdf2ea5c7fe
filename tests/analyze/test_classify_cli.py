"""`monitor classify`: one text, or JSON Lines in and out."""

from __future__ import annotations

import asyncio
import json
import os
import sys

from tests.test_cli import monitor


async def classify_lines(stdin: str) -> tuple[int, list[dict[str, object]], str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "monitor", "classify", "--jsonl", stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=dict(os.environ))
    out, err = await proc.communicate(stdin.encode())
    assert proc.returncode is not None
    return proc.returncode, [json.loads(line) for line in out.decode().splitlines()], err.decode()


async def test_jsonl_shape_and_order() -> None:
    lines = [
        {"id": "a1", "title": "临沧一养老院被指虐待老人", "text": "家属称老人身上多处淤青，院方拒不解释"},
        {"id": 2, "title": "央行宣布降准0.5个百分点", "text": "释放长期资金约1万亿元"},
        {"id": None, "text": "沧源县一煤矿发生透水事故，3人遇难"},
    ]
    code, results, err = await classify_lines("\n".join(json.dumps(x, ensure_ascii=False)
                                                        for x in lines) + "\n")
    assert code == 0, err
    assert [r["id"] for r in results] == ["a1", 2, None]
    first = results[0]
    assert set(first) >= {"id", "health", "health_score", "topics", "negative", "plans"}
    assert first["health"] is True
    assert isinstance(first["health_score"], float)
    assert first["topics"][0]["name"] == "elderly_care"
    assert isinstance(first["negative"], float)
    assert first["negative"] > 0.5
    assert [p["name"] for p in first["plans"]] == ["养老机构"]
    assert results[1]["health"] is False
    assert results[1]["topics"] == []
    assert "临沧安全生产伤亡" in [p["name"] for p in results[2]["plans"]]


async def test_bad_lines_are_reported_and_the_rest_classified() -> None:
    code, results, err = await classify_lines(
        '{"id": 1, "title": "医院排队三小时"}\nnot json\n[1, 2]\n{"id": 4, "text": 5}\n'
        '{"id": 5, "text": "疫苗接种点延长服务时间"}\n')
    assert code == 1
    assert [r["id"] for r in results] == [1, 5]
    assert "stdin line 2:" in err
    assert "stdin line 3: not a JSON object" in err
    assert 'stdin line 4: "title" and "text" must be strings' in err


async def test_one_text_readable_and_json() -> None:
    code, out, err = await monitor("classify", "孩子在县医院输液后出现过敏反应，医院拒绝承担责任")
    assert code == 0, err
    assert out.startswith("健康相关")
    code, out, _ = await monitor("classify", "--json", "今晚国足客场挑战日本队")
    assert json.loads(out)["health"] is False
