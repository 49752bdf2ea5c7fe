"""De-identification of report text: each kind of personal data masked in the sentences it
comes in, and the numbers, places and words that look like it left alone."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.evaluate.masking import _ROLES, mask

# --- numbers -------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "expected"), [
    ("联系电话13812345678，请尽快回电", "联系电话138****5678，请尽快回电"),
    ("家属手机：139-8765-4321。", "家属手机：139-****-4321。"),
    ("微博私信留的号码是 186 0883 1234 ，打不通", "微博私信留的号码是 186 **** 1234 ，打不通"),
    ("境外来电+86 15912345678", "境外来电+86 159****5678"),
    ("+8613812345678", "+86138****5678"),
    ("0086-13912345678", "0086-139****5678"),
    ("（+86）17712345678", "（+86）177****5678"),
    ("两个号码13812345678和19912345678都是他的", "两个号码138****5678和199****5678都是他的"),
    ("手机号码１３８１２３４５６７８", "手机号码１３８****５６７８"),  # typed in full-width mode
])
def test_mobile_numbers_keep_the_first_three_and_last_four_digits(text: str,
                                                                  expected: str) -> None:
    assert mask(text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("医院办公室电话0883-2123456", "医院办公室电话0883-*****56"),
    ("值班室（0883）2123456", "值班室（0883）*****56"),
    ("值班室(0883)2123456", "值班室(0883)*****56"),
    ("座机 0883 2123456 ", "座机 0883 *****56 "),
    ("北京的号码010-62345678", "北京的号码010-******78"),
    ("总机0883-2123456转801", "总机0883-*****56转801"),
])
def test_landline_numbers_keep_the_area_code_and_last_two_digits(text: str,
                                                                 expected: str) -> None:
    assert mask(text) == expected


@pytest.mark.parametrize("text", [
    "有问题请拨打12345政务服务便民热线",
    "卫生健康热线12320全天有人接听",
    "拨打120急救电话后，救护车15分钟到达",
    "群众拨打110报警",
    "客服电话400-123-4567",
    "免费咨询800-820-8820",
    "临沧本地热线0883-12345",
])
def test_public_hotlines_are_kept(text: str) -> None:
    assert mask(text) == text


@pytest.mark.parametrize(("text", "expected"), [
    ("身份证号530102198503151234", "身份证号530*************34"),
    ("身份证：53090219680312001X。", "身份证：530*************1X。"),
    ("证件号码53090219680312001x", "证件号码530*************1x"),
    ("老身份证530102850315123仍在使用", "老身份证530**********23仍在使用"),
])
def test_id_card_numbers_keep_the_first_three_and_last_two(text: str, expected: str) -> None:
    assert mask(text) == expected
    assert len(mask(text)) == len(text)


@pytest.mark.parametrize("text", [
    "编号530102199913451234",  # month 13
    "编号530102198502301234",  # 30 February
    "编号000102198503151234",  # no province 00
    "流水号5301021985031512345678",  # part of a longer run
])
def test_id_like_numbers_that_cannot_be_id_cards_are_kept(text: str) -> None:
    assert mask(text) == text


@pytest.mark.parametrize(("text", "expected"), [
    ("捐款账户：6222021234567890128", "捐款账户：***************0128"),
    ("卡号 6222 0212 3456 7890 128 户名张某", "卡号 **** **** **** ***0 128 户名张某"),
    ("信用卡4111111111111111被盗刷", "信用卡************1111被盗刷"),
])
def test_bank_card_numbers_keep_the_last_four_digits(text: str, expected: str) -> None:
    assert mask(text) == expected


@pytest.mark.parametrize("text", [
    "订单号6222021234567890123已退款",  # fails the Luhn check
    "订单号2024061212345678901已退款",
    "快递单号SF1381234567890",
    "时间戳1718161234567",
    "订单号138123456789012",  # a mobile number's start inside a longer run
])
def test_order_numbers_are_kept(text: str) -> None:
    assert mask(text) == text


@pytest.mark.parametrize(("text", "expected"), [
    ("欢迎来信zhangsan@example.com反映", "欢迎来信z***@example.com反映"),
    ("邮箱：13812345678@163.com", "邮箱：1***@163.com"),
    ("QQ邮箱 123456789@qq.com。", "QQ邮箱 1***@qq.com。"),
    ("Contact li.mei+health@lincang.gov.cn today",
     "Contact l***@lincang.gov.cn today"),
])
def test_email_addresses_keep_the_first_character(text: str, expected: str) -> None:
    assert mask(text) == expected


@pytest.mark.parametrize("text", [
    "原文链接：https://www.example.gov.cn/news/2024/0612/13812345678.html",
    "转自http://weibo.com/u/1234567890123456789?from=13812345678",
    "www.lincang.gov.cn/art/2024/6/12/art_1234_530102198503151234.html",
    "累计花费12000元，报销3800.50元",
    "2024年6月12日13时45分",
    "2024-06-12 13:45:12",
    "全市共接种疫苗386214剂次，3862人次",
    "版本号1.13812345678",
    "138****5678",
])
def test_urls_money_dates_and_counts_are_kept(text: str) -> None:
    assert mask(text) == text


# --- names ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "expected"), [
    ("患者张建国在临沧市人民医院就诊", "患者张某某在临沧市人民医院就诊"),
    ("患者欧阳娜娜昨日出院", "患者欧阳某某昨日出院"),
    ("网友陈小雨称自己被骗", "网友陈某某称自己被骗"),
    ("投诉人：杨洋，要求退费", "投诉人：杨某，要求退费"),
    ("患者姓名：李梓萱", "患者姓名：李某某"),
    ("伤者分别为张建国、李梅和赵强，均已送医", "伤者分别为张某某、李某和赵某，均已送医"),
    ("其女段雨桐称，母亲入院后无人过问", "其女段某某称，母亲入院后无人过问"),
    ("业主何志强投诉小区诊所无证行医", "业主何某某投诉小区诊所无证行医"),
    ("学生黄文静说食堂饭菜变质", "学生黄某某说食堂饭菜变质"),
    ("患者丈夫李强表示，妻子产后一直发烧", "患者丈夫李某表示，妻子产后一直发烧"),
    ("经查，周杰（男，45岁）系该诊所负责人", "经查，周某（男，45岁）系该诊所负责人"),
    ("李梅（45岁）与张建国（男，62岁）", "李某（45岁）与张某某（男，62岁）"),
    ("患儿王梓涵（女，3个月）", "患儿王某某（女，3个月）"),
])
def test_names_of_private_persons_are_masked(text: str, expected: str) -> None:
    assert mask(text) == expected


@pytest.mark.parametrize("text", [
    "患者在临沧市人民医院就诊",
    "患者家属要求赔偿",
    "患者常年服药，血压控制尚可",
    "家属情绪激动，在医院门口拉横幅",
    "网友纷纷留言，要求公开调查结果",
    "老人李大爷今年八十岁",
    "死者王某的家属到场",
    "当事人张某某已被警方控制",
    "病人王女士在留言板投诉",
    "患者家属李先生向记者反映",
    "患儿母亲刘阿姨说",
    "患者于昨日出院",
    "市民向记者反映",
    "患者康复出院",
    "患者张口困难，无法进食",
    "患者白蛋白偏低，予以补充",
    "家属陈述，患者既往体健",
    "患者解大便困难",
    "患者全休两周",
    "患者安静入睡",
    "业主群里有人称，物业主管王建国拒绝处理",
    "学生会主席带队献血",
    "城市民营医院数量增加",
    "医生王芳说，患者病情稳定",
    "临翔区凤翔街道（45岁以上人群）接种点",
    "网友“李小雨”发帖",
    "男子王某某（男，35岁）酒后驾车",
])
def test_places_words_and_masked_names_are_not_damaged(text: str) -> None:
    assert mask(text) == text


def test_public_names_are_never_masked() -> None:
    text = "患者李建华的主治医生表示，市卫健委副主任杨光明、新闻发言人张伟到场，患者张伟华未到。"
    assert mask(text, public_names=["李建华", "杨光明", "张伟"]) == \
        "患者李建华的主治医生表示，市卫健委副主任杨光明、新闻发言人张伟到场，患者张某某未到。"
    assert mask("患者李建华（男，52岁）", public_names={"李建华"}) == "患者李建华（男，52岁）"


def test_a_name_is_masked_wherever_the_text_repeats_it() -> None:
    assert mask("投诉人王德发反映情况。联系人：王德发。") == "投诉人王某某反映情况。联系人：王某某。"


# --- realistic texts -------------------------------------------------------------------------


def test_a_microblog_complaint() -> None:
    post = ("网友@临沧小王：我爸住院一周，护士态度极差！投诉人李建国，电话13987654321，"
            "身份证530902196803120017，求扩散。")
    assert mask(post) == ("网友@临沧小王：我爸住院一周，护士态度极差！投诉人李某某，"
                          "电话139****4321，身份证530*************17，求扩散。")


def test_a_news_report() -> None:
    article = ("【临沧一医院被指延误救治】6月12日，有网友发帖称，患者赵子轩（男，5岁）在某医院输液后"
               "出现过敏反应。患儿母亲刘女士告诉记者，当晚值班医生迟迟未到。市卫健委新闻发言人"
               "杨光明表示，已成立调查组，咨询电话0883-2123456，投诉请拨12345。")
    assert mask(article, public_names=["杨光明"]) == (
        "【临沧一医院被指延误救治】6月12日，有网友发帖称，患者赵某某（男，5岁）在某医院输液后"
        "出现过敏反应。患儿母亲刘女士告诉记者，当晚值班医生迟迟未到。市卫健委新闻发言人"
        "杨光明表示，已成立调查组，咨询电话0883-*****56，投诉请拨12345。")


def test_a_familys_appeal() -> None:
    appeal = ("我是死者杨秀英的女儿杨丽萍，母亲杨秀英（女，67岁）于6月3日在县医院去世。"
              "恳请领导为我们做主！联系人：杨丽萍，手机139-8765-4321，邮箱yangliping@163.com，"
              "工商银行卡6222021234567890128（用于接收善款）。")
    assert mask(appeal) == (
        "我是死者杨某某的女儿杨某某，母亲杨某某（女，67岁）于6月3日在县医院去世。"
        "恳请领导为我们做主！联系人：杨某某，手机139-****-4321，邮箱y***@163.com，"
        "工商银行卡***************0128（用于接收善款）。")


def test_a_case_record() -> None:
    record = "患者姓名：张建国；性别：男；年龄：62岁；联系电话：13812345678；住址：临翔区凤翔街道。"
    assert mask(record) == ("患者姓名：张某某；性别：男；年龄：62岁；联系电话：138****5678；"
                            "住址：临翔区凤翔街道。")


# --- any input -----------------------------------------------------------------------------


@pytest.mark.parametrize("text", [
    "", " ", "\n", "Hello, world! Call me at 555-0100.", "😷🏥💉 加油！", "患者王\ud800伟",
    "\x00患者\x00", "（）()（岁）", "患者", "某某某",
])
def test_odd_input_is_safe(text: str) -> None:
    assert isinstance(mask(text), str)


def test_long_text_is_masked_like_its_paragraphs() -> None:
    paragraph = ("6月12日，网友“临沧小李”发帖称，患者张建国在临沧市人民医院摔倒骨折，"
                 "家属电话13812345678，全市共报告病例120例。\n")
    assert mask(paragraph * 2000) == mask(paragraph) * 2000


def test_the_segmenter_is_loaded_only_for_text_that_may_hold_a_name() -> None:
    probe = ("import sys\n"
             "from monitor.evaluate.masking import mask\n"
             "mask('家属电话13812345678，网友纷纷留言，全市新增病例3例')\n"
             "print('rjieba' in sys.modules)\n"
             "mask('患者张建国')\n"
             "print('rjieba' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True, cwd=Path(__file__).parents[2]).stdout.split()
    assert out == ["False", "True"]


_PIECES = st.sampled_from([
    "患者", "家属", "网友", "其女", "女儿", "伤者", "老人", "、", "和", "（男，45岁）", "(62岁)",
    "张", "王", "李", "欧阳", "建国", "伟", "某", "梅", "子涵", "大爷", "说", "在", "的", "医院",
    "，", "。", " ", "：", "-", "+86", "0883", "138", "1234", "5678", "0", "1", "9", "X", "@",
    "qq.com", "a", "z.", ".", "*", "６", "https://", "www.", "/", "6222", "19850315", "530102",
])


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(), st.lists(_PIECES, max_size=30).map("".join)))
def test_masking_never_raises_and_is_idempotent(text: str) -> None:
    once = mask(text)
    assert mask(once) == once


_PLAIN = st.text(st.one_of(
    st.characters(exclude_categories=("Nd", "Cs"), exclude_characters="@"),
    st.sampled_from("张王李刘陈杨黄赵欧阳建国伟梅某的在说医院人民市县村区者属友子女父母亲民生工"),
))


@settings(max_examples=300, deadline=None)
@given(_PLAIN)
def test_text_without_digits_at_signs_or_role_words_is_unchanged(text: str) -> None:
    if any(role in text for role in _ROLES):  # the words after which a name is masked
        return
    assert mask(text) == text
