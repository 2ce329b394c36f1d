"""Roster import: read a CSV or XLSX file, check every row, then apply it in one transaction.

Reading and checking are pure (no database): a file with any bad row is rejected whole,
each problem naming the row as a spreadsheet shows it (the header is row 1). Applying
matches each row to a member by 编号 when given, else by their platform ids, and updates
people in place, so re-importing the same file changes nothing.
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlmodel import Session, select

from storage import roster_extra
from storage.models import (
    ROLE_LABELS,
    AuditEntry,
    Branch,
    Identity,
    Member,
    PartyGroup,
    Platform,
    Role,
)

REQUIRED_HEADERS = ("支部", "姓名", "角色", "企业微信ID", "钉钉ID")
OPTIONAL_HEADERS = ("编号", "党小组", "临时", "结束日期", *roster_extra.COLUMNS)
ROLE_BY_LABEL = {label: role for role, label in ROLE_LABELS.items()}
# Leaders and admins belong to the bureau, so their 支部 may be empty.
BUREAU_ROLES = frozenset({Role.LEADER, Role.ADMIN})
YES, NO = ("是", "y", "yes", "true", "1"), ("否", "n", "no", "false", "0")
_DATE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")


class RosterError(ValueError):
    """The file cannot be imported; `problems` lists (row number, what is wrong)."""

    def __init__(self, problems: list[tuple[int, str]]) -> None:
        self.problems = sorted(problems)
        super().__init__("\n".join(f"第 {row} 行：{text}" for row, text in self.problems))


@dataclass(frozen=True)
class RosterRow:
    row: int  # as the spreadsheet shows it: the header is row 1
    branch: str | None
    name: str
    role: Role
    wecom_id: str | None
    dingtalk_id: str | None
    staff_no: str | None = None
    party_group: str | None = None
    temporary: bool | None = None  # None: the file does not say
    ends_on: date | None = None
    extra: dict[str, str] = field(default_factory=dict)  # storage.roster_extra's columns

    @property
    def ids(self) -> dict[str, str]:
        found = {Platform.WECOM.value: self.wecom_id, Platform.DINGTALK.value: self.dingtalk_id}
        return {platform: uid for platform, uid in found.items() if uid}


@dataclass
class ImportResult:
    added: int = 0
    updated: int = 0
    reactivated: int = 0
    deactivated: int = 0
    unchanged: int = 0
    branches_created: int = 0
    branches_updated: int = 0  # 临时 or 结束日期 changed, or a closed branch listed again
    groups_created: int = 0
    role_changes: list[tuple[str, str, str]] = field(default_factory=list)  # (name, old, new)

    @property
    def changes(self) -> int:
        return (self.added + self.updated + self.reactivated + self.deactivated
                + self.branches_created + self.branches_updated + self.groups_created)

    def as_dict(self) -> dict[str, int]:
        return {
            "added": self.added,
            "updated": self.updated,
            "reactivated": self.reactivated,
            "deactivated": self.deactivated,
            "unchanged": self.unchanged,
            "branches_created": self.branches_created,
            "branches_updated": self.branches_updated,
            "groups_created": self.groups_created,
            "role_changes": len(self.role_changes),
        }

    def summary(self) -> str:
        parts = [f"新增 {self.added} 人", f"更新 {self.updated} 人"]
        if self.reactivated:
            parts.append(f"恢复 {self.reactivated} 人")
        parts += [f"停用 {self.deactivated} 人", f"未变 {self.unchanged} 人"]
        if self.branches_created:
            parts.append(f"新建支部 {self.branches_created} 个")
        if self.branches_updated:
            parts.append(f"更新支部 {self.branches_updated} 个")
        if self.groups_created:
            parts.append(f"新建党小组 {self.groups_created} 个")
        return "，".join(parts)


# --- reading a file into rows of text -------------------------------------------------


def read_table(path: Path) -> list[list[str]]:
    """The cells of the first sheet (XLSX) or the CSV, as text, header first."""
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        return _read_xlsx(path)
    return read_csv_bytes(path.read_bytes())


def read_csv_bytes(data: bytes) -> list[list[str]]:
    # Excel on Chinese Windows saves CSV as GBK; everything else is UTF-8, often with a BOM.
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = data.decode("gb18030")
        except UnicodeDecodeError as exc:
            raise RosterError([(1, "文件编码无法识别，请另存为 UTF-8 或 GBK 编码的 CSV")]) from exc
    return [[cell.strip() for cell in row] for row in csv.reader(io.StringIO(text))]


def _read_xlsx(path: Path) -> list[list[str]]:
    from openpyxl import load_workbook

    workbook = load_workbook(path, read_only=True, data_only=True)
    try:
        sheet = workbook.worksheets[0]
        return [[_cell_text(value) for value in row] for row in sheet.iter_rows(values_only=True)]
    finally:
        workbook.close()


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # a 编号 typed as a number comes back as 1001.0
    return str(value).strip()


# --- checking rows -----------------------------------------------------------------


def parse_roster(table: list[list[str]]) -> list[RosterRow]:
    """Check every row; return them all, or raise RosterError listing every problem.

    Blank rows and rows whose first cell starts with '#' (the template's note) are skipped.
    """
    if not table or not any(table[0]):
        raise RosterError([(1, "文件是空的，第 1 行应为表头：" + ",".join(REQUIRED_HEADERS))])
    headers = [h.strip() for h in table[0]]
    problems: list[tuple[int, str]] = []
    known = set(REQUIRED_HEADERS) | set(OPTIONAL_HEADERS)
    for header in headers:
        if header and header not in known:
            allowed = "、".join((*REQUIRED_HEADERS, *OPTIONAL_HEADERS))
            problems.append((1, f"未知的表头「{header}」，可用的表头：{allowed}"))
    missing = [h for h in REQUIRED_HEADERS if h not in headers]
    if missing:
        problems.append((1, f"缺少表头「{'、'.join(missing)}」"))
    repeated = [h for h, n in Counter(h for h in headers if h).items() if n > 1]
    if repeated:
        problems.append((1, f"表头「{'、'.join(repeated)}」重复"))
    if problems:
        raise RosterError(problems)

    column = {h: i for i, h in enumerate(headers) if h}
    rows: list[RosterRow] = []
    for number, cells in enumerate(table[1:], start=2):
        if not any(c.strip() for c in cells) or cells[0].strip().startswith("#"):
            continue
        row, row_problems = _parse_row(number, {h: _get(cells, i) for h, i in column.items()})
        problems += row_problems
        if row is not None:
            rows.append(row)
    problems += _cross_row_problems(rows)
    if problems:
        raise RosterError(problems)
    if not rows:
        raise RosterError([(2, "名册里没有任何人")])
    return rows


def _get(cells: list[str], index: int) -> str:
    return cells[index].strip() if index < len(cells) else ""


def _parse_row(number: int, cell: dict[str, str]) -> tuple[RosterRow | None, list[tuple[int, str]]]:
    problems: list[str] = []
    name = cell["姓名"]
    if not name:
        problems.append("缺少姓名")
    role_label = cell["角色"] or ROLE_LABELS[Role.MEMBER]
    role = ROLE_BY_LABEL.get(role_label)
    if role is None:
        problems.append(f"未知的角色「{role_label}」，只能是 {'、'.join(ROLE_BY_LABEL)}")
    branch = cell["支部"] or None
    if branch is None and role is not None and role not in BUREAU_ROLES:
        problems.append("缺少支部（只有领导、管理员可以不填支部）")
    wecom, dingtalk = cell["企业微信ID"] or None, cell["钉钉ID"] or None
    if wecom is None and dingtalk is None:
        problems.append("企业微信ID 和 钉钉ID 不能都为空")
    group = cell.get("党小组") or None
    if group and branch is None:
        problems.append("填了党小组但没有填支部")
    temporary: bool | None = None
    flag = cell.get("临时", "").lower()
    if flag in YES:
        temporary = True
    elif flag in NO:
        temporary = False
    elif flag:
        problems.append(f"临时只能填 是 或 否，收到「{cell['临时']}」")
    ends_on = None
    if cell.get("结束日期"):
        ends_on = parse_date(cell["结束日期"])
        if ends_on is None:
            problems.append(f"结束日期「{cell['结束日期']}」不是有效日期，请写成 2026-12-31")
        elif temporary is False:
            problems.append("临时为「否」的支部不能有结束日期")
        else:
            temporary = True
    if (temporary is not None or ends_on is not None) and branch is None:
        problems.append("填了临时或结束日期但没有填支部")
    problems += roster_extra.check(cell)
    if problems:
        return None, [(number, p) for p in problems]
    return RosterRow(
        row=number,
        branch=branch,
        name=name,
        role=role,  # type: ignore[arg-type]
        wecom_id=wecom,
        dingtalk_id=dingtalk,
        staff_no=cell.get("编号") or None,
        party_group=group,
        temporary=temporary,
        ends_on=ends_on,
        extra={h: cell[h] for h in roster_extra.COLUMNS if cell.get(h)},
    ), []


def parse_date(text: str) -> date | None:
    """2026-12-31, 2026/12/31, 2026.12.31 or 2026年12月31日; None when not a real date."""
    match = _DATE.match(text.strip())
    if not match:
        return None
    try:
        return date(*(int(part) for part in match.groups()))
    except ValueError:
        return None


def _cross_row_problems(rows: list[RosterRow]) -> list[tuple[int, str]]:
    problems: list[tuple[int, str]] = []
    first_row: dict[tuple[str, str], int] = {}
    for row in rows:
        keys = [("编号", row.staff_no)] if row.staff_no else []
        keys += [("企业微信ID", row.wecom_id), ("钉钉ID", row.dingtalk_id)]
        for label, value in keys:
            if not value:
                continue
            earlier = first_row.setdefault((label, value), row.row)
            if earlier != row.row:
                what = "编号" if label == "编号" else label
                problems.append((row.row, f"{what}「{value}」与第 {earlier} 行重复"))
    # A branch's temporary flag and end date must not contradict between rows.
    said: dict[str, tuple[int, bool | None, date | None]] = {}
    for row in rows:
        if row.branch is None or (row.temporary is None and row.ends_on is None):
            continue
        earlier = said.setdefault(row.branch, (row.row, row.temporary, row.ends_on))
        if earlier[1:] != (row.temporary, row.ends_on):
            problems.append(
                (row.row, f"支部「{row.branch}」的临时/结束日期与第 {earlier[0]} 行不一致")
            )
    return problems


def parse_file(path: Path) -> list[RosterRow]:
    return parse_roster(read_table(path))


# --- applying rows -------------------------------------------------------------------


def apply_roster(
    session: Session,
    rows: list[RosterRow],
    *,
    full: bool,
    now: datetime,
    actor: str = "cli",
    source: str | None = None,
) -> ImportResult:
    """Bring the organisation in line with the rows; the caller commits.

    A full import makes every active member missing from the rows inactive (their
    history stays); a partial one only adds and updates. Raises RosterError when a
    row matches a member another row already took (e.g. 编号 of one, id of another).
    """
    result = ImportResult()
    branches = {b.name: b for b in session.exec(select(Branch)).all()}
    groups = {(g.branch_id, g.name): g for g in session.exec(select(PartyGroup)).all()}
    seen: dict[int, int] = {}  # member id -> the row that matched it

    for row in rows:
        branch = _ensure_branch(session, branches, row, now, result)
        group = None
        if row.party_group and branch is not None:
            group = groups.get((branch.id, row.party_group))
            if group is None:
                group = PartyGroup(branch_id=branch.id, name=row.party_group)
                session.add(group)
                session.flush()
                groups[(branch.id, row.party_group)] = group
                result.groups_created += 1

        member = _match(session, row)
        if member is not None and member.id in seen:
            raise RosterError(
                [(row.row, f"与第 {seen[member.id]} 行匹配到同一个人「{member.name}」，请检查编号和账号 ID")]
            )
        wanted = {
            "name": row.name,
            "branch_id": branch.id if branch else None,
            "party_group_id": group.id if group else None,
            "role": row.role.value,
        }
        if row.staff_no:
            wanted["staff_no"] = row.staff_no
        if member is None:
            member = Member(**wanted, created_at=now, updated_at=now)
            session.add(member)
            session.flush()
            result.added += 1
            changed_ids = _set_identities(session, member, row)
        else:
            old_role = member.role
            changed = {k: v for k, v in wanted.items() if getattr(member, k) != v}
            for key, value in changed.items():
                setattr(member, key, value)
            changed_ids = _set_identities(session, member, row)
            if not member.active:
                member.active = True
                result.reactivated += 1
            elif changed or changed_ids:
                result.updated += 1
            else:
                result.unchanged += 1
            if changed or changed_ids:
                member.updated_at = now
            if "role" in changed:
                result.role_changes.append((member.name, old_role, row.role.value))
                session.add(
                    AuditEntry(
                        at=now,
                        actor=actor,
                        action="role.change",
                        target=member.name,
                        detail={"member_id": member.id, "old": old_role, "new": row.role.value,
                                "via": "roster.import"},
                    )
                )
        seen[member.id] = row.row  # type: ignore[index]
        try:
            roster_extra.apply(session, member, row.extra, branches)
        except ValueError as exc:
            raise RosterError([(row.row, str(exc))]) from None

    if full:
        stale = session.exec(
            select(Member).where(Member.active == True, Member.forgotten == False)  # noqa: E712
        ).all()
        for member in stale:
            if member.id not in seen:
                member.active = False
                member.updated_at = now
                result.deactivated += 1

    session.add(
        AuditEntry(
            at=now,
            actor=actor,
            action="roster.import",
            target=source,
            detail={"mode": "full" if full else "partial", "rows": len(rows), **result.as_dict()},
        )
    )
    session.flush()
    return result


def _ensure_branch(session: Session, branches: dict[str, Branch], row: RosterRow,
                   now: datetime, result: ImportResult) -> Branch | None:
    if row.branch is None:
        return None
    branch = branches.get(row.branch)
    if branch is None:
        branch = Branch(name=row.branch, temporary=bool(row.temporary), ends_on=row.ends_on,
                        created_at=now)
        session.add(branch)
        session.flush()
        branches[row.branch] = branch
        result.branches_created += 1
        return branch
    # Rows that leave 临时/结束日期 blank leave the branch as it is.
    wanted: dict[str, object] = {"active": True}
    if row.temporary is not None:
        wanted |= {"temporary": row.temporary, "ends_on": row.ends_on}
    changed = {k: v for k, v in wanted.items() if getattr(branch, k) != v}
    for key, value in changed.items():
        setattr(branch, key, value)
    if changed:
        result.branches_updated += 1
    return branch


def _match(session: Session, row: RosterRow) -> Member | None:
    """编号 is the stable key; without one, the first platform id that is known."""
    if row.staff_no:
        member = session.exec(select(Member).where(Member.staff_no == row.staff_no)).first()
        if member is not None:
            return member
    for platform, user_id in row.ids.items():
        member = session.exec(
            select(Member)
            .join(Identity, Identity.member_id == Member.id)
            .where(Identity.platform == platform, Identity.user_id == user_id)
        ).first()
        # An id held by someone with a different 编号 is being handed over, not a match.
        if member is not None and not (row.staff_no and member.staff_no
                                       and member.staff_no != row.staff_no):
            return member
    return None


def _set_identities(session: Session, member: Member, row: RosterRow) -> bool:
    """Make the member's platform ids exactly the row's; True when anything changed."""
    changed = False
    current = session.exec(select(Identity).where(Identity.member_id == member.id)).all()
    for identity in current:
        if row.ids.get(identity.platform) != identity.user_id:
            session.delete(identity)
            changed = True
    session.flush()
    for platform, user_id in row.ids.items():
        holder = session.exec(
            select(Identity).where(Identity.platform == platform, Identity.user_id == user_id)
        ).first()
        if holder is None:
            session.add(Identity(member_id=member.id, platform=platform, user_id=user_id))
            changed = True
        elif holder.member_id != member.id:
            # The file gives this id to this person now; the previous holder loses it.
            holder.member_id = member.id  # type: ignore[assignment]
            changed = True
    session.flush()
    return changed


def import_roster(session: Session, path: Path, *, full: bool, now: datetime,
                  actor: str = "cli") -> ImportResult:
    """Read, check and apply a roster file; the caller commits (nothing is applied on error)."""
    return apply_roster(session, parse_file(path), full=full, now=now, actor=actor,
                        source=path.name)
