"""The documentation that is generated from the code must match it."""

from __future__ import annotations

from pathlib import Path

from bot.cli.docs import render_markdown
from bot.runtime import build_registry

ROOT = Path(__file__).resolve().parents[1]


def test_commands_doc_matches_the_registry():
    expected = render_markdown(build_registry())
    actual = (ROOT / "docs" / "commands.md").read_text(encoding="utf-8")
    assert actual == expected, "docs/commands.md is stale: run `djbot commands --markdown > docs/commands.md`"


def test_every_command_has_a_summary_and_an_example():
    for command in build_registry().commands:
        assert command.summary, command.name
        assert command.example, f"{command.name} shows no example in docs/commands.md"
