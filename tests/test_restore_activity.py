"""恢复活动: a 取消活动 confirmed by mistake taken back, with the correction on record.

Before it there was no way back: the activity's check-ins, leave and absences counted
nowhere and its points stayed reversed, and the only mend was to open another activity
and 补签 everyone into it, at another time, under another label."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session, select

from bot.scheduling.holidays import HolidayCalendar
from bot.scheduling.tick import Ticker
from storage.models import Activity, AuditEntry, Member, OutboxMessage, PointEntry, Role
from tests.conftest import local
from tests.factories import bind_chat, make_branch, make_member, seed
from tests.test_figures import drain, run_ticks


def _branch(session):
    branch = make_branch(session, "一支部")
    bind_chat(session, branch, "g1")
    make_member(session, branch, "书记", role=Role.SECRETARY, wecom="sec")
    make_member(session, branch, "甲", wecom="a")
    make_member(session, branch, "乙", wecom="b")
    make_member(session, branch, "丙", wecom="c")


def _points(runtime) -> dict[str, int]:
    with Session(runtime.engine) as session:
        totals: dict[str, int] = {}
        for name, points in session.exec(select(Member.name, PointEntry.points).join(
                PointEntry, PointEntry.member_id == Member.id)).all():
            totals[name] = totals.get(name, 0) + points
        return totals


def _held_theme_day(runtime, chat):
    """A theme day held and confirmed: 甲 and 乙 checked in, 丙 absent."""
    seed(runtime.engine, _branch)
    chat.say("sec", "开始 主题党日 学习新党章", chat="g1")
    chat.say("a", "签到", chat="g1")
    chat.say("b", "签到", chat="g1")
    chat.say("sec", "结束", chat="g1")
    chat.say("sec", "确认缺席", chat="g1")


def test_a_cancellation_made_by_mistake_is_taken_back_with_its_points(runtime, chat):
    _held_theme_day(runtime, chat)
    held = _points(runtime)
    assert held["甲"] > 0 and held["丙"] < 0
    chat.say("sec", "取消活动", chat="g1")
    cancelled = chat.say("sec", "确认", chat="g1").text
    assert "发送「恢复活动」可撤回" in cancelled, cancelled
    assert set(_points(runtime).values()) == {0}

    reply = chat.say("sec", "恢复活动 取消错了，应取消下次", chat="g1")
    assert not reply.is_error, reply.text
    assert reply.text.startswith("已恢复主题党日「学习新党章」"), reply.text
    assert "（原取消原因：未说明原因）" in reply.text
    assert f"合计 {sum(held.values()):+d} 分" in reply.text, reply.text
    assert _points(runtime) == held
    with Session(runtime.engine) as session:
        activity = session.exec(select(Activity)).one()
        assert activity.status == "closed" and activity.cancelled_at is None
        audit = session.exec(select(AuditEntry).where(
            AuditEntry.action == "activity.restore")).one()
        assert audit.detail["reason"] == "取消错了，应取消下次"
    # The member's ledger says what happened, in order, and adds up.
    lines = chat.say("a", "积分明细").text.splitlines()
    text = "\n".join(lines)
    assert "已冲销（书记取消活动" in text and "撤回冲销" in text and "书记恢复活动：取消错了" in text, text
    # Nothing left to restore.
    again = chat.say("sec", "恢复活动", chat="g1")
    assert again.is_error and "没有可以恢复的活动" in again.text


def test_cancelled_restored_and_cancelled_again_counts_nothing_then_all_again(runtime, chat):
    """Each round of 取消活动 reverses what counts, each 恢复活动 posts it again: the
    second cancellation's reversals were keyed as the first's and would have been swallowed,
    the points standing on a cancelled activity."""
    _held_theme_day(runtime, chat)
    held = _points(runtime)
    for _ in range(2):
        chat.say("sec", "取消活动 下雨", chat="g1")
        assert chat.say("sec", "确认", chat="g1").text.startswith("已取消")
        assert set(_points(runtime).values()) == {0}
        assert chat.say("sec", "恢复活动", chat="g1").text.startswith("已恢复")
        assert _points(runtime) == held
    chat.say("sec", "取消活动 改期", chat="g1")
    chat.say("sec", "确认", chat="g1")
    # One line says what was posted (not the restorations) and why it is off now.
    line = chat.say("a", "积分明细").text.splitlines()[1]
    assert line.endswith("已取消：原记 出席 +3，已全部冲销，不计分（书记取消活动：改期）"), line


def test_only_those_who_may_cancel_may_restore_and_a_member_changes_nothing(runtime, chat):
    _held_theme_day(runtime, chat)
    chat.say("sec", "取消活动 下雨", chat="g1")
    chat.say("sec", "确认", chat="g1")
    refused = chat.say("a", "恢复活动", chat="g1")
    assert refused.is_error and "已恢复" not in refused.text
    assert set(_points(runtime).values()) == {0}


def test_nothing_cancelled_nothing_restored(runtime, chat):
    seed(runtime.engine, _branch)
    reply = chat.say("sec", "恢复活动", chat="g1")
    assert reply.is_error and "最近 7 天内没有用「取消活动」取消的活动" in reply.text, reply.text


def test_an_activity_held_again_in_its_place_is_not_restored_beside_it(runtime, chat):
    """Cancelled, then opened again (开始 主题党日) and checked in to: restoring the first
    would count one meeting twice."""
    seed(runtime.engine, _branch)
    chat.say("sec", "开始 主题党日", chat="g1")
    chat.say("a", "签到", chat="g1")
    chat.say("sec", "取消活动 开错了", chat="g1")
    chat.say("sec", "确认", chat="g1")
    chat.say("sec", "开始 主题党日 学习新党章", chat="g1")
    chat.say("a", "签到", chat="g1")
    reply = chat.say("sec", "恢复活动", chat="g1")
    assert reply.is_error and "同一时间已有主题党日" in reply.text, reply.text
    with Session(runtime.engine) as session:
        assert [a.status for a in session.exec(select(Activity).order_by(Activity.id))] == \
            ["cancelled", "open"]


def _pending(runtime, kind: str) -> list[OutboxMessage]:
    with Session(runtime.engine) as session:
        return list(session.exec(select(OutboxMessage).where(
            OutboxMessage.kind == kind, OutboxMessage.status == "pending")).all())


def test_a_coming_activity_restored_gets_its_reminders_again(runtime, chat, clock):
    """A night study cancelled before it began: the secretary's 【明日活动】 queued for it
    was withheld; restored the same day, it goes out after all, and members check in to
    the night study when it comes."""
    seed(runtime.engine, _branch)
    clock.set(local(2026, 11, 1, 7, 30))
    chat.say("sec", "设置 夜学 每周二 19:30", chat="g1")
    run_ticks(runtime, clock, local(2026, 11, 2, 7, 0), step=timedelta(minutes=30))
    ticker = Ticker(runtime.engine, runtime.settings, clock, runtime.rules,
                    calendar=HolidayCalendar())
    ticker.last = clock.now()
    while not _pending(runtime, "reminder.day_before"):  # queued, not yet delivered
        clock.advance(timedelta(minutes=30))
        ticker.tick()
    chat.say("sec", "取消活动 下次夜学 临时停电", chat="g1")
    assert chat.say("sec", "确认", chat="g1").text.startswith("已取消")
    assert not _pending(runtime, "reminder.day_before")
    reply = chat.say("sec", "恢复活动 来电了", chat="g1")
    assert reply.text.startswith("已恢复政治夜学"), reply.text
    sent = drain(runtime, clock)
    assert [kind for _, kind, _, _ in sent] == ["reminder.day_before"], sent
    clock.set(local(2026, 11, 3, 19, 25))
    assert chat.say("a", "签到", chat="g1").text.startswith("甲 签到成功")


def test_an_activity_restored_while_under_way_is_on_again_for_the_group(runtime, chat, clock):
    """Cancelled a minute after it began, the group was told it was off; restored, the
    group hears it is on (照常举行) and members check in."""
    seed(runtime.engine, _branch)
    clock.set(local(2026, 11, 1, 7, 30))
    chat.say("sec", "设置 夜学 每周二 19:30", chat="g1")
    run_ticks(runtime, clock, local(2026, 11, 3, 19, 30), step=timedelta(minutes=30))
    clock.set(local(2026, 11, 3, 19, 31))
    chat.say("sec", "取消活动 临时停电", chat="g1")
    chat.say("sec", "确认", chat="g1")
    assert "activity.cancel" in [kind for _, kind, _, _ in drain(runtime, clock)]
    reply = chat.say("sec", "恢复活动 来电了", chat="g1")
    assert "已告知 1 个收到过取消通知的群" in reply.text, reply.text
    sent = drain(runtime, clock)
    assert [(kind, text) for _, kind, _, text in sent] == [
        ("activity.resume", "【活动恢复】政治夜学（19:30）照常举行。")], sent
    assert chat.say("a", "签到", chat="g1").text.startswith("甲 签到成功")


def test_taking_back_a_cancellation_said_with_undo_restores_it(runtime, chat):
    """撤销取消活动 was read as 恢复活动 with the reason 活动 (in the ledger's note), and
    撤销 取消活动 went to 撤销, which named no way back."""
    _held_theme_day(runtime, chat)
    held = _points(runtime)
    chat.say("sec", "取消活动 下雨", chat="g1")
    chat.say("sec", "确认", chat="g1")
    reply = chat.say("sec", "撤销 取消活动", chat="g1")
    assert reply.text.startswith("已恢复"), reply.text
    assert _points(runtime) == held
    assert "书记恢复活动：未说明原因" in chat.say("a", "积分明细").text


def test_a_named_activity_is_the_one_restored_and_undo_words_do_not_restore(runtime, chat):
    """With 夜学 then 主题党日 cancelled, 恢复活动 夜学 restored the 主题党日 (the word was only
    its reason); and 撤销取消提醒 (the alias 撤销取消, glued) restored an activity at once."""
    seed(runtime.engine, _branch)
    chat.say("sec", "开始 政治夜学", chat="g1")
    chat.say("sec", "取消活动 开错了", chat="g1")
    chat.say("sec", "确认", chat="g1")
    chat.say("sec", "开始 主题党日 学习新党章", chat="g1")
    chat.say("sec", "取消活动 下雨", chat="g1")
    chat.say("sec", "确认", chat="g1")
    hint = chat.say("sec", "撤销取消提醒", chat="g1")
    assert not hint.text.startswith("已恢复"), hint.text
    reply = chat.say("sec", "恢复活动 夜学 取消错了", chat="g1")
    assert reply.text.startswith("已恢复政治夜学"), reply.text
    with Session(runtime.engine) as session:
        assert {a.type: a.status for a in session.exec(select(Activity))} == {
            "政治夜学": "open", "主题党日": "cancelled"}
    again = chat.say("sec", "恢复活动 夜学", chat="g1")
    assert again.is_error and "没有可以恢复的政治夜学" in again.text, again.text


def test_restore_said_with_the_night_study_restores_what_was_cancelled_or_paused(runtime, chat):
    """恢复夜学 取消错了, from a secretary who cancelled one night study by 取消活动, went to
    恢复日程 (「本支部没有「取消错了」」, or 「没有暂停」): nothing was paused; the study
    cancelled is what they want back. A paused schedule is still what 恢复夜学 resumes, and
    with both it asks which."""
    seed(runtime.engine, _branch)
    chat.say("sec", "开始 政治夜学", chat="g1")
    chat.say("sec", "取消活动 开错了", chat="g1")
    chat.say("sec", "确认", chat="g1")
    reply = chat.say("sec", "恢复夜学 取消错了", chat="g1")
    assert reply.text.startswith("已恢复政治夜学"), reply.text
    with Session(runtime.engine) as session:
        assert [a.status for a in session.exec(select(Activity))] == ["open"]
        assert "取消错了" in session.exec(select(AuditEntry).where(
            AuditEntry.action == "activity.restore")).one().detail["reason"]

    chat.say("sec", "设置 夜学 每周三 19:30", chat="g1")
    chat.say("sec", "暂停日程 夜学 至 12月31日", chat="g1")
    chat.say("sec", "取消活动 又开错了", chat="g1")
    chat.say("sec", "确认", chat="g1")
    asked = chat.say("sec", "恢复夜学", chat="g1")
    assert "恢复日程 夜学" in asked.text and "恢复活动 夜学" in asked.text, asked.text
    assert "什么也没有改" in asked.text
    with Session(runtime.engine) as session:
        assert [a.status for a in session.exec(select(Activity))] == ["cancelled"]
    said_in_full = chat.say("sec", "恢复日程 夜学", chat="g1")
    assert said_in_full.text == "已恢复一支部的政治夜学日程。", said_in_full.text
    assert chat.say("sec", "恢复夜学", chat="g1").text.startswith("已恢复政治夜学")
    nothing = chat.say("sec", "恢复日程 夜学", chat="g1")
    assert nothing.is_error and nothing.text.startswith("一支部的政治夜学没有暂停。"), nothing.text


def test_restore_said_with_a_reason_and_nothing_to_restore_says_so(runtime, chat):
    """恢复夜学 取消错了 with nothing cancelled or paused was told 「本支部没有「取消错了」」, as if
    取消错了 were a party group; a pause made by mistake is resumed whatever words follow."""
    seed(runtime.engine, _branch)
    reply = chat.say("sec", "恢复夜学 取消错了", chat="g1")
    assert reply.is_error and "取消错了」" not in reply.text, reply.text
    assert "没有暂停" in reply.text and "没有用「取消活动」取消的政治夜学" in reply.text
    chat.say("sec", "设置 夜学 每周三 19:30", chat="g1")
    chat.say("sec", "暂停日程 夜学 至 12月31日", chat="g1")
    assert chat.say("sec", "恢复夜学 暂停错了", chat="g1").text == "已恢复一支部的政治夜学日程。"
