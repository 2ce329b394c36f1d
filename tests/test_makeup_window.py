"""补签 re-opens a confirmed record only within the window the rules set (issue 10).

The user's situation: a secretary confirms a theme day's absences, and a member shows a
week later that they were there. Within the window the 补签 cancels the penalty; after
it the record stands, and the reply says why and names the window — the window is the
rules file's `attendance.makeup_window_days`, not a number hidden in the code.
"""

from __future__ import annotations

import pytest
from sqlmodel import Session, func, select

from bot.domain.rules import DEFAULT_RULES_PATH, RulesError, parse_rules
from bot.runtime import build_runtime
from storage.models import Attendance, AuditEntry, PointEntry, Role
from tests.conftest import ChatDriver
from tests.factories import bind_chat, make_branch, make_member, seed


def _branch(session):
    branch = make_branch(session, "城关支部")
    make_member(session, branch, "李书记", role=Role.SECRETARY, wecom="sec")
    make_member(session, branch, "张三", wecom="z3")
    make_member(session, branch, "李四", wecom="l4")
    bind_chat(session, branch, "g1")


def _record(engine) -> tuple:
    with Session(engine) as session:
        return (session.exec(select(func.count()).select_from(PointEntry)).one(),
                session.exec(select(func.count()).select_from(Attendance)).one(),
                session.exec(select(func.count()).select_from(AuditEntry)).one())


def _theme_day_confirmed(chat: ChatDriver) -> None:
    chat.say("sec", "开始 主题党日", chat="g1")
    chat.say("sec", "签到", chat="g1")
    chat.say("sec", "结束", chat="g1")
    assert not chat.say("sec", "确认缺席", chat="g1").is_error  # 张三 and 李四 absent


def _runtime_with_window(settings, clock, engine, tmp_path, days: int):
    text = DEFAULT_RULES_PATH.read_text(encoding="utf-8").replace(
        "makeup_window_days = 7", f"makeup_window_days = {days}")
    path = tmp_path / "rules.toml"
    path.write_text(text, encoding="utf-8")
    return build_runtime(settings.model_copy(update={"rules_file": path}), clock=clock,
                         engine=engine, migrate=False)


def test_the_shipped_window_is_seven_days(runtime, chat, clock):
    seed(runtime.engine, _branch)
    assert runtime.rules.makeup_window_days == 7
    _theme_day_confirmed(chat)
    clock.advance(days=6)
    within = chat.say("sec", "补签 张三 在现场执勤", chat="g1")
    assert "已为 张三 补签" in within.text and "已撤销缺席扣分" in within.text

    clock.advance(days=2)  # eight days after the theme day
    before = _record(runtime.engine)
    late = chat.say("sec", "补签 李四 当天在场", chat="g1")
    assert late.is_error
    assert "补签只能在活动后 7 天内进行" in late.text and "主题党日" in late.text
    assert "主题党日（11月23日" in late.text and "记录保持不变" in late.text
    assert _record(runtime.engine) == before  # nothing changed, not even the audit


def test_a_bureau_sets_its_own_window_in_the_rules_file(settings, clock, engine, tmp_path):
    short = _runtime_with_window(settings, clock, engine, tmp_path, 3)
    seed(engine, _branch)
    chat = ChatDriver(short)
    _theme_day_confirmed(chat)
    clock.advance(days=4)
    refused = chat.say("sec", "补签 张三 在现场执勤", chat="g1")
    assert refused.is_error and "补签只能在活动后 3 天内进行" in refused.text

    long = ChatDriver(_runtime_with_window(settings, clock, engine, tmp_path, 14))
    clock.advance(days=6)  # ten days after: within 14
    assert "已为 张三 补签" in long.say("sec", "补签 张三 在现场执勤", chat="g1").text


def test_a_window_that_is_not_a_whole_number_of_days_is_refused():
    text = DEFAULT_RULES_PATH.read_text(encoding="utf-8")
    with pytest.raises(RulesError, match="makeup_window_days"):
        parse_rules(text.replace("makeup_window_days = 7", "makeup_window_days = -1"))
    with pytest.raises(RulesError, match="整数"):
        parse_rules(text.replace("makeup_window_days = 7", 'makeup_window_days = "一周"'))


def _points(engine, name: str) -> int:
    from storage.models import Member

    with Session(engine) as session:
        member = session.exec(select(Member).where(Member.name == name)).one()
        return session.exec(select(func.coalesce(func.sum(PointEntry.points), 0))
                            .where(PointEntry.member_id == member.id)).one()


def test_a_make_up_names_the_activity_when_a_later_one_was_held_since(runtime, chat, clock):
    """A night study on Monday, a theme day on Wednesday: on Thursday the secretary learns
    张三 was at the night study. 补签 alone would reach the theme day; naming the night
    study (its type, its day or both) reaches it, and its penalty is reversed."""
    seed(runtime.engine, _branch)
    chat.say("sec", "开始 夜学", chat="g1")  # Monday 23 November, 09:00
    chat.say("sec", "结束", chat="g1")
    assert not chat.say("sec", "确认缺席", chat="g1").is_error  # 张三, 李四 absent: -1 each
    clock.advance(days=2)
    _theme_day_confirmed(chat)  # Wednesday: -2 each
    clock.advance(days=1)
    assert _points(runtime.engine, "张三") == -3

    reply = chat.say("sec", "补签 张三 夜学 当晚在值班室学习", chat="g1")

    assert "已为 张三 补签：政治夜学" in reply.text and "原因：当晚在值班室学习" in reply.text
    assert "已撤销缺席扣分（+1）" in reply.text
    assert _points(runtime.engine, "张三") == -3 + 1 + 2  # the penalty back, the make-up's 2
    reply = chat.say("sec", "补签 李四 11月23日 当晚在场", chat="g1")
    assert "已为 李四 补签：政治夜学" in reply.text and "原因：当晚在场" in reply.text
    # Named and not found, or named with nothing left for a reason: nothing changes.
    before = _record(runtime.engine)
    missing = chat.say("sec", "补签 张三 党员大会 在场", chat="g1")
    assert missing.is_error and "没有找到支部党员大会的活动" in missing.text
    no_day = chat.say("sec", "补签 张三 2月30日 在场", chat="g1")
    assert no_day.is_error and "没有2月30日这一天" in no_day.text
    no_reason = chat.say("sec", "补签 张三 11月25日的主题党日", chat="g1")
    assert no_reason.is_error and "缺少补签原因" in no_reason.text
    assert _record(runtime.engine) == before
    # Unnamed, the latest record is still the one: the theme day.
    assert "补签：主题党日" in chat.say("sec", "补签 张三 当天在场", chat="g1").text


def test_a_correction_names_the_activity_as_a_make_up_does(runtime, chat, clock):
    seed(runtime.engine, _branch)
    chat.say("sec", "开始 夜学", chat="g1")
    chat.say("z3", "签到", chat="g1")
    chat.say("sec", "结束", chat="g1")  # no tick closes it here
    clock.advance(days=2)
    _theme_day_confirmed(chat)
    clock.advance(days=1)

    reply = chat.say("sec", "更正 张三 缺席 夜学 他人代签")

    assert "政治夜学" in reply.text and "原因：他人代签" in reply.text
    assert _points(runtime.engine, "张三") == -2  # the night study's +2 reversed, theme day's -2
