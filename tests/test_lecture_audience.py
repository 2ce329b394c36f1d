"""A bureau-wide 党建大讲堂 or 党课 names whom it is for (issue 10).

The user's situation: the 局 holds a lecture for the 城关 and 交警 branches only. Opened
from the leaders' group without saying so, it used to expect every member of the bureau,
and a 确认缺席 took points from people who were never invited.
"""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from storage.models import Activity, OutboxMessage, PointEntry, Role
from tests.factories import bind_chat, make_branch, make_member, seed


@pytest.fixture
def bureau(engine):
    def build(session):
        for name, short, people in (("城关派出所支部", "cg", 3), ("交警大队支部", "jj", 2),
                                    ("机关支部", "jg", 4)):
            branch = make_branch(session, name)
            bind_chat(session, branch, f"g-{short}")
            for i in range(people):
                make_member(session, branch, f"{name[:2]}{i}", wecom=f"{short}{i}")
        make_member(session, None, "赵局长", role=Role.LEADER, wecom="boss")
        bind_chat(session, None, "leaders", leaders=True)
    seed(engine, build)


def activities(engine) -> list[Activity]:
    with Session(engine) as session:
        return list(session.exec(select(Activity)).all())


def test_a_bureau_lecture_for_two_branches_expects_nudges_and_counts_only_them(
        chat, engine, bureau):
    unnamed = chat.say("boss", "开始 大讲堂 全面从严治党 主讲 王教授", chat="leaders")
    assert unnamed.is_error and "要写明对象" in unnamed.text
    assert "例如：开始 党建大讲堂 学习二十大精神 对象 城关、交警" in unnamed.text
    unknown = chat.say("boss", "开始 大讲堂 全面从严治党 对象 城关、特警", chat="leaders")
    assert unknown.is_error and "没有找到支部「特警」" in unknown.text
    assert activities(engine) == []

    asked = chat.say("boss", "开始 大讲堂 全面从严治党 对象 城关、交警 主讲 王教授", chat="leaders")
    assert "应到城关派出所支部、交警大队支部党员，涉及 2 个支部共 5 人" in asked.text
    assert activities(engine) == []  # nothing opens before 确认
    opened = chat.say("boss", "确认", chat="leaders")
    assert "应到：城关派出所支部、交警大队支部党员 5 人" in opened.text
    assert "主讲：王教授" in opened.text and "已通知 2 个支部群" in opened.text
    [activity] = activities(engine)
    assert (activity.topic, activity.lecturer) == ("全面从严治党", "王教授")
    with Session(engine) as session:
        told = {m.target for m in session.exec(select(OutboxMessage).where(
            OutboxMessage.kind == "activity.announce"))}
    assert told == {"g-cg", "g-jj"}  # 机关 is not told of a lecture not for it

    assert "签到成功" in chat.say("cg0", "签到", chat="g-cg").text
    assert "签到成功" in chat.say("jj0", "签到", chat="g-jj").text
    not_yours = chat.say("jg0", "签到", chat="g-jg").text
    assert "应到人员是城关派出所支部、交警大队支部党员，不需要你参加" in not_yours
    assert "还有 3 人未签到" in chat.say("boss", "未签到", chat="leaders").text
    missing = chat.say("boss", "未签到 全局").text  # the names only in private
    assert "城关1" in missing and "交警1" in missing and "机关" not in missing

    chat.say("boss", "结束", chat="leaders")
    chat.say("boss", "确认缺席", chat="leaders")
    with Session(engine) as session:
        [activity] = session.exec(select(Activity)).all()
        assert activity.expected_count == 5
        penalised = {e.member_id for e in session.exec(select(PointEntry)) if e.points < 0}
    assert len(penalised) == 3  # 城关1、城关2、交警1; nobody from 机关


def test_one_branch_opens_at_once_and_the_whole_bureau_needs_confirming(chat, engine, bureau):
    spaced = chat.say("boss", "开始 党课 廉政教育 对象 城关 交警", chat="leaders")
    assert "应到城关派出所支部、交警大队支部党员，涉及 2 个支部共 5 人" in spaced.text
    one = chat.say("boss", "开始 党课 廉政教育 对象 机关", chat="leaders")
    assert "应到：机关支部党员 4 人" in one.text  # one branch: no 确认 needed
    chat.say("boss", "结束", chat="leaders")
    everyone = chat.say("boss", "开始 党课 新党章 对象 全体", chat="leaders")
    assert "应到全体支部党员，涉及 3 个支部共 9 人" in everyone.text
    assert "应到：全体支部党员 9 人" in chat.say("boss", "确认", chat="leaders").text
