"""Configuration errors found at start-up, one clear line each, before djbot serves anything.

`djbot serve` refuses to start while this list is non-empty, so a missing secret shows up
in the operator's terminal, not as a failed signature on the first member's message.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from bot.config import Settings

# For each platform and mode, the settings it cannot work without (env names shown to the operator).
REQUIRED = {
    ("wecom", "api"): ("aibot_token", "aibot_aes_key"),
    ("wecom", "ws"): ("bot_id", "bot_secret"),
    # robot_code: every reminder, and every reply once its sessionWebhook has expired,
    # goes by the robot APIs, which refuse a send without it.
    ("dingtalk", "http"): ("app_key", "app_secret", "robot_code"),
    ("dingtalk", "stream"): ("app_key", "app_secret", "robot_code"),
}
SUPPORTED_DATABASES = ("sqlite", "postgresql", "postgres")
PROXY_SCHEMES = ("http", "https", "socks5", "socks5h")  # what httpx takes


def validate(settings: Settings) -> list[str]:
    """Every problem that would stop djbot from working, as one line each; empty when fine."""
    return [*database_problems(settings.database_url), *_timezone(settings.timezone),
            *_platforms(settings), *stream_endpoint_problems(settings), *_web(settings),
            *rules_problems(settings.rules_file)]


def os_reason(exc: OSError) -> str:
    """Why a file or socket could not be used, in Chinese for the errors an operator meets;
    the system's own (English) words otherwise."""
    import errno
    import socket

    if isinstance(exc, socket.gaierror):
        return "找不到这个主机名"
    words = {errno.ENOENT: "文件或文件夹不存在", errno.EISDIR: "这是一个文件夹，不是文件",
             errno.ENOTDIR: "路径中有一段不是文件夹", errno.EACCES: "没有权限",
             errno.EPERM: "没有权限", errno.ENOSPC: "磁盘已满", errno.EROFS: "文件系统只读",
             errno.EADDRINUSE: "端口已被占用（是否已有 djbot 在运行？）",
             errno.EADDRNOTAVAIL: "本机没有这个地址"}
    return words.get(exc.errno) or exc.strerror or str(exc)


def rules_problems(path: Path | None) -> list[str]:
    """A rules file that cannot be read or is not valid: found at start, one line, rather
    than a traceback that systemd restarts every few seconds."""
    from bot.domain.rules import RulesError, load_rules

    try:
        load_rules(path)
    except OSError as exc:
        return [f"DJBOT_RULES_FILE 读不到 {path}：{os_reason(exc)}"]
    except RulesError as exc:
        return [f"DJBOT_RULES_FILE {path} 无效：{exc}"]
    return []


def sqlite_file(url: str) -> str | None:
    """The path of the SQLite database file the URL names; None for another database, an
    in-memory one, a file: URI, or a URL that does not parse (database_problems says so)."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return None
    path = parsed.database
    if parsed.get_backend_name() != "sqlite" or not path or path == ":memory:" \
            or path.startswith("file:"):
        return None
    return path


def missing_sqlite_file(url: str) -> str | None:
    """The path of a SQLite database file that is not there yet, else None."""
    path = sqlite_file(url)
    return None if path is None or Path(path).exists() else path


def database_problems(url: str) -> list[str]:
    """What is wrong with DJBOT_DATABASE_URL itself: what every command on the database
    checks before opening it."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return [
            "DJBOT_DATABASE_URL 不是有效的数据库地址："
            "应为 sqlite:///路径 或 postgresql://用户@主机:端口/库名"
        ]
    backend = parsed.get_backend_name()
    if backend not in SUPPORTED_DATABASES:
        return [f"DJBOT_DATABASE_URL 使用了不支持的数据库「{backend}」：只支持 sqlite 和 postgresql"]
    if "+" in parsed.drivername and parsed.get_driver_name() not in ("psycopg", "pysqlite"):
        # postgresql+psycopg2://, from another program's settings: a driver djbot does not ship.
        plain = "postgresql://用户@主机:端口/库名" if backend != "sqlite" else "sqlite:///路径"
        return [f"DJBOT_DATABASE_URL 指定了驱动「{parsed.get_driver_name()}」，djbot 不带这个驱动："
                f"去掉 +{parsed.get_driver_name()}，写成 {plain}（djbot 自己选驱动）"]
    if backend != "sqlite" and not parsed.database:
        return ["DJBOT_DATABASE_URL 缺少库名：例如 postgresql://djbot@db:5432/djbot"]
    if backend == "sqlite" and (parsed.host or parsed.username or parsed.port):
        # sqlite://djbot.db reads djbot.db as a host; SQLAlchemy then refuses with a traceback.
        return ["DJBOT_DATABASE_URL 的 SQLite 地址应为 sqlite:/// 加文件路径（三个斜杠）："
                "例如 sqlite:///djbot.db，绝对路径 sqlite:////var/lib/djbot/djbot.db"]
    if backend == "sqlite" and parsed.database in (None, "", ":memory:"):
        # An in-memory database is gone when the command ends, and each connection has its own.
        return ["DJBOT_DATABASE_URL 没有给出数据库文件（内存数据库在命令结束时就没了）："
                "例如 sqlite:///djbot.db"]
    path = sqlite_file(url)
    if path and not Path(path).parent.is_dir():
        # SQLite creates the file, not its folder; its own words: unable to open database file.
        return [f"数据库所在的文件夹 {Path(path).parent} 不存在：请检查 DJBOT_DATABASE_URL，"
                "或先创建这个文件夹"]
    return []


def _timezone(name: str) -> list[str]:
    # Settings already refuses an unknown zone; this also covers settings built without validation.
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return [f"DJBOT_TIMEZONE「{name}」不是已知的时区：例如 Asia/Shanghai"]
    return []


def _platforms(settings: Settings) -> list[str]:
    problems = []
    for platform in ("wecom", "dingtalk"):
        section = getattr(settings, platform)
        if not section.enabled:
            continue
        needed = REQUIRED.get((platform, section.mode))
        if needed is None:
            modes = "、".join(mode for p, mode in REQUIRED if p == platform)
            problems.append(
                f"DJBOT_{platform.upper()}__MODE「{section.mode}」无效：可选 {modes}"
            )
            continue
        for field in needed:
            if not getattr(section, field):
                problems.append(
                    f"已启用{PLATFORM_NAMES[platform]}（{section.mode} 模式），但缺少 "
                    f"DJBOT_{platform.upper()}__{field.upper()}"
                )
    if settings.dingtalk.enabled:
        for name in ("api_base", "oapi_base"):
            if not getattr(settings.dingtalk, name).startswith(("https://", "http://")):
                official = type(settings.dingtalk).model_fields[name].default
                problems.append(f"DJBOT_DINGTALK__{name.upper()} 应以 https:// 开头，"
                                f"例如 {official}（不设则用钉钉的官方地址）")
        # The callback's 消息体加密 settings; mount() would refuse them with a traceback.
        from bot.adapters.dingtalk.crypto import configuration_problem

        if (problem := configuration_problem(settings.dingtalk)) is not None:
            problems.append(f"钉钉消息体加密配置有误：{problem}")
    proxy = settings.wecom.proxy
    if settings.wecom.enabled and proxy and urlsplit(proxy).scheme not in PROXY_SCHEMES:
        # Not shown: a proxy URL may carry its password.
        problems.append("DJBOT_WECOM__PROXY 不是可用的代理地址：应为 http://主机:端口"
                        "（或 https://、socks5://）")
    key = settings.wecom.aibot_aes_key
    if settings.wecom.enabled and key and len(key) != 43:
        problems.append(
            f"DJBOT_WECOM__AIBOT_AES_KEY 应为 43 个字符（EncodingAESKey），现在是 {len(key)} 个"
        )
    return problems


PLATFORM_NAMES = {"wecom": "企业微信", "dingtalk": "钉钉"}


def stream_endpoint_problems(settings: Settings) -> list[str]:
    """dingtalk-stream opens its connection on DINGTALK_OPENAPI_ENDPOINT, read once when it
    is imported, not on DJBOT_DINGTALK__API_BASE: two different hosts are refused here, in
    one line, rather than by a traceback when the Stream service starts."""
    cfg = settings.dingtalk
    if not (cfg.enabled and cfg.mode == "stream"):
        return []
    imported = sys.modules.get("dingtalk_stream.utils")
    endpoint = (imported.DINGTALK_OPENAPI_ENDPOINT if imported is not None
                else os.environ.get("DINGTALK_OPENAPI_ENDPOINT"))
    if endpoint is None or endpoint.rstrip("/") == cfg.api_base.rstrip("/"):
        return []  # unset: djbot sets it from API_BASE (bot/adapters/dingtalk/stream.py)
    return [f"DINGTALK_OPENAPI_ENDPOINT={endpoint} 与 DJBOT_DINGTALK__API_BASE={cfg.api_base} "
            "不一致：Stream 模式会连到前者；请设为同一个地址，或删去 DINGTALK_OPENAPI_ENDPOINT"]


def _web(settings: Settings) -> list[str]:
    web = settings.web
    problems = []
    if web.secret and len(web.secret) < 32:
        problems.append("DJBOT_WEB__SECRET 太短：看板链接用它签名，至少 32 个字符"
                        "（例如 python -c \"import secrets; print(secrets.token_urlsafe(32))\"）")
    if web.base_url and not web.base_url.startswith(("https://", "http://")):
        problems.append("DJBOT_WEB__BASE_URL 应以 https:// 开头，例如 https://djbot.example.gov.cn")
    return problems
