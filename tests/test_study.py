"""学习: a study log, points per full 30 minutes, and the daily cap on the local day."""

from __future__ import annotations

import pytest
from sqlmodel import Session, func, select

from storage.models import PointEntry, StudyLog
from tests.conftest import local
from tests.factories import bind_chat, make_branch, make_member, seed


@pytest.fixture
def member(runtime):
    def build(s):
        branch = make_branch(s, "一支部")
        bind_chat(s, branch, "g1")
        return make_member(s, branch, "张伟", wecom="u1")

    return seed(runtime.engine, build)


def points(runtime) -> list[int]:
    with Session(runtime.engine) as s:
        return list(s.exec(select(PointEntry.points).order_by(PointEntry.id)).all())


def logs(runtime) -> int:
    with Session(runtime.engine) as s:
        return s.exec(select(func.count()).select_from(StudyLog)).one()


def test_a_study_log_earns_a_point_per_full_half_hour(runtime, chat, member):
    reply = chat.say("u1", "学习 理论 75 《党章》第三章", chat="g1")

    assert not reply.is_error
    assert "理论 75 分钟" in reply.text and "今天累计学习 75 分钟" in reply.text
    assert "本次积分 +2" in reply.text
    with Session(runtime.engine) as s:
        log = s.exec(select(StudyLog)).one()
        entry = s.exec(select(PointEntry)).one()
    assert (log.kind, log.minutes, log.material) == ("理论", 75, "《党章》第三章")
    assert (entry.member_id, entry.branch_id, entry.points) == (member.id, member.branch_id, 2)
    assert (entry.source_kind, entry.source_id, entry.rule) == ("study", str(log.id), "study.per_30min")
    assert entry.ruleset_id is not None


def test_the_daily_cap_holds_and_a_new_local_day_starts_afresh(runtime, chat, clock, member):
    chat.say("u1", "学习 理论 90")  # 3 points
    capped = chat.say("u1", "学习 党史 90")  # 1 more reaches the cap of 4
    assert "本次积分 +1" in capped.text and "上限 4" in capped.text
    over = chat.say("u1", "学习 党史 60")
    assert "本次积分 +0" in over.text and "今天累计学习 240 分钟" in over.text
    assert points(runtime) == [3, 1]  # nothing posted for a capped log
    assert logs(runtime) == 3  # but the minutes are kept

    # 23:30 the same Shanghai day is still capped; 00:10 the next day is not.
    clock.set(local(2026, 11, 23, 23, 30))
    assert "+0" in chat.say("u1", "学习 理论 30").text
    clock.set(local(2026, 11, 24, 0, 10))
    fresh = chat.say("u1", "学习 理论 30")
    assert "本次积分 +1" in fresh.text and "今天累计学习 30 分钟" in fresh.text


def test_short_study_is_logged_without_points(runtime, chat, member):
    reply = chat.say("u1", "学习 理论 20")
    assert "+0" in reply.text and "每满 30 分钟" in reply.text
    assert logs(runtime) == 1 and points(runtime) == []


def test_short_studies_add_up_to_the_days_half_hours(runtime, chat, member):
    """20 and 20 minutes said 今天累计学习 40 分钟，本次积分 +0 beside 每满 30 分钟记 1 分, and
    45 + 45 earned 2 where 90 at once earns 3: the half-hours are the day's, not each log's."""
    assert "本次积分 +0" in chat.say("u1", "学习 理论 20").text
    second = chat.say("u1", "学习 党史 20")
    assert "今天累计学习 40 分钟，本次积分 +1" in second.text, second.text
    assert "本次积分 +2" in chat.say("u1", "学习 理论 50").text  # 90 minutes: 3 in all
    assert points(runtime) == [1, 2]  # 20 + 20, then 50 (the first 20 earned nothing)
    assert "本次积分 +0" in chat.say("u1", "学习 理论 29").text  # 119: still 3
    assert "本次积分 +1" in chat.say("u1", "学习 理论 1").text  # 120: 4, the cap
    assert sum(points(runtime)) == 4
    # 积分明细 explains a point a short log earned: the day's minutes it completed.
    ledger = chat.say("u1", "积分明细").text
    assert "+1 自学「党史」20分钟（当天累计 40 分钟）" in ledger, ledger
    assert "+1 自学「理论」1分钟（当天累计 120 分钟）" in ledger


def test_a_withdrawn_study_leaves_the_days_half_hours_to_the_rest(runtime, chat, member):
    chat.say("u1", "学习 理论 45")  # +1
    chat.say("u1", "学习 党史 45")  # 90 minutes: +2
    assert "积分 -2" in chat.say("u1", "撤销 写重了").text
    again = chat.say("u1", "学习 理论 15")  # 60 minutes on record: 2, one of them new
    assert "今天累计学习 60 分钟，本次积分 +1" in again.text, again.text
    assert sum(points(runtime)) == 2


def test_a_day_holds_no_more_study_than_it_has_hours(runtime, chat, member):
    """学习 理论 600 three times made 今天累计学习 1800 分钟: thirty hours in a day, counted in
    the year's 学习分钟 and the 先锋党员 shortlist. What would pass 24 hours is refused."""
    for kind in ("理论", "党史"):
        assert not chat.say("u1", f"学习 {kind} 600").is_error
    third = chat.say("u1", "学习 理论 250")
    assert third.is_error and "1200 分钟" in third.text and "24 小时" in third.text, third.text
    assert "没有记录" in third.text
    assert logs(runtime) == 2 and sum(points(runtime)) == 4
    assert "今天累计学习 1440 分钟" in chat.say("u1", "学习 理论 240").text


@pytest.mark.parametrize(
    "text, problem",
    [
        ("学习", "缺少学习类型"),
        ("学习 理论", "缺少学习时长"),
        ("学习 理论 半天", "学习时长应是时长"),
        ("学习 理论 0", "学习时长不能少于 1 分钟"),
        ("学习 理论 601", "学习时长不能超过 600 分钟"),
        ("学习 马克思主义基本原理概论 30", "类型请写短一些"),
    ],
)
def test_bad_arguments_show_the_usage_and_log_nothing(runtime, chat, member, text, problem):
    reply = chat.say("u1", text)
    assert reply.is_error and problem in reply.text and "例如：学习 理论 45" in reply.text
    assert logs(runtime) == 0 and points(runtime) == []


@pytest.mark.parametrize("text", ["学习 理论 45 算吗", "学习 理论 45分钟 可以吗",
                                  "学习强国 30分钟 算学习吗", "学习 理论 30 能加分么"])
def test_asking_whether_a_study_counts_logs_nothing(runtime, chat, member, text):
    """学习 理论 45 算吗 was logged, with its points, and 「算吗」 kept as the material."""
    reply = chat.say("u1", text)
    assert reply.is_error and "没有记录" in reply.text and "积分规则" in reply.text, reply.text
    assert logs(runtime) == 0 and points(runtime) == []
    assert "已记录学习" in chat.say("u1", "学习 理论 45 吗啡成瘾的危害").text  # a material, as ever


def test_full_width_digits_are_accepted(runtime, chat, member):
    assert "本次积分 +1" in chat.say("u1", "学习　理论　３０").text


@pytest.mark.parametrize("text", ["学习 理论 45分钟 昨天", "学习 昨天 理论 45",
                                  "昨天学习 理论 45", "学习 党史 30 上周四", "学习 理论 45 明天"])
def test_study_said_for_another_day_is_refused_not_logged_as_today(runtime, chat, clock,
                                                                   member, text):
    # It was logged as today's, with 昨天 as its material or even its kind.
    clock.set(local(2026, 11, 24, 9, 0))
    reply = chat.say("u1", text)
    assert reply.is_error and "只记今天的学习" in reply.text and "没有记录" in reply.text
    assert "学习 理论 45" in reply.text
    assert logs(runtime) == 0 and points(runtime) == []


def test_today_said_with_a_study_is_today_and_a_numbered_material_stays(runtime, chat, member):
    assert "理论 45 分钟。" in chat.say("u1", "学习 理论 45 今天").text
    assert "理论 45 分钟（3号文件）" in chat.say("u1", "学习 理论 45 3号文件").text
    assert logs(runtime) == 2


@pytest.mark.parametrize("said", ["撤销 请假", "撤销 请假 明天不去了", "撤销推荐 李四"])
def test_undo_followed_by_another_record_leaves_the_study(runtime, chat, member, said):
    """撤销 请假 明天不去了 took back the sender's last 学习 (积分 -2), the words after it
    read as the reason: another record's name is refused with where it is put right."""
    chat.say("u1", "学习 理论 60")
    reply = chat.say("u1", said)  # (撤销 请假 alone is 销假's other name)
    assert reply.is_error and "已撤销学习记录" not in reply.text, reply.text
    assert points(runtime) == [2]


def test_the_same_study_sent_twice_in_a_row_is_logged_once(runtime, chat, clock, member):
    """学习 理论 45 sent twice (a double tap, or sent again when the reply was slow, each a
    message of its own) logged 90 minutes and 3 points for one 45-minute study. The same
    study again within minutes is taken as the same one; another study says what differs."""
    first = chat.say("u1", "学习 理论 45", chat="g1")
    assert "本次积分 +1" in first.text
    clock.advance(minutes=1)
    again = chat.say("u1", "学习 理论 45")
    assert again.is_error and "没有重复记录" in again.text and "理论 45 分钟" in again.text
    assert logs(runtime) == 1 and points(runtime) == [1]
    other = chat.say("u1", "学习 理论 45 第二章")
    assert not other.is_error and "今天累计学习 90 分钟" in other.text
    clock.advance(minutes=30)
    assert "今天累计学习 135 分钟" in chat.say("u1", "学习 理论 45").text
    assert logs(runtime) == 3


@pytest.mark.parametrize("said, kind, minutes", [("学了半小时理论", "理论", 30),
                                                  ("刚学了45分钟党史", "党史", 45),
                                                  ("今天学了一个小时 业务", "业务", 60)])
def test_study_said_with_xue_le_is_logged(runtime, chat, member, said, kind, minutes):
    """学了半小时理论, as members say 学习了, was 没有这个指令 while 学习了半小时理论 was logged."""
    reply = chat.say("u1", said)
    assert not reply.is_error, reply.text
    with Session(runtime.engine) as s:
        log = s.exec(select(StudyLog)).one()
    assert (log.kind, log.minutes) == (kind, minutes)
    assert logs(runtime) == 1
