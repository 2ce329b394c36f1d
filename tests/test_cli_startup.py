"""The command line answers at once: `djbot --help` loads no web framework, platform SDK,
spreadsheet or plotting library, and a report loads only what the report needs.

Each case runs in a fresh interpreter (a test process has imported everything already)
and looks at sys.modules afterwards: a behaviour, not a timing, so a busy machine cannot
make it pass or fail.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from storage import db

ROOT = Path(__file__).resolve().parent.parent

# What a command that only prints text must not pay for.
NOT_FOR_HELP = {
    "fastapi", "starlette", "uvicorn", "openpyxl", "wechatpy", "dingtalk_stream",
    "matplotlib", "jinja2", "docx", "apscheduler", "alembic", "httpx",
    "sqlalchemy", "sqlmodel", "pydantic", "pydantic_settings", "rich",
}
# A report reads the database through the models, nothing else.
NOT_FOR_REPORT = {
    "fastapi", "starlette", "uvicorn", "openpyxl", "wechatpy", "dingtalk_stream",
    "matplotlib", "jinja2", "docx", "apscheduler", "alembic", "rich",
}

PROBE = """
import contextlib, io, json, sys
sys.argv = ["djbot", *json.loads(sys.argv[1])]
from bot.cli import main
out = io.StringIO()
code = 0
with contextlib.redirect_stdout(out):
    try:
        main()
    except SystemExit as exc:
        code = exc.code or 0
print(json.dumps({"code": code, "out": out.getvalue(),
                  "modules": sorted({m.split(".")[0] for m in sys.modules})}))
"""


def run_djbot(args: list[str], env: dict[str, str] | None = None) -> dict:
    result = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(args)], cwd=ROOT, capture_output=True,
        text=True, timeout=120, env={**os.environ, **(env or {})},
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1])


@pytest.mark.parametrize("args", [["--help"], ["report", "--help"], ["db", "--help"]])
def test_help_loads_no_heavy_library(args):
    seen = run_djbot(args)
    assert seen["code"] == 0
    assert "用法：djbot" in seen["out"]
    # Typer checks a command's option values with pydantic, so a sub-command's help loads it.
    allowed = set() if args == ["--help"] else {"pydantic"}
    assert set(seen["modules"]) & (NOT_FOR_HELP - allowed) == set()


def test_the_top_help_still_lists_every_area():
    seen = run_djbot(["--help"])
    for command in ("report", "chat", "serve", "import-roster", "schedule", "db"):
        assert command in seen["out"]


def test_a_weekly_report_on_a_current_database_loads_no_migration_tool_nor_web_stack(tmp_path):
    url = f"sqlite:///{tmp_path / 'djbot.db'}"
    engine = db.make_engine(url)
    db.upgrade(engine)
    engine.dispose()
    seen = run_djbot(["report", "weekly", "--week", "2026-W48"], env={"DJBOT_DATABASE_URL": url})
    assert seen["code"] == 0
    assert "2026-W48" in seen["out"]
    assert set(seen["modules"]) & NOT_FOR_REPORT == set()


def test_a_new_database_is_still_migrated_by_the_first_command(tmp_path):
    url = f"sqlite:///{tmp_path / 'new.db'}"
    seen = run_djbot(["report", "weekly", "--week", "2026-W48"], env={"DJBOT_DATABASE_URL": url})
    assert seen["code"] == 0
    engine = db.make_engine(url)
    try:
        assert db.is_current(engine)
    finally:
        engine.dispose()


def test_the_quick_revision_check_agrees_with_alembic(bare_engine):
    assert db.head_revisions_on_disk() == {db.head_revision(bare_engine)}
    assert not db.is_current_quick(bare_engine)  # nothing stamped yet
    db.upgrade(bare_engine)
    assert db.is_current_quick(bare_engine) and db.is_current(bare_engine)


def test_the_quick_revision_check_sees_an_older_stamp(bare_engine):
    db.upgrade(bare_engine, "0001")
    assert not db.is_current_quick(bare_engine)
    assert not db.is_current(bare_engine)


@pytest.fixture
def bare_engine(db_url):
    engine = db.make_engine(db_url)
    yield engine
    engine.dispose()

