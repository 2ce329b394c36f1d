"""Roster import: read a CSV or XLSX file, check every row, then apply it in one transaction.

Reading is bounded (file size, unzipped size, rows, columns, characters per cell) and
streams the workbook, so a hostile or broken file is refused with the row and the limit
instead of exhausting the machine. Reading and checking are pure (no database): a file
with any bad row is rejected whole, each problem naming the row as a spreadsheet shows
it (the header is row 1; row 0 means the file as a whole). Applying matches each row to a
member by 编号 when given, else by their platform ids, and updates people in place, so
re-importing the same file changes nothing.

What an empty cell means is decided per column (see COLUMNS): in a full import an empty
cell clears the value for the columns that can be cleared; in a partial import it changes
nothing; a column that is empty from top to bottom changes nothing in either mode.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
import zipfile
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, tzinfo
from pathlib import Path
from typing import Any

from sqlmodel import Session, select

from bot.domain.attendance import activity_label
from storage import membership, moves, org
from storage.leave import Changed
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

# --- limits: a county bureau has up to about a thousand members ---------------------
MB = 1024 * 1024
MAX_FILE_BYTES = 5 * MB  # a 5,000-person roster is about 0.5 MB as CSV or XLSX
MAX_UNZIPPED_BYTES = 8 * MB  # everything inside an XLSX, as its zip directory declares it
MAX_ZIP_MEMBERS = 1000
MAX_ROWS = 5000  # people rows, not counting the header
MAX_COLUMNS = 30  # the roster has nine columns; cells right of this are not read in XLSX
MAX_CELL_CHARS = 200  # any cell; each column has its own, smaller limit below
# Empty rows are read past the last person up to here: a sheet formatted down to row
# 65,536 is still a roster, a million empty rows only cost time.
MAX_SCAN_ROWS = 70_000
EXCEL_EXACT_DIGITS = 15  # Excel keeps 15 significant digits of a number, then rounds
TITLE_ROWS = 4  # rows above the header looked through for it, to say where it is

ROLE_BY_LABEL = {label: role for role, label in ROLE_LABELS.items()}
# What secretaries actually write in the 角色 column. The branch committee (支委会) is the
# roster's 书记 and 委员; the bureau's 党委 members are 领导; party-affairs staff run djbot.
ROLE_ALIASES: dict[str, Role] = {
    "普通党员": Role.MEMBER, "正式党员": Role.MEMBER, "预备党员": Role.MEMBER,
    "支部书记": Role.SECRETARY, "党支部书记": Role.SECRETARY, "支书": Role.SECRETARY,
    "临时党支部书记": Role.SECRETARY,
    "支委": Role.COMMITTEE, "支部委员": Role.COMMITTEE, "支委委员": Role.COMMITTEE,
    "支部副书记": Role.COMMITTEE, "党支部副书记": Role.COMMITTEE, "副书记": Role.COMMITTEE,
    "组织委员": Role.COMMITTEE, "宣传委员": Role.COMMITTEE, "纪检委员": Role.COMMITTEE,
    "纪律检查委员": Role.COMMITTEE, "青年委员": Role.COMMITTEE, "统战委员": Role.COMMITTEE,
    "保密委员": Role.COMMITTEE, "群工委员": Role.COMMITTEE,
    "局领导": Role.LEADER, "党委书记": Role.LEADER, "党委副书记": Role.LEADER,
    "党委委员": Role.LEADER, "党委成员": Role.LEADER, "班子成员": Role.LEADER,
    "党务干部": Role.ADMIN, "党建专干": Role.ADMIN, "党务工作者": Role.ADMIN,
    "系统管理员": Role.ADMIN,
}
# Leaders and admins belong to the bureau, so their 支部 may be empty.
BUREAU_ROLES = frozenset({Role.LEADER, Role.ADMIN})
BUREAU_LABEL = "局机关"
YES, NO = ("是", "y", "yes", "true", "1"), ("否", "n", "no", "false", "0")
_DATE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")
_SCIENTIFIC = re.compile(r"^\d(\.\d+)?[eE]\+?\d+$")  # 4.12346E+11: Excel rounded an id
# Control characters (NUL, ANSI escapes, line breaks) and bidi overrides never belong in
# a name or an id; they would travel into group chats and break PostgreSQL (NUL).
_BIDI = frozenset("\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_EDGE_BLANKS = " \t\u3000\u00a0\u200b\ufeff"  # spaces Excel and web copy-paste leave
# What Excel (and WPS) show when a formula fails, e.g. a VLOOKUP that found nobody: never a
# value, and never the template's note row though it starts with '#'.
EXCEL_ERRORS = frozenset({"#N/A", "#REF!", "#VALUE!", "#DIV/0!", "#NAME?", "#NULL!", "#NUM!",
                          "#SPILL!", "#CALC!", "#FIELD!", "#BLOCKED!", "#CONNECT!", "#BUSY!",
                          "#UNKNOWN!", "#GETTING_DATA"})


def role_from_text(text: str) -> Role | None:
    """党员/委员/书记/领导/管理员 or a common title such as 支部书记, 组织委员, 党委委员."""
    word = "".join(text.split())
    return ROLE_BY_LABEL.get(word) or ROLE_ALIASES.get(word)


class RosterError(ValueError):
    """The file cannot be imported; `problems` lists (row number, what is wrong).

    Row 0 stands for the file as a whole (its size, its format, its encoding).
    """

    def __init__(self, problems: list[tuple[int, str]]) -> None:
        self.problems = sorted(problems)
        super().__init__("\n".join(self.lines()))

    def lines(self) -> list[str]:
        return [f"{where(row)}：{text}" for row, text in self.problems]


def where(row: int) -> str:
    return f"第 {row} 行" if row else "文件"


# --- the columns ----------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    """One roster column: its header, where it goes in a RosterRow, and its rules."""

    header: str
    key: str  # the RosterRow attribute
    max_chars: int
    required: bool = False  # a full import's file must have this header
    clears: bool = False  # in a full import an empty cell clears the value
    is_id: bool = False  # an account or staff number: text, even when Excel made it a number
    matches: bool = False  # identifies a person (a partial import needs one such column)


COLUMNS: tuple[Column, ...] = (
    Column("支部", "branch", 60, required=True, clears=True),
    Column("姓名", "name", 40, required=True),
    Column("角色", "role", 20, required=True, clears=True),
    Column("企业微信ID", "wecom_id", 64, required=True, clears=True, is_id=True, matches=True),
    Column("钉钉ID", "dingtalk_id", 64, required=True, clears=True, is_id=True, matches=True),
    Column("编号", "staff_no", 32, is_id=True, matches=True),
    Column("党小组", "party_group", 60, clears=True),
    Column("临时", "temporary", 10),
    Column("结束日期", "ends_on", 20),
    # Who is expected at 中心组学习/第一议题, and where a temporary branch's member returns.
    Column("党委委员", "bureau_committee", 10),
    Column("原支部", "return_branch", 60),
)
COLUMN_BY_HEADER = {c.header: c for c in COLUMNS}
REQUIRED_HEADERS = tuple(c.header for c in COLUMNS if c.required)
OPTIONAL_HEADERS = tuple(c.header for c in COLUMNS if not c.required)
ID_COLUMNS = {Platform.WECOM.value: "wecom_id", Platform.DINGTALK.value: "dingtalk_id"}
HEADER_OF = {c.key: c.header for c in COLUMNS}


@dataclass(frozen=True)
class RosterRow:
    row: int  # as the spreadsheet shows it: the header is row 1
    name: str
    branch: str | None = None
    role: Role | None = None
    wecom_id: str | None = None
    dingtalk_id: str | None = None
    staff_no: str | None = None
    party_group: str | None = None
    temporary: bool | None = None
    ends_on: date | None = None
    bureau_committee: bool | None = None
    return_branch: str | None = None
    # The keys this row sets: to its value, or to nothing (a full import's empty cell).
    # A key not in `given` leaves the member as they are. Left out, it is every key
    # that has a value, so a row built in code means what it says.
    given: frozenset[str] = None  # type: ignore[assignment]

    def __post_init__(self) -> None:
        if self.given is None:
            keys = frozenset(c.key for c in COLUMNS if getattr(self, c.key) is not None)
            object.__setattr__(self, "given", keys)

    @property
    def ids(self) -> dict[str, str]:
        found = {platform: getattr(self, key) for platform, key in ID_COLUMNS.items()}
        return {platform: uid for platform, uid in found.items() if uid}


@dataclass
class Roster:
    """A checked file: its rows, and what the office worker should look at."""

    rows: list[RosterRow]
    full: bool = True
    warnings: list[str] = field(default_factory=list)
    untouched: list[str] = field(default_factory=list)  # headers of columns left all empty
    # (row, RosterRow key) of the ids Excel stored as plain numbers: a leading 0 may be gone.
    numeric: set[tuple[int, str]] = field(default_factory=set)

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self):
        return iter(self.rows)

    def __getitem__(self, index: int) -> RosterRow:
        return self.rows[index]


# --- reading a file into rows of text -------------------------------------------------


@dataclass
class Table:
    """The cells of a file as text, header first, with what Excel stored as numbers."""

    rows: list[list[str]]
    # (row number, column index) -> the number Excel stored, for cells whose format did
    # not keep leading zeros: an id there may have lost its leading 0 or its last digits.
    numbers: dict[tuple[int, int], int | float] = field(default_factory=dict)


class _Collector:
    """Keeps rows within the limits while a file is read, one row at a time."""

    def __init__(self) -> None:
        self.table = Table(rows=[])

    def add(self, number: int, cells: list[str]) -> None:
        if number > MAX_SCAN_ROWS:
            raise RosterError([(number, f"表格超过 {MAX_SCAN_ROWS} 行（名册最多 {MAX_ROWS} 人）："
                                        "请删去名单下面多余的空行后另存")])
        while cells and not cells[-1]:
            cells.pop()
        if not cells:
            if number <= MAX_ROWS + 1:  # blank rows past the limit are not kept
                self.table.rows.append([])
            return
        if is_note(cells[0]):
            cells = ["#"]  # a note row (the template's explanation): skipped, not kept
        if number > MAX_ROWS + 1:
            raise RosterError([(number, f"名册最多 {MAX_ROWS} 行（不含表头），这个文件更长。"
                                        "请删掉多余的行，或分成几个文件用 --partial 导入")])
        if len(cells) > MAX_COLUMNS:
            raise RosterError([(number, f"第 {MAX_COLUMNS + 1} 列还有内容，名册最多 {MAX_COLUMNS} 列")])
        for index, cell in enumerate(cells):
            if len(cell) > MAX_CELL_CHARS:
                raise RosterError([(number, f"第 {index + 1} 列有 {len(cell)} 个字，"
                                            f"一个单元格最多 {MAX_CELL_CHARS} 字")])
        while len(self.table.rows) < number - 1:
            self.table.rows.append([])
        self.table.rows.append(cells)


def read_table(path: Path) -> Table:
    """The cells of the first sheet (XLSX) or the CSV, as text, header first."""
    data = _read_bounded(path)
    if data.startswith(b"PK\x03\x04"):
        return read_xlsx_bytes(data)
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise RosterError([(0, "这是旧版 Excel（.xls）文件：请在 Excel 中「另存为」.xlsx 或 CSV 后再导入")])
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        raise RosterError([(0, "这不是有效的 XLSX 文件：请在 Excel 中打开后「另存为」.xlsx 或 CSV")])
    return read_csv_bytes(data)


def _read_bounded(path: Path) -> bytes:
    size = path.stat().st_size
    with path.open("rb") as handle:
        # Read one byte past the limit: a pipe or a growing file has no honest size.
        data = handle.read(MAX_FILE_BYTES + 1) if size <= MAX_FILE_BYTES else b""
    size = max(size, len(data))
    if size > MAX_FILE_BYTES:
        raise RosterError([(0, f"文件有 {_mb(size)} MB，名册文件最大 {_mb(MAX_FILE_BYTES)} MB。"
                               "名册只需要文字：请删去图片和多余的工作表后另存")])
    return data


def _mb(size: int) -> str:
    return f"{size / MB:.1f}".removesuffix(".0")


def read_csv_bytes(data: bytes) -> Table:
    # Excel on Chinese Windows saves CSV as GBK; everything else is UTF-8, often with a BOM.
    guessed = False
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text, guessed = data.decode("gb18030"), True
        except UnicodeDecodeError:
            raise RosterError([(0, "文件编码无法识别，请另存为 UTF-8 或 GBK 编码的 CSV")]) from None
    collector = _Collector()
    reader = csv.reader(io.StringIO(text))
    number, header_seen, before_header = 0, False, 0
    try:
        for number, row in enumerate(reader, start=1):
            cells = [_clean(cell) for cell in row]
            nonsense = not set(cells) & COLUMN_BY_HEADER.keys()
            if guessed and not header_seen and any(cells) and nonsense:
                # Big5 or Shift-JIS decodes as GBK without an error, into nonsense headers;
                # a title or two above the header (parse_roster says so) is no such sign.
                before_header += 1
                if before_header > TITLE_ROWS:
                    raise RosterError([(0, "文件编码无法识别，请另存为 UTF-8 或 GBK 编码的 CSV")])
            header_seen = header_seen or (any(cells) and not nonsense)
            collector.add(number, cells)
        if guessed and not header_seen and before_header:
            raise RosterError([(0, "文件编码无法识别，请另存为 UTF-8 或 GBK 编码的 CSV")])
    except csv.Error:
        raise RosterError([(number + 1, f"单元格太长（一个单元格最多 {MAX_CELL_CHARS} 字），"
                                        "或者引号没有配对")]) from None
    return collector.table


def read_xlsx_bytes(data: bytes) -> Table:
    """The first sheet, streamed, after the zip's declared sizes are found within bounds."""
    corrupt = RosterError([(0, "这个 XLSX 文件无法读取（可能已损坏）：请在 Excel 中打开后重新保存")])
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, ValueError, EOFError):
        raise corrupt from None
    if len(members) > MAX_ZIP_MEMBERS:
        raise RosterError([(0, f"XLSX 文件里有 {len(members)} 个部件，最多 {MAX_ZIP_MEMBERS} 个")])
    # zipfile stops every member at its declared size (and fails its checksum if the
    # data goes on), so the declared sizes bound what openpyxl can inflate.
    unzipped = sum(member.file_size for member in members)
    if unzipped > MAX_UNZIPPED_BYTES:
        raise RosterError([(0, f"XLSX 文件解压后有 {_mb(unzipped)} MB，最多 "
                               f"{_mb(MAX_UNZIPPED_BYTES)} MB：请只保留名册这一张表后另存")])

    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds for a broken file; all mean the same
        raise corrupt from None
    collector = _Collector()
    try:
        if not workbook.worksheets:
            raise corrupt
        sheet = workbook.worksheets[0]
        # The stored dimension may lie (A1:XFD1048576 in a 20 KB file), and openpyxl
        # pads every row to it: ignore it and read only the columns the roster can have.
        sheet.reset_dimensions()
        for number, cells in enumerate(sheet.iter_rows(max_col=MAX_COLUMNS + 1), start=1):
            texts = []
            for index, cell in enumerate(cells):
                value = cell.value
                if value is None:
                    texts.append("")
                    continue
                # Only numbers need their format: it says whether leading zeros were kept.
                shape = cell.number_format if isinstance(value, (int, float)) else None
                texts.append(_clean(_cell_text(value, shape)))
                if _lost_digits_risk(value, shape):
                    collector.table.numbers[(number, index)] = value
            collector.add(number, texts)
        _fill_merged(collector.table, _merged_ranges(data, getattr(sheet, "_worksheet_path", "")))
    except RosterError:
        raise
    except Exception:
        raise corrupt from None
    finally:
        workbook.close()
    return collector.table


# <mergeCell ref="A2:A5"/> in the sheet's XML, after its rows (openpyxl's read-only mode,
# which streams the rows, does not read it).
_MERGE_CELL = re.compile(
    rb'<(?:\w+:)?mergeCell\b[^>]*?\bref="([A-Z]{1,3})(\d{1,7}):([A-Z]{1,3})(\d{1,7})"')


def _merged_ranges(data: bytes, sheet_path: str) -> list[tuple[int, int, int, int]]:
    """The sheet's merged ranges as (first row, first column, last row, last column)."""
    from openpyxl.utils import column_index_from_string

    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        if sheet_path.lstrip("/") not in archive.namelist():
            return []
        xml = archive.read(sheet_path.lstrip("/"))  # within the declared sizes checked above
    return [(int(r0), column_index_from_string(c0.decode()), int(r1),
             column_index_from_string(c1.decode()))
            for c0, r0, c1, r1 in _MERGE_CELL.findall(xml)]


def _fill_merged(table: Table, ranges: list[tuple[int, int, int, int]]) -> None:
    """A merged cell's value on every row it covers, as Excel shows it: a secretary merges
    the 支部 cell over the rows of one branch and means that branch for each of them. Rows
    with nothing else in them stay blank."""
    budget = (MAX_ROWS + 1) * MAX_COLUMNS  # Excel's merges never overlap: at most each cell
    for first_row, first_col, last_row, last_col in ranges:
        if first_row == 1 or first_row > len(table.rows) or first_col > MAX_COLUMNS:
            continue  # the header (or a title above it) is not filled across
        if first_col != last_col:
            # Merged sideways (across 企业微信ID and 钉钉ID, say), a value is no one column's:
            # copied into each it would be a second, false account.
            continue
        top = table.rows[first_row - 1]
        value = top[first_col - 1] if first_col <= len(top) else ""
        if not value or top == ["#"]:  # a note row merged across keeps to itself
            continue
        for row in table.rows[first_row - 1:last_row]:
            if not any(row) or row == ["#"]:
                continue
            for col in range(first_col, min(last_col, MAX_COLUMNS) + 1):
                budget -= 1
                if budget < 0:
                    raise RosterError([(0, "XLSX 文件里的合并单元格互相重叠：请取消合并后另存")])
                row.extend([""] * (col - len(row)))
                if not row[col - 1]:
                    row[col - 1] = value


def _cell_text(value: Any, number_format: str | None = None) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # a 编号 typed as a number comes back as 1001.0
    if isinstance(value, int) and number_format and set(number_format) == {"0"}:
        # A "000000" format is how Excel shows an id with leading zeros; keep them.
        return str(value).zfill(len(number_format))
    return str(value)


def _lost_digits_risk(value: Any, number_format: str | None) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    return not (number_format and set(number_format) == {"0"})


def is_note(first_cell: str) -> bool:
    """A row whose first cell starts with '#' is a note (the template's explanation line);
    one that holds an Excel error such as #N/A is a person whose formula failed."""
    return first_cell.startswith("#") and first_cell.upper() not in EXCEL_ERRORS


def _clean(text: str) -> str:
    return text.strip(_EDGE_BLANKS)


def _bad_characters(text: str) -> bool:
    return any(unicodedata.category(ch) == "Cc" or ch in _BIDI for ch in text)


def shown(text: str) -> str:
    """A cell as it can be echoed safely: control characters made visible."""
    return "".join("�" if unicodedata.category(ch) == "Cc" or ch in _BIDI else ch for ch in text)


# --- checking rows -----------------------------------------------------------------


def _parse_role(text: str) -> Role:
    role = role_from_text(text)
    if role is None:
        raise ValueError(f"未知的角色「{shown(text)}」，只能是 {'、'.join(ROLE_BY_LABEL)}"
                         "（也认 支部书记、支书、组织委员、党委委员、党务干部 等常见写法）")
    return role


def _parse_flag(header: str) -> Callable[[str], bool]:
    def parse(text: str) -> bool:
        if text.lower() in YES:
            return True
        if text.lower() in NO:
            return False
        raise ValueError(f"{header}只能填 是 或 否，收到「{shown(text)}」")
    return parse


def _parse_end(text: str) -> date:
    found = parse_date(text)
    if found is None:
        raise ValueError(f"结束日期「{shown(text)}」不是有效日期，请写成 2026-12-31")
    return found


def _parse_id(header: str) -> Callable[[str], str]:
    def parse(text: str) -> str:
        # Platform ids and 编号 are ASCII: ｚｈａｎｇ or １００３, typed with the input method
        # in full-width mode, is the same account or number, not a new person.
        text = unicodedata.normalize("NFKC", text)
        if _SCIENTIFIC.match(text):
            raise ValueError(f"{header}「{text}」被 Excel 变成了科学计数法，末尾的数字已经丢失："
                             f"请把{header}这一列设为「文本」格式后重新填写")
        if any(ch.isspace() for ch in text):
            raise ValueError(f"{header}「{shown(text)}」中间有空格")
        return text
    return parse


def _parse_wecom_id(text: str) -> str:
    userid = _parse_id("企业微信ID")(text)
    # WeCom makes a userid of letters, digits and _-@. only: a name here (the 姓名 or the
    # display name copied across) would never match anyone who writes to the bot.
    if not userid.isascii():
        raise ValueError(f"企业微信ID「{shown(userid)}」不是企业微信的账号：请填写企业微信管理后台"
                         "「通讯录」里成员的「账号」（由字母、数字组成），不是姓名")
    return userid


# Spaces between Chinese characters of a name: 王　伟, padded to line up with 三字 names.
_PADDED_NAME = re.compile(r"(?<=[\u3400-\u9fff\uf900-\ufaff])\s+(?=[\u3400-\u9fff\uf900-\ufaff])")


def _parse_name(text: str) -> str:
    # People write 王伟 in chat (one word, as 补签 and 设置角色 read it): the padding an
    # office roster lines names up with is not part of the name. Latin names keep theirs.
    return _PADDED_NAME.sub("", text)


# How each column's text becomes a value; a column without an entry is plain text.
PARSERS: dict[str, Callable[[str], Any]] = {
    "name": _parse_name,
    "role": _parse_role,
    "temporary": _parse_flag("临时"),
    "bureau_committee": _parse_flag("党委委员"),
    "ends_on": _parse_end,
    **{c.key: _parse_id(c.header) for c in COLUMNS if c.is_id},
    "wecom_id": _parse_wecom_id,
}


def parse_roster(table: Table | list[list[str]], *, full: bool = True) -> Roster:
    """Check every row; return them all, or raise RosterError listing every problem.

    Blank rows and rows whose first cell starts with '#' (the template's note) are skipped.
    """
    if not isinstance(table, Table):
        table = Table(rows=[[_clean(c) for c in row] for row in table])
    rows_in = table.rows
    headers = [_clean(h) for h in rows_in[0]] if rows_in else []
    below = next((number for number, row in enumerate(rows_in[1:TITLE_ROWS + 2], start=2)
                  if len(set(row) & COLUMN_BY_HEADER.keys()) >= 2), None)
    if below is not None and not set(headers) & COLUMN_BY_HEADER.keys():
        # A title (城关分局党员名册) or a blank row above the header, as office spreadsheets
        # have: not "the file is empty" or "headers missing".
        raise RosterError([(1, f"{'是标题' if any(headers) else '是空行'}，表头在第 {below} 行："
                               "请删去表头上方的标题行或空行后重新导入")])
    if not any(headers):
        raise RosterError([(1, "文件是空的，第 1 行应为表头：" + ",".join(REQUIRED_HEADERS))])
    problems: list[tuple[int, str]] = []
    for header in headers:
        if header and header not in COLUMN_BY_HEADER:
            allowed = "、".join(c.header for c in COLUMNS)
            problems.append((1, f"未知的表头「{shown(header)}」，可用的表头：{allowed}"))
    if full:
        missing = [h for h in REQUIRED_HEADERS if h not in headers]
    else:
        missing = [] if "姓名" in headers else ["姓名"]
        if not any(c.matches and c.header in headers for c in COLUMNS):
            problems.append((1, "部分导入至少需要 编号、企业微信ID、钉钉ID 其中一列，用来认人"))
    if missing:
        problems.append((1, f"缺少表头「{'、'.join(missing)}」"))
    repeated = [h for h, n in Counter(h for h in headers if h).items() if n > 1]
    if repeated:
        problems.append((1, f"表头「{'、'.join(repeated)}」重复"))
    if problems:
        raise RosterError(problems)

    columns = {COLUMN_BY_HEADER[h]: i for i, h in enumerate(headers) if h}
    data = [(number, cells) for number, cells in enumerate(rows_in[1:], start=2)
            if any(cells) and not is_note(cells[0])]
    # A column empty from top to bottom says nothing: it was not filled in, not emptied.
    filled = {c for c, i in columns.items() if any(_get(cells, i) for _, cells in data)}
    untouched = [c.header for c in columns if c not in filled and c.clears]

    rows: list[RosterRow] = []
    for number, cells in data:
        row, row_problems = _parse_row(number, {c: _get(cells, i) for c, i in columns.items()},
                                       filled=filled, full=full)
        problems += row_problems
        if row is not None:
            rows.append(row)
    id_problems, id_warnings = _excel_number_problems(table, columns)
    problems += id_problems + _cross_row_problems(rows)
    if problems:
        raise RosterError(problems)
    if not rows:
        raise RosterError([(2, "名册里没有任何人")])
    numeric = {(number, column.key) for (number, at), _ in table.numbers.items()
               for column, index in columns.items() if column.is_id and index == at}
    return Roster(rows=rows, full=full, warnings=id_warnings, untouched=untouched,
                  numeric=numeric)


def _get(cells: list[str], index: int) -> str:
    return cells[index] if index < len(cells) else ""


def _parse_row(number: int, cell: dict[Column, str], *, filled: set[Column],
               full: bool) -> tuple[RosterRow | None, list[tuple[int, str]]]:
    problems: list[str] = []
    values: dict[str, Any] = {}
    given: set[str] = set()
    for column, text in cell.items():
        if _bad_characters(text):
            problems.append(f"{column.header}「{shown(text)}」含有换行或不可见的控制字符，请删除")
            continue
        if text.upper() in EXCEL_ERRORS:
            problems.append(f"{column.header}「{text}」是 Excel 的错误值（公式没有算出结果，"
                            "例如 VLOOKUP 没有找到），请填上实际内容")
            continue
        if len(text) > column.max_chars:
            problems.append(f"{column.header}最多 {column.max_chars} 字，这一格有 {len(text)} 字")
            continue
        if text:
            try:
                values[column.key] = PARSERS.get(column.key, str)(text)
            except ValueError as exc:
                problems.append(str(exc))
                continue
            given.add(column.key)
        elif full and column.clears and column in filled:
            given.add(column.key)  # cleared: None, or 党员 for the role
    if "role" in given and "role" not in values:
        values["role"] = Role.MEMBER
    if not any(c.key == "name" and text for c, text in cell.items()):
        problems.append("缺少姓名")
    if ({"temporary", "ends_on"} & values.keys()) and not values.get("branch"):
        problems.append("填了临时或结束日期但没有填支部")
    if values.get("ends_on") is not None:
        if values.get("temporary") is False:
            problems.append("临时为「否」的支部不能有结束日期")
        else:
            values["temporary"] = True
            given.add("temporary")
    if problems:
        return None, [(number, p) for p in problems]
    return RosterRow(row=number, given=frozenset(given), **values), []


def _excel_number_problems(table: Table, columns: dict[Column, int]
                           ) -> tuple[list[tuple[int, str]], list[str]]:
    """Ids that Excel stored as numbers: past 15 digits they are wrong, else maybe short."""
    problems: list[tuple[int, str]] = []
    risky: dict[Column, list[int]] = defaultdict(list)
    for column, index in columns.items():
        if not column.is_id:
            continue
        for (number, at), value in sorted(table.numbers.items()):
            if at != index:
                continue
            if abs(value) >= 10 ** EXCEL_EXACT_DIGITS or (isinstance(value, float)
                                                          and not value.is_integer()):
                problems.append((number, f"{column.header}在 Excel 里存成了数字，超过 "
                                         f"{EXCEL_EXACT_DIGITS} 位的部分已经丢失：请把这一列设为"
                                         "「文本」格式后重新填写"))
            else:
                risky[column].append(number)
    warnings = [
        f"{column.header}在 Excel 里是数字格式（第 {_rows_text(numbers)} 行），"
        "如果原本以 0 开头，开头的 0 已经丢失：请把这一列设为「文本」格式后重新填写"
        for column, numbers in risky.items()
    ]
    return problems, warnings


def _rows_text(numbers: list[int], most: int = 5) -> str:
    text = "、".join(str(n) for n in numbers[:most])
    return text + (f" 等 {len(numbers)} 行" if len(numbers) > most else "")


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
        for key in ("staff_no", *ID_COLUMNS.values()):
            value = getattr(row, key)
            if not value:
                continue
            # A WeCom userid in another case is the same account (org.CASELESS_IDS).
            same = value.lower() if key == ID_COLUMNS["wecom"] else value
            earlier = first_row.setdefault((key, same), row.row)
            if earlier != row.row:
                problems.append((row.row, f"{HEADER_OF[key]}「{value}」与第 {earlier} 行重复"))
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


def parse_file(path: Path, *, full: bool = True) -> Roster:
    return parse_roster(read_table(path), full=full)


# --- applying rows -------------------------------------------------------------------


@dataclass
class PersonChange:
    """One person the import adds, changes, brings back or deactivates."""

    name: str
    branch: str
    details: list[str] = field(default_factory=list)


@dataclass
class ImportResult:
    full: bool = True
    added_people: list[PersonChange] = field(default_factory=list)
    updated_people: list[PersonChange] = field(default_factory=list)
    reactivated_people: list[PersonChange] = field(default_factory=list)
    deactivated_people: list[PersonChange] = field(default_factory=list)
    unchanged: int = 0
    new_branches: list[str] = field(default_factory=list)
    changed_branches: list[str] = field(default_factory=list)  # 临时/结束日期
    # Closed (branch close, or a 临时党支部 ended) and named again: open from now on.
    reopened_branches: list[str] = field(default_factory=list)
    new_groups: list[str] = field(default_factory=list)
    role_changes: list[tuple[str, str, str]] = field(default_factory=list)  # (name, old, new)
    warnings: list[str] = field(default_factory=list)
    deactivated_ids: list[int] = field(default_factory=list)
    # What the changes of place did to leave (storage.leave.refit), for the caller to tell
    # the people concerned; and the same, by name, for the lines printed.
    leave_changes: list[Changed] = field(default_factory=list)
    leave_people: list[PersonChange] = field(default_factory=list)

    added = property(lambda self: len(self.added_people))
    updated = property(lambda self: len(self.updated_people))
    reactivated = property(lambda self: len(self.reactivated_people))
    deactivated = property(lambda self: len(self.deactivated_people))
    branches_created = property(lambda self: len(self.new_branches))
    branches_updated = property(lambda self: len(self.changed_branches))
    branches_reopened = property(lambda self: len(self.reopened_branches))
    groups_created = property(lambda self: len(self.new_groups))

    @property
    def changes(self) -> int:
        return (self.added + self.updated + self.reactivated + self.deactivated
                + self.branches_created + self.branches_updated + self.branches_reopened
                + self.groups_created)

    def as_dict(self) -> dict[str, Any]:
        return {
            "added": self.added,
            "updated": self.updated,
            "reactivated": self.reactivated,
            "deactivated": self.deactivated,
            "unchanged": self.unchanged,
            "branches_created": self.branches_created,
            "branches_updated": self.branches_updated,
            "branches_reopened": self.branches_reopened,
            "groups_created": self.groups_created,
            "role_changes": len(self.role_changes),
            # Who was deactivated, by id: the audit trail says who without copying names.
            "deactivated_member_ids": self.deactivated_ids,
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
        if self.branches_reopened:
            parts.append(f"重新启用支部 {self.branches_reopened} 个")
        if self.groups_created:
            parts.append(f"新建党小组 {self.groups_created} 个")
        return "，".join(parts)

    def details(self) -> list[str]:
        """Who, by name: the lines an office worker checks before and after an import."""
        lines: list[str] = []
        for title, people in (("新增", self.added_people), ("停用", self.deactivated_people)):
            if people:
                lines.append(f"{title} {len(people)} 人：")
                by_branch: dict[str, list[str]] = defaultdict(list)
                for person in people:
                    by_branch[person.branch].append(person.name)
                lines += [f"  {branch}：{'、'.join(names)}" for branch, names in by_branch.items()]
        for title, people in (("更新", self.updated_people), ("恢复", self.reactivated_people)):
            if people:
                lines.append(f"{title} {len(people)} 人：")
                for p in people:
                    changes = "：" + "；".join(p.details) if p.details else ""
                    lines.append(f"  {p.name}（{p.branch}）{changes}")
        for title, names in (("新建支部", self.new_branches), ("更新支部", self.changed_branches),
                             ("重新启用支部", self.reopened_branches),
                             ("新建党小组", self.new_groups)):
            if names:
                lines.append(f"{title}：{'、'.join(names)}")
        if self.leave_people:
            lines.append(f"请假随调动调整 {len(self.leave_people)} 人（调动或停用后"
                         "不再需要参加的活动，请假撤回；待批准的多日请假改由新支部审批；"
                         "调回后又需要参加的，请假恢复）：")
            lines += [f"  {p.name}（{p.branch}）：{'；'.join(p.details)}"
                      for p in self.leave_people]
        if self.warnings:
            lines.append("请注意：")
            lines += [f"  {text}" for text in self.warnings]
        return lines


def apply_roster(
    session: Session,
    roster: Roster | list[RosterRow],
    *,
    full: bool,
    now: datetime,
    tz: tzinfo,
    actor: str = "cli",
    source: str | None = None,
) -> ImportResult:
    """Bring the organisation in line with the rows; the caller commits (or rolls back).

    A full import makes every active member missing from the rows inactive (their
    history stays); a partial one only adds and updates. Raises RosterError listing
    every row that cannot be applied (e.g. a new person without an account, or a row
    matching a member another row already took). Leave asked for what someone moved or
    made inactive is no longer expected at is withdrawn (storage.leave.refit): listed
    in the result, for the caller to tell them (`tz`: the days of a leave period).
    """
    if not isinstance(roster, Roster):
        roster = Roster(rows=list(roster), full=full)
    result = ImportResult(full=full, warnings=list(roster.warnings))
    branches = {b.name: b for b in session.exec(select(Branch)).all()}
    groups = {(g.branch_id, g.name): g for g in session.exec(select(PartyGroup)).all()}
    problems: list[tuple[int, str]] = []
    seen: dict[int, int] = {}  # member id -> the row that matched it
    # A 原支部 that a row further down creates is made first, as that row makes it, so a
    # file listing its task force before the home branches is not refused.
    first_naming = {row.branch: row for row in reversed(roster.rows) if row.branch}
    for row in roster.rows:
        # A retyped name ((一) for （一）) is the branch already known, not one to make.
        home = _known_name(branches, row.return_branch)
        if home and home not in branches and home in first_naming:
            _ensure_branch(session, branches, home, first_naming[home], now, result, actor)

    named = {row.branch for row in roster.rows if row.branch}
    for row in roster.rows:
        row = replace(row, branch=_known_name(branches, row.branch),
                      return_branch=_known_name(branches, row.return_branch),
                      **_zeros_put_back(session, row, roster.numeric))
        if row.branch not in branches and _two_branches(row.branch, branches.keys() | named):
            # Read as one name it would be a new branch, its one member expected nowhere.
            problems.append((row.row, f"支部「{row.branch}」是两个支部：一个人只能属于一个支部，"
                                      "请只填组织关系所在的那个"))
            continue
        member = _match(session, row)
        if member is not None and member.id in seen:
            problems.append((row.row, f"与第 {seen[member.id]} 行匹配到同一个人「{member.name}」，"
                                      "请检查编号和账号 ID"))
            continue
        problem = _apply_row(session, row, member, branches, groups, now, tz, actor, result)
        if isinstance(problem, str):
            problems.append((row.row, problem))
        else:
            seen[problem] = row.row
    for row in roster.rows:
        # Nobody goes back to a closed branch (unless the file opens it again): the
        # temporary branch's end would leave them expected nowhere, in no ranking.
        back = branches.get(_known_name(branches, row.return_branch) or "")
        if back is not None and not back.active:
            problems.append((row.row, f"原支部「{back.name}」已撤销：请填写此人临时党支部"
                                      "结束后要回的支部"))
    if problems:
        raise RosterError(problems)

    names = {b.id: b.name for b in branches.values()}
    if full:
        stale = session.exec(
            select(Member).where(Member.active == True, Member.forgotten == False)  # noqa: E712
        ).all()
        # Branch by branch as the roster lists them, the bureau's people last.
        stale = sorted(stale, key=lambda m: (m.branch_id is None, m.branch_id or 0, m.id))
        for member in stale:
            if member.id not in seen:
                _leave_changed(session, result, moves.leave_roster(
                    session, member=member, now=now), tz, names)
                member.updated_at = now
                result.deactivated_people.append(
                    PersonChange(member.name, names.get(member.branch_id, BUREAU_LABEL)))
                result.deactivated_ids.append(member.id)  # type: ignore[arg-type]
        before = len(stale) - result.added - result.reactivated  # active before the import
        if result.deactivated >= 3 and result.deactivated * 2 > before:
            # Most likely a short file imported without --partial.
            result.warnings.append(f"这次完整导入停用了现有 {before} 人中的 {result.deactivated} 人："
                                   "如果只是想补充或修改几个人，请改用 --partial")
    session.flush()
    result.warnings += _homeless(session, seen)
    if result.updated + result.reactivated + result.unchanged:
        # Said only when the file updated people: for them, an empty column is a choice.
        result.warnings += [f"「{header}」列整列为空，没有改动任何人的{header}"
                            for header in roster.untouched]
    result.warnings += _namesake_warnings(session, seen, names)
    result.warnings += [f"支部「{name}」已没有在册人员，仍在红黄蓝榜和调研目标里：如已撤销，"
                        f"请运行 djbot branch close {name}" for name in _emptied(session)]

    session.add(
        AuditEntry(
            at=now,
            actor=actor,
            action="roster.import",
            target=source,
            detail={"mode": "full" if full else "partial", "rows": len(roster.rows),
                    **result.as_dict(),
                    "leave_withdrawn": {str(c.member.id): [a.id for a in c.withdrawn + c.released]
                                        for c in result.leave_changes
                                        if c.withdrawn or c.released}},
        )
    )
    session.flush()
    return result


def _leave_changed(session: Session, result: ImportResult, changed: Changed | None,
                   tz: tzinfo, names: dict[int | None, str]) -> None:
    """Keep what a change of place did to the member's leave, by name for the lines
    printed: the activities their leave was withdrawn from, and a period now another
    branch's to decide."""
    off = changed.withdrawn + changed.released + changed.turned_down if changed else []
    if changed is None or not (off or changed.restored or changed.to_decide):
        return
    result.leave_changes.append(changed)
    member = changed.member
    details = ["、".join(activity_label(a.type, a.topic, a.starts_at, tz, None)  # type: ignore[arg-type]
                        for a in off)] if off else []
    if changed.restored:
        details.append("请假恢复：" + "、".join(
            activity_label(r.activity.type, r.activity.topic, r.activity.starts_at, tz, None)  # type: ignore[arg-type]
            for r in changed.restored))
    decides = "仍待" if changed.back_on_roster else "改由"  # back where it was asked
    details += [f"{p.first_day.month}月{p.first_day.day}日起的请假{decides}"
                f"{names.get(member.branch_id, BUREAU_LABEL)}审批" for p in changed.to_decide]
    where = names.get(member.branch_id, BUREAU_LABEL) if member.active else "停用"
    result.leave_people.append(PersonChange(member.name, where, details))


def _apply_row(session: Session, row: RosterRow, member: Member | None,
               branches: dict[str, Branch], groups: dict[tuple[int, str], PartyGroup],
               now: datetime, tz: tzinfo, actor: str, result: ImportResult) -> int | str:
    """Add or update the row's person; their member id, or what stops the row."""
    names = {b.id: b.name for b in branches.values()}
    current_branch = names.get(member.branch_id) if member else None
    branch_name = row.branch if "branch" in row.given else current_branch
    role = row.role if "role" in row.given else Role(member.role) if member else Role.MEMBER
    if branch_name == BUREAU_LABEL and role in BUREAU_ROLES and BUREAU_LABEL not in branches:
        branch_name = None  # how djbot shows the bureau level (djbot members), not a branch
    if branch_name is None and role not in BUREAU_ROLES:
        return "缺少支部（只有领导、管理员可以不填支部；局党委书记请填「领导」）"
    current_ids = {} if member is None else {
        i.platform: i.user_id
        for i in session.exec(select(Identity).where(Identity.member_id == member.id))
    }
    wanted_ids = {p: (getattr(row, key) if key in row.given else current_ids.get(p))
                  for p, key in ID_COLUMNS.items()}
    if not any(wanted_ids.values()):
        return "企业微信ID 和 钉钉ID 不能都为空"
    if "party_group" in row.given and row.party_group and branch_name is None:
        return "填了党小组但没有填支部"
    ended = _ended_on(branches.get(branch_name or ""), row, now.astimezone(tz).date())
    if ended is not None:
        # Last month's file still listing a task force: reopening it would take its people
        # from the branch they went home to, until the scheduler closed it again.
        return (f"临时党支部「{branch_name}」已于 {ended.isoformat()} 结束：请把这一行改为"
                "此人现在的支部；如果要延续这个临时支部，请在结束日期填写新的日期")

    branch = _ensure_branch(session, branches, branch_name, row, now, result, actor)
    if branch is not None and not branch.active:
        # The row leaves their branch as it was, and it was closed while they were off the
        # roster: back in it, they would be expected at nothing and in no ranking.
        return f"{row.name}原在的「{branch.name}」已撤销：请在「支部」列填写此人现在的支部"
    if "party_group" in row.given:
        group_name = row.party_group
    elif member is not None and branch is not None and member.branch_id == branch.id:
        group_name = next((g.name for g in groups.values() if g.id == member.party_group_id), None)
    else:
        group_name = None  # moved to another branch: the old branch's group no longer fits
    group = None
    if group_name and branch is not None:
        group = groups.get((branch.id, group_name))  # type: ignore[arg-type]
        if group is None:
            group = PartyGroup(branch_id=branch.id, name=group_name)  # type: ignore[arg-type]
            session.add(group)
            session.flush()
            groups[(branch.id, group_name)] = group  # type: ignore[index]
            result.new_groups.append(f"{branch.name}/{group_name}")

    wanted: dict[str, Any] = {
        "name": row.name,
        "branch_id": branch.id if branch else None,
        "party_group_id": group.id if group else None,
        "role": role.value,
    }
    if row.staff_no:
        wanted["staff_no"] = row.staff_no
    if "bureau_committee" in row.given:
        wanted["bureau_committee"] = row.bureau_committee
    if "return_branch" in row.given:
        back = branches.get(row.return_branch or "")
        if back is None:
            return f"原支部「{row.return_branch}」不在名册里，请先建立该支部"
        wanted["return_branch_id"] = back.id
    shown_branch = branch.name if branch else BUREAU_LABEL
    if member is None:
        member = Member(**wanted, created_at=now, updated_at=now)
        session.add(member)
        session.flush()
        moved = [d for d in _set_identities(session, member, wanted_ids) if "原属" in d]
        if moved:  # someone already in djbot loses this account to the new person
            result.warnings.append(f"第 {row.row} 行新增的{row.name}：{'；'.join(moved)}")
        result.added_people.append(PersonChange(row.name, shown_branch))
        return member.id  # type: ignore[return-value]

    group_names = {g.id: g.name for g in groups.values()}
    before = {"name": member.name, "branch_id": current_branch or BUREAU_LABEL,
              "party_group_id": group_names.get(member.party_group_id, "无"),
              "role": ROLE_LABELS[Role(member.role)], "staff_no": member.staff_no or "无",
              "bureau_committee": "是" if member.bureau_committee else "否",
              "return_branch_id": names.get(member.return_branch_id, "无")}
    after = {"name": row.name, "branch_id": shown_branch, "party_group_id": group_name or "无",
             "role": ROLE_LABELS[role], "staff_no": wanted.get("staff_no") or before["staff_no"],
             "bureau_committee": ("是" if wanted["bureau_committee"] else "否")
             if "bureau_committee" in wanted else before["bureau_committee"],
             "return_branch_id": names.get(wanted.get("return_branch_id"),
                                           before["return_branch_id"])}
    labels = {"name": "姓名", "branch_id": "支部", "party_group_id": "党小组", "role": "角色",
              "staff_no": "编号", "bureau_committee": "党委委员", "return_branch_id": "原支部"}
    details = [f"{labels[k]} {before[k]} → {after[k]}" for k in labels if before[k] != after[k]]
    old_role = member.role
    changed = {k: v for k, v in wanted.items() if getattr(member, k) != v}
    back = not member.active
    if back:
        # Off the roster they have no spell to keep: they start one here, and the leave
        # withdrawn when they left stands again where it is due again.
        for key, value in changed.items():
            setattr(member, key, value)
        refitted: Changed | None = moves.rejoin(session, member=member, now=now, tz=tz)
    else:
        # The spell as it was (branch, party group, role, 党委委员) is kept before it
        # changes; a row that changes none of them keeps it whole.
        refitted = moves.change(session, member=member, now=now, tz=tz,
                                **{k: v for k, v in changed.items() if k in membership.PLACE})
        for key, value in changed.items():
            setattr(member, key, value)
    details += _set_identities(session, member, wanted_ids)
    person = PersonChange(row.name, shown_branch, details)
    if back:
        result.reactivated_people.append(person)
    elif details:
        result.updated_people.append(person)
    else:
        result.unchanged += 1
    if details or changed:
        member.updated_at = now
    _leave_changed(session, result, refitted, tz, {b.id: b.name for b in branches.values()})
    if "role" in changed:
        result.role_changes.append((member.name, old_role, role.value))
        session.add(
            AuditEntry(
                at=now,
                actor=actor,
                action="role.change",
                target=member.name,
                detail={"member_id": member.id, "old": old_role, "new": role.value,
                        "via": "roster.import"},
            )
        )
    return member.id  # type: ignore[return-value]


def _homeless(session: Session, rows_by_member: dict[int, int]) -> list[str]:
    """The file's people in a temporary branch set to end who have nowhere to go back to
    (no 原支部, no branch before it): at its end they would belong to no branch, expected
    at nothing, and nobody would be told."""
    from storage.temporary import home_of  # it moves people (storage.moves), as this does

    found = []
    for member, branch in session.exec(
            select(Member, Branch).join(Branch, Branch.id == Member.branch_id)
            .where(Member.id.in_(rows_by_member), Member.active == True,  # type: ignore[union-attr]  # noqa: E712
                   Branch.temporary == True, Branch.ends_on.is_not(None),  # type: ignore[union-attr]  # noqa: E712
                   Member.role.not_in(BUREAU_ROLES))  # type: ignore[attr-defined]
            .order_by(Member.id)).all():
        if home_of(session, member, branch.id) is None:  # type: ignore[arg-type]
            found.append((rows_by_member[member.id],  # type: ignore[index]
                          f"{member.name}：临时党支部「{branch.name}」{branch.ends_on.isoformat()} "  # type: ignore[union-attr]
                          "结束后没有可回的支部，请在「原支部」列填写"))
    return [f"第 {row} 行{text}" for row, text in sorted(found)]


def _emptied(session: Session) -> list[str]:
    """Standing branches still open with nobody on their roster: a restructuring (27 → 30)
    moved their people, and only closing them (djbot branch close) takes them out of the
    rankings, the 调研 targets and the reminders to a group nobody reads."""
    from storage.temporary import awaited  # it moves people (storage.moves), as this does

    peopled = select(Member.branch_id).where(Member.active == True,  # noqa: E712
                                             Member.branch_id.is_not(None))  # type: ignore[union-attr]
    # Nor one whose people are away in a 临时党支部 and go back to it when it ends (their
    # 原支部, or where they came from when the roster names none).
    waiting = set(awaited(session))
    return [name for branch_id, name in session.exec(select(Branch.id, Branch.name).where(
        Branch.active == True, Branch.temporary == False,  # noqa: E712
        Branch.id.not_in(peopled)).order_by(Branch.id)).all()  # type: ignore[union-attr]
        if branch_id not in waiting]


def _zeros_put_back(session: Session, row: RosterRow, numeric: set[tuple[int, str]]
                    ) -> dict[str, str]:
    """The ids of the row that Excel stored as numbers, given back the leading zeros of the
    one already known that they can only be (412345678901 for 0412345678901): a full
    import must not swap an account people use for one that matches nobody."""
    found: dict[str, str] = {}
    for key in ("staff_no", *ID_COLUMNS.values()):
        number = getattr(row, key)
        if (row.row, key) not in numeric or not number or not number.isdigit():
            continue
        if key == "staff_no":
            query = select(Member.staff_no).where(
                Member.staff_no.like(f"%{number}"))  # type: ignore[union-attr]
        else:
            platform = next(p for p, k in ID_COLUMNS.items() if k == key)
            query = select(Identity.user_id).where(
                Identity.platform == platform,
                Identity.user_id.like(f"%{number}"))  # type: ignore[attr-defined]
        known = {text for text in session.exec(query).all() if text}
        if number in known:
            continue
        padded = [text for text in known if text.lstrip("0") == number]
        if len(padded) == 1:
            found[key] = padded[0]
    return found


def _known_name(branches: dict[str, Branch], name: str | None) -> str | None:
    """The branch already known that `name` means: itself, or one whose name differs only
    in full- or half-width characters and spaces (（一） typed again as (一)), so that a
    retyped name does not make a new branch and move everyone into it."""
    if name is None or name in branches:
        return name
    key = _width_free(name)
    return next((known for known in branches if _width_free(known) == key), name)


_BRANCH_LIST = re.compile(r"[、/／,，;；+＋\s]+")


def _two_branches(name: str | None, known: set[str]) -> bool:
    """Whether a 支部 cell lists several branches that are `known` (一支部、二支部)."""
    parts = [part for part in _BRANCH_LIST.split(name or "") if part]
    spelled = dict.fromkeys(known)
    return len(parts) > 1 and all(_known_name(spelled, part) in known  # type: ignore[arg-type]
                                  for part in parts)


def _width_free(name: str) -> str:
    return "".join(unicodedata.normalize("NFKC", name).split())


def _ended_on(branch: Branch | None, row: RosterRow, today: date) -> date | None:
    """The end date, already past, of the temporary branch the row puts its person in, with
    the 临时/结束日期 the row gives it; None when that branch goes on (or is no such)."""
    if "temporary" in row.given and (branch is None or row.branch == branch.name):
        ends_on = row.ends_on if row.temporary else None
    else:
        ends_on = branch.ends_on if branch is not None and branch.temporary else None
    return ends_on if ends_on is not None and ends_on < today else None


def _ensure_branch(session: Session, branches: dict[str, Branch], name: str | None,
                   row: RosterRow, now: datetime, result: ImportResult,
                   actor: str) -> Branch | None:
    if name is None:
        return None
    branch = branches.get(name)
    if branch is not None and row.branch != name:
        return branch  # the row leaves the person's branch as it is, and the branch too
    if branch is None:
        branch = Branch(name=name, temporary=bool(row.temporary), ends_on=row.ends_on,
                        created_at=now)
        session.add(branch)
        session.flush()
        branches[name] = branch
        result.new_branches.append(name)
        return branch
    # Rows that leave 临时/结束日期 blank leave the branch as it is.
    wanted: dict[str, object] = {"active": True}
    if "temporary" in row.given:
        wanted |= {"temporary": row.temporary, "ends_on": row.ends_on}
    elif not branch.temporary:
        wanted["ends_on"] = None  # a standing branch closed (branch close) and named again
    changed = {k: v for k, v in wanted.items() if getattr(branch, k) != v}
    closed_on = branch.ends_on
    for key, value in changed.items():
        setattr(branch, key, value)
    if "active" in changed:
        # A branch closed by mistake (or a restructuring called off) is open again: said by
        # name and kept next to its closing (branch.close, branch.end) in the audit trail.
        result.reopened_branches.append(name)
        session.add(AuditEntry(at=now, actor=actor, action="branch.reopen", target=name,
                               detail={"closed_on": closed_on.isoformat() if closed_on else None,
                                       "ends_on": branch.ends_on.isoformat()
                                       if branch.ends_on else None, "via": "roster.import"}))
    elif changed and name not in result.changed_branches:
        result.changed_branches.append(name)
    return branch


def _match(session: Session, row: RosterRow) -> Member | None:
    """编号 is the stable key; without one, the first platform id that is known."""
    if row.staff_no:
        member = session.exec(select(Member).where(Member.staff_no == row.staff_no)).first()
        if member is not None:
            return member
    for platform, user_id in row.ids.items():
        # WeCom's Zhang is its zhang (org.CASELESS_IDS): the person who has it, respelt.
        identity = org.identity_of(session, platform=platform, user_id=user_id)
        member = session.get(Member, identity.member_id) if identity is not None else None
        if member is None:
            continue
        # An id held by someone with a different 编号 is being handed over, not a match;
        # held by someone of the row's name, it is theirs and the 编号 is being corrected
        # (nobody holds the row's 编号, or it would have matched above).
        if (row.staff_no and member.staff_no and member.staff_no != row.staff_no
                and not _same_name(member, row)):
            continue
        # Nor is one held by someone who left under another name: an account deleted and
        # given to a newcomer must not hand them the leaver's points and attendance.
        if not member.active and not _same_name(member, row):
            continue
        return member
    return None


def _same_name(member: Member, row: RosterRow) -> bool:
    return "".join(member.name.split()) == "".join(row.name.split())


def _set_identities(session: Session, member: Member, wanted: dict[str, str | None]) -> list[str]:
    """Give the member exactly these ids per platform; what changed, in words."""
    details: list[str] = []
    current = session.exec(select(Identity).where(Identity.member_id == member.id)).all()
    labels = {p: HEADER_OF[key] for p, key in ID_COLUMNS.items()}
    for identity in current:
        if wanted.get(identity.platform) != identity.user_id:
            session.delete(identity)
            if not wanted.get(identity.platform):
                details.append(f"{labels[identity.platform]} {identity.user_id} → 无")
    session.flush()
    before = {i.platform: i.user_id for i in current}
    for platform, user_id in wanted.items():
        if not user_id or before.get(platform) == user_id:
            continue
        holder = org.identity_of(session, platform=platform, user_id=user_id)
        note = ""
        if holder is None:
            session.add(Identity(member_id=member.id, platform=platform, user_id=user_id))
        else:
            # The file gives this id to this person now; the previous holder loses it.
            previous = session.get(Member, holder.member_id)
            note = f"（原属 {previous.name}）" if previous is not None else ""
            holder.member_id = member.id  # type: ignore[assignment]
            holder.user_id = user_id  # as the file spells it (WeCom ignores case)
        details.append(f"{labels[platform]} {before.get(platform) or '无'} → {user_id}{note}")
    session.flush()
    return details


def _namesake_warnings(session: Session, rows_by_member: dict[int, int],
                       branch_names: dict[int | None, str]) -> list[str]:
    """Two active people of one name in one branch, not both told apart by a 编号."""
    active = session.exec(
        select(Member).where(Member.active == True, Member.forgotten == False)  # noqa: E712
    ).all()
    same: dict[tuple[int | None, str], list[Member]] = defaultdict(list)
    for member in active:
        same[(member.branch_id, member.name)].append(member)
    warnings = []
    for (branch_id, name), people in same.items():
        if len(people) < 2 or all(p.staff_no for p in people):
            continue
        rows = sorted(rows_by_member[p.id] for p in people if p.id in rows_by_member)
        if not rows:
            continue  # namesakes the file did not touch were warned about when imported
        where_text = f"第 {'、'.join(map(str, rows))} 行"
        if len(rows) < len(people):
            where_text += f"，另有 {len(people) - len(rows)} 位已在名册中"
        warnings.append((rows[0], f"「{branch_names.get(branch_id, BUREAU_LABEL)}」有 {len(people)} 位"
                                  f"「{name}」（{where_text}），请在名册里填写编号（警号）区分，"
                                  "否则按姓名找人时分不清"))
    return [text for _, text in sorted(warnings)]
    return warnings


def import_roster(session: Session, path: Path, *, full: bool, now: datetime, tz: tzinfo,
                  actor: str = "cli") -> ImportResult:
    """Read, check and apply a roster file; the caller commits (nothing is applied on error)."""
    return apply_roster(session, parse_file(path, full=full), full=full, now=now, tz=tz,
                        actor=actor, source=path.name)
