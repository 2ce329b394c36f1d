"""Migrations build exactly the models' schema, keep every row on upgrade, and run from the CLI.

Each test uses the pass's database (SQLite, or PostgreSQL in the second pass of `make test`).
"""

from __future__ import annotations

import shutil
from datetime import date, datetime, timezone

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlmodel import SQLModel
from typer.testing import CliRunner

import storage.models  # noqa: F401  (puts every table on SQLModel.metadata)
from bot.cli import app
from storage import db

from .conftest import TEST_DB

ROWS_PER_TABLE = 3


@pytest.fixture
def bare_engine(db_url):
    """An engine on an EMPTY database: no create_all, the migrations build it."""
    engine = db.make_engine(db_url)
    yield engine
    engine.dispose()


def revision_pairs() -> list[tuple[str, str]]:
    """Every (previous, next) step in the migration history, oldest first."""
    script = ScriptDirectory.from_config(db.alembic_config(None))
    steps = [(rev.down_revision, rev.revision) for rev in script.walk_revisions()]
    return [(old, new) for old, new in reversed(steps) if isinstance(old, str)]


UPGRADE_STEPS = revision_pairs() or [
    pytest.param(None, None, marks=pytest.mark.skip(
        reason="one migration only: no older revision to upgrade from yet "
        "(the filler is checked at head meanwhile)"))
]


def test_the_pass_uses_the_database_it_names(bare_engine):
    assert bare_engine.dialect.name == ("postgresql" if TEST_DB == "postgres" else "sqlite")


def test_models_and_migrations_agree(bare_engine):
    db.upgrade(bare_engine)
    with bare_engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diffs = compare_metadata(context, SQLModel.metadata)
    assert diffs == [], (
        "the models differ from the migrations; write a revision "
        "(alembic revision --autogenerate) for:\n" + "\n".join(map(str, diffs))
    )


def test_upgrade_reaches_head_and_readyz_would_pass(bare_engine):
    assert not db.is_current(bare_engine)
    db.upgrade(bare_engine)
    assert db.is_current(bare_engine)


def fill_every_table(conn, rows: int = ROWS_PER_TABLE) -> dict[str, int]:
    """Put `rows` rows in every table the database has now (whatever its revision); return counts.

    Works from the reflected schema, so it fills an old revision's tables without
    knowing the models of that time. Row i of a table points at row i of the tables it
    references, and ids are given explicitly so those references hold.
    """
    meta = sa.MetaData()
    meta.reflect(conn)
    counts: dict[str, int] = {}
    for table in meta.sorted_tables:
        if table.name == "alembic_version":
            continue
        conn.execute(table.insert(), [_row(table, i) for i in range(1, rows + 1)])
        counts[table.name] = rows
    return counts


def _row(table: sa.Table, i: int) -> dict:
    return {column.name: _value(column, i) for column in table.columns}


def _value(column: sa.Column, i: int):
    if column.foreign_keys:
        return i  # every referenced table has ids 1..rows
    try:
        kind = column.type.python_type
    except NotImplementedError:  # e.g. JSON on some dialects
        kind = dict
    if kind is bool:
        return i % 2 == 0
    if kind is int:
        return i
    if kind is datetime:
        return datetime(2026, 1, i, 8, 0, tzinfo=timezone.utc)
    if kind is date:
        return date(2026, 1, i)
    if kind in (dict, list):
        return {"n": i}
    if kind is float:
        return float(i)
    return f"{column.name}-{i}"


def counts_now(conn, tables) -> dict[str, int]:
    return {
        name: conn.execute(sa.select(sa.func.count()).select_from(sa.table(name))).scalar_one()
        for name in tables
    }


def test_the_filler_fills_every_table_at_head(bare_engine):
    # The upgrade test below trusts this filler; here it proves it can fill today's schema.
    db.upgrade(bare_engine)
    with bare_engine.begin() as conn:
        filled = fill_every_table(conn)
    assert set(filled) == set(SQLModel.metadata.tables)
    with bare_engine.connect() as conn:
        assert counts_now(conn, filled) == filled


def rows_changed_by_upgrade(engine, config: Config, old: str, new: str) -> dict[str, tuple[int, int]]:
    """Fill a database at revision `old`, upgrade it to `new`: {table: (before, after)} that differ."""
    command.upgrade(config, old)
    with engine.begin() as conn:
        filled = fill_every_table(conn)
    command.upgrade(config, new)
    with engine.connect() as conn:
        after = counts_now(conn, filled)
    return {name: (n, after[name]) for name, n in filled.items() if after[name] != n}


@pytest.mark.parametrize(("old", "new"), UPGRADE_STEPS)
def test_upgrading_a_filled_database_loses_no_row(bare_engine, old, new):
    assert rows_changed_by_upgrade(bare_engine, db.alembic_config(bare_engine), old, new) == {}


PROBE_REVISION = """
import sqlalchemy as sa
from alembic import op

revision = "probe"
down_revision = {head!r}


def upgrade():
    op.add_column("branch", sa.Column("probe_note", sa.String(), nullable=True))
    op.create_table("probe", sa.Column("id", sa.Integer(), primary_key=True))
    {extra}


def downgrade():
    op.drop_table("probe")
    op.drop_column("branch", "probe_note")
"""


def scripts_with_probe(tmp_path, engine, extra: str = "pass") -> Config:
    """Today's migrations plus one more revision on top, in a scratch copy."""
    scripts = tmp_path / "migrations"
    shutil.copytree(db.MIGRATIONS_DIR, scripts, ignore=shutil.ignore_patterns("__pycache__"))
    head = db.head_revision(engine)
    (scripts / "versions" / "9999_probe.py").write_text(PROBE_REVISION.format(head=head, extra=extra))
    config = db.alembic_config(engine)
    config.set_main_option("script_location", str(scripts))
    return config


def test_the_upgrade_check_passes_a_revision_that_keeps_rows(bare_engine, tmp_path):
    # Until djbot has a second revision, this shows the check above works on a real step.
    config = scripts_with_probe(tmp_path, bare_engine)
    assert rows_changed_by_upgrade(bare_engine, config, db.head_revision(bare_engine), "probe") == {}


def test_the_upgrade_check_catches_a_revision_that_loses_rows(bare_engine, tmp_path):
    config = scripts_with_probe(tmp_path, bare_engine, extra='op.execute("DELETE FROM processedmessage")')
    changed = rows_changed_by_upgrade(bare_engine, config, db.head_revision(bare_engine), "probe")
    assert changed == {"processedmessage": (ROWS_PER_TABLE, 0)}


def test_djbot_db_upgrade_builds_the_schema(db_url, bare_engine):
    result = CliRunner().invoke(app, ["db", "upgrade"], env={"DJBOT_DATABASE_URL": db_url})
    assert result.exit_code == 0, result.output
    head = db.head_revision(bare_engine)
    assert head in result.output
    assert db.is_current(bare_engine)
    assert set(sa.inspect(bare_engine).get_table_names()) >= set(SQLModel.metadata.tables)
    # Running it again is harmless: replicas and cron jobs may both call it.
    again = CliRunner().invoke(app, ["db", "upgrade"], env={"DJBOT_DATABASE_URL": db_url})
    assert again.exit_code == 0, again.output


@pytest.mark.parametrize(
    ("url", "expected"),
    [("mysql://u:p@h/x", "配置错误：DJBOT_DATABASE_URL 使用了不支持的数据库「mysql」"),
     ("sqlite:///{tmp}/nope/djbot.db", "数据库所在的文件夹"),
     ("not a url", "不是有效的数据库地址")],
    ids=["mysql", "missing-folder", "not-a-url"],
)
def test_djbot_db_upgrade_with_a_bad_database_url_is_one_line_and_exit_2(url, expected, tmp_path):
    """Before, `db upgrade` (the systemd unit's ExecStartPre) printed a traceback and exited
    1, so systemd restarted it every 5 s; serve says the same in one line with exit 2."""
    result = CliRunner().invoke(app, ["db", "upgrade"],
                                env={"DJBOT_DATABASE_URL": url.format(tmp=tmp_path)})
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert expected in result.output and len(result.output.strip().splitlines()) == 1
    assert not (tmp_path / "nope").exists()


def test_djbot_db_upgrade_to_an_unknown_revision_is_one_line(db_url, bare_engine):
    """Before, a mistyped --revision ended in Alembic's traceback."""
    result = CliRunner().invoke(app, ["db", "upgrade", "--revision", "0099"],
                                env={"DJBOT_DATABASE_URL": db_url})
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert result.output.startswith("未升级：") and "0099" in result.output


def test_a_database_a_newer_djbot_migrated_is_named_so_by_serve_doctor_and_upgrade(
        db_url, bare_engine):
    """Before, after going back to an older djbot, `serve` (which upgrades SQLite itself)
    ended in Alembic's traceback with exit 1, so systemd restarted it every 5 s; `doctor`
    said 请运行 djbot db upgrade, and that said only 「Can't locate revision」."""
    db.upgrade(bare_engine)
    with bare_engine.begin() as conn:  # as the newer djbot left it
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '0099'"))
    env = {"DJBOT_DATABASE_URL": db_url}
    told = "数据库结构 0099 来自更新版本的 djbot"
    # Only an embedded database is upgraded by the command itself (PostgreSQL's replicas
    # start and wait, not ready, as during a rolling upgrade).
    embedded = [["serve", "--port", "0"], ["report", "weekly"]] \
        if bare_engine.dialect.name == "sqlite" else []
    for args in (["db", "upgrade"], *embedded):
        result = CliRunner().invoke(app, args, env=env)
        assert result.exit_code == 2, (args, result.output)
        assert result.exception is None or isinstance(result.exception, SystemExit), args
        assert told in result.output and len(result.output.strip().splitlines()) == 1, args
    doctor = CliRunner().invoke(app, ["doctor", "database"], env=env)
    assert doctor.exit_code == 1 and told in doctor.output, doctor.output
    assert "djbot db upgrade" not in doctor.output, doctor.output
