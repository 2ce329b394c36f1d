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
from bot.domain.points import rule_base
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


# Members whose lines and records are read at a time: a bureau's whole ledger (a million
# lines and more) is never in memory at once, and only what the repair reports is loaded
# as rows.
MEMBERS_AT_A_TIME = 500


def find(session: Session, *, rules: Rules) -> Findings:
    """The orphaned lines, what they still count, and the records whose points they
    swallowed. A line of a record (its source the record's id, 12 or 12#2) is orphaned
    when the record is gone, is another member's, or is on an activity that did not start
    when the line is dated (every such line is dated at its activity's start).

    A line is the member's own only when it names one of their records, so each batch of
    members is checked alone; a key another member's line took (SQLite gave a deleted
    record's id again) is an orphaned line's, and those are kept across batches."""
    orphan_ids: list[int] = []
    orphan_keys: set[tuple[str, str, str]] = set()
    # Attended records whose own lines net nothing for their rule: (record id, rule,
    # points, whether one of their own lines took the record's key).
    unposted: list[tuple[int, str, int, bool]] = []
    member_ids = list(session.exec(select(Member.id).order_by(Member.id)).all())
    for first in range(0, len(member_ids), MEMBERS_AT_A_TIME):
        batch = member_ids[first:first + MEMBERS_AT_A_TIME]
        rows = {row_id: (member_id, starts_at, status, activity_status, activity_type)
                for row_id, member_id, status, starts_at, activity_status, activity_type
                in session.execute(
                    select(Attendance.id, Attendance.member_id, Attendance.status,
                           Activity.starts_at, Activity.status, Activity.type)
                    .join(Activity, Activity.id == Attendance.activity_id)
                    .where(Attendance.member_id.in_(batch)))}  # type: ignore[attr-defined]
        own_net: dict[tuple[int, str], int] = defaultdict(int)  # (record, rule) → points
        own_keys: set[tuple[str, str, str]] = set()
        for entry_id, member_id, kind, source_id, occurred_at, rule, points in session.execute(
                select(PointEntry.id, PointEntry.member_id, PointEntry.source_kind,
                       PointEntry.source_id, PointEntry.occurred_at, PointEntry.rule,
                       PointEntry.points)
                .where(PointEntry.member_id.in_(batch),  # type: ignore[attr-defined]
                       PointEntry.source_kind.in_(ROW_KINDS))):  # type: ignore[attr-defined]
            row = row_of(source_id)
            if row is None:
                continue
            found = rows.get(row)
            if found is not None and found[0] == member_id and found[1] == occurred_at:
                own_net[(row, rule_base(rule))] += points
                own_keys.add((kind, source_id, rule))
            else:
                orphan_ids.append(entry_id)
                orphan_keys.add((kind, source_id, rule))
        for row_id, (_, _, status, activity_status, activity_type) in rows.items():
            if status not in ATTENDED or activity_status == CANCELLED:
                continue
            points, rule = rules.attendance_points(activity_type, status)
            if points and not own_net.get((row_id, rule)):
                key = ("attendance", str(row_id), rule)
                unposted.append((row_id, rule, points, key in own_keys))

    findings = Findings()
    findings.orphans = _by_id(session, PointEntry, sorted(orphan_ids))
    groups: dict[tuple[int, int], list[PointEntry]] = defaultdict(list)
    for e in findings.orphans:
        groups[(e.member_id, row_of(e.source_id))].append(e)  # type: ignore[index]
    repaired = _repaired(session)
    for group in groups.values():
        findings.reversals += _still_counted(group, repaired)
    # Never posted under its key at all is not this fault; taken by a line, it is.
    swallowed = {row_id: (rule, points) for row_id, rule, points, taken in unposted
                 if taken or ("attendance", str(row_id), rule) in orphan_keys}
    for attendance in _by_id(session, Attendance, sorted(swallowed)):
        rule, points = swallowed[attendance.id]  # type: ignore[index]
        activity = session.get(Activity, attendance.activity_id)
        findings.swallowed.append(Swallowed(attendance, activity, points, rule))  # type: ignore[arg-type]
    return findings


def _by_id(session: Session, model, ids: list[int]) -> list:
    """The rows of `model` with these ids, in their order, a few hundred at a time."""
    found = []
    for first in range(0, len(ids), MEMBERS_AT_A_TIME):
        chunk = ids[first:first + MEMBERS_AT_A_TIME]
        found += session.exec(select(model).where(model.id.in_(chunk))
                              .order_by(model.id)).all()
    return found


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
    for rule in dict.fromkeys(rule_base(e.rule) for e in group):
        of_rule = [e for e in group if rule_base(e.rule) == rule]
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
