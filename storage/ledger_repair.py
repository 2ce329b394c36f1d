"""Ledger lines left behind by 销假 in versions before e894059, found and put right.

Those versions deleted a record that a 更正 had turned from a check-in into leave, though
the ledger's lines (the check-in's points and their reversal) named it. On PostgreSQL the
lines were left naming no record; on SQLite the next record often got the deleted one's
id, so the lines named another member's record or another activity, and when that
record's own check-in came to post its points under the same (event, rule) key, nothing
was written: the member was told 签到成功，积分 +3 and counted nothing.

The repair never edits or deletes a line: what an orphaned line still counts is reversed
by a new entry (source `repair:<entry id>`), and a check-in's points that were swallowed
are posted under the record's next key (12#2), as a check-in after a 更正 is. Running it
twice writes nothing the second time. Keyword-only functions that never commit.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import Session, select

from bot.domain.attendance import ATTENDED
from bot.domain.rules import Rules
from storage import ledger
from storage.attendance import CANCELLED, ROW_KINDS, _free_source_id, _points_branch, row_of
from storage.models import Activity, Attendance, Member, PointEntry

ORPHAN_NOTE = "数据修复：所属考勤记录已被旧版本的销假删除，此笔不再计分"
SWALLOWED_NOTE = "数据修复：签到时积分与旧记录冲突未记入，按现行规则补记"


@dataclass(frozen=True)
class Reversal:
    """What an orphaned line (or group of lines on one deleted record) still counts."""

    entry: PointEntry  # the latest line of the rule: the reversal goes with its details
    rule: str
    points: int  # the net still counted, to be reversed


@dataclass(frozen=True)
class Swallowed:
    """A record that shows a check-in or 补签 whose points were never posted."""

    attendance: Attendance
    activity: Activity
    points: int
    rule: str


@dataclass
class Findings:
    orphans: list[PointEntry] = field(default_factory=list)  # every orphaned line
    reversals: list[Reversal] = field(default_factory=list)
    swallowed: list[Swallowed] = field(default_factory=list)

    @property
    def members(self) -> set[int]:
        """The members whose points the repair changes."""
        return ({r.entry.member_id for r in self.reversals}
                | {s.attendance.member_id for s in self.swallowed})

    def __bool__(self) -> bool:
        return bool(self.reversals or self.swallowed)


def find(session: Session, *, rules: Rules) -> Findings:
    """The orphaned lines, what they still count, and the records whose points they
    swallowed. A line of a record (its source the record's id, 12 or 12#2) is orphaned
    when the record is gone, is another member's, or is on an activity that did not start
    when the line is dated (every such line is dated at its activity's start)."""
    entries = [e for e in session.exec(select(PointEntry).where(
        PointEntry.source_kind.in_(ROW_KINDS)).order_by(PointEntry.id)).all()  # type: ignore[attr-defined]
        if row_of(e.source_id) is not None]
    rows = {a.id: (a, act) for a, act in session.exec(
        select(Attendance, Activity).join(Activity, Activity.id == Attendance.activity_id)).all()}
    findings = Findings()
    own: dict[int, list[PointEntry]] = defaultdict(list)  # record id → its member's lines
    groups: dict[tuple[int, int], list[PointEntry]] = defaultdict(list)
    for e in entries:
        row = row_of(e.source_id)
        found = rows.get(row)
        if found is not None and found[0].member_id == e.member_id \
                and found[1].starts_at == e.occurred_at:
            own[row].append(e)  # type: ignore[index]
        else:
            findings.orphans.append(e)
            groups[(e.member_id, row)].append(e)  # type: ignore[index]
    repaired = _repaired(session)
    for group in groups.values():
        findings.reversals += _still_counted(group, repaired)
    taken = {(e.source_kind, e.source_id, e.rule) for e in entries}
    for row_id, (attendance, activity) in rows.items():
        if attendance.status not in ATTENDED or activity.status == CANCELLED:
            continue
        points, rule = rules.attendance_points(activity.type, attendance.status)
        if points == 0 or ("attendance", str(row_id), rule) not in taken:
            continue  # never posted under its key: not this fault
        if not _net(own.get(row_id, []), rule):
            findings.swallowed.append(Swallowed(attendance, activity, points, rule))
    return findings


def _base(rule: str) -> str:
    return rule.rsplit("reverse:", 1)[-1]


def _net(entries: list[PointEntry], rule: str) -> int:
    return sum(e.points for e in entries if _base(e.rule) == rule)


def _repaired(session: Session) -> dict[int, int]:
    """Points already reversed by a repair, by the id of the line it names."""
    done: dict[int, int] = defaultdict(int)
    for source, points in session.exec(select(PointEntry.source_id, PointEntry.points).where(
            PointEntry.source_kind == "correction",
            PointEntry.source_id.like("repair:%"))).all():  # type: ignore[attr-defined]
        done[int(source.removeprefix("repair:"))] += points
    return done


def _still_counted(group: list[PointEntry], repaired: dict[int, int]) -> list[Reversal]:
    out = []
    for rule in dict.fromkeys(_base(e.rule) for e in group):
        of_rule = [e for e in group if _base(e.rule) == rule]
        net = sum(e.points + repaired.get(e.id, 0) for e in of_rule)  # type: ignore[arg-type]
        if net:
            posted = [e for e in of_rule if not e.rule.startswith("reverse:")] or of_rule
            out.append(Reversal(posted[-1], rule, net))
    return out


def repair(session: Session, *, findings: Findings, now: datetime, rules: Rules) -> int:
    """Post the reversals and the swallowed points; returns how many entries were written."""
    written = 0
    for r in findings.reversals:
        e = r.entry
        written += ledger.post(
            session, member_id=e.member_id, branch_id=e.branch_id, points=-r.points,
            rule=f"reverse:{r.rule}", source_kind="correction", source_id=f"repair:{e.id}",
            occurred_at=e.occurred_at, now=now, ruleset_id=e.ruleset_id, note=ORPHAN_NOTE)
    for s in findings.swallowed:
        written += ledger.post(
            session, member_id=s.attendance.member_id,
            branch_id=_branch(session, s), points=s.points, rule=s.rule,
            source_kind="attendance", source_id=_next_key(session, s),
            occurred_at=s.activity.starts_at, now=now, rules_digest=rules.digest,
            note=SWALLOWED_NOTE)
    session.flush()
    return written


def _branch(session: Session, s: Swallowed) -> int | None:
    member = session.get(Member, s.attendance.member_id)
    return _points_branch(session, activity=s.activity, member=member)  # type: ignore[arg-type]


def _next_key(session: Session, s: Swallowed) -> str:
    return _free_source_id(session, attendance=s.attendance, source_kind="attendance",
                           rule=s.rule)
