"""What is said not to be done, not yet or only asked about is not done.

Each of these once did the very thing it denies: 我不来了 and 我马上来了 checked the member
in (the 我 dropped, 来了 taken whole), 先别确认缺席 confirmed the absences with their
penalties, 还没结束 ended the night study so that late-comers could not check in, and
结束？ (a question mark, which cleaning drops) ended it as 结束 does.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session, select

from storage.models import StudyLog
from tests.conftest import local
from tests.test_figures import run_ticks
from tests.test_phrasing import bureau  # noqa: F401
from tests.test_whose_activity import NIGHT_STUDY, _branch, _records

pytestmark = pytest.mark.words  # the SQLite pass only (tests/conftest.py)


def _under_way(runtime, clock, until: tuple[int, int] = (19, 40)):
    _branch(runtime, NIGHT_STUDY)
    clock.set(local(2026, 12, 8, 19, 0))
    run_ticks(runtime, clock, local(2026, 12, 8, *until), step=timedelta(minutes=10))


@pytest.mark.parametrize("said", ["我不来了", "我今天不来了", "我没来了", "我马上来了", "我快来了",
                                  "我晚点来了", "我明天来了", "我想到了", "明天签到", "先别签到",
                                  "我就来了", "我这就来了"])
def test_not_here_yet_is_no_check_in(runtime, chat, clock, said):
    _under_way(runtime, clock, (19, 30))
    reply = chat.say("li", said, chat="g1")
    assert "签到成功" not in reply.text, (said, reply.text)
    assert _records(runtime) == []


@pytest.mark.parametrize("said", ["签到吗？", "签到吗", "今天签到吗", "打卡吗", "来了吗？", "到了吗",
                                  "来了没"])
def test_asking_whether_to_check_in_is_no_check_in(runtime, chat, clock, said):
    """签到吗？ (is there one to check in to?) and 来了吗 (asked of others) checked the asker
    in: a member at home reading the notice was counted present."""
    _under_way(runtime, clock, (19, 30))
    reply = chat.say("li", said, chat="g1")
    assert "签到成功" not in reply.text and "用法：签到" in reply.text, (said, reply.text)
    assert _records(runtime) == []


@pytest.mark.parametrize("said", ["我到家了", "我回家了", "已经到家了"])
def test_home_is_not_answered_with_a_check_in(runtime, chat, clock, said):
    """我到家了 was asked 「你是想发送「我来了」吗？」: one at home invited to check in."""
    _under_way(runtime, clock, (19, 30))
    reply = chat.say("li", said, chat="g1")
    assert "你是想发送" not in reply.text and "签到成功" not in reply.text, (said, reply.text)
    assert _records(runtime) == []


@pytest.mark.parametrize("said", ["@李明 签到了吗", "@李明 @张强 签到了没？", "@党建助手 @李明 签到了吗"])
def test_asking_whether_others_checked_in_checks_nobody_in(runtime, chat, clock, said):
    """@李明 签到了吗, the secretary asking the bot of 李明, checked the secretary in."""
    _under_way(runtime, clock, (19, 30))
    reply = chat.say("sec", said, chat="g1")
    assert "签到成功" not in reply.text and "「未签到」" in reply.text, (said, reply.text)
    assert _records(runtime) == []


@pytest.mark.parametrize("said", ["我来了", "我已经到了", "我还没签到", "我没签到", "今天签到",
                                  "我也要签到", "我也要打卡", "我马上签到"])
def test_here_is_a_check_in_still(runtime, chat, clock, said):
    _under_way(runtime, clock, (19, 30))
    assert "签到成功" in chat.say("li", said, chat="g1").text, said


@pytest.mark.parametrize("said", ["还没结束", "先别结束", "不要结束", "签到还没结束", "快结束了",
                                  "签到快结束了", "签到要结束了", "是不是结束了", "我这边结束了",
                                  "马上结束", "差不多结束了", "结束？", "结束了？", "夜学结束了？",
                                  "结束了?", "结束 签到？", "结束了吗呀", "结束了没哈"])
def test_words_that_do_not_end_the_night_study_leave_it_open(runtime, chat, clock, said):
    _under_way(runtime, clock)
    assert "签到成功" in chat.say("li", "签到", chat="g1").text
    reply = chat.say("sec", said, chat="g1")
    assert "已结束" not in reply.text, (said, reply.text)
    clock.advance(minutes=1)
    assert "签到成功" in chat.say("zhang", "签到", chat="g1").text, said


@pytest.mark.parametrize("said", ["会议圆满结束", "已经结束了", "今天的会议结束了", "夜学结束",
                                  "夜学到此结束", "今晚的政治夜学到此结束", "本次夜学结束",
                                  "夜学圆满结束", "宣布夜学结束", "好了结束", "今天就到这里结束"])
def test_saying_it_is_over_ends_it_still(runtime, chat, clock, said):
    _under_way(runtime, clock)
    assert "已结束" in chat.say("sec", said, chat="g1").text, said


@pytest.mark.parametrize("said, example", [("补签 张强 可以吗", "补签 "), ("补签 张强？", "补签 "),
                                            ("确认缺席？", "确认缺席"), ("结束？", "结束"),
                                            ("结束了吗", "结束")])
def test_a_command_asked_about_is_told_how_not_that_it_does_not_exist(runtime, chat, clock, said,
                                                                      example):
    """补签 张强 可以吗 was answered 「没有「补签」这个指令。你是想发送「补签」吗？」."""
    _under_way(runtime, clock, (21, 10))
    reply = chat.say("sec", said, chat="g1")
    assert "这个指令" not in reply.text and f"例如：{example}" in reply.text, reply.text
    assert [r for r in _records(runtime) if r[3] != "leave"] == []


@pytest.mark.parametrize("said", ["先别确认缺席", "确认缺席？", "确认缺席?"])
def test_holding_off_or_asking_confirms_no_absence(runtime, chat, clock, said):
    _under_way(runtime, clock, (21, 10))  # ended at 21:00, absences still to confirm
    reply = chat.say("sec", said, chat="g1")
    assert "已确认" not in reply.text, reply.text
    assert [r for r in _records(runtime) if r[3] == "absent"] == []


def test_not_withdrawing_leave_keeps_it(runtime, chat, clock):
    _branch(runtime, NIGHT_STUDY)
    clock.set(local(2026, 12, 8, 12, 0))
    run_ticks(runtime, clock, local(2026, 12, 8, 13, 0))
    assert chat.say("li", "请假 值班", chat="g1").text.startswith("已请假")
    chat.say("li", "先不销假", chat="g1")
    assert _records(runtime) == [("李明", "政治夜学", "12-8", "leave")]


def test_dont_undo_keeps_the_study(runtime, chat, clock):
    _branch(runtime)
    clock.set(local(2026, 12, 8, 9, 0))
    assert "已记录学习" in chat.say("li", "学习 理论 45").text
    chat.say("li", "先别撤销")
    with Session(runtime.engine) as s:
        assert [log.withdrawn_at for log in s.exec(select(StudyLog))] == [None]


@pytest.mark.parametrize("said", ["查一下我的请假", "看看我的请假", "查看我的请假"])
def test_looking_up_ones_own_leave_shows_it_and_asks_none(runtime, chat, clock, said):
    _branch(runtime, NIGHT_STUDY)
    clock.set(local(2026, 12, 7, 12, 0))
    reply = chat.say("li", said, chat="g1")
    assert reply.text.startswith("你目前没有请假"), (said, reply.text)
    assert _records(runtime) == []


def test_confirming_absences_waits_for_the_end_of_the_one_under_way(runtime, chat, clock):
    """确认缺席 during the night study closed it and counted whoever was still coming absent,
    with the penalty; with two under way it already waited. Now it says to end it first."""
    _under_way(runtime, clock)
    assert "签到成功" in chat.say("li", "签到", chat="g1").text
    refused = chat.say("sec", "确认缺席", chat="g1")
    assert refused.is_error and "还在进行（到 21:00）" in refused.text, refused.text
    assert "「结束」" in refused.text and "还没有确认" in refused.text
    assert "签到成功" in chat.say("zhang", "签到", chat="g1").text  # still taking check-ins
    assert "已结束" in chat.say("sec", "结束", chat="g1").text
    assert chat.say("sec", "确认缺席", chat="g1").text.startswith("已确认政治夜学")
    assert [r[0] for r in _records(runtime) if r[3] == "absent"] == ["王书记"]


@pytest.mark.parametrize("said", ["请假 同意书签字", "请假 审批材料", "请假 批准书要交"])
def test_a_reason_that_begins_with_a_decision_word_is_leave(runtime, chat, clock, said):
    """请假批准 李明 from a secretary decides 李明's leave; from a member, 请假 同意书签字 is
    leave with its reason (it was refused as a decision)."""
    _branch(runtime, NIGHT_STUDY)
    clock.set(local(2026, 12, 8, 12, 0))
    run_ticks(runtime, clock, local(2026, 12, 8, 13, 0))
    assert chat.say("li", said, chat="g1").text.startswith("已请假"), said


def test_a_mistyped_approval_is_not_the_secretarys_own_leave(runtime, chat, clock):
    """请假批准 李敏 (for 李明) recorded leave for the secretary, reason 「批准 李敏」."""
    _branch(runtime, NIGHT_STUDY)
    clock.set(local(2026, 12, 7, 12, 0))
    run_ticks(runtime, clock, local(2026, 12, 7, 13, 0))
    reply = chat.say("sec", "请假批准 李敏", chat="g1")
    assert _records(runtime) == [], reply.text
    assert "李敏" in reply.text and "已请假" not in reply.text, reply.text


def _leave_rows(engine, name: str) -> list[str]:
    from storage.models import Attendance, Member
    with Session(engine) as s:
        member = s.exec(select(Member).where(Member.name == name)).one()
        return list(s.exec(select(Attendance.status).where(Attendance.member_id == member.id)))


@pytest.mark.parametrize("said", ["请假不请了", "请假作废", "请假算了", "请假不要了", "请假不用了",
                                  "请假 不请了"])
def test_calling_leave_off_records_no_leave(chat, runtime, bureau, said):  # noqa: F811
    """请假不请了 recorded leave with the reason 不请了: calling leave off asked for it."""
    chat.say("sec", "开始 主题党日", chat="g1")
    reply = chat.say("zq", said, chat="g1")
    assert "已请假" not in reply.text and "销假" in reply.text, reply.text
    assert "leave" not in _leave_rows(runtime.engine, "周强")


@pytest.mark.parametrize("said", ["开始 主题党日 下午三点", "开始 夜学 明天", "开始 夜学 八点",
                                  "开始 主题党日 15:00",
                                  # the hour before a topic (started at once, the hour in it)
                                  "开始 夜学 晚上七点半 学习党章", "开始 主题党日 明天下午3点 学党章",
                                  "开始 夜学 今晚 8点 学习党章"])
def test_a_start_for_later_does_not_start_now(chat, bureau, said):  # noqa: F811
    """开始 夜学 八点 started the night study at once, with 八点 as its topic."""
    reply = chat.say("sec", said, chat="g1")
    assert reply.is_error and "设置" in reply.text, reply.text
    assert "开始了" not in reply.text
    assert "签到成功" not in chat.say("zq", "签到", chat="g1").text


@pytest.mark.parametrize("said", ["结束了嘛", "结束嘛"])
def test_a_question_with_ma_does_not_end_the_activity(chat, bureau, said):  # noqa: F811
    """结束了嘛 (嘛 for 吗) ended the theme day: late-comers could no longer check in."""
    chat.say("sec", "开始 主题党日", chat="g1")
    reply = chat.say("sec", said, chat="g1")
    assert "已结束" not in reply.text, reply.text
    assert "签到成功" in chat.say("zq", "签到", chat="g1").text
