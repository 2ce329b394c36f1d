"""End to end, the words of the phrasing sweep that record, or must record nothing.

A question about 请假 (请假批了吗, 请假要提前多久) was leave with the question as its reason;
请假 主题党日，出差 and 夜学请假值班 were leave for whichever activity came first; 学习 理论
1小时 30分钟 was 60 minutes and 学习 45 分钟 理论 study of a kind called 分钟; 签到在哪里 checked
the asker in. Each is checked here by what is on record, not only by the reply.
"""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session, select

from storage.models import AttendanceStatus, StudyLog
from tests.conftest import local
from tests.test_figures import run_ticks
from tests.test_whose_activity import NIGHT_STUDY, THEME_DAY, _branch, _records


def _studies(runtime) -> list[tuple[str, int, str | None]]:
    with Session(runtime.engine) as session:
        return [(s.kind, s.minutes, s.material)
                for s in session.exec(select(StudyLog).order_by(StudyLog.id)).all()]


def test_a_question_about_leave_records_no_leave(runtime, chat, clock):
    _branch(runtime, NIGHT_STUDY, THEME_DAY)
    clock.set(local(2026, 12, 7, 20, 0))
    run_ticks(runtime, clock, local(2026, 12, 7, 23, 0))  # 夜学 on the 8th, 党日 on the 10th
    for asked in ("请假要提前多久", "请假算缺席吗", "夜学请假 可以吗", "请假需要谁批",
                  "请假要审批吗"):
        reply = chat.say("li", asked, chat="g1")
        assert not reply.is_error and reply.text.startswith("请假："), (asked, reply.text)
        assert "例如：请假 值班" in reply.text, asked
    assert _records(runtime) == []
    # About one's own leave: 我的请假 answers, and records nothing either.
    for asked in ("我的请假通过了吗", "请假记录", "请假 情况", "请假批了吗", "请假 批了没"):
        assert chat.say("li", asked, chat="g1").text.startswith("你目前没有请假。"), asked
    assert _records(runtime) == []
    # A reason with the question after it is still leave, as it was.
    assert chat.say("li", "请假 家里有事，能批吗", chat="g1").text.startswith("已请假：政治夜学")


def test_leave_names_its_activity_with_a_comma_or_glued_on(runtime, chat, clock):
    _branch(runtime, NIGHT_STUDY, THEME_DAY)
    clock.set(local(2026, 12, 7, 20, 0))
    run_ticks(runtime, clock, local(2026, 12, 7, 23, 0))
    for said in ("请假 主题党日，出差", "请假主题党日出差", "主题党日请假：出差", "主题党日请假出差"):
        reply = chat.say("li", said, chat="g1")
        assert reply.text == "已请假：主题党日（12月10日 14:30）。原因：出差", (said, reply.text)
        assert _records(runtime) == [("李明", "主题党日", "12-10", AttendanceStatus.LEAVE)]
        chat.say("li", "销假", chat="g1")
    reply = chat.say("zhang", "夜学请假值班", chat="g1")
    assert reply.text == "已请假：政治夜学（12月8日 19:30）。原因：值班", reply.text


def test_asking_where_to_check_in_checks_nobody_in(runtime, chat, clock):
    _branch(runtime, NIGHT_STUDY)
    clock.set(local(2026, 12, 8, 19, 0))
    run_ticks(runtime, clock, local(2026, 12, 8, 19, 10), step=timedelta(minutes=10))
    for asked in ("签到在哪里", "签到在哪"):
        reply = chat.say("li", asked, chat="g1")
        assert reply.text.startswith("签到："), reply.text
    assert _records(runtime) == []
    assert chat.say("li", "签到", chat="g1").text.startswith("李明 签到成功")


def test_study_minutes_and_kind_as_typed(runtime, chat, clock):
    _branch(runtime)
    clock.set(local(2026, 12, 8, 9, 0))
    said = {"学习 理论 1小时 30分钟 党章": "理论 90 分钟（党章）",
            "学习 党史 1 小时 30 分钟": "党史 90 分钟",
            "学习 45 分钟 理论": "理论 45 分钟",
            "学习：业务 40分钟": "业务 40 分钟"}
    for text, logged in said.items():
        reply = chat.say("li", text)
        assert not reply.is_error and f"已记录学习：{logged}" in reply.text, (text, reply.text)
    assert _studies(runtime) == [("理论", 90, "党章"), ("党史", 90, None), ("理论", 45, None),
                                 ("业务", 40, None)]


def test_a_makeup_with_a_colon_and_an_approval_with_a_particle(runtime, chat, clock):
    _branch(runtime, NIGHT_STUDY)
    runtime.dispatcher.settings = runtime.settings.model_copy(
        update={"leave_requires_approval": True})
    clock.set(local(2026, 12, 8, 12, 0))
    run_ticks(runtime, clock, local(2026, 12, 8, 13, 0))
    assert "等待书记批准" in chat.say("zhang", "请假 值班", chat="g1").text
    approved = chat.say("sec", "批准张强请假吧", chat="g1")
    assert not approved.is_error and "张强" in approved.text, approved.text
    clock.set(local(2026, 12, 8, 19, 0))
    run_ticks(runtime, clock, local(2026, 12, 8, 19, 40), step=timedelta(minutes=20))
    made_up = chat.say("sec", "补签：李明 手机没电", chat="g1")
    assert made_up.text.startswith("已为 李明 补签"), made_up.text
    assert sorted((r[0], r[3]) for r in _records(runtime)) == [
        ("张强", AttendanceStatus.LEAVE), ("李明", AttendanceStatus.MAKEUP)]


def test_thanks_and_acknowledgements_get_a_word_and_record_nothing(runtime, chat, clock):
    _branch(runtime, NIGHT_STUDY)
    clock.set(local(2026, 12, 8, 19, 0))
    run_ticks(runtime, clock, local(2026, 12, 8, 19, 10), step=timedelta(minutes=10))
    for said, answer in (("辛苦了", "不客气。"), ("大家辛苦了！", "不客气。"), ("好的，收到", "好的。"),
                         ("收到收到", "好的。"), ("好嘞", "好的。"), ("了解", "好的。")):
        reply = chat.say("li", said, chat="g1")
        assert (reply.text, reply.is_error) == (answer, False), (said, reply.text)
    assert _records(runtime) == []


def test_an_acknowledgement_with_words_after_it_is_not_told_to_check_in(runtime, chat, clock):
    """收到，会准时参加 (the answer to a notice) was told 「你是想发送「报到」吗？」: 收到 is one
    letter from 报到, and one who follows it is counted at an activity they have not come to."""
    _branch(runtime, NIGHT_STUDY)
    clock.set(local(2026, 12, 8, 19, 0))
    run_ticks(runtime, clock, local(2026, 12, 8, 19, 10), step=timedelta(minutes=10))
    for said in ("收到，会准时参加", "收到，准时参加", "好的，准时参加", "收到 按时参加",
                 # how a bureau's chats acknowledge a notice (were 没有「收悉」这个指令)
                 "已收到", "收悉", "已知悉", "知悉", "已收到，坚决落实"):
        reply = chat.say("li", said, chat="g1")
        assert (reply.text, reply.is_error) == ("好的。", False), (said, reply.text)
    # A slip after the acknowledgement is still told what was meant.
    assert "你是想发送「签到」吗" in chat.say("li", "收到，签道", chat="g1").text
    assert _records(runtime) == []


def test_a_remark_about_leave_takes_no_leave(runtime, chat, clock):
    """What a secretary tells the group about leave was leave for the secretary, with the
    remark as its reason; it is answered as a question is, and nothing is kept."""
    _branch(runtime, NIGHT_STUDY)
    clock.set(local(2026, 12, 8, 12, 0))
    run_ticks(runtime, clock, local(2026, 12, 8, 13, 0))
    for said in ("请假要提前说", "请假找我", "请假私聊我", "请假必须提前一天", "请假同志记得补学",
                 "请假也要学习", "请假了就不用签到", "请假条交给我"):
        reply = chat.say("sec", said, chat="g1")
        assert not reply.is_error and reply.text.startswith("请假："), (said, reply.text)
    assert chat.say("sec", "请假已批", chat="g1").text.startswith("你目前没有请假。")
    assert _records(runtime) == []
    # A reason that begins like one and goes on is leave, as ever.
    reply = chat.say("li", "请假 要去医院", chat="g1")
    assert reply.text == "已请假：政治夜学（12月8日 19:30）。原因：要去医院", reply.text
    reply = chat.say("zhang", "请假 提前下班接孩子", chat="g1")
    assert reply.text.endswith("原因：提前下班接孩子"), reply.text
    assert sorted(r[0] for r in _records(runtime)) == ["张强", "李明"]
