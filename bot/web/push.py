"""The picture in the leaders' Monday summary: participation trend and the week's tiers.

Drawn on the server with matplotlib, which needs a CJK font for the branch names; without
one (or, for DingTalk, without a public address to serve it from) the summary goes out as
text alone. WeCom gets the PNG itself as a group-robot image message after the text;
DingTalk gets a markdown image whose URL is signed and expires, served by djbot.
"""

from __future__ import annotations

import base64
import io
import logging
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlmodel import Session

from bot.config import Settings
from bot.domain.points import Period, exact, half_up
from bot.domain.rules import Rules
from bot.scheduling import plan as p
from bot.web import tokens
from storage import dashboard as store
from storage.reports import standings

if TYPE_CHECKING:
    from bot.runtime import Runtime

log = logging.getLogger("djbot.web.push")

PICTURE = p.SUMMARY_PICTURE  # OutboxMessage.kind of the WeCom image that follows the text
WEEKS = 12
# Families that carry the Chinese glyphs, in order of preference (Debian: fonts-noto-cjk,
# fonts-wqy-microhei).
CJK_FAMILIES = ("Noto Sans CJK SC", "Noto Sans CJK JP", "Noto Serif CJK SC",
                "WenQuanYi Micro Hei", "WenQuanYi Zen Hei", "Source Han Sans SC",
                "Microsoft YaHei", "SimHei", "PingFang SC")
TierBar = tuple[str, float | None, str | None]  # branch, score, tier
TIER_COLOURS = {"红": "#d32f2f", "黄": "#f9a825", "蓝": "#1565c0", None: "#bdbdbd"}


@lru_cache(maxsize=1)
def find_cjk_font() -> str | None:
    """The family name of an installed CJK font matplotlib can use, or None."""
    try:
        from matplotlib import font_manager
    except ImportError:
        return None
    manager = font_manager.fontManager
    found = _first_cjk(manager)
    if found is None:
        # matplotlib lists the system's fonts once and keeps the list in its cache
        # (~/.cache/matplotlib): a font installed after that, as `apt-get install
        # fonts-noto-cjk` on a machine that already ran djbot, is not in it.
        known = {f.fname for f in manager.ttflist}
        for path in font_manager.findSystemFonts():
            if path not in known:
                try:
                    manager.addfont(path)
                except (OSError, RuntimeError, ValueError):
                    log.debug("font %s cannot be read; skipped", path)
        found = _first_cjk(manager)
        if found is not None:
            log.info("CJK font %s found outside matplotlib's font cache; cache updated", found)
            _save_font_cache(manager)
    return found


def _save_font_cache(manager) -> None:
    """Write the completed list back so the next start needn't look again."""
    import matplotlib
    from matplotlib import font_manager

    cache = Path(matplotlib.get_cachedir(),
                 f"fontlist-v{font_manager.FontManager.__version__}.json")
    try:
        font_manager.json_dump(manager, cache)
    except OSError as error:  # a read-only home: found again at the next start
        log.debug("matplotlib's font cache %s not updated: %s", cache, error)


def _first_cjk(manager) -> str | None:
    installed = {f.name for f in manager.ttflist}
    return next((family for family in CJK_FAMILIES if family in installed), None)


@dataclass(frozen=True)
class PictureReminder(p.Reminder):
    """A Reminder whose payload is a PNG (WeCom group-robot image message)."""

    image_base64: str = ""

    def payload(self) -> dict[str, Any]:
        return {**super().payload(), "image_base64": self.image_base64}


def week_figures(session: Session, *, week_start: date, settings: Settings, rules: Rules,
                 now: datetime | None = None
                 ) -> tuple[list[str], list[float | None], list[TierBar]]:
    """(week labels, participation % per week, [(branch, score, tier)] of the last week),
    as of `now` (each week's end without one)."""
    tz = settings.tz
    start = datetime(week_start.year, week_start.month, week_start.day, tzinfo=tz)
    weeks = store.weeks_ending(store.Week(start, start + timedelta(days=7)), WEEKS)
    tallies = store.activity_tallies(session, start=weeks[0].start, end=weeks[-1].end)
    trend = []
    for w in weeks:
        rate = store.period_rate(tallies, w.start, w.end, now)  # complete weeks, as 周报 counts
        trend.append(None if rate is None else half_up(exact(rate) * 100, 1))
    last = store.weekly_branch_figures(session, weeks=weeks[-1:], tallies=tallies, now=now)[0]
    ranked = standings(last, rules, Period(weeks[-1].start, weeks[-1].end, ""))
    tiers = [(s.figures.name, s.score, s.tier.value if s.tier else None) for s in ranked]
    return [w.label for w in weeks], trend, tiers


def render_png(labels: list[str], trend: list[float | None], tiers: list[TierBar], *, font: str,
               title: str) -> bytes:
    """Two panels on one phone-width picture: the trend line, then scores coloured by tier."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    rows = max(1, len(tiers))
    figure = Figure(figsize=(6.4, 3.2 + 0.28 * rows), dpi=110)
    figure.set_layout_engine("constrained")
    top, bottom = figure.subplots(2, 1, height_ratios=[3.0, max(1.5, 0.28 * rows)])
    for axis in (top, bottom):
        for item in [axis.title, axis.xaxis.label, axis.yaxis.label]:
            item.set_family(font)
    xs = list(range(len(labels)))
    points = [(x, v) for x, v in zip(xs, trend) if v is not None]
    if points:
        top.plot([x for x, _ in points], [v for _, v in points], color="#c62828", marker="o")
    top.set_xticks(xs, labels, fontsize=7, rotation=45, fontfamily=font)
    top.set_ylim(0, 105)
    top.set_ylabel("参与率 %", fontfamily=font)
    top.set_title(title, fontfamily=font, fontsize=11)
    top.grid(alpha=0.3)
    names = [name for name, _, _ in tiers][::-1]
    scores = [score or 0 for _, score, _ in tiers][::-1]
    colours = [TIER_COLOURS.get(tier, "#bdbdbd") for _, _, tier in tiers][::-1]
    bottom.barh(range(len(names)), scores, color=colours)
    bottom.set_yticks(range(len(names)), names, fontfamily=font, fontsize=8)
    bottom.set_xlim(0, 100)
    bottom.set_xlabel("得分（红/黄/蓝档）", fontfamily=font, fontsize=8)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def picture(session: Session, *, week_start: date, settings: Settings,
            rules: Rules, now: datetime | None = None) -> bytes | None:
    """The week's picture, or None when no CJK font is installed."""
    font = find_cjk_font()
    if font is None:
        return None
    labels, trend, tiers = week_figures(session, week_start=week_start, settings=settings,
                                        rules=rules, now=now)
    return render_png(labels, trend, tiers, font=font,
                      title=f"近{len(labels)}周参与率 · {week_start:%m-%d} 周红黄蓝档")


def picture_for_week(runtime: "Runtime", week: str) -> bytes | None:
    """For the signed picture URL: the PNG of the week starting on `week` (YYYY-MM-DD)."""
    try:
        week_start = date.fromisoformat(week)
    except ValueError:
        return None
    with Session(runtime.engine) as session:
        return picture(session, week_start=week_start, settings=runtime.settings,
                       rules=runtime.rules, now=runtime.clock.now())


def picture_url(settings: Settings, week_start: date, now: datetime) -> str | None:
    web = settings.web
    if not (web.enabled and web.base_url):
        return None
    token = tokens.sign(web.secret, tokens.PICTURE, {"w": week_start.isoformat()},
                        expires=now + timedelta(days=web.picture_days))
    return web.url(f"/web/picture/{token}.png")


def with_pictures(session: Session, summaries: list[p.Reminder], *, week_start: date,
                  settings: Settings, rules: Rules, now: datetime) -> list[p.Reminder]:
    """The summary reminders with their picture: an image message after each WeCom group
    summary, a markdown image at the top of each DingTalk one. Any failure here leaves
    the text summaries as they were: the picture is a help, the figures are the text."""
    if not summaries or find_cjk_font() is None:
        return summaries
    try:
        png: bytes | None = None
        out: list[p.Reminder] = []
        for reminder in summaries:
            if reminder.platform == "dingtalk":
                url = picture_url(settings, week_start, now)
                if url:
                    reminder = replace(reminder, text=f"![参与率与红黄蓝档]({url})\n\n{reminder.text}")
                out.append(reminder)
            elif reminder.platform == "wecom" and reminder.target_kind == "leaders":
                # Only the group robot takes an image without uploading media first.
                png = png or picture(session, week_start=week_start, settings=settings,
                                     rules=rules, now=now)
                out.append(reminder)
                if png:
                    out.append(PictureReminder(
                        PICTURE, reminder.platform, reminder.target_kind, reminder.target,
                        reminder.branch_id, reminder.occurrence, reminder.due_at, "",
                        title="党建周报（图）", image_base64=base64.b64encode(png).decode()))
            else:
                out.append(reminder)
        return out
    except Exception:  # noqa: BLE001 - a broken picture must not hold up the summary
        log.exception("weekly picture failed; the summary goes out as text")
        return summaries
