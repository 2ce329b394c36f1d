"""How people actually write chat commands, as pure functions.

Phones capitalise, keyboards switch between full- and half-width, people end with 了 or
！, separate with a Chinese comma, @ the bot anywhere, write 45分钟 or 1.5小时 and call a
branch by its short name. These turn all of that into the plain words the command
registry parses; nothing here touches the database or the clock (today is passed in).
"""

from __future__ import annotations

import difflib
import os
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

_SPACES = re.compile(r"\s+")
# What must not travel into storage or a group: ANSI escape sequences (they repaint a
# terminal reading the logs), bidi overrides and isolates (they reverse what a group reads),
# and every other control character, NUL included (PostgreSQL refuses it in text).
_ANSI = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-_])")
_INVISIBLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f"
                        "\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
_LEADING_MENTION = re.compile(r"^(?:@\S+\s*)+")
# What people end a message with: punctuation, and the particles of spoken Chinese.
# "签到+1" is how a group answers a roll call.
_TRAILING_PUNCT = re.compile(r"(?:[\s。.!！?？~～…,，、;；]|\+1)+$")
# Emoji and the chat apps' bracketed emoticons ([强], [OK], [抱拳]) people put around a
# command (签到👍, ✅签到, 签到[强]): decoration, dropped when something is left.
_EMOJI = ("[\U0001F000-\U0001FAFF\u2600-\u27BF\u2B00-\u2BFF\u3030\u303D\uFE0F\u200D"
          "\u20E3]")
_DECORATION = re.compile(rf"(?:\s|{_EMOJI}|\[[\u4e00-\u9fffA-Za-z]{{1,4}}\])+")
_TRAILING_DECORATION = re.compile(rf"{_DECORATION.pattern}$")
_LEADING_DECORATION = re.compile(rf"^{_EMOJI}(?:\s|{_EMOJI})*")
# The apps' emoticons as their text shows them, before a command ([强]签到, [抱拳] 请假 值班):
# only these, since a word in brackets first is the command itself ([签到], [请假] 值班).
_EMOTICONS = ("强", "抱拳", "OK", "ok", "握手", "胜利", "玫瑰", "微笑", "呲牙", "鼓掌", "拳头",
              "爱心", "赞", "耶", "合十", "加油", "庆祝", "憨笑", "愉快", "好的", "嘿哈", "奋斗")
_LEADING_EMOTICONS = re.compile(r"^(?:\[(?:" + "|".join(_EMOTICONS) + r")\]\s*)+")
PARTICLES = re.compile(r"(?:了|啦|喽|咯|吧|呀|啊|哈|哦|噢|嘛|呢|吗|么|哟|一下|谢谢|好的)+")
# Words between arguments: a space or any of the commas people type, and the full stop
# voice input puts between them (请假。明天值班: the leave was for the activity at hand, its
# reason 。明天值班).
SEPARATORS = re.compile(r"[\s,，、;；。]+")
# The names a group message @-mentions the bot by, besides whatever the platform strips.
BOT_NAMES = ("党建助手", "djbot")
# Marks people put before or around a command out of habit from other bots and from
# notices: /签到 and #签到 (full-width ／ and ＃ fold to these), 【签到】, [签到], 「签到」.
# Every message djbot receives is addressed to it, so none of them means anything else.
_LEADING_MARKS = re.compile(r"^[/#]+\s*")
# A reply quoting a message, as WeChat and WeCom put it: 「王建国：开始 主题党日」, a line of
# dashes, then the reply. Only the reply is said to djbot: the quoted command was done
# again (批准请假 周强 under a quoted 请假 出差 was leave for the secretary).
# To the last 」 before the dashes: a quote of djbot's own reply has 「」 inside it.
_QUOTED_ABOVE = re.compile(r"^「.*」\s*(?:[-—–－_─━]\s*){3,}", re.DOTALL)
_BRACKETED_HEAD = re.compile(r"^(?:【\s*([^】]+?)\s*】|\[\s*([^\]]+?)\s*\]|「\s*([^」]+?)\s*」)")


# Chinese punctuation stays as written: a reason keeps its ，and ！
_KEEP = frozenset("，；！？（）")


def normalize(text: str) -> str:
    """Fold full-width letters, digits, spaces and @ (NFKC), drop control characters,
    collapse blanks, trim; the Chinese punctuation inside a reason is kept as written."""
    text = strip_controls(text or "")
    if text.isascii():
        folded = text
    else:
        folded = "".join(c if c in _KEEP else unicodedata.normalize("NFKC", c) for c in text)
    return _SPACES.sub(" ", folded).strip()


def strip_controls(text: str) -> str:
    """Text without ANSI escapes, bidi controls, lone surrogates or other control characters
    (tabs and line breaks stay)."""
    return _INVISIBLE.sub("", _ANSI.sub("", text))


def strip_leading_mentions(text: str) -> str:
    """Drop the '@bot ' the platforms leave at the start of a group message."""
    return _LEADING_MENTION.sub("", text).strip()


def strip_bot_mentions(text: str, names: Iterable[str] = BOT_NAMES) -> str:
    """Drop '@党建助手' wherever it is, glued to the command or not."""
    if "@" in text:  # every message passes here; few mention anyone
        for pattern in _mention_patterns(tuple(names)):
            text = pattern.sub(" ", text)
    return _SPACES.sub(" ", text).strip()


@lru_cache(maxsize=8)
def _mention_patterns(names: tuple[str, ...]) -> tuple[re.Pattern[str], ...]:
    return tuple(re.compile(rf"@{re.escape(name)}\s*", re.IGNORECASE) for name in names)


# Traditional characters of the command words, for phones set to traditional input (簽到,
# 請假 值班). Only the first word is folded: a name or reason after it stays as written.
_TRADITIONAL = str.maketrans(
    "簽請積學習幫報銷補結開調週紅藍黃單記錄規則況課會黨員問題準駁講師設讀書參細暫復約談對謝號幾時麼嗎這個來沒說們裡為動歷統計覽態",
    "签请积学习帮报销补结开调周红蓝黄单记录规则况课会党员问题准驳讲师设读书参细暂复约谈对谢号几时么吗这个来没说们里为动历统计览态")
_FIRST_WORD = re.compile(r"^[^\s,，、;；]+")


def simplified(word: str) -> str:
    """A word with those traditional characters folded: for a word read as a name of
    something djbot knows (黨日 in a reason is 党日), never for free text kept as written."""
    return word.translate(_TRADITIONAL)
# Whether a message may need either (one search in C; most messages need neither, and
# clean runs for every check-in).
_TRADITIONAL_CHARS = re.compile("[" + "".join(chr(c) for c in _TRADITIONAL) + "]")
_MAYBE_DECORATED = re.compile(rf"{_EMOJI}|\]$")


def clean(text: str, names: Iterable[str] = BOT_NAMES) -> str:
    """A message as the registry reads it: folded, the bot's @ removed, a command's
    marks dropped ('/签到', '#签到', '【签到】' → '签到'), trailing punctuation dropped
    ('签到！' → '签到')."""
    text = strip_bot_mentions(normalize(text), names)
    if text[:1] == "「":
        text = _QUOTED_ABOVE.sub("", text, count=1)
    if text[:1] == "[":
        text = _LEADING_EMOTICONS.sub("", text) or text  # [强] alone stays as it was
    if text[:1] in "/#【[「":
        text = _LEADING_MARKS.sub("", text)
        bracketed = _BRACKETED_HEAD.match(text)
        if bracketed is not None:
            head = next(group for group in bracketed.groups() if group is not None)
            text = f"{head} {text[bracketed.end():].lstrip()}"
    text = _TRAILING_PUNCT.sub("", text).strip()
    if _TRADITIONAL_CHARS.search(text):
        text = _FIRST_WORD.sub(lambda first: first.group().translate(_TRADITIONAL), text, 1)
    if _MAYBE_DECORATED.search(text):
        undecorated = _TRAILING_DECORATION.sub("", _LEADING_DECORATION.sub("", text))
        if undecorated and undecorated != text:
            text = _TRAILING_PUNCT.sub("", undecorated).strip()
    return text


def ends_in_question(text: str, names: Iterable[str] = BOT_NAMES) -> bool:
    """Whether a message ends in a question mark (结束？, 确认缺席?), which clean() drops:
    a command that acts for others is asked about then, not given."""
    text = strip_bot_mentions(normalize(text), names)
    text = _TRAILING_DECORATION.sub("", text)
    closing = _TRAILING_PUNCT.search(text)
    return closing is not None and ("?" in closing.group() or "？" in closing.group())


# What people say to the bot that is no command: answered in a word, not with "did you
# mean 签到" (收到 is one letter from it, and is what a group says to every notice).
_PLEASANTRIES = {
    **dict.fromkeys(("你好", "您好", "在吗", "在不在", "hello", "hi"),
                    "在的。发送「帮助」查看我能做什么。"),
    **dict.fromkeys(("谢谢", "多谢", "感谢", "谢了", "辛苦", "辛苦了", "大家辛苦了", "辛苦大家"),
                    "不客气。"),
    **dict.fromkeys(("收到", "好的", "好", "嗯", "嗯嗯", "ok", "明白", "知道了", "看到", "我看到",
                     "我收到", "已阅", "已读", "确认收到", "收到确认", "已确认收到", "好嘞", "好滴",
                     "了解", "明白了", "收到收到", "好的收到", "收到了解",
                     # the words of official notices' replies
                     "已收到", "收悉", "已收悉", "知悉", "已知悉", "已知晓"), "好的。"),
}


def pleasantry(text: str) -> str | None:
    """The short answer to a greeting, a thanks or an acknowledgement; None for anything else."""
    said = text.casefold()
    return (_PLEASANTRIES.get(said) or _PLEASANTRIES.get(PARTICLES.sub("", said).strip())
            or _PLEASANTRIES.get(SEPARATORS.sub("", said)))  # 好的，收到


def is_particle(token: str) -> bool:
    """'了', '啦', '一下吧': a word that adds tone, not meaning."""
    return bool(token) and PARTICLES.fullmatch(token) is not None


# How a few words ask rather than tell: a question's ending (批了吗, 批了没, 可以不), a
# question word (谁批, 要提前多久, 需要写什么, 在哪里请), or 能不能 and the like.
_ASKS = re.compile(r"(?:吗|么|没|没有|可以不|行不)$|谁|多久|多长时间|什么|啥|哪里|哪儿|在哪|怎么|"
                   r"怎样|如何|能不能|可不可以|行不行|要不要|用不用|是不是|提前几天|几天前|"
                   r"请几天|最多几天")
_ASKS_MAX_CHARS = 12
# What a question about the command itself is made of: asking, approving, its rules and
# its effect (要提前多久, 会扣分吗, 需要写什么, 后还要签到吗, 能补吗, 要补学吗). A word with
# anything else in it says why (家里有事能批吗, 出差不知多久, 值班谁也替不了): a reason,
# however it ends.
_ABOUT_ITSELF = frozenset(
    "吗么没有不呢了吧啊呀嘛要需会能可以得该还用后先再也就都是否请批准审通过谁找书记委员领导"
    "提前多久长时间几天前最少算缺席扣分影响写什么啥原因在哪里儿怎样如何行好签到一下求办补学课")


def only_asks(word: str) -> bool:
    """Whether one word, short, only asks something about the command (批了吗, 要提前多久,
    算缺席吗, 可以吗) rather than saying why (值班, 孩子生病住院, 家里有事能批吗). A long or
    several-word text is taken to tell something, whatever it ends with."""
    return (0 < len(word) <= _ASKS_MAX_CHARS and SEPARATORS.search(word) is None
            and _ASKS.search(word) is not None and set(word) <= _ABOUT_ITSELF)


# What a secretary tells the group about leave, said right after 请假 (请假要提前说, 请假找我,
# 请假同志记得补学, 请假条交给我): a rule or an instruction, never anyone's reason. Each is
# the whole word, so a reason that goes on past the rule stays one (要去医院, 需要照顾老人,
# 提前下班接孩子, 单位有事, 条件不允许).
_TO_ME = (r"(?:直接|都|请)?(?:找|私聊|私信|联系|告诉|跟|和|给|向)(?:我|书记|支部书记)"
          r"(?:说|讲|报告|请|报备)?")
_REMARK = re.compile(
    r"(?:要|需要|必须|务必|一定要|得|应该|应当|都要|请|一律|统一)?"
    r"(?:提前(?:[一二两三几\d]+个?(?:天|日|小时))?(?:说|讲|报|报备|申请|告知|报告|请|发|打招呼)?"
    rf"|{_TO_ME})(?:一下|就行|就可以|即可|就好)?"
    # Those on leave, or everyone, spoken to or of: 请假同志记得补学, 请假大家注意.
    r"|(?:的?同志|同志们|大家|各位)\S*"
    # Leave in general: 请假也要学习, 请假了就不用签到 (its 了 is gone by now); 还要加班 is
    # a reason.
    r"|(?:也|都|就|还|照样|同样)(?:要|得|需要|必须|不用|不必|不需要|可以)"
    r"(?:补学|学习|补课|签到|参加|参会|来|补)\S*"
    r"|记得\S*"
    # The note: 请假条交给我, 请假单统一交.
    r"|(?:条|单)子?(?:要|交|给|发|写|拿|放|找|请|统一|都|的|在|上|一律)\S*")
# Said of one's own leave (请假已批, 请假批了): where it stands, which 我的请假 shows.
STATUS_SAID = re.compile(r"(?:已经?|都)(?:批|批准|通过|准)了?|批了")
_REMARK_MAX_CHARS = 14


def remarks_on(word: str) -> bool:
    """Whether one word said after a command is a remark about it (请假要提前说, 请假找我,
    请假也要学习) or says where one's own stands (请假已批) rather than a reason: like a
    question (only_asks), it records nothing."""
    return (0 < len(word) <= _REMARK_MAX_CHARS and SEPARATORS.search(word) is None
            and (_REMARK.fullmatch(word) is not None or STATUS_SAID.fullmatch(word) is not None))


# Said where a record's words go (调研 城关 几次了, 约谈 城关 要约谈吗): asked, not told.
_ASKED_IN_PLACE = re.compile(r"\S{0,8}?(?:吗|么|嘛|呢|几次了?|多少次|次数)[啊呀哈]*")
# Said first there, these put what is recorded still to come (调研 城关 下周, 计划下周去,
# 准备约谈); after what was found (发现问题 1 下周回访) a plan is part of the note.
# A day named after 下周 or 下个月 (下周一, 下月5号) is the date's to read and refuse.
_STILL_TO_COME = re.compile(r"(?:下周|下个?星期|下个?礼拜|下个?月)(?![\d一二三四五六七八九十日天])"
                            r"|下次|下回|过几天|改天|择日"
                            # 计划下周去, 准备约谈, 拟于下周; not 计划落实到位 (a note)
                            r"|(?:计划|准备|打算|拟)(?:于|在)?(?:去|下|明|后|过|到|前往|约谈|调研)")


def asked_in_place(words: str) -> bool:
    """Whether the words of a record (a visit's details, a talk's problems) only ask."""
    return _ASKED_IN_PLACE.fullmatch(words.strip()) is not None


def still_to_come(words: str) -> str | None:
    """The word that opens a record's words and says it has not happened yet, or None."""
    words = words.strip()
    return SEPARATORS.split(words, maxsplit=1)[0] if _STILL_TO_COME.match(words) else None


def split_words(text: str) -> list[tuple[str, int]]:
    """The words of an argument text with where each starts (so the rest of the line
    can be taken as written, commas and all)."""
    return [(m.group(), m.start()) for m in re.finditer(r"[^\s,，、;；。]+", text)]


# --- numbers -----------------------------------------------------------------------------

_CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5,
              "六": 6, "七": 7, "八": 8, "九": 9}


def cn_number(text: str) -> int | None:
    """'五' → 5, '十二' → 12, '三十一' → 31, '12' → 12; None for anything else (up to 99)."""
    if text.isascii() and text.isdigit():
        return int(text) if len(text) <= 9 else None
    if not text or any(c not in _CN_DIGITS and c != "十" for c in text):
        return None
    if "十" not in text:
        return _CN_DIGITS[text] if len(text) == 1 else None
    tens, _, ones = text.partition("十")
    if "十" in ones or len(tens) > 1 or len(ones) > 1 or tens in ("零", "〇"):
        return None  # 零十 is no number (it was 0: 一个小时零十分 was an hour)
    return (_CN_DIGITS[tens] if tens else 1) * 10 + (_CN_DIGITS[ones] if ones else 0)


# ASCII digits only, and not too many: "²" or 5,000 digits are not a number anyone typed.
_NUMBER = r"([0-9]{1,9}(?:\.[0-9]{1,6})?|[零〇一二两三四五六七八九十]+)"


def _number(text: str) -> float | None:
    if re.fullmatch(r"[0-9]{1,9}(?:\.[0-9]{1,6})?", text):
        return float(text)
    value = cn_number(text)
    return None if value is None else float(value)


def parse_number(token: str, units: Sequence[str] = ()) -> float | None:
    """'4' → 4.0, '4.5分' → 4.5, '五星' → 5.0 when 星 is a unit; None if not a number."""
    for unit in sorted(units, key=len, reverse=True):
        if token.endswith(unit) and len(token) > len(unit):
            token = token[: -len(unit)]
            break
    return _number(token)


_HOURS = r"(?:个)?(?:小时|钟头|h|hr|hrs|hour|hours)"
_MINUTES = r"(?:分钟|分|min|mins|minute|minutes|m)"


def parse_minutes(token: str) -> int | None:
    """A duration as people write it, in whole minutes: '45', '45分钟', '1.5小时', '90min',
    '1小时30分', '一小时零五分', '半小时', '一个半小时', '两小时'; None if it is not one."""
    text = token.strip().lower()
    if m := re.fullmatch(rf"{_NUMBER}{_MINUTES}?", text):
        value = _number(m.group(1))
    elif m := re.fullmatch(rf"{_NUMBER}{_HOURS}(?:[零〇]?{_NUMBER}{_MINUTES}?)?", text):
        # 一小时零五分: the 零 said between the hours and the minutes is no digit of them.
        hours, minutes = _number(m.group(1)), _number(m.group(2)) if m.group(2) else 0.0
        value = None if hours is None or minutes is None else hours * 60 + minutes
    elif m := re.fullmatch(rf"{_NUMBER}?个?半{_HOURS}", text):
        hours = _number(m.group(1)) if m.group(1) else 0.0
        value = None if hours is None else hours * 60 + 30
    else:
        return None
    if value is None or value != int(value):
        return None
    return int(value)


# --- dates ---------------------------------------------------------------------------------

WEEKDAYS = "一二三四五六日"
_WEEKDAY_INDEX = {c: i for i, c in enumerate(WEEKDAYS)} | {"天": 6, "七": 6} | {
    str(i + 1): i for i in range(7)}
_RELATIVE_DAYS = {"大前天": -3, "前天": -2, "昨天": -1, "昨日": -1, "今天": 0, "今日": 0,
                  "明天": 1, "明日": 1, "后天": 2, "大后天": 3}
# Weeks from this one: 上周二 is last week's Tuesday, 下下周二 the one after next week's.
_WEEKS = {"上上": -2, "上": -1, "这": 0, "本": 0, "下": 1, "下下": 2}
# How far a month and day without a year may be from today before it is the other year's.
_HALF_YEAR = timedelta(days=183)
_DATE_PREFIX = re.compile(r"^(?:至|到|截至|截止到?|直到|一直到)\s*")


class DateError(ValueError):
    """A date that could not be read; the message says so in Chinese."""


def show_date(day: date, *, today: date | None = None) -> str:
    """The one way djbot writes a date: 12月8日, with the year when it is not this year's."""
    if today is not None and day.year != today.year:
        return f"{day.year}年{day.month}月{day.day}日"
    return f"{day.month}月{day.day}日"


def show_days(first: date, last: date) -> str:
    """12月8日, or 12月8日至12月10日."""
    return show_date(first) if first == last else f"{show_date(first)}至{show_date(last)}"


def show_period(first: date, last: date, kind: str | None = None) -> str:
    """A leave period's days as a reply names them, with the type of activity it was asked
    for where it was (12月10日（主题党日）): the day's other activities are not its."""
    days = show_days(first, last)
    return f"{days}（{kind}）" if kind else days


# 明年1月20日, 今年12月5日: the year said in words before a month and day, read as the
# year written (2027年1月20日). Only before a whole month and day, so that a reason's
# 明年3月考试 stays as it was said.
_YEAR_SAID = re.compile(r"(今年|明年|去年)\s*(?=(?:\d{1,2}|[一二三四五六七八九十]{1,3})\s*月\s*"
                        r"(?:\d{1,2}|[一二三四五六七八九十]{1,3}))")
_YEARS_AHEAD = {"去年": -1, "今年": 0, "明年": 1}


def with_years(text: str, today: date) -> str:
    """The text with 明年, 今年 and 去年 before a month and day written as the year itself."""
    return _YEAR_SAID.sub(lambda m: f"{today.year + _YEARS_AHEAD[m[1]]}年", text)


def parse_date(text: str, today: date, *, past: bool = False) -> date:
    """A day as people write it: 2026-12-31, 2026年12月31日, 12月31日, 12.31, 12/31,
    31号, 昨天, 前天, 今天, 明天, 后天, 周二, 上周四, 下周二, 星期五. Raises DateError if
    it is none of these.

    A month and day without a year is this year's, or next year's when this year's is
    more than half a year ago (写 1月5日 in December means January); a bare day of the
    month is the next such day; a bare weekday the next one (today included).

    With past=True the day is one already come, as in a record of what was held or done:
    a bare weekday or day of the month is the latest such day (today included), and a
    month and day without a year is last year's when this year's is more than half a
    year ahead (12月30日 said on 1月2日). A day still to come can be returned all the
    same (明天, 下周二, 12月30日 said on 12月20日), for the caller to refuse.
    """
    raw = text
    text = with_years(_DATE_PREFIX.sub("", normalize(text)).replace(" ", ""), today)
    text = (text.rstrip("。.").replace("週", "周").replace("禮拜", "礼拜")  # traditional input
            .replace("號", "号"))
    if m := re.fullmatch(r"(本月|这个?月|下个?月|上个?月)(.+[日号])", text):
        # 本月28号, 下个月3号: that day of the month said, not the nearest 28th.
        ahead = {"本": 0, "这": 0, "下": 1, "上": -1}[m[1][0]]
        year, month = divmod(today.year * 12 + today.month - 1 + ahead, 12)
        number = cn_number(m[2][:-1])
        if number is None:
            raise DateError(f"看不懂日期「{raw}」")
        try:
            return date(year, month + 1, number)
        except ValueError:
            raise DateError(f"没有 {raw} 这一天") from None
    if text in _RELATIVE_DAYS:
        return today + timedelta(days=_RELATIVE_DAYS[text])
    if m := re.fullmatch(r"(?:(上上|上|下下|下|这|本)个?)?(?:周|星期|礼拜)([一二三四五六日天七1-7])",
                         text):  # 下个星期二 too, as spoken
        which, day = m.groups()
        target = _WEEKDAY_INDEX[day]
        if which is not None:
            monday = today - timedelta(days=today.weekday())
            return monday + timedelta(days=7 * _WEEKS[which] + target)
        if past:
            return today - timedelta(days=(today.weekday() - target) % 7)
        return today + timedelta(days=(target - today.weekday()) % 7)
    num = r"(\d{1,2}|[一二三四五六七八九十]{1,3})"
    year = month = day = None
    if m := re.fullmatch(r"(\d{4})[-./年](\d{1,2})[-./月](\d{1,2})[日号]?", text):
        year, month, day = (int(g) for g in m.groups())
    elif m := re.fullmatch(rf"(\d{{4}})年{num}月{num}[日号]?", text):  # 明年一月五日
        year, month, day = int(m.group(1)), cn_number(m.group(2)), cn_number(m.group(3))
    elif m := re.fullmatch(rf"{num}月{num}[日号]?", text):
        month, day = cn_number(m.group(1)), cn_number(m.group(2))
    elif m := re.fullmatch(r"(\d{1,2})[-./](\d{1,2})", text):
        month, day = int(m.group(1)), int(m.group(2))
    elif m := re.fullmatch(rf"{num}[日号]", text):
        day = cn_number(m.group(1))
        if day is None or not 1 <= day <= 31:
            raise DateError(f"没有 {raw} 这一天")
        step = timedelta(days=-1 if past else 1)
        candidate = today
        for _ in range(62):  # the nearest such day of the month that way, today included
            if candidate.day == day:
                return candidate
            candidate += step
        raise DateError(f"没有 {raw} 这一天")
    else:
        raise DateError(f"看不懂日期「{raw}」")
    if month is None or day is None:
        raise DateError(f"看不懂日期「{raw}」")
    try:
        if year is not None:
            return date(year, month, day)
        found = date(today.year, month, day)
        if past and found > today + _HALF_YEAR:
            found = date(today.year - 1, month, day)
        elif not past and found < today - _HALF_YEAR:
            found = date(today.year + 1, month, day)
        return found
    except ValueError:
        raise DateError(f"没有 {raw} 这一天") from None


# --- names ---------------------------------------------------------------------------------

_BRANCH_SUFFIXES = ("党总支部", "党总支", "党支部", "支部", "党委")


def short_name(name: str) -> str:
    """城关派出所党支部 → 城关派出所: the name people use in speech."""
    for suffix in _BRANCH_SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return name


@dataclass(frozen=True)
class NameMatch:
    name: str | None  # the one name meant, or None
    candidates: tuple[str, ...] = ()  # several that fit, or near misses
    ambiguous: bool = False  # the candidates all fit: the query is too short


def match_name(query: str, names: Sequence[str]) -> NameMatch:
    """The one name a short form or unique prefix means: 城关 and 城关派出所 both mean
    城关派出所党支部. Several fits are returned as candidates; so are near misses."""
    query = query.strip()
    if query in names:
        return NameMatch(query)
    folded = {n: n.casefold() for n in names}
    exact = [n for n, f in folded.items() if f == query.casefold()]
    if len(exact) == 1:
        return NameMatch(exact[0])
    short = short_name(query).casefold()
    same = [n for n in names if short_name(n).casefold() == short]
    if len(same) == 1:
        return NameMatch(same[0])
    prefixed = [n for n, f in folded.items() if f.startswith(short)] if len(short) >= 2 else []
    if len(prefixed) == 1:
        return NameMatch(prefixed[0])
    if prefixed:
        return NameMatch(None, tuple(prefixed), ambiguous=True)
    # 刑侦 for 市局刑侦大队党支部: a part of the name, if only one has it.
    inside = [n for n, f in folded.items() if short in f] if len(short) >= 2 else []
    if len(inside) == 1:
        return NameMatch(inside[0])
    if inside:
        return NameMatch(None, tuple(inside), ambiguous=True)
    # Near misses compare what tells names apart: 三支部 is not a slip for 二支部.
    shorts = {short_name(n): n for n in names}
    near = difflib.get_close_matches(short_name(query), list(shorts), n=3, cutoff=0.6)
    return NameMatch(None, tuple(shorts[n] for n in near))


def _distance(a: str, b: str) -> int:
    """Edits (insert, delete, replace) from a to b."""
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1,
                               previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


_NEGATIONS = ("没", "未", "不", "无")


def closest_word(word: str, words: Iterable[str]) -> str | None:
    """The command word a near miss meant ('签道' → '签到', '积份' → '积分'), or None.

    One slip in a short word, two in a longer one; between equally near words, one the
    message holds whole wins (今天请假 is 请假, not 取消请假; 签到签到 is 签到, not 未签到),
    then the one that begins the same way (签道 is 签到, not 补签).
    """
    word = word.casefold()
    if not word:
        return None
    best: tuple[int, bool, int, str] | None = None
    for candidate in words:
        folded = candidate.casefold()
        if len(folded) < 2:
            continue
        distance = _distance(word, folded)
        # 没签到的 and 不签到 hold 签到 but mean its opposite.
        at = word.find(folded)
        held = at >= 0 and word[at - 1:at] not in _NEGATIONS
        # Held whole, it may have up to two words around it (今天请假); otherwise a slip
        # may not be most of the word.
        if held:
            if distance > 2:
                continue
        elif distance > (1 if max(len(word), len(folded)) <= 3 else 2) or distance >= len(folded):
            continue
        shared = len(os.path.commonprefix([word, folded]))
        key = (distance, not held, -shared, candidate)
        if best is None or key < best:
            best = key
    return best[-1] if best else None
