"""`djbot report`: the weekly report and any date range (annual assessment), as Markdown,
JSON or an Excel workbook; `report year` the 述职报告's figures, also as a Word document."""

from __future__ import annotations

from datetime import date, timedelta, tzinfo
from pathlib import Path
from typing import Annotated, Optional

import typer

from bot.domain.points import Period, date_range, last_complete_week, parse_iso_week, previous_period

report_app = typer.Typer(
    help="党建工作报告：各支部活动、参与率、积分、得分、档次、调研。默认输出 Markdown。",
)

JsonOption = Annotated[bool, typer.Option("--json", help="输出 JSON")]
XlsxOption = Annotated[Optional[Path], typer.Option("--xlsx", help="写入 Excel 文件")]
DocxOption = Annotated[Optional[Path], typer.Option("--docx", help="写入 Word 文件（述职报告数据）")]
FromOption = Annotated[Optional[str], typer.Option("--from", help="开始日期 YYYY-MM-DD")]
ToOption = Annotated[Optional[str], typer.Option("--to", help="结束日期 YYYY-MM-DD（含当天）")]


def _runtime():
    # Looked up through bot.cli at call time, so tests can hand in their own runtime.
    from bot import cli

    return cli.get_runtime()


def _write_file(write, path: Path, suffix: str) -> None:
    from bot.cli import write_file

    option = f"--{suffix.lstrip('.')}"
    if path.is_dir():
        typer.echo(f"{option} 要写文件名，{path} 是文件夹：例如 {path / ('年度考核' + suffix)}",
                   err=True)
        raise typer.Exit(2)
    if path.suffix.lower() != suffix:
        # 年度考核.docx from --xlsx was a workbook Word could not open, the options swapped.
        typer.echo(f"{option} 写出的文件应以 {suffix} 结尾，收到「{path.name}」", err=True)
        raise typer.Exit(2)
    write_file(write, path, what="报告")


def emit(runtime, period: Period, *, as_json: bool, xlsx: Path | None) -> None:
    from storage.db import session_scope
    from storage.reports import build_report, render_json, render_markdown, write_xlsx

    if as_json and xlsx is not None:
        typer.echo("--json 和 --xlsx 只能选一个", err=True)
        raise typer.Exit(2)
    _not_ahead(runtime, period)
    before = previous_period(period)
    with session_scope(runtime.engine) as session:
        report = build_report(session, start=period.start, end=period.end,
                              previous=(before.start, before.end), tz=runtime.settings.tz,
                              visit_target=runtime.settings.visit_target_per_year,
                              rules=runtime.rules, title=period.label, now=runtime.clock.now())
        no_roster = _no_roster(session)
    if xlsx is not None:
        _write_file(lambda: write_xlsx(report, xlsx), xlsx, ".xlsx")
        typer.echo(f"已写入 {xlsx}")
    elif as_json:
        typer.echo(render_json(report))
    else:
        typer.echo(render_markdown(report, table=True), nl=False)
    if no_roster:  # an empty table with no word of why, on a first run
        typer.echo(NO_ROSTER, err=True)


NO_ROSTER = ("名册中还没有支部，报告是空的：先用 djbot import-roster 导入名册，"
             "或用 djbot demo 试用。")


def _no_roster(session) -> bool:
    from sqlmodel import select

    from storage.models import Branch

    return session.exec(select(Branch.id).limit(1)).first() is None


def _not_ahead(runtime, period: Period) -> None:
    """A period that has not begun has nothing to count: `report year 2027` typed in
    December gave a table of noughts headed 2027年（截至12月7日）."""
    today = runtime.clock.now().astimezone(runtime.settings.tz).date()
    first = period.start.astimezone(runtime.settings.tz).date()
    if first > today:
        typer.echo(f"统计区间从 {first} 开始，还没有到（今天是 {today}）", err=True)
        raise typer.Exit(2)


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
    docx: DocxOption = None,
) -> None:
    """`djbot report --from DATE --to DATE` is the same as `djbot report range …`;
    with --docx it writes that range's 述职报告 figures (as `report year` does)."""
    if ctx.invoked_subcommand is not None:
        # `report --json weekly` means `report weekly --json`: the options are handed on.
        ctx.obj = {"as_json": as_json, "xlsx": xlsx, "docx": docx, "first": first, "last": last}
        if docx is not None and ctx.invoked_subcommand != "year":
            # Dropped, it left a caller waiting for a file that was never written.
            typer.echo("--docx 只用于述职报告数据：djbot report year 2026 --docx 文件名.docx",
                       err=True)
            raise typer.Exit(2)
        if (first or last) and ctx.invoked_subcommand == "weekly":
            typer.echo("--from/--to 用于日期区间，不能和 weekly 一起用；"
                       "看某一周请用 djbot report weekly --week 2026-W48", err=True)
            raise typer.Exit(2)
        return
    if first is None and last is None:
        typer.echo(ctx.get_help())
        raise typer.Exit(0)
    runtime = _runtime()
    period = _range(first, last, runtime.settings.tz)
    if docx is not None:
        emit_year(runtime, period, as_json=as_json, xlsx=xlsx, docx=docx)
    else:
        emit(runtime, period, as_json=as_json, xlsx=xlsx)


@report_app.command("weekly")
def weekly(
    ctx: typer.Context,
    week: Annotated[Optional[str], typer.Option("--week", help="ISO 周，如 2026-W48；默认上一个完整周")] = None,
    as_json: JsonOption = False,
    xlsx: XlsxOption = None,
) -> None:
    """一周的报告（周一至周日）。"""
    as_json, xlsx = _inherited(ctx, as_json, xlsx)
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
def date_span(ctx: typer.Context, first: FromOption = None, last: ToOption = None,
              as_json: JsonOption = False, xlsx: XlsxOption = None) -> None:
    """任意日期区间的报告（如年度考核）。"""
    as_json, xlsx = _inherited(ctx, as_json, xlsx)
    first, last = _inherited_range(ctx, first, last)
    runtime = _runtime()
    emit(runtime, _range(first, last, runtime.settings.tz), as_json=as_json, xlsx=xlsx)


def emit_year(runtime, period: Period, *, as_json: bool, xlsx: Path | None,
              docx: Path | None) -> None:
    from storage import yearly
    from storage.db import session_scope

    if sum((as_json, xlsx is not None, docx is not None)) > 1:
        typer.echo("--json、--xlsx 和 --docx 只能选一个", err=True)
        raise typer.Exit(2)
    _not_ahead(runtime, period)
    with session_scope(runtime.engine) as session:
        figures = yearly.build_year(session, period=period, now=runtime.clock.now(),
                                    tz=runtime.settings.tz, rules=runtime.rules,
                                    visit_target=runtime.settings.visit_target_per_year)
    if xlsx is not None:
        _write_file(lambda: yearly.write_xlsx(figures, xlsx), xlsx, ".xlsx")
        typer.echo(f"已写入 {xlsx}（汇总、支部、党员 {len(figures.members)} 人、先锋党员、口径）")
    elif docx is not None:
        _write_file(lambda: yearly.write_docx(figures, docx), docx, ".docx")
        typer.echo(f"已写入 {docx}")
    elif as_json:
        typer.echo(yearly.render_json(figures))
    else:
        typer.echo(yearly.render_markdown(figures), nl=False)


_QUARTER = {"Q1": 1, "Q2": 4, "Q3": 7, "Q4": 10}


def _year_period(year: str | None, quarter: str | None, first: str | None, last: str | None,
                 tz: tzinfo) -> Period:
    if first or last:
        if year or quarter:
            typer.echo("年份/--quarter 与 --from/--to 只能选一种", err=True)
            raise typer.Exit(2)
        return _range(first, last, tz)
    if year is None or not year.isdigit() or len(year) != 4:
        typer.echo(f"年份应为四位数字，例如 djbot report year 2026，收到「{year or ''}」", err=True)
        raise typer.Exit(2)
    if not 2000 <= int(year) <= 2100:  # 1999 is four digits: said so, it was told it was not
        typer.echo(f"年份应在 2000 到 2100 之间，收到「{year}」", err=True)
        raise typer.Exit(2)
    number = int(year)
    if quarter is None:
        return date_range(date(number, 1, 1), date(number, 12, 31), tz)
    month = _QUARTER.get(quarter.upper().removeprefix(f"{number}-").removeprefix(str(number)))
    if month is None:
        typer.echo(f"--quarter 应为 Q1–Q4，收到「{quarter}」", err=True)
        raise typer.Exit(2)
    last_day = date(number, month + 3, 1) - timedelta(days=1) if month < 10 else date(number, 12, 31)
    return date_range(date(number, month, 1), last_day, tz)


@report_app.command("year")
def year_figures(
    ctx: typer.Context,
    year: Annotated[Optional[str], typer.Argument(help="年份，如 2026")] = None,
    quarter: Annotated[Optional[str], typer.Option("--quarter", help="只统计一个季度：Q1–Q4")] = None,
    first: FromOption = None,
    last: ToOption = None,
    as_json: JsonOption = False,
    xlsx: XlsxOption = None,
    docx: DocxOption = None,
) -> None:
    """述职报告的年度数据：中心组、第一议题、读书班参训率、夜学、调研、先锋党员、约谈、结对…

    --xlsx 写出汇总、各支部和每名党员的年度积分（考核、评先树优用），--docx 写出可直接
    粘贴的段落。也可用 --quarter 或 --from/--to 统计任意区间。
    """
    as_json, xlsx = _inherited(ctx, as_json, xlsx)
    docx = docx or (ctx.obj or {}).get("docx")
    first, last = _inherited_range(ctx, first, last)
    runtime = _runtime()
    period = _year_period(year, quarter, first, last, runtime.settings.tz)
    emit_year(runtime, period, as_json=as_json, xlsx=xlsx, docx=docx)


def _inherited(ctx: typer.Context, as_json: bool, xlsx: Path | None) -> tuple[bool, Path | None]:
    """Options given before the sub-command (`report --json weekly`) count as given after."""
    given = ctx.obj or {}
    return as_json or bool(given.get("as_json")), xlsx or given.get("xlsx")


def _inherited_range(ctx: typer.Context, first: str | None,
                     last: str | None) -> tuple[str | None, str | None]:
    """`report --from A --to B year` (or range): the dates given before count as after."""
    given = ctx.obj or {}
    return first or given.get("first"), last or given.get("last")


def register(app: typer.Typer) -> None:
    app.add_typer(report_app, name="report")

