"""`djbot report weekly` from the shell, answered without the full command line (bot.shell).

What an operator must be able to rely on: the quick way prints exactly what the full
command line prints, for every week of a bureau's real history and for the awkward cases
(cancelled activities, absences not confirmed yet, an ended branch, quota tiers); it
loads none of the heavy libraries, which is what makes it quick; and whatever it cannot
answer exactly, it leaves to the full command line, having printed nothing.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.dialects import sqlite as sqlite_dialect
from typer.testing import CliRunner

from bot.cli import app
from bot.domain.points import week_of
from bot.shell import _sqlite_value, quick_report
from storage import reports
from storage.types import UTCDateTime

ROOT = Path(__file__).resolve().parent.parent
TZ = ZoneInfo("Asia/Shanghai")

# The quick way reads a SQLite file: these run once, in the SQLite pass.
pytestmark = pytest.mark.own_databases


def test_the_compiled_statements_are_those_of_storage_reports():
    written = (ROOT / "storage" / "report_sql.py").read_text(encoding="utf-8")
    assert written == reports.report_sql_module(), (
        "storage/report_sql.py is out of date: run `make report-sql`")


def test_the_settings_it_reads_default_as_in_the_full_command_line():
    from bot.config import Settings
    from bot.shell import DEFAULTS

    fields = Settings.model_fields
    for name, default in DEFAULTS.items():
        expected = fields[name].default
        assert default == (str(expected) if isinstance(expected, int) else expected), name


@pytest.mark.parametrize("moment", [
    datetime(2026, 11, 23, 0, 0, tzinfo=TZ),
    datetime(2026, 11, 30, 19, 30, 15, 250, tzinfo=TZ),
    datetime(2026, 1, 1, tzinfo=timezone.utc),
])
def test_values_are_written_as_the_models_store_them(moment):
    stored = UTCDateTime().bind_processor(sqlite_dialect.dialect())
    assert _sqlite_value(moment) == stored(moment)
    assert _sqlite_value(moment.date()) == moment.date().isoformat()


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> dict[str, str]:
    """The demo bureau: eight weeks of check-ins, leave, absences, study and visits."""
    path = tmp_path_factory.mktemp("quick") / "demo.db"
    env = {"DJBOT_DATABASE_URL": f"sqlite:///{path}"}
    result = CliRunner().invoke(app, ["demo"], env=env)
    assert result.exit_code == 0, result.output
    return env


def full(env: dict[str, str], *args: str) -> str:
    result = CliRunner().invoke(app, ["report", "weekly", *args], env=env)
    assert result.exit_code == 0, result.output
    return result.stdout


def quick(env: dict[str, str], capsys, *args: str) -> str:
    capsys.readouterr()
    assert quick_report(["report", "weekly", *args], env), "the quick way handed over"
    return capsys.readouterr().out


def demo_weeks() -> list[str]:
    this = week_of(datetime.now(timezone.utc), TZ).start.date()
    weeks = [this - timedelta(weeks=n) for n in range(10)]
    return [f"{monday.isocalendar().year}-W{monday.isocalendar().week:02d}" for monday in weeks]


def test_every_week_of_the_demo_prints_the_same_both_ways(demo, capsys):
    rates = 0
    for week in demo_weeks():
        for options in (["--week", week], [f"--week={week}", "--json"]):
            expected = full(demo, *options)
            assert quick(demo, capsys, *options) == expected, (week, options)
            rates += expected.count('"participation_rate": 0.')
    assert rates >= 8, "the demo's weeks should hold activities to count"
    # No week given: the last complete week, by the clock.
    assert quick(demo, capsys, "--json") == full(demo, "--json")
    assert quick(demo, capsys) == full(demo)


def test_no_week_of_the_demo_has_its_top_list_cut_inside_a_tie(demo, capsys):
    """Both ways: everyone on the points of a listed name is listed, and a tie the cut
    would split is a count of all of them, with no name (刘洋 and 吴敏 listed on 3 points,
    赵磊 and 郭峰 on 3 points not, was one such week)."""
    from sqlmodel import Session, create_engine

    from bot.domain.points import parse_iso_week

    engine = create_engine(demo["DJBOT_DATABASE_URL"])
    ties = 0
    for week in demo_weeks():
        report = json.loads(quick(demo, capsys, "--week", week, "--json"))
        period = parse_iso_week(week, TZ)
        with Session(engine) as session:
            everyone = reports.leaderboard(session, branch_id=None, start=period.start,
                                           end=period.end, limit=10_000)
        listed = {m["member_id"] for m in report["top_members"]}
        assert len(listed) <= 10
        for points in {m["points"] for m in report["top_members"]}:
            assert {r.member_id for r in everyone if r.points == points} <= listed, week
        tie = report.get("top_tie")
        if tie is not None:
            ties += 1
            tied = [r for r in everyone if r.points == tie["points"]]
            assert (tie["rank"], tie["count"]) == (tied[0].rank, len(tied)), week
            assert not listed & {r.member_id for r in tied}
            assert len(listed) < 10 < len(listed) + len(tied)
        else:
            assert len(listed) == min(10, len(everyone)), week
    engine.dispose()
    assert ties, "the demo's weeks should hold a tie at the cut"


def test_the_awkward_cases_print_the_same_both_ways(demo, capsys, tmp_path):
    """A cancelled activity, absences still to be confirmed, a branch that has ended, and
    the rules' quota tiers: each changes the figures, and both ways agree on each."""
    path = demo["DJBOT_DATABASE_URL"].removeprefix("sqlite:///")
    week = demo_weeks()[1]
    monday = week_of(datetime.now(timezone.utc), TZ).start - timedelta(weeks=1)
    bounds = [_sqlite_value(monday), _sqlite_value(monday + timedelta(weeks=1))]
    before = full(demo, "--week", week)
    with sqlite3.connect(path) as con:
        held = con.execute("SELECT id, branch_id FROM activity WHERE branch_id IS NOT NULL "
                           "AND starts_at >= ? AND starts_at < ? ORDER BY id", bounds).fetchall()
        assert len(held) >= 3
        (cancelled, _), (running, branch), (unconfirmed, _) = held[:3]
        con.execute("UPDATE activity SET status = 'cancelled' WHERE id = ?", (cancelled,))
        # Ends in the future: not counted yet. Record still open: absences not confirmed.
        con.execute("UPDATE activity SET status = 'open', ends_at = '2999-01-01 00:00:00.000000' "
                    "WHERE id = ?", (running,))
        con.execute("UPDATE activity SET status = 'closed', finalized_at = NULL, "
                    "expected_count = NULL WHERE id = ?", (unconfirmed,))
        con.execute("UPDATE branch SET active = 0 WHERE id = ?", (branch,))
    changed = {week: full(demo, "--week", week) for week in demo_weeks()[:5]}
    assert changed[week] != before, "the changes should show in the figures"
    for week, expected in changed.items():
        assert quick(demo, capsys, "--week", week) == expected, week

    rules = (ROOT / "bot" / "domain" / "default_rules.toml").read_text(encoding="utf-8")
    quota = tmp_path / "quota.toml"
    quota.write_text(rules.replace('mode = "absolute"', 'mode = "quota"'), encoding="utf-8")
    with_quota = {**demo, "DJBOT_RULES_FILE": str(quota)}
    # A rules version not on record yet: only the full command line records it.
    assert not quick_report(["report", "weekly", "--week", week], with_quota)
    expected = full(with_quota, "--week", week, "--json")
    assert json.loads(expected)["tier_mode"] == "quota"
    assert quick(with_quota, capsys, "--week", week, "--json") == expected


@pytest.mark.parametrize("args", [
    ["report", "weekly", "--xlsx", "w.xlsx"],
    ["report", "weekly", "--help"],
    ["report", "weekly", "--week"],
    ["report", "weekly", "--week", "2026-W99"],
    ["report", "weekly", "--week", "W48", "--week", "W47"],
    ["report", "--json", "weekly"],
    ["report", "range", "--from", "2026-01-01", "--to", "2026-01-31"],
    ["report", "weekly", "--json", "--json"],
    ["chat", "--user", "cg01", "签到"],
    [],
])
def test_other_commands_and_options_are_left_to_the_full_command_line(demo, capsys, args):
    assert not quick_report(args, demo)
    assert capsys.readouterr().out == ""


def test_settings_and_databases_it_cannot_be_sure_of_are_left_to_the_full_command_line(
        demo, capsys, tmp_path):
    url = demo["DJBOT_DATABASE_URL"]
    path = url.removeprefix("sqlite:///")
    new = tmp_path / "new.db"
    cases = [
        {"DJBOT_DATABASE_URL": "postgresql://root@127.0.0.1:5432/test"},
        {"DJBOT_DATABASE_URL": f"sqlite:///file:{path}?mode=ro&uri=true"},
        {"DJBOT_DATABASE_URL": f"sqlite:///{new}"},  # not there yet: the full path creates it
        {"DJBOT_DATABASE_URL": "sqlite://"},
        {**demo, "DJBOT_TIMEZONE": "Asia/Nowhere"},
        {**demo, "DJBOT_VISIT_TARGET_PER_YEAR": "two"},
        {**demo, "DJBOT_RULES_FILE": ""},
        {**demo, "DJBOT_RULES_FILE": str(tmp_path / "missing.toml")},
        {**demo, "djbot_timezone": "Asia/Shanghai", "DJBOT_TIMEZONE": "Asia/Shanghai"},
    ]
    for env in cases:
        assert not quick_report(["report", "weekly"], env), env
    assert capsys.readouterr().out == ""
    assert not new.exists()

    # Not migrated to the files' latest revision: the full command line migrates it first.
    copy = tmp_path / "old.db"
    with sqlite3.connect(path) as con, sqlite3.connect(copy) as target:
        con.backup(target)
    with sqlite3.connect(copy) as con:
        con.execute("UPDATE alembic_version SET version_num = 'an_older_one'")
    assert not quick_report(["report", "weekly"], {"DJBOT_DATABASE_URL": f"sqlite:///{copy}"})


def test_settings_are_read_as_the_full_command_line_reads_them(demo, capsys):
    """Any case of the variable names, and the settings the report uses."""
    week = demo_weeks()[1]
    env = {"djbot_database_url": demo["DJBOT_DATABASE_URL"], "DJBOT_Visit_Target_Per_Year": "5",
           "DJBOT_TIMEZONE": "Asia/Urumqi", "DJBOT_WECOM__CORP_ID": "not read by a report"}
    expected = full(env, "--week", week, "--json")
    assert json.loads(expected)["branches"][0]["visit_target"] == 5
    assert quick(env, capsys, "--week", week, "--json") == expected


PROBE = """
import contextlib, io, json, sys
sys.argv = ["djbot", *json.loads(sys.argv[1])]
from bot.shell import main
out = io.StringIO()
with contextlib.redirect_stdout(out):
    main()
modules = sorted({m.split(".")[0] for m in sys.modules})
print(json.dumps({"out": out.getvalue(), "modules": modules}))
"""


def test_the_script_answers_without_the_heavy_libraries(demo):
    week = demo_weeks()[1]
    args = ["report", "weekly", "--week", week]
    result = subprocess.run([sys.executable, "-c", PROBE, json.dumps(args)], cwd=ROOT,
                            capture_output=True, text=True, timeout=120,
                            env={**os.environ, **demo})
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout.splitlines()[-1])
    assert seen["out"] == full(demo, "--week", week)
    heavy = {"sqlalchemy", "sqlmodel", "pydantic", "pydantic_settings", "typer", "click", "alembic"}
    assert set(seen["modules"]) & heavy == set()


def test_the_script_hands_a_bad_week_to_the_full_command_line_which_says_why(demo):
    args = ["report", "weekly", "--week", "2026-W99"]
    result = subprocess.run([sys.executable, "-m", "bot", *args], cwd=ROOT,
                            capture_output=True, text=True, timeout=120,
                            env={**os.environ, **demo})
    assert result.returncode == 2
    assert "没有第 99 周" in result.stderr and result.stdout == ""


def test_a_day_before_the_bureau_existed_is_an_empty_report_both_ways(demo, capsys):
    week = "2020-W01"
    assert date(2020, 1, 1) < date.today()
    assert quick(demo, capsys, "--week", week) == full(demo, "--week", week)


def test_a_report_before_any_roster_says_what_to_do_first(tmp_path, capsys):
    """Before, a first `djbot report weekly` printed a table's header and nothing else, with
    no word of why; the quick way printed the same."""
    env = {"DJBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'djbot.db'}"}
    first = CliRunner().invoke(app, ["report", "weekly"], env=env)
    assert first.exit_code == 0
    assert first.stdout.startswith("## 党建工作报告")
    assert "先用 djbot import-roster 导入名册，或用 djbot demo 试用" in first.stderr
    # Now migrated, its rules on record: the quick way leaves it to the full command line.
    assert not quick_report(["report", "weekly"], env)
    assert capsys.readouterr().out == ""
    assert CliRunner().invoke(app, ["demo"], env=env).exit_code == 0
    demo = CliRunner().invoke(app, ["report", "weekly"], env=env)
    assert "import-roster" not in demo.stderr


def test_a_week_not_begun_is_handed_to_the_full_command_line_which_refuses_it(demo, capsys):
    """The script printed an empty report for a week to come, which the full command line
    refuses in one line: asked of `djbot`, the same words either way."""
    ahead = date.today() + timedelta(days=21)
    year, week, _ = ahead.isocalendar()
    args = ["report", "weekly", "--week", f"{year}-W{week:02d}"]
    assert quick_report(args, demo) is False
    assert capsys.readouterr().out == ""
    result = subprocess.run([sys.executable, "-m", "bot", *args], cwd=ROOT,
                            capture_output=True, text=True, timeout=120,
                            env={**os.environ, **demo})
    assert result.returncode == 2 and "还没有到" in result.stderr and result.stdout == ""
