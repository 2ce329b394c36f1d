"""Which migration the files on disk end at, read without Alembic or SQLAlchemy.

Every command from the shell asks whether its database is current before it runs;
importing Alembic to answer would cost more than most commands' SQL.
"""

from __future__ import annotations

from pathlib import Path

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def head_revisions_on_disk() -> set[str] | None:
    """The heads of the migration files, read from their `revision`/`down_revision` lines
    without importing Alembic; None when a file does not say them plainly."""
    found = _revisions_and_parents()
    return None if found is None else found[0] - found[1]


def revisions_on_disk() -> set[str] | None:
    """Every revision the migration files make, read as head_revisions_on_disk reads them."""
    found = _revisions_and_parents()
    return None if found is None else found[0]


def _revisions_and_parents() -> tuple[set[str], set[str]] | None:
    import ast

    revisions: set[str] = set()
    parents: set[str] = set()
    for path in sorted((MIGRATIONS_DIR / "versions").glob("*.py")):
        found: dict[str, object] = {}
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            single = isinstance(node, ast.Assign) and len(node.targets) == 1
            target = node.target if isinstance(node, ast.AnnAssign) else (
                node.targets[0] if single else None)
            if isinstance(target, ast.Name) and target.id in ("revision", "down_revision"):
                try:
                    found[target.id] = ast.literal_eval(node.value)  # type: ignore[arg-type]
                except ValueError:
                    return None
        revision, down = found.get("revision"), found.get("down_revision")
        if not isinstance(revision, str):
            return None
        revisions.add(revision)
        if isinstance(down, str):
            parents.add(down)
        elif isinstance(down, (tuple, list)):
            parents.update(down)
        elif down is not None:
            return None
    return revisions, parents
