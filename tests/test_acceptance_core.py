"""Issue 2's scripted session, through the real `djbot` commands a new user types:
import a roster, bind a group, hold a 主题党日, then 未签到, `report weekly --json`,
each member's 积分 and the 排行榜 must all tell the same story."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from typer.testing import CliRunner

import bot.cli

BRANCHES = ["城关派出所党支部", "交警大队党支部", "刑侦大队党支部"]


@pytest.fixture
def djbot(runtime, monkeypatch):
    """Run `djbot …` in-process on the test's database and clock; return its output."""
    monkeypatch.setattr(bot.cli, "get_runtime", lambda *a, **k: runtime)
    runner = CliRunner()

    def run(*args: str) -> str:
        result = runner.invoke(bot.cli.app, list(args))
        assert result.exit_code == 0, result.output
        return result.output.strip()

    return run


def write_roster(path):
    lines = ["支部,姓名,角色,企业微信ID,钉钉ID,编号"]
    for b, branch in enumerate(BRANCHES, start=1):
        for i in range(10):
            role = "书记" if i == 0 else "党员"
            lines.append(f"{branch},成员{b}-{i},{role},u{b}{i},,{b:02d}{i:02d}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def chat(djbot, user: str, text: str, group: str | None = "g1") -> str:
    where = ["--chat", group] if group else ["--private"]
    return djbot("chat", "--user", user, *where, text)


def test_theme_day_through_the_console(djbot, runtime, clock, tmp_path):
    roster = tmp_path / "名册.csv"
    write_roster(roster)
    assert "新增 30 人" in djbot("import-roster", str(roster))

    assert "绑定" in chat(djbot, "u10", f"绑定 {BRANCHES[0]}")
    assert "开始了" in chat(djbot, "u10", "开始 主题党日 学习党章")
    on_time = ["u10", "u11", "u12", "u13", "u14", "u15", "u16"]
    for user in on_time:
        assert "签到成功" in chat(djbot, user, "签到")
    assert "已请假" in chat(djbot, "u17", "请假 值班")
    clock.advance(timedelta(minutes=runtime.settings.late_grace_minutes + 5))
    assert "签到成功（迟到）" in chat(djbot, "u18", "签到")
    # u19 says nothing.

    in_group = chat(djbot, "u10", "未签到")
    assert "1 人" in in_group and "成员1-9" not in in_group  # nobody is named in public
    privately = chat(djbot, "u10", "未签到", group=None)
    assert privately.endswith("未签到 1 人：成员1-9\n已请假 1 人：成员1-7")

    week = clock.now().astimezone(runtime.settings.tz).strftime("%G-W%V")
    # While the theme day runs it counts nowhere; once ended, the silent member is not
    # absent until the record is confirmed.
    report = json.loads(djbot("report", "weekly", "--week", week, "--json"))
    branch = next(b for b in report["branches"] if b["name"] == BRANCHES[0])
    assert branch["activities"] == 0
    assert "已结束" in chat(djbot, "u10", "结束")
    report = json.loads(djbot("report", "weekly", "--week", week, "--json"))
    branch = next(b for b in report["branches"] if b["name"] == BRANCHES[0])
    assert (branch["present"], branch["late"], branch["leave"], branch["unconfirmed"]) == (7, 1, 1, 1)
    assert branch["participation"] == "8/8"
    assert "缺席 1 人" in chat(djbot, "u10", "确认缺席")
    report = json.loads(djbot("report", "weekly", "--week", week, "--json"))
    branch = next(b for b in report["branches"] if b["name"] == BRANCHES[0])
    assert (branch["present"], branch["late"], branch["leave"], branch["absent"]) == (7, 1, 1, 1)
    assert branch["participation"] == "8/9"

    # The figures docs/points.md gives for a 主题党日 (a test there ties the doc to the rules).
    rules = runtime.rules
    present, _ = rules.attendance_points("主题党日", "present")
    late, _ = rules.attendance_points("主题党日", "late")
    assert (present, late) == (3, 2)
    absent, _ = rules.attendance_points("主题党日", "absent")
    for user, expected in [("u11", present), ("u18", late), ("u17", 0), ("u19", absent)]:
        assert f"本周：{expected} 分" in chat(djbot, user, "积分", group=None)

    # Seven tie at the top of a 10-member branch: the board may name 3, so the tie is a
    # count, never an arbitrary three of the seven.
    board = chat(djbot, "u18", "排行榜 本周").splitlines()
    assert f"共 7 人并列第 1 名（{present} 分）" in board  # no names above it: no 「另有」
    assert not any(line.startswith("1. ") or "另有" in line for line in board)
    # 8th and not named: the group hears no place; it goes to u18 alone.
    assert board[-2:] == ["你的名次已私聊发给你。", "📣 11月23日 09:15 [wecom 私聊 u18] "
                          f"城关派出所党支部 本周积分排行：你第 8 名，{late} 分。"], board
    # No bottom list: the silent member with no points is not ranked in public.
    assert not any("成员1-9" in line for line in board)
