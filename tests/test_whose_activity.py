"""签到 and 请假 find the member's own activity, not merely the branch's first.

A branch holds activities that expect only some of its members: the 支委会 (the branch
committee), each party group's 党小组会. When one of those came first, a member's 请假 was
refused as "不需要你参加" although their own night study followed it, and two party groups
meeting the same evening could not both check in. And a member who names the activity
(请假 主题党日 出差) gets leave for that one, not for whichever comes first: the theme day
they named would otherwise count them absent, and the night study they never meant to miss
would excuse them.
"""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session, select

from storage.models import Activity, Attendance, AttendanceStatus, Member, Role, Schedule
from tests.conftest import local
from tests.factories import bind_chat, make_branch, make_group, make_member, seed
from tests.test_figures import run_ticks


def _branch(runtime, *schedules: tuple[str, str, int, str | None]) -> None:
    """城关支部 (group g1): 王书记 (sec, 第一党小组), 李明 (li, 第一党小组), 张强 (zhang,
    第二党小组); its schedules as (type, rule, minutes, party group or None)."""
    def scene(session):
        branch = make_branch(session, "城关支部")
        bind_chat(session, branch, "g1")
        groups = {name: make_group(session, branch, name) for name in ("第一党小组", "第二党小组")}
        make_member(session, branch, "王书记", role=Role.SECRETARY, wecom="sec",
                    party_group_id=groups["第一党小组"].id)
        make_member(session, branch, "李明", wecom="li", party_group_id=groups["第一党小组"].id)
        make_member(session, branch, "张强", wecom="zhang", party_group_id=groups["第二党小组"].id)
        for kind, rule, minutes, group in schedules:
            session.add(Schedule(
                branch_id=branch.id, activity_type=kind, rule=rule, duration_minutes=minutes,
                party_group_id=groups[group].id if group else None,
                created_at=local(2026, 11, 1, 0, 0), updated_at=local(2026, 11, 1, 0, 0)))
    seed(runtime.engine, scene)


def _records(runtime) -> list[tuple[str, str, str, str | None]]:
    """(the member's name, the activity's type, its day, the record's status) of each."""
    with Session(runtime.engine) as session:
        rows = session.exec(
            select(Member.name, Activity.type, Activity.starts_at, Attendance.status)
            .join(Attendance, Attendance.member_id == Member.id)
            .join(Activity, Activity.id == Attendance.activity_id)
            .order_by(Activity.starts_at, Member.name)).all()
    return [(name, kind, f"{starts.month}-{starts.day}", status)
            for name, kind, starts, status in rows]


NIGHT_STUDY = ("政治夜学", "每周二、周四 19:30", 90, None)
COMMITTEE = ("支委会", "每月8日 09:00", 60, None)
THEME_DAY = ("主题党日", "每月10日 14:30", 120, None)


def test_a_committee_meeting_first_does_not_keep_a_member_from_leave_for_the_night_study(
        runtime, chat, clock):
    _branch(runtime, NIGHT_STUDY, COMMITTEE)
    clock.set(local(2026, 12, 7, 20, 0))
    run_ticks(runtime, clock, local(2026, 12, 7, 23, 0))  # the 8th: 支委会 09:00, 夜学 19:30
    reply = chat.say("li", "请假 值班", chat="g1")
    assert not reply.is_error, reply.text
    assert reply.text.startswith("已请假：政治夜学（12月8日 19:30）")
    assert _records(runtime) == [("李明", "政治夜学", "12-8", AttendanceStatus.LEAVE)]
    # The committee's own members still ask leave for the committee meeting first.
    assert chat.say("sec", "请假 开会", chat="g1").text.startswith("已请假：支委会（12月8日 09:00）")


def test_leave_that_names_the_activity_excuses_that_one(runtime, chat, clock):
    _branch(runtime, NIGHT_STUDY, THEME_DAY)
    clock.set(local(2026, 12, 7, 20, 0))
    run_ticks(runtime, clock, local(2026, 12, 7, 23, 0))  # 夜学 on the 8th, 党日 on the 10th
    for said in ("请假 主题党日 出差", "主题党日请假 出差", "党日的请假 出差"):
        reply = chat.say("li", said, chat="g1")
        assert reply.text == "已请假：主题党日（12月10日 14:30）。原因：出差", said
        assert _records(runtime) == [("李明", "主题党日", "12-10", AttendanceStatus.LEAVE)]
        chat.say("li", "销假", chat="g1")
    # Tonight (the 7th) holds none: said so, with the next one, and nothing recorded.
    assert chat.say("li", "今晚夜学请假 值班", chat="g1").text == (
        "今晚（12月7日）没有需要你参加的政治夜学，没有记请假。下一次是政治夜学（12月8日 19:30）；"
        "要请那次的假，请发送「请假 12月8日 政治夜学 值班」或「请假 下次 政治夜学 值班」。")
    assert _records(runtime) == []
    assert chat.say("li", "明晚夜学请假 值班", chat="g1").text == (
        "已请假：政治夜学（12月8日 19:30）。原因：值班")
    for said in ("请假 明晚夜学 值班", "请假 夜学 明天 值班"):  # the when is no reason
        chat.say("li", "销假", chat="g1")
        assert chat.say("li", said, chat="g1").text == (
            "已请假：政治夜学（12月8日 19:30）。原因：值班"), said
    # The day said after the activity is that day's: not the next one with the day as reason.
    # The day's other activity (the theme day of the 10th) is not excused with it.
    later = chat.say("zhang", "请假 夜学 12月10日 值班", chat="g1").text
    assert later == "已请假：政治夜学（12月10日 19:30）。原因：值班", later
    assert [r for r in _records(runtime) if r[0] == "张强"] == [
        ("张强", "政治夜学", "12-10", AttendanceStatus.LEAVE)]
    chat.say("zhang", "销假", chat="g1")
    for said in ("请假 12月10日 夜学 值班", "周四夜学请假 值班"):  # the day first
        assert chat.say("zhang", said, chat="g1").text == \
            "已请假：政治夜学（12月10日 19:30）。原因：值班", said
        chat.say("zhang", "销假", chat="g1")
    # One not planned yet: leave for its day, said so; one gone by: refused.
    ahead = chat.say("zhang", "请假 夜学 12月17日 值班", chat="g1").text
    assert ahead.startswith("已请假：12月17日（政治夜学），原因：值班。"), ahead
    chat.say("zhang", "销假", chat="g1")
    gone = chat.say("zhang", "请假 夜学 12月3日 值班", chat="g1")
    assert gone.is_error and "12月3日已经过去了" in gone.text, gone.text
    # Two named at once: refused, nothing recorded (the second was taken for the reason).
    for said in ("请假 夜学、主题党日 出差", "请假 夜学和主题党日 出差"):
        both = chat.say("zhang", said, chat="g1")
        assert both.is_error and "请分别发送「请假 政治夜学 原因」和「请假 主题党日 原因」" in \
            both.text, (said, both.text)
    # A reason that begins with an activity's name is still the reason.
    assert chat.say("zhang", "请假 夜学 党课培训", chat="g1").text == \
        "已请假：政治夜学（12月8日 19:30）。原因：党课培训"
    chat.say("zhang", "销假", chat="g1")
    # A range with the activity: those days' night studies, not the theme day among them.
    days = chat.say("zhang", "请假 夜学 12月8日至10日 值班", chat="g1").text
    assert days.startswith("已请假：12月8日至12月10日（3 天）（政治夜学），原因：值班。"), days
    assert sorted(r[1:3] for r in _records(runtime) if r[0] == "张强") == [
        ("政治夜学", "12-10"), ("政治夜学", "12-8")]
    chat.say("zhang", "销假", chat="g1")
    named_only = chat.say("zhang", "请假 主题党日", chat="g1")
    assert named_only.is_error and "请假原因" in named_only.text
    assert [r for r in _records(runtime) if r[0] == "张强"] == []


def test_leave_for_a_named_activity_not_planned_yet_is_leave_for_its_day(runtime, chat, clock):
    _branch(runtime, NIGHT_STUDY, THEME_DAY)
    clock.set(local(2026, 11, 30, 9, 0))  # the theme day of the 10th is not planned yet
    run_ticks(runtime, clock, local(2026, 11, 30, 12, 0))
    reply = chat.say("li", "请假 主题党日 出差", chat="g1").text
    assert reply == ("已请假：12月10日（主题党日），原因：出差。\n"
                     "这天的主题党日安排后记为请假，不会提醒你签到。"), reply
    # 张强 asks for the night study of the 10th, also not planned yet: that one alone.
    assert chat.say("zhang", "请假 12月10日 夜学 值班", chat="g1").text.startswith(
        "已请假：12月10日（政治夜学），原因：值班。")
    sent = run_ticks(runtime, clock, local(2026, 12, 10, 21, 30))
    on_the_tenth = [r for r in _records(runtime) if r[2] == "12-10"]
    assert ("李明", "主题党日", "12-10", AttendanceStatus.LEAVE) in on_the_tenth
    assert ("张强", "政治夜学", "12-10", AttendanceStatus.LEAVE) in on_the_tenth
    # Each is still expected at the day's other activity: nudged there, and not on leave.
    assert ("李明", "政治夜学", "12-10", AttendanceStatus.LEAVE) not in on_the_tenth
    assert ("张强", "主题党日", "12-10", AttendanceStatus.LEAVE) not in on_the_tenth
    nudged = {(target, "主题党日" if "主题党日" in text else "政治夜学")
              for at, kind, target, text in sent if kind == "nudge" and at.day == 10}
    assert nudged == {("zhang", "主题党日"), ("li", "政治夜学"), ("sec", "主题党日"),
                      ("sec", "政治夜学")}, nudged
    nothing = chat.say("li", "请假 党课 出差", chat="g1")  # the branch plans no 党课
    assert nothing.is_error and "近期没有需要你参加的党课" in nothing.text


def test_two_party_groups_meeting_the_same_evening_each_check_in_to_their_own(
        runtime, chat, clock):
    _branch(runtime, ("党小组会", "每周三 19:30", 90, "第一党小组"),
            ("党小组会", "每周三 19:30", 90, "第二党小组"))
    clock.set(local(2026, 12, 9, 19, 0))
    run_ticks(runtime, clock, local(2026, 12, 9, 19, 25), step=timedelta(minutes=25))
    for user, name in (("li", "李明"), ("zhang", "张强")):
        reply = chat.say(user, "签到", chat="g1")
        assert reply.text.startswith(f"{name} 签到成功：党小组会·"), reply.text
    with Session(runtime.engine) as session:
        groups = {a.party_group_id for a in session.exec(select(Activity)).all()}
    assert len(groups) == 2
    assert sorted(r[0] for r in _records(runtime)) == ["张强", "李明"]
    # The secretary's 未签到 names each group's missing, not the one group's alone.
    listed = chat.say("sec", "未签到").text.splitlines()
    assert listed == ["党小组会·第二党小组（19:30）：应到的同志都已签到或请假。",
                      "党小组会·第一党小组（19:30）未签到 1 人：王书记"], listed
    in_group = chat.say("sec", "未签到", chat="g1").text
    assert "第一党小组（19:30）：还有 1 人未签到" in in_group and "第二党小组" in in_group
    # 请假 for next week's finds each member's own group's meeting too.
    clock.set(local(2026, 12, 14, 9, 0))
    run_ticks(runtime, clock, local(2026, 12, 14, 12, 0))
    for user in ("li", "zhang"):
        assert chat.say(user, "请假 值班", chat="g1").text.startswith("已请假：党小组会·")


def test_a_member_signs_their_check_in_with_their_name_and_nobody_checks_in_another(
        runtime, chat, clock):
    _branch(runtime, NIGHT_STUDY)
    clock.set(local(2026, 12, 8, 19, 0))
    run_ticks(runtime, clock, local(2026, 12, 8, 19, 10), step=timedelta(minutes=10))
    for user, said in (("li", "张强签到"), ("li", "帮张强签到"), ("li", "签到 张强"),
                       ("sec", "替李明签到")):
        reply = chat.say(user, said, chat="g1")
        assert reply.is_error and "签到只能本人发送" in reply.text, said
        assert "补签" in reply.text, said
    assert _records(runtime) == []
    assert chat.say("li", "李明签到", chat="g1").text.startswith("李明 签到成功")
    assert chat.say("zhang", "张强签到了", chat="g1").text.startswith("张强 签到成功")
    assert chat.say("sec", "签到 王书记", chat="g1").text.startswith("王书记 签到成功")
    assert sorted(r[0] for r in _records(runtime)) == ["张强", "李明", "王书记"]
    # A name nobody on the roster has is no one's: the usual suggestion.
    assert "你是想发送「签到」吗" in chat.say("li", "赵六签到", chat="g1").text


def test_naming_another_by_their_mention_checks_in_nobody(runtime, chat, clock):
    """签到 @张强, a secretary checking in one who forgot, checked in the secretary and said
    so: 张强 stayed missing and the record was the secretary's. The mention after 签到 names
    him as 签到 张强 does; one before it is whom the member speaks to (@王书记 签到)."""
    _branch(runtime, NIGHT_STUDY)
    clock.set(local(2026, 12, 8, 19, 0))
    run_ticks(runtime, clock, local(2026, 12, 8, 19, 10), step=timedelta(minutes=10))
    for user, said in (("sec", "签到 @张强"), ("li", "签到 @张强")):
        reply = chat.say(user, said, chat="g1")
        assert reply.is_error and "不能替张强签到" in reply.text, (said, reply.text)
    assert _records(runtime) == []
    assert chat.say("li", "签到 @李明", chat="g1").text.startswith("李明 签到成功")
    assert chat.say("zhang", "@王书记 签到", chat="g1").text.startswith("张强 签到成功")
    assert chat.say("sec", "@李明签到", chat="g1").text.startswith("王书记 签到成功")


def test_a_mention_names_whom_a_make_up_or_a_secretarys_leave_is_for(
        runtime, chat, clock):
    """请假 @张强 出差 was the sender's leave with the reason @张强 出差, then refused; from the
    书记 it is 张强's leave, put on record for him (代请假). A mention after the
    command names whom it is about (补签 @张强 …); one before it is whom the sender speaks
    to (@王书记 请假 值班 is 李明's leave), even before 更正: @张强 更正 缺席 李明 代签 never
    marks 张强 absent (the mention was read as whom it was about)."""
    _branch(runtime, NIGHT_STUDY)
    clock.set(local(2026, 12, 8, 19, 0))
    run_ticks(runtime, clock, local(2026, 12, 8, 19, 10), step=timedelta(minutes=10))
    recorded = chat.say("sec", "请假 @张强 出差", chat="g1")
    assert recorded.text.startswith("已为 张强 登记请假：政治夜学"), recorded.text
    assert _records(runtime) == [("张强", "政治夜学", "12-8", "leave")]
    made_up = chat.say("sec", "补签 @张强 手机没电", chat="g1").text
    assert made_up.startswith("已为 张强 补签") and "原因：手机没电" in made_up, made_up
    assert chat.say("li", "@王书记 请假 值班", chat="g1").text.startswith("已请假")
    assert "未签到" in chat.say("sec", "@李明 未签到", chat="g1").text
    assert _records(runtime) == [("张强", "政治夜学", "12-8", "makeup"),
                                 ("李明", "政治夜学", "12-8", "leave")]
    chat.say("sec", "@张强 更正 缺席 李明 代签", chat="g1")
    assert ("张强", "政治夜学", "12-8", "makeup") in _records(runtime), _records(runtime)


def test_a_committee_member_late_for_the_committee_meeting_is_checked_in_there(
        runtime, chat, clock):
    """支委会 09:00–10:00, the theme day at 10:00 with check-in from 09:30. 王书记, late for the
    支委会, says 签到 at 09:40: it is the 支委会's (it was the theme day's, and there was no
    way left to be counted at the 支委会). 李明, not on the committee, is checked in to the
    theme day early; once it has begun, 王书记's next 签到 is the theme day's."""
    from tests.test_two_at_once import THEME_DAY_AT_TEN

    _branch(runtime, COMMITTEE, THEME_DAY_AT_TEN)
    clock.set(local(2026, 12, 7, 20, 0))
    run_ticks(runtime, clock, local(2026, 12, 8, 9, 40), step=timedelta(minutes=20))
    late = chat.say("sec", "签到", chat="g1").text
    assert late.startswith("王书记 签到成功（迟到）：支委会（09:00）"), late
    assert chat.say("li", "签到", chat="g1").text.startswith("李明 签到成功：主题党日（10:00）")
    assert "你已签到" in chat.say("sec", "签到", chat="g1").text  # said twice: no theme day yet
    # 10:02: the 支委会 is over though the scheduler has not closed it yet; the theme day is
    # under way, and his 签到 is its.
    clock.set(local(2026, 12, 8, 10, 2))
    assert chat.say("sec", "签到", chat="g1").text.startswith("王书记 签到成功：主题党日（10:00）")
    assert sorted(_records(runtime)) == [
        ("李明", "主题党日", "12-8", AttendanceStatus.PRESENT),
        ("王书记", "主题党日", "12-8", AttendanceStatus.PRESENT),
        ("王书记", "支委会", "12-8", AttendanceStatus.LATE)]


def test_an_activity_over_but_not_closed_yet_gives_way_to_the_one_taking_check_ins(
        runtime, chat, clock):
    """支委会 09:00–10:00, the theme day at 10:30 (check-in from 10:00). At 10:05, before the
    scheduler's next tick closes the 支委会, 王书记's 签到 is the theme day's, not a
    「签到已截止」 for the meeting that is over."""
    _branch(runtime, COMMITTEE, ("主题党日", "每月8日 10:30", 120, None))
    clock.set(local(2026, 12, 7, 20, 0))
    run_ticks(runtime, clock, local(2026, 12, 8, 9, 40), step=timedelta(minutes=20))
    clock.set(local(2026, 12, 8, 10, 5))
    reply = chat.say("sec", "签到", chat="g1").text
    assert reply.startswith("王书记 签到成功：主题党日（10:30）"), reply


def test_start_sent_after_a_scheduled_study_began_is_not_told_to_end_it(runtime, chat, clock):
    """The night study opened by its schedule at 19:30; the secretary, arriving at 19:50,
    sends 开始 夜学 and was told 「政治夜学（19:30）正在进行，请先发送「结束」再开始新的活
    动」: ending the very meeting (and, before, opening a second one beside it). It is the
    one under way: he is told so, and what its check-in counts, and nothing changes."""
    _branch(runtime, NIGHT_STUDY)
    clock.set(local(2026, 12, 7, 20, 0))
    run_ticks(runtime, clock, local(2026, 12, 8, 19, 50))
    assert "签到成功" in chat.say("zhang", "签到", chat="g1").text
    with Session(runtime.engine) as s:
        held = len(s.exec(select(Activity)).all())

    reply = chat.say("sec", "开始 夜学 学习党章", chat="g1")

    assert not reply.is_error, reply.text
    assert "请先发送「结束」" not in reply.text
    assert reply.text.startswith("政治夜学「学习党章」（19:30）已在进行"), reply.text
    assert "19:40 后签到记为迟到" in reply.text
    with Session(runtime.engine) as s:
        assert len(s.exec(select(Activity)).all()) == held
    # Another kind of activity is still refused while this one runs.
    assert "请先发送「结束」" in chat.say("sec", "开始 主题党日", chat="g1").text


def test_start_sent_after_the_late_line_says_whose_start_counts_and_offers_no_leave(
        runtime, chat, clock):
    """The night study is scheduled at 19:30; the meeting began late and the secretary sends
    开始 at 19:45. Lateness stays counted from 19:30, the time the members were told, and
    the reply says so; it told the group 「不能参加请发送「请假 原因」」, and 李明, who did
    so, was refused: leave closes when check-ins turn late (19:40)."""
    _branch(runtime, NIGHT_STUDY)
    clock.set(local(2026, 12, 7, 20, 0))
    run_ticks(runtime, clock, local(2026, 12, 8, 19, 45))

    reply = chat.say("sec", "开始 夜学", chat="g1")

    assert "按原定 19:30 开始计，19:40 后签到记为迟到，21:00 截止。" in reply.text, reply.text
    assert "请假" not in reply.text, reply.text
    assert chat.say("li", "请假 值班", chat="g1").is_error
    assert "签到成功（迟到）" in chat.say("li", "签到", chat="g1").text
