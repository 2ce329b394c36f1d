"""The `djbot` command line. Each area adds its commands from its own module."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn, Optional

import typer

if TYPE_CHECKING:  # imported when a command runs: `djbot --help` stays quick
    from sqlalchemy.engine import Engine

    from bot.config import Settings

# Plain help (no boxes): the boxed layout cuts Chinese lines at 80 columns and shows
# <bool> for every flag; the plain one wraps long lines and shows no type for flags.
app = typer.Typer(
    help="党建助手 djbot: 支部签到、积分、提醒。默认使用本地 SQLite 文件，无需平台账号。",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    # Plain help text: rendering it with rich costs more than the rest of the start-up.
    rich_markup_mode=None,
    add_completion=False,
    context_settings={"max_content_width": 120, "help_option_names": ["-h", "--help"]},
)
db_app = typer.Typer(help="数据库迁移 (Alembic)。", no_args_is_help=True)


def _chinese_help() -> None:
    """The few words typer writes itself in --help ([required], Options, the help option…)
    and on a confirmation answered no, in Chinese. They are internals of typer: if they
    move, --help falls back to English."""
    words = {"required": "必填", "default: {default}": "默认：{default}",
             "env var: {var}": "环境变量：{var}", "Arguments": "参数", "Options": "选项",
             "Commands": "命令", "Missing command.": "缺少命令。",
             "No such command {name!r}.": "没有命令「{name}」。",
             # A confirmation answered no (forget, branch close), or with no one to answer.
             "Aborted!": "已取消，没有做任何更改。"}
    try:
        import typer.core as typer_core
        from typer._click import core as click_core
        from typer._click import formatting
    except ImportError:  # pragma: no cover - another typer layout
        return
    english = getattr(typer_core, "_", None)
    if english is None or getattr(english, "djbot", False):
        return

    def chinese(text: str) -> str:
        return words.get(text) or english(text)

    chinese.djbot = True  # type: ignore[attr-defined]
    typer_core._ = chinese
    get_help_option = click_core.Command.get_help_option

    def help_option(self, ctx):
        option = get_help_option(self, ctx)
        if option is not None:
            option.help = "显示此帮助并退出。"
        return option

    click_core.Command.get_help_option = help_option
    write_usage = formatting.HelpFormatter.write_usage

    def usage(self, prog, args="", prefix=None):
        return write_usage(self, prog, args, prefix if prefix is not None else "用法：")

    formatting.HelpFormatter.write_usage = usage
    # click joins a docstring's lines with a space, right for English, a stray gap between
    # two Chinese characters; and it shortens a command's line in a list at a word, where a
    # Chinese paragraph is one word: the line ended 「…；加...」. The first sentence says it.
    wrap_text = formatting.wrap_text
    formatting.wrap_text = lambda text, *args, **kwargs: wrap_text(_joined(text), *args, **kwargs)
    short_help = click_core.make_default_short_help

    def first_sentence(help: str, limit: int = 45) -> str:
        text = " ".join(_joined(help).split("\n\n")[0].split())
        if len(text) <= limit:
            return text
        if ends := [i for i, c in enumerate(text[:limit]) if c == "。"]:
            return text[:ends[-1] + 1]
        if pauses := [i for i, c in enumerate(text[:limit]) if c in "，；：、"]:
            return text[:pauses[-1]] + "…"
        return short_help(help, limit)

    click_core.make_default_short_help = first_sentence


def _joined(text: str) -> str:
    """Lines broken between two Chinese characters joined without a space."""
    import re

    return re.sub(r"(?<=[^\x00-\x7f])\n[ \t]*(?=[^\x00-\x7f])", "", text)


def _chinese_usage_errors() -> None:
    """click's usage errors (an unknown option, a missing argument, a value that is no
    number) in Chinese like every other djbot line: the usage, what is wrong, where the help
    is. A message not recognised here keeps click's own words."""
    try:
        from typer._click import exceptions
    except ImportError:  # pragma: no cover - another typer layout
        return
    if getattr(exceptions.UsageError.show, "djbot", False):
        return

    def show(self, file=None) -> None:
        if self.ctx is None:
            typer.echo(f"错误：{usage_problem(self)}", err=True)
            return
        typer.echo(f"{self.ctx.get_usage()}\n错误：{usage_problem(self)}\n"
                   f"查看帮助：{self.ctx.command_path} -h", err=True)

    show.djbot = True  # type: ignore[attr-defined]
    exceptions.UsageError.show = show


def usage_problem(error) -> str:
    """One Chinese line for a click usage error."""
    import re

    from typer._click import exceptions

    param = getattr(error, "param", None)
    if param is not None:
        is_option = param.param_type_name == "option"
        name = param.opts[0] if is_option and param.opts else param.name
        what = f"{'选项' if is_option else '参数'} {name}"
    if isinstance(error, exceptions.NoSuchOption):
        guess = "、".join(sorted(error.possibilities or ()))
        guess = f"；是不是 {guess}？" if guess else ""
        return f"没有选项 {error.option_name}{guess}"
    if isinstance(error, exceptions.MissingParameter) and param is not None:
        return f"缺少{what}" + (f"：{param.help}" if param.help else "")
    if isinstance(error, exceptions.BadOptionUsage):
        if error.message.endswith("requires an argument."):
            return f"选项 {error.option_name} 后面要写一个值"
        if error.message.endswith("does not take a value."):
            return f"选项 {error.option_name} 不带值：只写 {error.option_name}"
    if isinstance(error, exceptions.BadParameter) and param is not None:
        cause = error.__cause__
        if hasattr(cause, "errors") and cause.errors():
            detail = cause.errors()[0]
            shown = f"「{detail['input']}」" if isinstance(detail.get("input"), str) else ""
            return f"{what} 的值{shown}无效：{value_reason(detail)}"
        if found := re.fullmatch(r"\w+ '(.*)' does not exist\.", error.message):
            return f"{what}：「{found[1]}」不存在"
        if found := re.fullmatch(r"\w+ '(.*)' is a directory\.", error.message):
            return f"{what}：「{found[1]}」是文件夹，不是文件"
    if found := re.fullmatch(r"Got unexpected extra argument\(s\) \((.*)\)", error.message):
        return f"多余的参数：{found[1]}"
    return error.format_message()


def value_reason(error) -> str:
    """What a value should have been, from a pydantic error (a setting's or an option's)."""
    expected = {"bool_parsing": "应为 true 或 false", "int_parsing": "应为整数",
                "float_parsing": "应为数字", "time_parsing": "应为时间，如 22:00"}
    if error["type"] == "value_error":  # our own validators' words, without pydantic's
        return str(error["ctx"]["error"])
    if error["type"] == "greater_than_equal":
        return f"应不小于 {error['ctx']['ge']}"
    if error["type"] == "less_than_equal":
        return f"应不大于 {error['ctx']['le']}"
    return expected.get(error["type"], error["msg"])


_chinese_help()
_chinese_usage_errors()
app.add_typer(db_app, name="db")


def _print_version(asked: bool) -> None:
    if asked:
        from bot import __version__

        typer.echo(f"djbot {__version__}")
        raise typer.Exit()


# The options of djbot itself, before any command (the help text is the Typer's above).
@app.callback()
def _options(
    version: Annotated[bool, typer.Option("--version", "-V", is_eager=True, callback=_print_version,
                                          help="显示 djbot 的版本并退出。")] = False,
) -> None:
    pass


# Areas that add their own commands: each module has register(app).
CLI_MODULES = [
    "bot.cli.org",
    "bot.cli.reports",
    "bot.cli.schedule",
    "bot.cli.platforms",
    "bot.cli.ops",
    "bot.cli.docs",
    "bot.cli.push",
    "bot.cli.committee",
]


def load_settings() -> Settings:
    from pydantic import ValidationError

    from bot.config import Settings

    from pydantic_settings import SettingsError

    try:
        return Settings()
    except ValidationError as exc:  # one Chinese line per problem, no library links
        for line in config_problems(exc):
            typer.echo(f"配置错误：{line}", err=True)
        raise typer.Exit(2) from None
    except SettingsError as exc:  # a section given whole, as JSON that does not parse
        import re

        field = re.search(r'field "(\w+)"', str(exc))
        name = f"DJBOT_{field[1].upper()}" if field else "DJBOT_…"
        typer.echo(f"配置错误：{whole_section(name)}", err=True)
        raise typer.Exit(2) from None


def whole_section(name: str) -> str:
    """DJBOT_WECOM=true meant as DJBOT_WECOM__ENABLED=true: pydantic reads a section given
    whole as JSON, and says so in its own words or with a traceback."""
    example = {"DJBOT_WEB": "DJBOT_WEB__SECRET=…"}.get(name, f"{name}__ENABLED=true")
    return f"{name} 无效：这是一组设置，请逐项写成 {name}__项目=值，如 {example}"


def config_problems(exc) -> list[str]:
    """Pydantic's validation errors as one line each, naming the environment variable."""
    lines = []
    for error in exc.errors():
        name = "DJBOT_" + "__".join(str(part).upper() for part in error["loc"])
        value = error.get("input")
        shown = f"「{value}」" if isinstance(value, (str, int, float)) else ""
        if error["loc"] == ("timezone",):
            lines.append(f"{name}{shown}不是已知的时区：例如 Asia/Shanghai")
            continue
        if error["type"] == "model_type":
            lines.append(whole_section(name))
            continue
        lines.append(f"{name}{shown}无效：{value_reason(error)}")
    return lines


def get_runtime(settings: Settings | None = None, *, default_log_level: str = "WARNING", **kwargs):
    from bot.logs import setup_logging
    from bot.runtime import build_runtime

    from bot.checks import rules_problems

    from bot.checks import database_problems

    settings = settings or load_settings()
    # Every command loads the rules and opens the database.
    for problem in [*database_problems(settings.database_url),
                    *rules_problems(settings.rules_file)]:
        _refuse(f"配置错误：{problem}")
    setup_logging(settings, default_level=default_log_level)
    if "engine" not in kwargs:
        require_writable(settings)
    return build_runtime(settings, **kwargs)


def require_writable(settings: Settings) -> None:
    """Exit 2 with one line when the database cannot be written (no traceback to restart on),
    or is an embedded one a newer djbot migrated, which build_runtime would try to upgrade."""
    from storage import db

    engine = db.make_engine(settings.database_url)
    try:
        problem = db.write_problem(engine)
        if problem is None and engine.dialect.name == "sqlite":
            problem = db.newer_schema(engine)
    finally:
        engine.dispose()
    if problem:
        typer.echo(f"{problem}。数据库：{_shown(settings.database_url)}", err=True)
        raise typer.Exit(2)


def _shown(url: str) -> str:
    """The database URL as it may be shown or logged: never its password, whether in the
    user part or given to libpq as ?password=."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if "password" in parsed.query:
        parsed = parsed.update_query_dict({"password": "***"})
    return parsed.render_as_string(hide_password=True)


shown_url = _shown


def _refuse(line: str) -> NoReturn:
    typer.echo(line, err=True)
    raise typer.Exit(2)


def database_engine(settings: Settings, *, existing: bool = False) -> Engine:
    """The engine of DJBOT_DATABASE_URL, or one line and exit 2 when the URL is unusable.
    `existing`: the command reads a djbot database already there (backup, export, forget):
    a path that is not there is not created, and a database never migrated is refused, so
    a typo in the URL is not reported as an empty success."""
    from sqlalchemy import inspect
    from sqlalchemy.exc import SQLAlchemyError

    from bot.checks import database_problems, missing_sqlite_file
    from storage import db

    for problem in database_problems(settings.database_url):
        _refuse(f"配置错误：{problem}")
    if existing and (missing := missing_sqlite_file(settings.database_url)):
        _refuse(f"数据库文件 {missing} 不存在：请检查 DJBOT_DATABASE_URL")
    engine = db.make_engine(settings.database_url)
    if existing:
        try:
            with engine.connect() as conn:
                # Its roster table, for a schema built without Alembic (the tests' create_all).
                roster = inspect(conn).has_table("member")
        except SQLAlchemyError as exc:
            reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
            _refuse(f"无法连接数据库（{reason}）。数据库：{_shown(settings.database_url)}")
        if not roster and not db.stamped_revisions(engine):
            _refuse(f"数据库 {_shown(settings.database_url)} 不是 djbot 的数据库（没有迁移版本）"
                    "：请检查 DJBOT_DATABASE_URL；新数据库请先运行 djbot db upgrade")
    return engine


def write_file(write: Callable[[], object], path: Path, *, what: str = "文件") -> None:
    """Run `write` (which writes `path`), or say in one line why the file could not be
    written and exit 2: a folder that is not there, a disk full, no permission."""
    from bot.checks import os_reason

    if not path.parent.is_dir():
        _refuse(f"文件夹 {path.parent} 不存在，没有写入{what}；请先创建它或换一个路径")
    try:
        write()
    except OSError as exc:
        _refuse(f"无法写入 {path}：{os_reason(exc)}")


@db_app.command("upgrade")
def db_upgrade(
    revision: Annotated[str, typer.Option(help="升级到的迁移版本（djbot db current 可查看）")] = "head",
) -> None:
    """升级数据库到最新结构。"""
    from alembic.util.exc import CommandError

    from storage import db

    settings = load_settings()
    engine = database_engine(settings)  # the systemd unit's ExecStartPre: exit 2 stops it
    if problem := db.write_problem(engine) or db.newer_schema(engine):
        _refuse(f"{problem}。数据库：{_shown(settings.database_url)}")
    try:
        db.upgrade(engine, revision)
    except CommandError as exc:
        _refuse(f"未升级：{str(exc).splitlines()[0]}")
    typer.echo(f"数据库已升级到 {db.current_revision(engine)}")


@db_app.command("current")
def db_current() -> None:
    """显示数据库当前的迁移版本。"""
    from bot.checks import missing_sqlite_file
    from storage import db

    settings = load_settings()
    if missing := missing_sqlite_file(settings.database_url):  # a question creates no file
        typer.echo(f"数据库文件 {missing} 还不存在：运行 djbot db upgrade 创建它")
        return
    engine = database_engine(settings)
    current = db.current_revision(engine)
    if current is None:
        typer.echo(f"数据库还没有建表（最新 {db.head_revision(engine)}）：运行 djbot db upgrade")
        return
    typer.echo(f"当前 {current}，最新 {db.head_revision(engine)}")


@app.command()
def chat(
    user: Annotated[str, typer.Option("--user", help="平台用户 ID（名册中的企业微信ID或钉钉ID）")],
    text: Annotated[Optional[list[str]], typer.Argument(
        help="要发送的一句话（可以不加引号）；不给则进入交互模式", show_default=False,
        metavar="一句话")] = None,
    chat_id: Annotated[Optional[str], typer.Option("--chat", help="群聊 ID")] = None,
    platform: Annotated[str, typer.Option(help="wecom 或 dingtalk")] = "wecom",
    private: Annotated[bool, typer.Option("--private", help="私聊")] = False,
) -> None:
    """以某个平台用户的身份在群里（或私聊）发消息，打印回复。"""
    from bot.console import render, say

    if platform not in ("wecom", "dingtalk"):
        typer.echo("--platform 只能是 wecom 或 dingtalk", err=True)
        raise typer.Exit(2)
    if chat_id is None and not private:
        private = True
    # The console's output is the conversation: log lines stay out of it unless asked for
    # (DJBOT_LOG_LEVEL=INFO shows them, on stderr).
    runtime = get_runtime(default_log_level="ERROR")
    if text:
        # 积分 after a day away read the week without the absences confirmed meanwhile, and
        # the next command's figure differed: what fell due is done before the reply.
        _console_hook(runtime, "before_turn")
        typer.echo(render(say(runtime, platform=platform, user=user, chat=chat_id,
                              text=" ".join(text), private=private)))
        _after_console_turn(runtime)
        return
    where = "私聊" if private else f"群 {chat_id}"
    _line_editing()
    typer.echo(f"以 {platform} 用户 {user} 在{where}发言；输入「帮助」查看指令，"
               "输入「退出」（或 exit、quit、Ctrl-D）结束。")
    while True:
        try:
            line = input("> ")
        except (EOFError, KeyboardInterrupt):
            typer.echo("")
            break
        if line.strip().casefold() in QUIT_WORDS:
            break
        if not line.strip():
            continue
        _console_hook(runtime, "before_turn")  # what fell due while the line was typed
        typer.echo(render(say(runtime, platform=platform, user=user, chat=chat_id, text=line,
                              private=private)))
        _after_console_turn(runtime)


QUIT_WORDS = {"退出", "exit", "quit", "q", "再见", "结束对话"}


def _line_editing():
    """Arrow keys, editing and history for the interactive console (kept between sessions
    in ~/.djbot_history); None where readline is not available."""
    try:
        import atexit
        import readline
        from pathlib import Path
    except ImportError:  # pragma: no cover - Windows without pyreadline
        return None
    path = Path.home() / ".djbot_history"
    try:
        readline.read_history_file(path)
    except OSError:
        pass
    readline.set_history_length(1000)
    atexit.register(lambda: _save_history(readline, path))
    return path


def _save_history(readline, path) -> None:
    """Write the history, less the lines that set a push robot (设置 推送, 设置 钉钉推送: its
    URL and secret, which djbot never echoes or logs), to a file only its owner reads."""
    for index in reversed(range(readline.get_current_history_length())):
        line = readline.get_history_item(index + 1) or ""
        if line.strip().startswith("设置") and "推送" in line:
            readline.remove_history_item(index)
    try:
        path.touch(mode=0o600, exist_ok=True)
        path.chmod(0o600)
        readline.write_history_file(path)
    except OSError:
        pass


def _after_console_turn(runtime) -> None:
    """Let the console show what djbot would send on its own (schedule issue hooks in here)."""
    _console_hook(runtime, "after_turn")


def _console_hook(runtime, name: str) -> None:
    hook = getattr(importlib.import_module("bot.console"), name, None)
    if hook is not None:
        hook(runtime)


for _name in CLI_MODULES:
    importlib.import_module(_name).register(app)


def main() -> None:
    app(prog_name="djbot")

