"""更正 …出席: a 迟到 counted from the start the members were told, when the meeting really
began later, is put right by the secretary, one member or every one at once.

What a user notices: the reply (a count only in the group), the member's one private
notice, 积分明细 with the late points reversed beside the present points, 积分 and the
weekly report, the audit log, a retried delivery answered the same; and a 更正 that is not
for a 迟到 changing nothing and saying where it is put right.
"""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from storage.models import AuditEntry, Role
from tests.conftest import local
from tests.factories import bind_chat, make_branch, make_member, seed
from tests.test_attendance_corrections import notices, points_of, record, row_of
from tests.test_figures import djbot, ledger_lines, weekly  # noqa: F401 - djbot: fixture

THEME_PRESENT, THEME_LATE = 3, 2  # 主题党日 in the shipped rules


@pytest.fixture
def bureau(runtime):
    """城关支部 (g1): 王书记 (sec), 张三 (z3), 李四 (l4), 王五 (w5); 交警支部 (g2): 徐书记; a
    领导 (boss)."""
    def build(session):
        cg = make_branch(session, "城关支部")
        jj = make_branch(session, "交警支部")
        bind_chat(session, cg, "g1")
        bind_chat(session, jj, "g2")
        make_member(session, cg, "王书记", role=Role.SECRETARY, wecom="sec")
        make_member(session, cg, "张三", wecom="z3")
        make_member(session, cg, "李四", wecom="l4")
        make_member(session, cg, "王五", wecom="w5")
        make_member(session, jj, "徐书记", role=Role.SECRETARY, wecom="jj-sec")
        make_member(session, None, "赵局长", role=Role.LEADER, wecom="boss")
    seed(runtime.engine, build)


def theme_day(chat, clock) -> None:
    """Opened 09:00 Monday 23 November (late after 09:10): 王书记 at 09:00, 张三 at 09:12
    (迟到), 李四 at 09:20 (迟到); 王五 does not come. Absences confirmed."""
    chat.say("sec", "开始 主题党日 学习新党章", chat="g1")
    chat.say("sec", "签到", chat="g1")
    clock.advance(minutes=12)
    assert "迟到" in chat.say("z3", "签到", chat="g1").text
    clock.advance(minutes=8)
    assert "迟到" in chat.say("l4", "签到", chat="g1").text
    chat.say("sec", "结束", chat="g1")
    assert "已确认" in chat.say("sec", "确认缺席", chat="g1").text


def test_a_late_check_in_becomes_present_and_every_figure_follows(
        runtime, chat, clock, bureau, djbot):  # noqa: F811 - the fixture imported above
    theme_day(chat, clock)
    clock.advance(hours=2)
    assert sum(points_of(runtime.engine, "张三")) == THEME_LATE
    assert f"本周：{THEME_LATE} 分" in chat.say("z3", "积分").text
    assert weekly(djbot, "2026-W48", "城关支部")["points"] == THEME_PRESENT + 2 * THEME_LATE - 2

    reply = chat.say("sec", "更正 张三 出席 会议推迟到9:05开始", message_id="m-late-1")
    assert not reply.is_error, reply.text
    assert reply.text.splitlines() == [
        "已将 张三 在主题党日「学习新党章」（09:00）的记录由迟到更正为出席。原因：会议推迟到9:05开始",
        (f"积分 {THEME_PRESENT - THEME_LATE:+d}（冲销迟到 {-THEME_LATE:+d}，"
         f"出席积分 {THEME_PRESENT:+d}）。"),
        "已私聊告知本人。"]
    assert row_of(runtime.engine, "张三").status == "present"
    assert points_of(runtime.engine, "张三") == [THEME_LATE, -THEME_LATE, THEME_PRESENT]
    lines = ledger_lines(chat, "z3")
    assert any(f"±0 主题党日「学习新党章」迟到 {THEME_LATE:+d}，已冲销（王书记更正为出席："
               "会议推迟到9:05开始）" in line for line in lines), lines
    assert any(f"{THEME_PRESENT:+d} 主题党日「学习新党章」出席" in line for line in lines), lines
    assert f"本周：{THEME_PRESENT} 分" in chat.say("z3", "积分").text
    line = weekly(djbot, "2026-W48", "城关支部")
    assert line["points"] == 2 * THEME_PRESENT + THEME_LATE - 2

    with Session(runtime.engine) as s:
        audit = s.exec(select(AuditEntry).where(AuditEntry.action == "attendance.correct")).one()
    assert (audit.actor, audit.target) == ("王书记", "张三")
    assert (audit.detail["from"], audit.detail["to"], audit.detail["reason"]) == \
        ("late", "present", "会议推迟到9:05开始")

    # A retried delivery: the same reply, nothing posted or told twice.
    before = record(runtime.engine)
    assert chat.say("sec", "更正 张三 出席 会议推迟到9:05开始",
                    message_id="m-late-1").text == reply.text
    assert record(runtime.engine) == before
    [notice] = notices(runtime, clock, "z3")
    assert notice.startswith("【签到记录更正】王书记将你在主题党日「学习新党章」（11月23日 09:00）的记录"
                             "由迟到更正为出席。原因：会议推迟到9:05开始。")

    # Sent again: present now, nothing to correct.
    again = chat.say("sec", "更正 张三 出席 会议推迟到9:05开始")
    assert again.is_error and "已记为出席，没有迟到" in again.text
    assert record(runtime.engine) == before


def test_a_check_in_past_the_real_start_and_the_grace_stays_late(runtime, chat, clock, bureau):
    theme_day(chat, clock)
    before = record(runtime.engine)
    reply = chat.say("sec", "更正 李四 出席 会议推迟到9:05开始")
    assert reply.is_error and "李四 09:20 签到，按实际开始时间 09:05 计也已超过 10 分钟，仍记为迟到" \
        in reply.text, reply.text
    assert record(runtime.engine) == before


REFUSED = [
    ("更正 王书记 出席 会议推迟", "已记为出席"),  # the sender's own: refused as any own record
    ("更正 王五 出席 会议推迟", "补签 王五 原因"),  # absent: a 补签 says they were there
    ("更正 张三 出席", "缺少更正原因"),
    ("更正 张三 出席 会议8:50开始", "不是推迟后的开始时间"),
    ("更正 迟到 出席", "缺少更正原因"),
]


@pytest.mark.parametrize(("text", "said"), REFUSED)
def test_what_is_no_late_record_to_restate_changes_nothing_and_says_why(
        runtime, chat, clock, bureau, text, said):
    theme_day(chat, clock)
    before = record(runtime.engine)
    # The secretary's own record is another's to correct: a leader's, in the branch's group.
    reply = chat.say("boss", text, chat="g1") if "王书记" in text else chat.say("sec", text)
    assert reply.is_error and said in reply.text, reply.text
    assert record(runtime.engine) == before


def test_only_those_entitled_and_within_the_window(runtime, chat, clock, bureau):
    theme_day(chat, clock)
    before = record(runtime.engine)
    assert chat.say("w5", "更正 张三 出席 会议推迟").is_error  # a member
    assert chat.say("w5", "更正 迟到 出席 会议推迟", chat="g1").is_error
    other = chat.say("jj-sec", "更正 张三 出席 会议推迟")  # another branch's secretary
    assert other.is_error and "最近没有可以更正的活动" in other.text, other.text  # his own branch's
    assert "你只能管理本支部的事务" in chat.say("jj-sec", "更正 迟到 出席 会议推迟", chat="g1").text
    clock.advance(days=8)
    late = chat.say("sec", "更正 迟到 出席 会议推迟")
    assert late.is_error and "已超过 7 天，记录保持不变" in late.text, late.text
    assert record(runtime.engine) == before


def test_every_late_record_at_once_by_the_real_start(runtime, chat, clock, bureau, djbot):  # noqa: F811
    theme_day(chat, clock)
    reply = chat.say("sec", "更正 迟到 出席 会议推迟到9:05开始", chat="g1")
    assert not reply.is_error, reply.text
    assert reply.text == ("已将主题党日「学习新党章」（09:00）的 1 条迟到记录更正为出席（按实际 09:05 开始计），"
                          "积分已相应调整。1 条在 09:15 后签到，仍为迟到。已私聊告知本人。")
    for name in ("张三", "李四"):
        assert name not in reply.text  # the group reads a count, no names
    assert (row_of(runtime.engine, "张三").status, row_of(runtime.engine, "李四").status) == \
        ("present", "late")
    assert len(notices(runtime, clock, "z3")) == 1
    assert notices(runtime, clock, "l4") == []

    # Without a time, every late record left: the secretary's word for it.
    reply = chat.say("sec", "更正 全部迟到 出席 会议推迟开始")
    assert reply.text.splitlines() == [
        "已将主题党日「学习新党章」（09:00）的 1 条迟到记录更正为出席，积分已相应调整。原因：会议推迟开始",
        "更正的同志：李四", "已私聊告知本人。"]
    assert row_of(runtime.engine, "李四").status == "present"
    assert sum(points_of(runtime.engine, "李四")) == THEME_PRESENT
    assert weekly(djbot, "2026-W48", "城关支部")["points"] == 3 * THEME_PRESENT - 2
    with Session(runtime.engine) as s:
        assert len(s.exec(select(AuditEntry).where(
            AuditEntry.action == "attendance.correct")).all()) == 2

    again = chat.say("sec", "更正 迟到 出席 会议推迟开始")
    assert again.is_error and "没有可以更正为出席的迟到记录" in again.text


def test_a_delay_said_in_minutes_counts_from_the_start_told(runtime, chat, clock, bureau):
    theme_day(chat, clock)
    # 人均: (3 + 2 + 2 − 2) ÷ 4, then (3 + 3 + 3 − 2) ÷ 4; participation stays (迟到 attended).
    assert "参与率 75.0%（3/4），人均 1.3 分" in chat.say("boss", "红黄蓝榜").text
    reply = chat.say("sec", "更正 迟到 出席 会议推迟15分钟开始")
    assert reply.text.splitlines()[:2] == [
        ("已将主题党日「学习新党章」（09:00）的 2 条迟到记录更正为出席（按实际 09:15 开始计），"
         "积分已相应调整。原因：会议推迟15分钟开始"), "更正的同志：张三、李四"], reply.text
    assert (row_of(runtime.engine, "张三").status, row_of(runtime.engine, "李四").status) == \
        ("present", "present")
    assert "参与率 75.0%（3/4），人均 1.8 分" in chat.say("boss", "红黄蓝榜").text


def test_a_correction_after_the_week_shows_as_corrected_after_in_its_report(
        runtime, chat, clock, bureau, djbot):  # noqa: F811
    theme_day(chat, clock)
    clock.set(local(2026, 11, 30, 8, 0))  # the week is over, the 7 days not yet
    before = djbot("report", "weekly", "--week", "2026-W48")
    assert "期后更正" not in before
    assert not chat.say("sec", "更正 迟到 出席 会议推迟开始").is_error
    after = djbot("report", "weekly", "--week", "2026-W48")
    assert "**期后更正**" in after and "城关支部 冲销 2 笔" in after, after  # 张三's, 李四's 迟到


def test_a_late_record_put_right_then_corrected_again_and_cancelled_sums_right(
        runtime, chat, clock, bureau):
    theme_day(chat, clock)
    chat.say("sec", "更正 张三 出席 会议推迟开始")
    assert sum(points_of(runtime.engine, "张三")) == THEME_PRESENT
    # He was not there after all: the present points go, the penalty comes.
    reply = chat.say("sec", "更正 张三 缺席 他人代签")
    assert "由出席更正为缺席" in reply.text, reply.text
    assert sum(points_of(runtime.engine, "张三")) == -2
    # 补签 brings him back as made up, and 取消活动 then takes every line back.
    chat.say("sec", "补签 张三 确在现场")
    assert sum(points_of(runtime.engine, "张三")) == THEME_PRESENT
    chat.say("sec", "取消活动 临时勤务")
    assert "已取消" in chat.say("sec", "确认").text
    assert sum(points_of(runtime.engine, "张三")) == 0
    assert sum(points_of(runtime.engine, "李四")) == 0


def test_the_attendance_sheet_says_a_late_record_was_put_right(runtime, chat, clock, bureau):
    """The activity sheet, printed as the paper 台账: 出席 beside a check-in time past the
    late line would look forged; it reads 出席（迟到已更正）."""
    from bot.web import pages
    from storage.models import Activity

    theme_day(chat, clock)
    chat.say("sec", "更正 张三 出席 会议推迟到9:05开始")
    with Session(runtime.engine) as s:
        activity = s.exec(select(Activity)).one()
        sheet = pages.activity_page(s, activity=activity, settings=runtime.settings,
                                    now=runtime.clock.now())
        status = {r["name"]: r["status"] for r in sheet["rows"]}
    assert (status["王书记"], status["张三"], status["李四"]) == ("出席", "出席（迟到已更正）", "迟到")


@pytest.mark.parametrize("said", ["到会", "到场", "参加", "参会", "出勤", "已到", "到了", "改为到会"])
def test_the_usual_words_for_having_been_there_read_as_present(
        runtime, chat, clock, bureau, djbot, said):  # noqa: F811
    """更正 张三 到会 …: the words 补签 reads for having been there (把张三改成到会) were
    refused by 更正 as no record it could become."""
    theme_day(chat, clock)
    reply = chat.say("sec", f"更正 张三 {said} 会议推迟到9:05开始")
    assert not reply.is_error, reply.text
    assert reply.text.startswith("已将 张三 在主题党日「学习新党章」（09:00）的记录由迟到更正为出席。"), \
        reply.text
    assert row_of(runtime.engine, "张三").status == "present"
    assert sum(points_of(runtime.engine, "张三")) == THEME_PRESENT
    assert weekly(djbot, "2026-W48", "城关支部")["points"] == 2 * THEME_PRESENT + THEME_LATE - 2

    every = chat.say("sec", f"更正 迟到 {said} 会议推迟开始")
    assert "1 条迟到记录更正为出席" in every.text and "更正的同志：李四" in every.text, every.text
    assert row_of(runtime.engine, "李四").status == "present"

    # One who did not come is still no 迟到 to restate: 补签 says they were there.
    before = record(runtime.engine)
    absent = chat.say("sec", f"更正 王五 {said} 会议推迟开始")
    assert absent.is_error and "补签 王五 原因" in absent.text, absent.text
    assert record(runtime.engine) == before


@pytest.mark.parametrize("reason", ["原定9:00，推迟到9:05开始", "会议9:05开始（原定9:00）",
                                    "原定9点，实际9点05分开始", "推迟到9:05，9:20到齐"])
def test_of_two_times_the_start_kept_is_read(runtime, chat, clock, bureau, djbot, reason):  # noqa: F811
    """原定19:30，推迟到19:45: the first time, the start told, was read and refused as no
    later start; the one said as the start kept is the one counted from."""
    theme_day(chat, clock)
    reply = chat.say("sec", f"更正 迟到 出席 {reason}", chat="g1")
    assert reply.text.startswith("已将主题党日「学习新党章」（09:00）的 1 条迟到记录更正为出席（按实际 09:05 "
                                 "开始计），积分已相应调整。1 条在 09:15 后签到，仍为迟到。"), reply.text
    assert (row_of(runtime.engine, "张三").status, row_of(runtime.engine, "李四").status) == \
        ("present", "late")
    assert sum(points_of(runtime.engine, "张三")) == THEME_PRESENT
    assert weekly(djbot, "2026-W48", "城关支部")["points"] == 2 * THEME_PRESENT + THEME_LATE - 2


def test_one_member_by_two_times_and_two_starts_said_are_asked_how_to_write(
        runtime, chat, clock, bureau):
    theme_day(chat, clock)
    one = chat.say("sec", "更正 张三 出席 原定9:00，推迟到9:05开始")
    assert "由迟到更正为出席" in one.text, one.text
    assert row_of(runtime.engine, "张三").status == "present"

    before = record(runtime.engine)
    reply = chat.say("sec", "更正 迟到 出席 9:05开始，9:15到齐")
    assert reply.is_error and reply.text == (
        "原因中有 09:05、09:15 几个时间，看不出哪个是实际开始时间，记录保持不变。"
        "请只写实际开始时间，或写明「推迟到19:45开始」。"), reply.text
    assert record(runtime.engine) == before
    assert row_of(runtime.engine, "李四").status == "late"


def test_a_real_start_said_while_the_meeting_runs_holds_for_check_ins_to_come(
        runtime, chat, clock, bureau, djbot):  # noqa: F811
    """更正 迟到 出席 会议推迟到9:05开始 at 09:13: 张三's 迟到 was put right, and 李四, who
    checked in at 09:14, was counted late again from the start told."""
    chat.say("sec", "开始 主题党日 学习新党章", chat="g1")
    chat.say("sec", "签到", chat="g1")
    clock.advance(minutes=12)
    assert "迟到" in chat.say("z3", "签到", chat="g1").text
    clock.advance(minutes=1)
    reply = chat.say("sec", "更正 迟到 出席 会议推迟到9:05开始", chat="g1")
    assert reply.text == ("已将主题党日「学习新党章」（09:00）的 1 条迟到记录更正为出席（按实际 09:05 开始计），"
                          "积分已相应调整。之后签到的也按实际 09:05 开始计，09:15 后签到记为迟到。"
                          "已私聊告知本人。"), reply.text
    # 开始 sent again says the line the 更正 moved, not the one from the start told.
    assert "按实际 09:05 开始计，09:15 后签到记为迟到" in chat.say("sec", "开始 主题党日", chat="g1").text
    clock.advance(minutes=1)
    assert chat.say("l4", "签到", chat="g1").text == \
        f"李四 签到成功：主题党日「学习新党章」（09:00），积分 {THEME_PRESENT:+d}。"
    clock.advance(minutes=6)  # 09:20: past the real start and the grace
    assert "签到成功（迟到）" in chat.say("w5", "签到", chat="g1").text
    assert [row_of(runtime.engine, n).status for n in ("张三", "李四", "王五")] == \
        ["present", "present", "late"]
    assert sum(points_of(runtime.engine, "李四")) == THEME_PRESENT
    chat.say("sec", "结束", chat="g1")
    assert weekly(djbot, "2026-W48", "城关支部")["points"] == 3 * THEME_PRESENT + THEME_LATE
    with Session(runtime.engine) as s:
        kept = s.exec(select(AuditEntry).where(AuditEntry.action == "activity.real_start")).one()
    assert (kept.actor, kept.detail["reason"]) == ("王书记", "会议推迟到9:05开始")
    # The sheet printed as the paper 台账: 出席 beside 09:14 says which start it counts from.
    assert _sheet(runtime)["李四"] == "出席（按实际 09:05 开始计）"


def _sheet(runtime) -> dict[str, str]:
    from bot.web import pages
    from storage.models import Activity

    with Session(runtime.engine) as s:
        activity = s.exec(select(Activity)).one()
        sheet = pages.activity_page(s, activity=activity, settings=runtime.settings,
                                    now=runtime.clock.now())
        return {r["name"]: r["status"] for r in sheet["rows"]}


def test_a_real_start_said_before_anyone_is_late_or_for_one_member_holds_too(
        runtime, chat, clock, bureau):
    chat.say("sec", "开始 主题党日 学习新党章", chat="g1")
    clock.advance(minutes=8)
    reply = chat.say("sec", "更正 迟到 出席 会议推迟到9:05开始")
    assert not reply.is_error and reply.text == (
        "主题党日「学习新党章」（09:00）没有可以更正为出席的迟到记录。"
        "之后签到的也按实际 09:05 开始计，09:15 后签到记为迟到。"), reply.text
    clock.advance(minutes=4)  # 09:12
    assert "签到成功：" in chat.say("z3", "签到", chat="g1").text
    assert row_of(runtime.engine, "张三").status == "present"

    # Said again of one member late past it: the later start said holds from then on.
    clock.advance(minutes=6)  # 09:18
    assert "签到成功（迟到）" in chat.say("l4", "签到", chat="g1").text
    one = chat.say("sec", "更正 李四 出席 会议推迟到9:10开始")
    assert one.text.splitlines()[-1] == "之后签到的也按实际 09:10 开始计，09:20 后签到记为迟到。", one.text
    assert row_of(runtime.engine, "李四").status == "present"
    clock.advance(minutes=1)  # 09:19
    assert "签到成功：" in chat.say("w5", "签到", chat="g1").text
    assert sum(points_of(runtime.engine, "王五")) == THEME_PRESENT


@pytest.mark.parametrize("reason", ["会议推迟到9点零5分开始", "会议推迟到九点零五开始", "会议9时05分才开始",
                                    "会议推迟五分钟开始", "推迟了五分钟", "晚了五分钟开始"])
def test_a_start_or_delay_said_in_words_is_read(runtime, chat, clock, bureau, djbot, reason):  # noqa: F811
    """9点零5分 was read as 9:00 and refused as no later start; 推迟五分钟 as no time, and
    李四, who checked in at 09:20, was put right as well."""
    theme_day(chat, clock)
    reply = chat.say("sec", f"更正 迟到 出席 {reason}", chat="g1")
    assert reply.text.startswith("已将主题党日「学习新党章」（09:00）的 1 条迟到记录更正为出席（按实际 09:05 "
                                 "开始计），积分已相应调整。1 条在 09:15 后签到，仍为迟到。"), reply.text
    assert (row_of(runtime.engine, "张三").status, row_of(runtime.engine, "李四").status) == \
        ("present", "late")
    assert weekly(djbot, "2026-W48", "城关支部")["points"] == 2 * THEME_PRESENT + THEME_LATE - 2


@pytest.mark.parametrize(("reason", "start"), [("推迟一刻钟", "09:15"), ("会议推迟半小时开始", "09:30"),
                                               ("会议推迟到九点一刻", "09:15")])
def test_a_quarter_or_half_hour_said_is_read(runtime, chat, clock, bureau, reason, start):
    theme_day(chat, clock)
    reply = chat.say("sec", f"更正 迟到 出席 {reason}", chat="g1")
    assert f"2 条迟到记录更正为出席（按实际 {start} 开始计）" in reply.text, reply.text


@pytest.mark.parametrize("who", ["全体", "全部", "所有人", "大家"])
def test_everyone_said_for_the_late_reads_every_late_record(runtime, chat, clock, bureau, who):
    """更正 全体 出席 会议推迟: was 「本支部没有找到「全体」」; only the 迟到 become 出席, as
    更正 迟到 出席 does (an absence is 补签's)."""
    theme_day(chat, clock)
    reply = chat.say("sec", f"更正 {who} 出席 会议推迟开始")
    assert reply.text.splitlines()[:2] == [
        "已将主题党日「学习新党章」（09:00）的 2 条迟到记录更正为出席，积分已相应调整。原因：会议推迟开始",
        "更正的同志：张三、李四"], reply.text
    assert [row_of(runtime.engine, n).status for n in ("张三", "李四")] == ["present", "present"]
    assert points_of(runtime.engine, "王五") == [-2]  # still absent
    before = record(runtime.engine)
    absent = chat.say("sec", f"更正 {who} 缺席 会议推迟开始")
    assert absent.is_error and f"本支部没有找到「{who}」" in absent.text, absent.text
    assert record(runtime.engine) == before


def test_leave_may_be_asked_until_a_check_in_would_be_late_from_the_real_start(
        runtime, chat, clock, bureau):
    """更正 迟到 出席 会议推迟到9:05开始 said at 09:08: a check-in at 09:12 counts present, but
    王五's 请假 then was refused as 「已经开始，不能再请假」, the line being the start told."""
    chat.say("sec", "开始 主题党日 学习新党章", chat="g1")
    clock.advance(minutes=8)
    assert not chat.say("sec", "更正 迟到 出席 会议推迟到9:05开始").is_error
    clock.advance(minutes=4)  # 09:12
    assert "09:15 后签到记为迟到，11:00 截止；不能参加请发送「请假 原因」。" in \
        chat.say("sec", "开始 主题党日", chat="g1").text
    reply = chat.say("w5", "请假 家中有事", chat="g1")
    assert not reply.is_error and "已经开始" not in reply.text, reply.text
    assert row_of(runtime.engine, "王五").status == "leave"
    clock.advance(minutes=4)  # 09:16: past the real start and the grace
    late = chat.say("l4", "请假 堵车", chat="g1")
    assert late.is_error and "已经开始，不能再请假" in late.text, late.text


def test_leave_may_be_taken_back_until_a_check_in_would_be_late_from_the_real_start(
        runtime, chat, clock, bureau):
    """王五 asked leave at 09:12, the start moved to 09:05 by a 更正, and could come after
    all at 09:14: 销假 said 「你现在没有可以销的假」, closed at 09:10 from the start told, and
    he stayed on leave for a meeting he came to."""
    chat.say("sec", "开始 主题党日 学习新党章", chat="g1")
    clock.advance(minutes=8)
    assert not chat.say("sec", "更正 迟到 出席 会议推迟到9:05开始").is_error
    clock.advance(minutes=4)  # 09:12
    assert not chat.say("w5", "请假 家中有事", chat="g1").is_error
    clock.advance(minutes=2)  # 09:14
    reply = chat.say("w5", "销假", chat="g1")
    assert reply.text.startswith("已销假。"), reply.text
    assert _rows_of(runtime, "王五") == []
    clock.advance(minutes=4)  # 09:18: past the real start and the grace
    assert chat.say("w5", "请假 家中有事", chat="g1").is_error
    assert _rows_of(runtime, "王五") == []


def _rows_of(runtime, name: str) -> list[str]:
    from storage.models import Attendance, Member

    with Session(runtime.engine) as s:
        return list(s.exec(select(Attendance.status).join(Member, Member.id == Attendance.member_id)
                           .where(Member.name == name)).all())


def test_leave_for_the_day_may_be_asked_until_a_check_in_would_be_late_from_the_real_start(
        runtime, chat, clock, bureau):
    """请假 今天至明天 at 09:12, the start moved to 09:05 by a 更正: the days' leave left the theme
    day out (「已经开始，不能再请假」), closed at 09:10 from the start told, as 请假 alone was."""
    chat.say("sec", "开始 主题党日 学习新党章", chat="g1")
    clock.advance(minutes=8)
    assert not chat.say("sec", "更正 迟到 出席 会议推迟到9:05开始").is_error
    clock.advance(minutes=4)  # 09:12
    reply = chat.say("w5", "请假 今天至明天 家中有事", chat="g1")
    assert not reply.is_error and "已经开始" not in reply.text, reply.text
    assert _rows_of(runtime, "王五") == ["leave"]
