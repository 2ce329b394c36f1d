"""Optional roster columns for who is expected and where members return (issue 10):
党委委员 (是/否: expected at 中心组学习 and 第一议题) and 原支部 (for a member of a
临时党支部: the branch they go back to when it ends). Table-driven, so the roster reader
only passes the cells through; an empty cell changes nothing."""

from __future__ import annotations

from sqlmodel import Session

from storage.models import Branch, Member

YES, NO = ("是", "y", "yes", "true", "1"), ("否", "n", "no", "false", "0")


def _committee(value: str, session: Session, branches: dict[str, Branch]) -> tuple[str, object]:
    flag = value.strip().lower()
    if flag in YES:
        return "bureau_committee", True
    if flag in NO:
        return "bureau_committee", False
    raise ValueError(f"党委委员只能填 是 或 否，收到「{value}」")


def _return_branch(value: str, session: Session, branches: dict[str, Branch]) -> tuple[str, object]:
    branch = branches.get(value.strip())
    if branch is None:
        raise ValueError(f"原支部「{value}」不在名册里，请先建立该支部")
    return "return_branch_id", branch.id


# header → how its cell sets a member field
COLUMNS = {"党委委员": _committee, "原支部": _return_branch}


def check(cells: dict[str, str]) -> list[str]:
    """Problems a cell shows on its own (the branch of 原支部 is checked when applied)."""
    problems = []
    flag = cells.get("党委委员", "").strip().lower()
    if flag and flag not in YES + NO:
        problems.append(f"党委委员只能填 是 或 否，收到「{cells['党委委员']}」")
    return problems


def apply(session: Session, member: Member, cells: dict[str, str],
          branches: dict[str, Branch]) -> bool:
    """Set the member's fields from the non-empty cells; True when anything changed.
    Raises ValueError naming the problem."""
    changed = False
    for header, read in COLUMNS.items():
        if cells.get(header, "").strip():
            key, value = read(cells[header], session, branches)
            if getattr(member, key) != value:
                setattr(member, key, value)
                changed = True
    return changed
