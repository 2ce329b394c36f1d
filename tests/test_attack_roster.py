"""Roster files as an attacker or a careless colleague makes them.

Each file is made here, small on disk: zip bombs, a false sheet dimension, forged row
numbers, giant cells, too many rows, foreign encodings, control characters and files
that are not what their name says. Every one is refused with the row and the limit (or
read correctly), nothing is imported, and nothing ends in a traceback. The workbook
attacks run in a child process whose peak memory is measured (ru_maxrss) and capped
(RLIMIT_AS), so a regression fails the test instead of exhausting the machine.
"""

from __future__ import annotations

import io
import json
import os
import resource
import subprocess
import sys
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlmodel import Session, func, select
from typer.testing import CliRunner

from bot.cli import app
from storage import roster as roster_module
from storage.models import Member
from storage.roster import (
    MAX_CELL_CHARS,
    MAX_FILE_BYTES,
    MAX_ROWS,
    MAX_SCAN_ROWS,
    MAX_UNZIPPED_BYTES,
    MB,
    RosterError,
    parse_file,
)

ROOT = Path(__file__).resolve().parents[1]
HEADER = ["支部", "姓名", "角色", "企业微信ID", "钉钉ID"]
# Growth of the child's peak memory while it reads one hostile file. A real 1,000-person
# roster needs a few MB; the attacks below reached 1.18 GB and 357 MB before the bounds.
MEMORY_BOUND_MB = 64
CHILD_ADDRESS_SPACE = 1536 * MB  # the child dies of MemoryError long before the machine does

CHILD = r"""
import json, resource, sys, time
from pathlib import Path
from openpyxl import load_workbook  # imported before the baseline is taken
from storage.roster import RosterError, parse_file
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
started = time.monotonic()
try:
    rows = parse_file(Path(sys.argv[1]))
    outcome = {"rows": [[r.row, r.name] for r in rows]}
except RosterError as exc:
    outcome = {"problems": exc.problems}
grew = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base
print(json.dumps({"grew_mb": grew / 1024, "seconds": time.monotonic() - started, **outcome}))
"""


def read_in_child(path: Path) -> dict:
    """Parse the file in a fresh interpreter; what it found and how much memory it took."""
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (CHILD_ADDRESS_SPACE, CHILD_ADDRESS_SPACE))

    done = subprocess.run([sys.executable, "-c", CHILD, str(path)], capture_output=True,
                          text=True, timeout=90, cwd=ROOT, preexec_fn=limit,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr[-2000:]
    found = json.loads(done.stdout)
    print(f"{path.name}: +{found['grew_mb']:.1f} MB, {found['seconds']:.2f} s")
    return found


# --- making hostile workbooks ---------------------------------------------------------

SHEET = "xl/worksheets/sheet1.xml"
SHEET_OPEN = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
              b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">')


def workbook_bytes(rows: list[list[object]]) -> bytes:
    book = Workbook()
    for row in rows:
        book.active.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def with_member(data: bytes, name: str, chunks: Iterable[bytes]) -> bytes:
    """The workbook with one zip member's content replaced by a stream of chunks."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as target:
        for info in source.infolist():
            if info.filename != name:
                target.writestr(info, source.read(info.filename))
        with target.open(name, "w", force_zip64=True) as handle:
            for chunk in chunks:
                handle.write(chunk)
    return out.getvalue()


def sheet_only(rows: Iterable[bytes]) -> bytes:
    return with_member(workbook_bytes([HEADER]), SHEET, sheet_xml(rows))


def inline_row(cells: list[str], r: int | None = None) -> bytes:
    row = "".join(f'<c t="inlineStr"><is><t>{text}</t></is></c>' for text in cells)
    return (f'<row r="{r}">' if r else "<row>").encode() + row.encode() + b"</row>"


def sheet_xml(rows: Iterable[bytes], *, dimension: str | None = None) -> Iterator[bytes]:
    # Without a dimension openpyxl reads every row; a true small one would stop it early.
    claimed = f'<dimension ref="{dimension}"/>' if dimension else ""
    yield SHEET_OPEN + f"{claimed}<sheetData>".encode()
    yield from rows
    yield b"</sheetData></worksheet>"


def repeated(unit: bytes, total_bytes: int) -> Iterator[bytes]:
    chunk = unit * max(1, MB // len(unit))
    for _ in range(max(1, total_bytes // len(chunk))):
        yield chunk


def xlsx(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def csv_file(tmp_path: Path, lines: list[str], *, name: str = "名册.csv",
             encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(("\n".join(lines) + "\n").encode(encoding))
    return path


PERSON = ["一支部", "王建国", "书记", "wang", ""]
# The roster as typed on a traditional-Chinese or Japanese Windows.
TRADITIONAL = ["支部,姓名,角色,企業微信ID,釘釘ID", "一支部,王建國,書記,wang,"]


def problems_of(path: Path) -> list[tuple[int, str]]:
    with pytest.raises(RosterError) as caught:
        parse_file(path)
    return caught.value.problems


# --- workbooks: measured in a child process ---------------------------------------------


def test_an_xlsx_zip_bomb_is_refused_from_its_zip_directory(tmp_path):
    # 100 MB of rows in a few hundred KB: refused before a single row is inflated.
    rows = [inline_row(HEADER), *repeated(inline_row(["一支部", "张三"]), 50 * MB)]
    path = xlsx(tmp_path, "bomb.xlsx", sheet_only(rows))
    assert path.stat().st_size < MB

    found = read_in_child(path)

    assert found["problems"] == [[0, f"XLSX 文件解压后有 50 MB，最多 {MAX_UNZIPPED_BYTES // MB} MB："
                                     "请只保留名册这一张表后另存"]]
    assert found["grew_mb"] < MEMORY_BOUND_MB


def test_a_shared_strings_bomb_is_refused_before_openpyxl_loads_it(tmp_path):
    strings = [b'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxml'
               b'formats.org/spreadsheetml/2006/main">',
               *repeated(b"<si><t>" + "张三".encode() * 20 + b"</t></si>", 20 * MB), b"</sst>"]
    data = with_member(workbook_bytes([HEADER, PERSON]), "xl/sharedStrings.xml", strings)
    path = xlsx(tmp_path, "strings.xlsx", data)

    found = read_in_child(path)

    assert found["problems"][0][0] == 0
    assert f"最多 {MAX_UNZIPPED_BYTES // MB} MB" in found["problems"][0][1]
    assert found["grew_mb"] < MEMORY_BOUND_MB


def test_rows_past_the_limit_stop_the_reading_at_the_first_one(tmp_path):
    # Within the unzipped bound (about 18,000 rows), so only the row limit can stop it.
    rows = [inline_row(HEADER), *repeated(inline_row(["一支部", "张三", "", "z"]), 3 * MB)]
    path = xlsx(tmp_path, "rows.xlsx", sheet_only(rows))

    found = read_in_child(path)

    assert found["problems"] == [[MAX_ROWS + 2, f"名册最多 {MAX_ROWS} 行（不含表头），这个文件更长。"
                                                "请删掉多余的行，或分成几个文件用 --partial 导入"]]
    assert found["grew_mb"] < MEMORY_BOUND_MB


def test_a_false_dimension_is_not_trusted(tmp_path):
    # A 20 KB file claiming A1:XFD1048576: openpyxl would pad every row, down to an empty
    # one far below, to 16,384 columns. The two real rows are read, nothing else.
    rows = [inline_row(HEADER), inline_row(["一支部", "王建国", "书记", "wang"]),
            b'<row r="60000"/>']
    data = with_member(workbook_bytes([HEADER]), SHEET, sheet_xml(rows, dimension="A1:XFD1048576"))
    path = xlsx(tmp_path, "dimension.xlsx", data)
    assert path.stat().st_size < 20_000

    found = read_in_child(path)

    assert found["rows"] == [[2, "王建国"]]
    assert found["grew_mb"] < MEMORY_BOUND_MB


def test_empty_rows_with_attributes_end_at_the_scan_limit(tmp_path):
    # Styled empty rows cost memory in openpyxl even when streamed; they end at a row
    # number well past any roster (a sheet formatted down to row 65,536 still reads).
    rows = [inline_row(HEADER), inline_row(PERSON[:4]),
            *repeated(b'<row ht="1" customHeight="1" hidden="1" outlineLevel="1"/>', 5 * MB)]
    path = xlsx(tmp_path, "styled.xlsx", sheet_only(rows))

    found = read_in_child(path)

    assert found["problems"] == [[MAX_SCAN_ROWS + 1, f"表格超过 {MAX_SCAN_ROWS} 行（名册最多 {MAX_ROWS} 人）："
                                                     "请删去名单下面多余的空行后另存"]]
    assert found["grew_mb"] < MEMORY_BOUND_MB


# --- workbooks: refused in process ------------------------------------------------------


def test_a_forged_row_number_is_refused_at_that_row(tmp_path):
    rows = [inline_row(HEADER), inline_row(["一支部", "王建国", "", "wang"], r=2),
            inline_row(["一支部", "张三", "", "z"], r=1_048_576)]
    path = xlsx(tmp_path, "forged.xlsx", sheet_only(rows))
    assert problems_of(path) == [(MAX_SCAN_ROWS + 1, f"表格超过 {MAX_SCAN_ROWS} 行（名册最多 {MAX_ROWS} 人）："
                                                     "请删去名单下面多余的空行后另存")]


def test_a_huge_xlsx_cell_is_refused_with_its_row_and_the_limit(tmp_path):
    path = xlsx(tmp_path, "cell.xlsx", workbook_bytes([HEADER, PERSON, ["一支部", "长" * 30_000]]))
    assert problems_of(path) == [(3, f"第 2 列有 30000 个字，一个单元格最多 {MAX_CELL_CHARS} 字")]


def test_a_long_name_is_refused_with_the_columns_own_limit(tmp_path):
    path = csv_file(tmp_path, [",".join(HEADER), "一支部," + "王" * 41 + ",,w1,"])
    assert problems_of(path) == [(2, "姓名最多 40 字，这一格有 41 字")]


def test_an_xlsx_zip_with_more_members_than_a_workbook_has_is_refused(tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for number in range(roster_module.MAX_ZIP_MEMBERS + 1):
            archive.writestr(f"x/{number}.xml", b"")
    path = xlsx(tmp_path, "many.xlsx", buffer.getvalue())
    assert problems_of(path) == [(0, f"XLSX 文件里有 {roster_module.MAX_ZIP_MEMBERS + 1} 个部件，"
                                     f"最多 {roster_module.MAX_ZIP_MEMBERS} 个")]


def test_a_zip_that_lies_about_a_members_size_is_a_broken_file(tmp_path):
    # The zip directory says 2 KB, the data inflates to 2 MB: zipfile stops at the
    # declared size and the checksum fails, so the lie cannot get past the bound.
    source = zipfile.ZipFile(io.BytesIO(workbook_bytes([HEADER, PERSON])))
    big = b"".join(sheet_xml([inline_row(HEADER), *repeated(inline_row(PERSON), 2 * MB)]))
    honest = zip_with({info.filename: big if info.filename == SHEET else source.read(info)
                       for info in source.infolist()}, compression=zipfile.ZIP_DEFLATED)
    lying = bytearray(honest)
    at = lying.find(b"PK\x01\x02")
    while lying[at + 46:at + 46 + len(SHEET)] != SHEET.encode():
        at = lying.find(b"PK\x01\x02", at + 4)
    lying[at + 24:at + 28] = (2048).to_bytes(4, "little")  # the declared uncompressed size
    path = xlsx(tmp_path, "lying.xlsx", bytes(lying))
    assert zipfile.ZipFile(path).getinfo(SHEET).file_size == 2048

    assert problems_of(path) == [(0, "这个 XLSX 文件无法读取（可能已损坏）：请在 Excel 中打开后重新保存")]


# --- CSV ------------------------------------------------------------------------------


def test_a_30_mb_csv_cell_is_refused_by_the_file_size(tmp_path):
    path = tmp_path / "big.csv"
    with path.open("wb") as handle:
        handle.write((",".join(HEADER) + '\n一支部,"').encode())
        handle.truncate(30 * MB)  # sparse: 30 MB to the reader, almost nothing on disk
    assert problems_of(path) == [(0, f"文件有 30 MB，名册文件最大 {MAX_FILE_BYTES // MB} MB。"
                                     "名册只需要文字：请删去图片和多余的工作表后另存")]


def test_a_csv_cell_past_the_csv_modules_own_limit_names_its_row(tmp_path):
    huge = '一支部,"' + "x" * 300_000 + '",,z,'
    path = csv_file(tmp_path, [",".join(HEADER), "一支部,王建国,,wang,", huge])
    assert problems_of(path) == [(3, f"单元格太长（一个单元格最多 {MAX_CELL_CHARS} 字），或者引号没有配对")]


def test_a_long_csv_cell_names_its_row_column_and_the_limit(tmp_path):
    path = csv_file(tmp_path, [",".join(HEADER), "一支部,王建国,,wang,", "一支部,李四,,li," + "y" * 5000])
    assert problems_of(path) == [(3, f"第 5 列有 5000 个字，一个单元格最多 {MAX_CELL_CHARS} 字")]


def test_one_row_past_the_limit_is_refused(tmp_path):
    lines = [",".join(HEADER)] + [f"一支部,党员{n},,w{n}," for n in range(MAX_ROWS + 1)]
    assert problems_of(csv_file(tmp_path, lines)) == [
        (MAX_ROWS + 2, f"名册最多 {MAX_ROWS} 行（不含表头），这个文件更长。请删掉多余的行，或分成几个文件用 --partial 导入")
    ]
    assert len(parse_file(csv_file(tmp_path, lines[:-1]))) == MAX_ROWS


@pytest.mark.parametrize("encoding", ["big5", "shift_jis"])
def test_big5_and_shift_jis_files_are_told_to_save_as_utf8_or_gbk(tmp_path, encoding):
    # Both decode as GBK without an error, into headers nobody wrote.
    path = csv_file(tmp_path, TRADITIONAL, encoding=encoding)
    assert problems_of(path) == [(0, "文件编码无法识别，请另存为 UTF-8 或 GBK 编码的 CSV")]


@pytest.mark.parametrize("name, shown", [
    ("王\x00建国", "王�建国"),           # NUL: PostgreSQL refuses it, SQLite stored it
    ("王建国\u202e国建", "王建国�国建"),  # a bidi override reverses what the group sees
    ("\x1b[31m王建国", "�[31m王建国"),   # an ANSI escape paints the operator's terminal
    ("王建国\n李四", "王建国�李四"),      # a line break inside a cell (Alt+Enter)
])
def test_control_characters_in_a_name_are_refused_and_shown_harmlessly(tmp_path, name, shown):
    path = csv_file(tmp_path, [",".join(HEADER), f'一支部,"{name}",,wang,'])
    assert problems_of(path) == [(2, f"姓名「{shown}」含有换行或不可见的控制字符，请删除")]


# --- the command line: every hostile file is one clear refusal ---------------------------


def hostile_files(tmp_path: Path) -> dict[str, Path]:
    sparse = tmp_path / "sparse.csv"
    with sparse.open("wb") as handle:
        handle.truncate(MAX_FILE_BYTES + 1)
    bomb = with_member(workbook_bytes([HEADER]), SHEET,
                       sheet_xml([inline_row(HEADER), *repeated(inline_row(PERSON), 10 * MB)]))
    valid = workbook_bytes([HEADER, PERSON])
    return {
        "sparse": sparse,
        "bomb": xlsx(tmp_path, "bomb.xlsx", bomb),
        "truncated": xlsx(tmp_path, "truncated.xlsx", valid[: len(valid) // 2]),
        "not a zip": xlsx(tmp_path, "text.xlsx", b"\x00\x01 not a workbook"),
        "old excel": xlsx(tmp_path, "old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600),
        "zip without a sheet": xlsx(tmp_path, "empty.xlsx", zip_with({"a.txt": b"x"})),
        "big5": csv_file(tmp_path, TRADITIONAL, name="big5.csv", encoding="big5"),
        "nul": csv_file(tmp_path, [",".join(HEADER), "一支部,王\x00建国,,wang,"], name="nul.csv"),
    }


def zip_with(members: dict[str, bytes], compression: int = zipfile.ZIP_STORED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def test_every_hostile_file_is_one_clear_refusal_from_the_command_line(db_url, tmp_path):
    runner = CliRunner()
    env = {"DJBOT_DATABASE_URL": db_url}
    assert runner.invoke(app, ["db", "upgrade"], env=env).exit_code == 0
    for label, path in hostile_files(tmp_path).items():
        for extra in ([], ["--dry-run"], ["--partial"]):
            result = runner.invoke(app, ["import-roster", str(path), *extra], env=env)
            assert result.exit_code == 1, (label, result.output)
            assert result.exception is None or isinstance(result.exception, SystemExit), label
            assert "名册有问题，没有导入任何数据" in result.stderr, label
            assert "Traceback" not in result.output and "\x1b" not in result.output, label
            assert len(result.stderr.splitlines()) == 2, (label, result.stderr)
    from storage import db

    with Session(db.make_engine(db_url)) as session:
        assert session.exec(select(func.count()).select_from(Member)).one() == 0
