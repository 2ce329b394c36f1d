"""The committee's loop on the bureau page: 先锋党员 of the year, 约谈, 结对帮扶 and open 整改.

Each function is a bureau-page section (see pages.BUREAU_SECTIONS): it returns None when
there is nothing to show, so a bureau that does not use a part of the loop sees no empty
table. Only leaders and admins see the bureau page; recognition is named, problems are
named by branch and owner as the committee records them.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlmodel import Session, select

from bot.config import Settings
from bot.domain.dates import deadline
from storage import committee
from storage.models import Branch


def _branch_names(session: Session) -> dict[int, str]:
    return {b.id: b.name for b in session.exec(select(Branch)).all() if b.id is not None}


def _year(now: datetime, settings: Settings) -> tuple[date, date]:
    today = now.astimezone(settings.tz).date()
    return date(today.year, 1, 1), today


def pioneers_of_the_year(session: Session, now: datetime, settings: Settings) -> dict[str, Any] | None:
    first, last = _year(now, settings)
    rows = committee.pioneers(session, first=first, last=last)
    if not rows:
        return None
    names = _branch_names(session)
    return {"title": f"{first.year}年先锋党员（{len(rows)} 人次）",
            "columns": ["月份", "支部", "姓名", "事迹"],
            "rows": [[f"{n.month.month}月", names.get(n.branch_id or 0, ""), m.name, n.deeds]
                     for n, m in rows]}


def talks_of_the_year(session: Session, now: datetime, settings: Settings) -> dict[str, Any] | None:
    first, last = _year(now, settings)
    rows = committee.talks(session, first=first, last=last)
    if not rows:
        return None
    names = _branch_names(session)
    return {"title": f"{first.year}年约谈（{len(rows)} 次）",
            "columns": ["日期", "支部", "当时档次", "问题", "整改要求"],
            "rows": [[f"{t.talked_on.month}月{t.talked_on.day}日", names.get(t.branch_id, ""),
                      t.tier_then or "", t.problems, t.remedy] for t in rows]}


def pairs(session: Session, now: datetime, settings: Settings) -> dict[str, Any] | None:
    # The pairs open now: one ended today (结束结对) keeps today as its last day, but it is
    # over, and its branches may already be in new pairs.
    rows = committee.active_pairings(session)
    if not rows:
        return None
    names = _branch_names(session)
    return {"title": "结对帮扶",
            "columns": ["强支部", "弱支部", "结对日期"],
            "rows": [[names.get(p.strong_branch_id, ""), names.get(p.weak_branch_id, ""),
                      f"{p.paired_on.year}年{p.paired_on.month}月{p.paired_on.day}日"]
                     for p in rows]}


def _due(due_on: date | None, today: date) -> str:
    return deadline(due_on, today) if due_on is not None else "—"


def open_rectifications(session: Session, now: datetime, settings: Settings) -> dict[str, Any] | None:
    rows = committee.open_rectifications(session)
    if not rows:
        return None
    names = _branch_names(session)
    today = now.astimezone(settings.tz).date()
    return {"title": f"未完成的整改（{len(rows)} 项）",
            "columns": ["编号", "支部", "问题", "负责人", "已过天数", "期限"],
            "rows": [[r.id, names.get(r.branch_id, ""), r.problem, r.owner_name,
                      (today - r.found_on).days, _due(r.due_on, today)] for r in rows],
            "note": "整改完成后，负责人或书记发送「整改完成 编号」关闭。"}


SECTIONS = [pioneers_of_the_year, talks_of_the_year, pairs, open_rectifications]
