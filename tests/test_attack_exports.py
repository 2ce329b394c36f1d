"""Attacks through what djbot writes to disk or shows: formulas in spreadsheets, files with
personal data readable by others, a database password on screen, the API's own map."""

from __future__ import annotations

import os
import stat

import httpx
import pytest
from openpyxl import load_workbook
from sqlmodel import Session
from typer.testing import CliRunner

from bot.app import create_app
from bot.cli import app as cli_app
from storage.reports import write_xlsx
from tests.conftest import local
from tests.factories import make_branch, make_member, seed
from tests.test_reports import attend, hold, report_for

FORMULAS = ['=HYPERLINK("http://x/?"&A1,"点我")', "+1+1", "-2+3", "@SUM(1)", "\t=1", "\r=1"]


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def formula_branch(runtime):
    def org(session):
        branch = make_branch(session, FORMULAS[0])
        members = [make_member(session, branch, name) for name in FORMULAS]
        day = hold(session, branch, local(2026, 11, 24, 14, 30))
        for m in members:
            attend(session, day, m, "present", points=3)
    seed(runtime.engine, org)


def test_formula_looking_names_come_back_as_strings(runtime, settings, tmp_path, formula_branch):
    with Session(runtime.engine) as session:
        report = report_for(session, settings, runtime)
    path = write_xlsx(report, tmp_path / "report.xlsx")
    book = load_workbook(path)
    members = book["党员"]
    names = [members.cell(row=r, column=2) for r in range(2, 2 + len(FORMULAS))]
    # (Depending on how the cell is escaped, XML may give a carriage return back as a line
    # feed; either way the cell is the text that was written.)
    assert sorted(c.value.replace("\r", "\n") for c in names) == \
        sorted(f.replace("\r", "\n") for f in FORMULAS)
    assert all(c.data_type == "s" for c in names)
    branch = book["支部"]["A2"]
    assert branch.value == FORMULAS[0] and branch.data_type == "s"
    # Numbers stay numbers.
    assert members.cell(row=2, column=4).value == 3 and members.cell(row=2, column=4).data_type == "n"
    assert isinstance(book["支部"]["B2"].value, int)
    assert mode(path) == 0o600
    # How the tiers were cut, in the words of the rest of the sheet (it said absolute).
    about = {row[0]: row[1] for row in book.worksheets[-1].iter_rows(values_only=True)}
    assert about["分档方式"] == "按分数线"


def test_the_year_workbook_and_document_keep_names_as_text_and_are_private(
        runtime, clock, tmp_path, formula_branch, monkeypatch):
    """report year --xlsx stored =HYPERLINK(…) names as live formulas and, like --docx,
    left every member's points readable by anyone on the server (0644); the weekly
    workbook did neither. A folder that is not there is one line and exit 2, not a
    traceback."""
    import bot.cli

    monkeypatch.setattr(bot.cli, "get_runtime", lambda *a, **k: runtime)
    clock.set(local(2026, 12, 31, 20, 0))
    runner = CliRunner()
    old = os.umask(0o022)
    try:
        for option, name in (("--xlsx", "year.xlsx"), ("--docx", "year.docx")):
            written = runner.invoke(cli_app, ["report", "year", "2026", option,
                                              str(tmp_path / name)])
            assert written.exit_code == 0, written.output
            assert mode(tmp_path / name) == 0o600, option
            nowhere = tmp_path / "没有这个文件夹" / name
            refused = runner.invoke(cli_app, ["report", "year", "2026", option, str(nowhere)])
            assert refused.exit_code == 2 and "不存在" in refused.output, refused.output
    finally:
        os.umask(old)
    book = load_workbook(tmp_path / "year.xlsx")
    names = [c for sheet in ("支部", "党员") for row in book[sheet].iter_rows(min_row=2)
             for c in row if c.value == FORMULAS[0]]
    assert len(names) == 8 and all(c.data_type == "s" for c in names)  # branch, 党员 and theirs


def test_backups_exports_and_the_sqlite_file_are_private(tmp_path, monkeypatch):
    old = os.umask(0o022)  # a typical, permissive umask
    try:
        db_file = tmp_path / "djbot.db"
        env = {"DJBOT_DATABASE_URL": f"sqlite:///{db_file}"}
        runner = CliRunner()
        assert runner.invoke(cli_app, ["demo"], env=env).exit_code == 0
        assert mode(db_file) == 0o600
        backup = tmp_path / "b.jsonl"
        assert runner.invoke(cli_app, ["backup", str(backup)], env=env).exit_code == 0
        assert mode(backup) == 0o600
        name = runner.invoke(cli_app, ["members"], env=env).output.split()[1]
        out = tmp_path / "export.json"
        result = runner.invoke(cli_app, ["export", name, "--out", str(out)], env=env)
        assert result.exit_code == 0, result.output
        assert mode(out) == 0o600
    finally:
        os.umask(old)


def test_demo_does_not_print_a_database_password(tmp_path, monkeypatch):
    import bot.cli
    from bot.config import Settings

    url = "postgresql://djbot:s3cret-pw@db.example:5432/djbot"

    settings = Settings(database_url=url, _env_file=None)

    class Fake:
        pass

    Fake.settings = settings

    class Result:
        class roster:
            @staticmethod
            def summary():
                return "0 人"
        chats_bound = 0
        messages = 0

    monkeypatch.setattr(bot.cli, "load_settings", lambda: settings)
    monkeypatch.setattr(bot.cli, "get_runtime", lambda *a, **k: Fake())
    monkeypatch.setattr("bot.demo.load_demo", lambda runtime: Result())
    monkeypatch.setattr("bot.demo.walkthrough", lambda runtime: "")
    result = CliRunner().invoke(bot.cli.app, ["demo"])
    assert "db.example" in result.output
    assert "s3cret-pw" not in result.output


async def test_no_api_map_is_served(runtime):
    app = create_app(runtime, start_background=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://d") as http:
        for path in ("/docs", "/redoc", "/openapi.json"):
            assert (await http.get(path)).status_code == 404, path
