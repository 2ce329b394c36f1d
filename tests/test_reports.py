"""Reports: per-branch figures aggregated by the database, rendered as Markdown, JSON, Excel."""

from __future__ import annotations

import json
from datetime import date, timedelta
from itertools import count

import pytest
from openpyxl import load_workbook
from sqlmodel import Session
from typer.testing import CliRunner

from bot.domain.points import parse_iso_week, previous_period
from storage import ledger
from storage.models import Activity, Attendance, ResearchVisit, Role
from storage.reports import build_report, render_json, render_markdown, write_xlsx
from tests.conftest import SHANGHAI, local
from tests.factories import T0, make_branch, make_group, make_member, seed

_ids = count(1)


def hold(session: Session, branch, starts_at, *, type_: str = "主题党日", group=None,
         expected_count: int | None = None, confirmed: bool = True) -> Activity:
    """An activity held at `starts_at` (local), two hours long; its absences confirmed
    (as they are a day after the end) unless `confirmed` is False."""
    activity = Activity(
        type=type_, topic="测试", branch_id=branch.id if branch else None,
        party_group_id=group.id if group else None, starts_at=starts_at,
        ends_at=starts_at + timedelta(hours=2), checkin_opens_at=starts_at - timedelta(minutes=30),
        checkin_closes_at=starts_at + timedelta(hours=2), status="closed",
        expected_count=expected_count, created_at=T0,
        finalized_at=starts_at + timedelta(days=1, hours=2) if confirmed else None,
    )
    session.add(activity)
    session.flush()
    return activity


def attend(session: Session, activity: Activity, member, status: str, *, points: int | None = None,
           rule: str | None = None) -> Attendance:
    """An attendance row and, when points are given, its ledger entry (as the check-in posts it)."""
    row = Attendance(activity_id=activity.id, member_id=member.id, status=status,
                     checked_in_at=activity.starts_at, updated_at=activity.starts_at,
                     leave_state="granted" if status == "leave" else None)
    session.add(row)
    session.flush()
    if points is not None:
        award(session, member, points, activity.starts_at,
              rule=rule or f"attendance.{status}.{activity.type}", source_id=row.id,
              kind="attendance")
    return row


def award(session: Session, member, points: int, when, *, rule: str = "study.per_30min",
          source_id=None, kind: str = "study", note: str | None = None) -> None:
    ledger.post(session, member_id=member.id, branch_id=member.branch_id, points=points, rule=rule,
                source_kind=kind, source_id=source_id or f"t{next(_ids)}", occurred_at=when,
                now=when, note=note)


WEEK = parse_iso_week("2026-W48", SHANGHAI)


def theme_day_branch(session: Session):
    """The acceptance scene: 10 members, 7 on time, 1 late, 1 on leave, 1 silent."""
    branch = make_branch(session, "一支部")
    members = [make_member(session, branch, f"党员{i}") for i in range(10)]
    day = hold(session, branch, local(2026, 11, 24, 14, 30))
    for m in members[:7]:
        attend(session, day, m, "present", points=3)
    attend(session, day, members[7], "late", points=2)
    attend(session, day, members[8], "leave", points=0)
    return branch, members


def report_for(session, settings, runtime, period=WEEK):
    before = previous_period(period)
    return build_report(session, start=period.start, end=period.end,
                        previous=(before.start, before.end), tz=settings.tz,
                        visit_target=settings.visit_target_per_year,
                        rules=runtime.rules, title=period.label)


def test_weekly_figures_for_the_acceptance_theme_day(runtime, settings):
    def scene(session):
        theme_day_branch(session)
        make_branch(session, "二支部")  # held nothing this week
    seed(runtime.engine, scene)
    with Session(runtime.engine) as session:
        report = report_for(session, settings, runtime)
    first = next(b for b in report.branches if b.name == "一支部")
    assert (first.activities, first.expected, first.present, first.late, first.leave,
            first.absent) == (1, 10, 7, 1, 1, 1)
    assert first.participation == "8/9"
    assert first.participation_rate == 8 / 9  # exact: rounded once, where it is shown
    assert first.points == 7 * 3 + 2
    assert first.average_points == pytest.approx(2.3)
    assert report.idle_branches == ["二支部"]
    data = json.loads(render_json(report))
    branch = data["branches"][0]
    assert branch["name"] == "一支部" and branch["participation"] == "8/9"
    assert branch["participation_rate"] == 0.8889  # four digits in a file, half up
    assert "参与 8/9（88.9%" in render_markdown(report)
    assert branch["attended"] == 8 and branch["expected"] - branch["leave"] == 9
    assert data["first_day"] == "2026-11-23" and data["last_day"] == "2026-11-29"
    # Ties share a rank in the top list: seven members on 3 points, then the late one.
    assert [m.rank for m in report.top_members[:8]] == [1] * 7 + [8]


def test_score_tier_and_change_against_the_week_before(runtime, settings):
    def scene(session):
        branch, members = theme_day_branch(session)
        earlier = hold(session, branch, local(2026, 11, 17, 14, 30))
        for m in members[:5]:
            attend(session, earlier, m, "present", points=3)
    seed(runtime.engine, scene)
    with Session(runtime.engine) as session:
        line = report_for(session, settings, runtime).branches[0]
    # 8/9 participation; 2.3 points a member against a weekly reference of 10 × 7/30.
    expected_score = round(100 * (0.6 * 8 / 9 + 0.4 * min(1, 2.3 / (10 * 7 / 30))), 1)
    assert line.score == pytest.approx(expected_score)
    assert line.tier == "红" and not line.talk
    assert line.previous_participation_rate == pytest.approx(0.5)
    assert line.previous_score < line.score and line.trend == "↑"


def test_frozen_expected_count_wins_and_party_group_activity_expects_its_group(runtime, settings):
    def scene(session):
        branch = make_branch(session, "三支部")
        group = make_group(session, branch, "第一党小组")
        for i in range(3):
            make_member(session, branch, party_group_id=group.id)
        for i in range(4):
            make_member(session, branch)
        hold(session, branch, local(2026, 11, 24, 19, 30), type_="党小组会", group=group)
        hold(session, branch, local(2026, 11, 25, 19, 30), type_="政治夜学", expected_count=5)
        hold(session, branch, local(2026, 11, 26, 19, 30), type_="政治夜学")
    seed(runtime.engine, scene)
    with Session(runtime.engine) as session:
        line = report_for(session, settings, runtime).branches[0]
    # 3 (the party group) + 5 (frozen) + 7 (every active member).
    assert line.activities == 3 and line.expected == 15


def test_inactive_members_are_not_expected_and_visits_count_against_the_target(runtime, settings):
    def scene(session):
        branch = make_branch(session, "四支部")
        make_member(session, branch)
        make_member(session, branch, active=False)
        leader = make_member(session, None, "王局", role=Role.LEADER)
        hold(session, branch, local(2026, 11, 24, 19, 30), type_="政治夜学")
        for day in (date(2026, 3, 2), date(2025, 12, 30)):
            session.add(ResearchVisit(leader_id=leader.id, branch_id=branch.id, visited_on=day,
                                      logged_at=T0))
    seed(runtime.engine, scene)
    with Session(runtime.engine) as session:
        report = report_for(session, settings, runtime)
    line = report.branches[0]
    assert line.expected == 1 and line.absent == 1
    assert (line.visits, line.visit_target) == (1, 2)  # last year's visit does not count
    assert report.under_visited == ["四支部"]
    text = render_markdown(report, table=True)
    assert "| 四支部 | 1 | 1 | 0 |" in text and "年度调研未达标**：四支部" in text


def test_chat_markdown_has_no_table_and_marks_blue_for_a_talk(runtime, settings):
    def scene(session):
        branch = make_branch(session, "六支部")
        members = [make_member(session, branch) for _ in range(4)]
        day = hold(session, branch, local(2026, 11, 24, 19, 30), type_="政治夜学")
        attend(session, day, members[0], "present", points=2)
    seed(runtime.engine, scene)
    with Session(runtime.engine) as session:
        text = render_markdown(report_for(session, settings, runtime))
    assert "|" not in text
    # 1/4 and half a point a member: 100 × (0.6 × 0.25 + 0.4 × 0.5/2.33) ≈ 23.6.
    assert "**六支部** 🔵蓝（约谈） 23.6 分" in text
    assert "活动 1 次 · 参与 1/4（25.0%） · 人均 0.5 分 · 调研 0/2" in text


def test_opted_out_members_stay_out_of_the_report_top_list(runtime, settings):
    def scene(session):
        branch = make_branch(session, "五支部")
        shy = make_member(session, branch, "低调", leaderboard_opt_out=True)
        open_ = make_member(session, branch, "公开")
        award(session, shy, 9, local(2026, 11, 24, 10, 0))
        award(session, open_, 2, local(2026, 11, 24, 10, 0))
    seed(runtime.engine, scene)
    with Session(runtime.engine) as session:
        report = report_for(session, settings, runtime)
    assert [m.name for m in report.top_members] == ["公开"]
    assert report.branches[0].points == 11  # the branch still gets every point


def test_xlsx_is_a_real_workbook_with_numbers(runtime, settings, tmp_path):
    seed(runtime.engine, theme_day_branch)
    with Session(runtime.engine) as session:
        report = report_for(session, settings, runtime)
    path = write_xlsx(report, tmp_path / "report.xlsx")
    book = load_workbook(path)
    assert book.sheetnames[:2] == ["支部", "党员"]
    sheet = book["支部"]
    header = [c.value for c in sheet[1]]
    row = dict(zip(header, [c.value for c in sheet[2]]))
    assert row["支部"] == "一支部"
    assert row["应到"] == 10 and isinstance(row["应到"], int)
    assert row["参与率"] == 8 / 9
    assert sheet.cell(row=2, column=header.index("参与率") + 1).number_format == "0.0%"
    assert sheet.cell(row=2, column=header.index("上期参与率") + 1).number_format == "0.0%"
    assert row["积分"] == 23
    members = book["党员"]
    assert [c.value for c in members[1]] == ["名次", "姓名", "支部", "积分"]
    assert members.cell(row=2, column=4).value == 3


def test_xlsx_says_why_an_ended_blue_branch_is_not_for_a_talk(runtime, settings, tmp_path):
    """A 临时党支部 that has ended, blue for the week it held: 周报 says 🔵蓝（已撤销）, and
    the workbook had 蓝 with an empty 约谈 cell beside a standing blue branch's 是, as if it
    had been let off."""
    def scene(session):
        for name, kw in (("一支部", {}), ("专案临时支部", {"temporary": True, "active": False,
                                                       "ends_on": date(2026, 11, 27)})):
            branch = make_branch(session, name, **kw)
            members = [make_member(session, branch) for _ in range(4)]
            attend(session, hold(session, branch, local(2026, 11, 24, 14, 30)), members[0],
                   "present", points=3)
    seed(runtime.engine, scene)
    with Session(runtime.engine) as session:
        report = report_for(session, settings, runtime)
    assert "**专案临时支部** 🔵蓝（已撤销）" in render_markdown(report)
    sheet = load_workbook(write_xlsx(report, tmp_path / "report.xlsx"))["支部"]
    header = [c.value for c in sheet[1]]
    rows = {r[0]: dict(zip(header, r)) for r in sheet.iter_rows(min_row=2, values_only=True)}
    assert (rows["一支部"]["档次"], rows["一支部"]["约谈"]) == ("蓝", "是")
    assert (rows["专案临时支部"]["档次"], rows["专案临时支部"]["约谈"]) == ("蓝", "已撤销")


def test_xlsx_columns_are_wide_enough_to_read_the_names(runtime, settings, tmp_path):
    """Every column was openpyxl's default 13 characters: 刑事侦查大队党支部 (18 wide in
    Chinese) was cut off by the number beside it, and each 参与率 header by the next."""
    def scene(session):
        branch = make_branch(session, "刑事侦查大队党支部")
        member = make_member(session, branch, "欧阳娜娜")
        attend(session, hold(session, branch, local(2026, 11, 24, 14, 30)), member, "present",
               points=3)
    seed(runtime.engine, scene)
    with Session(runtime.engine) as session:
        report = report_for(session, settings, runtime)
    book = load_workbook(write_xlsx(report, tmp_path / "report.xlsx"))
    for sheet, column, text in (("支部", "A", "刑事侦查大队党支部"), ("支部", "Q", "上期参与率"),
                                ("党员", "C", "刑事侦查大队党支部")):
        assert book[sheet][f"{column}1"].value in (text, "支部", "上期参与率")
        assert book[sheet].column_dimensions[column].width >= 2 * len(text), (sheet, column)


@pytest.fixture
def cli(runtime, monkeypatch):
    import bot.cli

    monkeypatch.setattr(bot.cli, "get_runtime", lambda *a, **k: runtime)
    runner = CliRunner()
    return lambda *args: runner.invoke(bot.cli.app, list(args))


def test_cli_weekly_json_defaults_to_the_last_complete_week(runtime, clock, cli):
    seed(runtime.engine, theme_day_branch)
    clock.set(local(2026, 11, 30, 8, 0))  # the Monday after the theme day
    result = cli("report", "weekly", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["title"] == "2026-W48"
    assert data["branches"][0]["participation"] == "8/9"


def test_cli_weekly_with_a_week_markdown_and_xlsx(runtime, clock, cli, tmp_path):
    seed(runtime.engine, theme_day_branch)
    clock.set(local(2026, 11, 30, 8, 0))  # the week has ended (before, it is counted to date)
    result = cli("report", "weekly", "--week", "2026-W48")
    assert result.exit_code == 0, result.output
    assert "一支部" in result.output and "88.9%" in result.output
    target = tmp_path / "w48.xlsx"
    assert cli("report", "weekly", "--week", "2026-W48", "--xlsx", str(target)).exit_code == 0
    assert load_workbook(target)["支部"]["B2"].value == 1


def test_cli_bad_week_is_refused(cli):
    result = cli("report", "weekly", "--week", "48")
    assert result.exit_code == 2 and "2026-W48" in result.output


def test_cli_date_range_both_spellings(runtime, clock, cli):
    seed(runtime.engine, theme_day_branch)
    clock.set(local(2027, 1, 4, 9, 0))  # the year has ended (before, it is counted to date)
    for args in (("report", "--from", "2026-01-01", "--to", "2026-12-31", "--json"),
                 ("report", "range", "--from", "2026-01-01", "--to", "2026-12-31", "--json")):
        result = cli(*args)
        assert result.exit_code == 0, result.output
        data = json.loads(result.output)
        assert data["last_day"] == "2026-12-31"
        assert data["branches"][0]["points"] == 23
    missing = cli("report", "--from", "2026-01-01")
    assert missing.exit_code == 2 and "--to" in missing.output


def test_a_member_who_checked_in_and_then_left_counts_once_before_and_after_confirmation(
        runtime, settings):
    """Four checked in; one then leaves the roster (transferred out), before absences are
    confirmed. Expected stays 4 both before and after: the rate never passes 100% and does
    not change when the count is frozen."""
    from storage import attendance as store

    def scene(session):
        branch, members = make_branch(session, "一支部"), []
        members = [make_member(session, branch, f"党员{i}") for i in range(4)]
        day = hold(session, branch, local(2026, 11, 24, 14, 30), confirmed=False)
        for m in members:
            attend(session, day, m, "present", points=3)
        members[0].active = False
        session.add(members[0])
        return day.id
    day_id = seed(runtime.engine, scene)

    def line():
        with Session(runtime.engine) as session:
            report = report_for(session, settings, runtime)
        return next((b.expected, b.attended, b.unconfirmed, b.participation_rate)
                    for b in report.branches if b.name == "一支部")
    assert line() == (4, 4, 0, 1.0)
    with Session(runtime.engine) as session:
        store.finalize(session, activity=session.get(Activity, day_id),
                       now=local(2026, 11, 25, 17, 0), rules=runtime.rules)
        session.commit()
    assert line() == (4, 4, 0, 1.0)


def twelve_scored(session):
    """八支部: eight members on 9 down to 2 points, then four on 1 point: rank 9, shared
    by four, runs past a top ten."""
    branch = make_branch(session, "八支部")
    for i, points in enumerate((9, 8, 7, 6, 5, 4, 3, 2, 1, 1, 1, 1)):
        award(session, make_member(session, branch, f"党员{i:02d}"), points,
              local(2026, 11, 24, 10, 0))


def test_the_top_list_never_cuts_inside_a_tie(runtime, settings, tmp_path):
    seed(runtime.engine, twelve_scored)
    with Session(runtime.engine) as session:
        report = report_for(session, settings, runtime)
    # Two of the four on 1 point named by name order, two left off, would be arbitrary.
    assert [m.points for m in report.top_members] == [9, 8, 7, 6, 5, 4, 3, 2]
    assert report.top_tie == (9, 4, 1)
    text = render_markdown(report)
    assert "8. 党员07（八支部）2 分\n另有 4 人并列第 9 名（1 分），同分的不拆开列名，只计人数" in text
    assert "党员08" not in text and "党员11" not in text
    assert json.loads(render_json(report))["top_tie"] == {"rank": 9, "count": 4, "points": 1}
    members = load_workbook(write_xlsx(report, tmp_path / "r.xlsx"))["党员"]
    assert [c.value for c in members[10]][:2] == [9, "另有 4 人并列第 9 名（1 分），同分的不拆开列名，只计人数"]
    # A tie that fits is named whole; one that is the whole list is a count with no 「另有」.
    with Session(runtime.engine) as session:
        report = build_report(session, start=WEEK.start, end=WEEK.end,
                              previous=(previous_period(WEEK).start, WEEK.start), tz=settings.tz,
                              visit_target=2, rules=runtime.rules, top=12)
        assert (len(report.top_members), report.top_tie) == (12, None)
        report = build_report(session, start=WEEK.start, end=WEEK.end,
                              previous=(previous_period(WEEK).start, WEEK.start), tz=settings.tz,
                              visit_target=2, rules=runtime.rules, top=1)
    assert (len(report.top_members), report.top_tie) == (1, None)


def test_a_leader_s_bureau_board_never_cuts_inside_a_tie(runtime, chat):
    def scene(session):
        twelve_scored(session)
        make_member(session, None, "领导", role=Role.LEADER, wecom="boss")
    seed(runtime.engine, scene)
    lines = chat.say("boss", "排行榜 本月").text.splitlines()
    assert lines[8:10] == ["8. 党员07（八支部）2 分", "另有 4 人并列第 9 名（1 分）"]


def test_workbooks_keep_their_header_row_in_sight(runtime, settings, clock, tmp_path):
    """The office scrolls a bureau's branches and every member in the year's 党员 sheet to
    fill in the 考核 table: the row saying which column is 出席 and which 缺席 scrolled away
    with the rest. Each sheet with a header row keeps it frozen; 说明 has none."""
    from bot.domain.points import date_range
    from storage import yearly

    seed(runtime.engine, theme_day_branch)
    clock.set(local(2027, 1, 4, 9, 0))
    with Session(runtime.engine) as session:
        report = report_for(session, settings, runtime)
        figures = yearly.build_year(session, period=date_range(date(2026, 1, 1),
                                                               date(2026, 12, 31), SHANGHAI),
                                    now=clock.now(), tz=SHANGHAI, rules=runtime.rules)
    weekly = load_workbook(write_xlsx(report, tmp_path / "week.xlsx"))
    assert {s.title: s.freeze_panes for s in weekly.worksheets} == {
        "支部": "A2", "党员": "A2", "说明": None}
    year = load_workbook(yearly.write_xlsx(figures, tmp_path / "year.xlsx"))
    assert {s.title: s.freeze_panes for s in year.worksheets} == {
        "汇总": "A2", "支部": "A2", "党员": "A2", "先锋党员": "A2", "口径": "A2"}
