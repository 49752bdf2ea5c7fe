"""De-identification (去标识化) of personal data in Chinese text bound for reports.

Incident, daily and weekly reports leave the monitoring service: they are mailed, printed and
filed. The posts and articles they quote often carry a patient's name, a family's phone number
or an ID-card number, which a report does not need and must not spread further (个人信息保护法).
``mask`` hides them before the text goes into a report.

Numbers and e-mail addresses are found by their shape, then checked where a check exists: the
birth date inside an ID-card number, the Luhn digit of a bank card. Names have no shape, so a
name is masked only in a private context, after a word for a private person (患者, 家属, 网友...)
or before an age parenthesis, and only when the segmenter reads it as a name too: a hospital,
a place or an ordinary word turned into 某 harms a report more than one missed name. A name
found so is masked wherever else the text repeats it.

The segmenter is rjieba (jieba's dictionary and tagger, already used for analysis), created the
first time a text holds a candidate name, so text without one is masked by regular expressions
alone.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterator
from datetime import date
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import rjieba


def _words(spaced: str) -> frozenset[str]:
    return frozenset(spaced.split())


# Chinese text often carries full-width digits (typed in the IME's full-width mode).
_D = "[0-9０-９]"
_SEP = "[ \u3000\\-－‐–—]"  # what people put between groups of digits
# A number is not personal data when it is part of a longer run of digits or letters (an
# order number, a tracking code, a decimal), so it must stand alone.
_BEGIN = rf"(?<![0-9０-９A-Za-z])(?<!{_D}[.．])"
_FINISH = rf"(?![0-9０-９A-Za-z])(?![.．]{_D})"

# Source links must keep working; their digits are article and user ids, not phone numbers.
_URL = re.compile(r"(?<![A-Za-z0-9+.\-])(?:[A-Za-z][A-Za-z0-9+.\-]*://|www\.)"
                  r"[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]+", re.IGNORECASE)
_EMAIL = re.compile(r"(?<![A-Za-z0-9._%+\-])(?P<local>[A-Za-z0-9._%+\-]+)"
                    r"@(?:[A-Za-z0-9\-]+\.)+[A-Za-z]{2,}(?![A-Za-z0-9\-])")
_ID_CARD = re.compile(_BEGIN + rf"(?:{_D}{{17}}[0-9０-９XxＸｘ]|{_D}{{15}})" + _FINISH)
_BANK_CARD = re.compile(
    _BEGIN + rf"(?:{_D}{{16,19}}|{_D}{{4}}(?:{_SEP}{_D}{{4}}){{3}}(?:{_SEP}?{_D}{{1,3}})?)"
    + _FINISH)
_MOBILE = re.compile(
    _BEGIN + rf"(?P<prefix>(?:[(（]?(?:[+＋]|00|００)?[8８][6６][)）]?{_SEP}?)?)"
    rf"(?P<number>[1１][3-9３-９]{_D}{_SEP}?{_D}{{4}}{_SEP}?{_D}{{4}})" + _FINISH)
# Local numbers never start with 0 or 1, which keeps 12345-style hotlines and dates out; 400
# and 800 numbers have no area code.
_LANDLINE = re.compile(
    _BEGIN + rf"(?P<area>[(（][0０]{_D}{{2,3}}[)）]{_SEP}?|[0０]{_D}{{2,3}}{_SEP})"
    rf"(?P<local>[2-9２-９]{_D}{{6,7}})" + _FINISH)

# Province-level codes that open an ID-card number (81-83: Hong Kong, Macao and Taiwan
# residents' permits; 9x: foreigners' permanent residence cards).
_ID_REGIONS = _words(
    "11 12 13 14 15 21 22 23 31 32 33 34 35 36 37 41 42 43 44 45 46 50 51 52 53 54 "
    "61 62 63 64 65 71 81 82 83 91 92 93 94 95 96 97 98 99")
# Card numbers seen in China: 62 UnionPay, 4 Visa, 5 Mastercard, 3 JCB and Amex, 9 older
# domestic debit cards. Order numbers, which often start with 1 or 2, stay readable.
_CARD_FIRST_DIGITS = frozenset("34569")


def _digits(s: str) -> str:
    """The ASCII digits (and X) of a number as written, without separators."""
    return "".join(str(int(c)) if c.isdigit() else c.upper() for c in s
                   if c.isdigit() or c in "XxＸｘ").replace("Ｘ", "X")


def _hide_digits(s: str, keep: Callable[[int, int], bool]) -> str:
    """``s`` with every digit (or X) at position i of n not kept replaced by *; separators
    and brackets stay, so the number keeps its look."""
    n = sum(c.isdigit() or c in "XxＸｘ" for c in s)
    out, i = [], 0
    for c in s:
        if c.isdigit() or c in "XxＸｘ":
            out.append(c if keep(i, n) else "*")
            i += 1
        else:
            out.append(c)
    return "".join(out)


def _is_date(year: int, month: int, day: int) -> bool:
    try:
        date(year, month, day)
    except ValueError:
        return False
    return True


def _id_card(m: re.Match[str]) -> str | None:
    digits = _digits(m.group())
    if digits[:2] not in _ID_REGIONS:
        return None
    if len(digits) == 18:
        year, month, day = int(digits[6:10]), int(digits[10:12]), int(digits[12:14])
        if not 1900 <= year <= 2099:
            return None
    else:  # the old 15-digit number: a two-digit year of the 1900s, no check character
        year, month, day = 1900 + int(digits[6:8]), int(digits[8:10]), int(digits[10:12])
    if not _is_date(year, month, day):
        return None
    return _hide_digits(m.group(), lambda i, n: i < 3 or i >= n - 2)


def _luhn(digits: str) -> bool:
    total = 0
    for i, c in enumerate(reversed(digits)):
        d = int(c) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def _bank_card(m: re.Match[str]) -> str | None:
    digits = _digits(m.group())
    if digits[0] not in _CARD_FIRST_DIGITS or not _luhn(digits):
        return None
    return _hide_digits(m.group(), lambda i, n: i >= n - 4)


def _mobile(m: re.Match[str]) -> str:
    return m.group("prefix") + _hide_digits(m.group("number"), lambda i, n: not 3 <= i < 7)


def _landline(m: re.Match[str]) -> str:
    return m.group("area") + _hide_digits(m.group("local"), lambda i, n: i >= n - 2)


def _email(m: re.Match[str]) -> str | None:
    local = m.group("local")
    if len(local) < 2:  # nothing to hide, and masking it again must change nothing
        return None
    return local[0] + "***" + m.group()[len(local):]


def _keep(m: re.Match[str]) -> str:
    return m.group()


# Earlier kinds win where matches overlap: a URL is kept whole, an e-mail address owns the
# digits of its QQ number, a valid ID-card number is not also a bank card.
_NUMBERS: tuple[tuple[re.Pattern[str], Callable[[re.Match[str]], str | None]], ...] = (
    (_URL, _keep), (_EMAIL, _email), (_ID_CARD, _id_card), (_BANK_CARD, _bank_card),
    (_MOBILE, _mobile), (_LANDLINE, _landline))


def _mask_numbers_once(text: str) -> str:
    taken = bytearray(len(text))
    edits: list[tuple[int, int, str]] = []
    for pattern, replace in _NUMBERS:
        for m in pattern.finditer(text):
            start, end = m.span()
            if any(taken[start:end]):
                continue
            new = replace(m)
            if new is None:
                continue
            taken[start:end] = b"\1" * (end - start)
            if new != m.group():
                edits.append((start, end, new))
    return _apply(text, edits)


def _apply(text: str, edits: list[tuple[int, int, str]]) -> str:
    if not edits:
        return text
    parts, last = [], 0
    for start, end, new in sorted(edits):
        parts += [text[last:start], new]
        last = end
    parts.append(text[last:])
    return "".join(parts)


# --- names ---------------------------------------------------------------------------------

# Words for a private person after which a name is that person's. Officials, doctors and
# journalists are left out: their names are public in what they say or sign.
_ROLES = _words(
    "患者 病人 病患 患儿 病友 家属 死者 逝者 亡者 遇难者 产妇 孕妇 孕产妇 伤者 伤员 当事人 "
    "投诉人 举报人 反映人 信访人 来访人 求助人 爆料人 网友 博主 村民 居民 市民 群众 老人 老太 "
    "老汉 丈夫 妻子 爱人 父亲 母亲 儿子 女儿 其子 其女 其妻 其夫 其父 其母 爷爷 奶奶 外公 外婆 "
    "姥姥 姥爷 孙子 孙女 哥哥 姐姐 弟弟 妹妹 学生 考生 幼儿 儿童 男孩 女孩 男童 女童 工人 员工 "
    "职工 业主 租户 女子 男子 嫌疑人 受害人 被害人 受害者 乘客 司机 游客 顾客 消费者 农民工")
# What may stand between the role and the name: 患者：张某, 患者为张某, 患者姓名：张某.
_LINK = "(?:分别为|分别是|名叫|叫做|名为|姓名|代表|为|是|系|叫|即)"
_GAP = "[ \u3000:：]*"
_ROLE = re.compile("(?P<role>" + "|".join(sorted(_ROLES, key=lambda r: (-len(r), r))) + ")"
                   + _GAP + f"(?:{_LINK}{_GAP})?")
# An age makes a person of what precedes it: 张某某（男，62岁）, 李某（45岁）.
_AGE = re.compile(rf"[（(][^（）()\n]{{0,20}}?{_D}{{1,3}}\s*(?:周岁|岁|个月)[^（）()\n]{{0,20}}?[）)]")
_LIST = "、和与及"  # 伤者张某、李某和王某

_COMPOUND_SURNAMES = _words(
    "欧阳 上官 司马 东方 独孤 南宫 夏侯 诸葛 尉迟 皇甫 公孙 慕容 长孙 宇文 司徒 司空 令狐 轩辕 "
    "西门 端木 澹台 呼延 百里 申屠 钟离 拓跋 万俟 鲜于 闻人 赫连")
_SURNAMES = frozenset(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖萧田董袁潘于蒋蔡余杜叶程苏"
    "魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付傅方白邹孟熊秦邱江尹薛闫阎段雷侯龙史陶黎贺顾毛郝龚"
    "邵万钱严覃武戴莫孔向汤常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞左柳甘"
    "祝包宁尚符舒阮柯纪梅童凌毕单季裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲房滕屈饶解牟艾"
    "尤阳时穆农司卓古吉缪简车项连芦麦褚娄窦戚岑景党宫费卜冷晏席卫米柏宗瞿桂全佟应臧闵苟邬边卞姬师"
    "和仇栾隋商刁沙荣巫寇桑郎甄丛仲虞敖巩佘池苑迟邝匡鞠惠荆冀郁胥储栗燕楚鄢谌奚皮粟冼蔺楼阚屠朴盖"
    "廉禹祖洪赖")
# After a surname these make a form of address (王女士, 李大爷, 张工), not a name.
_TITLES = sorted(_words(
    "先生 女士 小姐 阿姨 大爷 大妈 大娘 大婶 大叔 大姐 大哥 大伯 老伯 伯伯 叔叔 婶婶 阿婆 阿公 "
    "婆婆 奶奶 爷爷 老太 老汉 师傅 老师 医生 大夫 护士 主任 院长 局长 科长 处长 书记 经理 同学 "
    "同志 警官 律师 记者 老板 总"), key=lambda t: (-len(t), t))
_SINGLE_TITLES = frozenset("姐哥叔婶伯嫂妈爸姨婆老工家姓氏")

_NAME_TAGS = _words("nr nrfg nrt")
# A surname standing alone as a word is no surname when the tagger reads it as one of these
# (于 and 向 as prepositions, 常 as an adverb, 解 as a verb: 患者解大便).
_NOT_SURNAME_TAGS = _words("p c d u uj ul uz ud ug uv v vd vn m mq t f y e o x")
_GIVEN_TAGS = _words("nr nrfg nrt n ng nz a an i j")
# What a lone character the tagger cut off a two-character name may be to belong to it.
_GIVEN_CHAR_TAGS = _words("n ng nr nrt nrfg a ag v vg g")
# Single characters that usually follow a name rather than end it (张伟说, 李娜在): a name is
# not stretched over them, and they are cut off a word too long for a name (张伟华未). The
# trailers among them are cut off even a word of a name's length (张平的, 黄蓉笑).
_TRAILERS = frozenset("的说在了与及被把是也都就又还却便并到从对让给笑忙见听叹问称等")
_FOLLOWERS = _TRAILERS | frozenset(
    "于和因向已曾将为再去来回哭答讲道喊叫要想会能没不未无有死病今昨前后所则即均先一二两三现自很之"
    "其他她看找打拿带送住坐走跑摔患得经仍只共更最这那每当由以而但或若如虽且替帮跟同往按据比离诉告"
    "写发拨表指认质怀")
# Characters given names are commonly made of, for names the dictionary also holds as words.
_GIVEN_CHARS = frozenset(
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超霞平刚桂兰玉华建国志海燕红梅林文辉斌鹏飞峰波宇浩凯俊佳欣怡"
    "婷雪琳晶颖慧莉萍玲凤琴云春荣金成龙东亮宁新鑫阳晨思雨涵轩梓萱子一诺然博睿泽昊瑞嘉琪悦妍彤可馨"
    "蕾璐瑶琦琼倩薇露岚莹洁清淑贞珍珠翠花香菊芬芝蓉莲荷桃秋冬晓小大德福禄寿喜财贵富安康健泰乐祥和"
    "顺利宝家庆永长生发有义仁礼智信忠孝光耀星月日天世中正立开先学兴旺达通道才能力胜卫兵武民江河山"
    "川岩石松柏树森木根全会茂盛宏鸿伦毅诚恒坤乾振豪航帆远扬旭晖昕炜烨煜炎焱灿伊依娅婉婧婕娴媛姗珊"
    "瑛璇瑾瑜琛琨璟凌铭锋钢铁锐钰铮骏驰腾跃麟鹤鸣雁蝶丹彩青紫碧素冰霜霖雷虹彬杉桐楠柳枫栋材哲理书"
    "诗歌舒雅涌润泉源沛浪潇湘漪溪渊淳沐汐鹭莺鹃旋勤俭朝昱晟景昌晋昭显章彦乔桥培基城垚坚圣贤良善美"
    "玫瑰韵音声颜容娇媚姿婵娥姣嫣娉姝妤嫚妮娣蕙芸芮芷若茜茹荔莎菁萌蔚蓓蕊菡萤葳绿霓裳雯霏霄震霆霈"
    "靖竣竹笛策筠箐纯绮绣维缘羽翔翰翼聪舟艺芃芊芙苑苗英范菲葆蓬蔓蕴虎豹鹿麒骐骥驹骁秀儿敬爱惠慈锦"
    "绍启继承巧枝银叶亚卿君钧均群奇其祺二三四五六七八九十")
# Characters of places, institutions and medicines, which no given name is made of:
# 蒋村, 马台乡, 黄连素.
_NOT_GIVEN_CHARS = frozenset(
    "村乡镇寨街县区市省州湾坝沟坡岭屯院所站局厅科室部店厂场馆港性醇酸碱胺唑霉剂片丸汤散膏液症病炎"
    "瘤癌痛疮疹菌针药们")
_HARD = re.compile(r"[，。！？；,!?;\n\r\t、（）()【】\[\]《》“”\"‘’'「」『』…|/]")
_RARE = 20  # the most a dictionary name may count to be read as a private person's
_RARE_SHORT = 200  # the same for a two-character name (李强 counts 159)
_WINDOW = 24  # characters of context given to the tagger on either side

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]+")
_SURROGATE = re.compile("[\ud800-\udfff]")

Tokens = dict[int, tuple[int, str]]  # token start -> (end, tag)


@cache
def _segmenter() -> rjieba.Jieba:
    import rjieba  # importing it loads a dictionary, which text without names never needs

    return rjieba.Jieba()


def _is_name(word: str, given: str, tag: str) -> bool:
    """Whether a word the tagger read may be taken for a private person's name."""
    segmenter = _segmenter()
    if not segmenter.has_word(word):
        # Put together by the HMM from characters that make no dictionary word, as most
        # names are; one it calls a noun only when it looks like surname and given name.
        return tag in _NAME_TAGS or (
            tag == "n" and len(given) == 2 and given[-1] not in _FOLLOWERS)
    # jieba's dictionary tags thousands of ordinary words nr: 康复, 张口, 全休, 白蛋白, 甘露醇,
    # 陈旧性. A private person's name in it is a rare entry (王建国 counts 12, 康复 1018;
    # suggest_freq gives a word's count) made of the characters given names are made of, and
    # a two-character one is trusted only when tagged nrfg.
    if tag not in _NAME_TAGS or not all(c in _GIVEN_CHARS for c in given):
        return False
    if len(given) == 1:
        return tag == "nrfg" and segmenter.suggest_freq(word) <= _RARE_SHORT
    return segmenter.suggest_freq(word) <= _RARE


class _Names:
    """One pass over a text: where its names are, by the tagger read over each clause."""

    def __init__(self, text: str, public: frozenset[str]) -> None:
        self.text = text
        self.public = public
        self._tokens: dict[tuple[int, int], Tokens] = {}

    def tokens(self, lo: int, hi: int) -> Tokens:
        if (lo, hi) not in self._tokens:
            out: Tokens = {}
            pos = lo
            window = self.text[lo:hi]
            # The tagger takes UTF-8, which a lone surrogate cannot be written in.
            for word, tag in [] if _SURROGATE.search(window) else _segmenter().tag(window, True):
                out[pos] = (pos + len(word), tag)
                pos += len(word)
            self._tokens[lo, hi] = out if pos == hi else {}
        return self._tokens[lo, hi]

    def clause(self, start: int, end: int) -> tuple[int, int]:
        """The clause around [start, end), at most _WINDOW characters wider on each side."""
        lo = max(0, start - _WINDOW)
        hard = [m.end() for m in _HARD.finditer(self.text, lo, start)]
        lo = hard[-1] if hard else lo
        hi = min(len(self.text), end + _WINDOW)
        after = _HARD.search(self.text, end, hi)
        return lo, after.start() if after else hi

    def surname(self, s: int) -> str | None:
        two = self.text[s:s + 2]
        if two in _COMPOUND_SURNAMES:
            return two
        return self.text[s] if s < len(self.text) and self.text[s] in _SURNAMES else None

    def read(self, s: int, toks: Tokens) -> tuple[int, int, bool] | None:
        """The name at s as (start of its given name, end, whether to mask it), or None.
        Already masked names and forms of address (张某, 王女士) are read but not masked."""
        surname = self.surname(s)
        if surname is None or s not in toks:
            return None
        g = s + len(surname)
        text = self.text
        if text.startswith("某", g):
            return g, g + (2 if text.startswith("某某", g) else 1), False
        for title in _TITLES:
            if text.startswith(title, g):
                return g, g + len(title), False
        end = self.name_end(s, g, toks)
        if (end is None or not _HAN.fullmatch(text[g:end]) or text[s:end] in self.public
                or text[g:end] in _TRAILERS or any(c in _NOT_GIVEN_CHARS for c in text[g:end])):
            return None
        return g, end, text[g:end] not in _SINGLE_TITLES

    def name_end(self, s: int, g: int, toks: Tokens) -> int | None:
        """Where the name whose given name starts at g ends, by the tagger's words."""
        end, tag = toks[s]
        if g < end:  # 张建国 as one word
            end = self.unglue(s, end, g + 2 - s)
            if not (g < end <= g + 2 and _is_name(self.text[s:end], self.text[g:end], tag)):
                return None
            return self.third(end, toks) if end == g + 1 else end
        if end == g and (g - s == 2 or tag not in _NOT_SURNAME_TAGS) and g in toks:
            given_end, tag = toks[g]  # 欧阳|娜娜, 黄|文静: surname and given name as two words
            end = self.unglue(g, given_end, 2)
            if end == g + 2 and tag in _GIVEN_TAGS:
                return end
            if end == g + 1 and (tag in _NAME_TAGS or end < given_end):
                return end
        return None

    def unglue(self, start: int, end: int, longest: int) -> int:
        """The end of the word at [start, end), which should be at most ``longest`` long,
        without a character glued to it: the HMM joins unknown characters to the word after
        them (张伟华未, 王浩在), and the dictionary holds such pairs (张平的). A two-character
        dictionary word (明说) is a word, not a pair."""
        word = self.text[start:end]
        if len(word) > longest:
            if (len(word) == longest + 1 and word[-1] in _FOLLOWERS
                    and not _segmenter().has_word(word)):
                return end - 1
            return end
        if len(word) < 2 or word[-1] not in _TRAILERS:
            return end
        if len(word) == 2 and _segmenter().has_word(word):
            return end
        return end - 1

    def third(self, end: int, toks: Tokens) -> int:
        """A two-character name stretched over the next character when the tagger cut a
        three-character name in two: 李梓|萱, 黄子|轩称."""
        if self.text[end - 1] in _SINGLE_TITLES or end not in toks or self.text[end] in _FOLLOWERS:
            return end
        after, tag = toks[end]
        if after == end + 1 and tag in _GIVEN_CHAR_TAGS:
            return after
        if after == end + 2 and self.unglue(end, after, 1) == end + 1:
            return end + 1
        return end

    def after_roles(self) -> Iterator[tuple[int, int, int]]:
        for m in _roles(self.text):
            s = m.end()
            lo, hi = self.clause(m.start(), s)
            toks = self.tokens(lo, hi)
            # The role must be a word of its own: not 业主 inside 物业主管.
            if m.start() in toks and m.end("role") in toks:
                yield from self.listed(s, toks)

    def listed(self, s: int, toks: Tokens) -> Iterator[tuple[int, int, int]]:
        """The name at s and those listed after it (张某、李某和王某)."""
        while True:  # s moves on with every name
            name = self.read(s, toks)
            if name is None:
                return
            g, end, masked = name
            if masked:
                yield s, g, end
            if end >= len(self.text) or self.text[end] not in _LIST:
                return
            s = end + 1
            toks = self.tokens(*self.clause(s, s))

    def before_ages(self) -> Iterator[tuple[int, int, int]]:
        for m in _AGE.finditer(self.text):
            q = m.start()
            toks = self.tokens(*self.clause(q, q))
            for s in (q - 4, q - 3, q - 2):  # the longest name first
                name = self.read(s, toks) if s >= 0 else None
                if name is not None and name[1] == q:
                    if name[2]:
                        yield s, name[0], name[1]
                    break


def _mask_names_once(text: str, public: frozenset[str]) -> str:
    names = _Names(text, public)
    found = {*names.after_roles(), *names.before_ages()}  # (surname, given name, end)
    hidden = bytearray(len(text))
    for _, g, end in found:
        hidden[g:end] = b"\1" * (end - g)
    # A name read once in a private context is that person's wherever the text repeats it
    # (联系人：杨丽萍). Two characters (李强) are too short to be looked for as a string.
    for name, surname in {(text[s:end], g - s) for s, g, end in found if end - s >= 3}:
        at = text.find(name)
        while at >= 0:
            hidden[at + surname:at + len(name)] = b"\1" * (len(name) - surname)
            at = text.find(name, at + 1)
    if not any(hidden):
        return text
    return "".join("某" if h else c for c, h in zip(text, hidden, strict=True))


def _roles(text: str) -> Iterator[re.Match[str]]:
    """Each role word followed by something that may be a surname. Roles overlap (其女儿 holds
    其女 and 女儿), so the search goes on from the next character, not the match's end."""
    pos = 0
    while m := _ROLE.search(text, pos):
        pos = m.start() + 1
        s = m.end()
        if text[s:s + 1] in _SURNAMES or text[s:s + 2] in _COMPOUND_SURNAMES:
            yield m


def _has_candidate(text: str) -> bool:
    """Whether a name could be masked at all, so the tagger is loaded only when it might."""
    return next(_roles(text), None) is not None or _AGE.search(text) is not None


def _fixpoint(step: Callable[[str], str], text: str) -> str:
    # Masking can change what surrounds a match (the tagger's reading of a clause, the edge
    # of a run of digits), so a step is repeated until it changes nothing; that makes mask()
    # idempotent. It ends: every change replaces characters that are never put back.
    while (new := step(text)) != text:
        text = new
    return text


def mask(text: str, public_names: Collection[str] = ()) -> str:
    """``text`` with personal data masked: mobile, landline, ID-card and bank-card numbers,
    e-mail addresses, and private persons' names (张建国 -> 张某某). Names in
    ``public_names`` (officials, spokespersons) are kept."""
    text = _fixpoint(_mask_numbers_once, text)
    if _has_candidate(text):
        public = frozenset(public_names)
        text = _fixpoint(lambda t: _mask_names_once(t, public), text)
    return text
