"""Every command example in README.md and docs/ runs as written against a fresh demo.

An example is a line of a code block (fenced, or indented four spaces) that starts with
`djbot` (or `.venv/bin/djbot`, or `$ djbot`). Each document's examples run in order,
against its own fresh `djbot demo`, with the clock fixed so the demo's history and the
examples agree. A chat example must also get a reply that is not a refusal. The few
examples that cannot run here are listed below with the reason.
"""

from __future__ import annotations

import re
import shlex
import shutil
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session, select
from typer.testing import CliRunner

from bot.cli import app
from bot.cli.docs import cell, render_markdown
from bot.clock import ManualClock
from storage import db
from storage.models import ProcessedMessage

ROOT = Path(__file__).resolve().parents[1]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
NOW = datetime(2026, 12, 3, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))  # a Thursday morning
# Production procedures that cannot run in a test, by the start of their line.
NOT_HERE = {
    "djbot backup /var/backups/": "writes under /var/backups on a server",
    "djbot restore ": "needs an empty database and the file the backup line wrote",
}
PLACEHOLDERS = re.compile(r"[…<>]")

pytestmark = pytest.mark.own_databases


def examples(path: Path) -> list[str]:
    found = []
    text = path.read_text(encoding="utf-8")
    blocks = re.findall(r"```[a-z]*\n(.*?)```", text, re.S)
    indented = [line[4:] for line in text.splitlines() if line.startswith("    ")]
    for line in [l for block in blocks for l in block.splitlines()] + indented:
        line = re.sub(r"^\$ ", "", line.strip())
        line = line.removeprefix(".venv/bin/")
        if line.startswith("djbot ") and not PLACEHOLDERS.search(line.split("#")[0]):
            found.append(line)
    return list(dict.fromkeys(found))


ALL = [(path, line) for path in DOCUMENTS for line in examples(path)]


def test_the_documents_have_examples_to_run():
    assert len(ALL) >= 15
    assert any(p.name == "README.md" for p, _ in ALL)


@pytest.fixture(scope="module")
def demo_file(tmp_path_factory):
    """One demo database, loaded at the fixed time; each document gets a copy."""
    import bot.runtime

    folder = tmp_path_factory.mktemp("demo")
    url = f"sqlite:///{folder / 'demo.db'}"
    patch = pytest.MonkeyPatch()
    patch.setattr(bot.runtime, "SystemClock", lambda: ManualClock(NOW))
    try:
        result = CliRunner().invoke(app, ["demo"], env={"DJBOT_DATABASE_URL": url})
        assert result.exit_code == 0, result.output
        printed = result.stdout
    finally:
        patch.undo()
    return folder / "demo.db", printed


def _copy_database(source: Path, target: Path) -> None:
    """A copy of a SQLite database as its connections see it. The demo was loaded in this
    process, whose connections may still be open: its last writes are then in the -wal file
    beside it, and a copy of the file alone lacked them (schedules.md's 改期 found no 夜学
    schedule, in a full run only, where those connections lived longer)."""
    import sqlite3

    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    src.close()
    dst.close()


def _roster_files(folder: Path) -> None:
    """The roster files the roster examples name, made from the template."""
    from openpyxl import Workbook

    template = ROOT / "docs" / "roster-template.csv"
    shutil.copy(template, folder / "名册.csv")
    book = Workbook()
    rows = [line.split(",") for line in template.read_text(encoding="utf-8").splitlines()]
    for row in rows:
        if not row[0].startswith("#"):
            book.active.append(row)
    book.save(folder / "名册.xlsx")


@pytest.mark.parametrize("path", [p for p in DOCUMENTS if examples(p)], ids=lambda p: p.name)
def test_every_example_runs_as_written(path, demo_file, tmp_path, monkeypatch):
    import bot.runtime
    import uvicorn

    source, _ = demo_file
    _copy_database(source, tmp_path / "demo.db")
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    _roster_files(tmp_path)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(bot.runtime, "SystemClock", lambda: ManualClock(NOW))
    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: None)  # `djbot serve` starts, no more
    for line in examples(path):
        if any(line.startswith(prefix) for prefix in NOT_HERE):
            continue
        words = shlex.split(line.split(" > ")[0], comments=True)
        assert words[0] == "djbot"
        result = CliRunner().invoke(app, words[1:], env={"DJBOT_DATABASE_URL": url, "HOME": str(tmp_path)})
        assert result.exit_code == 0, f"{path.name}: {line}\n{result.output}"
        assert "Traceback" not in result.output, line
        if words[1] == "chat" and any(not w.startswith("-") for w in words[2:] if w not in _option_values(words)):
            engine = db.make_engine(url)
            with Session(engine) as session:
                last = session.exec(select(ProcessedMessage).order_by(ProcessedMessage.id.desc())).first()
            engine.dispose()
            assert last is not None and not last.reply["is_error"], f"{line}\n{result.output}"


def _option_values(words: list[str]) -> set[str]:
    return {words[i + 1] for i, w in enumerate(words[:-1]) if w.startswith("--") and w != "--private"}


def test_the_readme_shows_what_the_demo_prints(demo_file):
    _, printed = demo_file
    shown = {re.sub(r"\s+", " ", line.split("#")[0]).strip() for line in printed.splitlines()}
    for line in examples(ROOT / "README.md"):
        command = re.sub(r"\s+", " ", line.split("#")[0]).strip()
        assert command in shown, f"README shows `{command}`, which `make demo` does not print"


def test_a_pipe_in_a_command_table_cell_is_escaped():
    assert cell("支部|领导") == "支部\\|领导"
    from bot.registry import Command, CommandRegistry

    registry = CommandRegistry()
    registry.add(Command(name="试", summary="a|b", handler=lambda ctx, args: None, example="试 x|y"))
    row = [line for line in render_markdown(registry).splitlines() if line.startswith("| 试")][0]
    assert len(re.findall(r"(?<!\\)\|", row)) == 7  # six cells, nothing split


# --- the chat examples of docs/commands.md ---------------------------------------------------

# Who says each example: by the roles that may use it, in the chat it belongs in.
SPEAKERS = {
    "请假": "cg04",  # cg03 has just checked in; cg04 asks leave from the same activity
    "整改": "ld01",  # secretaries may list the items; leaders record them
    "讲师": "ld01",  # anyone may list lecturers; the example adds one, which leaders do
    "整改完成": "xz01",  # the owner (刑侦's secretary) closes the item the example above recorded
}
# Examples said privately although the command is not private-only (lists that name people).
# 整改完成: xz01 is 刑侦's secretary, and demo-g1 is another branch's group.
PRIVATELY = {"三会一课", "整改完成"}
# Examples that answer what djbot just asked: (who, chat, what they said first).
# 恢复活动: the 确认 of the cancellation 取消活动's example (just before it) asked for.
PRELUDES = {"确认": ("ld01", "demo-leaders", "开始 主题党日 学习全会精神"),
            "销假": ("cg05", "demo-g1", "请假 家里有事"),
            "恢复活动": ("cg01", "demo-g1", "确认")}


def test_every_chat_command_example_is_understood_and_answered_in_the_demo(tmp_path, monkeypatch):
    from bot.config import Settings, WebSettings
    from bot.core import IncomingMessage
    from bot.demo import load_demo
    from bot.runtime import build_runtime
    from storage.models import Role

    # The dashboard set up as docs/dashboard.md says, so that 看板 answers with its link.
    web = WebSettings(secret="s" * 40, base_url="https://djbot.example.gov.cn")
    runtime = build_runtime(Settings(database_url=f"sqlite:///{tmp_path / 'demo.db'}", web=web),
                            clock=ManualClock(NOW))
    load_demo(runtime)
    for n, command in enumerate(runtime.registry.commands):
        roles = command.roles
        if command.name in SPEAKERS:
            user = SPEAKERS[command.name]
        elif roles is None:
            user = "cg03"
        elif Role.SECRETARY in roles:
            user = "cg01"
        elif Role.LEADER not in roles:
            user = "admin01"
        else:
            user = "ld01"
        chat = None if command.where == "private" or user == "ld01" else "demo-g1"
        if command.where == "group" and user == "ld01":
            chat = "demo-leaders"
        if command.name in PRIVATELY:
            chat = None
        if command.name in PRELUDES:
            user, chat, first = PRELUDES[command.name]
            runtime.dispatcher.handle_sync(IncomingMessage(
                platform="wecom", chat_id=chat, sender_id=user, text=first,
                message_id=f"prelude-{n}", at=NOW, is_private=False))
        reply = runtime.dispatcher.handle_sync(IncomingMessage(
            platform="wecom", chat_id=chat or user, sender_id=user, text=command.example or "",
            message_id=f"example-{n}", at=NOW, is_private=chat is None))
        assert not reply.is_error, f"{command.example} ({user}): {reply.text}"
