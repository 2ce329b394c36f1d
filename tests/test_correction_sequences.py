"""Sequences of corrections a real secretary produces, checked figure by figure.

補签, 更正, 确认缺席, 批准请假 (late too), 取消活动, 销假 and 撤销, one after another on the same
member: after each step the member's points (积分, 积分明细), the activity's figures (活动)
and the audit log must say the same thing, and the member must count for what they did
once — one check-in's points, or the penalty, or leave, never two of them.
"""

from __future__ import annotations

import json
import threading

import pytest
from sqlmodel import Session, select

from bot.domain.rules import DEFAULT_RULES_PATH
from bot.runtime import build_runtime
from storage import attendance as store
from storage import committee_report
from storage.models import AuditEntry, Branch, Member, PointEntry, Role, RuleSet
from tests.conftest import TEST_DB, ChatDriver, local
from tests.factories import make_member, seed
from tests.test_attendance_corrections import (  # noqa: F401 - bureau: the fixture
    THEME_MAKEUP,
    THEME_PRESENT,
    bureau,
    notices,
    points_of,
    record,
    row_of,
    theme_day,
)
from tests.test_figures import djbot, ledger_lines  # noqa: F401 - djbot: the fixture

LEAVE_POINTS = 1  # a bureau whose rules give granted leave a point


@pytest.fixture
def leave_counts(settings, clock, engine, tmp_path, bureau):  # noqa: F811 - the fixture above
    """The bureau of tests.test_attendance_corrections under rules that give leave a point,
    with leave waiting for the secretary's approval."""
    text = DEFAULT_RULES_PATH.read_text(encoding="utf-8").replace(
        "leave = 0", f"leave = {LEAVE_POINTS}")
    path = tmp_path / "rules.toml"
    path.write_text(text, encoding="utf-8")
    runtime = build_runtime(settings.model_copy(update={
        "rules_file": path, "leave_requires_approval": True}),
        clock=clock, engine=engine, migrate=False)
    return runtime, ChatDriver(runtime)


def confirm_automatically(runtime, *, hours: int) -> None:
    """The scheduler's confirmation of absences, `hours` later."""
    runtime.clock.advance(hours=hours)
    with Session(runtime.engine) as s:
        store.finalize_due(s, now=runtime.clock.now(), rules=runtime.rules,
                           confirm_hours=runtime.settings.absence_confirm_hours,
                           tz=runtime.settings.tz)
        s.commit()


def audit_of(engine, action: str) -> list[dict]:
    with Session(engine) as s:
        return [e.detail for e in s.exec(select(AuditEntry).where(AuditEntry.action == action)
                                         .order_by(AuditEntry.id)).all()]


def test_a_member_on_leave_who_was_there_after_all_counts_for_the_make_up_only(leave_counts):
    """李四 asked leave, it was granted and its point posted at the confirmation; he came
    after all. The 补签 takes the leave point back: he counts for being there, once."""
    runtime, chat = leave_counts
    chat.say("sec", "开始 主题党日 学习新党章", chat="g1")
    chat.say("l4", "请假 出差")
    assert "已批准" in chat.say("sec", "批准请假 李四").text
    chat.say("sec", "签到", chat="g1")
    chat.say("z3", "签到", chat="g1")
    chat.say("sec", "结束", chat="g1")
    assert "已确认" in chat.say("sec", "确认缺席", chat="g1").text
    assert sum(points_of(runtime.engine, "李四")) == LEAVE_POINTS

    reply = chat.say("sec", "补签 李四 其实到场了")

    assert f"积分 {THEME_MAKEUP:+d}" in reply.text
    assert f"已撤销请假积分（{-LEAVE_POINTS:+d}）" in reply.text
    assert points_of(runtime.engine, "李四") == [LEAVE_POINTS, -LEAVE_POINTS, THEME_MAKEUP]
    assert f"本周：{THEME_MAKEUP} 分" in chat.say("l4", "积分").text
    assert any(f"±0 主题党日「学习新党章」请假 {LEAVE_POINTS:+d}，已冲销（补签：其实到场了）"
               in line for line in ledger_lines(chat, "l4"))
    assert audit_of(runtime.engine, "makeup")[-1] | {"member_id": 0} == {
        "member_id": 0, "activity_id": 1, "reason": "其实到场了", "from": "leave",
        "reversed_points": -LEAVE_POINTS}
    assert "补签 1、请假 0、未到 0" in chat.say("sec", "活动", chat="g1").text


def test_leave_approved_late_then_made_up_then_corrected_counts_once_each_time(leave_counts):
    """李四's leave lapsed into an absence (nobody decided it); 批准请假 puts it right, a 补签
    says he was there after all, and a 更正 says he was not: after each step he counts for
    one status."""
    runtime, chat = leave_counts
    chat.say("sec", "开始 主题党日 学习新党章", chat="g1")
    chat.say("l4", "请假 出差")
    chat.say("sec", "签到", chat="g1")
    chat.say("sec", "结束", chat="g1")
    confirm_automatically(runtime, hours=26)  # the leave still undecided: an absence
    assert sum(points_of(runtime.engine, "李四")) == -2

    approved = chat.say("sec", "批准请假 李四")
    assert "缺席扣分已撤销（+2）" in approved.text
    assert sum(points_of(runtime.engine, "李四")) == LEAVE_POINTS  # the penalty back, leave's 1
    assert "没有待处理的请假" in chat.say("sec", "批准请假 李四").text  # once

    refused = chat.say("sec", "更正 李四 缺席 其实没请假")
    assert refused.is_error and "已请假，没有可以更正的签到记录" in refused.text

    made_up = chat.say("sec", "补签 李四 其实到场了")
    assert f"已撤销请假积分（{-LEAVE_POINTS:+d}）" in made_up.text
    assert sum(points_of(runtime.engine, "李四")) == THEME_MAKEUP

    corrected = chat.say("sec", "更正 李四 缺席 补签错人")
    assert f"积分 {-THEME_MAKEUP - 2:+d}（冲销补签 {-THEME_MAKEUP:+d}，缺席扣分 -2）" in corrected.text
    assert sum(points_of(runtime.engine, "李四")) == -2
    assert "补签 0、请假 0、未到 2" in chat.say("sec", "活动", chat="g1").text


def meanwhile(monkeypatch, other) -> list:
    """Run `other` (another person's message, or the scheduler) to its end the moment the
    next message has read the attendance record it works on: the two interleave as on two
    replicas. Returns [None, what `other` returned] once it has run."""
    read = store.attendance_of
    done: list = []

    def racing(session, **key):
        row = read(session, **key)
        if not done:
            done.append(None)
            thread = threading.Thread(target=lambda: done.append(other()))
            thread.start()
            thread.join()
        return row

    monkeypatch.setattr(store, "attendance_of", racing)
    return done


def test_two_secretaries_correcting_one_member_at_once_leave_one_record(
        runtime, chat, clock, bureau, monkeypatch):  # noqa: F811 - the fixture above
    """王书记 says 张三 was absent (someone checked in for him) while 刘委员, at the same moment,
    says he had leave: both read 张三's check-in before either wrote. Whoever writes second
    finds the record changed, and is told what it is now, rather than writing over it with
    a reply, an audit entry and a notice about a check-in that was no longer there."""
    seed(runtime.engine, lambda s: make_member(
        s, s.exec(select(Branch).where(Branch.name == "城关支部")).one(), "刘委员",
        role=Role.COMMITTEE, wecom="cm"))
    theme_day(chat)
    # 王书记 has read the check-in when 刘委员's message runs to its end.
    second = meanwhile(monkeypatch, lambda: chat.say("cm", "更正 张三 请假 临时出警，事先向我请过假"))
    first = chat.say("sec", "更正 张三 缺席 没有参加，系他人代签")
    monkeypatch.undo()

    assert "由出席更正为请假" in second[1].text
    # Told what the record is now; a record corrected already changes only on 「确认」.
    assert first.text.startswith("张三 在主题党日「学习新党章」（09:00）的签到记录已更正为请假"
                                 "（原因：临时出警，事先向我请过假），记录暂保持不变。"), first.text
    assert row_of(runtime.engine, "张三").status == "leave"
    assert points_of(runtime.engine, "张三") == [THEME_PRESENT, -THEME_PRESENT]
    assert [(d["from"], d["to"]) for d in audit_of(runtime.engine, "attendance.correct")] == \
        [("present", "leave")]
    assert len(notices(runtime, clock, "z3")) == 1
    assert "参与 1/3（33.3%）：出席 1、迟到 0、补签 0、请假 1、未到 2" in chat.say("sec", "活动", chat="g1").text


def test_back_after_a_check_in_was_corrected_to_leave_the_member_checks_in_and_counts(
        runtime, chat, clock, bureau):  # noqa: F811 - the fixture above
    """张三 checked in; the secretary corrected it to leave (he was called out), and then
    张三 stayed after all. 销假 does not wipe the secretary's record and its ledger lines;
    his 签到 replaces the leave, and its points count."""
    chat.say("sec", "开始 主题党日 学习新党章", chat="g1")
    chat.say("z3", "签到", chat="g1")
    assert not chat.say("sec", "更正 张三 请假 临时出警").is_error
    assert sum(points_of(runtime.engine, "张三")) == 0

    back = chat.say("z3", "销假")
    clock.advance(minutes=5)
    assert f"张三 签到成功：主题党日「学习新党章」（09:00），积分 {THEME_PRESENT:+d}" in \
        chat.say("z3", "签到", chat="g1").text

    assert points_of(runtime.engine, "张三") == [THEME_PRESENT, -THEME_PRESENT, THEME_PRESENT]
    assert f"本周：{THEME_PRESENT} 分" in chat.say("z3", "积分").text
    lines = ledger_lines(chat, "z3")
    assert len(lines) == 2 and all("主题党日「学习新党章」" in line for line in lines), lines
    assert lines[0].endswith(f"{THEME_PRESENT:+d} 主题党日「学习新党章」出席"), lines
    assert "出席 1、迟到 0、补签 0、请假 0" in chat.say("sec", "活动", chat="g1").text
    assert back.is_error and "来了直接发送「签到」即可" in back.text


def test_a_cancelled_activity_is_not_made_up_or_corrected_and_says_so(
        runtime, chat, clock, bureau):  # noqa: F811 - the fixture above
    """Cancelled after check-ins, a 补签, a 更正 and the confirmation: every line of it is
    reversed once and it counts nowhere; a 补签 or 更正 on it afterwards is refused as
    cancelled, whether it is named or meant as the latest."""
    theme_day(chat)  # 李四 absent, confirmed
    chat.say("sec", "补签 李四 手机没电")
    chat.say("sec", "更正 李四 缺席 补签错人")
    chat.say("sec", "更正 张三 请假 临时出警")
    chat.say("sec", "取消活动 应由局里统一组织")
    cancelled = chat.say("sec", "确认")
    assert "相关积分已冲销（合计 -1 分）" in cancelled.text  # 王书记 +3, 张三 0, 李四 −2
    for name in ("王书记", "张三", "李四"):
        assert sum(points_of(runtime.engine, name)) == 0, name
    with Session(runtime.engine) as s:  # each of the activity's lines reversed exactly once
        lines = s.exec(select(PointEntry)).all()
        reversed_by_cancel = [e.source_id.rsplit(":", 1)[1] for e in lines
                              if e.source_id.startswith("cancel:")]
        assert sorted(reversed_by_cancel) == sorted(
            str(e.id) for e in lines if not e.source_id.startswith("cancel:"))
    assert "还没有活动记录" in chat.say("sec", "活动", chat="g1").text
    before = record(runtime.engine)

    for text in ("补签 李四 11月23日 其实在场", "补签 李四 主题党日 其实在场",
                 "更正 张三 缺席 11月23日 代签"):
        refused = chat.say("sec", text)
        assert refused.is_error and \
            "主题党日「学习新党章」（11月23日 09:00）已取消（原因：应由局里统一组织），不计入任何统计" \
            in refused.text, (text, refused.text)
    unnamed = chat.say("sec", "补签 李四 其实在场")
    assert unnamed.is_error and unnamed.text.splitlines() == [
        "最近没有可以补签的活动。",
        ("主题党日「学习新党章」（11月23日 09:00）已取消（原因：应由局里统一组织），"
         "不计入任何统计，不能补签，记录保持不变。")]
    assert record(runtime.engine) == before


def test_a_make_up_that_names_no_activity_does_not_land_on_the_one_before_a_cancelled_one(
        runtime, chat, clock, bureau):  # noqa: F811 - the fixture above
    """Monday's night study (李四 absent, confirmed), Wednesday's theme day cancelled. On
    Thursday 补签 李四 meant the theme day: it is refused and says how to name the night
    study, rather than putting right the night study's record unasked."""
    chat.say("sec", "开始 夜学", chat="g1")
    chat.say("z3", "签到", chat="g1")
    chat.say("sec", "结束", chat="g1")
    assert not chat.say("sec", "确认缺席", chat="g1").is_error
    clock.advance(days=2)
    chat.say("sec", "开始 主题党日 学习新党章", chat="g1")
    chat.say("z3", "签到", chat="g1")
    chat.say("sec", "取消活动 下雨改期", chat="g1")
    assert "已取消" in chat.say("sec", "确认", chat="g1").text
    clock.advance(days=1)
    before = record(runtime.engine)

    refused = chat.say("sec", "补签 李四 手机没电")
    assert refused.is_error and refused.text == (
        "最近一次活动主题党日「学习新党章」（11月25日 09:00）已取消，不能补签，记录保持不变。"
        "要补签之前的政治夜学（11月23日 09:00），请写明日期和活动：补签 李四 11月23日 政治夜学 手机没电")
    corrected = chat.say("sec", "更正 张三 缺席 代签", chat="g1")
    assert corrected.is_error and "最近一次活动主题党日「学习新党章」（11月25日 09:00）已取消" in \
        corrected.text and "更正 姓名 11月23日 政治夜学 原因" in corrected.text
    assert record(runtime.engine) == before

    made_up = chat.say("sec", "补签 李四 11月23日 政治夜学 手机没电")
    assert "已为 李四 补签：政治夜学（11月23日 09:00）" in made_up.text
    assert sum(points_of(runtime.engine, "李四")) == 2  # the −1 reversed, the make-up's 2


def test_a_study_taken_back_counts_nowhere_and_frees_its_share_of_the_days_cap(
        runtime, chat, clock, bureau, djbot):  # noqa: F811 - the fixtures above
    """张三 logs 150 minutes (4 points, the day's cap) meaning 50, takes it back with 撤销
    and logs 60: he has the 60 minutes' 2 points, and the withdrawn 150 minutes count in no
    day total, no 先锋党员 shortlist and no year's figures."""
    chat.say("z3", "学习 党史 150")
    assert "积分 -4" in chat.say("z3", "撤销 分钟数写错了").text

    again = chat.say("z3", "学习 党史 60")

    assert "今天累计学习 60 分钟，本次积分 +2。" in again.text, again.text
    assert "已达上限" not in again.text
    assert "本周：2 分" in chat.say("z3", "积分").text
    with Session(runtime.engine) as s:
        branch = s.exec(select(Branch).where(Branch.name == "城关支部")).one()
        [zhang] = committee_report.pioneer_shortlist(
            s, branch_id=branch.id, start=local(2026, 11, 1), end=local(2026, 12, 1))
    assert (zhang.name, zhang.points, zhang.study_minutes) == ("张三", 2, 60)
    year = json.loads(djbot("report", "year", "2026", "--json"))
    [line] = [m for m in year["members"] if m["name"] == "张三"]
    assert (line["points"], line["study_minutes"]) == (2, 60)


def test_a_correction_made_while_the_absences_are_being_confirmed_is_counted_once(
        runtime, chat, clock, bureau, monkeypatch):  # noqa: F811 - the fixture above
    """The scheduler confirms the theme day's absences (a day after it ended) at the moment
    王书记 corrects 张三's check-in to an absence: 王书记's message read the record as not
    yet confirmed, and the confirmation read 张三 as checked in. 张三 is absent with his
    penalty, once — not absent with no penalty, his reply promising one that never comes."""
    theme_day(chat, confirm=False)
    clock.advance(hours=26)
    meanwhile(monkeypatch, lambda: confirm_automatically(runtime, hours=0))
    reply = chat.say("sec", "更正 张三 缺席 没有参加，系他人代签")
    monkeypatch.undo()

    assert not reply.is_error, reply.text
    assert f"积分 {-THEME_PRESENT - 2:+d}（冲销出席 {-THEME_PRESENT:+d}，缺席扣分 -2）" in reply.text
    assert points_of(runtime.engine, "张三") == [THEME_PRESENT, -THEME_PRESENT, -2]
    assert points_of(runtime.engine, "李四") == [-2]
    assert "已确认\n参与 1/3（33.3%）：出席 1、迟到 0、补签 0、请假 0、未到 2" in \
        chat.say("sec", "活动", chat="g1").text


def test_a_make_up_sent_while_the_activity_is_cancelled_leaves_nothing_counting(
        runtime, chat, clock, bureau, monkeypatch):  # noqa: F811 - the fixture above
    """王书记 makes up 李四 at the moment 刘委员 confirms the theme day's cancellation: the
    make-up read the activity before it was cancelled. It must not post points the
    cancellation never saw (the activity would count for 李四 though it counts nowhere)."""
    seed(runtime.engine, lambda s: make_member(
        s, s.exec(select(Branch).where(Branch.name == "城关支部")).one(), "刘委员",
        role=Role.COMMITTEE, wecom="cm"))
    theme_day(chat)  # 李四 and 刘委员 absent, confirmed
    chat.say("cm", "取消活动 应由局里统一组织")
    cancelled = meanwhile(monkeypatch, lambda: chat.say("cm", "确认"))
    reply = chat.say("sec", "补签 李四 手机没电")
    monkeypatch.undo()

    assert "已取消" in cancelled[1].text
    assert reply.is_error and "已取消（原因：应由局里统一组织）" in reply.text, reply.text
    for name in ("王书记", "张三", "李四", "刘委员"):
        assert sum(points_of(runtime.engine, name)) == 0, name
    assert audit_of(runtime.engine, "makeup") == []


def _cancelled_on_another_replica(chat) -> list:
    """取消活动 of the theme day, said and confirmed by 王书记 on another replica (a thread
    of its own, to its end)."""
    done: list = []

    def cancel() -> None:
        chat.say("sec", "取消活动 临时勤务", chat="g1")
        done.append(chat.say("sec", "确认", chat="g1"))

    thread = threading.Thread(target=cancel)
    thread.start()
    thread.join(30)
    assert done and "已取消" in done[0].text, done
    return done


def _counts_nowhere(runtime, reply) -> None:
    assert "签到成功" not in reply.text, reply.text
    for name in ("王书记", "张三", "李四"):
        assert sum(points_of(runtime.engine, name)) == 0, name


def test_a_check_in_racing_a_cancellation_is_not_told_it_counted(
        runtime, chat, bureau, monkeypatch):  # noqa: F811 - the fixture above
    """张三's 签到 has read the theme day open when 取消活动 commits on another replica, then
    writes. Before, the quick lane wrote his row and points anyway, after the cancellation
    had reversed what it saw: he was told 签到成功 and kept points on a cancelled activity."""
    chat.say("sec", "开始 主题党日 学习新党章", chat="g1")
    dispatcher = runtime.dispatcher
    answer = dispatcher.quick_answer
    raced: list = []

    def read_then_cancelled(message, plan, row, writes):
        if not raced and message.sender_id == "z3":
            raced.extend(_cancelled_on_another_replica(chat))
        return answer(message, plan, row, writes)

    monkeypatch.setattr(dispatcher, "quick_answer", read_then_cancelled)
    reply = chat.say("z3", "签到", chat="g1")
    monkeypatch.undo()
    assert raced
    _counts_nowhere(runtime, reply)


@pytest.mark.skipif(TEST_DB != "postgres", reason="two replicas at once: PostgreSQL's "
                    "(SQLite's one writer holds the other off)")
def test_a_check_in_on_the_general_path_racing_a_cancellation_is_not_told_it_counted(
        runtime, chat, bureau, monkeypatch):  # noqa: F811 - the fixture above
    """As above, on the general path (the quick lane off, as for a member on leave who came
    after all): it read the activity open, and wrote after 取消活动 had committed."""
    chat.say("sec", "开始 主题党日 学习新党章", chat="g1")
    runtime.dispatcher.quick_lane = False
    check_in = store.check_in
    raced: list = []

    def cancelled_then_check_in(session, **kwargs):
        if not raced:
            raced.extend(_cancelled_on_another_replica(chat))
        return check_in(session, **kwargs)

    monkeypatch.setattr(store, "check_in", cancelled_then_check_in)
    reply = chat.say("z3", "签到", chat="g1")
    monkeypatch.undo()
    assert raced
    _counts_nowhere(runtime, reply)


def test_leave_that_lapsed_longer_ago_than_the_window_is_refused_with_the_window(
        leave_counts):
    """李四's leave lapsed into an absence; the secretary approves it nine days later. As a
    补签 that late is refused, so is the approval — saying so, not 李四 没有待处理的请假 (he
    did ask)."""
    runtime, chat = leave_counts
    chat.say("sec", "开始 主题党日 学习新党章", chat="g1")
    chat.say("l4", "请假 出差")
    chat.say("sec", "签到", chat="g1")
    chat.say("sec", "结束", chat="g1")
    confirm_automatically(runtime, hours=26)
    runtime.clock.advance(days=8)
    before = record(runtime.engine)

    refused = chat.say("sec", "批准请假 李四")

    assert refused.is_error and refused.text == (
        "李四对主题党日「学习新党章」（11月23日 09:00）的请假到确认缺席时仍未批准，已记为缺席。"
        "批准请假只能在活动后 7 天内进行，已超过 7 天，记录保持不变。如确有错误，请联系管理员。")
    assert record(runtime.engine) == before
    assert sum(points_of(runtime.engine, "李四")) == -2
    assert "已记为缺席，不用再驳回" in chat.say("sec", "驳回请假 李四").text


def test_the_automatic_confirmation_of_absences_is_on_record(
        runtime, chat, clock, bureau, djbot):  # noqa: F811 - the fixtures above
    """The scheduler confirms the theme day's absences a day after it ended, posting 李四's
    penalty: djbot audit shows it, as it shows a secretary's 确认缺席."""
    theme_day(chat, confirm=False)
    confirm_automatically(runtime, hours=26)

    shown = djbot("audit", "--action", "absence.confirm")

    assert "scheduler  absence.confirm  主题党日「学习新党章」（11月23日 09:00）" in shown, shown
    [detail] = audit_of(runtime.engine, "absence.confirm")
    assert (detail["penalty_points"], len(detail["absent_member_ids"])) == (-2, 1)
    confirm_automatically(runtime, hours=1)  # confirmed already: nothing more on record
    assert len(audit_of(runtime.engine, "absence.confirm")) == 1


def test_corrections_after_the_rules_change_reverse_what_was_posted_and_post_by_the_new(
        runtime, chat, clock, bureau, settings, engine, tmp_path):  # noqa: F811
    """The theme day is checked in and confirmed under the shipped rules; the bureau then
    loads rules that count a theme day more. A 更正 reverses the +3 that was posted (under
    the old version) and posts the new penalty (under the new one); a 补签 likewise."""
    theme_day(chat)  # 张三 +3, 李四 −2, under the shipped rules
    text = DEFAULT_RULES_PATH.read_text(encoding="utf-8").replace(
        "present = 3\nlate = 2\nmakeup = 3\nabsent = -2",
        "present = 6\nlate = 4\nmakeup = 5\nabsent = -4")
    path = tmp_path / "v2.toml"
    path.write_text(text, encoding="utf-8")
    later = build_runtime(settings.model_copy(update={"rules_file": path}), clock=clock,
                          engine=engine, migrate=False)
    chat = ChatDriver(later)
    clock.advance(days=1)

    corrected = chat.say("sec", "更正 张三 缺席 代签")
    made_up = chat.say("sec", "补签 李四 在场")

    assert "积分 -7（冲销出席 -3，缺席扣分 -4）" in corrected.text
    assert "积分 +5" in made_up.text and "已撤销缺席扣分（+2）" in made_up.text
    with Session(engine) as s:
        version = {r.id: r.digest for r in s.exec(select(RuleSet)).all()}
        lines = [(e.points, e.rule, version[e.ruleset_id]) for e in s.exec(
            select(PointEntry).where(PointEntry.member_id.in_(  # type: ignore[attr-defined]
                select(Member.id).where(Member.name.in_(["张三", "李四"])))).order_by(
                PointEntry.id)).all()]
    old, new = runtime.rules.digest, later.rules.digest
    assert old != new
    assert lines == [
        (3, "attendance.present.主题党日", old),
        (-2, "attendance.absent.主题党日", old),
        (-3, "reverse:attendance.present.主题党日", old),
        (-4, "attendance.absent.主题党日", new),
        (2, "reverse:attendance.absent.主题党日", old),
        (5, "attendance.makeup.主题党日", new)]
    assert f"本周：{-4} 分" in chat.say("z3", "积分").text
    assert f"积分规则（版本 {new[:8]}）" in chat.say("z3", "积分规则").text


def test_a_member_checking_in_as_the_absences_are_confirmed_counts_once(leave_counts,
                                                                       monkeypatch):
    """李四's leave was refused (驳回请假); he came after all and sent 签到 just as the
    secretary sent 确认缺席: the confirmation had read his record as the refused leave. It
    must not then write him absent over the check-in, nor post a penalty beside the
    check-in's points."""
    runtime, chat = leave_counts
    chat.say("sec", "开始 主题党日 学习新党章", chat="g1")
    chat.say("l4", "请假 出差")
    assert "驳回" in chat.say("sec", "驳回请假 李四").text
    chat.say("sec", "签到", chat="g1")
    chat.say("z3", "签到", chat="g1")
    with Session(runtime.engine) as s:
        activity = s.exec(select(store.Activity)).one()
        read_then = store.missing_members(s, activity=activity)  # 李四, leave waiting
        s.expunge_all()
    assert [(m.name, r.leave_state) for m, r in read_then] == [("李四", "revoked")]
    assert "签到成功" in chat.say("l4", "签到", chat="g1").text
    checked_in = sum(points_of(runtime.engine, "李四"))
    # The confirmation goes on from what it read before the check-in was committed.
    assert "已结束" in chat.say("sec", "结束", chat="g1").text
    monkeypatch.setattr(store, "missing_members", lambda session, activity: read_then)

    assert "已确认" in chat.say("sec", "确认缺席", chat="g1").text

    assert row_of(runtime.engine, "李四").status == "present"
    assert sum(points_of(runtime.engine, "李四")) == checked_in > 0
