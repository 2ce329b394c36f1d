"""Leave from asking to the figures, walked in the orders a member and a secretary may
take it: what the member is told of their leave must be what the record says."""

from __future__ import annotations

import pytest

from bot.config import Settings
from tests.conftest import SHANGHAI, local
from tests.test_figures import (
    djbot,  # noqa: F401 - the fixture, used by name
    drain,
    ledger_lines,
    night_studies,
    run_ticks,
)
from tests.test_leave_moves import bureau, import_roster, to

TWO_STUDIES = "请假 12月8日至12月10日 外出培训"  # the studies of Tuesday 8th and Thursday 10th


@pytest.fixture
def settings(db_url, request):
    """Ticks an hour apart; leave waiting for approval where the test asks for it."""
    return Settings(database_url=db_url, catchup_grace_minutes=60,
                    leave_requires_approval=getattr(request, "param", False), _env_file=None)


APPROVAL = pytest.mark.parametrize("settings", [True], indirect=True, ids=["approval"])


def test_my_leave_names_a_study_of_the_period_that_was_turned_down(runtime, chat, clock):
    """李明's leave for the 8th to the 10th was granted as asked; 驳回请假 李明 turned down
    the 8th's study. 我的请假 still said the whole period was 已准假, so he stayed away
    believing he was excused, and was counted absent with its penalty."""
    night_studies(runtime, "每周二、周四 19:30")
    clock.set(local(2026, 12, 7, 10, 0))
    run_ticks(runtime, clock, local(2026, 12, 7, 12, 0))  # the 8th planned
    chat.say("li", TWO_STUDIES)
    assert "仍需参加" in chat.say("sec", "驳回请假 李明").text
    mine = chat.say("li", "我的请假").text
    assert "政治夜学（12月8日 19:30）：已被驳回，仍需参加" in mine, mine
    assert "12月8日至12月10日：已准假" in mine, mine


OTHERS = ("城关支部,王书记,书记,sec,", "城关支部,张强,党员,zhang,", "二支部,书记二,书记,sec2,")


@APPROVAL
@pytest.mark.parametrize("leave", ["请假 出差", TWO_STUDIES])
def test_back_on_the_roster_his_request_held_for_the_morning_is_asked_again(
        runtime, chat, clock, djbot, tmp_path, leave):  # noqa: F811 - the fixture imported above
    """At night 李明 asks leave; a full import of a file that missed him takes him off the
    roster (the request held for the morning is withdrawn), and the right file puts him
    back. His leave waits for approval again, yet 王书记 was never asked: it lapsed into an
    absence with its penalty when absences were confirmed."""
    bureau(runtime, clock)
    clock.set(local(2026, 12, 7, 23, 0))
    assert "等待书记批准" in chat.say("li", leave).text
    clock.set(local(2026, 12, 7, 23, 10))
    import_roster(djbot, tmp_path, *OTHERS, full=True)
    clock.set(local(2026, 12, 7, 23, 20))
    import_roster(djbot, tmp_path, *OTHERS, "城关支部,李明,党员,li,", full=True)
    clock.set(local(2026, 12, 8, 7, 31))
    asked = to(drain(runtime, clock), "sec", "leave.ask")
    assert len(asked) == 1 and asked[0].startswith("【请假待批准】李明请假："), asked
    assert "原因：出差" in asked[0] or "原因：外出培训" in asked[0], asked


def secretary_checks_in(chat):
    def at_the_start(now):
        if now.astimezone(SHANGHAI).strftime("%H:%M") == "19:30":
            chat.say("sec", "签到", chat="g1")
    return at_the_start


@APPROVAL
def test_approving_puts_right_leave_that_lapsed_beside_a_new_request(runtime, chat, clock):
    """Nobody decided 李明's leave for the 8th: it lapsed into an absence (-1), and he was
    told to ask the secretary. Meanwhile he asked leave for the 10th. 批准请假 李明 approved
    the 10th only, and sent again answered 「已经批准过了」: the 8th's absence, the one the
    secretary meant to put right, stayed with its penalty."""
    night_studies(runtime, "每周二、周四 19:30")
    clock.set(local(2026, 12, 3, 10, 0))
    chat.say("li", "请假 12月8日 值班")
    clock.set(local(2026, 12, 3, 21, 30))
    run_ticks(runtime, clock, local(2026, 12, 10, 9, 30), before_tick=secretary_checks_in(chat))
    assert [x.split()[2] for x in ledger_lines(chat, "li")] == ["-1"]  # the 8th lapsed
    assert "等待书记批准" in chat.say("li", "请假 值班").text  # the 10th's study
    approved = chat.say("sec", "批准请假 李明").text
    assert "政治夜学（12月10日 19:30）" in approved, approved
    assert "政治夜学（12月8日 19:30）确认缺席时还未批准" in approved, approved
    assert [x.split()[2] for x in ledger_lines(chat, "li")] == ["±0"]
    told = [text for _, kind, to_, text in drain(runtime, clock)
            if kind == "leave.decided" and to_ == "li"]
    assert told == [("【请假已批准】王书记批准了你的请假：政治夜学（12月10日 19:30）、"
                     "政治夜学（12月8日 19:30）。")], told



@pytest.mark.parametrize("said", ["请假 12月8日 值班", "请假 12月8日至12月10日 值班"])
def test_leave_for_days_asked_as_the_study_opens_excuses_it(runtime, chat, clock, said):
    """At 19:33 the study of 19:30 is open and leave for it may still be asked (请假 值班
    excuses it), yet 请假 12月8日 值班 answered 「这期间目前没有安排需要你参加的活动」 and
    excused nothing: 李明 stayed away on leave he was told he had, and was counted absent."""
    night_studies(runtime, "每周二、周四 19:30")
    clock.set(local(2026, 12, 7, 10, 0))
    run_ticks(runtime, clock, local(2026, 12, 8, 19, 30))
    clock.set(local(2026, 12, 8, 19, 33))
    reply = chat.say("li", said).text
    assert "政治夜学（19:30）" in reply and "目前没有安排" not in reply, reply
    assert chat.say("sec", "未签到").text.endswith("已请假 1 人：李明")


@pytest.mark.parametrize("said", ["请假 今天到周四 值班", "请假 从今天到周四 值班",
                                  "请假 今天至12月10日 值班", "请假 今天到10号 值班",
                                  "请假 今天起三天 值班", "请假 今天开始请3天 值班"])
def test_leave_from_today_to_a_later_day_excuses_each_day(runtime, chat, clock, said):
    """请假 今天到周四 值班 on Tuesday excused Tuesday's study only, with 「今天到周四 值班」 as
    its reason: 李明 stayed away on Thursday believing he was on leave, and was counted
    absent. 从明天到周五 and 明天起三天 were read; from today they were not."""
    night_studies(runtime, "每周二、周四 19:30")
    clock.set(local(2026, 12, 7, 10, 0))
    run_ticks(runtime, clock, local(2026, 12, 8, 10, 0))  # Tuesday; both studies planned
    reply = chat.say("li", said).text
    assert reply.startswith("已请假：12月8日至12月10日（3 天），原因：值班。"), reply
    assert "政治夜学（12月10日 19:30）" in reply, reply


def test_leave_for_today_and_tomorrow_excuses_both(runtime, chat, clock):
    night_studies(runtime, "每周一、周二 19:30")
    clock.set(local(2026, 12, 6, 10, 0))
    run_ticks(runtime, clock, local(2026, 12, 7, 10, 0))  # Monday; both studies planned
    reply = chat.say("li", "请假 今明两天 值班").text
    assert reply.startswith("已请假：12月7日至12月8日（2 天），原因：值班。"), reply


@APPROVAL
def test_leave_for_the_bureaus_study_says_the_leaders_decide_it(runtime, chat, clock):
    """Leave for the bureau's 中心组学习 goes to the leaders, yet the reply said 「等待书记
    批准」: 李明 asked his branch secretary, who had nothing of it (「没有待处理的请假」),
    and a leader's refusal told him to ask the 书记 about it."""
    from storage.models import Role, Schedule
    from tests.factories import bind_chat, make_branch, make_member, seed

    def scene(s):
        branch = make_branch(s, "城关支部")
        bind_chat(s, branch, "g1")
        bind_chat(s, None, "lg", leaders=True)
        make_member(s, branch, "王书记", role=Role.SECRETARY, wecom="sec")
        make_member(s, branch, "李明", wecom="li", bureau_committee=True)
        make_member(s, None, "赵局长", role=Role.LEADER, wecom="boss", bureau_committee=True)
        s.add(Schedule(branch_id=None, activity_type="理论学习中心组", rule="每周三 09:00",
                       duration_minutes=90, created_at=local(2026, 11, 1, 0, 0),
                       updated_at=local(2026, 11, 1, 0, 0)))
    seed(runtime.engine, scene)
    clock.set(local(2026, 12, 7, 8, 0))
    run_ticks(runtime, clock, local(2026, 12, 7, 12, 0))
    asked = chat.say("li", "请假 中心组学习 出差").text
    assert asked.startswith("请假已提交，等待领导批准：理论学习中心组（12月9日 09:00）"), asked
    assert "已通知领导" in asked
    again = chat.say("li", "请假 中心组学习 出差").text  # asked again: the same 领导
    assert "正在等待领导批准" in again, again
    mine = chat.say("li", "我的请假").text
    assert "理论学习中心组（12月9日 09:00）：等待领导批准" in mine, mine
    drain(runtime, clock)
    assert "仍需参加" in chat.say("boss", "驳回请假 李明", chat="lg").text
    assert "已被领导驳回，如有疑问请直接联系领导" in chat.say("li", "请假 中心组学习 出差").text
    told = [text for _, kind, to_, text in drain(runtime, clock)
            if kind == "leave.decided" and to_ == "li"]
    assert told == [("【请假未批准】赵局长驳回了你的请假：理论学习中心组（12月9日 09:00），"
                     "仍需参加。如有疑问请联系赵局长。")], told


@APPROVAL
def test_a_secretarys_own_leave_says_the_committee_decides_it(runtime, chat, clock):
    from sqlmodel import select

    from storage.models import Branch, Role
    from tests.factories import make_member, seed
    night_studies(runtime, "每周二、周四 19:30")
    seed(runtime.engine, lambda s: make_member(s, s.exec(select(Branch)).one(), "赵委员",
                                               role=Role.COMMITTEE, wecom="zhao"))
    clock.set(local(2026, 12, 3, 10, 0))
    reply = chat.say("sec", TWO_STUDIES).text
    assert reply.startswith("请假已提交，等待委员批准") and "已通知委员" in reply, reply


@pytest.mark.parametrize("said", ["请假 八号到十号 值班", "请假 八号至十号 值班"])
def test_days_written_in_chinese_numerals_are_a_range(runtime, chat, clock, said):
    """请假 8号到10号 值班 was read as days; 八号到十号 became the reason of the next study's
    leave, and Thursday's study stayed expected."""
    night_studies(runtime, "每周二、周四 19:30")
    clock.set(local(2026, 12, 7, 10, 0))
    run_ticks(runtime, clock, local(2026, 12, 7, 12, 0))
    reply = chat.say("li", said).text
    assert reply.startswith("已请假：12月8日至12月10日（3 天），原因：值班。"), reply


def test_leave_for_days_names_the_study_already_on_leave_in_them(runtime, chat, clock):
    """李明 had leave for Tuesday's study; asking leave for Tuesday to Thursday answered
    「这期间目前没有安排需要你参加的活动」, as if Tuesday's study were not his."""
    night_studies(runtime, "每周二、周四 19:30")
    clock.set(local(2026, 12, 7, 10, 0))
    run_ticks(runtime, clock, local(2026, 12, 7, 12, 0))  # the 8th planned
    assert "已请假" in chat.say("li", "请假 值班").text
    reply = chat.say("li", TWO_STUDIES).text
    assert "目前没有安排" not in reply, reply
    assert "已请假的 1 次（原请假不变）：政治夜学（12月8日 19:30）" in reply, reply


@APPROVAL
def test_turning_days_down_says_the_study_approved_before_stays_leave(runtime, chat, clock):
    """王书记 approved 李明's leave for Tuesday's study, then turned down his request for
    Tuesday to Thursday: the reply said all of those days 仍需参加, yet Tuesday's study stayed
    leave (approved on its own), and 李明 was told he had to come."""
    night_studies(runtime, "每周二、周四 19:30")
    clock.set(local(2026, 12, 7, 10, 0))
    run_ticks(runtime, clock, local(2026, 12, 7, 12, 0))  # the 8th planned
    chat.say("li", "请假 值班")
    assert "已批准" in chat.say("sec", "批准请假 李明").text
    chat.say("li", TWO_STUDIES)
    drain(runtime, clock)
    refused = chat.say("sec", "驳回请假 李明").text
    assert "政治夜学（12月8日 19:30）的请假此前已批准，不变" in refused, refused
    told = [text for _, kind, to_, text in drain(runtime, clock)
            if kind == "leave.decided" and to_ == "li"]
    assert len(told) == 1 and "政治夜学（12月8日 19:30）的请假此前已批准，不变" in told[0], told


@pytest.mark.parametrize("said", ["销假 今天", "销假 今晚", "今晚销假", "销假 今晚的夜学",
                                  "销假 夜学 今晚"])
def test_taking_back_tonights_leave_keeps_next_weeks(runtime, chat, clock, said):
    """销假 今晚 took back every leave 李明 had, next week's training days too: 今天 was not
    read as a day, so the words counted as no choice at all, and he was nudged and counted
    absent in the week he was away."""
    night_studies(runtime, "每周二、周四 19:30")
    clock.set(local(2026, 12, 7, 10, 0))
    run_ticks(runtime, clock, local(2026, 12, 8, 10, 0))
    chat.say("li", "请假 值班")
    chat.say("li", "请假 12月14日至12月18日 培训")
    reply = chat.say("li", said).text
    assert "政治夜学（12月8日 19:30）" in reply and "12月14日" not in reply, reply
    mine = chat.say("li", "我的请假").text
    assert "12月14日至12月18日：已准假" in mine and "12月8日 19:30" not in mine, mine


@pytest.mark.parametrize("said", ["销假 12月14日至12月18日", "销假 下周", "销假 14号到18号"])
def test_taking_back_days_keeps_tonights_leave(runtime, chat, clock, said):
    """销假 12月14日至12月18日 (or 下周) took back tonight's leave as well: days said as a
    range or a week were not read, and the words counted as no choice at all."""
    night_studies(runtime, "每周二、周四 19:30")
    clock.set(local(2026, 12, 7, 10, 0))
    run_ticks(runtime, clock, local(2026, 12, 8, 10, 0))
    chat.say("li", "请假 值班")
    chat.say("li", "请假 12月14日至12月18日 培训")
    reply = chat.say("li", said).text
    assert "12月14日至12月18日的请假已撤销" in reply and "12月8日" not in reply, reply
    mine = chat.say("li", "我的请假").text
    assert "政治夜学（12月8日 19:30）：已准假" in mine and "12月14日" not in mine, mine


@pytest.mark.parametrize("said", ["销假 这次", "销假 本次的"])
def test_taking_back_this_leave_keeps_next_weeks(runtime, chat, clock, said):
    """销假 这次 took back every leave 李明 had, next week's training days too."""
    night_studies(runtime, "每周二、周四 19:30")
    clock.set(local(2026, 12, 7, 10, 0))
    run_ticks(runtime, clock, local(2026, 12, 8, 10, 0))
    chat.say("li", "请假 值班")
    chat.say("li", "请假 12月14日至12月18日 培训")
    reply = chat.say("li", said).text
    assert "政治夜学（12月8日 19:30）" in reply and "12月14日" not in reply, reply
    assert "12月14日至12月18日：已准假" in chat.say("li", "我的请假").text


def test_taking_back_a_days_study_keeps_that_days_other_leave(runtime, chat, clock):
    """销假 明天的夜学 took back all of the day's leave (the 支委会 that morning too): the
    study named after the day was not read."""
    from sqlmodel import select

    from storage.models import Branch, Role, Schedule
    from tests.factories import make_member, seed
    night_studies(runtime, "每周二、周四 19:30")

    def committee(s):
        branch = s.exec(select(Branch)).one()
        make_member(s, branch, "赵委员", role=Role.COMMITTEE, wecom="zhao")
        s.add(Schedule(branch_id=branch.id, activity_type="支委会", rule="每周二 09:00",
                       duration_minutes=60, created_at=local(2026, 11, 1, 0, 0),
                       updated_at=local(2026, 11, 1, 0, 0)))
    seed(runtime.engine, committee)
    clock.set(local(2026, 12, 6, 10, 0))
    run_ticks(runtime, clock, local(2026, 12, 7, 10, 0))  # Tuesday's meeting and study
    assert "已安排的 2 次" in chat.say("zhao", "请假 明天 出差").text
    reply = chat.say("zhao", "销假 明天的夜学").text
    assert "政治夜学（12月8日 19:30）" in reply and "支委会" not in reply, reply
    assert "12月8日：已准假" in chat.say("zhao", "我的请假").text  # the 支委会's


@pytest.mark.parametrize("said", ["请假 三天 出差", "请假 两天 培训", "请假一周 出差",
                                  "请假 2天 出差"])
def test_leave_for_days_not_said_from_when_is_asked_about(runtime, chat, clock, said):
    """请假 三天 出差 excused the next study alone, 「三天 出差」 its reason: away three days,
    李明 was counted absent on Thursday. Which days is asked, and nothing recorded."""
    night_studies(runtime, "每周二、周四 19:30")
    clock.set(local(2026, 12, 7, 10, 0))
    run_ticks(runtime, clock, local(2026, 12, 8, 10, 0))
    reply = chat.say("li", said)
    assert reply.is_error and "没有记请假" in reply.text and "起" in reply.text, reply.text
    assert "你目前没有请假" in chat.say("li", "我的请假").text
