"""Leave that needs the secretary's approval (DJBOT_LEAVE_REQUIRES_APPROVAL=true).

A request must reach whoever decides it, and a decision must cover what was asked: left
unseen, a pending request becomes an absence with its penalty when absences are
confirmed, and that absence then counts in the 红黄蓝榜 and against 先锋党员.
"""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from bot.config import Settings
from storage import moves
from storage.models import AuditEntry, Branch, LeavePeriod, Member, Role
from tests.conftest import SHANGHAI, local
from tests.factories import bind_chat, make_branch, make_member, seed
from tests.test_figures import (
    djbot,  # noqa: F401 - the fixture, used by name
    drain,
    ledger_lines,
    night_studies,
    run_ticks,
    weekly,
)

TWO_STUDIES = "请假 12月8日至12月10日 外出培训"  # the studies of Tuesday 8th and Thursday 10th


@pytest.fixture
def settings(db_url):
    return Settings(database_url=db_url, catchup_grace_minutes=60,
                    leave_requires_approval=True, _env_file=None)


def asked(sent) -> list[tuple[str, str, str]]:
    """(when, to whom, text) of every 请假待批准 message delivered."""
    return [(at.strftime("%m-%d %H:%M"), target, text)
            for at, kind, target, text in sent if kind == "leave.ask"]


def secretary_checks_in(chat):
    def at_the_start(now):
        if now.astimezone(SHANGHAI).strftime("%H:%M") == "19:30":
            chat.say("sec", "签到", chat="g1")
    return at_the_start


def nudged(sent, user: str) -> list[str]:
    """The days from the 8th on when `user` was nudged to check in."""
    return [at.strftime("%m-%d") for at, kind, target, _ in sent
            if kind == "nudge" and target == user and at >= local(2026, 12, 8)]


def test_a_request_reaches_the_secretary_privately_and_at_night_waits_for_the_morning(
        runtime, chat, clock):
    night_studies(runtime, "每周二、周四 19:30")
    clock.set(local(2026, 12, 3, 23, 10))
    reply = chat.say("li", TWO_STUDIES)
    assert "请假已提交，等待书记批准" in reply.text and "已通知书记" in reply.text
    assert asked(drain(runtime, clock)) == []  # quiet hours: nothing at night
    clock.set(local(2026, 12, 4, 7, 31))
    [(when, to, text)] = asked(drain(runtime, clock))
    assert (when, to) == ("12-04 07:31", "sec")
    assert text.startswith("【请假待批准】李明请假：12月8日至12月10日（3 天），原因：外出培训")
    assert "「批准请假 李明」" in text and "「驳回请假 李明」" in text
    assert "仍未批准的，记为缺席" in text
    assert asked(drain(runtime, clock)) == []  # once


def test_a_request_for_the_activity_under_way_is_sent_at_once(runtime, chat, clock):
    night_studies(runtime, "每周二、周四 19:30")
    clock.set(local(2026, 12, 8, 19, 25))
    chat.say("sec", "开始 政治夜学", chat="g1")
    assert "已通知书记" in chat.say("li", "请假 值班", chat="g1").text
    [(_, to, text)] = asked(drain(runtime, clock))
    assert to == "sec" and "李明请假：政治夜学（12月8日 19:25），原因：值班。" in text


def test_approving_decides_the_whole_request_and_activities_planned_later_follow_it(
        runtime, chat, djbot, clock):  # noqa: F811 - the fixture imported above
    night_studies(runtime, "每周二、周四 19:30")
    clock.set(local(2026, 12, 3, 10, 0))
    chat.say("li", TWO_STUDIES)
    approved = chat.say("sec", "批准请假 李明")
    assert not approved.is_error and "已批准 李明 的请假" in approved.text
    assert "12月8日至12月10日的活动（包括以后才安排的）都记为请假" in approved.text
    with Session(runtime.engine) as s:
        assert s.exec(select(LeavePeriod)).one().leave_state == "granted"
        audit = s.exec(select(AuditEntry).where(AuditEntry.action == "leave.approve")).one()
    assert audit.target == "李明" and audit.detail["to"] == "granted"

    clock.set(local(2026, 12, 3, 21, 30))  # ticks on the half hour, when the studies start
    sent = run_ticks(runtime, clock, local(2026, 12, 11, 21, 30),
                     before_tick=secretary_checks_in(chat))
    assert nudged(sent, "li") == []  # excused from both
    day_before = [text for _, kind, _, text in sent if kind == "reminder.day_before"]
    assert len(day_before) == 2 and all("已请假 1 人：李明" in t for t in day_before)
    assert not any("待批准" in t for t in day_before)
    line = weekly(djbot, "2026-W50", "城关支部")
    assert (line["activities"], line["leave"], line["absent"], line["participation"]) == \
        (2, 2, 0, "2/2")
    assert ledger_lines(chat, "li") == []  # excused: no penalty


def test_leave_left_undecided_is_told_apart_and_then_counts_as_absence(
        runtime, chat, djbot, clock):  # noqa: F811 - the fixture imported above
    night_studies(runtime, "每周二、周四 19:30")
    clock.set(local(2026, 12, 3, 10, 0))
    chat.say("li", TWO_STUDIES)
    clock.set(local(2026, 12, 3, 21, 30))
    sent = run_ticks(runtime, clock, local(2026, 12, 11, 21, 30),
                     before_tick=secretary_checks_in(chat))
    assert nudged(sent, "li") == []  # not nudged while it waits
    day_before = [text for at, kind, _, text in sent
                  if kind == "reminder.day_before" and at >= local(2026, 12, 7)]
    assert len(day_before) == 2
    for text in day_before:
        assert "请假待批准 1 人：李明" in text and "已请假" not in text
        assert "确认缺席时仍未批准的记为缺席" in text
    ended = [text for at, kind, _, text in sent
             if kind == "reminder.missing" and at >= local(2026, 12, 8)]
    assert len(ended) == 2
    for text in ended:
        assert "签到 1 人，请假 0 人" in text and "请假待批准 1 人：李明" in text
        assert "无缺席" not in text
    # Nobody decided: confirmed as absent, as the secretary was told it would be.
    line = weekly(djbot, "2026-W50", "城关支部")
    assert (line["activities"], line["leave"], line["absent"]) == (2, 0, 2)
    assert [x.split()[2] for x in ledger_lines(chat, "li")] == ["-1", "-1"]


def test_turning_a_request_down_makes_the_member_expected_and_nudged_again(runtime, chat, clock):
    night_studies(runtime, "每周二、周四 19:30")
    clock.set(local(2026, 12, 3, 10, 0))
    chat.say("li", TWO_STUDIES)
    turned_down = chat.say("sec", "驳回请假 李明")
    assert "已驳回 李明 的请假" in turned_down.text
    assert "12月8日至12月10日的活动（包括以后才安排的）仍需参加" in turned_down.text
    sent = run_ticks(runtime, clock, local(2026, 12, 10, 21, 0))
    assert nudged(sent, "li") == ["12-08", "12-10"]


@pytest.mark.parametrize("said, done", [
    ("批准 李明 的请假", "已批准"), ("批准 李明同志的请假", "已批准"),
    ("驳回 李明同志的请假", "已驳回"), ("驳回 李明 请假", "已驳回")])
def test_the_leave_said_after_the_name_decides_that_members_leave(runtime, chat, clock,
                                                                  said, done):
    # 批准 李明 的请假 was refused as 多余的内容「的请假」, 驳回 李明同志的请假 as nobody
    # called 「李明同志的请假」: the request stayed undecided.
    night_studies(runtime, "每周二、周四 19:30")
    clock.set(local(2026, 12, 3, 10, 0))
    chat.say("li", TWO_STUDIES)
    reply = chat.say("sec", said)
    assert not reply.is_error and f"{done} 李明 的请假" in reply.text, reply.text


def test_asking_again_after_a_refusal_and_being_approved_excuses_the_planned_days(
        runtime, chat, clock):
    """李明's leave for the 8th to the 10th was turned down; asked again and approved, the
    reply said the days were leave, yet he was nudged on the 8th and the 10th and counted
    absent twice (−1 each): the turned-down rows counted as already answered, and the 10th,
    planned later, took the refused period's state."""
    night_studies(runtime, "每周二、周四 19:30")
    clock.set(local(2026, 12, 7, 10, 0))
    run_ticks(runtime, clock, local(2026, 12, 7, 12, 0))  # the 8th planned
    assert "已安排的 1 次" in chat.say("li", TWO_STUDIES).text
    chat.say("sec", "驳回请假 李明")
    again = chat.say("li", TWO_STUDIES).text
    assert "已安排的 1 次" in again and "驳回" not in again, again
    approved = chat.say("sec", "批准请假 李明").text
    assert "政治夜学（12月8日 19:30）" in approved and "都记为请假" in approved, approved

    def secretary_checks_in(now):
        if now.astimezone(SHANGHAI).strftime("%H:%M") == "19:30":
            chat.say("sec", "签到", chat="g1")
    sent = run_ticks(runtime, clock, local(2026, 12, 11, 21, 30),
                     before_tick=secretary_checks_in)
    run_ticks(runtime, clock, local(2026, 12, 12, 22, 30))  # absences confirm themselves
    assert (nudged(sent, "li"), ledger_lines(chat, "li")) == ([], [])


def test_two_requests_waiting_are_approved_together_and_named(runtime, chat, clock):
    night_studies(runtime, "每周二、周四 19:30")
    clock.set(local(2026, 12, 7, 20, 0))
    run_ticks(runtime, clock, local(2026, 12, 8, 12, 0))  # the 8th's study is planned by now
    assert "等待书记批准：政治夜学（12月8日 19:30）" in chat.say("li", "请假 值班").text
    # A day named: that day's activities, not the next one with the date as its reason.
    later = chat.say("li", "请假 12月10日 出差").text
    assert "等待书记批准：12月10日，原因：出差" in later
    assert len(asked(drain(runtime, clock))) == 2
    approved = chat.say("sec", "批准请假 李明").text
    assert "政治夜学（12月8日 19:30）" in approved
    assert "12月10日的活动（包括以后才安排的）都记为请假" in approved


def test_a_secretarys_own_leave_goes_to_the_branch_committee(runtime, chat, clock):
    night_studies(runtime, "每周二、周四 19:30")
    seed(runtime.engine, lambda s: make_member(s, s.exec(select(Branch)).one(), "赵委员",
                                               role=Role.COMMITTEE, wecom="zhao"))
    clock.set(local(2026, 12, 3, 10, 0))
    reply = chat.say("sec", TWO_STUDIES)
    assert "已通知委员" in reply.text
    assert [to for _, to, _ in asked(drain(runtime, clock))] == ["zhao"]
    assert "已批准 王书记 的请假" in chat.say("zhao", "批准请假 王书记").text


@pytest.mark.parametrize("said", ["批准请假 王书记", "请假批准 王书记", "驳回请假 王书记"])
def test_a_secretary_cannot_decide_their_own_leave(runtime, chat, clock, said):
    """批准请假 王书记 from 王书记 himself approved his own leave, and nobody heard of it: a
    书记's own leave is the 委员's to decide."""
    night_studies(runtime, "每周二、周四 19:30")
    seed(runtime.engine, lambda s: make_member(s, s.exec(select(Branch)).one(), "赵委员",
                                               role=Role.COMMITTEE, wecom="zhao"))
    clock.set(local(2026, 12, 3, 10, 0))
    assert "已通知委员" in chat.say("sec", TWO_STUDIES).text
    own = chat.say("sec", said)
    with Session(runtime.engine) as s:
        state = s.exec(select(LeavePeriod)).one().leave_state
    assert own.is_error and state == "pending", (own.text, state)
    assert ("委员赵委员审批" if "驳回" not in said else "「销假」") in own.text, own.text
    assert "已批准 王书记 的请假" in chat.say("zhao", "批准请假 王书记").text


def test_nobody_to_tell_is_said_to_the_member(runtime, chat, clock):
    night_studies(runtime, "每周二、周四 19:30")
    clock.set(local(2026, 12, 3, 10, 0))
    reply = chat.say("sec", TWO_STUDIES)  # the only secretary, no committee
    assert "没有能收到通知的书记或委员" in reply.text
    assert asked(drain(runtime, clock)) == []


@pytest.mark.parametrize("settled_by", [("sec", "批准请假 李明"), ("sec", "驳回请假 李明"),
                                        ("li", "销假")])
def test_a_request_settled_before_the_morning_is_not_asked_about(runtime, chat, clock,
                                                                 settled_by):
    night_studies(runtime, "每周二、周四 19:30")
    clock.set(local(2026, 12, 3, 23, 10))
    chat.say("li", TWO_STUDIES)
    clock.set(local(2026, 12, 4, 6, 50))
    user, text = settled_by
    assert not chat.say(user, text).is_error
    clock.set(local(2026, 12, 4, 7, 31))
    assert asked(drain(runtime, clock)) == []


def test_leave_asked_again_after_a_withdrawn_request_still_reaches_the_secretary(
        runtime, chat, clock):
    """At night 李明 asks leave for Tuesday's study, takes it back (销假), then asks again
    for another reason. The first request was withdrawn before the morning; the second must
    still reach 王书记. (On SQLite the new leave record took the deleted one's id, so its
    request had the withdrawn one's key and was dropped as a duplicate: nobody was asked, and
    the leave lapsed into an absence.)"""
    night_studies(runtime, "每周二、周四 19:30")
    clock.set(local(2026, 12, 7, 8, 30))
    run_ticks(runtime, clock, local(2026, 12, 7, 9, 30))  # Tuesday's study is planned
    clock.set(local(2026, 12, 7, 23, 10))
    assert "等待书记批准" in chat.say("li", "请假 出差").text
    assert not chat.say("li", "销假").is_error
    assert "等待书记批准" in chat.say("li", "请假 家里有事").text
    clock.set(local(2026, 12, 8, 7, 31))
    [(_, to, text)] = asked(drain(runtime, clock))
    assert to == "sec" and "原因：家里有事" in text, text


def told(sent, user: str) -> list[str]:
    return [text for _, kind, target, text in sent if kind == "leave.decided" and target == user]


def test_the_member_hears_the_decision_before_the_activity(runtime, chat, clock):
    night_studies(runtime, "每周二、周四 19:30")
    clock.set(local(2026, 12, 3, 10, 0))
    chat.say("li", TWO_STUDIES)
    chat.say("sec", "驳回请假 李明")
    [text] = told(drain(runtime, clock), "li")
    assert text == ("【请假未批准】王书记驳回了你的请假：12月8日至12月10日，仍需参加。"
                    "如有疑问请联系书记。")
    # Asked again and approved, at night: heard in the morning.
    chat.say("li", TWO_STUDIES)
    clock.set(local(2026, 12, 3, 22, 30))
    chat.say("sec", "批准请假 李明")
    assert told(drain(runtime, clock), "li") == []
    clock.set(local(2026, 12, 4, 7, 31))
    assert told(drain(runtime, clock), "li") == [
        "【请假已批准】王书记批准了你的请假：12月8日至12月10日。"]


def test_a_granted_leave_revoked_later_is_told_too(runtime, chat, clock):
    """Without approval leave is granted at once; a secretary who later turns it down
    must not leave the member believing they are excused."""
    runtime.dispatcher.settings = runtime.settings.model_copy(
        update={"leave_requires_approval": False})
    night_studies(runtime, "每周二、周四 19:30")
    clock.set(local(2026, 12, 8, 19, 25))
    chat.say("sec", "开始 政治夜学", chat="g1")
    assert "已请假" in chat.say("li", "请假 值班", chat="g1").text
    chat.say("sec", "驳回请假 李明", chat="g1")
    [text] = told(drain(runtime, clock), "li")
    assert text.startswith(
        "【请假未批准】王书记驳回了你的请假：政治夜学（12月8日 19:25），仍需参加")


def test_confirming_absences_waits_for_leave_still_undecided(runtime, chat, clock):
    night_studies(runtime, "每周二、周四 19:30")
    clock.set(local(2026, 12, 8, 19, 25))
    chat.say("sec", "开始 政治夜学", chat="g1")
    chat.say("sec", "签到", chat="g1")
    chat.say("li", "请假 值班", chat="g1")
    chat.say("sec", "结束", chat="g1")
    refused = chat.say("sec", "确认缺席", chat="g1")
    assert refused.is_error and "李明的请假还在等待批准" in refused.text
    assert "「批准请假 李明」或「驳回请假 李明」" in refused.text
    assert ledger_lines(chat, "li") == []  # nothing confirmed, nothing posted
    chat.say("sec", "驳回请假 李明", chat="g1")
    confirmed = chat.say("sec", "确认缺席", chat="g1")
    assert not confirmed.is_error and "缺席 1 人" in confirmed.text
    assert [x.split()[2] for x in ledger_lines(chat, "li")] == ["-1"]


def test_a_member_whose_leave_nobody_decided_hears_it_counted_absent(runtime, chat, clock):
    night_studies(runtime, "每周二、周四 19:30")
    clock.set(local(2026, 12, 3, 10, 0))
    chat.say("li", "请假 12月8日 值班")
    clock.set(local(2026, 12, 3, 21, 30))
    sent = run_ticks(runtime, clock, local(2026, 12, 10, 9, 30),
                     before_tick=secretary_checks_in(chat))
    lapsed = [(at.strftime("%m-%d %H:%M"), target, text)
              for at, kind, target, text in sent if kind == "leave.lapsed"]
    # Confirmed a day after the 8th's study ended (21:00 on the 9th): said then, once.
    assert lapsed == [("12-09 21:30", "li", "【请假未获批准】你对政治夜学（12月8日）的请假到确认"
                                            "缺席时仍未获批准，已记为缺席。如有疑问请联系书记。")]
    assert [x.split()[2] for x in ledger_lines(chat, "li")] == ["-1"]


def test_leave_approved_after_it_lapsed_into_an_absence_is_put_right(
        runtime, chat, clock, djbot):  # noqa: F811
    night_studies(runtime, "每周二、周四 19:30")
    clock.set(local(2026, 12, 3, 10, 0))
    chat.say("li", "请假 12月8日 值班")
    clock.set(local(2026, 12, 3, 21, 30))
    run_ticks(runtime, clock, local(2026, 12, 10, 9, 30), before_tick=secretary_checks_in(chat))
    assert [x.split()[2] for x in ledger_lines(chat, "li")] == ["-1"]  # lapsed: absent
    # 李明 asks the secretary, as the lapsed notice tells him to; the secretary approves.
    refused = chat.say("sec", "驳回请假 李明")
    assert refused.is_error and "已记为缺席" in refused.text  # nothing to turn down
    approved = chat.say("sec", "批准请假 李明")
    assert not approved.is_error, approved.text  # not 「李明 没有待处理的请假」
    assert "政治夜学（12月8日 19:30）" in approved.text and "缺席扣分已撤销（+1）" in approved.text
    # The penalty and its reversal, one line that says what was reversed and why.
    assert [x.split()[2] for x in ledger_lines(chat, "li")] == ["±0"]
    assert "政治夜学 缺席 -1，已冲销" in ledger_lines(chat, "li")[0]
    line = weekly(djbot, "2026-W50", "城关支部")
    assert (line["leave"], line["absent"]) == (1, 0)  # the 8th, on leave (the 10th is to come)
    again = chat.say("sec", "批准请假 李明")
    assert "没有待处理的请假" in again.text  # once
    told = [text for _, kind, target, text in drain(runtime, clock) if target == "li"]
    assert any(text.startswith("【请假已批准】") for text in told), told
    with Session(runtime.engine) as s:
        assert "leave.approve" in s.exec(select(AuditEntry.action)).all()


def test_deciding_lapsed_leave_in_the_group_does_not_say_the_member_was_absent(
        runtime, chat, clock):
    """李明's leave for the 8th was still undecided when absences were confirmed. Before,
    「驳回请假 李明」 in the branch group answered there 「李明对政治夜学…的请假到确认缺席时
    仍未批准，已记为缺席…」, and 批准请假 that it had been 记为缺席: an absence named to the
    group. Now the group hears the decision without it; the private chat keeps the details."""
    night_studies(runtime, "每周二、周四 19:30")
    clock.set(local(2026, 12, 3, 10, 0))
    chat.say("li", "请假 12月8日 值班")
    clock.set(local(2026, 12, 3, 21, 30))
    run_ticks(runtime, clock, local(2026, 12, 10, 9, 30), before_tick=secretary_checks_in(chat))
    refused = chat.say("sec", "驳回请假 李明", chat="g1")
    assert refused.is_error and "缺席" not in refused.text, refused.text
    assert "已记为缺席" in chat.say("sec", "驳回请假 李明").text  # privately, in full
    approved = chat.say("sec", "批准请假 李明", chat="g1")
    assert not approved.is_error and "已批准 李明 的请假" in approved.text, approved.text
    assert "缺席" not in approved.text and "记录已按请假更正" in approved.text, approved.text
    assert [x.split()[2] for x in ledger_lines(chat, "li")] == ["±0"]


LONG_LEAVE = "请假 12月8日至12月20日 外出培训"


def test_approving_a_longer_request_puts_right_the_days_that_lapsed_meanwhile(
        runtime, chat, clock, djbot):  # noqa: F811 - the fixture imported above
    """The 8th's absence was confirmed while the request waited; the secretary approves on
    the 10th: the whole request is leave, the 8th too (its penalty reversed), and 李明 hears
    of it once."""
    night_studies(runtime, "每周二、周四 19:30")
    clock.set(local(2026, 12, 3, 10, 0))
    chat.say("li", LONG_LEAVE)
    clock.set(local(2026, 12, 3, 21, 30))
    run_ticks(runtime, clock, local(2026, 12, 10, 9, 30), before_tick=secretary_checks_in(chat))
    drain(runtime, clock)
    assert [x.split()[2] for x in ledger_lines(chat, "li")] == ["-1"]  # the 8th lapsed
    approved = chat.say("sec", "批准请假 李明")
    assert not approved.is_error, approved.text
    assert "12月8日至12月20日的活动（包括以后才安排的）都记为请假" in approved.text
    assert ("政治夜学（12月8日 19:30）确认缺席时还未批准、记为缺席，现改为请假，"
            "缺席扣分已撤销（+1）。") in approved.text
    # The penalty and its reversal, one line that says what was reversed and why.
    assert [x.split()[2] for x in ledger_lines(chat, "li")] == ["±0"]
    assert "政治夜学 缺席 -1，已冲销" in ledger_lines(chat, "li")[0]
    line = weekly(djbot, "2026-W50", "城关支部")
    assert (line["leave"], line["absent"]) == (1, 0)  # the 8th on leave; the 10th to come
    assert told(drain(runtime, clock), "li") == [  # once, the 8th within the span
        "【请假已批准】王书记批准了你的请假：政治夜学（12月10日 19:30）、12月8日至12月20日。"]
    with Session(runtime.engine) as s:
        audit = s.exec(select(AuditEntry).where(AuditEntry.action == "leave.approve")).one()
    assert audit.detail["reversed_points"] == 1 and len(audit.detail["lapsed_activity_ids"]) == 1
    assert "已经批准过了" in chat.say("sec", "批准请假 李明").text  # once
    assert [x.split()[2] for x in ledger_lines(chat, "li")] == ["±0"]

    run_ticks(runtime, clock, local(2026, 12, 12, 9, 30), before_tick=secretary_checks_in(chat))
    line = weekly(djbot, "2026-W50", "城关支部")
    assert (line["leave"], line["absent"]) == (2, 0)  # the 10th excused with it


def test_turning_a_longer_request_down_leaves_the_lapsed_days_absent(
        runtime, chat, clock, djbot):  # noqa: F811 - the fixture imported above
    night_studies(runtime, "每周二、周四 19:30")
    clock.set(local(2026, 12, 3, 10, 0))
    chat.say("li", LONG_LEAVE)
    clock.set(local(2026, 12, 3, 21, 30))
    run_ticks(runtime, clock, local(2026, 12, 10, 9, 30), before_tick=secretary_checks_in(chat))
    refused = chat.say("sec", "驳回请假 李明")
    assert not refused.is_error and "仍需参加" in refused.text
    assert "改为请假" not in refused.text
    assert [x.split()[2] for x in ledger_lines(chat, "li")] == ["-1"]
    line = weekly(djbot, "2026-W50", "城关支部")
    assert (line["leave"], line["absent"]) == (0, 1)


# --- a member who moved away before the decision ------------------------------------------


def asked_then_gone(runtime, chat, clock, *, gone) -> None:
    """李明 asks leave for the 8th's night study in 城关支部 and is still waiting when it
    ends; the next morning `gone` takes him off 城关支部 (to 二支部, whose secretary is
    书记二 (sec2), or off the roster) before 王书记 has decided."""
    night_studies(runtime, "每周二、周四 19:30")

    def second_branch(session):
        two = make_branch(session, "二支部")
        bind_chat(session, two, "g2")
        make_member(session, two, "书记二", role=Role.SECRETARY, wecom="sec2")
    seed(runtime.engine, second_branch)
    clock.set(local(2026, 12, 8, 19, 25))
    chat.say("sec", "开始 政治夜学", chat="g1")
    chat.say("sec", "签到", chat="g1")
    assert "等待书记批准" in chat.say("li", "请假 值班", chat="g1").text
    clock.set(local(2026, 12, 8, 21, 0))
    chat.say("sec", "结束", chat="g1")
    clock.set(local(2026, 12, 9, 9, 0))
    drain(runtime, clock)

    def move(session):
        li = session.exec(select(Member).where(Member.name == "李明")).one()
        if gone == "moved":
            two = session.exec(select(Branch).where(Branch.name == "二支部")).one()
            moves.move(session, member=li, branch_id=two.id, now=clock.now(), tz=SHANGHAI)
        else:
            moves.leave_roster(session, member=li, now=clock.now())
        session.add(li)
    seed(runtime.engine, move)


def test_leave_of_a_member_who_moved_away_is_decided_where_it_was_asked(
        runtime, chat, clock, djbot):  # noqa: F811 - the fixture imported above
    """城关支部 still counts 李明 for the 8th, and 确认缺席 waits for his leave: its secretary
    can decide it (not 「本支部没有找到」), 二支部's cannot, and the 8th reads 1/1 with 李明
    on leave."""
    asked_then_gone(runtime, chat, clock, gone="moved")
    waiting = chat.say("sec", "确认缺席", chat="g1")
    assert waiting.is_error and "「批准请假 李明」" in waiting.text

    elsewhere = chat.say("sec2", "批准请假 李明", chat="g2")
    assert elsewhere.is_error and elsewhere.text == "李明 没有待处理的请假。"
    approved = chat.say("sec", "批准请假 李明", chat="g1")
    assert approved.text == "已批准 李明 的请假：政治夜学（12月8日 19:25）。"
    assert told(drain(runtime, clock), "li") == [
        "【请假已批准】王书记批准了你的请假：政治夜学（12月8日 19:25）。"]

    confirmed = chat.say("sec", "确认缺席", chat="g1")
    assert confirmed.text == ("已确认政治夜学（12月8日 19:25）的出勤：参与 1/1（100.0%），"
                              "缺席 0 人。")
    line = weekly(djbot, "2026-W50", "城关支部")
    assert (line["leave"], line["absent"]) == (1, 0)


def test_leave_of_a_member_who_left_the_roster_can_be_turned_down(
        runtime, chat, clock, djbot):  # noqa: F811 - the fixture imported above
    asked_then_gone(runtime, chat, clock, gone="left")
    refused = chat.say("sec", "驳回请假 李明", chat="g1")
    assert refused.text == "已驳回 李明 的请假，政治夜学（12月8日 19:25）仍需参加。"
    confirmed = chat.say("sec", "确认缺席", chat="g1")
    assert not confirmed.is_error and "缺席 1 人" in confirmed.text, confirmed.text
    line = weekly(djbot, "2026-W50", "城关支部")
    assert (line["leave"], line["absent"]) == (0, 1)


def test_approving_a_period_decides_its_bureau_wide_activities_planned_before(
        runtime, chat, clock):
    """The branch secretary's 批准请假 of a period covers the bureau's 中心组学习 already
    planned in it too: that leave stayed pending, nobody was asked, and it lapsed into an
    absence (-1) though the secretary was told the whole period was leave."""
    from storage import attendance as store
    from storage.models import Activity, PointEntry

    def scene(s):
        branch = make_branch(s, "城关支部")
        bind_chat(s, branch, "g1")
        bind_chat(s, None, "lg", leaders=True)
        make_member(s, branch, "王书记", role=Role.SECRETARY, wecom="sec")
        make_member(s, branch, "李明", wecom="li", bureau_committee=True)
        make_member(s, None, "赵局长", role=Role.LEADER, wecom="boss", bureau_committee=True)
    seed(runtime.engine, scene)
    clock.set(local(2026, 12, 4, 8, 0))
    assert "等待书记批准" in chat.say("li", "请假 12月4日至12月6日 外出培训").text
    clock.set(local(2026, 12, 4, 9, 0))
    assert not chat.say("boss", "开始 中心组学习 学习全会精神", chat="lg").is_error
    clock.set(local(2026, 12, 4, 9, 5))
    approved = chat.say("sec", "批准请假 李明")
    assert "理论学习中心组" in approved.text and "都记为请假" in approved.text, approved.text

    clock.set(local(2026, 12, 5, 12, 0))  # a day after its end: absences confirm themselves
    with Session(runtime.engine) as s:
        store.finalize_due(s, now=clock.now(), confirm_hours=24, rules=runtime.rules,
                           tz=runtime.settings.tz)
        s.commit()
    with Session(runtime.engine) as s:
        li = s.exec(select(Member).where(Member.name == "李明")).one()
        study = s.exec(select(Activity).where(Activity.type == "理论学习中心组")).one()
        row = store.attendance_of(s, activity_id=study.id, member_id=li.id)
        points = [p.points for p in s.exec(select(PointEntry).where(PointEntry.member_id == li.id))]
    assert (row.status, row.leave_state) == ("leave", "granted")
    assert -1 not in points


@pytest.mark.parametrize("said, decided", [
    ("请假批准 李明", "已批准 李明 的请假"), ("请假同意 李明", "已批准 李明 的请假"),
    ("请假审批 李明", "已批准 李明 的请假"), ("请假批准李明", "已批准 李明 的请假"),
    ("请假不批准 李明", "已驳回 李明 的请假")])
def test_a_decision_said_noun_first_decides_and_takes_no_leave(runtime, chat, clock, said,
                                                                decided):
    """请假批准 李明 was leave for the secretary, with the reason 批准 李明, and 李明's request
    stayed waiting: it is 批准请假 李明."""
    from tests.test_whose_activity import NIGHT_STUDY, _branch, _records
    _branch(runtime, NIGHT_STUDY)
    clock.set(local(2026, 12, 8, 12, 0))
    run_ticks(runtime, clock, local(2026, 12, 8, 13, 0))
    assert "等待书记批准" in chat.say("li", "请假 值班", chat="g1").text
    reply = chat.say("sec", said, chat="g1")
    assert reply.text.startswith(decided), (said, reply.text)
    assert [r[0] for r in _records(runtime)] == ["李明"]


def test_a_decision_with_no_name_or_by_a_member_is_told_how(runtime, chat, clock):
    from tests.test_whose_activity import NIGHT_STUDY, _branch, _records
    _branch(runtime, NIGHT_STUDY)
    clock.set(local(2026, 12, 8, 12, 0))
    run_ticks(runtime, clock, local(2026, 12, 8, 13, 0))
    chat.say("li", "请假 值班", chat="g1")
    for who, said in (("sec", "请假收到"), ("sec", "请假批准"), ("sec", "请假同意了"),
                      ("zhang", "请假同意 李明")):
        reply = chat.say(who, said, chat="g1")
        assert reply.is_error and "「批准请假 姓名」" in reply.text, (said, reply.text)
        assert "没有记请假" in reply.text
    assert [(r[0], r[3]) for r in _records(runtime)] == [("李明", "leave")]
    assert "等待书记批准" in chat.say("li", "我的请假").text
    # Words that only begin like a decision are a reason.
    assert "等待书记批准" in chat.say("zhang", "请假 准备考试", chat="g1").text
    assert [r[0] for r in _records(runtime)] == ["张强", "李明"]


@pytest.mark.parametrize("said", ["驳回 李明 理由不充分", "驳回 李明的请假 理由不充分",
                                  "驳回请假 李明，理由不充分", "驳回 李明 请假 理由：理由不充分",
                                  "请假不批准 李明 理由不充分"])
def test_a_secretary_turning_leave_down_with_a_reason_is_heard_and_the_member_told_it(
        runtime, chat, clock, said):
    """驳回 李明 理由不充分 was refused as 多余的内容「理由不充分」: the secretary gives a
    reason as a matter of course, and 李明 must hear why he is expected after all."""
    night_studies(runtime, "每周二、周四 19:30")
    clock.set(local(2026, 12, 3, 10, 0))
    chat.say("li", TWO_STUDIES)
    reply = chat.say("sec", said)
    assert not reply.is_error and reply.text.startswith("已驳回 李明 的请假"), reply.text
    assert "理由已私信告知本人" in reply.text, reply.text
    [text] = told(drain(runtime, clock), "li")
    assert text == ("【请假未批准】王书记驳回了你的请假：12月8日至12月10日，仍需参加。"
                    "理由：理由不充分。如有疑问请联系书记。"), text
    assert "已被驳回" in chat.say("li", "我的请假").text


def test_a_reason_given_with_an_approval_or_two_names_turned_down_change_nothing(
        runtime, chat, clock):
    night_studies(runtime, "每周二、周四 19:30", zhang=True)
    clock.set(local(2026, 12, 3, 10, 0))
    chat.say("li", TWO_STUDIES)
    assert chat.say("sec", "批准 李明 注意安全").is_error
    two = chat.say("sec", "驳回请假 李明 张强")
    assert two.is_error and "「驳回请假 李明」、「驳回请假 张强」" in two.text, two.text
    assert "等待书记批准" in chat.say("li", "我的请假").text


def test_forgetting_the_secretary_hands_his_waiting_requests_to_the_committee_member(
        runtime, chat, clock, djbot, db_url, monkeypatch):  # noqa: F811 - the fixture imported above
    """李明 asks leave at night; his request waits for the morning in 王书记's queue. The
    operator forgets 王书记 (he has left the bureau): the request went with his account, and
    nobody was asked. 赵委员, who decides now, never heard of it, and the leave lapsed into
    an absence with its penalty."""
    night_studies(runtime, "每周二、周四 19:30")
    seed(runtime.engine, lambda s: make_member(s, s.exec(select(Branch)).one(), "赵委员",
                                               role=Role.COMMITTEE, wecom="zhao"))
    clock.set(local(2026, 12, 3, 23, 10))
    assert "已通知书记" in chat.say("li", TWO_STUDIES).text
    clock.set(local(2026, 12, 3, 23, 20))
    monkeypatch.setenv("DJBOT_DATABASE_URL", db_url)  # forget opens the database as it is
    djbot("forget", "王书记", "--yes")
    clock.set(local(2026, 12, 4, 7, 31))
    [(when, to, text)] = asked(drain(runtime, clock))
    assert (when, to) == ("12-04 07:31", "zhao")
    assert text.startswith("【请假待批准】李明请假：12月8日至12月10日（3 天），原因：外出培训")
    assert "已批准 李明 的请假" in chat.say("zhao", "批准请假 李明").text


def test_forgetting_the_only_one_who_decides_tells_the_member(
        runtime, chat, clock, djbot, db_url, monkeypatch):  # noqa: F811 - the fixture imported above
    """With nobody left to decide it, 李明 hears that his leave waits and whom to tell."""
    night_studies(runtime, "每周二、周四 19:30")
    clock.set(local(2026, 12, 3, 10, 0))
    assert "已通知书记" in chat.say("li", TWO_STUDIES).text
    drain(runtime, clock)  # 王书记 has read it, and not decided yet
    monkeypatch.setenv("DJBOT_DATABASE_URL", db_url)  # forget opens the database as it is
    djbot("forget", "王书记", "--yes")
    sent = drain(runtime, clock)
    [text] = [text for _, kind, target, text in sent if target == "li"]
    assert "12月8日至12月10日" in text and "还在等待批准" in text, text
    assert "没有能收到通知的书记或委员" in text, text
    assert asked(sent) == []


@pytest.mark.parametrize("how", ["import", "设置角色"])
def test_a_secretary_who_no_longer_decides_leaves_his_waiting_requests_to_who_does(
        runtime, chat, clock, djbot, tmp_path, how):  # noqa: F811 - the fixture imported above
    """At night 李明 asks leave, held for the morning for 王书记. 王书记 then leaves the
    roster (a full import without him) or is made a 党员: the request still went to him in
    the morning, who could no longer approve it, and 赵委员, who decides now, was never
    asked."""
    from tests.test_leave_moves import import_roster
    night_studies(runtime, "每周二、周四 19:30")
    seed(runtime.engine, lambda s: (
        make_member(s, s.exec(select(Branch)).one(), "赵委员", role=Role.COMMITTEE,
                    wecom="zhao"),
        make_member(s, None, "管理员", role=Role.ADMIN, wecom="admin")))
    clock.set(local(2026, 12, 3, 23, 10))
    assert "已通知书记" in chat.say("li", TWO_STUDIES).text
    clock.set(local(2026, 12, 3, 23, 20))
    if how == "import":
        import_roster(djbot, tmp_path, "城关支部,李明,党员,li,", "城关支部,赵委员,委员,zhao,",
                      ",管理员,管理员,admin,", full=True)
    else:
        assert "已将 王书记 的角色" in chat.say("admin", "设置角色 王书记 党员").text
    clock.set(local(2026, 12, 4, 7, 31))
    assert [to for _, to, _ in asked(drain(runtime, clock))] == ["zhao"]
    assert "已批准 李明 的请假" in chat.say("zhao", "批准请假 李明").text


def test_leave_approved_cannot_be_turned_down_once_the_activity_is_over(runtime, chat, clock,
                                                                        djbot):  # noqa: F811
    """李明's leave for Tuesday's study was approved and he stayed away. On Wednesday 驳回请假
    李明 turned it down: 「政治夜学（12月8日 19:30）仍需参加」 of a study already held, and
    confirming absences counted him absent, with the penalty, for doing as he was allowed."""
    night_studies(runtime, "每周二、周四 19:30", zhang=True)
    clock.set(local(2026, 12, 7, 10, 0))
    run_ticks(runtime, clock, local(2026, 12, 7, 12, 0))
    chat.say("li", "请假 出差", chat="g1")
    assert "已批准" in chat.say("sec", "批准请假 李明", chat="g1").text
    clock.set(local(2026, 12, 8, 17, 30))
    run_ticks(runtime, clock, local(2026, 12, 9, 9, 30), before_tick=secretary_checks_in(chat))
    refused = chat.say("sec", "驳回请假 李明", chat="g1")
    assert refused.is_error and "已经结束" in refused.text and "仍需参加" not in refused.text, \
        refused.text
    chat.say("sec", "确认缺席", chat="g1")
    line = weekly(djbot, "2026-W50", "城关支部")
    assert (line["leave"], line["absent"]) == (1, 1), line  # 张强 absent; 李明 on leave
    assert ledger_lines(chat, "li") == []


def test_a_secretary_naming_a_member_in_a_leave_records_it_for_them(
        runtime, chat, clock):
    """请假 张强 出差 from 王书记 answered 「本人不方便发送的，请告诉书记」: he is the 书记. Then
    请假只能为自己请, and the member who told the 书记 had nobody who could record it: it is
    张强's leave, granted by the 书记 (代请假), with nobody asked to approve it."""
    night_studies(runtime, "每周二、周四 19:30", zhang=True)
    clock.set(local(2026, 12, 7, 10, 0))
    run_ticks(runtime, clock, local(2026, 12, 7, 12, 0))
    recorded = chat.say("sec", "请假 张强 出差", chat="g1")
    assert recorded.text == "已为 张强 登记请假：政治夜学（12月8日 19:30）。已私聊告知本人。"
    assert asked(drain(runtime, clock)) == []
    assert "已准假" in chat.say("zhang", "我的请假").text
    member = chat.say("li", "请假 张强 出差", chat="g1")
    assert member.is_error and "告诉书记" in member.text, member.text


def test_a_study_restored_tells_leave_still_waiting_as_waiting_and_asks_the_secretary_again(
        runtime, chat, clock):
    """At night 李明 asks leave for Tuesday's study (held for the morning); 王书记 calls the
    study off, then restores it. 李明 heard 「请假仍然有效」 of leave nobody had approved, and
    the request withdrawn with the cancelling was never asked again: it lapsed into an
    absence."""
    night_studies(runtime, "每周二、周四 19:30")
    clock.set(local(2026, 12, 7, 10, 0))
    run_ticks(runtime, clock, local(2026, 12, 7, 12, 0))
    clock.set(local(2026, 12, 7, 23, 0))
    assert "已通知书记" in chat.say("li", "请假 出差").text
    chat.say("sec", "取消活动 夜学 临时勤务", chat="g1")
    assert "已取消" in chat.say("sec", "确认", chat="g1").text
    assert "已恢复" in chat.say("sec", "恢复活动 夜学", chat="g1").text
    clock.set(local(2026, 12, 8, 7, 31))
    sent = drain(runtime, clock)
    resumed = [text for _, kind, target, text in sent
               if kind == "activity.resume" and target == "li"]
    assert resumed and "等待书记批准" in resumed[0] and "仍然有效" not in resumed[0], resumed
    [(_, to, text)] = asked(sent)
    assert to == "sec" and "李明请假：政治夜学（12月8日 19:30）" in text, text


def test_my_leave_asked_in_the_group_is_answered_privately(runtime, chat, clock):
    """Before, 我的请假 asked in the branch's group read out there 「12月8日至12月10日：已被驳回，
    原因：外出培训」: a leave asked privately and its refusal, which the 书记 told the member
    alone. It is the member's own, as 积分明细 is: the group hears that it went privately."""
    night_studies(runtime, "每周二、周四 19:30")
    clock.set(local(2026, 12, 3, 10, 0))
    chat.say("li", TWO_STUDIES)  # privately
    chat.say("sec", "驳回 李明 理由不充分")
    drain(runtime, clock)
    in_group = chat.say("li", "我的请假", chat="g1")
    assert not in_group.is_error and "私聊" in in_group.text, in_group.text
    assert "外出培训" not in in_group.text and "驳回" not in in_group.text, in_group.text
    sent = [text for _, kind, target, text in drain(runtime, clock) if target == "li"]
    assert len(sent) == 1 and "已被驳回" in sent[0] and "外出培训" in sent[0], sent
    assert sent[0].endswith(chat.say("li", "我的请假").text.splitlines()[-1])  # as privately
