"""Who an activity expected, for the records of activities held before someone's place
changed: 补签, 更正, 签到 and 评价 read the member as they were at the activity's end (as
the figures do), and role, party-group and 党委委员 changes are kept as spells that have
ended, so a figure not yet confirmed does not move when someone's place does."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session, select
from typer.testing import CliRunner

from bot import doctor
from storage.models import (
    Activity,
    ActivityType,
    Attendance,
    AuditEntry,
    Branch,
    Member,
    PastMembership,
    PointEntry,
    Role,
)
from storage.roster import RosterRow, apply_roster
from tests.conftest import SHANGHAI, local
from tests.factories import bind_chat, make_branch, make_group, make_member, seed
from tests.test_figures import djbot, drain, ledger_lines, weekly  # noqa: F401 - djbot: fixture


def bureau(session):
    """一支部 (g1): 书记 (sec), 王委员 (wang), 甲 (a), 乙 (b); 二支部 (g2): 书记二 (sec2),
    丙 (c); the leaders' group: 赵局长 (boss) and 钱政委 (qian), 党委委员; 管理员 (admin)."""
    one, two = make_branch(session, "一支部"), make_branch(session, "二支部")
    bind_chat(session, one, "g1")
    bind_chat(session, two, "g2")
    bind_chat(session, None, "leaders", leaders=True)
    make_member(session, one, "书记", role=Role.SECRETARY, wecom="sec")
    make_member(session, one, "王委员", role=Role.COMMITTEE, wecom="wang")
    make_member(session, one, "甲", wecom="a")
    make_member(session, one, "乙", wecom="b")
    make_member(session, two, "书记二", role=Role.SECRETARY, wecom="sec2")
    make_member(session, two, "丙", wecom="c")
    make_member(session, None, "赵局长", role=Role.LEADER, wecom="boss", bureau_committee=True)
    make_member(session, None, "钱政委", role=Role.LEADER, wecom="qian", bureau_committee=True)
    make_member(session, None, "管理员", role=Role.ADMIN, wecom="admin")


def hold(chat, clock, opener: str, what: str, chat_id: str, *users: str) -> None:
    """`what` opened at the clock's time in `chat_id`, checked in by `users` and ended
    after 90 minutes: absences not confirmed yet. The clock is left where it was."""
    start = clock.now()
    assert not chat.say(opener, f"开始 {what}", chat=chat_id).is_error
    for user in users:
        assert "签到成功" in chat.say(user, "签到", chat=chat_id).text
    clock.set(start + timedelta(minutes=90))
    assert not chat.say(opener, "结束", chat=chat_id).is_error
    clock.set(start)


def roster(runtime, clock, *rows: RosterRow) -> None:
    seed(runtime.engine, lambda s: apply_roster(s, list(rows), full=False, now=clock.now(),
                                                   tz=SHANGHAI))


def rows_of(runtime, name: str) -> list[tuple[str, int]]:
    """(status, points posted for it) of each of the member's attendance rows."""
    with Session(runtime.engine) as s:
        member = s.exec(select(Member).where(Member.name == name)).one()
        rows = s.exec(select(Attendance.status).where(Attendance.member_id == member.id)).all()
        points = s.exec(select(PointEntry.points).where(PointEntry.member_id == member.id)).all()
    return [(status, sum(points)) for status in rows]


def spells(runtime) -> list[tuple[str, str, bool]]:
    """(name, role, 党委委员) of every spell that has ended."""
    with Session(runtime.engine) as s:
        return [(name, role, committee) for name, role, committee in s.exec(
            select(Member.name, PastMembership.role, PastMembership.bureau_committee)
            .join(Member, Member.id == PastMembership.member_id)
            .order_by(PastMembership.id)).all()]


@pytest.fixture
def cli(runtime, monkeypatch):
    import bot.cli

    monkeypatch.setattr(bot.cli, "get_runtime", lambda *a, **k: runtime)
    runner = CliRunner()
    return lambda *args: runner.invoke(bot.cli.app, list(args))


# --- 补签 and 更正 ------------------------------------------------------------------------


def test_a_newcomer_cannot_be_made_up_for_what_was_held_before_they_came(runtime, chat, clock):
    """Tuesday's night study: 书记 and 甲 check in, 乙 misses it. Wednesday 丁 joins 一支部
    and 丙 moves in from 二支部. The secretary's 补签 of either for Tuesday is refused with
    why, and changes nothing: Tuesday expected 4 (书记, 王委员, 甲, 乙), not 6."""
    seed(runtime.engine, bureau)
    clock.set(local(2026, 11, 24, 19, 30))
    hold(chat, clock, "sec", "政治夜学", "g1", "sec", "a")
    clock.set(local(2026, 11, 25, 9, 0))
    roster(runtime, clock, RosterRow(row=2, name="丁", branch="一支部", wecom_id="d"),
           RosterRow(row=3, name="丙", branch="一支部", wecom_id="c"))

    newcomer = chat.say("sec", "补签 丁 手机没电")
    assert newcomer.is_error
    assert newcomer.text == ("政治夜学（11月24日 19:30）举行时丁还不在名册上"
                             "（11月25日才加入名册），不在应到名单中，不能补签，记录保持不变。")
    moved_in = chat.say("sec", "补签 丙 昨天 手机没电")
    assert moved_in.is_error
    assert moved_in.text == ("政治夜学（11月24日 19:30）举行时丙还不在本支部（11月25日才调入），"
                             "不在应到名单中，不能补签，记录保持不变。")
    assert "已为 乙 补签" in chat.say("sec", "补签 乙 手机没电").text

    assert rows_of(runtime, "丁") == [] and rows_of(runtime, "丙") == []
    assert "参与 3/4（75.0%），缺席 1 人" in chat.say("sec", "确认缺席", chat="g1").text


def test_a_member_who_moved_away_is_made_up_and_corrected_where_they_were_due(
        runtime, chat, clock):
    """Tuesday's night study in 一支部: 书记 and 王委员 check in, and someone checks in for
    乙 (代签); 甲 forgot. Wednesday both move to 二支部, before the absences are confirmed.
    一支部's secretary can still name them for Tuesday: 甲 is made up, 乙's check-in is put
    right as an absence, and Tuesday reads 3 of 4, 乙 absent; the points stay 一支部's."""
    seed(runtime.engine, bureau)
    clock.set(local(2026, 11, 24, 19, 30))
    hold(chat, clock, "sec", "政治夜学", "g1", "sec", "wang", "b")
    hold(chat, clock, "sec2", "政治夜学", "g2", "sec2", "c")
    clock.set(local(2026, 11, 25, 9, 0))
    roster(runtime, clock, RosterRow(row=2, name="甲", branch="二支部", wecom_id="a"),
           RosterRow(row=3, name="乙", branch="二支部", wecom_id="b"))

    made_up = chat.say("sec", "补签 甲 手机没电")
    assert made_up.text == "已为 甲 补签：政治夜学（11月24日 19:30），积分 +2。原因：手机没电"
    corrected = chat.say("sec", "更正 乙 缺席 他人代签")
    assert corrected.text.startswith("已将 乙 在政治夜学（11月24日 19:30）的记录由出席"
                                     "更正为缺席。原因：他人代签"), corrected.text
    # 二支部 did not expect them on Tuesday: its secretary has nothing of theirs to make up.
    assert "举行时甲还不在本支部（11月25日才调入）" in chat.say("sec2", "补签 甲 手机没电").text

    assert "参与 3/4（75.0%），缺席 1 人" in chat.say("sec", "确认缺席", chat="g1").text
    with Session(runtime.engine) as s:
        one = s.exec(select(Member.branch_id).where(Member.name == "书记")).one()
        posted = {name: branch for name, branch in s.exec(
            select(Member.name, PointEntry.branch_id)
            .join(Member, Member.id == PointEntry.member_id)
            .where(Member.name.in_(["甲", "乙"]))).all()}
    assert posted == {"甲": one, "乙": one}


def test_a_name_that_moved_away_is_not_found_for_a_record_it_was_not_on(runtime, chat, clock):
    """甲 moved to 二支部 on Wednesday: Thursday's night study in 一支部 never expected 甲,
    and its secretary's 补签 of 甲 for it is refused with where 甲 went."""
    seed(runtime.engine, bureau)
    clock.set(local(2026, 11, 25, 9, 0))
    roster(runtime, clock, RosterRow(row=2, name="甲", branch="二支部", wecom_id="a"))
    clock.set(local(2026, 11, 26, 19, 30))
    hold(chat, clock, "sec", "政治夜学", "g1", "sec")
    reply = chat.say("sec", "补签 甲 手机没电")
    assert reply.is_error and reply.text == \
        "甲 11月25日已调至二支部，不再由本支部办理「补签」，记录保持不变。", reply.text


# --- records an earlier version let through: 更正 withdraws them -------------------------


def made_up_by_an_old_version(runtime, clock, name: str) -> None:
    """补签 of `name` for the latest activity held, as versions before 02ef51d wrote it,
    asking only where the member is now: storage.attendance.make_up, which that handler
    called."""
    from storage import attendance

    with Session(runtime.engine) as s:
        member = s.exec(select(Member).where(Member.name == name)).one()
        by = s.exec(select(Member).where(Member.name == "书记")).one()
        held = s.exec(select(Activity).where(Activity.starts_at <= clock.now())
                      .order_by(Activity.starts_at.desc())).first()
        attendance.make_up(s, activity=held, member=member, by=by, reason="手机没电",
                           now=clock.now(), rules=runtime.rules)
        s.commit()


def points_of(runtime, name: str) -> list[int]:
    with Session(runtime.engine) as s:
        return list(s.exec(select(PointEntry.points).join(Member, Member.id == PointEntry.member_id)
                           .where(Member.name == name).order_by(PointEntry.id)).all())


def test_a_newcomer_made_up_by_an_old_version_is_withdrawn_by_a_correction(
        runtime, chat, clock, djbot):  # noqa: F811 - the fixture imported above
    """Tuesday's night study: 书记 and 甲 check in. Wednesday 丁 joins 一支部, and an earlier
    version let the secretary 补签 丁 for Tuesday: Tuesday read 3 of 5, the count frozen so
    when the absences were confirmed, and 丁 had +2. 更正 丁 缺席 cannot make 丁 absent
    from a day before they came: the record is withdrawn, its +2 reversed, no penalty, and
    Tuesday reads 2 of 4, as if the 补签 had never been."""
    seed(runtime.engine, bureau)
    clock.set(local(2026, 11, 24, 19, 30))
    hold(chat, clock, "sec", "政治夜学", "g1", "sec", "a")
    clock.set(local(2026, 11, 25, 9, 0))
    roster(runtime, clock, RosterRow(row=2, name="丁", branch="一支部", wecom_id="d"))
    made_up_by_an_old_version(runtime, clock, "丁")
    assert "参与 3/5（60.0%），缺席 2 人" in chat.say("sec", "确认缺席", chat="g1").text
    assert points_of(runtime, "丁") == [2]

    reply = chat.say("sec", "更正 丁 缺席 补签错人")
    assert not reply.is_error, reply.text
    assert reply.text.splitlines() == [
        "政治夜学（11月24日 19:30）举行时丁还不在名册上（11月25日才加入名册），不在应到名单中，"
        "这条补签记录已撤销，不记缺席，积分 -2（冲销补签）。原因：补签错人",
        "已私聊告知本人。"]

    # The figures: 丁 is neither attended nor expected, in the frozen count too.
    assert "参与 2/4（50.0%）" in chat.say("sec", "活动", chat="g1").text
    line = weekly(djbot, "2026-W48", "一支部")
    assert (line["participation"], line["absent"]) == ("2/4", 2)
    # The points: the 补签's reversed, and neither a penalty nor leave points, then or later.
    assert points_of(runtime, "丁") == [2, -2]
    assert ledger_lines(chat, "d") == [
        "11月24日 19:30 ±0 政治夜学 补签 +2，已冲销（书记撤销：举行时不在应到名单中，补签错人）"]
    assert [text for _, kind, target, text in drain(runtime, clock)
            if kind == "attendance.correct" and target == "d"] == [
        "【签到记录更正】书记将你在政治夜学（11月24日 19:30）的补签记录撤销：举行时你还不在名册上"
        "（11月25日才加入名册），不在应到名单中，不记缺席或请假。原因：补签错人。"
        "积分 -2（冲销补签）。发送「积分明细」可查看。如有疑问请联系书记。"]
    with Session(runtime.engine) as s:
        audit = s.exec(select(AuditEntry).where(AuditEntry.action == "attendance.correct")).one()
        row = s.exec(select(Attendance).join(Member, Member.id == Attendance.member_id)
                     .where(Member.name == "丁")).one()
    assert (audit.target, audit.detail["from"], audit.detail["to"], audit.detail["reason"]) == \
        ("丁", "makeup", "withdrawn", "补签错人")
    assert (row.status, row.made_up_at is not None) == ("withdrawn", True)  # kept on file

    # Marked, not deleted: the ledger's lines still name their record; nothing to repair.
    assert "积分流水无需修复" in djbot("repair-ledger")
    assert doctor.ledger_lines(runtime.settings, runtime.engine) == []
    # Once: a second 更正 and a 补签 find nothing to do, and change nothing.
    before = points_of(runtime, "丁")
    again = chat.say("sec", "更正 丁 缺席 补签错人")
    assert again.is_error and "签到记录已撤销" in again.text, again.text
    assert "不能补签，记录保持不变" in chat.say("sec", "补签 丁 手机没电").text
    assert points_of(runtime, "丁") == before


def test_in_the_group_a_withdrawal_names_nobody_and_one_made_up_after_the_count_froze(
        runtime, chat, clock):
    """The old 补签 of 丁 came after Tuesday's absences were confirmed: the frozen count
    (4) never took 丁 in, and stays; the attended fall back to 2. In the group the reply
    says what became of one record, not whose, nor why."""
    seed(runtime.engine, bureau)
    clock.set(local(2026, 11, 24, 19, 30))
    hold(chat, clock, "sec", "政治夜学", "g1", "sec", "a")
    clock.set(local(2026, 11, 25, 9, 0))
    assert "参与 2/4（50.0%），缺席 2 人" in chat.say("sec", "确认缺席", chat="g1").text
    clock.set(local(2026, 11, 25, 10, 0))
    roster(runtime, clock, RosterRow(row=2, name="丁", branch="一支部", wecom_id="d"))
    made_up_by_an_old_version(runtime, clock, "丁")
    assert "参与 3/4（75.0%）" in chat.say("sec", "活动", chat="g1").text

    reply = chat.say("sec", "更正 丁 缺席 补签错人", chat="g1")
    assert not reply.is_error, reply.text
    assert reply.text.startswith("已撤销政治夜学（11月24日 19:30）的 1 条补签记录：举行时不在"
                                 "应到名单中，不记缺席或请假，相关积分已冲销"), reply.text
    for said in ("丁", "补签错人", "名册"):
        assert said not in reply.text
    assert "参与 2/4（50.0%）" in chat.say("sec", "活动", chat="g1").text
    assert sum(points_of(runtime, "丁")) == 0


def test_doctor_counts_such_records_and_says_how_to_put_right_those_still_in_reach(
        runtime, chat, clock):
    """丁 joined on 4 November and was made up for the 3rd's night study, 戊 on the 25th
    for the 24th's, both by an earlier version. djbot doctor names the 24th's, which 更正
    can still reach, with the command; the 3rd's is past the rules' 7 days, and a note."""
    seed(runtime.engine, bureau)
    clock.set(local(2026, 11, 3, 19, 30))
    hold(chat, clock, "sec", "政治夜学", "g1", "sec", "a")
    assert "已确认" in chat.say("sec", "确认缺席", chat="g1").text
    clock.set(local(2026, 11, 4, 9, 0))
    roster(runtime, clock, RosterRow(row=2, name="丁", branch="一支部", wecom_id="d"))
    made_up_by_an_old_version(runtime, clock, "丁")
    clock.set(local(2026, 11, 24, 19, 30))
    hold(chat, clock, "sec", "政治夜学", "g1", "sec", "a", "d")
    clock.set(local(2026, 11, 25, 9, 0))
    roster(runtime, clock, RosterRow(row=3, name="戊", branch="一支部", wecom_id="e"))
    made_up_by_an_old_version(runtime, clock, "戊")
    older = (None, "另有 1 条这样的记录已过更正期限（活动后 7 天），保持不变；"
                   "其中也有 0012 版以前调动或离开名册的同志，当时没有记下任职经历")

    assert doctor.expected_lines(runtime.settings, runtime.engine, now=clock.now()) == [
        (False, "1 条签到或补签记录的党员在活动举行时不在应到名单中，仍计入实到和积分：请在活动后 "
                "7 天内用「更正」撤销（一支部书记发送「更正 戊 缺席 11月24日 政治夜学 原因」）"),
        older]
    assert "这条补签记录已撤销" in chat.say("sec", "更正 戊 缺席 11月24日 政治夜学 补签错人").text
    assert doctor.expected_lines(runtime.settings, runtime.engine, now=clock.now()) == [older]


def test_doctor_leaves_alone_the_check_in_of_someone_moved_before_the_end(runtime, chat, clock):
    """甲 checks in at 19:30 and the roster moves 甲 to 二支部 at 20:00, before the study ends
    at 21:00: not expected by the figures' rule (their place at its end), but counted once
    by the record, which is real. djbot doctor must not tell the secretary to 更正 it away."""
    seed(runtime.engine, bureau)
    clock.set(local(2026, 11, 24, 19, 30))
    assert not chat.say("sec", "开始 政治夜学", chat="g1").is_error
    assert "签到成功" in chat.say("a", "签到", chat="g1").text
    clock.set(local(2026, 11, 24, 20, 0))
    roster(runtime, clock, RosterRow(row=2, name="甲", branch="二支部", wecom_id="a"))
    clock.set(local(2026, 11, 25, 9, 0))
    assert doctor.expected_lines(runtime.settings, runtime.engine, now=clock.now()) == []


def test_undo_of_a_make_up_points_a_secretary_to_the_correction_that_withdraws_it(
        runtime, chat, clock):
    seed(runtime.engine, bureau)
    refused = chat.say("sec", "撤销补签 丁 不在名单")
    assert refused.is_error
    assert "「更正 姓名 缺席 原因」" in refused.text and "更正会撤销这条记录" in refused.text


def test_the_doctors_statement_reads_every_activity_as_expected_at_does(runtime, clock):
    """One statement over every record reads who each activity expects: the same members
    as expected_at for a branch's night study, a party group's meeting, a 支委会, the
    bureau's 中心组学习 and a bureau-wide lecture for one branch, everyone checked in."""
    from storage import attendance

    seed(runtime.engine, bureau)
    with Session(runtime.engine) as s:
        one = s.exec(select(Member.branch_id).where(Member.name == "书记")).one()
        group = make_group(s, s.get(Branch, one), "第一党小组")
        s.exec(select(Member).where(Member.name == "甲")).one().party_group_id = group.id
        s.commit()
        group_id = group.id
    clock.set(local(2026, 11, 24, 9, 0))
    kinds = [(ActivityType.NIGHT_STUDY, one, None, None),
             (ActivityType.GROUP_MEETING, one, group_id, None),
             (ActivityType.COMMITTEE_MEETING, one, None, None),
             (ActivityType.CENTRAL_STUDY, None, None, None),
             (ActivityType.LECTURE_HALL, None, None, [one]),
             (ActivityType.THEME_DAY, None, None, None)]
    with Session(runtime.engine) as s:
        held = [attendance.open_activity(
            s, activity_type=kind, branch_id=branch, party_group_id=group_id,
            audience_branch_ids=branches, starts_at=clock.now() + timedelta(hours=i),
            now=clock.now(), opens_minutes_before=30, tz=runtime.settings.tz)
            for i, (kind, branch, group_id, branches) in enumerate(kinds)]
        members = s.exec(select(Member)).all()
        due = {(a.id, m.id) for a in held for m in members
               if attendance.expected_at(s, member=m, activity=a)}
        for a in held:
            for m in members:
                s.add(Attendance(activity_id=a.id, member_id=m.id, status="present",
                                 updated_at=clock.now()))
        s.commit()
        counted = attendance.not_expected(s, reachable_since=clock.now())
        wrong = set(s.execute(
            select(Attendance.activity_id, Attendance.member_id)
            .join(Activity, Activity.id == Attendance.activity_id)
            .join(Member, Member.id == Attendance.member_id)
            .where(attendance._expected_at_its_activity(s))).all())
    assert wrong == due and 0 < len(due) < len(held) * len(members)
    assert counted.count == counted.reachable == len(held) * len(members) - len(due)


# --- 签到 and 评价 ------------------------------------------------------------------------


def test_a_newcomer_is_told_an_activity_ended_before_they_came_is_not_theirs(
        runtime, chat, clock):
    """丙 moves into 一支部 at 21:30, after Tuesday's night study ended at 21:00 and before
    it is closed: their 签到 says it was not theirs (not to ask for a 补签), and 评价 finds
    nothing of theirs to rate."""
    seed(runtime.engine, bureau)
    clock.set(local(2026, 11, 24, 19, 30))
    assert not chat.say("sec", "开始 政治夜学", chat="g1").is_error
    assert "签到成功" in chat.say("a", "签到", chat="g1").text
    clock.set(local(2026, 11, 24, 21, 30))
    roster(runtime, clock, RosterRow(row=2, name="丙", branch="一支部", wecom_id="c"))
    clock.set(local(2026, 11, 24, 21, 40))

    reply = chat.say("c", "签到", chat="g1")
    assert reply.is_error
    assert reply.text == "政治夜学（19:30）举行时你还不在本支部（11月24日才调入），不需要你参加。"
    assert rows_of(runtime, "丙") == []
    assert "最近 7 天没有你参加过的活动" in chat.say("c", "评价 5").text


def test_the_quick_lane_reads_a_spell_begun_after_the_end_as_the_sql_does(runtime, clock):
    """签到's quick lane reads the sender without the ORM: one whose spell began after the
    activity's end is left to the general path (which reads their spells and finds them
    not expected), one in the branch since before it is answered there and then."""
    from storage import attendance, checkin

    seed(runtime.engine, bureau)
    clock.set(local(2026, 11, 24, 19, 30))
    with Session(runtime.engine) as s:
        one = s.exec(select(Member.branch_id).where(Member.name == "书记")).one()
        held = attendance.open_activity(
            s, activity_type=ActivityType.NIGHT_STUDY, branch_id=one, starts_at=clock.now(),
            now=clock.now(), opens_minutes_before=30, tz=runtime.settings.tz)
        s.commit()
        ends_at = held.ends_at
    clock.set(ends_at + timedelta(minutes=30))
    roster(runtime, clock, RosterRow(row=2, name="丙", branch="一支部", wecom_id="c"))
    with runtime.engine.connect() as conn, Session(runtime.engine) as s:
        for user, decided, expected in (("c", None, False), ("a", True, True)):
            seen = checkin.look_up(conn, platform="wecom", chat_id="g1", user_id=user,
                                   now=clock.now())
            assert attendance.expected_in_current_spell(seen.member, seen.activity) is decided
            member = s.get(Member, seen.member.id)
            assert attendance.expected_at(s, member=member, activity=s.get(
                Activity, seen.activity.id)) is expected


# --- role, party group and 党委委员 changes ------------------------------------------------


def test_a_role_change_is_read_as_it_was_at_an_earlier_committee_meeting(runtime, chat, clock):
    """Tuesday's 支委会 expects 书记 and 王委员; 书记 comes. Wednesday, before its absences
    are confirmed, the admin makes 乙 a 委员 and 王委员 a 党员. Tuesday still expected the
    two it did: 王委员 missing, 乙 not (and not to be made up for it)."""
    seed(runtime.engine, bureau)
    clock.set(local(2026, 11, 24, 14, 0))
    hold(chat, clock, "sec", "支委会", "g1", "sec")
    clock.set(local(2026, 11, 25, 9, 0))
    assert "改为委员" in chat.say("admin", "设置角色 乙 委员").text
    assert "改为党员" in chat.say("admin", "设置角色 王委员 党员").text

    assert chat.say("sec", "未签到").text == "支委会（11月24日 14:00）未签到 1 人：王委员"
    refused = chat.say("sec", "补签 乙 支委会 手机没电")
    assert refused.text == ("支委会（11月24日 14:00）举行时乙还不是支部委员（11月25日才任委员），"
                            "不在应到名单中，不能补签，记录保持不变。")
    assert "参与 1/2（50.0%），缺席 1 人" in chat.say("sec", "确认缺席", chat="g1").text
    assert spells(runtime) == [("乙", "member", False), ("王委员", "committee", False)]

    # Thursday's expects them as they are now.
    clock.set(local(2026, 11, 26, 14, 0))
    hold(chat, clock, "sec", "支委会", "g1", "sec", "b")
    assert "参与 2/2（100.0%）" in chat.say("sec", "确认缺席", chat="g1").text


def test_leaving_the_party_committee_keeps_an_earlier_central_study_due(
        runtime, chat, clock, cli):
    """Tuesday's 中心组学习 expects 赵局长 and 钱政委; 钱政委 misses it. Wednesday 钱政委
    leaves the 党委委员 list and 管理员 joins it: Tuesday still reads 1 of 2, 钱政委 absent."""
    seed(runtime.engine, bureau)
    clock.set(local(2026, 11, 24, 9, 0))
    hold(chat, clock, "boss", "中心组 学习全会精神", "leaders", "boss")
    clock.set(local(2026, 11, 25, 9, 0))
    assert "已将 钱政委 移出党委委员名单" in cli("committee", "remove", "钱政委").output
    assert "已将 管理员 加入党委委员名单" in cli("committee", "add", "管理员").output

    assert "未签到 1 人：钱政委" in chat.say("boss", "未签到 全局").text
    confirmed = chat.say("boss", "确认缺席", chat="leaders").text
    assert "参与 1/2（50.0%），缺席 1 人" in confirmed, confirmed
    assert spells(runtime) == [("钱政委", "leader", True), ("管理员", "admin", False)]


def test_a_roster_imported_again_as_it_was_ends_no_spell(runtime, chat, clock):
    """The same rows imported twice change nothing and keep every spell whole; a row that
    moves 甲 into 第一党小组 and makes 乙 a 委员 ends one spell each, as they were."""
    seed(runtime.engine, bureau)
    rows = [RosterRow(row=2, name="甲", branch="一支部", role=Role.MEMBER, wecom_id="a",
                      bureau_committee=False),
            RosterRow(row=3, name="乙", branch="一支部", role=Role.MEMBER, wecom_id="b")]
    clock.set(local(2026, 11, 25, 9, 0))
    roster(runtime, clock, *rows)
    roster(runtime, clock, *rows)
    assert spells(runtime) == []
    clock.set(local(2026, 11, 26, 9, 0))
    roster(runtime, clock, RosterRow(row=2, name="甲", branch="一支部", party_group="第一党小组",
                                     wecom_id="a"),
           RosterRow(row=3, name="乙", branch="一支部", role=Role.COMMITTEE, wecom_id="b"))
    roster(runtime, clock, RosterRow(row=2, name="甲", branch="一支部", party_group="第一党小组",
                                     wecom_id="a"),
           RosterRow(row=3, name="乙", branch="一支部", role=Role.COMMITTEE, wecom_id="b"))
    assert spells(runtime) == [("甲", "member", False), ("乙", "member", False)]


def test_a_member_moved_during_a_meeting_counts_where_they_were_when_it_began(
        runtime, chat, clock):
    """Both branches' night studies run 19:30-21:00. 甲 checks in at 一支部's; at 20:00 a
    roster import moves him to 二支部, and 乙 too, who had not checked in. 二支部's study
    counted both absent (a penalty each, its rate 2/4) for an evening 甲 spent at his own
    branch's: each counts where they were when it began: 甲 there, 乙 absent there. A
    newcomer who joins 二支部 at 20:00 and checks in counts; one who does not is not absent."""
    seed(runtime.engine, bureau)
    clock.set(local(2026, 11, 24, 19, 30))
    chat.say("sec", "开始 政治夜学", chat="g1")
    chat.say("sec2", "开始 政治夜学", chat="g2")
    for user, group in (("sec", "g1"), ("a", "g1"), ("sec2", "g2"), ("c", "g2")):
        assert "签到成功" in chat.say(user, "签到", chat=group).text
    clock.set(local(2026, 11, 24, 20, 0))
    roster(runtime, clock, RosterRow(row=2, name="甲", branch="二支部", wecom_id="a"),
           RosterRow(row=3, name="乙", branch="二支部", wecom_id="b"),
           RosterRow(row=4, name="丁", branch="二支部", wecom_id="d"),
           RosterRow(row=5, name="戊", branch="二支部", wecom_id="e"))
    assert "签到成功" in chat.say("d", "签到", chat="g2").text  # added as he came in

    assert "应到的同志都已签到或请假" in chat.say("sec2", "未签到").text
    clock.set(local(2026, 11, 24, 21, 0))
    chat.say("sec", "结束", chat="g1")
    chat.say("sec2", "结束", chat="g2")
    one = chat.say("sec", "确认缺席")
    two = chat.say("sec2", "确认缺席")

    assert "参与 2/4（50.0%），缺席 2 人" in one.text and "缺席：乙、王委员" in one.text, one.text
    assert "参与 3/3（100.0%），缺席 0 人" in two.text, two.text
    assert rows_of(runtime, "甲") == [("present", 2)]
    assert rows_of(runtime, "戊") == []


def test_a_newcomer_made_up_after_the_count_froze_is_counted_once_among_those_expected(
        runtime, chat, clock):
    """戊 joined 二支部 while its night study ran and did not check in: not counted absent
    when its absences were confirmed (2 of 2). Made up the next morning, he counts among
    those expected too: 3 of 3, not 3 of 2 (150%)."""
    seed(runtime.engine, bureau)
    clock.set(local(2026, 11, 24, 19, 30))
    chat.say("sec2", "开始 政治夜学", chat="g2")
    chat.say("sec2", "签到", chat="g2")
    chat.say("c", "签到", chat="g2")
    clock.set(local(2026, 11, 24, 20, 0))
    roster(runtime, clock, RosterRow(row=5, name="戊", branch="二支部", wecom_id="e"))
    clock.set(local(2026, 11, 24, 21, 0))
    chat.say("sec2", "结束", chat="g2")
    assert "参与 2/2（100.0%），缺席 0 人" in chat.say("sec2", "确认缺席").text
    clock.set(local(2026, 11, 25, 9, 0))

    assert "已为 戊 补签" in chat.say("sec2", "补签 戊 在场忘了签到").text

    assert "参与 3/3（100.0%）" in chat.say("sec2", "活动", chat="g2").text


def test_every_figure_agrees_on_who_a_night_study_counted_when_the_roster_changed_during_it(
        runtime, chat, djbot, clock):  # noqa: F811 - the fixture imported above
    """城关支部's Tuesday study, 19:30-21:00, 王书记 and 李明 check in. At 19:45 a roster
    import adds 赵新 (does not check in) and 钱来 (checks in), moves 李明 to 东关支部 and
    takes 张强, who had not come, off the roster. It counted those there when it began,
    and whoever came: 4 (王书记, 李明, 张强, 钱来), 张强 the one absent. 未签到, the
    secretary's 【活动结束】 message, 确认缺席, the sheet, 周报 and the dashboard all say so;
    赵新 is nowhere absent, nor docked a point."""
    from storage import dashboard
    from storage.committee_report import pioneer_shortlist
    from tests.test_figures import night_studies, run_ticks

    night_studies(runtime, "每周二 19:30", zhang=True)
    seed(runtime.engine, lambda s: make_branch(s, "东关支部"))
    clock.set(local(2026, 12, 8, 18, 0))

    def evening(now):
        at = now.astimezone(SHANGHAI).strftime("%H:%M")
        if at == "19:30":
            chat.say("sec", "签到", chat="g1")
            chat.say("li", "签到", chat="g1")
        if at == "19:45":
            seed(runtime.engine, lambda s: apply_roster(s, [
                RosterRow(row=2, name="王书记", branch="城关支部", role=Role.SECRETARY,
                          wecom_id="sec"),
                RosterRow(row=3, name="李明", branch="东关支部", wecom_id="li"),
                RosterRow(row=4, name="赵新", branch="城关支部", wecom_id="zhao"),
                RosterRow(row=5, name="钱来", branch="城关支部", wecom_id="qian")],
                full=True, now=now, tz=SHANGHAI))
            assert "签到成功" in chat.say("qian", "签到", chat="g1").text
        if at == "20:30":
            missing = chat.say("sec", "未签到").text
            assert "张强" in missing and "赵新" not in missing, missing

    sent = run_ticks(runtime, clock, local(2026, 12, 8, 21, 30),
                     step=timedelta(minutes=15), before_tick=evening)
    ended = [text for _, kind, _, text in sent if kind == "reminder.missing"]
    assert len(ended) == 1 and "应到 4 人，签到 3 人" in ended[0], ended
    assert "未签到 1 人：张强" in ended[0], ended[0]
    line = weekly(djbot, "2026-W50", "城关支部")
    assert (line["expected"], line["unconfirmed"]) == (4, 1), line  # 张强, to confirm

    confirmed = chat.say("sec", "确认缺席", chat="g1").text
    assert "参与 3/4（75.0%），缺席 1 人" in confirmed, confirmed
    line = weekly(djbot, "2026-W50", "城关支部")
    assert (line["participation"], line["absent"]) == ("3/4", 1), line
    with Session(runtime.engine) as s:
        study = s.exec(select(Activity)).one()
        sheet = sorted(line.name for line in dashboard.attendance_sheet(s, activity=study))
        assert sheet == sorted(["王书记", "李明", "张强", "钱来"])
        tally, = dashboard.activity_tallies(s, start=local(2026, 12, 7, 0, 0),
                                            end=local(2026, 12, 14, 0, 0))
        assert tally.expected == 4
        home = s.exec(select(Branch).where(Branch.name == "城关支部")).one()
        shortlisted = {c.name for c in pioneer_shortlist(
            s, branch_id=home.id, start=local(2026, 12, 1, 0, 0), end=local(2027, 1, 1, 0, 0),
            limit=None)}
        assert "张强" not in shortlisted and "赵新" not in shortlisted
    assert rows_of(runtime, "赵新") == [] and rows_of(runtime, "张强") == [("absent", -1)]


def test_a_member_moved_during_a_bureau_lecture_is_docked_where_he_was_when_it_began(
        runtime, chat, clock):
    """The bureau's 大讲堂, 19:30-21:30, expects every branch's members. 乙 of 一支部 does
    not come; at 20:00 a roster import moves him to 二支部. It counted him as he was when it
    began, in 一支部: his absence is 一支部's point, not 二支部's, which he had not joined
    when it began (as a branch's own study counts him where he was)."""
    seed(runtime.engine, bureau)
    clock.set(local(2026, 11, 24, 19, 30))
    opened = chat.say("boss", "开始 大讲堂 学习新党章 对象 全体", chat="leaders")
    if "确认" in opened.text and "已开始" not in opened.text:
        opened = chat.say("boss", "确认", chat="leaders")
    assert not opened.is_error, opened.text
    clock.set(local(2026, 11, 24, 20, 0))
    roster(runtime, clock, RosterRow(row=3, name="乙", branch="二支部", wecom_id="b"))
    clock.set(local(2026, 11, 24, 21, 30))
    chat.say("boss", "结束", chat="leaders")
    assert "缺席" in chat.say("boss", "确认缺席", chat="leaders").text

    with Session(runtime.engine) as s:
        one = s.exec(select(Branch.id).where(Branch.name == "一支部")).one()
        docked = s.exec(select(PointEntry.branch_id, PointEntry.points)
                        .join(Member, Member.id == PointEntry.member_id)
                        .where(Member.name == "乙")).all()
    assert docked == [(one, -1)], docked



def test_a_newcomer_whose_check_in_was_corrected_to_absent_is_docked_as_anyone_is(
        runtime, chat, clock):
    """戊 joins 二支部 while its night study runs, and someone checks in for him (代签);
    the secretary puts it right as an absence. He counts by that record, as 结束 and
    确认缺席 say (缺席 1 人), and the absence costs him the point it costs 丙 put right
    the same way: not an absence in the figures with no penalty in the ledger."""
    seed(runtime.engine, bureau)
    clock.set(local(2026, 11, 24, 19, 30))
    chat.say("sec2", "开始 政治夜学", chat="g2")
    chat.say("sec2", "签到", chat="g2")
    chat.say("c", "签到", chat="g2")
    clock.set(local(2026, 11, 24, 20, 0))
    roster(runtime, clock, RosterRow(row=5, name="戊", branch="二支部", wecom_id="e"))
    assert "签到成功" in chat.say("e", "签到", chat="g2").text
    for name in ("戊", "丙"):
        fixed = chat.say("sec2", f"更正 {name} 缺席 他人代签")
        assert not fixed.is_error, fixed.text
    clock.set(local(2026, 11, 24, 21, 0))
    chat.say("sec2", "结束", chat="g2")
    confirmed = chat.say("sec2", "确认缺席").text

    assert "参与 1/3（33.3%），缺席 2 人" in confirmed, confirmed
    assert rows_of(runtime, "丙") == [("absent", -1)]
    assert rows_of(runtime, "戊") == [("absent", -1)]


def test_a_member_taken_off_the_roster_during_a_study_is_not_nudged_to_check_in(
        runtime, chat, clock):
    """At 19:35 a roster import takes 张强 off 城关支部's roster, five minutes into its night
    study. The study still counts him (absent, in the secretary's 【活动结束】 list), but the
    private 「你还没有签到」 nudge at 19:45 went to someone no longer a member here."""
    from tests.test_figures import night_studies, run_ticks

    night_studies(runtime, "每周二 19:30", zhang=True)
    clock.set(local(2026, 12, 8, 18, 0))

    def evening(now):
        if now.astimezone(SHANGHAI).strftime("%H:%M") == "19:35":
            seed(runtime.engine, lambda s: apply_roster(s, [
                RosterRow(row=2, name="王书记", branch="城关支部", role=Role.SECRETARY,
                          wecom_id="sec"),
                RosterRow(row=3, name="李明", branch="城关支部", wecom_id="li")],
                full=True, now=now, tz=SHANGHAI))

    sent = run_ticks(runtime, clock, local(2026, 12, 8, 21, 30),
                     step=timedelta(minutes=5), before_tick=evening)
    nudged = sorted(target for _, kind, target, _ in sent if kind == "nudge")
    assert nudged == ["li", "sec"], nudged
    ended = [text for _, kind, _, text in sent if kind == "reminder.missing"]
    assert len(ended) == 1 and "未签到 3 人：张强、李明、王书记" in ended[0], ended
