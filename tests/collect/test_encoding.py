from __future__ import annotations

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from monitor.collect.encoding import as_utf8_xml, codec_name, decode_bytes

CHINESE = st.text(alphabet=st.characters(min_codepoint=0x4E00, max_codepoint=0x9FA5),
                  min_size=1, max_size=200)


@pytest.mark.parametrize(("label", "codec"), [
    ("gb2312", "gb18030"), ("GBK", "gb18030"), ("x-gbk", "gb18030"), ("GB18030", "gb18030"),
    ("utf8", "utf-8"), ("big5", "big5hkscs"), ("no-such-codec", None)])
def test_codec_names(label: str, codec: str | None) -> None:
    assert codec_name(label) == codec


@given(CHINESE)
def test_gbk_text_labelled_gb2312_round_trips(text: str) -> None:
    body = f'<?xml version="1.0" encoding="gb2312"?><t>{text}</t>'.encode("gbk")
    decoded = decode_bytes(body)
    assert text in decoded.text


@given(CHINESE)
def test_gbk_text_with_http_charset_round_trips(text: str) -> None:
    body = f"<t>{text}</t>".encode("gbk")
    # Bytes that also read as Chinese in UTF-8 are ambiguous (GBK "閫丂" is UTF-8 "送@"); valid
    # UTF-8 wins those by design, since mislabelled UTF-8 feeds are the common case.
    try:
        assume(not _cjk(body.decode("utf-8")))
    except UnicodeDecodeError:
        pass
    assert text in decode_bytes(body, "text/xml; charset=gb2312").text


def _cjk(text: str) -> bool:
    # what the decoder counts as Chinese, compatibility ideographs (GBK "铯丼" is UTF-8 "更S")
    # and full-width forms included
    return any(0x3000 <= ord(ch) <= 0x9FFF or 0xF900 <= ord(ch) <= 0xFFEF
               or 0x20000 <= ord(ch) <= 0x3FFFF for ch in text)


MIXED = st.text(alphabet=st.characters(min_codepoint=0x4E00, max_codepoint=0x9FA5)
                | st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=300)


@given(MIXED)
def test_valid_utf8_chinese_wins_over_any_label(text: str) -> None:
    body = f'<?xml version="1.0" encoding="gbk"?><t>{text}</t>'.encode()
    decoded = decode_bytes(body, "text/xml; charset=big5")
    assert decoded.encoding == "utf-8"
    assert text in decoded.text


def test_undeclared_gbk_is_detected() -> None:
    text = "临沧市卫生健康委员会关于做好春季传染病防控工作的通知，请各县区卫生健康局认真落实。" * 3
    decoded = decode_bytes(text.encode("gbk"))
    assert decoded.text == text


def test_prolog_is_rewritten_to_utf8() -> None:
    assert as_utf8_xml("<?xml version='1.0' encoding='GBK'?><a/>") == \
        b"<?xml version='1.0' encoding=\"utf-8\"?><a/>"
