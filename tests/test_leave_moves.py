"""Leave asked in one place by a member who moves before the activity is held.

李明 asks leave for 城关支部's night study, then the roster moves him to 二支部 before it
starts. That study no longer expects him: its 应到, 请假 and lists must not name him, its
confirmation must post nothing for him, and a request still queued to 城关支部's
secretary must not ask them to decide for someone no longer theirs. He hears once,
privately, that the leave is withdrawn. A leave period follows him: 二支部's study in it
is excused, and a period still waiting for a decision is asked of 二支部's secretary.
"""

from __future__ import annotations

from datetime import date

import pytest
from sqlmodel import Session, select

from bot import doctor
from bot.config import Settings
from bot.domain.rules import DEFAULT_RULES_PATH
from storage.models import (
    Activity,
    Attendance,
    AttendanceStatus,
    Branch,
    Member,
    Role,
    Schedule,
)
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

LEAVE_POINTS = 1  # a bureau whose rules give granted leave a point, so any posted shows


@pytest.fixture
def settings(db_url, tmp_path, request):
    """An hour's catch-up grace (the ticks step an hour), leave worth a point, and leave
    waiting for approval when the test asks for it (indirect parametrize)."""
    rules = tmp_path / "rules.toml"
    rules.write_text(DEFAULT_RULES_PATH.read_text(encoding="utf-8").replace(
        "leave = 0", f"leave = {LEAVE_POINTS}"), encoding="utf-8")
    return Settings(database_url=db_url, catchup_grace_minutes=60, rules_file=rules,
                    leave_requires_approval=getattr(request, "param", False), _env_file=None)


APPROVAL = pytest.mark.parametrize("settings", [True], indirect=True, ids=["approval"])


def bureau(runtime, clock, *, until=local(2026, 12, 7, 9, 30)) -> None:
    """城关支部 (g1): 王书记 (sec), 李明 (li), 张强 (zhang), night study 每周二、周四 19:30;
    二支部 (g2): 书记二 (sec2), night study 每周三 19:30. Monday 7 December: the
    scheduler has planned three days ahead (by 21:30, the studies of the 8th to 10th)."""
    night_studies(runtime, "每周二、周四 19:30", zhang=True)

    def second(session):
        two = make_branch(session, "二支部")
        bind_chat(session, two, "g2")
        make_member(session, two, "书记二", role=Role.SECRETARY, wecom="sec2")
        session.add(Schedule(branch_id=two.id, activity_type="政治夜学", rule="每周三 19:30",
                             duration_minutes=90, created_at=local(2026, 11, 1, 0, 0),
                             updated_at=local(2026, 11, 1, 0, 0)))
    seed(runtime.engine, second)
    clock.set(local(2026, 12, 7, 8, 30))
    run_ticks(runtime, clock, until)


def import_roster(djbot, tmp_path, *rows: str, full: bool = False) -> str:  # noqa: F811
    """`djbot import-roster` of these rows (支部,姓名,角色,企业微信ID,钉钉ID)."""
    path = tmp_path / "名册.csv"
    path.write_text("\n".join(["支部,姓名,角色,企业微信ID,钉钉ID", *rows]) + "\n",
                    encoding="utf-8")
    return djbot("import-roster", str(path), "--full" if full else "--partial")


def to(sent, user: str, kind: str | None = None) -> list[str]:
    return [text for _, k, target, text in sent if target == user and kind in (None, k)]


def check_in_at_half_past_seven(chat, *users: tuple[str, str]):
    """Each (user, group) checks in when a study starts (the ticks fall on the half hour)."""
    def before_tick(now):
        if now.astimezone(SHANGHAI).strftime("%H:%M") == "19:30":
            for user, group in users:
                chat.say(user, "签到", chat=group)
    return before_tick


MOVED = ("【请假已撤回】你已从城关支部调至二支部，政治夜学（12月8日 19:30）不再需要你参加，"
         "你对它的请假已撤回。")


def test_leave_for_the_old_branchs_study_is_withdrawn_and_its_figures_leave_him_out(
        runtime, chat, clock, djbot, tmp_path):  # noqa: F811 - the fixture imported above
    bureau(runtime, clock)
    clock.set(local(2026, 12, 7, 10, 0))
    assert chat.say("li", "请假 出差").text == "已请假：政治夜学（12月8日 19:30）。原因：出差"
    clock.set(local(2026, 12, 7, 15, 0))
    printed = import_roster(djbot, tmp_path, "二支部,李明,党员,li,")
    assert ("请假随调动调整 1 人（调动或停用后不再需要参加的活动，请假撤回；"
            "待批准的多日请假改由新支部审批；调回后又需要参加的，请假恢复）：") in printed, printed
    assert "李明（二支部）：政治夜学（12月8日 19:30）" in printed
    assert "已私信告知" in printed
    assert to(drain(runtime, clock), "li") == [MOVED]
    assert to(drain(runtime, clock), "li") == []  # once

    clock.set(local(2026, 12, 8, 18, 30))
    run_ticks(runtime, clock, local(2026, 12, 8, 21, 30),
              before_tick=check_in_at_half_past_seven(chat, ("sec", "g1")))
    # The secretary's lists and figures: 王书记 came, 张强 did not; 李明 is 二支部's.
    assert chat.say("sec", "未签到").text == "政治夜学（19:30）未签到 1 人：张强"
    assert "参与 1/2（50.0%）：出席 1、迟到 0、补签 0、请假 0、未到 1" in \
        chat.say("sec", "活动", chat="g1").text
    assert chat.say("sec", "确认缺席", chat="g1").text == \
        "已确认政治夜学（19:30）的出勤：参与 1/2（50.0%），缺席 1 人。"
    line = weekly(djbot, "2026-W50", "城关支部")
    assert (line["expected"], line["leave"], line["absent"], line["participation"],
            line["points"]) == (2, 0, 1, "1/2", 2 - 1)
    assert ledger_lines(chat, "li") == []  # no leave point from a branch he had left
    assert "积分流水无需修复" in djbot("repair-ledger")
    assert doctor.ledger_lines(runtime.settings, runtime.engine) == []


@APPROVAL
def test_a_request_queued_to_the_old_secretary_is_withdrawn_before_it_is_sent(
        runtime, chat, clock, djbot, tmp_path):  # noqa: F811 - the fixture imported above
    """Asked at night, the request waits for the morning; the move comes first. 王书记 is
    not asked, 李明 hears once at 07:30 (quiet hours), and the study reads 1 of 2: his
    undecided leave is not counted among those due (before, 1 of 3)."""
    bureau(runtime, clock)
    clock.set(local(2026, 12, 7, 23, 10))
    assert "等待书记批准" in chat.say("li", "请假 出差").text
    clock.set(local(2026, 12, 8, 6, 30))
    import_roster(djbot, tmp_path, "二支部,李明,党员,li,")
    assert drain(runtime, clock) == []  # quiet hours
    clock.set(local(2026, 12, 8, 7, 31))
    sent = drain(runtime, clock)
    assert to(sent, "sec") == []
    assert to(sent, "li") == [MOVED]

    clock.set(local(2026, 12, 8, 18, 30))
    run_ticks(runtime, clock, local(2026, 12, 8, 21, 30),
              before_tick=check_in_at_half_past_seven(chat, ("sec", "g1")))
    assert chat.say("sec", "确认缺席", chat="g1").text == \
        "已确认政治夜学（19:30）的出勤：参与 1/2（50.0%），缺席 1 人。"
    line = weekly(djbot, "2026-W50", "城关支部")
    assert (line["expected"], line["absent"], line["participation"]) == (2, 1, "1/2")


@APPROVAL
def test_a_leave_period_follows_him_to_the_new_branch(
        runtime, chat, clock, djbot, tmp_path):  # noqa: F811 - the fixture imported above
    """李明 asks leave from the 8th to the 10th, at night; he moves at 06:30. 城关支部's
    studies of the 8th and 10th no longer count him, 二支部's of the 9th is excused, and
    书记二, not 王书记, is asked to decide: approved, nobody counts him absent."""
    bureau(runtime, clock, until=local(2026, 12, 7, 21, 30))
    clock.set(local(2026, 12, 7, 23, 10))
    assert "已安排的 2 次" in chat.say("li", "请假 12月8日至12月10日 外出培训").text
    clock.set(local(2026, 12, 8, 6, 30))
    printed = import_roster(djbot, tmp_path, "二支部,李明,党员,li,")
    assert ("李明（二支部）：政治夜学（12月8日 19:30）、政治夜学（12月10日 19:30）；"
            "12月8日起的请假改由二支部审批") in printed, printed
    clock.set(local(2026, 12, 8, 7, 31))
    sent = drain(runtime, clock)
    assert to(sent, "sec") == []
    [asked] = to(sent, "sec2", "leave.ask")
    assert asked.startswith("【请假待批准】李明请假：12月8日至12月10日（3 天），原因：外出培训"
                            "（在城关支部时提交，现已调入）。"), asked
    assert to(sent, "li") == [
        "【请假改由新支部审批】你12月8日至12月10日（3 天）的请假改由二支部书记审批。"]

    approved = chat.say("sec2", "批准请假 李明")
    assert approved.text == ("已批准 李明 的请假：政治夜学（12月9日 19:30）。\n"
                             "12月8日至12月10日的活动（包括以后才安排的）都记为请假。")
    clock.set(local(2026, 12, 8, 8, 30))
    sent = run_ticks(runtime, clock, local(2026, 12, 11, 21, 30),
                     before_tick=check_in_at_half_past_seven(
                         chat, ("sec", "g1"), ("zhang", "g1"), ("sec2", "g2")))
    assert to(sent, "li", "nudge") == []
    assert to(sent, "sec", "leave.ask") == []
    one, two = weekly(djbot, "2026-W50", "城关支部"), weekly(djbot, "2026-W50", "二支部")
    assert (one["expected"], one["leave"], one["absent"], one["participation"]) == \
        (4, 0, 0, "4/4")
    assert (two["expected"], two["leave"], two["absent"], two["participation"]) == \
        (2, 1, 0, "1/1")
    assert ledger_lines(chat, "li") == ["12月9日 19:30 +1 政治夜学 请假"]


def test_leave_for_a_study_under_way_stays_where_it_was_asked(
        runtime, chat, clock, djbot, tmp_path):  # noqa: F811 - the fixture imported above
    """Moved while the study he asked leave for is being held: that record is 城关支部's,
    as it was (he was due there when it began), and he is told nothing."""
    bureau(runtime, clock)
    clock.set(local(2026, 12, 8, 19, 20))
    assert "已请假" in chat.say("li", "请假 值班", chat="g1").text
    clock.set(local(2026, 12, 8, 19, 45))
    assert "请假随调动调整" not in import_roster(djbot, tmp_path, "二支部,李明,党员,li,")
    assert to(drain(runtime, clock), "li") == []
    assert "请假 1" in chat.say("sec", "活动", chat="g1").text


def test_someone_made_inactive_loses_the_leave_they_asked_and_is_not_written_to(
        runtime, chat, clock, djbot, tmp_path):  # noqa: F811 - the fixture imported above
    bureau(runtime, clock)
    clock.set(local(2026, 12, 7, 10, 0))
    chat.say("li", "请假 出差")
    printed = import_roster(djbot, tmp_path, "城关支部,王书记,书记,sec,",
                            "城关支部,张强,党员,zhang,", "二支部,书记二,书记,sec2,", full=True)
    assert "李明（停用）：政治夜学（12月8日 19:30）" in printed, printed
    assert to(drain(runtime, clock), "li") == []
    with Session(runtime.engine) as s:
        li = s.exec(select(Member).where(Member.name == "李明")).one()
        rows = s.exec(select(Attendance).where(Attendance.member_id == li.id)).all()
        assert [row.status for row in rows] == [AttendanceStatus.WITHDRAWN]  # counted nowhere


def test_a_new_role_withdraws_leave_for_a_committee_meeting_no_longer_his(runtime, chat, clock):
    """张强 is a 委员 and asks leave for Thursday's 支委会; the admin makes him a 党员
    again on Tuesday. The meeting expects the secretary alone, and 张强 hears it."""
    from storage import attendance

    def scene(session):
        branch = make_branch(session, "城关支部")
        bind_chat(session, branch, "g1")
        make_member(session, branch, "王书记", role=Role.SECRETARY, wecom="sec")
        make_member(session, branch, "张强", role=Role.COMMITTEE, wecom="zhang")
        make_member(session, None, "管理员", role=Role.ADMIN, wecom="admin")
        attendance.open_activity(
            session, activity_type=attendance.ActivityType("支委会"), branch_id=branch.id,
            starts_at=local(2026, 12, 10, 14, 0), now=clock.now(), opens_minutes_before=30,
            tz=SHANGHAI)
    seed(runtime.engine, scene)
    assert "已请假：支委会（12月10日 14:00）" in chat.say("zhang", "请假 出差").text
    reply = chat.say("admin", "设置角色 张强 党员")
    assert reply.text == ("已将 张强 的角色从委员改为党员。张强请过假的 1 次活动不再需要其参加，"
                          "请假已撤回，已私信告知本人。注意：下次导入名册时以名册为准。")
    assert to(drain(runtime, clock), "zhang") == [
        "【请假已撤回】你的角色已改为党员，支委会（12月10日 14:00）不再需要你参加，"
        "你对它的请假已撤回。"]
    clock.set(local(2026, 12, 10, 14, 5))
    assert "参与 0/1（0.0%）：出席 0、迟到 0、补签 0、请假 0、未到 1" in \
        chat.say("sec", "活动", chat="g1").text


def test_a_temporary_branch_ending_sends_him_home_without_its_leave(runtime, chat, clock):
    """李明 of 专案临时支部 (to end 31 December) asks leave for its study of 1 December,
    which the scheduler had planned ahead; then the roster brings its end forward to 30
    November. The branch ends in the night: he goes home to 城关支部, the leave goes, and
    he hears it when quiet hours end."""
    def scene(session):
        home = make_branch(session, "城关支部")
        temp = make_branch(session, "专案临时支部", temporary=True, ends_on=date(2026, 12, 31))
        bind_chat(session, temp, "gt")
        make_member(session, temp, "李明", wecom="li", return_branch_id=home.id)
        session.add(Schedule(branch_id=temp.id, activity_type="政治夜学", rule="每周二 19:30",
                             duration_minutes=90, created_at=local(2026, 11, 1, 0, 0),
                             updated_at=local(2026, 11, 1, 0, 0)))
    seed(runtime.engine, scene)
    clock.set(local(2026, 11, 29, 9, 30))
    run_ticks(runtime, clock, local(2026, 11, 29, 10, 30))
    assert chat.say("li", "请假 出差").text == "已请假：政治夜学（12月1日 19:30）。原因：出差"
    with Session(runtime.engine) as session:
        temp = session.exec(select(Branch).where(Branch.name == "专案临时支部")).one()
        temp.ends_on = date(2026, 11, 30)
        session.add(temp)
        session.commit()
    clock.set(local(2026, 11, 30, 23, 30))
    sent = run_ticks(runtime, clock, local(2026, 12, 1, 8, 30))
    assert [(at.strftime("%H:%M"), text) for at, _, target, text in sent if target == "li"] == [
        ("07:30", "【请假已撤回】你已从专案临时支部调至城关支部，政治夜学（12月1日 19:30）"
                  "不再需要你参加，你对它的请假已撤回。")]


def test_a_temporary_branch_ending_sends_its_members_home_as_they_were(runtime, clock):
    """Members went home from an ended 临时党支部 with the role they held in it: its 书记
    came back 书记 of 城关 (its branch page, its 补签 and 更正). 委员 of 城关 before, made 书记
    of the temporary branch, goes back 委员 in his party group; one with no earlier place
    kept goes back an ordinary member; a 领导 stays one."""
    from storage import moves
    from storage.models import Member, PartyGroup, Role
    from storage.temporary import end_due
    from tests.conftest import SHANGHAI

    def scene(session):
        home = make_branch(session, "城关支部")
        group = PartyGroup(branch_id=home.id, name="第一党小组")
        session.add(group)
        session.flush()
        temp = make_branch(session, "专案临时支部", temporary=True, ends_on=date(2026, 11, 24))
        wang = make_member(session, home, "王委员", role=Role.COMMITTEE)
        wang.party_group_id = group.id
        moves.change(session, member=wang, now=local(2026, 10, 1, 9, 0), tz=SHANGHAI,
                     branch_id=temp.id, party_group_id=None, role=Role.SECRETARY)
        wang.return_branch_id = home.id
        make_member(session, temp, "李书记", role=Role.SECRETARY, return_branch_id=home.id)
        make_member(session, temp, "赵领导", role=Role.LEADER, return_branch_id=home.id)
        return group.id

    group_id = seed(runtime.engine, scene)
    with Session(runtime.engine) as session:
        end_due(session, today=date(2026, 11, 25), now=local(2026, 11, 25, 0, 5), tz=SHANGHAI)
        session.commit()
        back = {m.name: (m.role, m.party_group_id) for m in session.exec(select(Member))}
    assert back == {"王委员": (Role.COMMITTEE, group_id), "李书记": (Role.MEMBER, None),
                    "赵领导": (Role.LEADER, None)}


def test_a_temporary_branch_is_told_of_nothing_after_its_end_date(runtime, clock):
    """专案临时支部 ends on Tuesday 24 November; its night study is on Wednesdays. The
    scheduler planned the study of the 25th all the same, so on the 24th its secretary was
    told 【明日活动】 of a study that the branch's end took away at midnight."""
    def scene(session):
        temp = make_branch(session, "专案临时支部", temporary=True, ends_on=date(2026, 11, 24))
        bind_chat(session, temp, "gt")
        make_member(session, temp, "书记", role=Role.SECRETARY, wecom="sec")
        make_member(session, temp, "李明", wecom="li")
        session.add(Schedule(branch_id=temp.id, activity_type="政治夜学", rule="每周三 19:30",
                             duration_minutes=90, created_at=local(2026, 11, 1, 0, 0),
                             updated_at=local(2026, 11, 1, 0, 0)))
    seed(runtime.engine, scene)
    clock.set(local(2026, 11, 23, 8, 0))
    sent = run_ticks(runtime, clock, local(2026, 11, 25, 21, 0))
    assert [(kind, target) for _, kind, target, text in sent if "政治夜学" in text] == []
    with Session(runtime.engine) as session:
        assert session.exec(select(Activity)).all() == []


def test_leave_a_correction_made_of_a_check_in_stays_with_its_ledger_lines(
        runtime, chat, clock, djbot, tmp_path):  # noqa: F811 - the fixture imported above
    """李明 checks in early; 王书记 corrects it to leave; he moves before the start. The
    record keeps the lines that name it (its check-in's +2 and their reversal): it is not
    withdrawn, and `djbot repair-ledger` finds nothing."""
    bureau(runtime, clock)
    clock.set(local(2026, 12, 8, 19, 5))
    assert "签到成功" in chat.say("li", "签到", chat="g1").text
    assert not chat.say("sec", "更正 李明 请假 临时出警").is_error
    drain(runtime, clock)
    clock.set(local(2026, 12, 8, 19, 10))
    assert "请假随调动调整" not in import_roster(djbot, tmp_path, "二支部,李明,党员,li,")
    assert to(drain(runtime, clock), "li") == []
    assert "积分流水无需修复" in djbot("repair-ledger")
    assert sum(1 for line in ledger_lines(chat, "li") if "已冲销" in line) == 1


def test_leaving_the_party_committee_withdraws_leave_for_its_central_study(
        runtime, chat, clock, djbot):  # noqa: F811 - the fixture imported above
    """钱政委 asks leave for Thursday's 中心组学习, then `djbot committee remove` takes him
    off the 党委委员 list: the study expects 赵局长 alone, and the command says so."""
    from storage import attendance

    def scene(session):
        bind_chat(session, None, "leaders", leaders=True)
        make_member(session, None, "赵局长", role=Role.LEADER, wecom="boss", bureau_committee=True)
        make_member(session, None, "钱政委", role=Role.LEADER, wecom="qian", bureau_committee=True)
        attendance.open_activity(
            session, activity_type=attendance.ActivityType("理论学习中心组"), branch_id=None,
            starts_at=local(2026, 11, 26, 9, 0), now=clock.now(), opens_minutes_before=30,
            tz=SHANGHAI)
    seed(runtime.engine, scene)
    assert "已请假" in chat.say("qian", "请假 出差").text
    printed = djbot("committee", "remove", "钱政委")
    assert ("已撤回 钱政委 对理论学习中心组（11月26日 09:00）的请假（不再需要其参加），"
            "已私信告知本人。") in printed, printed
    assert to(drain(runtime, clock), "qian") == [
        "【请假已撤回】你已不是党委委员，理论学习中心组（11月26日 09:00）不再需要你参加，"
        "你对它的请假已撤回。"]
    clock.set(local(2026, 11, 26, 9, 5))
    assert "请假 0、未到 1" in chat.say("boss", "活动", chat="leaders").text


@APPROVAL
def test_the_old_secretary_deciding_after_the_move_is_told_where_he_went(
        runtime, chat, clock, djbot, tmp_path):  # noqa: F811 - the fixture imported above
    """王书记 was asked at 10:00 and answers after the move: the request was his when it
    came, so rather than 「本支部没有找到「李明」」 he is told where 李明 went and who
    decides now, and nothing changes."""
    bureau(runtime, clock)
    clock.set(local(2026, 12, 7, 10, 0))
    assert "等待书记批准" in chat.say("li", "请假 出差").text
    clock.set(local(2026, 12, 7, 15, 0))
    import_roster(djbot, tmp_path, "二支部,李明,党员,li,")
    for said in ("批准请假 李明", "驳回请假 李明"):
        reply = chat.say("sec", said, chat="g1")
        assert reply.is_error and reply.text == (
            f"李明 12月7日已调至二支部，不再由本支部办理「{said.split()[0]}」，记录保持不变。"
            "请假由其现在所在支部审批。"), reply.text
    assert "本支部没有找到「王麻子」" in chat.say("sec", "批准请假 王麻子", chat="g1").text
    with Session(runtime.engine) as session:
        li = session.exec(select(Member).where(Member.name == "李明")).one()
        rows = session.exec(select(Attendance).where(Attendance.member_id == li.id)).all()
        assert [row.status for row in rows] == [AttendanceStatus.WITHDRAWN]  # counted nowhere


BACK = "【请假已恢复】你已调回城关支部，你对政治夜学（12月8日 19:30）的请假仍然有效。"


def test_moved_and_moved_back_his_leave_stands_again(
        runtime, chat, clock, djbot, tmp_path):  # noqa: F811 - the fixture imported above
    """A roster imported by mistake moves 李明 to 二支部; ten minutes later the right one
    puts him back. His leave for 城关支部's study stands again: he hears so, is not
    nudged, is counted on leave, and earns its point, not an absence's penalty."""
    bureau(runtime, clock)
    clock.set(local(2026, 12, 7, 10, 0))
    assert chat.say("li", "请假 出差").text == "已请假：政治夜学（12月8日 19:30）。原因：出差"
    clock.set(local(2026, 12, 7, 15, 0))
    import_roster(djbot, tmp_path, "二支部,李明,党员,li,")
    assert to(drain(runtime, clock), "li") == [MOVED]
    clock.set(local(2026, 12, 7, 15, 10))
    printed = import_roster(djbot, tmp_path, "城关支部,李明,党员,li,")
    assert "李明（城关支部）：请假恢复：政治夜学（12月8日 19:30）" in printed, printed
    assert to(drain(runtime, clock), "li") == [BACK]
    assert chat.say("li", "请假 出差").text == "你已经请过假了：政治夜学（12月8日 19:30）。"

    clock.set(local(2026, 12, 8, 18, 30))
    sent = run_ticks(runtime, clock, local(2026, 12, 8, 21, 30),
                     before_tick=check_in_at_half_past_seven(chat, ("sec", "g1")))
    assert to(sent, "li", "nudge") == []
    assert chat.say("sec", "未签到").text == "政治夜学（19:30）未签到 1 人：张强\n已请假 1 人：李明"
    assert "出席 1、迟到 0、补签 0、请假 1、未到 1" in chat.say("sec", "活动", chat="g1").text
    assert chat.say("sec", "确认缺席", chat="g1").text.endswith("缺席 1 人。")
    line = weekly(djbot, "2026-W50", "城关支部")
    assert (line["expected"], line["leave"], line["absent"]) == (3, 1, 1)
    assert ledger_lines(chat, "li") == ["12月8日 19:30 +1 政治夜学 请假"]
    assert "积分流水无需修复" in djbot("repair-ledger")
    assert doctor.ledger_lines(runtime.settings, runtime.engine) == []


def test_moved_and_back_at_night_he_hears_nothing_of_it(
        runtime, chat, clock, djbot, tmp_path):  # noqa: F811 - the fixture imported above
    """Both imports come in quiet hours: the withdrawal he was to hear at 07:30 is no longer
    so, and he hears nothing rather than a withdrawal and its undoing."""
    bureau(runtime, clock)
    clock.set(local(2026, 12, 7, 21, 0))
    assert "已请假" in chat.say("li", "请假 出差").text
    clock.set(local(2026, 12, 7, 23, 0))
    import_roster(djbot, tmp_path, "二支部,李明,党员,li,")
    clock.set(local(2026, 12, 7, 23, 10))
    import_roster(djbot, tmp_path, "城关支部,李明,党员,li,")
    clock.set(local(2026, 12, 8, 7, 31))
    assert to(drain(runtime, clock), "li") == []
    clock.set(local(2026, 12, 8, 19, 35))
    assert chat.say("sec", "未签到").text.endswith("已请假 1 人：李明")


@APPROVAL
def test_moved_back_his_leave_waiting_for_approval_is_asked_again(
        runtime, chat, clock, djbot, tmp_path):  # noqa: F811 - the fixture imported above
    """The request 王书记 had was withdrawn with the move; back, he is asked again, and
    his 批准请假 grants it."""
    bureau(runtime, clock)
    clock.set(local(2026, 12, 7, 10, 0))
    assert "等待书记批准" in chat.say("li", "请假 出差").text
    drain(runtime, clock)
    clock.set(local(2026, 12, 7, 15, 0))
    import_roster(djbot, tmp_path, "二支部,李明,党员,li,")
    drain(runtime, clock)
    clock.set(local(2026, 12, 7, 15, 10))
    import_roster(djbot, tmp_path, "城关支部,李明,党员,li,")
    sent = drain(runtime, clock)
    assert to(sent, "li") == ["【请假已恢复】你已调回城关支部，"
                              "你对政治夜学（12月8日 19:30）的请假仍在等待批准。"]
    [asked] = to(sent, "sec", "leave.ask")
    assert asked.startswith("【请假待批准】李明请假：政治夜学（12月8日 19:30）"), asked
    assert chat.say("sec", "批准请假 李明", chat="g1").text.startswith(
        "已批准 李明 的请假：政治夜学（12月8日 19:30）")


def test_back_after_the_study_began_he_checks_in_and_is_counted_present(
        runtime, chat, clock, djbot, tmp_path):  # noqa: F811 - the fixture imported above
    """Put back once the study has begun, his leave stays withdrawn (it could no longer be
    asked); he comes, and 签到 counts him present, over the withdrawn record."""
    bureau(runtime, clock)
    clock.set(local(2026, 12, 7, 10, 0))
    chat.say("li", "请假 出差")
    clock.set(local(2026, 12, 7, 15, 0))
    import_roster(djbot, tmp_path, "二支部,李明,党员,li,")
    clock.set(local(2026, 12, 8, 19, 31))
    import_roster(djbot, tmp_path, "城关支部,李明,党员,li,")
    assert "签到成功" in chat.say("li", "签到", chat="g1").text
    assert "已签到" in chat.say("li", "签到", chat="g1").text
    assert "出席 1、迟到 0、补签 0、请假 0" in chat.say("sec", "活动", chat="g1").text
    assert "积分流水无需修复" in djbot("repair-ledger")


@APPROVAL
def test_a_period_follows_him_there_and_back_and_there_again(
        runtime, chat, clock, djbot, tmp_path):  # noqa: F811 - the fixture imported above
    """Moved to 二支部, back, and to 二支部 again, each time before anyone decided: each time
    the branch he is in is asked, the third time too, as he is told."""
    bureau(runtime, clock)
    clock.set(local(2026, 12, 7, 10, 0))
    assert "等待书记批准" in chat.say("li", "请假 12月8日至12月10日 外出培训").text
    drain(runtime, clock)
    asked = []
    for minute, branch in ((0, "二支部"), (10, "城关支部"), (20, "二支部")):
        clock.set(local(2026, 12, 7, 15, minute))
        import_roster(djbot, tmp_path, f"{branch},李明,党员,li,")
        sent = drain(runtime, clock)
        asked.append((len(to(sent, "sec", "leave.ask")), len(to(sent, "sec2", "leave.ask")),
                      to(sent, "li")))
    told = "【请假改由新支部审批】你12月8日至12月10日（3 天）的请假改由{}书记审批。"
    assert asked == [(0, 1, [told.format("二支部")]), (1, 0, [told.format("城关支部")]),
                     (0, 1, [told.format("二支部")])]


@APPROVAL
def test_leave_turned_down_is_not_said_to_be_withdrawn(
        runtime, chat, clock, djbot, tmp_path):  # noqa: F811 - the fixture imported above
    """王书记 turned 李明's leave down; moved, he need not come, and is told just that."""
    bureau(runtime, clock)
    clock.set(local(2026, 12, 7, 10, 0))
    chat.say("li", "请假 出差")
    assert not chat.say("sec", "驳回请假 李明", chat="g1").is_error
    drain(runtime, clock)
    clock.set(local(2026, 12, 7, 15, 0))
    import_roster(djbot, tmp_path, "二支部,李明,党员,li,")
    assert to(drain(runtime, clock), "li") == [
        "【活动安排变更】你已从城关支部调至二支部，政治夜学（12月8日 19:30）不再需要你参加。"]


def test_left_off_a_roster_by_mistake_and_put_back_his_leave_stands_again(
        runtime, chat, clock, djbot, tmp_path):  # noqa: F811 - the fixture imported above
    """A full import of a file that missed 李明 makes him inactive and withdraws his leave;
    ten minutes later the right file lists him again, as he was. His leave stands again,
    as it does for a move put right: he is not counted absent for leave he asked in time."""
    bureau(runtime, clock)
    clock.set(local(2026, 12, 7, 10, 0))
    assert "已请假" in chat.say("li", "请假 出差").text
    others = ("城关支部,王书记,书记,sec,", "城关支部,张强,党员,zhang,", "二支部,书记二,书记,sec2,")
    clock.set(local(2026, 12, 7, 15, 0))
    assert "李明（停用）" in import_roster(djbot, tmp_path, *others, full=True)
    clock.set(local(2026, 12, 7, 15, 10))
    printed = import_roster(djbot, tmp_path, *others, "城关支部,李明,党员,li,", full=True)
    assert "李明（城关支部）：请假恢复：政治夜学（12月8日 19:30）" in printed, printed
    clock.set(local(2026, 12, 8, 19, 35))
    assert chat.say("sec", "未签到").text.endswith("已请假 1 人：李明")
