"""The command line on a first run: Chinese help that is not cut, doctor's notes, one-line
configuration errors, `report --json weekly`, a missing folder for --xlsx, the console."""

from __future__ import annotations

import re

import json

import pytest
from typer.testing import CliRunner

from bot.cli import app

pytestmark = pytest.mark.own_databases


@pytest.fixture
def env(tmp_path):
    return {"DJBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'djbot.db'}", "COLUMNS": "80"}


@pytest.mark.parametrize("args", [["--help"], ["chat", "--help"], ["import-roster", "--help"],
                                  ["report", "weekly", "--help"], ["demo", "--help"]])
def test_help_is_chinese_whole_and_without_types_for_flags(args, env):
    result = CliRunner().invoke(app, args, env=env)
    assert result.exit_code == 0
    text = result.output
    assert "<bool>" not in text and "…" not in text  # nothing cut at 80 columns
    assert "Show this message" not in text and "显示此帮助并退出" in text
    assert "用法：djbot" in text or "用法：" in text


def test_the_demo_help_line_is_shown_whole(env):
    text = CliRunner().invoke(app, ["--help"], env=env).output
    assert "再次运行会清空演示数据重新开始" in text


def test_a_configuration_error_is_one_chinese_line_and_exit_2(env):
    result = CliRunner().invoke(app, ["doctor"], env=env | {"DJBOT_TIMEZONE": "Mars/Base"})
    assert result.exit_code == 2
    assert result.output.strip() == "配置错误：DJBOT_TIMEZONE「Mars/Base」不是已知的时区：例如 Asia/Shanghai"
    bad_flag = CliRunner().invoke(app, ["doctor"], env=env | {"DJBOT_LOG_JSON": "maybe"})
    assert bad_flag.exit_code == 2 and "DJBOT_LOG_JSON「maybe」无效：应为 true 或 false" in bad_flag.output
    assert "pydantic" not in bad_flag.output


def test_next_years_missing_holidays_are_a_note_not_a_failure(env, monkeypatch):
    from bot.scheduling import doctor

    monkeypatch.setattr(doctor, "run", lambda settings: [(True, "今年有数据"), (None, "明年还没有")])
    result = CliRunner().invoke(app, ["doctor", "schedule"], env=env)
    assert result.exit_code == 0
    assert "[注] schedule: 明年还没有" in result.output


def test_report_options_may_come_before_the_sub_command(env, tmp_path):
    assert CliRunner().invoke(app, ["demo"], env=env).exit_code == 0
    before = CliRunner().invoke(app, ["report", "--json", "weekly"], env=env)
    after = CliRunner().invoke(app, ["report", "weekly", "--json"], env=env)
    assert before.exit_code == after.exit_code == 0
    assert json.loads(before.stdout) == json.loads(after.stdout)
    missing = CliRunner().invoke(app, ["report", "weekly", "--xlsx", str(tmp_path / "无" / "r.xlsx")],
                                 env=env)
    assert missing.exit_code == 2
    assert missing.output.strip().count("\n") == 0 and "不存在" in missing.output
    assert "Traceback" not in missing.output


@pytest.mark.parametrize("args, said", [
    (["report", "year", "--year", "2026"], "没有选项 --year。查看用法：djbot report year -h"),
    (["report", "year", "2026", "--out", "年度考核.xlsx"], "没有选项 --out（可用的相近选项：--to）"),
    (["report", "year", "2026", "2027"], "多余的参数：2027。查看用法：djbot report year -h"),
    (["report", "weekly", "--week"], "选项 --week 后面要写一个值"),
    (["report", "month"], "没有命令 'month'。查看用法：djbot report -h"),
])
def test_a_command_line_it_cannot_read_is_one_chinese_line(env, args, said):
    """`djbot report year --year 2026`, as the office writes it, answered with the usage,
    「Try 'djbot report year -h' for help.」 and 「Error: No such option: --year」."""
    result = CliRunner().invoke(app, args, env=env, prog_name="djbot")
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [result.output.strip()], result.output
    assert said in result.output and "Error" not in result.output, result.output


def test_the_console_quits_on_the_words_people_use(env):
    CliRunner().invoke(app, ["demo"], env=env)
    for word in ("退出", "exit", "QUIT"):
        result = CliRunner().invoke(app, ["chat", "--user", "cg03"], input=f"积分\n{word}\n签到\n",
                                    env=env | {"HOME": env["DJBOT_DATABASE_URL"][10:-9]})
        assert result.exit_code == 0
        assert "张伟 的积分" in result.output
        assert "没有可以签到" not in result.output  # nothing after 退出 was sent


def test_chat_takes_the_words_without_quotes(env):
    CliRunner().invoke(app, ["demo"], env=env)
    result = CliRunner().invoke(app, ["chat", "--user", "ld01", "红黄蓝榜", "本周"], env=env)
    assert result.exit_code == 0 and result.output.startswith("红黄蓝榜（本周")


def test_serve_says_where_it_listens_and_what_is_mounted(env, monkeypatch):
    import uvicorn

    monkeypatch.setattr(uvicorn.Server, "run", lambda self, sockets=None: None)
    result = CliRunner().invoke(app, ["serve", "--port", "0"], env=env)
    assert result.exit_code == 0, result.output
    # Port 0: the socket is bound first, so the line names the port actually chosen.
    assert re.search(r"djbot 在 http://127\.0\.0\.1:[1-9]\d* 上监听", result.output), result.output
    assert "未启用任何平台" in result.output and "INFO" in result.output


def _djbot(args: list[str], env: dict[str, str]):
    """`python -m bot …` in a fresh interpreter: what the operator's terminal shows."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    clean = {k: v for k, v in os.environ.items()
             if not k.startswith("DJBOT_") and k != "DINGTALK_OPENAPI_ENDPOINT"}
    return subprocess.run([sys.executable, "-m", "bot", *args], cwd=root, text=True,
                          capture_output=True, timeout=120,
                          env=clean | {"PYTHONPATH": str(root)} | env)


def test_stream_mode_with_another_sdk_endpoint_is_refused_in_one_line(env):
    # dingtalk-stream would open its connection on DINGTALK_OPENAPI_ENDPOINT, not on
    # API_BASE: serve says so in one line, not with a traceback systemd restarts on.
    result = _djbot(["serve", "--port", "0"], env | {
        "DJBOT_DINGTALK__ENABLED": "true", "DJBOT_DINGTALK__MODE": "stream",
        "DJBOT_DINGTALK__APP_KEY": "ding-key", "DJBOT_DINGTALK__APP_SECRET": "ding-secret",
        "DJBOT_DINGTALK__ROBOT_CODE": "ding-robot",
        "DINGTALK_OPENAPI_ENDPOINT": "https://gateway.example.cn"})
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert "DINGTALK_OPENAPI_ENDPOINT" in result.stderr and "ding-secret" not in result.stderr
    doctor = _djbot(["doctor", "dingtalk"], env | {
        "DJBOT_DINGTALK__ENABLED": "true", "DJBOT_DINGTALK__MODE": "stream",
        "DJBOT_DINGTALK__APP_KEY": "k", "DJBOT_DINGTALK__APP_SECRET": "s",
        "DJBOT_DINGTALK__API_BASE": "http://127.0.0.1:9",
        "DINGTALK_OPENAPI_ENDPOINT": "https://gateway.example.cn"})
    assert "[!!] dingtalk: DINGTALK_OPENAPI_ENDPOINT" in doctor.stdout, doctor.stdout


@pytest.mark.parametrize("setting, value", [("DJBOT_LOG_LEVEL", "LOUD"),
                                            ("DJBOT_DATABASE_URL", "mysql://djbot@db/djbot"),
                                            ("DJBOT_RETENTION_DAYS", "0"),
                                            ("DJBOT_TICK_SECONDS", "-5"),
                                            # Every check-in on time would count late.
                                            ("DJBOT_LATE_GRACE_MINUTES", "-10"),
                                            ("DJBOT_CHECKIN_OPENS_MINUTES_BEFORE", "-5"),
                                            ("DJBOT_ABSENCE_CONFIRM_HOURS", "-1"),
                                            ("DJBOT_CATCHUP_GRACE_MINUTES", "-1"),
                                            ("DJBOT_VISIT_TARGET_PER_YEAR", "-2"),
                                            # Every signed callback would be refused.
                                            ("DJBOT_DINGTALK__MAX_CLOCK_SKEW_SECONDS", "0")])
@pytest.mark.parametrize("args", [["chat", "--user", "cg03", "积分"], ["demo"]])
def test_a_bad_setting_stops_the_console_and_the_demo_with_one_line(env, args, setting, value):
    result = CliRunner().invoke(app, args, env=env | {setting: value})
    assert result.exit_code == 2, (result.output, result.exception)
    assert result.output.count("\n") == 1 and setting in result.output, result.output


def test_a_malformed_dingtalk_aes_key_stops_serve_with_one_line(env, monkeypatch):
    import uvicorn

    monkeypatch.setattr(uvicorn.Server, "run", lambda self, sockets=None: None)
    result = CliRunner().invoke(app, ["serve", "--port", "0"], env=env | {
        "DJBOT_DINGTALK__ENABLED": "true", "DJBOT_DINGTALK__APP_KEY": "ding-key",
        "DJBOT_DINGTALK__APP_SECRET": "ding-secret",
        "DJBOT_DINGTALK__ROBOT_CODE": "ding-robot", "DJBOT_DINGTALK__CALLBACK_TOKEN": "t",
        "DJBOT_DINGTALK__CALLBACK_AES_KEY": "too-short"})
    assert result.exit_code == 2, (result.output, result.exception)
    assert result.output.count("\n") == 1
    assert "配置错误：" in result.output and "DJBOT_DINGTALK__CALLBACK_AES_KEY" in result.output


def test_a_proxy_djbot_cannot_use_stops_serve_with_one_line_and_no_password(env, monkeypatch):
    import uvicorn

    monkeypatch.setattr(uvicorn.Server, "run", lambda self, sockets=None: None)
    result = CliRunner().invoke(app, ["serve", "--port", "0"], env=env | {
        "DJBOT_WECOM__ENABLED": "true", "DJBOT_WECOM__AIBOT_TOKEN": "t",
        "DJBOT_WECOM__AIBOT_AES_KEY": "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
        "DJBOT_WECOM__PROXY": "htp://djbot:s3cret@proxy.example.cn:3128"})
    assert result.exit_code == 2, (result.output, result.exception)
    assert result.output.count("\n") == 1 and "DJBOT_WECOM__PROXY" in result.output
    assert "s3cret" not in result.output


@pytest.mark.parametrize("setting", ["DJBOT_DINGTALK__API_BASE", "DJBOT_DINGTALK__OAPI_BASE"])
def test_a_dingtalk_host_that_is_no_url_stops_serve_with_one_line(env, monkeypatch, setting):
    # Taken, every send and the Stream connection would fail, retried for ever.
    import uvicorn

    monkeypatch.setattr(uvicorn.Server, "run", lambda self, sockets=None: None)
    result = CliRunner().invoke(app, ["serve", "--port", "0"], env=env | {
        "DJBOT_DINGTALK__ENABLED": "true", "DJBOT_DINGTALK__APP_KEY": "ding-key",
        "DJBOT_DINGTALK__APP_SECRET": "ding-secret",
        "DJBOT_DINGTALK__ROBOT_CODE": "ding-robot", setting: "api.dingtalk.com"})
    assert result.exit_code == 2, (result.output, result.exception)
    assert result.output.count("\n") == 1 and setting in result.output


def test_the_console_history_keeps_no_push_secret_and_is_the_users_alone(tmp_path, monkeypatch):
    """An operator may set a group's push robot from the console (a private chat): the
    line carries the robot's URL and secret, which djbot never echoes or logs. The
    console's history file, kept between sessions, does not keep it either, and others
    on the server cannot read the file."""
    readline = pytest.importorskip("readline")
    from bot import cli

    monkeypatch.setenv("HOME", str(tmp_path))
    at_exit: list = []
    monkeypatch.setattr("atexit.register", at_exit.append)
    readline.clear_history()
    try:
        path = cli._line_editing()
        for line in ("积分", "设置 钉钉推送 第一支部 https://oapi.dingtalk.com/robot/send?"
                             "access_token=abc123 SECdeadbeef", "设置 推送 第一支部 "
                             "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k-e-y", "签到"):
            readline.add_history(line)
        (save,) = at_exit
        save()  # what runs when the console ends
    finally:
        readline.clear_history()
    text = path.read_text(encoding="utf-8", errors="replace")
    assert "积分" in text and "签到" in text
    assert "SECdeadbeef" not in text and "abc123" not in text and "k-e-y" not in text
    assert path.stat().st_mode & 0o077 == 0


@pytest.mark.parametrize("args", [["chat", "--user", "cg03", "积分"], ["demo"]])
def test_an_unreachable_database_is_one_line_without_its_password(env, args):
    # libpq takes the password as a query parameter too; it is hidden there as well.
    url = "postgresql://djbot@127.0.0.1:1/djbot?password=s3cret&connect_timeout=2"
    result = CliRunner().invoke(app, args, env=env | {"DJBOT_DATABASE_URL": url})
    assert result.exit_code == 2, (result.output, result.exception)
    assert result.output.count("\n") == 1 and "s3cret" not in result.output, result.output


def test_dingtalk_without_its_robot_code_stops_serve_with_one_line(env, monkeypatch):
    # Replies by sessionWebhook would work, so a first try in a group looks fine; but every
    # reminder, and every reply after the webhook's 90 minutes, would be refused for good.
    import uvicorn

    monkeypatch.setattr(uvicorn.Server, "run", lambda self, sockets=None: None)
    result = CliRunner().invoke(app, ["serve", "--port", "0"], env=env | {
        "DJBOT_DINGTALK__ENABLED": "true", "DJBOT_DINGTALK__MODE": "stream",
        "DJBOT_DINGTALK__APP_KEY": "ding-key", "DJBOT_DINGTALK__APP_SECRET": "ding-secret"})
    assert result.exit_code == 2, (result.output, result.exception)
    assert result.output.strip() == ("配置错误：已启用钉钉（stream 模式），但缺少 "
                                     "DJBOT_DINGTALK__ROBOT_CODE")


def test_doctor_on_a_first_run_says_what_to_do_and_creates_nothing(env, tmp_path):
    result = CliRunner().invoke(app, ["doctor", "database"], env=env)
    assert result.exit_code == 1
    assert "None" not in result.output and "djbot db upgrade" in result.output, result.output
    assert not (tmp_path / "djbot.db").exists()  # a check, not the first run itself
    every = CliRunner().invoke(app, ["doctor"], env=env | {
        "DJBOT_DINGTALK__ENABLED": "true", "DJBOT_DINGTALK__APP_KEY": "k",
        "DJBOT_DINGTALK__APP_SECRET": "s", "DJBOT_DINGTALK__API_BASE": "http://127.0.0.1:9"})
    assert every.exit_code == 1 and not (tmp_path / "djbot.db").exists(), every.output


def test_an_empty_rules_file_or_log_level_setting_means_the_default(env):
    # DJBOT_RULES_FILE= in an env file is how the example leaves a setting unset.
    assert CliRunner().invoke(app, ["demo"], env=env).exit_code == 0
    result = CliRunner().invoke(app, ["chat", "--user", "cg03", "积分规则"],
                                env=env | {"DJBOT_RULES_FILE": "", "DJBOT_LOG_LEVEL": ""})
    assert result.exit_code == 0, result.output
    assert result.output.startswith("积分规则（版本"), result.output


def test_every_command_says_what_each_of_its_arguments_and_options_is():
    """Before, `djbot db upgrade --help` listed --revision with no word of what it takes,
    and `djbot outbox --help` --limit."""
    import typer

    def commands(group, path):  # a group's own options too (djbot outbox lists messages)
        yield path, group
        for name, command in getattr(group, "commands", {}).items():
            yield from commands(command, [*path, name])

    unsaid = [(" ".join(path), p.name) for path, command
              in commands(typer.main.get_command(app), []) for p in command.params
              if p.name != "help" and not getattr(p, "help", None)]
    assert unsaid == []
