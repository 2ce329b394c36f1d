"""Issue 10's situations, one test each, as a user meets them: what the chat says, then the
figures in `djbot report … --json` and each member's 积分明细 afterwards."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import pytest
from sqlmodel import Session, select
from typer.testing import CliRunner

import bot.cli
from bot.config import Settings
from bot.outbox import OutboxWorker
from bot.scheduling.holidays import HolidayCalendar
from bot.scheduling.tick import Ticker
from bot.sender import Outbound, SendResult
from storage.models import (
    Activity,
    AuditEntry,
    Branch,
    LeavePeriod,
    Member,
    OutboxMessage,
    PartyGroup,
    ResearchVisit,
    Role,
    Schedule,
)
from tests.conftest import SHANGHAI, local
from tests.factories import bind_chat, make_branch, make_group, make_member, seed


@pytest.fixture
def settings(db_url):
    # An hour's catch-up grace lets the simulations below step an hour at a time (twice
    # as fast); reminders are then sent up to an hour late, which these tests allow for.
    return Settings(database_url=db_url, catchup_grace_minutes=60, _env_file=None)


@pytest.fixture
def djbot(runtime, monkeypatch):
    """`djbot …` in-process on the test's database and clock; returns its output."""
    monkeypatch.setattr(bot.cli, "get_runtime", lambda *a, **k: runtime)
    runner = CliRunner()

    def run(*args: str) -> str:
        result = runner.invoke(bot.cli.app, list(args))
        assert result.exit_code == 0, result.output
        return result.output

    return run


def weekly(djbot, week: str, branch: str) -> dict | None:
    report = json.loads(djbot("report", "weekly", "--week", week, "--json"))
    return next((b for b in report["branches"] if b["name"] == branch), None)


def ledger_lines(chat, user: str) -> list[str]:
    """积分明细's lines, without its heading and the total said under folded lines."""
    return [line for line in chat.say(user, "积分明细").text.splitlines()[1:]
            if not line.startswith("以上 ")]


class Recorder:
    def __init__(self, clock) -> None:
        self.clock, self.sent = clock, []

    async def send(self, message: Outbound) -> SendResult:
        self.sent.append((self.clock.now().astimezone(SHANGHAI), message.kind, message.target,
                          message.payload["text"]))
        return SendResult.sent()


def run_ticks(runtime, clock, end, *, step=timedelta(minutes=60), before_tick=None):
    """The scheduler and the outbox worker, the clock moved by hand; returns what was sent."""
    recorder = Recorder(clock)
    ticker = Ticker(runtime.engine, runtime.settings, clock, runtime.rules,
                    calendar=HolidayCalendar())
    worker = OutboxWorker(runtime.engine, clock, {"wecom": recorder})
    ticker.last = clock.now()
    loop = asyncio.new_event_loop()
    try:
        while clock.now() < end:
            clock.advance(step)
            if before_tick:
                before_tick(clock.now())
            ticker.tick()
            loop.run_until_complete(worker.drain())
    finally:
        loop.close()
    return recorder.sent


def drain(runtime, clock):
    recorder = Recorder(clock)
    worker = OutboxWorker(runtime.engine, clock, {"wecom": recorder})
    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(worker.drain())
    finally:
        loop.close()
    return recorder.sent


def night_studies(runtime, rule: str, *, zhang: bool = False) -> None:
    """城关支部 (its group g1) with 王书记 (sec), 李明 (li) and, if asked, 张强 (zhang); a
    政治夜学 schedule by `rule`."""
    def scene(session):
        branch = make_branch(session, "城关支部")
        bind_chat(session, branch, "g1")
        make_member(session, branch, "王书记", role=Role.SECRETARY, wecom="sec")
        make_member(session, branch, "李明", wecom="li")
        if zhang:
            make_member(session, branch, "张强", wecom="zhang")
        session.add(Schedule(branch_id=branch.id, activity_type="政治夜学", rule=rule,
                             duration_minutes=90, created_at=local(2026, 11, 1, 0, 0),
                             updated_at=local(2026, 11, 1, 0, 0)))
    seed(runtime.engine, scene)


# --- who is expected -----------------------------------------------------------------


def test_a_branch_committee_meeting_expects_only_the_three_on_the_committee(runtime, chat, djbot, clock):
    def scene(session):
        branch = make_branch(session, "城关支部")
        bind_chat(session, branch, "g1")
        make_member(session, branch, "王书记", role=Role.SECRETARY, wecom="sec")
        make_member(session, branch, "李委员", role=Role.COMMITTEE, wecom="c1")
        make_member(session, branch, "赵委员", role=Role.COMMITTEE, wecom="c2")
        for i in range(7):
            make_member(session, branch, f"党员{i}", wecom=f"m{i}")
    seed(runtime.engine, scene)

    opened = chat.say("sec", "开始 支委会 研究发展党员", chat="g1").text
    assert "应到：支部委员会（书记、委员） 3 人" in opened
    assert "签到成功" in chat.say("sec", "签到", chat="g1").text
    assert "签到成功" in chat.say("c1", "签到", chat="g1").text
    assert "不需要你参加" in chat.say("m0", "签到", chat="g1").text
    assert "未签到 1 人：赵委员" in chat.say("sec", "未签到").text
    chat.say("sec", "结束", chat="g1")
    assert "缺席 1 人" in chat.say("sec", "确认缺席", chat="g1").text

    line = weekly(djbot, "2026-W48", "城关支部")
    assert (line["expected"], line["attended"], line["absent"], line["participation"]) == (3, 2, 1, "2/3")
    assert ledger_lines(chat, "m0") == []  # the 7 not on the committee lose nothing
    assert any("-1" in x and "支委会「研究发展党员」缺席" in x for x in ledger_lines(chat, "c2"))
    assert any("+2" in x and "支委会「研究发展党员」出席" in x for x in ledger_lines(chat, "c1"))


def test_a_scheduled_party_group_meeting_expects_and_nudges_only_that_group(runtime, chat, clock):
    def scene(session):
        branch = make_branch(session, "城关支部")
        bind_chat(session, branch, "g1")
        first, second = make_group(session, branch, "第一党小组"), make_group(session, branch, "第二党小组")
        make_member(session, branch, "王书记", role=Role.SECRETARY, wecom="sec", party_group_id=first.id)
        for i in range(3):
            make_member(session, branch, f"一组{i}", wecom=f"a{i}", party_group_id=first.id)
        for i in range(5):
            make_member(session, branch, f"二组{i}", wecom=f"b{i}", party_group_id=second.id)
    seed(runtime.engine, scene)
    refused = chat.say("sec", "设置 党小组会 每周三 19:30", chat="g1")
    assert refused.is_error and "哪个党小组" in refused.text
    assert "已设置 城关支部 党小组会·第一党小组" in chat.say(
        "sec", "设置 党小组会 第一党小组 每周三 19:30", chat="g1").text
    sent = run_ticks(runtime, clock, local(2026, 11, 26, 22, 0))  # absences confirmed by then
    nudged = sorted(target for _, kind, target, _ in sent if kind == "nudge")
    assert nudged == ["a0", "a1", "a2", "sec"]  # nobody checked in; 第二党小组 is not expected
    with Session(runtime.engine) as session:
        [meeting] = session.exec(select(Activity)).all()
        group = session.exec(select(PartyGroup).where(PartyGroup.name == "第一党小组")).one()
        assert meeting.party_group_id == group.id and meeting.expected_count == 4


# --- the leaders' group opens a theme day ------------------------------------------------


def three_branches(session):
    for b, name in enumerate(["城关支部", "交警支部", "刑侦支部"]):
        branch = make_branch(session, name)
        bind_chat(session, branch, f"g{b}")
        make_member(session, branch, f"书记{b}", role=Role.SECRETARY, wecom=f"s{b}")
        for i in range(10):
            make_member(session, branch, f"党员{b}-{i}", wecom=f"u{b}{i}")
    make_member(session, None, "赵局长", role=Role.LEADER, wecom="boss", bureau_committee=True)
    bind_chat(session, None, "leaders", leaders=True)


def test_the_leaders_group_opening_a_theme_day_asks_first_then_tells_every_branch(
        runtime, chat, djbot, clock):
    seed(runtime.engine, three_branches)
    asked = chat.say("boss", "开始 主题党日 学习全会精神", chat="leaders").text
    assert "涉及 3 个支部共 34 人" in asked and "「确认」" in asked
    with Session(runtime.engine) as session:
        assert session.exec(select(Activity)).all() == []  # nothing before 确认
    clock.advance(timedelta(minutes=6))
    assert chat.say("boss", "确认", chat="leaders").is_error  # too late: asked again
    chat.say("boss", "开始 主题党日 学习全会精神", chat="leaders")
    opened = chat.say("boss", "确认", chat="leaders").text
    assert "应到：全局党员 34 人" in opened and "已通知 3 个支部群" in opened
    with Session(runtime.engine) as session:
        told = session.exec(select(OutboxMessage).where(OutboxMessage.kind == "activity.announce")).all()
        assert sorted(m.target for m in told) == ["g0", "g1", "g2"]
    delivered = drain(runtime, clock)
    assert sorted(target for _, kind, target, _ in delivered if kind == "activity.announce") == \
        ["g0", "g1", "g2"]
    for user in ("u00", "u01", "u10"):
        assert "签到成功" in chat.say(user, "签到", chat=f"g{user[1]}").text

    # It was a mistake: cancelled before anyone's figures moved.
    asked = chat.say("boss", "取消活动 应由各支部自行组织", chat="leaders").text
    assert "将取消主题党日" in asked and "已签到 3 人" in asked
    done = chat.say("boss", "确认", chat="leaders").text
    assert "已取消" in done and "合计 -9 分" in done
    # The check-in and its reversal: one line, saying what was reversed and why.
    assert ledger_lines(chat, "u00") == [
        "11月23日 09:06 ±0 主题党日「学习全会精神」已取消：原记 出席 +3，已全部冲销，不计分"
        "（赵局长取消活动：应由各支部自行组织）"]
    assert "本周：0 分" in chat.say("u00", "积分").text
    for branch in ("城关支部", "交警支部", "刑侦支部"):
        line = weekly(djbot, "2026-W48", branch)
        assert (line["activities"], line["points"], line["absent"]) == (0, 0, 0)
    audit = djbot("audit", "--action", "activity.cancel")
    assert "赵局长" in audit and "应由各支部自行组织" in audit
    # The groups that were told of it hear that it is off.
    with Session(runtime.engine) as session:
        off = session.exec(select(OutboxMessage).where(OutboxMessage.kind == "activity.cancel")).all()
        assert sorted(m.target for m in off) == ["g0", "g1", "g2"]


def test_cancelling_a_scheduled_activity_withholds_its_reminders_not_yet_sent(
        runtime, chat, clock):
    def scene(session):
        branch = make_branch(session, "城关支部")
        bind_chat(session, branch, "g1")
        make_member(session, branch, "王书记", role=Role.SECRETARY, wecom="sec")
        make_member(session, branch, "党员0", wecom="m0")
    seed(runtime.engine, scene)
    clock.set(local(2026, 11, 1, 7, 30))
    chat.say("sec", "设置 夜学 每周二 19:30", chat="g1")
    sent = run_ticks(runtime, clock, local(2026, 11, 3, 19, 0), step=timedelta(minutes=30))
    assert [t for _, kind, t, _ in sent if kind == "reminder.group_before"] == ["g1"]
    ticker = Ticker(runtime.engine, runtime.settings, clock, runtime.rules,
                    calendar=HolidayCalendar())
    ticker.last = clock.now()
    clock.set(local(2026, 11, 3, 19, 30))
    ticker.tick()  # the start notice is queued, not yet delivered
    clock.advance(timedelta(minutes=1))
    assert "将取消政治夜学" in chat.say("sec", "取消活动 临时停电", chat="g1").text
    assert "已通知 1 个收到过活动通知的群" in chat.say("sec", "确认", chat="g1").text
    with Session(runtime.engine) as session:
        rows = {m.kind: m for m in session.exec(select(OutboxMessage)).all()}
    assert rows["reminder.start"].status == "withdrawn"
    assert rows["activity.cancel"].target == "g1"
    assert [kind for _, kind, _, _ in drain(runtime, clock)] == ["activity.cancel"]


@pytest.mark.parametrize("worker_lost", [False, True])
def test_a_reminder_under_way_when_cancelled_is_not_sent_again_if_its_send_fails(
        runtime, chat, clock, worker_lost):
    """取消活动 while a worker holds the start notice (sending): it counts as told, and the
    group hears the activity is off. If that send then fails (or its worker is lost), the
    notice is not tried again: a retry would announce, after 活动取消, an activity not held."""
    def scene(session):
        branch = make_branch(session, "城关支部")
        bind_chat(session, branch, "g1")
        make_member(session, branch, "王书记", role=Role.SECRETARY, wecom="sec")
        make_member(session, branch, "党员0", wecom="m0")
    seed(runtime.engine, scene)
    clock.set(local(2026, 11, 1, 7, 30))
    chat.say("sec", "设置 夜学 每周二 19:30", chat="g1")
    run_ticks(runtime, clock, local(2026, 11, 3, 19, 0), step=timedelta(minutes=30))
    ticker = Ticker(runtime.engine, runtime.settings, clock, runtime.rules,
                    calendar=HolidayCalendar())
    ticker.last = clock.now()
    clock.set(local(2026, 11, 3, 19, 30))
    ticker.tick()
    worker = OutboxWorker(runtime.engine, clock, {"wecom": Recorder(clock)}, worker_id="w1")
    [notice] = worker.claim()  # the start notice is on its way…
    assert notice.kind == "reminder.start"
    clock.advance(timedelta(minutes=1))
    assert "将取消政治夜学" in chat.say("sec", "取消活动 临时停电", chat="g1").text
    assert "已通知 1 个收到过活动通知的群" in chat.say("sec", "确认", chat="g1").text
    if worker_lost:
        clock.advance(timedelta(minutes=10))
    else:  # …and the platform does not take it
        assert worker.record(notice.id, SendResult.failed("timeout", retryable=True)) \
            == "withdrawn"
    later = [kind for _, kind, _, _ in run_ticks(runtime, clock, local(2026, 11, 4, 9, 0))]
    assert later == ["activity.cancel"]
    with Session(runtime.engine) as session:
        row = session.get(OutboxMessage, notice.id)
    assert (row.status, row.last_error) == ("withdrawn", "活动已取消")


def test_a_branch_emptied_by_a_restructuring_is_closed_and_leaves_the_figures(
        runtime, chat, clock, djbot, tmp_path):
    """老城支部's people moved to 城关支部 by the roster: it stayed open, its night study
    reminded a group nobody reads, and 周报 listed it (活动 1 次 · 参与 0/0, 年度调研未达标)
    with no way to close it. The import now says so, and `djbot branch close` closes it:
    refused while anyone is on its roster, then nothing more planned or sent, out of 周报."""
    def scene(session):
        one, two = make_branch(session, "城关支部"), make_branch(session, "老城支部")
        bind_chat(session, one, "g1")
        bind_chat(session, two, "g2")
        bind_chat(session, None, "lg", leaders=True)
        make_member(session, None, "赵领导", role=Role.LEADER, wecom="lead")
        make_member(session, one, "王书记", role=Role.SECRETARY, wecom="sec")
        make_member(session, two, "李书记", role=Role.SECRETARY, wecom="sec2")
    seed(runtime.engine, scene)
    clock.set(local(2026, 11, 1, 9, 0))
    chat.say("sec2", "设置 夜学 每周二 19:30", chat="g2")
    runner = CliRunner()
    refused = runner.invoke(bot.cli.app, ["branch", "close", "老城支部", "--yes"])
    assert refused.exit_code == 2 and "还有 1 名在册人员" in refused.output
    roster = tmp_path / "名册.csv"
    roster.write_text("支部,姓名,角色,企业微信ID,钉钉ID\n城关支部,王书记,书记,sec,\n"
                      "城关支部,李书记,委员,sec2,\n,赵领导,领导,lead,\n", encoding="utf-8")
    imported = djbot("import-roster", str(roster))
    assert "支部「老城支部」已没有在册人员" in imported and "djbot branch close 老城支部" in imported
    run_ticks(runtime, clock, local(2026, 11, 2, 9, 30))  # its study of the 3rd is made
    closed = djbot("branch", "close", "老城支部", "--yes")
    assert "已撤销支部「老城支部」" in closed and "已撤下已安排的 1 次活动" in closed, closed
    sent = run_ticks(runtime, clock, local(2026, 11, 24, 9, 30))
    assert not [s for s in sent if s[2] == "g2"]
    summary = chat.say("lead", "周报", chat="lg").text
    assert "老城支部" not in summary, summary
    assert "branch.close" in djbot("audit", "--action", "branch.close")
    again = runner.invoke(bot.cli.app, ["branch", "close", "老城支部", "--yes"])
    assert again.exit_code == 2 and "没有在用的支部「老城支部」" in again.output


def test_a_branch_closed_by_mistake_is_reopened_by_the_roster_and_it_is_on_record(
        runtime, chat, clock, djbot, tmp_path):
    """The restructuring that emptied 老城支部 was called off after it was closed: the
    roster that puts its people back reopens it, says so by name, and the audit trail
    has the reopening next to the closing; its night study is held and reminded again."""
    def scene(session):
        one, two = make_branch(session, "城关支部"), make_branch(session, "老城支部")
        bind_chat(session, one, "g1")
        bind_chat(session, two, "g2")
        make_member(session, None, "赵领导", role=Role.LEADER, wecom="lead")
        make_member(session, one, "王书记", role=Role.SECRETARY, wecom="sec")
        make_member(session, two, "李书记", role=Role.SECRETARY, wecom="sec2")
    seed(runtime.engine, scene)
    clock.set(local(2026, 11, 1, 9, 0))
    chat.say("sec2", "设置 夜学 每周二 19:30", chat="g2")
    header = "支部,姓名,角色,企业微信ID,钉钉ID\n"
    moved = tmp_path / "调整后.csv"
    moved.write_text(header + "城关支部,王书记,书记,sec,\n城关支部,李书记,委员,sec2,\n"
                     ",赵领导,领导,lead,\n", encoding="utf-8")
    djbot("import-roster", str(moved))
    assert "如撤销有误：在名册里把人员填回该支部后导入" in djbot("branch", "close", "老城支部", "--yes")
    clock.set(local(2026, 11, 2, 10, 0))
    back = tmp_path / "原名册.csv"
    back.write_text(header + "城关支部,王书记,书记,sec,\n老城支部,李书记,书记,sec2,\n"
                    ",赵领导,领导,lead,\n", encoding="utf-8")
    imported = djbot("import-roster", str(back))
    assert "重新启用支部：老城支部" in imported, imported
    trail = djbot("audit", "--action", "branch")
    assert "branch.reopen" in trail and "branch.close" in trail, trail
    sent = run_ticks(runtime, clock, local(2026, 11, 10, 20, 0))
    assert [s for s in sent if s[2] == "g2" and s[1] == "reminder.start"], sent


def test_a_branch_someone_in_a_temporary_branch_returns_to_is_not_closed_under_them(
        runtime, chat, clock, djbot, tmp_path):
    """老城支部's people moved to 城关支部, but 李明, away in 专项临时支部, still names it his
    原支部: closed, the task force's end on 11-30 would send him into a branch that holds
    nothing and is in no ranking, expected nowhere. The close is refused, naming him; a
    roster naming a closed branch as someone's 原支部 is refused too."""
    def scene(session):
        make_branch(session, "城关支部")
        make_branch(session, "老城支部")
        make_member(session, None, "赵领导", role=Role.LEADER, wecom="lead")
    seed(runtime.engine, scene)
    clock.set(local(2026, 11, 1, 9, 0))
    header = "支部,姓名,角色,企业微信ID,钉钉ID,临时,结束日期,原支部\n"
    roster = tmp_path / "名册.csv"
    roster.write_text(header + "城关支部,王书记,书记,sec,,,,\n"
                      "专项临时支部,李明,书记,lm,,是,2026-11-30,老城支部\n"
                      ",赵领导,领导,lead,,,,\n", encoding="utf-8")
    djbot("import-roster", str(roster))
    refused = CliRunner().invoke(bot.cli.app, ["branch", "close", "老城支部", "--yes"])
    assert refused.exit_code == 2 and "李明（专项临时支部）" in refused.output, refused.output
    with Session(runtime.engine) as session:
        assert session.exec(select(Branch).where(Branch.name == "老城支部")).one().active
    # Told where he goes back to, it can be closed; a file naming it after is refused.
    roster.write_text(roster.read_text(encoding="utf-8").replace(",老城支部", ",城关支部"),
                      encoding="utf-8")
    djbot("import-roster", str(roster))
    djbot("branch", "close", "老城支部", "--yes")
    roster.write_text(roster.read_text(encoding="utf-8").replace(",城关支部\n", ",老城支部\n"),
                      encoding="utf-8")
    again = CliRunner().invoke(bot.cli.app, ["import-roster", str(roster)])
    assert again.exit_code != 0 and "原支部「老城支部」已撤销" in again.output, again.output


def test_the_branch_someone_came_from_is_not_closed_under_them_without_a_return_column(
        runtime, chat, clock, djbot, tmp_path):
    """The template has no 原支部 column: 李明, moved from 老城支部 into 专项临时支部, goes
    back where he came from when it ends. 老城支部's other people moved away; the import
    called it empty (「请运行 djbot branch close」) and the close went through, so at the
    task force's end 李明 belonged to no branch, expected nowhere, nobody told. As with a
    原支部 named, it is not called empty and the close is refused, naming him."""
    def scene(session):
        make_member(session, None, "赵领导", role=Role.LEADER, wecom="lead")
    seed(runtime.engine, scene)
    clock.set(local(2026, 11, 1, 9, 0))
    header = "支部,姓名,角色,企业微信ID,钉钉ID,临时,结束日期\n"
    roster = tmp_path / "名册.csv"
    roster.write_text(header + "城关支部,王书记,书记,sec,,,\n老城支部,李书记,书记,sec2,,,\n"
                      "老城支部,李明,,lm,,,\n,赵领导,领导,lead,,,\n", encoding="utf-8")
    djbot("import-roster", str(roster))
    clock.set(local(2026, 11, 2, 9, 0))
    roster.write_text(header + "城关支部,王书记,书记,sec,,,\n城关支部,李书记,委员,sec2,,,\n"
                      "专项临时支部,李明,,lm,,是,2026-11-30\n,赵领导,领导,lead,,,\n",
                      encoding="utf-8")
    imported = djbot("import-roster", str(roster))
    assert "老城支部」已没有在册人员" not in imported, imported
    refused = CliRunner().invoke(bot.cli.app, ["branch", "close", "老城支部", "--yes"])
    assert refused.exit_code == 2 and "李明（专项临时支部）" in refused.output, refused.output
    with Session(runtime.engine) as session:
        assert session.exec(select(Branch).where(Branch.name == "老城支部")).one().active


# --- a schedule deleted mid-month -------------------------------------------------------------


def test_a_schedule_deleted_mid_month_stops_and_leaves_what_was_held(runtime, chat, djbot, clock):
    def scene(session):
        branch = make_branch(session, "城关支部")
        bind_chat(session, branch, "g1")
        make_member(session, branch, "王书记", role=Role.SECRETARY, wecom="sec")
        for i in range(4):
            make_member(session, branch, f"党员{i}", wecom=f"m{i}")
    seed(runtime.engine, scene)
    clock.set(local(2026, 11, 1, 7, 30))
    # A clear answer, not 看不懂「」.
    assert "删除日程 政治夜学" in chat.say("sec", "设置 政治夜学 取消", chat="g1").text

    chat.say("sec", "设置 夜学 每周二 19:30", chat="g1")

    def check_in(now):
        if now.astimezone(SHANGHAI).strftime("%a %H:%M") == "Tue 19:30":
            for user in ("sec", "m0", "m1", "m2"):
                chat.say(user, "签到", chat="g1")
    run_ticks(runtime, clock, local(2026, 11, 12, 9, 30), before_tick=check_in)
    # 11-17's night study already exists (created 3 days ahead once due); one asked leave.
    run_ticks(runtime, clock, local(2026, 11, 15, 9, 30))
    assert "已请假" in chat.say("m3", "请假 出差", chat="g1").text
    deleted = chat.say("sec", "删除日程 夜学", chat="g1").text
    assert "已删除城关支部的政治夜学日程" in deleted and "1 次" in deleted
    sent = run_ticks(runtime, clock, local(2026, 11, 25, 9, 30))
    # (The 三会一课 reminder is about meetings not yet planned, not the deleted schedule.)
    assert not [s for s in sent if s[1].startswith("reminder") and s[1] != "reminder.meetings"
                and s[0].day >= 16]
    with Session(runtime.engine) as session:
        held = session.exec(select(Activity).where(Activity.status != "cancelled")).all()
        assert sorted(a.starts_at.astimezone(SHANGHAI).day for a in held) == [3, 10]
        assert session.exec(select(Schedule)).one().active is False
    for week, expected in (("2026-W45", (1, 4, 1)), ("2026-W46", (1, 4, 1)), ("2026-W47", (0, 0, 0))):
        line = weekly(djbot, week, "城关支部")
        assert (line["activities"], line["attended"], line["absent"]) == expected, week
    assert [x.split()[2] for x in ledger_lines(chat, "m3")] == ["-1", "-1"]  # the two held
    assert "schedule.delete" in djbot("audit")


# --- a double 调研 withdrawn; dates honoured or refused --------------------------------------


def test_a_visit_sent_twice_is_asked_about_and_withdrawn(runtime, chat, djbot, clock):
    def scene(session):
        branch = make_branch(session, "城关支部")
        make_member(session, branch, "王书记", role=Role.SECRETARY, wecom="sec")
        make_member(session, None, "赵局长", role=Role.LEADER, wecom="boss")
    seed(runtime.engine, scene)
    first = chat.say("boss", "调研 城关支部 11月20日 发现问题 2 解决 1 值班室").text
    assert "11月20日" in first and "编号 1" in first
    again = chat.say("boss", "调研 城关支部 11月20日 发现问题 2 解决 1 值班室").text
    assert "已记录过" in again and "「确认」" in again
    assert "已记录调研（编号 2）" in chat.say("boss", "确认").text  # confirmed by mistake
    assert "已撤销调研记录（编号 2）" in chat.say("sec", "撤销调研 2 重复记录").text
    assert chat.say("sec", "撤销调研 2").is_error  # already withdrawn

    future = chat.say("boss", "调研 城关支部 12月20日 发现问题 1")
    assert future.is_error and "还没到" in future.text
    solved = chat.say("boss", "调研 城关支部 发现问题 2 解决 5")
    assert solved.is_error and "不能多于" in solved.text
    with Session(runtime.engine) as session:
        kept = session.exec(select(ResearchVisit).where(ResearchVisit.withdrawn_at.is_(None))).all()
        assert [(v.visited_on.isoformat(), v.problems_found) for v in kept] == [("2026-11-20", 2)]
    line = weekly(djbot, "2026-W47", "城关支部")
    assert line["visits"] == 1
    assert "共调研 1 次" in chat.say("boss", "调研记录").text
    assert ledger_lines(chat, "boss") == []  # visits earn no points; nothing to reverse
    assert "visit.withdraw" in djbot("audit")


def test_undo_ones_own_last_study(runtime, chat, clock):
    seed(runtime.engine, lambda s: make_member(s, make_branch(s, "城关支部"), "李明", wecom="li"))
    chat.say("li", "学习 理论 90")
    assert "积分 -3" in chat.say("li", "撤销 分钟数写错了").text
    chat.say("li", "学习 理论 30")
    lines = ledger_lines(chat, "li")
    assert [x.split()[2] for x in lines] == ["+1", "±0"]
    assert lines[1].endswith("自学「理论」90分钟 +3，已冲销（李明撤销学习：分钟数写错了）")
    assert "本周：1 分" in chat.say("li", "积分").text
    clock.advance(timedelta(days=1, minutes=1))
    assert chat.say("li", "撤销").is_error  # a day later it is the secretary's to correct


# --- leave over two weeks --------------------------------------------------------------------


def test_two_weeks_leave_excuses_four_night_studies_and_their_nudges(runtime, chat, djbot, clock):
    night_studies(runtime, "每周二、周四 19:30", zhang=True)
    clock.set(local(2026, 12, 3, 10, 0))
    bad = chat.say("li", "请假 12月18日至12月4日 外出培训")
    assert bad.is_error and "早于" in bad.text
    reply = chat.say("li", "请假 外出培训两周（12月4日至18日）").text
    assert "已请假：12月4日至12月18日（15 天），原因：外出培训两周" in reply
    clock.set(local(2026, 12, 3, 21, 30))  # tonight's study is before the leave

    def secretary_checks_in(now):
        if now.astimezone(SHANGHAI).strftime("%H:%M") == "19:30":
            chat.say("sec", "签到", chat="g1")
    sent = run_ticks(runtime, clock, local(2026, 12, 19, 21, 30), before_tick=secretary_checks_in)
    nudges = [target for _, kind, target, _ in sent if kind == "nudge"]
    assert nudges.count("li") == 0 and nudges.count("zhang") == 4  # 12-8, 10, 15, 17
    day_before = [text for _, kind, _, text in sent if kind == "reminder.day_before"]
    assert len(day_before) == 4 and all("已请假 1 人：李明" in t for t in day_before)
    for week in ("2026-W50", "2026-W51"):
        line = weekly(djbot, week, "城关支部")
        assert (line["activities"], line["leave"], line["absent"], line["participation"]) == \
            (2, 2, 2, "2/4"), week
        # one leave per study (李明); 张强 absent twice; 王书记 present
    assert ledger_lines(chat, "li") == []  # leave earns 0 and costs nothing
    assert [x.split()[2] for x in ledger_lines(chat, "zhang")] == ["-1"] * 4
    with Session(runtime.engine) as session:
        assert session.exec(select(LeavePeriod)).one().last_day.isoformat() == "2026-12-18"


def test_back_early_withdraws_the_leave_and_counts_the_member_again(runtime, chat, djbot, clock):
    """销假 on the 9th of a leave asked for the 7th to the 18th: the 8th stays leave, the
    studies from the 10th expect and nudge 李明 again, and the change is on record."""
    night_studies(runtime, "每周二、周四 19:30")
    clock.set(local(2026, 12, 3, 10, 0))
    nothing = chat.say("li", "销假")
    assert nothing.is_error and "没有可以销的假" in nothing.text
    assert "已请假：12月7日至12月18日" in chat.say("li", "请假 12月7日至18日 外出培训").text
    sent = run_ticks(runtime, clock, local(2026, 12, 9, 10, 0))
    # Tonight's study is before the leave; the 8th's is in it.
    assert [at.day for at, kind, t, _ in sent if kind == "nudge" and t == "li"] == [3]

    back = chat.say("li", "销假", chat="g1").text
    assert "12月7日至12月18日的请假改为至12月8日" in back
    assert "政治夜学（12月10日 19:30）" in back  # planned already: expected again
    with Session(runtime.engine) as session:
        assert session.exec(select(LeavePeriod)).one().last_day.isoformat() == "2026-12-08"
        audit = session.exec(select(AuditEntry).where(AuditEntry.action == "leave.withdraw")).one()
        assert audit.target == "李明" and audit.detail["periods"][0]["asked_last"] == "2026-12-18"
    again = chat.say("li", "销假")
    assert again.is_error  # nothing left to take back: changes nothing

    sent = run_ticks(runtime, clock, local(2026, 12, 18, 22, 30))
    nudged = sorted(at.day for at, kind, target, _ in sent if kind == "nudge" and target == "li")
    assert nudged == [10, 15, 17]
    w50, w51 = weekly(djbot, "2026-W50", "城关支部"), weekly(djbot, "2026-W51", "城关支部")
    assert (w50["leave"], w50["absent"]) == (1, 3)  # 8th on leave; 10th: 李明 and 王书记
    assert (w51["leave"], w51["absent"]) == (0, 4)


# --- a temporary branch ending -------------------------------------------------------------


def test_a_temporary_branch_ends_its_members_go_back_and_its_history_stays(
        runtime, chat, djbot, clock):
    from datetime import date

    def scene(session):
        home = make_branch(session, "城关支部")
        temp = make_branch(session, "专案临时支部", temporary=True, ends_on=date(2026, 11, 27))
        bind_chat(session, temp, "gt")
        make_member(session, temp, "王书记", role=Role.SECRETARY, wecom="sec",
                    return_branch_id=home.id)
        for i in range(3):
            make_member(session, temp, f"专案{i}", wecom=f"t{i}", return_branch_id=home.id)
        session.add(Schedule(branch_id=temp.id, activity_type="政治夜学", rule="每周三 19:30",
                             duration_minutes=90, created_at=local(2026, 11, 1, 0, 0),
                             updated_at=local(2026, 11, 1, 0, 0)))
    seed(runtime.engine, scene)
    clock.set(local(2026, 11, 23, 0, 30))

    def check_in(now):
        if now == local(2026, 11, 25, 19, 30):
            for user in ("sec", "t0", "t1"):
                chat.say(user, "签到", chat="gt")
    sent = run_ticks(runtime, clock, local(2026, 12, 4, 0, 30), before_tick=check_in)
    assert not [s for s in sent if s[2] == "gt" and s[0].date() > date(2026, 11, 27)]
    with Session(runtime.engine) as session:
        temp = session.exec(select(Branch).where(Branch.name == "专案临时支部")).one()
        home = session.exec(select(Branch).where(Branch.name == "城关支部")).one()
        assert temp.active is False
        assert {m.branch_id for m in session.exec(select(Member)).all()} == {home.id}
        assert session.exec(select(AuditEntry).where(AuditEntry.action == "branch.end")).one()
    line = weekly(djbot, "2026-W48", "专案临时支部")
    assert (line["activities"], line["attended"], line["absent"]) == (1, 3, 1)
    assert weekly(djbot, "2026-W49", "专案临时支部") is None  # gone from later reports
    assert any("+2" in x for x in ledger_lines(chat, "t0"))  # their points stay theirs


def test_the_roster_carries_the_bureau_committee_and_where_temporary_members_return(
        runtime, djbot, tmp_path):
    roster = tmp_path / "名册.csv"
    roster.write_text(
        "支部,姓名,角色,企业微信ID,钉钉ID,临时,结束日期,原支部,党委委员\n"
        "城关支部,王书记,书记,s1,,,,,\n"
        ",赵局长,领导,boss,,,,,是\n"
        ",孙管理,管理员,admin,,,,,\n"
        "专案临时支部,李明,党员,li,,是,2026-12-31,城关支部,\n", encoding="utf-8")
    assert "新增 4 人" in djbot("import-roster", str(roster))
    assert djbot("committee", "list").strip() == "党委委员 1 人：赵局长"
    with Session(runtime.engine) as session:
        li = session.exec(select(Member).where(Member.name == "李明")).one()
        home = session.exec(select(Branch).where(Branch.name == "城关支部")).one()
        assert li.return_branch_id == home.id
    assert "已将 孙管理 加入党委委员名单" in djbot("committee", "add", "孙管理")
    assert "committee.add" in djbot("audit")
    bad = tmp_path / "坏.csv"
    bad.write_text("支部,姓名,角色,企业微信ID,钉钉ID,原支部\n专案临时支部,周强,党员,zq,,无此支部\n",
                   encoding="utf-8")
    result = CliRunner().invoke(bot.cli.app, ["import-roster", str(bad), "--partial"])
    assert result.exit_code != 0 and "原支部「无此支部」" in result.output


def test_leave_for_days_already_planned_excuses_them_at_once(runtime, chat, clock):
    def scene(session):
        branch = make_branch(session, "城关支部")
        bind_chat(session, branch, "g1")
        make_member(session, branch, "李明", wecom="li")
        session.add(Schedule(branch_id=branch.id, activity_type="政治夜学", rule="每周二 19:30",
                             duration_minutes=90, created_at=local(2026, 11, 1, 0, 0),
                             updated_at=local(2026, 11, 1, 0, 0)))
    seed(runtime.engine, scene)
    clock.set(local(2026, 12, 5, 23, 30))
    run_ticks(runtime, clock, local(2026, 12, 6, 0, 30))  # 12-08's study now exists
    reply = chat.say("li", "请假 12.7-12.9 探亲", chat="g1").text
    assert "已请假：12月7日至12月9日（3 天）" in reply and "已安排的 1 次：政治夜学" in reply
    assert "你已经请过假了" in chat.say("li", "请假 家里有事", chat="g1").text
    late = chat.say("li", "请假 12月1日至12月2日 补请")
    assert late.is_error and "已经过去" in late.text


def test_a_paused_schedule_holds_nothing_and_counts_no_absence(runtime, chat, djbot, clock):
    night_studies(runtime, "每周二 19:30")
    clock.set(local(2026, 12, 5, 23, 30))
    run_ticks(runtime, clock, local(2026, 12, 6, 0, 30))  # 12-08's study exists
    assert "暂停日程" in chat.say("sec", "暂停提醒 至 2026-12-09", chat="g1").text
    reply = chat.say("sec", "暂停日程 夜学 至 12月9日", chat="g1").text
    assert "至 2026-12-09（含）" in reply and "已撤下已安排的 1 次" in reply
    assert chat.say("sec", "暂停日程 夜学 至 12月1日", chat="g1").is_error  # past
    chat.say("sec", "恢复提醒", chat="g1")
    sent = run_ticks(runtime, clock, local(2026, 12, 16, 22, 30))
    assert sorted(at.date().day for at, kind, target, _ in sent if kind == "nudge") == [15, 15]
    assert weekly(djbot, "2026-W50", "城关支部")["activities"] == 0
    line = weekly(djbot, "2026-W51", "城关支部")
    assert (line["activities"], line["absent"]) == (1, 2)
    assert "schedule.pause" in djbot("audit")


def test_undo_of_a_make_up_or_a_check_in_changes_nothing_and_says_why(runtime, chat, clock):
    def scene(session):
        branch = make_branch(session, "城关支部")
        bind_chat(session, branch, "g1")
        make_member(session, branch, "王书记", role=Role.SECRETARY, wecom="sec")
        make_member(session, branch, "张伟", wecom="zw")
    seed(runtime.engine, scene)
    chat.say("sec", "学习 理论 60")
    chat.say("sec", "开始 主题党日", chat="g1")
    chat.say("sec", "结束", chat="g1")
    chat.say("sec", "补签 张伟 手机没电")
    for text in ("撤销补签 张伟", "撤销 补签 张伟", "撤销签到"):
        reply = chat.say("sec", text)
        assert reply.is_error and "学习" in reply.text, (text, reply.text)
    assert [x.split()[2] for x in ledger_lines(chat, "sec")] == ["+2"]  # the study stands
    assert "补签" in ledger_lines(chat, "zw")[0]


def test_the_word_naming_the_study_undone_is_not_its_reason(runtime, chat, clock):
    """撤销学习 (or 撤销 学习 …) names which record; the ledger's line gave 学习 as the reason
    it was taken back: 「已冲销（李明撤销学习：学习）」."""
    seed(runtime.engine, lambda s: make_member(s, make_branch(s, "城关支部"), "李明", wecom="li"))
    chat.say("li", "学习 理论 60")
    assert "积分 -2" in chat.say("li", "撤销学习").text
    chat.say("li", "学习 党史 30")
    assert "积分 -1" in chat.say("li", "撤销 学习记录 材料记错了").text
    assert ledger_lines(chat, "li") == [
        "11月23日 09:00 ±0 自学「党史」30分钟 +1，已冲销（李明撤销学习：材料记错了）",
        "11月23日 09:00 ±0 自学「理论」60分钟 +2，已冲销（李明撤销学习：本人撤销）"]


@pytest.mark.parametrize("said", ["撤销学习 李明，时长不实", "撤销学习 李明时长不实",
                                  "撤销学习：李明：时长不实"])
def test_a_secretary_naming_the_member_with_a_comma_or_glued_withdraws_theirs(
        runtime, chat, clock, said):
    """撤销学习 李明，时长不实 (a comma, or the reason glued on) read no name and withdrew the
    secretary's own study of that day, at once and without asking."""
    def scene(session):
        branch = make_branch(session, "城关支部")
        bind_chat(session, branch, "g1")
        make_member(session, branch, "李明", wecom="li")
        make_member(session, branch, "王书记", role=Role.SECRETARY, wecom="sec")
    seed(runtime.engine, scene)
    chat.say("li", "学习 理论 600")
    clock.advance(timedelta(days=1, minutes=1))
    chat.say("sec", "学习 理论 30")
    asked = chat.say("sec", said).text
    assert asked.startswith("将撤销李明 11月23日 09:00 的学习记录：理论 600 分钟"), asked
    assert "原因：时长不实" in asked, asked


def test_a_study_withdrawn_in_the_group_is_not_read_out_there(runtime, chat, clock):
    """撤销学习 李明 时长不实 sent in the branch group was answered there with 李明's record,
    the reason and his points (「已撤销李明 … 理论 600 分钟，积分 -4」): a member's study
    called untrue before the branch, where 更正 of an attendance names nobody. The group
    hears that a record is withdrawn; 李明 hears the rest privately, as before."""
    def scene(session):
        branch = make_branch(session, "城关支部")
        bind_chat(session, branch, "g1")
        make_member(session, branch, "李明", wecom="li")
        make_member(session, branch, "王书记", role=Role.SECRETARY, wecom="sec")
    seed(runtime.engine, scene)
    chat.say("li", "学习 理论 600")
    clock.advance(timedelta(days=1, minutes=1))
    asked = chat.say("sec", "撤销学习 李明 时长不实", chat="g1").text
    assert asked == ("将撤销这位党员 11月23日 09:00 的 1 条学习记录（600 分钟），冲销其积分。\n"
                     "确认请在 5 分钟内发送「确认」。"), asked
    done = chat.say("sec", "确认", chat="g1").text
    assert done == ("已撤销 1 条学习记录，相关积分已冲销，已私聊告知本人。"
                    "撤销学习涉及个人记录，今后可以私聊我发送。"), done
    assert "本周：0 分" in chat.say("li", "积分").text
    told = [text for *_, text in drain(runtime, clock)]
    assert any(t.startswith("【学习记录撤销】王书记撤销了你 11月23日 09:00 的学习记录：理论 600 分钟，"
                            "积分 -4。原因：时长不实") for t in told), told


def test_a_secretary_withdraws_a_members_study_after_the_members_own_day(runtime, chat, clock):
    """李明 logged 600 minutes for 60 and noticed the next day: 撤销 was his for a day only,
    and nobody else could take it back, so his +4 stood in his points, his branch's
    average and the 先锋党员 shortlist. The 书记 now can, asked first, with the member told."""
    def scene(session):
        branch = make_branch(session, "城关支部")
        bind_chat(session, branch, "g1")
        make_member(session, branch, "李明", wecom="li")
        make_member(session, branch, "王书记", role=Role.SECRETARY, wecom="sec")
        make_member(session, make_branch(session, "交警支部"), "赵书记", role=Role.SECRETARY,
                    wecom="sec2")
    seed(runtime.engine, scene)
    chat.say("li", "学习 理论 600")
    clock.advance(timedelta(days=1, minutes=1))
    assert "请联系书记撤销" in chat.say("li", "撤销").text

    # Refused as 代请假 refuses one of another branch: whose the member is.
    assert chat.say("sec2", "撤销学习 李明 时长不实").text == \
        "李明 不是本支部的党员（城关支部），你不能撤销其学习记录。记录保持不变。"
    assert "请写明原因" in chat.say("sec", "撤销学习 李明", chat="g1").text
    asked = chat.say("sec", "撤销学习 李明 时长不实").text
    assert asked.startswith("将撤销李明 11月23日 09:00 的学习记录：理论 600 分钟"), asked
    assert "本周：4 分" in chat.say("li", "积分").text  # nothing changes until 确认
    done = chat.say("sec", "确认").text
    assert done.startswith("已撤销李明 11月23日 09:00 的学习记录：理论 600 分钟，积分 -4"), done
    assert "本周：0 分" in chat.say("li", "积分").text
    assert ledger_lines(chat, "li") == [
        "11月23日 09:00 ±0 自学「理论」600分钟 +4，已冲销（王书记撤销学习：时长不实）"]
    told = [text for *_, text in drain(runtime, clock)]
    assert any(t.startswith("【学习记录撤销】王书记撤销了你 11月23日 09:00 的学习记录：理论 600 分钟，"
                            "积分 -4。原因：时长不实") for t in told), told
    with Session(runtime.engine) as s:
        [entry] = s.exec(select(AuditEntry).where(AuditEntry.action == "study.withdraw")).all()
    assert entry.target == "李明" and entry.detail["reversed_points"] == -4
    assert "没有可以撤销的学习记录" in chat.say("sec", "撤销学习 李明 时长不实", chat="g1").text


def test_the_console_catches_up_before_it_answers(runtime, clock, monkeypatch):
    """`djbot chat` ran the scheduler after the reply only: 积分 sent two days after a missed
    night study read the week without its confirmed absence (本周：0 分), and the next
    message's figure was -1."""
    night_studies(runtime, "每周二 19:30")
    monkeypatch.setattr(bot.cli, "get_runtime", lambda *a, **k: runtime)

    def console(text):
        result = CliRunner().invoke(bot.cli.app, ["chat", "--user", "li", text])
        assert result.exit_code == 0, result.output
        return result.output

    clock.set(local(2026, 12, 7, 9, 0))  # Monday: the console plans Tuesday's study
    console("日程")
    clock.set(local(2026, 12, 10, 9, 0))  # Thursday: its absences are confirmed by now
    first = console("积分")
    assert "本周：-1 分" in first, first
    assert "本周：-1 分" in console("积分")
