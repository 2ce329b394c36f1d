"""A portable dump of the whole database, and restoring it into an empty one of either kind.

The dump is JSON lines: a header naming the format's version and the Alembic revision,
then one line per row, tables in dependency order (a row's references come before it), then
a last line with the number of rows and the SHA-256 of the header and row lines, so a file
cut short or garbled on its way (a changed digit is still JSON) is refused, before anything
is written, rather than restored in part or with another member's points. It is read through
SQL, not copied as a file, so it is consistent even while djbot is writing, and it moves
between SQLite and PostgreSQL. Times are written as UTC ISO strings.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from datetime import date, datetime, timezone
from pathlib import Path
from typing import IO, Any

import sqlalchemy as sa
from alembic import command
from alembic.runtime.migration import MigrationContext
from alembic.util import CommandError
from sqlalchemy.engine import Connection, Engine

from storage import db

FORMAT = "djbot-backup"
# 4 ends with {"end": rows, "sha256": …} of the header and the rows; 3 the same of the rows
# alone; 2 with {"end": rows}; 1 with nothing. All restore. A header edited to name another
# version (from 4 down to 2 or 1, the checks an older one had) is caught by the digest (4),
# or by an end that is not that version's.
FORMAT_VERSION = 4
_END_OF = {1: None, 2: frozenset({"end"}), 3: frozenset({"end", "sha256"}),
           4: frozenset({"end", "sha256"})}
BATCH = 500


class RestoreRefused(Exception):
    """The target database is not empty, or the file is not a djbot backup."""


def _tables(conn: Connection) -> list[sa.Table]:
    meta = sa.MetaData()
    meta.reflect(conn)
    return [t for t in meta.sorted_tables if t.name != "alembic_version"]


def _encode(value: Any) -> Any:
    if isinstance(value, datetime):
        # SQLite hands back naive values that are UTC by construction (storage.types).
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


def _decoder(column: sa.Column, dialect: str):
    try:
        kind = column.type.python_type
    except NotImplementedError:
        kind = object
    if kind is datetime:
        def decode(value):
            if value is None:
                return None
            parsed = datetime.fromisoformat(value).astimezone(timezone.utc)
            # The plain DATETIME a reflected SQLite column has would drop an offset silently.
            return parsed.replace(tzinfo=None) if dialect == "sqlite" else parsed
        return decode
    if kind is date:
        return lambda value: None if value is None else date.fromisoformat(value)
    return lambda value: value


def dump(engine: Engine, out: IO[str], *, now: datetime) -> dict[str, int]:
    """Write every row to `out`, in one read transaction; returns rows per table."""
    counts: dict[str, int] = {}
    with engine.connect() as conn, conn.begin():
        if conn.dialect.name == "postgresql":
            # One consistent snapshot across all tables while replicas keep writing.
            conn.execute(sa.text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY"))
        elif conn.dialect.name == "sqlite":
            # pysqlite begins no transaction for a SELECT: each table would be read at its
            # own moment, and a check-in committed between two reads would be half in the
            # dump. An explicit BEGIN makes the first read fix the snapshot for them all.
            conn.exec_driver_sql("BEGIN")
        header = {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "revision": MigrationContext.configure(conn).get_current_revision(),
            "created_at": now.astimezone(timezone.utc).isoformat(),
            "source": conn.dialect.name,
        }
        line = json.dumps(header, ensure_ascii=False)
        out.write(line + "\n")
        digest = hashlib.sha256(line.encode() + b"\n")
        for table in _tables(conn):
            order = list(table.primary_key.columns) or list(table.columns)
            n = 0
            for row in conn.execute(sa.select(table).order_by(*order)).mappings():
                record = {key: _encode(value) for key, value in row.items()}
                line = json.dumps({"table": table.name, "row": record}, ensure_ascii=False)
                digest.update(line.encode() + b"\n")
                out.write(line + "\n")
                n += 1
            counts[table.name] = n
        out.write(json.dumps({"end": sum(counts.values()), "sha256": digest.hexdigest()}) + "\n")
    return counts


def read_header(path: Path) -> dict:
    try:
        with path.open(encoding="utf-8") as fh:
            header = json.loads(fh.readline())
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        header = None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise RestoreRefused(f"{path} 不是 djbot 备份文件")
    if header.get("version") not in _END_OF:
        raise RestoreRefused(f"{path} 的备份格式版本 {header.get('version')} 不受支持")
    revision = header.get("revision")
    if isinstance(revision, str) and not _known(revision):
        # No migration here builds its schema: Alembic would fail without saying what to do.
        raise RestoreRefused(f"备份来自更新版本 {revision}，请先升级 djbot")
    return header


def row_counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {
            t.name: conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one()
            for t in _tables(conn)
        }


def _lines(path: Path, *, header: bool = False) -> Iterator[tuple[int, str]]:
    """The row lines of the dump (and its end), numbered as an editor numbers them; with
    `header`, its header line first."""
    with path.open(encoding="utf-8", newline="") as fh:
        first = fh.readline()
        if header:
            yield 1, first.rstrip("\r\n")
        for number, line in enumerate(fh, start=2):
            # A copy through a text-mode transfer may end its lines in CRLF: the same rows.
            line = line.rstrip("\r\n")
            if line.strip():
                yield number, line


def check(path: Path, header: dict) -> None:
    """Read the whole dump once before anything is written: every line a row of a table,
    and (version 2 on) all of them there, (version 3 on) as they were written, (version 4)
    under the header as it was written. RestoreRefused, naming the first line that is not,
    otherwise."""
    rows, end, version = 0, None, header["version"]
    lines = _lines(path, header=True)
    _, first = next(lines)
    # A header edited from 4 to 3 has its rows checked alone, against a digest of both.
    digest = hashlib.sha256(first.encode() + b"\n" if version >= 4 else b"")
    while True:
        try:
            number, line = next(lines)
        except StopIteration:
            break
        except UnicodeDecodeError:  # a byte changed on the way: no UTF-8 any more
            raise RestoreRefused(f"备份文件已损坏（第 {rows + 2} 行之后有无法读取的字节）") \
                from None
        try:
            item = json.loads(line)
        except (json.JSONDecodeError, RecursionError):
            raise RestoreRefused(f"备份文件不完整或已损坏（第 {number} 行）") from None
        if end is not None:
            raise RestoreRefused(f"备份文件已损坏：结尾之后还有内容（第 {number} 行）")
        if isinstance(item, dict) and set(item) <= {"end", "sha256"} and "end" in item:
            end = item
            continue
        if not (isinstance(item, dict) and isinstance(item.get("table"), str)
                and isinstance(item.get("row"), dict) and len(item) == 2):
            raise RestoreRefused(f"备份文件已损坏（第 {number} 行不是一行数据）")
        rows += 1
        digest.update(line.encode() + b"\n")
    expected = _END_OF[version]
    if expected is not None and (end is None or end.get("end") != rows):
        raise RestoreRefused("备份文件不完整：没有写到结尾（复制时被截断？），请换用完整的备份")
    if end is not None and set(end) != expected:
        # An end this version never wrote: the header's version was changed (4 made 2
        # would skip the checksum), or the end was.
        raise RestoreRefused(f"备份文件已损坏：文件头的格式版本 {version} 与结尾不符，"
                             "请换用完整的备份")
    if version >= 3 and end.get("sha256") != digest.hexdigest():
        raise RestoreRefused("备份文件已损坏：内容与备份时不一致（校验和不符），请换用完整的备份")


def _records(path: Path) -> Iterator[tuple[int, str, dict]]:
    """The rows of a dump `check` has read: line number, table, row."""
    for number, line in _lines(path):
        item = json.loads(line)
        if "table" in item:
            yield number, item["table"], item["row"]


def restore(engine: Engine, path: Path, *, checked: dict | None = None) -> dict[str, int]:
    """Load a dump into an EMPTY database, then bring its schema to head; returns rows per table.

    The schema is first built at the dump's own revision so the rows fit as they were
    written, and the ordinary migrations carry them forward afterwards. `checked`: the
    header of a dump the caller has just read through `check` (each reading of a large
    dump is most of a restore's time), else it is read and checked here.
    """
    header = checked
    if header is None:
        header = read_header(path)
        check(path, header)
    nonempty = {name: n for name, n in row_counts(engine).items() if n}
    if nonempty:
        listed = "、".join(f"{name}({n})" for name, n in sorted(nonempty.items()))
        raise RestoreRefused(f"目标数据库不是空的，拒绝恢复：{listed}")
    _schema_at(engine, header["revision"])

    counts: dict[str, int] = {}
    with engine.begin() as conn:
        tables = {t.name: t for t in _tables(conn)}
        decoders = {
            name: {c.name: _decoder(c, conn.dialect.name) for c in table.columns}
            for name, table in tables.items()
        }
        batch: list[dict] = []
        current: str | None = None
        first = 0  # the line of the batch's first row

        def insert() -> None:
            try:
                conn.execute(tables[current].insert(), batch)
            except sa.exc.StatementError as exc:
                # Not the database's own words: they quote the rows (names, reasons).
                cause = type(getattr(exc, "orig", None) or exc).__name__
                raise RestoreRefused(f"备份文件已损坏：表 {current} 第 {first} 行起的数据无法写入"
                                     f"（{cause}），没有恢复任何数据") from None

        for number, name, row in _records(path):
            if name not in tables:
                raise RestoreRefused(f"备份中的表 {name} 在版本 {header['revision']} 中不存在")
            if name != current and batch:
                insert()
                batch = []
            if not batch:
                first = number
            current = name
            decoding = decoders[name]
            try:
                batch.append({key: decoding[key](value) for key, value in row.items()})
            except (KeyError, TypeError, ValueError):
                raise RestoreRefused(f"备份文件已损坏（第 {number} 行不是表 {name} 的一行）") \
                    from None
            counts[name] = counts.get(name, 0) + 1
            if len(batch) >= BATCH:
                insert()
                batch = []
        if batch:
            insert()
        if conn.dialect.name == "postgresql":
            _reset_sequences(conn, tables.values())
    db.upgrade(engine)
    return counts


def _schema_at(engine: Engine, revision: str | None) -> None:
    """Make the (empty) database's schema exactly that of `revision`."""
    if revision is None:
        raise RestoreRefused("备份没有记录数据库版本，无法恢复")
    try:
        db.upgrade(engine, revision)
    except CommandError:
        # The empty target is newer than the dump: stepping down loses nothing.
        command.downgrade(db.alembic_config(engine), revision)


def _known(revision: str) -> bool:
    from alembic.script import ScriptDirectory

    try:
        return ScriptDirectory(str(db.MIGRATIONS_DIR)).get_revision(revision) is not None
    except CommandError:  # Alembic's ResolutionError: no migration of ours has it
        return False


def _reset_sequences(conn: Connection, tables) -> None:
    """Rows came with their ids, so each id sequence must continue after the largest one."""
    for table in tables:
        pk = list(table.primary_key.columns)
        if len(pk) != 1 or not isinstance(pk[0].type, sa.Integer):
            continue
        sequence = conn.execute(
            sa.select(sa.func.pg_get_serial_sequence(table.name, pk[0].name))
        ).scalar_one()
        if sequence is None:
            continue
        largest = conn.execute(sa.select(sa.func.max(pk[0]))).scalar_one()
        # setval(seq, n, false) makes the next id n itself: 1 for an empty table.
        conn.execute(
            sa.select(sa.func.setval(sequence, largest or 1, largest is not None))
        )
