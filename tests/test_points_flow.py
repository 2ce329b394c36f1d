"""The issue's acceptance scene end to end: a 主题党日 held through chat commands, then
`report weekly --json`, each member's 积分 and the 排行榜 all tell the same story."""

from __future__ import annotations

import json
from datetime import timedelta

import bot.cli
from typer.testing import CliRunner

from storage.models import Role
from tests.factories import bind_chat, make_branch, make_member, seed


def branch_of_ten(session):
    branch = make_branch(session, "一支部")
    bind_chat(session, branch, "g1")
    make_member(session, branch, "书记", role=Role.SECRETARY, wecom="sec")
    for i in range(1, 10):
        make_member(session, branch, f"党员{i}", wecom=f"m{i}")


def test_theme_day_report_points_and_leaderboard_agree(runtime, clock, chat, monkeypatch):
    seed(runtime.engine, branch_of_ten)
    assert not chat.say("sec", "开始 主题党日 学习党章", chat="g1").is_error
    for user in ["sec", "m1", "m2", "m3", "m4", "m5", "m6"]:
        assert not chat.say(user, "签到", chat="g1").is_error
    assert not chat.say("m7", "请假 值班", chat="g1").is_error
    clock.advance(timedelta(minutes=15))  # past the 10-minute grace
    assert not chat.say("m8", "签到", chat="g1").is_error
    # m9 says nothing.

    monkeypatch.setattr(bot.cli, "get_runtime", lambda *a, **k: runtime)
    result = CliRunner().invoke(bot.cli.app, ["report", "weekly", "--week", "2026-W48", "--json"])
    assert result.exit_code == 0, result.output
    branch = json.loads(result.output)["branches"][0]
    assert (branch["present"], branch["late"], branch["leave"]) == (7, 1, 1)
    assert branch["participation"] == "8/9"

    # docs/points.md: 主题党日 on time 3, late 2, leave 0 (the silent one is not yet penalised).
    assert "本周：3 分" in chat.say("m1", "积分").text
    assert "本周：2 分" in chat.say("m8", "积分").text
    assert "本周：0 分" in chat.say("m7", "积分").text
    board = chat.say("m8", "排行榜 本周", chat="g1").text.splitlines()
    assert sum(line.startswith("1. ") and line.endswith(" 3 分") for line in board) == 7
    assert "8. 党员8 2 分" in board
    assert board[-1] == "你：第 8 名，2 分。"
