"""The command registry: each command declares its name, aliases, who may use it and its
argument shape; parsing, usage lines and 帮助 are all derived from these declarations."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal

from bot.domain.text import (
    DateError,
    closest_word,
    cn_number,
    is_particle,
    match_name,
    only_asks,
    parse_date,
    parse_minutes,
    parse_number,
    pleasantry,
    remarks_on,
    SEPARATORS as SEPARATOR_RE,
    STATUS_SAID,
    split_words,
)

from bot.domain.dates import DAY_AHEAD, take_day
from bot.domain.dates import DateError as NoSuchDay
from storage.models import LEADER_ROLES, MANAGER_ROLES, Role

if TYPE_CHECKING:
    from datetime import datetime

    from bot.context import Ctx, QuickCtx
    from bot.core import IncomingMessage, Reply
    from storage.prepared import Prepared

# Handlers are plain functions: the database is synchronous, and the dispatcher runs
# the whole transaction off the event loop (see Dispatcher.handle).
Handler = Callable[["Ctx", dict[str, Any]], "Reply"]


@dataclass(frozen=True)
class QuickLane:
    """A command's lane without the ORM (only 签到 has one): it answers the command's simple
    case from one statement's row, or returns None and the handler answers (see
    Dispatcher.quick). `read` gives the statement and its values for a message at a time;
    `answer` gets its first row (None: no row), converted, and queues its INSERTs in
    QuickCtx.writes. The two are apart so that the reads of several messages can be sent
    together, then their writes (bot.pglane)."""

    read: Callable[["IncomingMessage", "datetime"], "tuple[Prepared, dict[str, Any]]"]
    answer: Callable[["QuickCtx", "tuple | None"], "Reply | None"]

# word: one word; int: a whole number (units such as 分 or 星 may be attached);
# choice: one of a few words; rest: the rest of the line as written; minutes: a duration
# (45, 45分钟, 1.5小时) in minutes; date: a day (12月31日, 明天, 下周二) as a date;
# branch: a branch by full name, short name or unique prefix, given as its full name.
ArgKind = Literal["word", "int", "choice", "rest", "minutes", "date", "branch"]

MANAGERS = MANAGER_ROLES
LEADERS = LEADER_ROLES


@dataclass(frozen=True)
class Arg:
    key: str  # the handler's keyword
    label: str  # what it is, in words: "原因", "姓名"
    kind: ArgKind = "word"
    optional: bool = False
    choices: tuple[str, ...] = ()  # for choice; for branch, extra words taken as they are
    min: int | None = None
    max: int | None = None
    hint: str = ""  # how it may be written, said when it is missing: "姓名、@某人或编号"
    units: tuple[str, ...] = ()  # for int: units people attach ("分", "星")
    # For a word its handler checks against a closed set (an activity type): whether a
    # word is one. Parsing still takes any word, so the handler can say which there are;
    # CommandRegistry.meant asks it to tell 开启 提醒 (开启提醒) from 开启 an activity
    # called 提醒.
    known: Callable[[str], bool] | None = None
    # An optional word read only when `known` (结束 第一党小组): anything else is refused as
    # words the command does not take, as before it took any (结束 现在).
    strict: bool = False
    # A `known` word with more typed onto it (暂停日程 夜学至12月31日, 开始夜学吧): the known
    # word is cut off the front, the rest is the next argument's (a particle, tone). Read
    # whole, it was no activity, and the date after it was said to be missing.
    cut: bool = False
    # A word with the next argument typed onto it (更正 张三缺席 代签, 张三：缺席): the two
    # parts as the command reads them, or None. Read whole, the reason was said missing.
    glued: Callable[[str], tuple[str, str] | None] | None = None
    # A choice of periods that also takes any month named by its number (红黄蓝榜 9月), as
    # 2026年9月: those before 上月 were refused, though the ledger holds them. On free
    # words, that they are a month, which may then be said first (11月积分明细).
    months: bool = False

    @property
    def usage(self) -> str:
        shown = "/".join(self.choices) if self.kind == "choice" else self.label
        if self.months and self.kind == "choice":
            shown += "/某月"
        return f"[{shown}]" if self.optional else shown

    @property
    def missing(self) -> str:
        return f"缺少{self.label}" + (f"（{self.hint}）" if self.hint else "")


# Every free text has a bound that fits its field; a longer one is refused with the limit.
WORD_MAX_CHARS = 30     # a name, a branch, an activity type
REST_MAX_CHARS = 200    # a reason, a topic; handlers may set their own


def word(key: str, label: str, *, optional: bool = False, hint: str = "",
         known: Callable[[str], bool] | None = None, strict: bool = False,
         cut: bool = False, glued: Callable[[str], tuple[str, str] | None] | None = None
         ) -> Arg:
    return Arg(key, label, "word", optional, max=WORD_MAX_CHARS, hint=hint, known=known,
               strict=strict, cut=cut, glued=glued)


def integer(key: str, label: str, *, min: int | None = None, max: int | None = None,
            optional: bool = False, units: tuple[str, ...] = ()) -> Arg:
    return Arg(key, label, "int", optional, min=min, max=max, units=units)


def choice(key: str, label: str, choices: tuple[str, ...], *, optional: bool = False,
           months: bool = False) -> Arg:
    return Arg(key, label, "choice", optional, choices=choices, months=months)


def rest(key: str, label: str, *, optional: bool = False, hint: str = "",
         max_chars: int = REST_MAX_CHARS, months: bool = False) -> Arg:
    """The rest of the message, spaces and all (a reason, a comment, a topic)."""
    return Arg(key, label, "rest", optional, max=max_chars, hint=hint, months=months)


def minutes(key: str, label: str, *, min: int | None = None, max: int | None = None,
            optional: bool = False) -> Arg:
    """A duration in whole minutes: 45, 45分钟, 1.5小时, 1小时30分, 半小时."""
    return Arg(key, label, "minutes", optional, min=min, max=max)


def day(key: str, label: str, *, optional: bool = False) -> Arg:
    """A date: 2026-12-31, 12月31日, 12.31, 31号, 明天, 下周二 (a leading 至/到 is dropped)."""
    return Arg(key, label, "date", optional)


def branch(key: str, label: str = "支部", *, optional: bool = False,
           also: tuple[str, ...] = ()) -> Arg:
    """A branch: full name, short name (城关派出所) or unique prefix (城关); the handler
    gets the full name. Words in `also` (e.g. 领导) are passed through as they are."""
    return Arg(key, label, "branch", optional, choices=also, max=WORD_MAX_CHARS)


@dataclass(frozen=True)
class ParseEnv:
    """What parsing needs from outside: today (for 明天) and the branch names (for 城关)."""

    today: date | None = None
    branches: Callable[[], Sequence[str]] | None = None


_NUMERIC = ("int", "minutes")
_BARE_NUMBER = re.compile(r"[0-9]{1,9}(?:\.[0-9]{1,6})?|[零〇一二两三四五六七八九十]+")
_DATE_WORDS = ("至", "到", "截至", "直到", "一直到")
# The other ways a period is said, for a choice of periods that names it once.
_SAME_PERIOD = {"这周": "本周", "这一周": "本周", "这星期": "本周", "这个星期": "本周",
                "这个月": "本月", "这月": "本月", "上个月": "上月", "上一周": "上周",
                "上星期": "上周", "上个星期": "上周", "今年": "本年", "这一年": "本年"}


def _is_value_of(arg: Arg, token: str) -> bool:
    if arg.kind == "int":
        return parse_number(token, arg.units) is not None
    if arg.kind == "minutes":  # 45分钟了 too: the particle is tone (Command._value)
        return (parse_minutes(token) is not None
                or parse_minutes(_without_particle(token)) is not None)
    return False


_HOURS_SAID = re.compile(r"[0-9.零〇一二两三四五六七八九十半]+个?(?:小时|钟头|h|hr|hrs|hour|hours)",
                         re.IGNORECASE)
_MINUTES_SAID = re.compile(r".*(?:分钟|分|min|mins|minute|minutes)", re.IGNORECASE)
_UNDER_AN_HOUR = re.compile(r"[1-5]?[0-9]")


def _with_unit(words: list[tuple[str, int]], index: int, number: Arg) -> str:
    """The number at words[index] with the unit typed apart after it (学习 党史 1 小时: the
    unit is the number's, not the material), and an hour's minutes after it (1小时 30分钟,
    1 小时 30 分钟: 90 minutes, not an hour and the material 30分钟); the words are joined
    in place. The number's text."""
    token = words[index][0]
    if index + 1 < len(words):
        unit = words[index + 1][0]
        if (_BARE_NUMBER.fullmatch(token) and not _is_value_of(number, unit)
                and _is_value_of(number, token + unit)):
            words[index:index + 2] = [(token + unit, words[index][1])]
            token = token + unit
    if number.kind != "minutes" or not _HOURS_SAID.fullmatch(token):
        return token
    for more in (2, 1):  # 30 分钟 typed apart, or 30分钟, or 30 alone (1小时 30)
        said = _without_particle("".join(w for w, _ in words[index + 1:index + 1 + more]))
        if len(words) <= index + more or not (
                _MINUTES_SAID.fullmatch(said) or more == 1 and _UNDER_AN_HOUR.fullmatch(said)):
            continue
        if parse_minutes(token + said) is not None:
            words[index:index + 1 + more] = [(token + said, words[index][1])]
            return token + said
    return token


def _cut_glued(words: list[tuple[str, int]], index: int, number: Arg) -> str:
    """A word and the number after it written as one (学习理论45分钟, 学习理论一小时), or the
    number first (学习了45分钟党史): cut in two, the word put first; the word's text."""
    token, at = words[index]
    for cut in range(1, len(token)):
        if re.search(r"[\d.．]", token[:cut]):
            break  # 1.5小时 is a number: no word before it
        if _is_value_of(number, token[cut:]):
            words[index:index + 1] = [(token[:cut], at), (token[cut:], at + cut)]
            return token[:cut]
    # The longest number only: 45分钟党史 is not 45分 and a word 钟党史, nor 45分钟了 a
    # word 钟了. A number word alone in front is the topic's own (二十大精神, 三中全会,
    # 四史, 两会精神): only digits or a number with its unit are the time said first.
    cut = next((cut for cut in range(len(token) - 1, 0, -1)
                if _is_value_of(number, token[:cut])
                and not re.fullmatch(r"[零〇一二两三四五六七八九十百]+", token[:cut])), None)
    if cut is None or re.search(r"[\d.．]", token[cut:]):
        return token
    if is_particle(token[cut:]):  # 学习 45分钟了: the number, and the word is missing
        words[index] = (token[:cut], at)
        return token[:cut]
    words[index:index + 1] = [(token[cut:], at + cut), (token[:cut], at)]
    return token[cut:]


def _cut_known(words: list[tuple[str, int]], index: int, known: Callable[[str], bool]) -> str:
    """The longest known word words[index] starts with, cut off it (夜学至12月31日: 夜学 and
    至12月31日; 夜学吧: 夜学, the particle dropped); the word as it was when none is."""
    token, at = words[index]
    for cut in range(len(token) - 1, 0, -1):
        if known(token[:cut]):
            after = token[cut:]
            words[index:index + 1] = [(token[:cut], at)] + (
                [] if is_particle(after) else [(after, at + cut)])
            return token[:cut]
    return token


@dataclass(frozen=True)
class Command:
    name: str
    summary: str  # one line, Chinese, shown by 帮助
    handler: Handler
    args: tuple[Arg, ...] = ()
    aliases: tuple[str, ...] = ()
    # Who may use it; None means every member on the roster.
    roles: frozenset[Role] | None = None
    where: Literal["any", "group", "private"] = "any"
    example: str | None = None
    # 帮助 works for strangers; 绑定 works in a group that is not bound yet.
    needs_member: bool = True
    needs_binding: bool = True
    capability: str = ""
    quick: QuickLane | None = None
    # Its word may also close the first word, what it acts on said first: 夜学开始 is
    # 开始 夜学, 夜学结束 is 结束. Only for verbs of this kind: 同意张三请假 must not be
    # leave asked with the reason 同意张三.
    verb_last: bool = False
    # Its first argument is the member it is done for, who may be said before it after 给,
    # 帮 or 替: 给赵磊补签 手机没电 is 补签 赵磊 手机没电. Only for what one does for another:
    # 我帮他签到 must stay nothing (nobody checks in for another).
    done_for: bool = False
    # What may follow it and means nothing more (签到 主题党日: the activity under way).
    ignores: frozenset[str] = frozenset()
    # What may close the first word before its word, kept as the start of its arguments:
    # 夜学请假 值班 is 请假 夜学 值班. Only these words: 张三请假 值班 must not be leave for
    # whoever sent it, with the reason 张三 值班.
    said_first: frozenset[str] = frozenset()
    # People sign it with a name, as in a 接龙 (李明签到, 签到 李明): their own name means
    # nothing more (the dispatcher knows who sent it, signed_by finds the name), and this
    # is what one who writes another's name is told instead.
    for_another: str | None = None
    # Said after 马上 or 准备 it is done now (马上开始: starting as one speaks), where such
    # a word before others says it is not done yet (马上结束: the end is still to come).
    soon_is_now: bool = False
    # It changes something for others, so a question never sets it off: 结束了吗 asks, it
    # does not end the activity. (签到了吗 still checks the asker in: a member unsure at
    # the meeting is answered by being counted, or told they already are.)
    acts: bool = False
    # Its words are the sender's own reason (请假 值班): words that only ask about it
    # (请假批了吗, 请假要提前多久, 夜学请假 算缺席吗) are a question, answered by 帮助 with
    # it, and nothing is recorded (they were recorded as leave with the reason 批了吗). A
    # command that takes nothing answers such a question itself (我的请假批了吗).
    asked_about: bool = False
    # The command that answers where the sender's own stands (请假批了吗: 我的请假).
    status_by: str | None = None
    # A day said as a word of its own among its words (学习 理论 45 昨天, 学习 昨天 党史 30)
    # is taken out and given to the handler as args["day"] (None when none is said), so it
    # is never read as a kind or a material; the handler decides which days it takes.
    takes_day: bool = False
    # With takes_day, the day is one to come (日程 周五: this Friday, not last week's).
    day_ahead: bool = False
    # Its words may start with days or a week (请假 下周 出差, 销假 12月10日), so a week said
    # before it (下周请假 出差) goes to them. Not any command that reads free words: 下周取消活动
    # proposed cancelling the latest activity for the reason 下周, 下周撤销 undid the last act.
    reads_days: bool = False
    # Its verb alone, said next to a word said_first names, before or after it: 取消 夜学,
    # 取消夜学, 夜学取消, 今晚的夜学取消, 活动取消 are 取消活动 (夜学). A word that names
    # nothing more than the command does (活动) is dropped.
    short: str = ""
    # What its words mean from a role `roles` leaves out: 开启提醒 from a member, who has no
    # branch reminders to resume, is their own nudges (恢复提醒我), the opposite of the
    # 关闭提醒 that turned them off, not a refusal.
    others_mean: str | None = None
    # Verbs that stand between what it acts on and what that becomes, all in one message:
    # 下周三的夜学改到周四, 这次夜学推迟到20:00 are 改期 下周三 夜学 周四 …. Only when the part
    # before names a word said_first holds: 请假改到明天 is no reschedule.
    infix: tuple[str, ...] = ()
    # Whole sentences said another way, each a pattern and the words it means: 看了学习强国
    # 30分钟 is 学习 学习强国 30分钟. Tried only when the first word names no command, so a
    # check-in never runs them.
    reworded: tuple[tuple[re.Pattern[str], str], ...] = ()

    @cached_property
    def ignored_endings(self) -> tuple[str, ...]:
        """`ignores` as str.endswith takes them: read on every quick check-in."""
        return tuple(self.ignores)

    @property
    def usage(self) -> str:
        return " ".join([self.name, *(a.usage for a in self.args)])

    def knows(self, args: dict[str, Any]) -> bool:
        """Whether every word given for an argument with a closed set is one of it."""
        return all(arg.known(args[arg.key]) for arg in self.args
                   if arg.known is not None and args.get(arg.key) is not None)

    def parse(self, text: str, env: ParseEnv | None = None) -> tuple[dict[str, Any], str | None]:
        """Parse the argument text; return (args, None) or ({}, what is wrong, in words).
        With takes_day, a day said as a word of its own is args["day"] (see take_day)."""
        env = env or ParseEnv()
        if not self.takes_day:
            return self._parse(text, env)
        try:
            said, text = take_day(text, env.today or date.today(), ahead=self.day_ahead)
        except NoSuchDay as exc:
            return {}, str(exc)
        args, problem = self._parse(text, env)
        return ({**args, "day": said} if problem is None else args), problem

    def _parse(self, text: str, env: ParseEnv) -> tuple[dict[str, Any], str | None]:
        """The arguments in order, as parse describes them.

        Words may be separated by spaces or Chinese commas; a word that only adds tone
        (了, 一下, 吧) is dropped; a number may carry its unit; a word argument given
        after the number that follows it (学习 45 理论) is taken in either order.
        """
        text = _THANKS_AFTER.sub("", text)  # 结束。谢谢, 夜学结束了，谢谢大家
        words = [(w, at) for w, at in split_words(text)]
        # 签到了 / 签到一下 / 请假一下 值班: the particle is tone, not an argument.
        if words and is_particle(words[0][0]):
            words = words[1:]
        if words and is_particle(words[-1][0]) and not any(a.kind == "rest" for a in self.args):
            words = words[:-1]
        values: dict[str, Any] = {}
        skipped: str | None = None
        index = 0
        args = self.args
        for position, arg in enumerate(args):
            if arg.kind == "rest":
                joined = text[words[index][1]:].strip() if index < len(words) else ""
                joined = _unwrapped(_THANKS_AFTER.sub("", joined).strip(" ,，、;；:："))
                if not joined and not arg.optional:
                    said = [values[a.key] for a in args[:position] if a.kind == "word"
                            and isinstance(values.get(a.key), str)]
                    if self.done_for and said and len(said) == position:
                        # 补签 张伟: how to write it for 张伟, not only someone else's example.
                        return {}, f"{arg.missing}，请写：{self.name} {' '.join(said)} {arg.label}"
                    return {}, arg.missing
                if arg.max is not None and len(joined) > arg.max:
                    return {}, f"{arg.label}最多 {arg.max} 字，这次有 {len(joined)} 字"
                values[arg.key] = joined or None
                return values, None
            if index >= len(words):
                if not arg.optional:
                    return {}, arg.missing
                values[arg.key] = None
                continue
            token = words[index][0]
            if arg.kind in _NUMERIC:
                token = _with_unit(words, index, arg)
            if arg.kind == "date" and token in _DATE_WORDS:
                index += 1  # 暂停提醒 至 12月31日: 至 belongs to the date
                if index >= len(words):
                    if not arg.optional:
                        return {}, arg.missing
                    values[arg.key] = None
                    continue
                token = words[index][0]
            following = args[position + 1] if position + 1 < len(args) else None
            if arg.kind == "word" and following is not None and following.kind in _NUMERIC:
                # 学习 45 分钟 理论: the number with its unit, so that 分钟 is not the kind.
                token = _with_unit(words, index, following)
            if (arg.kind == "word" and following is not None and following.kind in _NUMERIC
                    and not _is_value_of(following, token)):
                token = _cut_glued(words, index, following)
            if arg.kind == "word" and following is not None and _is_value_of(following, token):
                # 学习 45: the number is there, the word before it is what is missing;
                # 学习 45 理论: the same words in the other order.
                later = words[index + 1][0] if index + 1 < len(words) else None
                if later is None or _is_value_of(following, later):
                    if not arg.optional:
                        return {}, arg.missing
                    values[arg.key] = None
                    continue
                words[index], words[index + 1] = words[index + 1], words[index]
                token = words[index][0]
            parts = arg.glued(token) if arg.glued is not None else None
            if parts is not None:
                at = words[index][1]
                words[index:index + 1] = [(parts[0], at), (parts[1], at + token.rfind(parts[1]))]
                token = parts[0]
            if arg.cut and arg.known is not None and not arg.known(token):
                token = _cut_known(words, index, arg.known)
            if arg.strict and arg.known is not None and not arg.known(token):
                extra = text[words[index][1]:].strip()
                return {}, (f"「{self.name}」后面不用写别的（{arg.hint}），"
                            f"收到了「{shorten(extra)}」")
            value, problem = self._value(arg, token, env)
            if problem is not None and arg.optional and position + 1 < len(args) and not skipped:
                # 排行榜 城关: the optional period is left out, the word is the next argument.
                values[arg.key] = None
                skipped = problem
                continue
            if problem is not None:
                return {}, skipped or problem  # 排行榜 明年: the first reading's complaint
            skipped = None
            values[arg.key] = value
            index += 1
        while index < len(words) and words[-1][0].startswith("@"):
            words = words[:-1]  # 签到 @党建助手: the bot's mention, wherever it is put
        if index < len(words):
            extra = text[words[index][1]:].strip()
            if self.args and extra in self.ignores:
                return values, None  # 批准 刘洋 的请假: the 请假 批准 is of, said again
            if self.args:
                return {}, f"多余的内容「{shorten(extra)}」"
            return {}, f"「{self.name}」后面不用写别的，收到了「{shorten(extra)}」"
        return values, None

    def _value(self, arg: Arg, token: str, env: ParseEnv) -> tuple[Any, str | None]:
        if arg.kind == "int":
            # 整改完成 #1: a number as the lists show it (整改, 结对 and 约谈记录 say #1).
            number = parse_number(token.removeprefix("#").removeprefix("＃"), arg.units)
            bounds = (f"（{arg.min} 到 {arg.max}）" if arg.min is not None and arg.max is not None
                      else "")
            if number is None:
                return None, f"{arg.label}应是数字{bounds}，收到「{shorten(token)}」"
            if number != int(number):
                return None, f"{arg.label}应是整数{bounds}，收到「{shorten(token)}」"
            value = int(number)
            if arg.min is not None and value < arg.min:
                return None, f"{arg.label}不能小于 {arg.min}"
            if arg.max is not None and value > arg.max:
                return None, f"{arg.label}不能大于 {arg.max}"
            return value, None
        if arg.kind == "minutes":
            value = parse_minutes(token)
            if value is None:  # 学习 党史 45分钟了
                value = parse_minutes(_without_particle(token))
            if value is None:
                return None, f"{arg.label}应是时长，如 45、45分钟、1.5小时，收到「{shorten(token)}」"
            if arg.min is not None and value < arg.min:
                return None, f"{arg.label}不能少于 {arg.min} 分钟"
            if arg.max is not None and value > arg.max:
                return None, f"{arg.label}不能超过 {arg.max} 分钟"
            return value, None
        if arg.kind == "choice":
            folded = {c.casefold(): c for c in arg.choices}
            if token.casefold() in folded:
                return folded[token.casefold()], None
            if _SAME_PERIOD.get(token) in arg.choices:  # 这周 is 本周, 上个月 上月
                return _SAME_PERIOD[token], None
            named = _period_named(token, env.today or date.today())
            if named in arg.choices:  # 红黄蓝榜 11月 in December: 上月
                return named, None
            if arg.months and (month := month_named(token, env.today or date.today())):
                return f"{month.year}年{month.month}月", None
            also = " 或某月（如 9月、2026年9月）" if arg.months else ""
            return None, (f"{arg.label}只能是 {'、'.join(arg.choices)}{also}，"
                          f"收到「{shorten(token)}」")
        if arg.kind == "date":
            try:
                return parse_date(token, env.today or date.today()), None
            except DateError as exc:
                return None, f"{exc}，日期可以写 12月31日、12.31、明天、下周二"
        if arg.kind == "branch":
            if token in arg.choices or env.branches is None:
                return token, None
            return match_branch(token, env.branches())
        if arg.max is not None and len(token) > arg.max:
            return None, f"{arg.label}最多 {arg.max} 字，这次有 {len(token)} 字"
        return token, None


_MONTH_NAMED = re.compile(r"(?:(\d{4})年)?(\d{1,2}|[一二三四五六七八九十]{1,3})月份?")


def month_named(token: str, today: date) -> date | None:
    """The first day of the month a word names by its number (11月, 十一月, 2026年11月份);
    without a year, the latest such month (12月 said in January: last year's). None for a
    word that names no month."""
    said = _MONTH_NAMED.fullmatch(token)
    if said is None:
        return None
    month = cn_number(said[2])
    if month is None or not 1 <= month <= 12:
        return None
    year = int(said[1]) if said[1] else today.year - (month > today.month)
    return date(year, month, 1)


def _period_named(token: str, today: date) -> str | None:
    """A month named by its number (11月, 十一月, 2026年11月份) as 本月 or 上月, and a day
    (11月30日) as the week it is in, 本周 or 上周; None for any other."""
    if (first := month_named(token, today)) is not None:
        back = (today.year * 12 + today.month) - (first.year * 12 + first.month)
        return {0: "本月", 1: "上月"}.get(back)
    if _MONTH_NAMED.fullmatch(token) is not None:  # 13月: no month, and no day either
        return None
    if not re.search(r"[日号]$|^\d{1,2}[./]\d{1,2}$", token):
        return None
    try:
        day_ = parse_date(token, today, past=True)
    except DateError:
        return None
    back = (today - timedelta(days=today.weekday()) - (day_ - timedelta(days=day_.weekday()))).days
    return {0: "本周", 7: "上周"}.get(back)


def match_branch(token: str, names: Sequence[str]) -> tuple[str | None, str | None]:
    """(the full name of the branch a word means, None) or (None, what is wrong): by full
    name, short name (城关派出所) or unique prefix (城关)."""
    found = match_name(token, names)
    if found.name is not None:
        return found.name, None
    if found.ambiguous:
        return None, f"「{shorten(token)}」可以指{'、'.join(found.candidates)}，请写全称"
    known = "、".join(names) or "还没有支部"
    if found.candidates:
        return None, (f"没有找到支部「{shorten(token)}」，你是想写「{found.candidates[0]}」吗？"
                      f"现有支部：{known}")
    return None, f"没有找到支部「{shorten(token)}」。现有支部：{known}"


@dataclass(frozen=True)
class Setting:
    """One `设置 <name> …` sub-command; its handler gets the text after the name."""

    name: str
    handler: Callable[["Ctx", str], "Reply"]
    usage: str
    roles: frozenset[Role]


@dataclass
class CommandRegistry:
    commands: list[Command] = field(default_factory=list)
    # 设置 dispatches on its first word; capabilities add their own words here.
    settings: dict[str, Setting] = field(default_factory=dict)
    _by_word: dict[str, Command] = field(default_factory=dict)
    _shorts: list[Command] = field(default_factory=list)  # those with a Command.short
    _reworded: list[Command] = field(default_factory=list)  # those with Command.reworded

    def add_setting(self, setting: Setting) -> None:
        if setting.name in self.settings:
            raise ValueError(f"setting {setting.name!r} registered twice")
        self.settings[setting.name] = setting

    def add(self, command: Command) -> None:
        for word_ in (command.name, *command.aliases):
            key = word_.casefold()
            if key in self._by_word:
                raise ValueError(f"command word {word_!r} registered twice")
            self._by_word[key] = command
        self.commands.append(command)
        if command.short:
            self._shorts.append(command)
        if command.reworded:
            self._reworded.append(command)

    def get(self, name: str) -> Command | None:
        """The command a word names; Latin aliases in any case (Help, HELP)."""
        return self._by_word.get(name.casefold())

    def match(self, text: str, asked: bool = False) -> tuple[Command | None, str]:
        """Find the command a cleaned message starts with; return it and the argument text.

        Besides what _match reads: a question put after a command that needs nothing
        (积分多少, 三会一课情况, 下次活动什么时候) is the command itself, and so are the words
        a command declares it ignores (签到 主题党日). `asked`: the message ended in a
        question mark (text.ends_in_question), so a command that acts is asked about, not given.
        """
        said_twice = _said_twice(text)
        if said_twice is not None:  # 签到签到, 到了到了, 签到 签到: the command once
            command, rest_ = self.match(said_twice)
            # Not for a command that takes words: 帮助 帮助 asks about 帮助.
            if command is not None and not command.args and (not rest_ or is_particle(rest_)):
                return command, rest_
        command, rest_ = self._match(text)
        if command is None:
            head, tail = _first_word(text)
            if tail and (_ADDRESSED.fullmatch(head) or pleasantry(head) is not None):
                # 您好，我要请假 …, 王书记，请假 值班, 收到，签到: the greeting, the one spoken
                # to or the acknowledgement first is courtesy; the command follows.
                found = self.match(tail, asked)
                if found[0] is not None:
                    return found
            agenda = self.get(AGENDA_WORD)
            if agenda is not None and _AGENDA_ASKED.search(text):
                # 明天有活动吗: the day asked about, for the agenda to answer first.
                said = DAY_AHEAD.match(text) if agenda.takes_day else None
                return agenda, said.group() if said is not None else ""
            return command, rest_
        # 确认收到 is an acknowledgement, not 确认 with 收到. Only asked when words follow
        # a command: 签到 alone, the busiest message, pays nothing for it.
        if rest_ and pleasantry(text) is not None:
            return None, text
        if (command.acts or command.for_another is not None and text.startswith("@")) and (
                asked or text.rstrip(_TONE_AFTER).endswith(_QUESTION_ENDS)):
            # 结束了吗, 确认缺席？: asked, not done. @李明 签到了吗: asked of whom it
            # mentions (the bot's own @ is gone by now), never the asker's check-in, as
            # 签到了吗 alone is.
            return None, text
        if (rest_ and command.name == CHECK_IN_WORD and _WHETHER_CHECK_IN.search(text)
                and (help_ := self.get(HELP_WORD)) is not None):
            return help_, command.name  # 签到吗, 来了吗: how it is done, nobody counted
        if (rest_ in _ASKING and all(a.optional for a in command.args) and not command.acts
                and (command.for_another is None or rest_ in _OWN_DONE_ASKED)):
            # Asked of what it shows (积分多少, 签到成功了吗); a command that acts for others
            # is not set off by a question about it (结束成功, 确认成功: refused, as written),
            # nor 签到 by one about it rather than one's own (签到几分, 签到安排: refused).
            return command, ""
        if rest_ and rest_ in command.ignores:
            return command, ""
        if rest_ and command.name == CHECK_IN_WORD and _late_said(rest_, command.ignores):
            # 签到，路上堵车来晚了: why one is late, said as they check in. Refused as extra
            # words, the member was not counted at all and nudged as one who never came;
            # the time of the check-in says whether it was late.
            return command, ""
        if rest_ and not command.args and " " not in text and self.get(rest_) is command:
            # 签到打卡, 打卡签到: two words for the one command, typed as one. Apart, the
            # second is refused as extra words (签到 我来了), as it always was.
            return command, ""
        if (rest_ and command.args and command.args[0].kind == "rest"
                and self.get(_without_particle(rest_)) is command):
            # 请假请假, 请假 请假了: the word said again is no reason; its absence is told.
            return command, ""
        if rest_ and command.asked_about and self._asks(command, rest_):
            if not command.args:
                return command, ""  # 我的请假批了吗: what it shows answers the question
            # 请假批了吗 asks where one's own stands, which the command named answers.
            status = self.get(command.status_by) if command.status_by else None
            if status is not None and (_STATUS_ASKED.search(rest_)
                                       or STATUS_SAID.fullmatch(rest_)):  # 请假已批
                return status, ""
            help_ = self.get(HELP_WORD)
            if help_ is not None:
                return help_, command.name
        return command, rest_

    @staticmethod
    def _asks(command: Command, rest_: str) -> bool:
        """Whether what follows the command only asks about it (see Command.asked_about):
        past the activity and the day it may name (夜学, 明天), one word that asks; a
        particle alone (请假了吗) is no question, just no reason."""
        words = SEPARATOR_RE.split(rest_)
        while len(words) > 1 and (words[0].removesuffix("的") in command.said_first
                                  or DAY_AHEAD.fullmatch(words[0])):
            words = words[1:]
        # 请假要提前说, 请假找我: a remark about it records nothing either.
        return len(words) == 1 and not is_particle(words[0]) and (
            only_asks(words[0]) or remarks_on(words[0]))

    def _match(self, text: str) -> tuple[Command | None, str]:
        """Find the command a cleaned message starts with; return it and the argument text.

        The first word is matched exactly (any case); failing that, a command word glued
        to what follows ("请假家里有事", "签到了") is accepted, the longest word first;
        a day or period said first ("明天请假 出差", "上周周报") goes to the command's
        arguments where it reads one (_dated); "我要签到", "查积分" or "@小助手签到" (a
        mention the platform left glued) are read for the command inside; spoken Chinese
        splits a two-character word with 个 ("签个到", "请个假 值班"), which is read without
        it; a space typed inside a command word ("积分 明细", "签 到") is read as not there,
        unless the first part is a command of its own that the rest may follow ("撤销 调研"
        stays 撤销's reason). Last, the activity said before 开始 or 结束 ("主题党日开始",
        _verb_last) and a command word said around its argument ("同意张三请假", _around).
        """
        text = text.strip()
        head, tail = _first_word(text)
        if tail:
            second, rest_ = _first_word(tail)
            alone = self.get(head)
            joined = self.get(head + second)
            # 结束 签到 is 结束签到 though 结束 takes a word: the two make the same command.
            if joined is not None and (alone is None or not alone.args or joined is alone):
                head, tail = head + second, rest_
        if head[1:2] == "个" and self.get(head) is None:
            spoken = head[:1] + head[2:]
            if self.get(spoken[:2]) is not None:
                head = spoken
        asked = self._how_to(head, tail)
        if asked is not None:
            return asked
        command = self.get(head)
        if command is not None:
            return command, tail
        for command in self._reworded:
            for pattern, meaning in command.reworded:
                if (said := pattern.fullmatch(text)) is not None:
                    return command, " ".join(said.expand(meaning).split())
        between = self._infix(text)
        if between is not None:
            return between
        short = self._short(head, tail)
        if short is not None:
            return short
        glued = self._glued(head)
        if glued is not None and glued[1]:
            # 我的积分排名: 积分排名 (排行榜) behind the filler, not 我的积分 with a period 排名.
            whole = next((found for partly in _unfilled(head)[1:]
                          if (found := self.get(partly)) is not None), None)
            if whole is not None and whole is not glued[0]:
                return whole, tail
        if glued is not None:
            command, rest_ = glued
            meant = closest_word(head, self._by_word)
            # 积分名细 is a slip for 积分明细, not 积分 + 名细: nothing glued is read then
            # (我的积分怎么算的 is still read below, less its 我的). What is glued on may be
            # the one word its first argument takes, though it is a command too:
            # 推荐先锋党员 is 推荐 先锋党员, not a slip for 先锋党员; 开始读书班 is 开始 读书班
            # (the command a slip would be is what is glued on, and the argument knows it).
            # 整改完了 is still a slip for 整改完成: 完了 is no command.
            first = command.args[0] if command.args else None
            if (meant is None or self._by_word[meant] is command or first is not None and (
                    first.kind == "choice" and rest_ in first.choices
                    or first.known is not None and first.known(rest_)
                    and self.get(rest_) is self._by_word[meant])):
                return command, (rest_ + " " + tail).strip()
        dated = self._dated(head, tail)
        if dated is not None:
            return dated
        if head.startswith("@"):
            # The command is somewhere inside the first word, after a mention left glued.
            for start in range(1, len(head)):
                inner = head[start:]
                found = self.get(inner) if len(inner) > 1 else None
                if found is not None:
                    return found, tail
                glued = self._glued(inner) if len(inner) > 1 else None
                if glued is not None:
                    return glued[0], (glued[1] + " " + tail).strip()
            if tail:
                # @王书记 请假 值班: whom the sender speaks to. Not read as whom it is about,
                # even before 补签 or 更正: @王书记 更正 缺席 周强 代签 from a 委员 would have
                # marked the secretary absent.
                return self.match(tail)
        heads = _unfilled(head)
        for partly in heads[1:-1]:  # 查一下我的请假: 我的请假, not 请假 (leave asked)
            command = self.get(partly)
            if command is not None:
                return command, tail
        unfilled = heads[-1]
        if unfilled != head:  # 我要签到, 帮我看看积分, 我明天请假 出差
            found = self._match(f"{unfilled} {tail}".strip())
            if found[0] is not None:
                return found
            # 我有多少积分: a command word ending what follows the filler, taken whole;
            # never for someone else (我帮他签到: nobody checks in for another), never
            # what is said not to be done (我不来了, 我马上来了, 先别确认缺席).
            for start in range(1, len(unfilled) - 1):
                skipped, said = unfilled[:start], unfilled[start:]
                if any(c in _FOR_ANOTHER for c in skipped):
                    break
                if skipped.endswith("的") and skipped[:-1] not in _ONES_OWN:
                    break  # 周强的积分: another's, never answered with the asker's own
                ending = self.get(said)
                if ending is None:
                    continue
                if _NOT_NOW.search(skipped) and not (_NOT_YET.fullmatch(skipped)
                                                     and ending.name == said):
                    break  # 我不来了; 我还没到 says one is not there, 我还没签到 asks
                if _SOON_SAID.search(skipped) and (said in _ARRIVING or ending.acts):
                    break  # 我马上来了, 我快结束了
                if all(a.optional for a in ending.args):
                    return ending, tail
        last = self._verb_last(head, tail)
        if last is not None:
            return last
        done_for = self._done_for(head, tail)
        if done_for is not None:
            return done_for
        split = self._around(head, tail)
        if split is not None:
            return split
        return None, text

    def meant(self, text: str, env: ParseEnv | None = None, *, asked: bool = False
              ) -> tuple[Command | None, str]:
        """match, and where the first word's command cannot take what follows it while the
        first two words make a command that can, that one: 结对 结束 3 is 结对结束 3 (结对
        takes no branch called 结束), 开启 提醒 is 开启提醒 (开启 is 开始, and no activity is
        called 提醒). _match keeps the first word's own command when it takes arguments
        (撤销 调研 stays 撤销's reason), so this costs a second parse only when one of the
        first two words is a command and the two together are another."""
        command, arg_text = self.match(text, asked)
        if (command is not None and arg_text and env is not None
                and _asks_when_held(command, text, arg_text, asked)
                and command.parse(arg_text, env)[1] is not None):
            # 下次什么时候开会: the alias 下次什么时候 and what is held then, asked; 开会
            # was taken for a branch (没有找到支部「开会」). One named is still read as such.
            return command, ""
        joined = self._joined(text) if command is not None else None
        if joined is not None and asked and joined[0].acts:
            joined = None  # 结束 签到？ asks too
        if (joined is not None and joined[0] is not command and not joined[1]
                and all(a.optional for a in joined[0].args)):
            return joined  # 请假 记录 is 请假记录 (我的请假), never leave with the reason 记录
        if joined is not None and joined[0] is not command:
            assert command is not None
            first, problem = command.parse(arg_text, env)
            if ((problem is not None or not command.knows(first))
                    and joined[0].parse(joined[1], env)[1] is None):
                return joined
        return command, arg_text

    def _joined(self, text: str) -> tuple[Command, str] | None:
        """The command the first two words make as one, with the rest; None if none."""
        head, tail = _first_word(text.strip())
        if not tail:
            return None
        second, rest_ = _first_word(tail)
        command = self.get(head + second)
        return (command, rest_) if command is not None else None

    def _dated(self, head: str, tail: str) -> tuple[Command, str] | None:
        """明天请假 出差 → 请假 with 明天 出差; 明天 请假 出差 too; 上周周报 → 周报 上周. The
        day or period said first stays with the arguments where the command reads it:
        free text first (请假's reason), or a choice (周报's 上周); anywhere else it is
        dropped (今天签到, 今晚夜学开始: the type is 夜学, 本周积分)."""
        period = _PERIOD_AHEAD.match(head)
        # 下次请假 值班, 下次夜学请假: the next time, said first as a day is.
        day = DAY_AHEAD.match(head)
        if day is None and (behind := _DAY_BEHIND.match(head)) is not None:
            rest_ = (head[behind.end():].removeprefix("的") + " " + tail).strip()
            command, arguments = self._match(rest_)
            if (command is not None and command.takes_day and not command.day_ahead
                    and not command.acts):
                arguments = "" if arguments in _ASKING or is_particle(arguments) else arguments
                return command, f"{arguments} {behind.group()}".strip()
        day = day or period or _NEXT_TIME.match(head)
        if day is None and (week := _NEXT_WEEK.match(head)) is not None:
            # 下周请假 出差: the week's days, to a command that reads them (请假 下周 出差);
            # it was 没有「下周请假」这个指令.
            rest_ = (head[week.end():].removeprefix("的") + " " + tail).strip()
            command, arguments = self._match(rest_) if rest_ else (None, "")
            if command is None or not command.reads_days:
                return None
            return command, f"{week.group()} {arguments}".strip()
        if day is None:
            return None
        rest_ = (head[day.end():].removeprefix("的") + " " + tail).strip()  # 上周的周报
        if not rest_:
            return None
        command, arguments = self._match(rest_)
        if command is None:
            return None
        if is_particle(arguments) and not arguments.endswith(_QUESTION_ENDS):
            arguments = ""  # 明天不请假了: tomorrow's leave, not one of 「明天 了」 (吗 still asks)
        if arguments in _ASKING and not command.acts and all(a.optional for a in command.args):
            arguments = ""  # 本月积分多少: asked of what it shows, as 积分多少 is
        if command.takes_day and period is None:
            # 明天学习 党史 1小时: the day goes to the handler, which refuses one to come (it
            # was dropped, and the study recorded today with its points).
            return command, f"{arguments} {day.group()}".strip()
        first = command.args[0] if command.args else None
        if period is not None and period.group()[:1] not in "上本这今" and (
                first is None or first.kind != "choice" and not first.months):
            return None  # 12月请假 出差: a month is a period only to a command that reads one
        # A period before a choice stays even when the choice has it not: 上周排行榜 is
        # told which periods there are rather than shown this week's.
        reads_it = first is not None and (first.kind == "rest" or (
            first.kind == "choice" and (day.group() in first.choices or period is not None)))
        if (not reads_it and period is None and not day.group().startswith(_TODAY)
                and (command.acts or command.quick is not None or day.re is _NEXT_TIME)):
            # 明天签到, 明天开始: not now, and the command cannot say when. One that only
            # shows (明天日程, 明天的三会一课) shows what it always does.
            return None
        return command, (f"{day.group()} {arguments}".strip() if reads_it else arguments)

    def _verb_last(self, head: str, tail: str) -> tuple[Command, str] | None:
        """主题党日开始 学党章 → 开始 主题党日 学党章; 夜学结束 → 结束 (see Command.verb_last).
        What comes first stays with the arguments of a command that takes any."""
        head = _without_particle(head)  # 主题党日结束了
        for command in self.commands:
            if not command.verb_last and not command.said_first:
                continue
            for word_ in (command.name, *command.aliases):
                if command.said_first and len(word_) == 2 and not command.verb_last:
                    # 夜学请个假 出差 as spoken, 个 inside the word (as 请个假 alone is read).
                    head = head.replace(f"{word_[:1]}个{word_[1:]}", word_, 1)
                if command.said_first and not head.endswith(word_):
                    # 夜学请假值班, 主题党日请假：外出办案: the reason glued on after it too.
                    before, found, after = head.partition(word_)
                    after = after.lstrip(":：")
                    # 夜学我请假: who, said between the activity and the command.
                    before = _without_self(before).removesuffix("的")
                    if (found and before in command.said_first
                            and after and not is_particle(after)):
                        return command, f"{before} {after} {tail}".strip()
                    continue
                if head.endswith(word_) and len(head) > len(word_):
                    said_first = head[:-len(word_)]
                    if not command.verb_last:
                        said_first = _without_self(said_first).removesuffix("的")
                        if said_first in command.said_first:
                            return command, f"{said_first} {tail}".strip()
                        continue
                    when = next((w for w in _WHEN if said_first.endswith(w)), None)
                    if when in _SOON_WHEN and not command.soon_is_now:
                        return None  # 马上结束, 准备结束: said before the end, nothing ends yet
                    if said_first in _WHEN or said_first in _POLITE:  # 现在开始, 请开始
                        return command, tail
                    if when is not None:  # 主题党日现在开始: what, then when
                        said_first = said_first[:-len(when)]
                    agenda = self.get(AGENDA_WORD)
                    if said_first.endswith(_WHEN_ASKED) and agenda is not None:
                        return agenda, ""  # 几点开始, 夜学什么时候开始: a question for the agenda
                    said = _trimmed(said_first)  # 今天就到这里, 夜学到此: how, not when
                    if _NOT_NOW.search(said) or _SOON_SAID.search(said):
                        return None  # 还没结束, 快结束了, 是不是结束了, 要开始了: not done now
                    return _named_before(command, said_first, tail)
        return None

    def _infix(self, text: str) -> tuple[Command, str] | None:
        """主题党日改到16日, 下周三的夜学改到周四 19:30: see Command.infix. What comes before
        the verb and what after are the command's words, in that order."""
        for command in self.commands:
            for verb in command.infix:
                before, found, after = text.partition(verb)
                before, after = before.strip().removesuffix("的"), after.strip()
                if (found and before and len(before) <= _INFIX_BEFORE_MAX
                        and _NEW_TIME.match(after) and _names_one(before, command.said_first)):
                    return command, f"{before} {after}"
        return None

    def _short(self, head: str, tail: str) -> tuple[Command, str] | None:
        """取消 夜学, 取消夜学, 夜学取消, 今晚夜学取消, 活动取消 → 取消活动 (夜学): see
        Command.short. 取消提醒 and the like are commands of their own, matched before."""
        head = _without_particle(head)  # 夜学取消了
        for command in self._shorts:
            verb = command.short
            after = tail
            if head == verb:
                said, after = _first_word(tail)
            elif head.startswith(verb):
                said = head[len(verb):]
            elif head.endswith(verb):
                said = head[:-len(verb)]
            else:
                continue
            said = said.removesuffix("的")
            day = DAY_AHEAD.match(said)  # 今晚的夜学取消: the day stays with the arguments
            named = said[day.end():].removeprefix("的") if day else said
            if day:  # 周四晚上的夜学: the part of the day names no activity
                named = _PART_FIRST.sub("", named)
            if named not in command.said_first:
                if head == verb and self._day_then_named(command, tail):
                    # 取消 11.25 夜学 值班, 取消 25号的夜学: the day first, then the activity;
                    # 取消提醒 was suggested, which stops the sender's own reminders.
                    return command, tail
                continue
            kept = [day.group() if day else "", "" if named in _NAMES_THE_COMMAND else named]
            return command, " ".join(w for w in (*kept, after) if w)
        return None

    @staticmethod
    def _day_then_named(command: Command, tail: str) -> bool:
        """Whether the words after a command's short verb start with a day and then name
        an activity of its own, apart or after 的 (11.25 夜学, 25号的夜学, 周三晚上 夜学)."""
        words = SEPARATOR_RE.split(tail, maxsplit=3)
        if command.args[:1] and command.args[0].kind != "rest":
            return False  # 恢复 11月25日 夜学: a schedule is resumed by its activity alone
        if not words[0] or not _A_DAY.match(words[0]):
            return False
        first = words[0][_A_DAY.match(words[0]).end():].removeprefix("的")
        first = _PART_FIRST.sub("", first)
        return any(w.removesuffix("的") in command.said_first and w not in _NAMES_THE_COMMAND
                   for w in (first, *words[1:3]) if w)

    def _done_for(self, head: str, tail: str) -> tuple[Command, str] | None:
        """给赵磊补签 手机没电 → 补签 赵磊 手机没电 (see Command.done_for): 给, 帮 or 替, a name,
        then the command word, all in the first word."""
        head = _without_particle(head)  # 给赵磊补签一下
        if head[:1] not in _FOR_WHOM:
            return None
        for command in self.commands:
            if not command.done_for:
                continue
            for word_ in (command.name, *command.aliases):
                # 给李明补个签: the two-character word split by 个, as 补个签 alone is read.
                spoken = f"{word_[0]}个{word_[1:]}" if len(word_) == 2 else word_
                said = next((w for w in (word_, spoken) if head.endswith(w)), "")
                who = head[1:-len(said)] if said else ""
                if who and who not in _NOT_A_NAME and len(who) <= _NAME_MAX_CHARS:
                    return command, f"{who} {tail}".strip()
        return None

    def _around(self, head: str, tail: str) -> tuple[Command, str] | None:
        """A command word said around what it acts on: 批准张三的请假 and 同意张三请假 are
        批准请假 张三, 删除夜学日程 is 删除日程 夜学. Each half two characters at least, and
        only for a command that takes what is put between."""
        head = _without_particle(head)  # 批准张三请假吧
        for word_, command in self._by_word.items():
            if not command.args or len(word_) < 4 or len(head) <= len(word_):
                continue
            if command.name == AGENDA_WORD:
                continue  # 下次党日什么时候 asks when; 党日 is no branch
            for cut in range(2, len(word_) - 1):
                before, after = word_[:cut], word_[cut:]
                if head.startswith(before) and head.endswith(after):
                    between = head[cut:len(head) - len(after)].removesuffix("的")
                    first = command.args[0]
                    if first.strict and first.known is not None and not first.known(between):
                        continue  # 签到几点截止 asks when; it names nothing to end
                    if between:
                        return command, f"{between} {tail}".strip()
        return None

    def _how_to(self, head: str, tail: str) -> tuple[Command, str] | None:
        """怎么请假, 如何签到, 签到怎么弄: a question about a command, answered by 帮助 with
        it (rather than, say, leave asked with the reason 怎么弄)."""
        help_ = self.get(HELP_WORD)
        if help_ is None:
            return None
        for how in _HOW:
            if head.startswith(how) and self.get(head[len(how):]) is not None and not tail:
                return help_, head[len(how):]
        if not (tail in _HOW_AFTER if tail else head.endswith(_HOW_AFTER)):
            return None  # one test in C for the busiest messages (签到), not one a word
        for how in _HOW_AFTER:
            if tail == how and self.get(head) is not None:
                return help_, head
            if not head.endswith(how) or tail:
                continue
            stem = head[:-len(how)]
            asked = self.get(stem)
            if asked is not None and asked.name == AGENDA_WORD and how in _WHAT:
                return asked, ""  # 下次活动是什么: the agenda, not what the word means
            if asked is not None:
                return help_, stem
            # 请假条怎么写, 请假要找谁, 学习要怎么记: a question about the command its
            # words begin with, never the command with the question as its argument.
            for word_ in sorted(self._by_word, key=len, reverse=True):
                if len(word_) >= 2 and stem.startswith(word_) and not stem.startswith(
                        word_ + "的"):
                    return help_, self._by_word[word_].name
        return None

    def _glued(self, head: str) -> tuple[Command, str] | None:
        for word_ in sorted(self._by_word, key=len, reverse=True):
            if not head.casefold().startswith(word_) or head.casefold() == word_:
                continue
            remainder = head[len(word_):]
            if remainder.strip(":：") == "":
                return self._by_word[word_], ""  # 请假: 值班, the colon typed with the word
            # 学习：理论 45分钟, 补签：张三 手机没电: the colon is the word's, not the kind's
            # or the name's (a kind「:理论」was recorded).
            remainder = remainder.lstrip(":：")
            if remainder.startswith("一下") and len(remainder) > 2:
                remainder = remainder[2:]  # 补签一下张三: the name is 张三
            # A one-character word (到) only takes a particle (到了); longer ones take
            # any argument glued on (请假家里有事), less the 了 that says it is done
            # (学习了一小时).
            if remainder.startswith("的"):
                continue  # 请假的说一下, 签到的人: a phrase about it, not the command
            command = self._by_word[word_]
            if any(len(longer) > len(word_) and longer.startswith(word_)
                   and _without_particle(head).endswith(longer[len(word_):])
                   for longer in (command.name, *command.aliases)):
                continue  # 批准张三请假: 批准请假 around 张三 (_around), not 批准 张三请假
            takes = command.args
            if len(remainder) == 1 and not is_particle(remainder) and takes and (
                    takes[0].kind == "rest"):
                continue  # 请假条, 请假单: a word of its own, not leave with the reason 条
            if len(word_) >= 2 or is_particle(remainder):
                if len(remainder) > 1 and remainder[0] == "了" and remainder[:2] not in (
                        "了解", "了结"):  # 请假了解情况: a word, not tone
                    remainder = remainder[1:]
                return self._by_word[word_], remainder
        return None

    def signed_by(self, text: str) -> tuple[Command, str] | None:
        """(a command people sign, the name it is signed with) for 李明签到, 李明 签到,
        签到 李明 and 帮李明签到 (see Command.for_another); None for anything else. The
        name is only shaped like one: whose it is, the caller asks the roster."""
        head, tail = _first_word(text.strip())
        second, more = _first_word(tail)
        if more:
            return None
        head, second = _without_particle(head), _without_particle(second)  # 李明签到了
        if head.startswith("@"):
            # @王书记 签到, @王书记签到: whom the member speaks to, as they check in; only a
            # mention after the command names another (签到 @张强).
            return None
        for name, said in ((head, second), (second, head)):  # 李明 签到, 签到 李明
            command = self.get(said) if name else None
            if command is not None and command.for_another is not None:
                return _named(command, name)
        if second:
            return None
        for word_ in sorted(self._by_word, key=len, reverse=True):  # 李明签到
            command = self._by_word[word_]
            if command.for_another is not None and head.endswith(word_):
                return _named(command, head[:-len(word_)])
        return None

    def suggest(self, text: str) -> str | None:
        """The command a near miss meant ('签道' → '签到'), for 你是想发送「签到」吗？; for
        a member saying they can't come (我今天有事来不了), the leave that says so. It is
        only suggested: a record is made by the member's own 请假."""
        if _CANT_COME.search(text) and self.get("请假") is not None:
            return f"请假 {text}" if len(text) <= 30 else "请假 原因"
        asked_of = _OTHERS_CHECKED_IN.match(text)
        who = asked_of["who"] if asked_of is not None else None
        if (asked_of is not None and self.get(_MISSING_WORD) is not None
                and not (who and (self.get(who) or self.get(who + CHECK_IN_WORD)))):
            # 张三签到了吗, @李明 签到了吗: who has not is 未签到's (截止签到了吗 is not)
            return _MISSING_WORD
        words = SEPARATOR_RE.split(text)
        leave = self.get("请假")
        if leave is not None and any(_without_particle(w) == leave.name for w in words[1:]):
            # 今晚执勤，请假: the reason first. Shown how, never taken: 周强 请假 值班 may be
            # for another, which 请假 then refuses by name.
            said = " ".join(w for w in words if _without_particle(w) != leave.name)
            return f"{leave.name} {said}" if len(said) <= 30 else f"{leave.name} 原因"
        spelled = _SPELLED.get(SEPARATOR_RE.sub("", text).casefold())
        if spelled is not None and self.get(spelled) is not None:
            return spelled  # qiandao, sign in: told the word, never taken for it
        head, tail = _first_word(text)
        if tail and pleasantry(head) is not None:
            # 收到，会准时参加: 收到 is one letter from 报到, and acknowledges, it is no slip;
            # what follows may be one (收到，签道).
            return self.suggest(tail)
        words = [w for c in self.commands for w in (c.name, *c.aliases)]
        meant = closest_word(head, words)
        denied = _NOT_NOW.search(head) or _SOON_SAID.search(head)
        if meant is not None and denied is not None and denied.group() not in meant and (
                meant in _ARRIVING or self._by_word[meant].acts):
            return None  # 我不来了, 还没结束: not to be told to send 我来了 or 活动结束
        if meant is not None and "家" in head and self._by_word[meant].for_another is not None:
            return None  # 我到家了, 我回家了: one at home is not to be told to check in
        return meant


# Words people put before a command: 我要签到, 帮我看看积分, 查一下积分; longest first.
# 忘记签到了 is 签到: still in its window it counts, past it the reply says to ask for 补签.
# 发一下周报: what a leader asks for, as 周报发我一下 asks it after.
_FILLERS = ("看一下", "查一下", "发一下", "我要", "我想", "我来", "我的", "帮我", "麻烦", "看看",
            "查看", "查询", "看下", "查下", "发下", "已经", "忘记", "忘了", "本人", "申请", "我",
            "查", "看", "已", "想", "先")
# After these, 到 is the verb's own (看到了, 查到了, 想到了: seen, found, thought of), never
# 签到's 到.
_SEEING = ("看", "查", "看看", "查看", "看下", "查下", "想", "我想")
# Said before a command word, these say it is not done (我不来了, 先别确认缺席, 还没结束, 是不是
# 结束了) or not now (我明天来, 等会签到, 差不多结束了): never the command.
_NOT_NOW = re.compile(r"不|没|别|未|甭|勿|莫|差不多|一会|待会|等会|等下|晚点|晚些|稍后|明天|明晚|后天"
                      r"|下次")
# 我还没签到 says the act is not done yet: it is asked for, and done now.
_NOT_YET = re.compile(r"还?没有?")
# These say it is about to be. Of arriving (我马上来了, 我快到了) or of what acts for others
# (快结束了, 签到要结束了, 要开始了) that is not yet; of a command said by its name it is
# now (我马上签到, 我也要签到).
_SOON_SAID = re.compile(r"马上|立马|快|要|将|即将|就")
# The words of 签到 that say one has come, which "soon" makes not yet.
_ARRIVING = frozenset({"到", "到了", "来", "来了", "我来了"})


def _without_self(said: str) -> str:
    """What is said before a command less the speaker said last (夜学我要 → 夜学)."""
    for self_ in ("我要", "我想", "我也", "我"):
        if said.endswith(self_) and len(said) > len(self_):
            return said[:-len(self_)]
    return said


def _unfilled(head: str) -> list[str]:
    """The first word and what is left of it as each filler before a command is taken off,
    however many (帮我看看积分 → 我看看积分 … → 积分; 我看到了 stops at 看到了, which is no 到),
    so that a command that begins with a filler (查一下我的请假: 我的请假) is found before the
    shorter one inside it (请假)."""
    found = [head]
    stripped = True
    while stripped:
        stripped = False
        for filler in _FILLERS:
            rest_ = head[len(filler):]
            if not head.startswith(filler) or not rest_:
                continue
            if filler in _SEEING and rest_.startswith("到"):
                return found
            head, stripped = rest_, True
            found.append(head)
            break
    return found


def _said_twice(text: str) -> str | None:
    """What a message says twice over or more (签到签到, 签到 签到, 到到到), once; None for
    anything else."""
    for size in range(1, len(text) // 2 + 1):
        if len(text) % size == 0 and text[:size] * (len(text) // size) == text:
            return text[:size]
    words = text.split()
    if len(words) > 1 and all(w == words[0] for w in words):
        return words[0]
    return None


_WRAPPED = re.compile(r"[（(【\[](?P<said>[^（()）【】\[\]]+)[）)】\]]")
_DASHED_BEFORE = re.compile(r"^(?:-+|—+|－+|~+|～+)\s*(?=\D)")


def _unwrapped(said: str) -> str:
    """Free words less the brackets round them all or the dash before them, which set them
    off from the command (请假（值班）, 请假——值班): the reason was stored 「（值班）」. A dash
    before a number is its sign."""
    whole = _WRAPPED.fullmatch(said)
    if whole is not None:
        return whole["said"].strip()
    return _DASHED_BEFORE.sub("", said)


def _without_particle(head: str) -> str:
    """The first word less a particle of one or two characters closing it (结束了, 补签一下)."""
    for particle in (1, 2):
        if len(head) > particle and is_particle(head[-particle:]):
            return head[:-particle]
    return head


# Thanks said after a command and its words (请假 出差，谢谢书记; 学习 理论 45 谢谢; 结束。谢谢):
# courtesy, no part of the reason, the material or anything it reads.
_THANKS_AFTER = re.compile(r"(?:^|[\s,，、;；。!！])(?:谢谢|多谢|感谢|麻烦|辛苦)(?:您|你|了|啦|书记|领导"
                           r"|大家)*[\s。.!！~～]*$")
# Whom a message speaks to before its command (王书记，请假 值班; 报告书记; 书记好), or the
# greeting of the hour or to all (早上好，签到; 大家好; 各位领导好).
_ADDRESSED = re.compile(r"(?:报告)?(?:[\u4e00-\u9fff]{1,3}书记|书记|领导|组织)?(?:好|您好|你好)?"
                        r"|(?:早上|上午|中午|下午|晚上|大家|各位|各位领导|领导们)好")
_TODAY = ("今天", "今日", "今晚", "今早")  # 今天下午签到 is today's
# Of _WHEN, those said before the moment comes: 马上开始 starts (Command.soon_is_now), 马上结束
# ends nothing yet.
_SOON_WHEN = frozenset({"马上", "准备"})
_PART_FIRST = re.compile(r"^(?:上午|下午|晚上|早上|中午|晚)的?")
# A day as people write it at the start of words: 明天, 周三, 12月2日, and also 12.2, 12/2,
_NEXT_TIME = re.compile(r"下一?次(?:的)?(?=\S)")
# A day gone by said first (昨天谁没来, 上周四谁请假了): only to a command that shows what a
# day held (昨天补签 is still asked which and whose); it was 你是想发送「谁没来」吗, the
# question left unanswered.
_DAY_BEHIND = re.compile(r"(?:大前天|前天|昨天|昨日|昨晚上?|前晚"
                         r"|上上?个?(?:周|星期|礼拜)[一二三四五六日天])(?=\S)")
# Next week said before a command (下周请假 出差): 下周二 is DAY_AHEAD's, read before it.
_NEXT_WEEK = re.compile(r"下(?:下)?(?:一|个)?(?:周|星期|礼拜)(?![一二三四五六日天七1-7末])")
# 2号 (which DAY_AHEAD leaves out: said before a command they are too loose).
_A_DAY = re.compile(rf"(?:{DAY_AHEAD.pattern}|\d{{1,2}}[./]\d{{1,2}}|\d{{1,2}}[号日])"
                    r"(?:上午|下午|晚上|早上|中午|晚)?")
# What an infix verb may follow: a day and an activity (下下周三晚上的主题党日), not a sentence.
_INFIX_BEFORE_MAX = 16
# Which one, said before the activity: 这次, 下周, 下下周三晚上, 今晚, 从12月2日, and its
# hour (12月2日19:30的夜学: one of two held that day).
_INFIX_WHICH = re.compile(rf"从?(?:{_A_DAY.pattern}|(?:这|本|下下|下一?)(?:一?次|个?(?:周|星期|礼拜)))?"
                          r"\s*(?:\d{1,2}(?:[:：]\d{2}|[点时](?:半|\d{1,2}分?)?))?")
# And what it is changed to is a day or an hour, as a whole word (改到周四, 推迟到20:00, 改到
# 八点半, 改到周四 19:30 开庭): 党日活动改在三楼会议室 changes the room, which no command
# does, and 改到周四了 passes on news.
_NEW_TIME = re.compile(rf"(?=\S)(?:{_A_DAY.pattern})?\s*(?:(?:上午|下午|晚上|早上|中午|晚)?\s*"
                       r"(?:\d{1,2}|[一二三四五六七八九十两]{1,3})\s*"
                       r"(?:[:：.]\s*\d{2}|[点时](?:半|整|[0-9一二三四五六七八九十]{1,3}分?)?))?"
                       r"(?<=\S)(?=$|[\s,，、;；])")


def _names_one(before: str, said_first: frozenset[str]) -> bool:
    """Whether the words before an infix verb are an activity and which one of it, no more:
    听说夜学, 下周夜学是不是 and 夜学签到时间 are talk about it."""
    ends = [word for word in said_first if before.endswith(word)]
    if not ends:
        return False
    which = before[:-len(max(ends, key=len))].strip().removesuffix("的")
    return _INFIX_WHICH.fullmatch(which) is not None
# Said with a command's short verb, these name no more than the command (活动取消).
_NAMES_THE_COMMAND = frozenset({"活动"})
# Around the activity said before 开始 or 结束: who says it and which one (宣布, 本次, 今晚的)
# and how it went (到此, 圆满, 就到这里), none of them the activity's name.
_OPENING = re.compile(r"^(?:宣布|好了|好|那么|那|今天的|今晚的|今天|今晚|本次|本期|这次|这期|此次)+")
_CLOSING = re.compile(r"(?:就到这里|到这里|到此|就此|圆满|顺利|正式|已经|已|全部|都|刚刚|刚|就)+$")
# What 结束 is said of when it names no activity: the meeting (会议结束, 今天的会议结束了).
_THE_MEETING = re.compile(r"会议|活动|会|签到|学习|培训|课")
# Said before 开始 or 结束, these say when, not what: 现在开始 is 开始 with nothing named.
_WHEN = frozenset({"现在", "马上", "准备", "正式", "那就", "先", "今天", "今晚", "下面", "这就"})
# Said alone before 开始 or 结束, asking politely: 请开始 夜学 is 开始 夜学 (never cut off a
# longer word: 邀请开始 names nothing).
_POLITE = frozenset({"请", "请大家", "麻烦"})
# A member saying they can't come: 请假 is suggested (see CommandRegistry.suggest).
_CANT_COME = re.compile("来不了|去不了|参加不了|到不了|不能参加|不能来|没法参加|没法来|去不成|来不成"
                        "|不来了|不去了|不参加了")
# Asked before 开始: when it starts, which 日程 answers (几点开始, 什么时候开始).
AGENDA_WORD = "日程"
_WHEN_ASKED = ("几点", "什么时候", "啥时候", "几时", "哪天", "几号", "何时")
# Asked with no command in it, these are about what is coming (今天有活动吗, 党日是哪天):
# the agenda answers, and reading it changes nothing.
_AGENDA_ASKED = re.compile("|".join((*_WHEN_ASKED, "有活动", "有没有活动", "什么活动", "啥活动",
                                     "哪些活动",
                                     "有(?:没有)?(?:夜学|党日|主题党日|党课)")))
# Words that put the command on someone else: 我帮他签到.
_FOR_ANOTHER = "帮替代给"
# Whose it is, said before 的, when it is the sender's own (我自己的积分).
_ONES_OWN = frozenset({"我", "自己", "我自己", "本人", "个人", "我个人"})
# Before a name and a command done for that member (Command.done_for): 给赵磊补签.
_FOR_WHOM = "给帮替"
# Said between 帮 and the command, these are no name: 帮忙补签 asks for help with it.
_NOT_A_NAME = frozenset({"忙", "一下", "我", "我们", "大家"})
_NAME_MAX_CHARS = 8  # a name with its title (欧阳建国同志), never a sentence
# How a question ends (签到了吗, 结束了没): a command that acts is not set off by one.
_QUESTION_ENDS = ("吗", "么", "嘛", "没", "没有", "呢")  # 结束了嘛: 嘛 as 吗, typed by many
_TONE_AFTER = "啊呀哈"  # 结束了吗啊, 结束了没呀: still asked
# Asked whether to check in (签到吗, 今天签到吗, 打卡吗: is there one?) or whether others
# have come (来了吗, 到了没): nobody is counted for asking. 签到了吗 and 签到没 ask of one's
# own check-in and still count the asker (see Command.acts).
_WHETHER_CHECK_IN = re.compile(r"(?:(?:签到|打卡|报到|qd)(?:吗|么|嘛|呢)"
                               r"|(?<![签报])(?:到|来)了?(?:吗|么|嘛|呢|没有?))[啊呀哈]*$")
CHECK_IN_WORD = "签到"
# Words about one's own lateness or apology after 签到 (来晚了, 路上堵车, 不好意思, （迟到了）),
# made of these words only: any other (不了, 来不了, 请假, a name, 帮张三签) may say the member
# is not coming or speaks of another, and one such was checked in as present.
_LATE_WORDS = (r"来晚了?|晚到了?|晚了|迟到了?|堵车了?|塞车了?|堵了?|不好意思|抱歉|久等了?"
               r"|刚到|刚下班|刚忙完|路上|我|有点|有些|稍微|一点|太|今天|大家|各位|了|啦|哈|啊|呀")
_LATE_SAID = re.compile(rf"[\s，,。.！!~～、（(）)【\[】\]]*(?:(?:{_LATE_WORDS})"
                        r"[\s，,。.！!~～、（(）)【\[】\]]*)+")
# Of those, the words that say one is late (我了 alone says nothing of it).
_LATE_CORE = re.compile(r"来晚|晚到|晚了|迟到|堵|塞车|不好意思|抱歉|久等|刚到|刚下班|刚忙完|路上")


def _late_said(words: str, activities: frozenset[str]) -> bool:
    """Whether the words after 签到 only say why one is late (路上堵车来晚了), maybe after the
    activity it ignores anyway (签到 夜学 来晚了)."""
    named = next((a for a in sorted(activities, key=len, reverse=True) if words.startswith(a)), "")
    words = words[len(named):]
    return _LATE_SAID.fullmatch(words) is not None and _LATE_CORE.search(words) is not None


# Asked whether others have checked in (张三签到了吗, @李明 @周强 签到了没, 大家都签到了吗):
# 未签到 answers it. 我签到了吗 is the asker's own (a check-in), 今天要签到吗 asks whether to.
_OTHERS_CHECKED_IN = re.compile(r"(?:(?:@\S+\s*)+|(?P<who>[\u4e00-\u9fff·]{2,8}?)\s*)"
                                r"(?:今天|今晚|都)?签到了(?:吗|么|嘛|没有?)[啊呀哈]*$")
_MISSING_WORD = "未签到"
# The commands members use most, spelled in pinyin or English by one without Chinese input
# at hand (qd, typed in a hurry, is 签到's own alias).
_SPELLED = {"qiandao": "签到", "signin": "签到", "checkin": "签到", "daka": "签到",
            "qingjia": "请假", "jifen": "积分", "xuexi": "学习", "bangzhu": "帮助"}
# A question about where something stands: approved yet (批了吗, 批准了没, 通过了没有).
# 请假要审批吗 and 请假能批吗 ask how it goes, not where one's own stands.
_STATUS_ASKED = re.compile(r"(?:批|批准|通过|准)了(?:吗|么|没有?)$")
# A period said before a command: 上周周报, 本月红黄蓝榜.
_PERIOD_AHEAD = re.compile(r"(?:上周|本周|这周|上月|本月|这个月|上个月|今年|本年"
                           # 11月的红黄蓝榜: a month by its number, not a day of it (11月5日)
                           r"|(?:\d{4}年)?(?:\d{1,2}|[一二三四五六七八九十]{1,3})月份?"
                           r"(?![\d一二三四五六七八九十]|底|初|中))")
# A question after a command that needs nothing: 积分多少 is 积分, 日程安排 is 日程.
_ASKING = frozenset({"多少", "是多少", "有多少", "多少分", "几分", "查询", "查看", "查一下",
                     "情况", "安排", "统计", "什么时候", "是什么时候", "呢",
                     "发我", "发我一下", "发一下", "给我", "给我看看", "看一下",
                     # 积分多少了, 我签到了没, 签到成功了吗: asked of what it shows or does
                     "多少了", "有多少了", "没", "没有", "成功", "成功没", "成功了吗",
                     "成功了没", "成功没有",
                     # 积分排名第几, 排行榜我第几名: the rank it shows (was read as a period)
                     "第几", "第几名", "排第几", "排第几名", "我第几", "我第几名",
                     # 我的学习时长: how long, which it shows
                     "时长", "多久", "多长时间",
                     # 红黄蓝榜出来了吗: whether it is out, which showing it answers
                     "出来了吗", "出来了没", "出来没", "出来了没有", "出了吗", "出来了么"})
# Of those, what asks whether one's own is done (我签到了没, 签到成功了吗): 签到 counts the asker.
_OWN_DONE_ASKED = frozenset({"没", "没有", "成功", "成功没", "成功了吗", "成功了没", "成功没有"})
# How people ask how a command works: before it (怎么请假) or after it (签到怎么弄).
HELP_WORD = "帮助"
_HOW = ("怎么", "如何", "怎样")
_HOW_AFTER = ("怎么弄", "怎么用", "怎么办", "怎么写", "怎么发", "怎么操作",
              "流程", "规定", "格式", "说明", "制度",  # 请假流程: not leave with the reason 流程
              "找谁", "问谁", "跟谁说",  # 请假找谁: a question, not leave
              "是什么", "是啥", "是什么意思", "什么意思",  # 签到是什么: not a check-in
              "有什么用", "有啥用", "怎么记", "怎么填", "怎么登记", "怎么请",
              # 销假怎么销 took the leave back: how to undo or make up, asked
              "怎么销", "怎么撤", "怎么撤回", "怎么撤销", "怎么取消", "怎么补", "怎么改",
              "怎么更正",
              # 签到在哪里 asks where to, never checks in one who may be elsewhere;
              # 学习资料在哪 asks for them, not for 学习 of a kind called 资料在哪.
              "在哪", "在哪里", "在哪儿")
_WHAT = ("是什么", "是啥")


def _trimmed(said: str) -> str:
    """What is said before 开始 or 结束 less who says it and how it went (_OPENING,
    _CLOSING): 今晚的政治夜学到此 is 政治夜学, 今天就到这里 nothing."""
    return _CLOSING.sub("", _OPENING.sub("", said)).removesuffix("的").removesuffix("活动")


# What is held, said after a question about when (下次什么时候开会, 下次什么时候搞活动, 夜学):
# never a branch's name.
_HELD = re.compile(r"会|活动|学|课|培训|党日|开|搞|办|举行|举办")


def _asks_when_held(command: Command, text: str, arg_text: str, asked: bool) -> bool:
    """Whether the words after a command that takes an optional branch alone ask when
    something is held (下次什么时候开会？), not which branch: a question, and the words
    name what is held. The caller still tries them as a branch first."""
    if not command.args or command.args[0].kind != "branch" or not all(
            a.optional for a in command.args):
        return False
    said = arg_text.rstrip(_TONE_AFTER).rstrip("？?")
    for end in sorted(_QUESTION_ENDS, key=len, reverse=True):
        if said.endswith(end) and len(said) > len(end):
            said = said[:-len(end)]
            break
    question = (asked or any(word in text for word in _WHEN_ASKED) or said != arg_text)
    return question and " " not in said and _HELD.search(said) is not None


def _named_before(command: Command, said: str, tail: str) -> tuple[Command, str] | None:
    """What 开始 or 结束 is said of, said before it: the activity, kept for its argument
    (夜学结束, 今晚的政治夜学到此结束, 本次夜学圆满结束); the meeting or how it went, nothing
    named (会议结束, 好了结束, 今天就到这里结束); else None (我这边结束了: the speaker's own
    part, not the meeting)."""
    first = command.args[0] if command.args else None
    known = first.known if first is not None else None
    trimmed = _trimmed(said)
    if first is not None and known is not None and trimmed and known(trimmed) and not known(said):
        said = trimmed  # 本次夜学结束: 夜学
    if first is not None and not (first.strict and known is not None and not known(said)):
        return command, f"{said} {tail}".strip()
    if not trimmed or _THE_MEETING.search(trimmed):
        return command, tail
    return None


def _named(command: Command, said: str) -> tuple[Command, str] | None:
    """The command and the name said with it (帮 and the like dropped, and the @ of a
    mention after the command: 签到 @李明 names him as 签到 李明 does), if it is one."""
    said = said.removeprefix("@")
    name = said[1:] if said[:1] in _FOR_WHOM and len(said) > 2 else said
    if (not 2 <= len(name) <= _NAME_MAX_CHARS or name in _NOT_A_NAME
            or not all("\u4e00" <= c <= "\u9fff" or c == "·" for c in name)):
        return None
    return command, name


def _first_word(text: str) -> tuple[str, str]:
    parts = SEPARATOR_RE.split(text, maxsplit=1)
    head = parts[0]
    tail = parts[1].strip() if len(parts) > 1 else ""
    return head, tail


def shorten(text: str, limit: int = 20) -> str:
    """A piece of what someone wrote, short enough to quote back in a group."""
    return text if len(text) <= limit else text[:limit] + "…"


def usage_text(command: Command, problem: str) -> str:
    """The answer to bad arguments: what is wrong, in words, and one example."""
    lines = [f"{problem.rstrip('。')}。"]
    if command.example:
        lines.append(f"例如：{command.example}")
    else:
        lines.append(f"发送「帮助 {command.name}」查看写法。")
    return "\n".join(lines)
