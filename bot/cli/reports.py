"""`djbot report`: the weekly report and any date range (annual assessment), as Markdown,
JSON or an Excel workbook."""

from __future__ import annotations

from datetime import date, tzinfo
from pathlib import Path
from typing import Annotated, Optional

import typer

from bot.domain.points import Period, date_range, last_complete_week, parse_iso_week, previous_period

report_app = typer.Typer(
    help="党建工作报告：各支部活动、参与率、积分、得分、档次、调研。默认输出 Markdown。",
)

JsonOption = Annotated[bool, typer.Option("--json", help="输出 JSON")]
XlsxOption = Annotated[Optional[Path], typer.Option("--xlsx", help="写入 Excel 文件")]
FromOption = Annotated[Optional[str], typer.Option("--from", help="开始日期 YYYY-MM-DD")]
ToOption = Annotated[Optional[str], typer.Option("--to", help="结束日期 YYYY-MM-DD（含当天）")]


def _runtime():
    # Looked up through bot.cli at call time, so tests can hand in their own runtime.
    from bot import cli

    return cli.get_runtime()


def emit(runtime, period: Period, *, as_json: bool, xlsx: Path | None) -> None:
    from storage.db import session_scope
    from storage.reports import build_report, render_json, render_markdown, write_xlsx

    if as_json and xlsx is not None:
        typer.echo("--json 和 --xlsx 只能选一个", err=True)
        raise typer.Exit(2)
    before = previous_period(period)
    with session_scope(runtime.engine) as session:
        report = build_report(session, start=period.start, end=period.end,
                              previous=(before.start, before.end), settings=runtime.settings,
                              rules=runtime.rules, title=period.label, now=runtime.clock.now())
    if xlsx is not None:
        write_xlsx(report, xlsx)
        typer.echo(f"已写入 {xlsx}")
    elif as_json:
        typer.echo(render_json(report))
    else:
        typer.echo(render_markdown(report, table=True), nl=False)


def _date(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        typer.echo(f"{option} 应为 YYYY-MM-DD 格式的日期，收到「{text}」", err=True)
        raise typer.Exit(2) from None


def _range(first: str | None, last: str | None, tz: tzinfo) -> Period:
    if not first or not last:
        typer.echo("需要同时给出 --from 和 --to，例如 --from 2026-01-01 --to 2026-12-31", err=True)
        raise typer.Exit(2)
    try:
        return date_range(_date(first, "--from"), _date(last, "--to"), tz)
    except ValueError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None


@report_app.callback(invoke_without_command=True)
def report(
    ctx: typer.Context,
    first: FromOption = None,
    last: ToOption = None,
    as_json: JsonOption = False,
    xlsx: XlsxOption = None,
) -> None:
    """`djbot report --from DATE --to DATE` is the same as `djbot report range …`."""
    if ctx.invoked_subcommand is not None:
        return
    if first is None and last is None:
        typer.echo(ctx.get_help())
        raise typer.Exit(0)
    runtime = _runtime()
    emit(runtime, _range(first, last, runtime.settings.tz), as_json=as_json, xlsx=xlsx)


@report_app.command("weekly")
def weekly(
    week: Annotated[Optional[str], typer.Option("--week", help="ISO 周，如 2026-W48；默认上一个完整周")] = None,
    as_json: JsonOption = False,
    xlsx: XlsxOption = None,
) -> None:
    """一周的报告（周一至周日）。"""
    runtime = _runtime()
    tz = runtime.settings.tz
    if week:
        try:
            period = parse_iso_week(week, tz)
        except ValueError as exc:
            typer.echo(str(exc), err=True)
            raise typer.Exit(2) from None
    else:
        period = last_complete_week(runtime.clock.now(), tz)
    emit(runtime, period, as_json=as_json, xlsx=xlsx)


@report_app.command("range")
def date_span(first: FromOption = None, last: ToOption = None, as_json: JsonOption = False,
              xlsx: XlsxOption = None) -> None:
    """任意日期区间的报告（如年度考核）。"""
    runtime = _runtime()
    emit(runtime, _range(first, last, runtime.settings.tz), as_json=as_json, xlsx=xlsx)


def register(app: typer.Typer) -> None:
    app.add_typer(report_app, name="report")

