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


@pytest.mark.parametrize("group", [[], ["branch"], ["schedule"], ["report"]])
def test_each_commands_line_in_a_list_ends_at_a_sentence_or_a_pause(group, env):
    """Before, the list cut lines at click's English word boundary: 「tick … 默认在数据库副本上
    模拟， 真实数据不变；加...」, and `schedule pause` had a line of just 「...」."""
    text = CliRunner().invoke(app, [*group, "--help"], env=env).output
    listed = text[text.index("命令"):].splitlines()[1:]
    assert listed and all(not line.rstrip().endswith("...") for line in listed), text
    if not group:
        assert "tick           用手动时钟快进，逐步运行调度器，打印将要发出的每条消息。\n" in text


def test_a_docstrings_line_break_leaves_no_gap_in_chinese_help(env):
    text = CliRunner().invoke(app, ["tick", "--help"], env=env | {"COLUMNS": "200"}).output
    assert "默认在数据库副本上模拟，真实数据不变" in text


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
    (["report", "year", "--year", "2026"], "错误：没有选项 --year\n查看帮助：djbot report year -h"),
    (["report", "year", "2026", "--out", "年度考核.xlsx"], "错误：没有选项 --out；是不是 --to？"),
    (["report", "year", "2026", "2027"], "错误：多余的参数：2027\n查看帮助：djbot report year -h"),
    (["report", "weekly", "--week"], "错误：选项 --week 后面要写一个值"),
    (["report", "month"], "错误：没有命令「month」。\n查看帮助：djbot report -h"),
])
def test_a_command_line_it_cannot_read_is_said_in_chinese(env, args, said):
    """`djbot report year --year 2026`, as the office writes it, answered with the usage,
    「Try 'djbot report year -h' for help.」 and 「Error: No such option: --year」."""
    result = CliRunner().invoke(app, args, env=env, prog_name="djbot")
    assert result.exit_code == 2
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


@pytest.mark.parametrize("port, problem", [("99999", "应不大于 65535"), ("-1", "应不小于 0")])
def test_a_port_out_of_range_stops_serve_with_one_line(port, problem, env):
    """Before, --port 99999 ended in a traceback (OverflowError: bind(): port must be 0-65535)."""
    result = CliRunner().invoke(app, ["serve", "--port", port], env=env)
    assert result.exit_code == 2, result.output
    assert f"选项 --port 的值「{port}」无效：{problem}" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


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


@pytest.mark.parametrize("setting, value, example", [
    ("DJBOT_WECOM", "true", "DJBOT_WECOM__ENABLED=true"),
    ("DJBOT_DINGTALK", "{enabled: true", "DJBOT_DINGTALK__ENABLED=true"),
    ("DJBOT_WEB", "[]", "DJBOT_WEB__SECRET=")])
def test_a_section_set_whole_is_named_with_how_to_write_it(setting, value, example, env):
    """Before, DJBOT_WECOM=true (for DJBOT_WECOM__ENABLED=true) was refused in pydantic's
    English, and one that is no JSON ended in a traceback."""
    result = CliRunner().invoke(app, ["chat", "--user", "cg03", "积分"], env=env | {setting: value})
    assert result.exit_code == 2
    line = result.output.strip()
    assert line.startswith(f"配置错误：{setting} 无效：这是一组设置") and example in line, line
    assert "\n" not in line and "Input should" not in line


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


@pytest.mark.parametrize("args", [["chat", "--user", "cg03", "积分"], ["serve"]])
def test_a_database_server_not_there_is_said_so_not_called_unwritable(env, args):
    """Before, chat and serve said 「数据库无法写入（connection failed: … Connection
    refused）」: an operator looked at permissions, not at the address or the server."""
    url = "postgresql://djbot@127.0.0.1:1/djbot?connect_timeout=2"
    result = CliRunner().invoke(app, args, env=env | {"DJBOT_DATABASE_URL": url})
    assert result.exit_code == 2, (result.output, result.exception)
    assert result.output.startswith("无法连接数据库（") and "无法写入" not in result.output


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


def test_doctor_notes_an_empty_roster_then_no_bound_group_without_failing(env, tmp_path):
    """Before, doctor said all was well on a new database, where every message would be
    answered 「你还不在党员名册中」, then 「本群还没有绑定支部」."""
    assert CliRunner().invoke(app, ["db", "upgrade"], env=env).exit_code == 0
    empty = CliRunner().invoke(app, ["doctor", "database"], env=env)
    assert empty.exit_code == 0
    assert "[注] database: 名册还是空的" in empty.output and "djbot import-roster" in empty.output
    roster = tmp_path / "名册.csv"
    roster.write_text("支部,姓名,角色,企业微信ID,钉钉ID\n城关支部,王建国,书记,wjg,\n", encoding="utf-8")
    assert CliRunner().invoke(app, ["import-roster", str(roster)], env=env).exit_code == 0
    unbound = CliRunner().invoke(app, ["doctor", "database"], env=env)
    assert unbound.exit_code == 0 and "名册还是空的" not in unbound.output
    assert "[注] database: 还没有绑定任何群" in unbound.output and "「绑定 支部名称」" in unbound.output
    assert CliRunner().invoke(app, ["chat", "--user", "wjg", "--chat", "g1", "绑定 城关支部"],
                              env=env).exit_code == 0
    bound = CliRunner().invoke(app, ["doctor", "database"], env=env)
    assert bound.exit_code == 0 and "[注]" not in bound.output, bound.output


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



@pytest.mark.parametrize("args, problem, helped", [
    (["chat"], "错误：缺少选项 --user：平台用户 ID", "djbot chat -h"),
    (["chat", "--usr", "cg03"], "错误：没有选项 --usr；是不是 --user？", "djbot chat -h"),
    (["tick", "--until", "+1d", "--step", "五"], "错误：选项 --step 的值「五」无效：应为整数",
     "djbot tick -h"),
    (["audit", "--limit", "0"], "错误：选项 --limit 的值「0」无效：应不小于 1", "djbot audit -h"),
    (["schedule", "delete"], "错误：缺少参数 schedule_id：日程编号", "djbot schedule delete -h"),
    (["import-roster", "没有这个.xlsx"], "错误：参数 file：「没有这个.xlsx」不存在",
     "djbot import-roster -h"),
    (["report", "weekly", "上周"], "错误：多余的参数：上周", "djbot report weekly -h"),
    (["chat", "--user", "cg03", "--private=yes"], "错误：选项 --private 不带值", None),
    (["nocmd"], "错误：没有命令「nocmd」。", "djbot -h"),
])
def test_a_mistyped_command_line_is_answered_in_chinese_with_where_the_help_is(
        args, problem, helped, env):
    """Before, click's own English: 「Error: No such option: --usr」, 「Invalid value for
    '--step': Input should be a valid integer, unable to parse string as an integer」."""
    result = CliRunner().invoke(app, args, env=env, prog_name="djbot")
    assert result.exit_code == 2
    assert problem in result.output
    assert not re.search(r"Error|Try |Invalid value|Missing|No such|Got unexpected", result.output)
    if helped:
        assert f"查看帮助：{helped}" in result.output


@pytest.mark.parametrize("flag", ["--version", "-V"])
def test_the_version_is_what_the_package_says(flag, env):
    """Before, `djbot --version` answered 「No such option」: an operator reporting a problem
    could not say which djbot they run."""
    import tomllib
    from pathlib import Path

    project = tomllib.loads((Path(__file__).parent.parent / "pyproject.toml").read_text())
    result = CliRunner().invoke(app, [flag], env=env)
    assert result.exit_code == 0
    assert result.output == f"djbot {project['project']['version']}\n"


@pytest.mark.parametrize("args, code", [(["chat", "--user", "cg03", "积分"], 2),
                                        (["tick", "--until", "+1d"], 2),
                                        (["doctor", "database"], 1)])
def test_a_database_in_a_folder_not_there_is_named_by_every_command(args, code, tmp_path):
    """Before, chat, tick and serve said 「数据库无法写入（unable to open database file）」,
    and doctor advised djbot db upgrade, which then refused for the missing folder."""
    env = {"DJBOT_DATABASE_URL": f"sqlite:///{tmp_path / '数据' / 'djbot.db'}"}
    result = CliRunner().invoke(app, args, env=env)
    assert result.exit_code == code, result.output
    assert f"数据库所在的文件夹 {tmp_path / '数据'} 不存在" in result.output
    assert "unable to open" not in result.output and "db upgrade" not in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert not (tmp_path / "数据").exists()


def test_the_demos_tick_prints_what_would_be_sent_without_english_log_lines(env):
    """Before, `djbot tick` on the demo wrote 「… WARNING djbot.holidays: no holiday data for
    2027 …」 among the messages it showed, for each year the plan looked into (doctor says
    it, in Chinese); DJBOT_LOG_LEVEL=WARNING shows them."""
    assert CliRunner().invoke(app, ["demo"], env=env).exit_code == 0
    args = ["tick", "--from", "2030-01-07T08:00", "--until", "+1d", "--step", "30"]
    quiet = _djbot(args, env)
    assert quiet.returncode == 0, quiet.stderr
    assert "共发出" in quiet.stdout and quiet.stderr == ""


def test_a_file_or_port_djbot_cannot_use_is_said_in_chinese(env, tmp_path, monkeypatch):
    """Before, the system's English: 「无法写入 /tmp：Is a directory」, 「无法监听
    127.0.0.1:8000：Address already in use」, 「读不到 rules.toml：No such file or directory」."""
    import socket

    import uvicorn

    monkeypatch.setattr(uvicorn.Server, "run", lambda self, sockets=None: None)
    folder = CliRunner().invoke(app, ["report", "weekly", "--xlsx", str(tmp_path)], env=env)
    assert folder.exit_code == 2 and "是文件夹" in folder.output, folder.output
    assert "Is a directory" not in folder.output
    rules = CliRunner().invoke(app, ["chat", "--user", "cg03", "积分"],
                               env=env | {"DJBOT_RULES_FILE": str(tmp_path / "rules.toml")})
    assert rules.exit_code == 2 and "rules.toml：文件或文件夹不存在" in rules.output, rules.output
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        busy = CliRunner().invoke(app, ["serve", "--port", str(port)], env=env)
    assert busy.exit_code == 2 and f"无法监听 127.0.0.1:{port}：端口已被占用" in busy.output, busy.output
    assert not re.search(r"[A-Za-z]{4,} [a-z]{2,}", busy.output + folder.output + rules.output)


@pytest.mark.parametrize("url, told", [
    ("sqlite://djbot.db", "SQLite 地址应为 sqlite:/// 加文件路径（三个斜杠）"),
    ("sqlite:///", "没有给出数据库文件"), ("sqlite://", "没有给出数据库文件"),
    # Before, ModuleNotFoundError: No module named 'psycopg2', in a traceback.
    ("postgresql+psycopg2://djbot@127.0.0.1/djbot", "指定了驱动「psycopg2」，djbot 不带这个驱动："
                                                    "去掉 +psycopg2")])
def test_a_database_url_djbot_cannot_open_is_one_line(url, told, env):
    """Before, sqlite://djbot.db ended in SQLAlchemy's traceback (Invalid SQLite URL), and
    sqlite:/// answered once, then failed with a traceback (each connection its own empty
    database in memory)."""
    result = CliRunner().invoke(app, ["chat", "--user", "cg03", "积分"],
                                env=env | {"DJBOT_DATABASE_URL": url})
    assert result.exit_code == 2, (result.output, result.exception)
    assert result.output.startswith("配置错误：DJBOT_DATABASE_URL ") and told in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_db_current_on_a_first_run_says_what_to_do_and_creates_nothing(env, tmp_path):
    """Before, 「当前 None，最新 0018」, and an empty djbot.db left behind by the question."""
    first = CliRunner().invoke(app, ["db", "current"], env=env)
    assert first.exit_code == 0
    assert first.output.strip() == f"数据库文件 {tmp_path / 'djbot.db'} 还不存在：运行 djbot db upgrade 创建它"
    assert not (tmp_path / "djbot.db").exists()
    (tmp_path / "djbot.db").touch()
    empty = CliRunner().invoke(app, ["db", "current"], env=env)
    assert "None" not in empty.output and "数据库还没有建表" in empty.output
    CliRunner().invoke(app, ["db", "upgrade"], env=env)
    current = CliRunner().invoke(app, ["db", "current"], env=env)
    assert re.fullmatch(r"当前 (\d+)，最新 \1\n", current.output), current.output


def test_a_console_whose_reader_went_away_ends_quietly_and_sends_nothing_failed(env):
    """`djbot chat … | head`: the reminders the console shows after its reply met a closed
    pipe, and each was logged 「sender for wecom raised」 with a traceback and recorded as a
    failed try (BrokenPipeError, retried later). Now nothing is said on stderr and the
    reminders wait, untried, for the next console turn."""
    import os
    import sqlite3
    import subprocess
    import sys
    from pathlib import Path

    assert CliRunner().invoke(app, ["demo"], env=env).exit_code == 0
    root = Path(__file__).resolve().parent.parent
    clean = {k: v for k, v in os.environ.items() if not k.startswith("DJBOT_")}
    child = subprocess.Popen([sys.executable, "-m", "bot", "chat", "--user", "ld01", "帮助"],
                             cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             env=clean | {"PYTHONPATH": str(root)} | env)
    assert child.stdout is not None and child.stderr is not None
    # The reply comes in one write; the reader takes its first line and goes, as head does,
    # while the console is still running the scheduler before it shows what is due.
    assert child.stdout.readline()
    child.stdout.close()
    stderr = child.stderr.read().decode()
    child.wait(timeout=120)
    assert "Traceback" not in stderr and "sender" not in stderr, stderr
    database = env["DJBOT_DATABASE_URL"].removeprefix("sqlite:///")
    with sqlite3.connect(database) as db:
        rows = db.execute("SELECT status, attempts, last_error FROM outboxmessage").fetchall()
    assert rows, "the demo leaves reminders for the console to show"
    assert all(row == ("pending", 0, None) for row in rows), rows
    shown = _djbot(["chat", "--user", "ld01", "积分"], env)
    assert shown.stdout.count("📣") == len(rows), shown.stdout
