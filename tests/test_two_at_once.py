"""A secretary's commands with two activities under way at once.

Two party groups' 党小组会 scheduled the same evening, or a 支委会 (09:00–10:00) running into
the 主题党日 at 10:00 whose check-in opened at 09:30: 结束, 确认缺席, 取消活动, 补签 and 更正
took the latest-started one, so 结束 meant for the 支委会 closed the theme day that had just
begun, a 补签 for the second group's member landed on the first group's meeting, and
确认缺席 confirmed (and counted absent) a meeting still under way. Now the member named
decides where one activity expects them; otherwise the reply lists the activities with the
words to send (结束 支委会, 确认缺席 第一党小组) and nothing changes until told.
"""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session, select

from storage.models import (
    Activity,
    Attendance,
    AttendanceStatus,
    Member,
    OutboxMessage,
    PartyGroup,
    Role,
)
from tests.conftest import local
from tests.factories import make_member, seed
from tests.test_figures import run_ticks
from tests.test_whose_activity import COMMITTEE, _branch, _records

GROUP_1 = ("党小组会", "每周三 19:30", 90, "第一党小组")
GROUP_2 = ("党小组会", "每周三 19:30", 90, "第二党小组")
THEME_DAY_AT_TEN = ("主题党日", "每月8日 10:00", 120, None)
TEN_MINUTES = timedelta(minutes=10)


def _activities(runtime) -> dict[str, tuple[str, bool]]:
    """Each activity by its type (or its party group), with its status and whether its
    absences are confirmed."""
    with Session(runtime.engine) as session:
        groups = {g.id: g.name for g in session.exec(select(PartyGroup)).all()}
        return {groups.get(a.party_group_id, a.type): (a.status, a.finalized_at is not None)
                for a in session.exec(select(Activity)).all()}


def _committee_into_theme_day(runtime, clock, until) -> None:
    """The 8th: 支委会 09:00–10:00, 主题党日 10:00–12:00 (check-in from 09:30)."""
    _branch(runtime, COMMITTEE, THEME_DAY_AT_TEN)
    clock.set(local(2026, 12, 7, 20, 0))
    run_ticks(runtime, clock, local(2026, 12, 8, 9, 0))
    run_ticks(runtime, clock, until, step=TEN_MINUTES)


def _two_party_groups(runtime, clock, until) -> None:
    """Wednesday the 9th, 19:30–21:00: each party group's 党小组会."""
    _branch(runtime, GROUP_1, GROUP_2)
    clock.set(local(2026, 12, 9, 19, 0))
    run_ticks(runtime, clock, until, step=TEN_MINUTES)


def test_finish_with_two_under_way_asks_which_and_ends_the_one_named(runtime, chat, clock):
    _committee_into_theme_day(runtime, clock, local(2026, 12, 8, 9, 50))
    asked = chat.say("sec", "结束", chat="g1")
    assert "「结束 支委会」" in asked.text and "「结束 主题党日」" in asked.text, asked.text
    assert _activities(runtime) == {"支委会": ("open", False), "主题党日": ("open", False)}
    # 开始 while the 支委会 runs says the words that end it, not 「结束」 alone.
    refused = chat.say("sec", "开始 主题党日", chat="g1")
    assert refused.is_error and "「结束 支委会」" in refused.text, refused.text
    ended = chat.say("sec", "支委会结束", chat="g1").text
    assert ended.startswith("支委会（09:00）已结束。"), ended
    assert "主题党日（10:00）仍在进行" in ended, ended
    assert "「确认缺席 支委会」" in ended, ended
    assert _activities(runtime) == {"支委会": ("closed", False), "主题党日": ("open", False)}
    # 确认缺席 means the 支委会 that ended, never the theme day whose check-in is open.
    confirmed = chat.say("sec", "确认缺席", chat="g1").text
    assert confirmed.startswith("已确认支委会（09:00）的出勤"), confirmed
    assert _activities(runtime) == {"支委会": ("closed", True), "主题党日": ("open", False)}
    # One left under way: 结束 is the one, as always; a word naming another is refused.
    wrong = chat.say("sec", "夜学结束", chat="g1")
    assert wrong.is_error and "主题党日" in wrong.text, wrong.text
    assert _activities(runtime)["主题党日"] == ("open", False)


def test_party_groups_end_apart_and_confirm_the_one_ended(runtime, chat, clock):
    _two_party_groups(runtime, clock, local(2026, 12, 9, 20, 0))
    asked = chat.say("sec", "结束", chat="g1").text
    assert "「结束 第一党小组」" in asked and "「结束 第二党小组」" in asked, asked
    ended = chat.say("sec", "结束 第一党小组", chat="g1").text
    assert ended.startswith("党小组会·第一党小组（19:30）已结束。"), ended
    assert "「确认缺席 第一党小组」" in ended, ended
    # 确认缺席 means the meeting that ended, never the one still taking check-ins.
    confirmed = chat.say("sec", "确认缺席", chat="g1").text
    assert confirmed.startswith("已确认党小组会·第一党小组（19:30）的出勤"), confirmed
    assert _activities(runtime) == {"第一党小组": ("closed", True),
                                    "第二党小组": ("open", False)}
    assert ("张强", "党小组会", "12-9", AttendanceStatus.ABSENT) not in _records(runtime)
    # Said again (a double send, another 委员): the meeting still under way is not confirmed
    # in its place, and its members can still check in.
    again = chat.say("sec", "确认缺席", chat="g1")
    assert again.is_error and again.text == (
        "党小组会·第一党小组（19:30）的缺席已经确认过了；党小组会·第二党小组（19:30）还在进行，"
        "结束后再确认缺席。还没有确认。"), again.text
    assert _activities(runtime)["第二党小组"] == ("open", False)
    assert chat.say("zhang", "签到", chat="g1").text.startswith("张强 签到成功")


def test_confirm_absence_with_two_ended_asks_which(runtime, chat, clock):
    _two_party_groups(runtime, clock, local(2026, 12, 9, 21, 30))
    asked = chat.say("sec", "确认缺席", chat="g1").text
    assert "「确认缺席 第一党小组」" in asked and "「确认缺席 第二党小组」" in asked, asked
    assert _activities(runtime) == {"第一党小组": ("closed", False),
                                    "第二党小组": ("closed", False)}
    assert chat.say("sec", "确认缺席 第二党小组", chat="g1").text.startswith(
        "已确认党小组会·第二党小组（19:30）的出勤")
    assert _activities(runtime) == {"第一党小组": ("closed", False),
                                    "第二党小组": ("closed", True)}
    # The one left is the one meant.
    assert chat.say("sec", "确认缺席", chat="g1").text.startswith(
        "已确认党小组会·第一党小组（19:30）的出勤")


def test_makeup_and_correction_land_on_the_member_s_own_party_group(runtime, chat, clock):
    _two_party_groups(runtime, clock, local(2026, 12, 9, 19, 40))
    seed(runtime.engine, lambda s: make_member(s, None, "孙管理", role=Role.ADMIN, wecom="admin"))
    chat.say("li", "签到", chat="g1")
    for who in ("王书记", "张强"):
        reply = chat.say("admin", f"补签 {who} 手机没电", chat="g1")
        assert not reply.is_error and reply.text.startswith(f"已为 {who} 补签：党小组会·"), \
            reply.text
    records = [(r[0], r[3]) for r in _records(runtime)]
    assert sorted(records) == [("张强", "makeup"), ("李明", "present"), ("王书记", "makeup")]
    by_group = _records_by_group(runtime)
    assert by_group == {"第一党小组": {"李明", "王书记"}, "第二党小组": {"张强"}}, by_group
    # After both ended, 更正 of the second group's member finds his record there.
    run_ticks(runtime, clock, local(2026, 12, 9, 21, 30), step=TEN_MINUTES)
    corrected = chat.say("sec", "更正 张强 缺席 补签错了")
    assert not corrected.is_error, corrected.text
    assert "党小组会·第二党小组" in corrected.text, corrected.text


def _records_by_group(runtime) -> dict[str, set[str]]:
    """Whose records each party group's meeting holds."""
    with Session(runtime.engine) as session:
        rows = session.exec(
            select(PartyGroup.name, Member.name)
            .join(Activity, Activity.party_group_id == PartyGroup.id)
            .join(Attendance, Attendance.activity_id == Activity.id)
            .join(Member, Member.id == Attendance.member_id)).all()
    found: dict[str, set[str]] = {}
    for group, name in rows:
        found.setdefault(group, set()).add(name)
    return found


def test_makeup_of_one_expected_at_both_asks_which(runtime, chat, clock):
    _committee_into_theme_day(runtime, clock, local(2026, 12, 8, 9, 50))
    # The secretary is not made up by himself (see tests/test_attendance_records.py).
    seed(runtime.engine, lambda s: make_member(s, None, "孙管理", role=Role.ADMIN, wecom="admin"))
    # 李明 is not on the committee: only the theme day expects him.
    assert chat.say("sec", "补签 李明 手机没电", chat="g1").text.startswith(
        "已为 李明 补签：主题党日（10:00）")
    asked = chat.say("admin", "补签 王书记 手机没电", chat="g1")
    assert asked.is_error, asked.text
    assert "「补签 王书记 支委会 手机没电」" in asked.text, asked.text
    assert "「补签 王书记 主题党日 手机没电」" in asked.text, asked.text
    assert [r[0] for r in _records(runtime)] == ["李明"]
    assert chat.say("admin", "补签 王书记 支委会 手机没电", chat="g1").text.startswith(
        "已为 王书记 补签：支委会（09:00）")
    # Made up at one, the 补签 left to do is the other's.
    assert chat.say("admin", "补签 王书记 手机没电", chat="g1").text.startswith(
        "已为 王书记 补签：主题党日（10:00）")
    # 更正 of one with a check-in at both asks which as well.
    asked = chat.say("admin", "更正 王书记 缺席 没有参加", chat="g1")
    assert asked.is_error and "「更正 王书记 缺席 支委会 没有参加」" in asked.text, asked.text
    assert sorted((r[0], r[1], r[3]) for r in _records(runtime)) == [
        ("李明", "主题党日", "makeup"), ("王书记", "主题党日", "makeup"),
        ("王书记", "支委会", "makeup")]


def test_figures_show_each_activity_under_way(runtime, chat, clock):
    _two_party_groups(runtime, clock, local(2026, 12, 9, 19, 40))
    chat.say("li", "签到", chat="g1")
    shown = chat.say("sec", "活动", chat="g1").text
    assert "党小组会·第一党小组（19:30） 进行中" in shown, shown
    assert "党小组会·第二党小组（19:30） 进行中" in shown, shown
    assert "参与 1/2" in shown and "参与 0/1" in shown, shown


def test_cancel_with_two_under_way_asks_which(runtime, chat, clock):
    _committee_into_theme_day(runtime, clock, local(2026, 12, 8, 9, 50))
    asked = chat.say("sec", "取消活动 临时勤务", chat="g1")
    assert "「取消活动 支委会 临时勤务」" in asked.text, asked.text
    assert "「取消活动 主题党日 临时勤务」" in asked.text, asked.text
    assert chat.say("sec", "确认", chat="g1").is_error  # nothing was asked to confirm
    to_confirm = chat.say("sec", "取消活动 主题党日 临时勤务", chat="g1").text
    assert to_confirm.startswith("将取消主题党日（10:00）"), to_confirm
    done = chat.say("sec", "确认", chat="g1").text
    assert done.startswith("已取消主题党日（10:00）。原因：临时勤务"), done
    assert _activities(runtime) == {"支委会": ("open", False), "主题党日": ("cancelled", False)}


def test_makeup_naming_the_type_of_two_groups_meetings_finds_the_member_s_own(
        runtime, chat, clock):
    _two_party_groups(runtime, clock, local(2026, 12, 9, 21, 30))
    for who in ("李明", "张强"):
        reply = chat.say("sec", f"补签 {who} 党小组会 手机没电", chat="g1")
        assert not reply.is_error, reply.text
    assert _records_by_group(runtime) == {"第一党小组": {"李明"}, "第二党小组": {"张强"}}


def test_cancelling_the_next_of_two_party_groups_asks_which(runtime, chat, clock):
    _branch(runtime, GROUP_1, GROUP_2)
    clock.set(local(2026, 12, 8, 9, 0))
    run_ticks(runtime, clock, local(2026, 12, 8, 12, 0))
    asked = chat.say("sec", "取消活动 下次 会议室停电", chat="g1").text
    assert "「取消活动 下次 第一党小组 会议室停电」" in asked, asked
    assert "「取消活动 下次 第二党小组 会议室停电」" in asked, asked
    asked = chat.say("sec", "取消活动 下次 第二党小组 会议室停电", chat="g1").text
    assert asked.startswith("将取消党小组会·第二党小组（"), asked
    assert chat.say("sec", "确认", chat="g1").text.startswith("已取消党小组会·第二党小组")
    assert _activities(runtime) == {"第一党小组": ("open", False),
                                    "第二党小组": ("cancelled", False)}


def test_the_activity_may_be_said_with_the_command():
    from tests.test_phrasing import understand
    assert understand("结束 第一党小组") == ("结束", {"which": "第一党小组"})
    assert understand("第二党小组结束") == ("结束", {"which": "第二党小组"})
    assert understand("支委会结束了") == ("结束", {"which": "支委会"})
    assert understand("确认缺席 支委会") == ("确认缺席", {"which": "支委会"})
    # As before: 结束 alone, what names no activity dropped or refused.
    assert understand("会议结束") == ("结束", {"which": None})
    assert understand("结束 签到") == ("结束", {"which": None})
    assert "「结束」后面不用写别的" in understand("结束 现在")
    assert "「确认缺席」后面不用写别的" in understand("确认缺席 全部")


def test_confirm_absence_naming_one_no_longer_at_hand_finds_it(runtime, chat, clock):
    """The 支委会 ended at 10:00 unconfirmed; at 15:00, with the afternoon's theme day on,
    确认缺席 支委会 confirms it, as 补签 王书记 支委会 … finds it (it was 「最近没有支委会」)."""
    _branch(runtime, COMMITTEE, ("主题党日", "每月8日 14:30", 120, None))
    clock.set(local(2026, 12, 7, 20, 0))
    run_ticks(runtime, clock, local(2026, 12, 8, 15, 0))
    confirmed = chat.say("sec", "确认缺席 支委会", chat="g1")
    assert confirmed.text.startswith("已确认支委会（09:00）的出勤"), confirmed.text
    assert _activities(runtime) == {"支委会": ("closed", True), "主题党日": ("open", False)}
    missing = chat.say("sec", "确认缺席 党课", chat="g1")
    assert missing.is_error and "最近没有党课" in missing.text


def test_cancel_naming_another_activity_than_the_one_at_hand_means_that_one(
        runtime, chat, clock):
    """The theme day ran 09:00–11:00; at noon 取消活动 夜学 临时勤务 means tonight's night
    study: it offered to cancel the theme day, with 夜学 read into the reason, and a quick
    确认 would have wiped the theme day's figures."""
    from tests.test_whose_activity import NIGHT_STUDY

    _branch(runtime, NIGHT_STUDY, ("主题党日", "每月8日 09:00", 120, None))
    clock.set(local(2026, 12, 7, 20, 0))
    run_ticks(runtime, clock, local(2026, 12, 8, 12, 0))
    asked = chat.say("sec", "取消活动 夜学 临时勤务", chat="g1").text
    assert asked.startswith("将取消政治夜学（19:30）"), asked
    assert chat.say("sec", "确认", chat="g1").text.startswith("已取消政治夜学"), asked
    with Session(runtime.engine) as session:
        held = sorted((a.type, a.starts_at.day, a.status)
                      for a in session.exec(select(Activity)).all())
    assert held == [("主题党日", 8, "closed"), ("政治夜学", 8, "cancelled"),
                    ("政治夜学", 10, "open")], held
    # The one at hand named is the one at hand; one with nothing to cancel changes nothing.
    assert chat.say("sec", "取消活动 主题党日 下雨", chat="g1").text.startswith(
        "将取消主题党日（09:00）")
    none = chat.say("sec", "取消活动 党课 下雨", chat="g1")
    assert none.is_error and "没有可以取消的党课" in none.text


def test_confirm_absence_never_confirms_a_cancelled_meeting(runtime, chat, clock):
    """The morning's 支委会 was cancelled (取消活动); that evening 确认缺席 支委会 found it
    (named activities include cancelled ones), closed and confirmed it, and docked every
    committee member an absence for a meeting never held."""
    from storage.models import PointEntry
    from tests.test_whose_activity import NIGHT_STUDY

    _branch(runtime, NIGHT_STUDY, COMMITTEE)
    clock.set(local(2026, 12, 7, 20, 0))
    run_ticks(runtime, clock, local(2026, 12, 8, 8, 0))
    chat.say("sec", "取消活动 临时勤务", chat="g1")
    assert chat.say("sec", "确认", chat="g1").text.startswith("已取消支委会")
    run_ticks(runtime, clock, local(2026, 12, 8, 19, 40))
    refused = chat.say("sec", "确认缺席 支委会", chat="g1")
    assert refused.is_error and "支委会（12月8日 09:00）已取消" in refused.text, refused.text
    with Session(runtime.engine) as session:
        committee = session.exec(select(Activity).where(Activity.type == "支委会")).one()
        assert (committee.status, committee.finalized_at) == ("cancelled", None)
        assert session.exec(select(PointEntry)).all() == []


def test_cancel_naming_two_party_groups_meeting_next_asks_which(runtime, chat, clock):
    """The theme day ran this morning; tonight both party groups meet. 取消活动 党小组会 下雨
    took one of the two without asking; 取消活动 第二党小组 下雨 offered the theme day with
    「第二党小组 下雨」 as its reason."""
    _branch(runtime, ("主题党日", "每月9日 09:00", 120, None), GROUP_1, GROUP_2)
    clock.set(local(2026, 12, 8, 20, 0))
    run_ticks(runtime, clock, local(2026, 12, 9, 12, 0))
    asked = chat.say("sec", "取消活动 党小组会 下雨", chat="g1")
    assert asked.is_error and "「取消活动 第一党小组 下雨」" in asked.text and \
        "「取消活动 第二党小组 下雨」" in asked.text, asked.text
    named = chat.say("sec", "取消活动 第二党小组 下雨", chat="g1").text
    assert named.startswith("将取消党小组会·第二党小组（19:30）"), named
    assert chat.say("sec", "确认", chat="g1").text.startswith("已取消党小组会·第二党小组")
    assert _activities(runtime) == {"主题党日": ("closed", False),
                                    "第一党小组": ("open", False),
                                    "第二党小组": ("cancelled", False)}


def test_each_party_group_s_reminders_name_their_group(runtime, clock):
    """Two party groups meeting the same evening: the branch group got two identical
    【活动提醒】党小组会, and the secretary two 【明日活动】 and two lists of the missing, with
    nothing saying which party group each was about."""
    _branch(runtime, GROUP_1, GROUP_2)
    clock.set(local(2026, 12, 8, 8, 0))
    run_ticks(runtime, clock, local(2026, 12, 9, 23, 0))
    with Session(runtime.engine) as session:
        texts = {(m.kind, m.payload["text"].splitlines()[0])
                 for m in session.exec(select(OutboxMessage))}
    for group in ("第一党小组", "第二党小组"):
        assert ("reminder.day_before", f"【明日活动】党小组会·{group}") in texts, texts
        assert ("reminder.group_before", f"【活动提醒】党小组会·{group}") in texts, texts
        assert any(kind == "reminder.missing" and group in text for kind, text in texts), texts
