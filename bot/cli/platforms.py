"""`djbot serve` and `djbot doctor`: the service and its self-checks."""

from __future__ import annotations

import importlib
import logging
import socket
from typing import Annotated, Optional

import typer

# Each module has run(settings) -> list[tuple[bool | None, str]]: (ok, one line for the
# operator); ok None is a note: worth knowing, not a failure (it does not change the exit code).
MARKS = {True: "OK", False: "!!", None: "注"}
DOCTOR_AREAS = {
    "database": "bot.doctor",
    "schedule": "bot.scheduling.doctor",
    "wecom": "bot.adapters.wecom.doctor",
    "dingtalk": "bot.adapters.dingtalk.doctor",
    "web": "bot.web.doctor",
}

GRACEFUL_SHUTDOWN_SECONDS = 20


def register(app: typer.Typer) -> None:
    @app.command()
    def serve(
        host: Annotated[str, typer.Option(help="监听地址")] = "127.0.0.1",
        port: Annotated[int, typer.Option(min=0, max=65535,
                                          help="监听端口（0 为任一空闲端口）")] = 8000,
    ) -> None:
        """运行 HTTP 服务：已启用的平台回调、定时提醒和发件箱。"""
        import uvicorn

        from bot.app import create_app
        from bot.checks import os_reason, validate
        from bot.cli import get_runtime, load_settings

        settings = load_settings()
        if problems := validate(settings):  # found now, not at the first message
            for line in problems:
                typer.echo(f"配置错误：{line}", err=True)
            raise typer.Exit(2)
        runtime = get_runtime(settings, default_log_level="INFO")
        app_ = create_app(runtime)
        # The socket is bound here so the log can say which port (port 0 picks a free one).
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            typer.echo(f"无法监听 {host}:{port}：{os_reason(exc)}", err=True)
            raise typer.Exit(2) from None
        _log_start(settings, host, sock.getsockname()[1])
        # On SIGTERM uvicorn stops accepting and lets the requests in flight finish (each
        # answers only once its message is committed); the limit stays under systemd's
        # and Kubernetes' default 30 s stop timeout.
        config = uvicorn.Config(app_, log_config=None,
                                timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS)
        uvicorn.Server(config).run(sockets=[sock])

    @app.command()
    def doctor(
        area: Annotated[Optional[str], typer.Argument(help="database、schedule、wecom、dingtalk 或 web；不给则全部检查")] = None,
    ) -> None:
        """检查配置、数据库、节假日数据和平台凭据，逐条说明问题。"""
        from bot.cli import load_settings

        settings = load_settings()
        if area is not None and area not in DOCTOR_AREAS:
            typer.echo(f"未知的检查项「{area}」，可选：{'、'.join(DOCTOR_AREAS)}", err=True)
            raise typer.Exit(2)
        failed = False
        for name, module_name in DOCTOR_AREAS.items():
            if area is not None and name != area:
                continue
            module = importlib.import_module(module_name)
            for ok, line in module.run(settings):
                failed |= ok is False
                typer.echo(f"[{MARKS[ok]}] {name}: {line}")
        raise typer.Exit(1 if failed else 0)


def _log_start(settings, host: str, port: int) -> None:
    """One INFO line on start: where djbot listens and which platforms are mounted."""
    mounted = []
    if settings.wecom.enabled:
        mounted.append(f"企业微信（{'长连接' if settings.wecom.mode == 'ws' else '回调 /wecom/…'}）")
    if settings.dingtalk.enabled:
        mounted.append(f"钉钉（{'Stream' if settings.dingtalk.mode == 'stream' else '回调 /dingtalk/…'}）")
    from bot.cli import shown_url

    database = shown_url(settings.database_url)  # never the password
    logging.getLogger("djbot.serve").info(
        "djbot 在 http://%s:%d 上监听；平台：%s；数据库：%s", host, port,
        "、".join(mounted) or "未启用任何平台（只有 /healthz、/readyz、/metrics）", database)
