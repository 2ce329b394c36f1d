"""A record names its day as people say it: 补签 张三 昨天 手机没电, 更正 李四 缺席 上周五 代签,
补签 张三 30号 …, 补签 张三 周二 夜学 …. What is recorded is past, so a bare weekday or day of
the month is the latest one; a day to come, or one that does not exist, is refused and
nothing changes.

What a user notices: the record of the day named changes, not the latest activity's, and
the reply names the activity and its day.
"""

from __future__ import annotations

from datetime import date

import pytest
from sqlmodel import Session, func, select

from bot.domain.dates import DateError, find_record_day
from bot.domain.text import parse_date
from storage.models import Activity, Attendance, AuditEntry, Member, PointEntry, Role
from tests.conftest import SHANGHAI, local
from tests.factories import bind_chat, make_branch, make_member, seed

pytestmark = pytest.mark.words  # the SQLite pass only (tests/conftest.py)

THURSDAY = date(2026, 12, 3)


# --- the days, pure --------------------------------------------------------------------


@pytest.mark.parametrize(("said", "day"), [
    ("昨天", date(2026, 12, 2)),
    ("昨日", date(2026, 12, 2)),
    ("前天", date(2026, 12, 1)),
    ("大前天", date(2026, 11, 30)),
    ("上周四", date(2026, 11, 26)),
    ("上星期日", date(2026, 11, 29)),
    ("上上周一", date(2026, 11, 16)),
    ("上个周四", date(2026, 11, 26)),  # with 个, as spoken (was no day)
    ("上个星期五", date(2026, 11, 27)),
    ("9號", date(2026, 11, 9)),  # traditional input
    ("周二", date(2026, 12, 1)),  # the last Tuesday
    ("周四", THURSDAY),  # today is the latest Thursday
    ("周五", date(2026, 11, 27)),
    ("9号", date(2026, 11, 9)),  # the last 9th
    ("3日", THURSDAY),
    ("30号", date(2026, 11, 30)),
    ("12月1日", date(2026, 12, 1)),
])
def test_a_day_past_is_the_latest_such_day(said, day):
    assert parse_date(said, THURSDAY, past=True) == day


@pytest.mark.parametrize(("said", "day"), [
    ("周二", date(2026, 12, 8)),  # leave and schedules: the next Tuesday
    ("9号", date(2026, 12, 9)),
    ("1月5日", date(2027, 1, 5)),
    ("上周四", date(2026, 11, 26)),  # said with its week, the same either way
    ("昨天", date(2026, 12, 2)),
])
def test_without_past_a_bare_day_is_still_the_next_one(said, day):
    assert parse_date(said, THURSDAY) == day


def test_a_month_and_day_past_is_last_years_only_across_new_year():
    assert parse_date("12月30日", date(2027, 1, 2), past=True) == date(2026, 12, 30)
    # Three weeks ahead is a day to come, for the caller to refuse, not last year's.
    assert parse_date("12月24日", THURSDAY, past=True) == date(2026, 12, 24)


@pytest.mark.parametrize(("text", "day", "rest"), [
    ("昨天 手机没电", date(2026, 12, 2), "手机没电"),
    ("昨晚 在值班室学习", date(2026, 12, 2), "在值班室学习"),
    ("前天的夜学 手机没电", date(2026, 12, 1), "夜学 手机没电"),
    ("12月1日的夜学 手机没电", date(2026, 12, 1), "夜学 手机没电"),
    ("周二，夜学 手机没电", date(2026, 12, 1), "夜学 手机没电"),
    ("9号 在场", date(2026, 11, 9), "在场"),
    ("明天 在场", date(2026, 12, 4), "在场"),  # returned, for the caller to refuse
])
def test_a_record_day_is_read_from_the_start_of_the_text(text, day, rest):
    found = find_record_day(text, THURSDAY)
    assert found is not None and (found.first, found.rest) == (day, rest)


@pytest.mark.parametrize("text", ["手机没电", "3号楼值班", "周二夜学时手机没电", "昨天他说了", ""])
def test_words_that_only_start_like_a_day_are_no_day(text):
    assert find_record_day(text, THURSDAY) is None


def test_a_day_that_does_not_exist_is_said_so():
    with pytest.raises(DateError, match="没有2月30日这一天"):
        find_record_day("2月30日 在场", THURSDAY)


# --- 补签 and 更正, end to end ------------------------------------------------------------


@pytest.fixture
def branch(runtime):
    def build(session):
        cg = make_branch(session, "城关支部")
        make_member(session, cg, "李书记", role=Role.SECRETARY, wecom="sec")
        make_member(session, cg, "张三", wecom="z3")
        make_member(session, cg, "李四", wecom="l4")
        bind_chat(session, cg, "g1")
    seed(runtime.engine, build)


def night_study(chat, clock, when, *, present=("sec",)):
    """A night study held and its absences confirmed."""
    clock.set(when)
    chat.say("sec", "开始 夜学", chat="g1")
    for user in present:
        chat.say(user, "签到", chat="g1")
    chat.say("sec", "结束", chat="g1")
    assert not chat.say("sec", "确认缺席", chat="g1").is_error


def statuses(engine, name: str) -> dict[date, str]:
    """The member's record, by the day of each activity."""
    with Session(engine) as s:
        member = s.exec(select(Member).where(Member.name == name)).one()
        rows = s.exec(select(Activity.starts_at, Attendance.status).join(
            Activity, Activity.id == Attendance.activity_id).where(
            Attendance.member_id == member.id)).all()
    return {when.astimezone(SHANGHAI).date(): status for when, status in rows}


def everything(engine) -> tuple:
    with Session(engine) as s:
        return (s.exec(select(PointEntry.id)).all(),
                s.exec(select(Attendance.id, Attendance.status)).all(),
                s.exec(select(func.count()).select_from(AuditEntry)).one())


@pytest.fixture
def two_night_studies(runtime, chat, clock, branch):
    """Friday 27 and Monday 30 November, 19:30; 张三 and 李四 absent from both. Now it is
    Tuesday 1 December, 10:00."""
    night_study(chat, clock, local(2026, 11, 27, 19, 30))
    night_study(chat, clock, local(2026, 11, 30, 19, 30))
    clock.set(local(2026, 12, 1, 10, 0))


def test_a_make_up_for_a_day_said_reaches_that_days_activity(runtime, chat, two_night_studies):
    fri, mon = date(2026, 11, 27), date(2026, 11, 30)

    reply = chat.say("sec", "补签 张三 上周五 手机没电", chat="g1")

    assert "已为 张三 补签：政治夜学（11月27日 19:30）" in reply.text, reply.text
    assert "原因：手机没电" in reply.text
    assert statuses(runtime.engine, "张三") == {fri: "makeup", mon: "absent"}

    assert "补签：政治夜学（11月30日 19:30）" in chat.say("sec", "补签 张三 昨天 在值班室学习",
                                                     chat="g1").text
    assert statuses(runtime.engine, "张三") == {fri: "makeup", mon: "makeup"}


@pytest.mark.parametrize("said", ["周五 夜学", "27号", "上周五的夜学", "11月27日",
                                  # the day and the activity written as one word
                                  "周五夜学", "上周五夜学", "11月27日夜学",
                                  # a phone's dot and 号 (the latest was made up instead)
                                  "11.27号", "11.27号的夜学"])
def test_a_bare_weekday_or_day_of_the_month_is_the_last_one(runtime, chat, two_night_studies,
                                                            said):
    reply = chat.say("sec", f"补签 李四 {said} 当晚在场", chat="g1")
    assert "补签：政治夜学（11月27日 19:30）" in reply.text and "原因：当晚在场" in reply.text
    assert statuses(runtime.engine, "李四")[date(2026, 11, 27)] == "makeup"


@pytest.mark.parametrize("said", ["19:30的夜学", "刚才的夜学", "晚上的夜学"])
def test_the_activity_said_with_its_hour_is_the_one_made_up(runtime, chat, clock,
                                                             two_night_studies, said):
    # 补签 张三 19:30的夜学 … made up the theme day held since: the activity was not read.
    clock.set(local(2026, 12, 1, 9, 0))
    chat.say("sec", "开始 主题党日", chat="g1")
    chat.say("sec", "签到", chat="g1")
    chat.say("sec", "结束", chat="g1")
    clock.set(local(2026, 12, 1, 11, 0))
    reply = chat.say("sec", f"补签 张三 {said} 手机没电", chat="g1")
    assert "补签：政治夜学（11月30日 19:30）" in reply.text, reply.text
    assert statuses(runtime.engine, "张三")[date(2026, 11, 30)] == "makeup"
    assert statuses(runtime.engine, "张三").get(date(2026, 12, 1)) != "makeup"


@pytest.mark.parametrize("said", ["手机没电，上周五", "手机没电 27号的夜学", "手机没电，周五夜学",
                                  "手机没电，11月27日 夜学"])
def test_the_day_said_after_the_reason_is_the_one_made_up(runtime, chat, two_night_studies,
                                                          said):
    """补签 李四 手机没电，上周五: the day after the reason was taken for part of it, and the
    latest night study (Monday's) was made up instead."""
    reply = chat.say("sec", f"补签 李四 {said}", chat="g1")
    assert "补签：政治夜学（11月27日 19:30）" in reply.text and "原因：手机没电" in reply.text, (
        reply.text)
    assert statuses(runtime.engine, "李四") == {date(2026, 11, 27): "makeup",
                                               date(2026, 11, 30): "absent"}


def test_words_after_the_reason_that_are_no_day_stay_the_reason(runtime, chat,
                                                                 two_night_studies):
    reply = chat.say("sec", "补签 李四 手机没电，已核实", chat="g1")
    assert "补签：政治夜学（11月30日 19:30）" in reply.text, reply.text
    assert "原因：手机没电，已核实" in reply.text


@pytest.fixture
def two_attended(runtime, chat, clock, branch):
    """As two_night_studies, but everyone checked in at both."""
    present = ("sec", "z3", "l4")
    night_study(chat, clock, local(2026, 11, 27, 19, 30), present=present)
    night_study(chat, clock, local(2026, 11, 30, 19, 30), present=present)
    clock.set(local(2026, 12, 1, 10, 0))


def test_a_correction_reaches_the_day_said(runtime, chat, two_attended):
    reply = chat.say("sec", "更正 张三 缺席 上周五 他人代签")

    assert "在政治夜学（11月27日 19:30）的记录由出席更正为缺席" in reply.text, reply.text
    assert statuses(runtime.engine, "张三") == {date(2026, 11, 27): "absent",
                                               date(2026, 11, 30): "present"}


def test_a_correction_may_name_the_day_before_the_record(runtime, chat, two_attended):
    """更正 李四 昨天的夜学 请假 …, as people also say it; a day with no activity, or words
    before the status that name none, change nothing."""
    before = everything(runtime.engine)
    sunday = chat.say("sec", "更正 李四 前天的夜学 请假 临时出警")
    assert sunday.is_error and "没有找到11月29日政治夜学的活动" in sunday.text, sunday.text
    assert sunday.text.endswith("例如：更正 张三 缺席 他人代签")  # the status, then why
    attended = chat.say("sec", "更正 李四 出席 缺席 代签")
    assert attended.is_error and "李四 在政治夜学（11月30日 19:30）已记为出席，没有迟到" in attended.text
    no_reason = chat.say("sec", "更正 李四 上周五 请假")
    assert no_reason.is_error and "缺少更正原因" in no_reason.text
    assert everything(runtime.engine) == before

    reply = chat.say("sec", "更正 李四 昨天的夜学 请假 临时出警")

    assert "在政治夜学（11月30日 19:30）的记录由出席更正为请假" in reply.text, reply.text
    assert "原因：临时出警" in reply.text
    reply = chat.say("sec", "更正 张三 11月27日 夜学 缺席 他人代签")
    assert "在政治夜学（11月27日 19:30）的记录由出席更正为缺席" in reply.text, reply.text
    assert statuses(runtime.engine, "李四") == {date(2026, 11, 27): "present",
                                               date(2026, 11, 30): "leave"}


@pytest.mark.parametrize(("said", "problem"), [
    ("补签 张三 明天 手机没电", "12月2日还没到：补签记的是已经举行的活动，记录保持不变"),
    ("补签 张三 下周一 手机没电", "12月7日还没到"),
    ("补签 张三 12月24日 手机没电", "12月24日还没到"),
    ("更正 张三 缺席 明天 代签", "12月2日还没到：更正记的是已经举行的活动"),
    ("补签 张三 2月30日 在场", "没有2月30日这一天，记录保持不变"),
    ("补签 张三 32号 在场", "没有32号这一天"),
    ("补签 张三 周日 在场", "没有找到11月29日的活动，记录保持不变。不写日期和活动就是最近一次。"
                        "例如：补签 张三 手机没电"),
    ("补签 张三 昨天", "缺少补签原因"),
])
def test_a_day_to_come_or_none_at_all_changes_nothing(runtime, chat, two_night_studies, said,
                                                      problem):
    before = everything(runtime.engine)
    reply = chat.say("sec", said, chat="g1")
    assert reply.is_error and problem in reply.text, reply.text
    if "还没到" in problem or "这一天" in problem:
        assert "日期可以写昨天、前天、上周四" in reply.text  # and how to write it
    assert everything(runtime.engine) == before


@pytest.mark.parametrize("said", ["周五晚 当晚在场", "周五晚的夜学 当晚在场", "上周5 当晚在场",
                                  "周5 当晚在场", "11月27日晚夜学 当晚在场",
                                  "上周五晚七点半的夜学 当晚在场"])
def test_a_make_up_for_a_day_said_colloquially_does_not_hit_the_latest(
        runtime, chat, two_night_studies, said):
    """周五晚, 周5, an hour after the day: not read as days, so the latest night study (the
    30th) was made up instead of Friday the 27th's."""
    reply = chat.say("sec", f"补签 李四 {said}", chat="g1")
    assert "11月30日" not in reply.text, reply.text
    assert statuses(runtime.engine, "李四")[date(2026, 11, 30)] == "absent"


@pytest.mark.parametrize("said", ["补签 李四 周末 在场", "补签 李四 上个礼拜 在场",
                                  "更正 李四 缺席 月底 代签"])
def test_a_day_not_read_is_asked_not_the_latest(runtime, chat, two_night_studies, said):
    """A day said in a way not read made up (or corrected) the latest activity."""
    before = everything(runtime.engine)
    reply = chat.say("sec", said, chat="g1")
    assert reply.is_error and "没读懂" in reply.text and "记录保持不变" in reply.text, reply.text
    assert everything(runtime.engine) == before


@pytest.mark.parametrize("said", ["补签 周强 这周手机一直坏着", "补签 周强 上个月换了手机没装企业微信"])
def test_a_make_up_reason_that_begins_with_a_week_or_month_word_is_made(runtime, chat, clock,
                                                                       said):
    """A day said in a way not read is asked about; 这周手机一直坏着 and 上个月换了手机 were
    taken for one and refused, though they are reasons for the activity just held."""
    from storage.models import Role
    from tests.factories import bind_chat, make_branch, make_member, seed

    def build(session):
        cg = make_branch(session, "城关派出所党支部")
        make_member(session, cg, "王建国", role=Role.SECRETARY, wecom="sec")
        make_member(session, cg, "周强", wecom="zq")
        bind_chat(session, cg, "g1")
    seed(runtime.engine, build)
    assert "开始了" in chat.say("sec", "开始 主题党日", chat="g1").text
    clock.advance(hours=3)
    chat.say("sec", "结束", chat="g1")
    reply = chat.say("sec", said, chat="g1")
    assert not reply.is_error and "补签" in reply.text, reply.text


@pytest.mark.parametrize("said", ["补签 上周五 李四 当晚在场", "补签 27号 李四 当晚在场",
                                  "补签 上周五的夜学 李四 当晚在场"])
def test_a_make_up_with_the_day_before_the_name(runtime, chat, two_night_studies, said):
    """补签 上周五 李四 …: the day said before the name was taken for the name, and refused
    with 本支部没有找到「上周五」; the secretary named both, in the other order."""
    reply = chat.say("sec", said, chat="g1")
    assert "补签：政治夜学（11月27日 19:30）" in reply.text and "原因：当晚在场" in reply.text, (
        reply.text)
    assert statuses(runtime.engine, "李四")[date(2026, 11, 27)] == "makeup"


def test_a_correction_with_the_day_before_the_name(runtime, chat, two_attended):
    """更正 上周五 张三 缺席 他人代签 was told to correct one member at a time (上周五 and
    张三), as if 上周五 were a name."""
    reply = chat.say("sec", "更正 上周五 张三 缺席 他人代签")
    assert "在政治夜学（11月27日 19:30）的记录由出席更正为缺席" in reply.text, reply.text
