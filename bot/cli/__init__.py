"""The `djbot` command line. Each area adds its commands from its own module."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Annotated, Optional

import typer

if TYPE_CHECKING:  # imported when a command runs: `djbot --help` stays quick
    from bot.config import Settings

app = typer.Typer(
    help="党建助手 djbot: 支部签到、积分、提醒。默认使用本地 SQLite 文件，无需平台账号。",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    # Plain help text: rendering it with rich costs more than the rest of the start-up.
    rich_markup_mode=None,
)
db_app = typer.Typer(help="数据库迁移 (Alembic)。", no_args_is_help=True)
app.add_typer(db_app, name="db")

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
    from bot.config import Settings

    try:
        return Settings()
    except Exception as exc:  # pydantic ValidationError: one clear line per problem
        typer.echo(f"配置错误：{exc}", err=True)
        raise typer.Exit(2) from exc


def get_runtime(settings: Settings | None = None, *, default_log_level: str = "WARNING", **kwargs):
    from bot.logs import setup_logging
    from bot.runtime import build_runtime

    settings = settings or load_settings()
    setup_logging(settings, default_level=default_log_level)
    if "engine" not in kwargs:
        require_writable(settings)
    return build_runtime(settings, **kwargs)


def require_writable(settings: Settings) -> None:
    """Exit 2 with one line when the database cannot be written (no traceback to restart on)."""
    from storage import db

    engine = db.make_engine(settings.database_url)
    try:
        problem = db.write_problem(engine)
    finally:
        engine.dispose()
    if problem:
        typer.echo(f"{problem}。数据库：{_shown(settings.database_url)}", err=True)
        raise typer.Exit(2)


def _shown(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """升级数据库到最新结构。"""
    from storage import db

    settings = load_settings()
    engine = db.make_engine(settings.database_url)
    db.upgrade(engine, revision)
    typer.echo(f"数据库已升级到 {db.current_revision(engine)}")


@db_app.command("current")
def db_current() -> None:
    """显示数据库当前的迁移版本。"""
    from storage import db

    engine = db.make_engine(load_settings().database_url)
    typer.echo(f"当前 {db.current_revision(engine)}，最新 {db.head_revision(engine)}")


@app.command()
def chat(
    user: Annotated[str, typer.Option("--user", help="平台用户 ID（名册中的企业微信ID或钉钉ID）")],
    text: Annotated[Optional[str], typer.Argument(help="要发送的一句话；不给则进入交互模式")] = None,
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
    runtime = get_runtime()
    if text is not None:
        typer.echo(render(say(runtime, platform=platform, user=user, chat=chat_id, text=text,
                              private=private)))
        _after_console_turn(runtime)
        return
    where = "私聊" if private else f"群 {chat_id}"
    typer.echo(f"以 {platform} 用户 {user} 在{where}发言；输入「帮助」查看指令，Ctrl-D 退出。")
    while True:
        try:
            line = input("> ")
        except (EOFError, KeyboardInterrupt):
            typer.echo("")
            return
        if not line.strip():
            continue
        typer.echo(render(say(runtime, platform=platform, user=user, chat=chat_id, text=line,
                              private=private)))
        _after_console_turn(runtime)


def _after_console_turn(runtime) -> None:
    """Let the console show what djbot would send on its own (schedule issue hooks in here)."""
    hook = getattr(importlib.import_module("bot.console"), "after_turn", None)
    if hook is not None:
        hook(runtime)


for _name in CLI_MODULES:
    importlib.import_module(_name).register(app)


def main() -> None:
    app(prog_name="djbot")

