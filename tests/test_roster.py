"""Roster import: a valid file, re-imports, edits, removals, and bad files that import nothing."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlmodel import Session, func, select

from storage.models import (
    AuditEntry,
    Branch,
    Identity,
    Member,
    PartyGroup,
    PointEntry,
    Role,
)
from storage.roster import ImportResult, RosterError, import_roster, parse_roster
from tests.conftest import SHANGHAI

NOW = datetime(2026, 11, 23, 1, 0, tzinfo=timezone.utc)
HEADER = "支部,姓名,角色,企业微信ID,钉钉ID,编号,党小组"
ROSTER = [
    HEADER,
    "一支部,王建国,书记,wang,ding-wang,1001,第一党小组",
    "一支部,李秀英,委员,li,,1002,第一党小组",
    "一支部,张伟,,zhang,ding-zhang,1003,第二党小组",
    "二支部,刘洋,书记,liu,,2001,",
    "二支部,陈静,党员,,ding-chen,2002,",
    ",赵振华,领导,zhao,,9001,",
]


def write(tmp_path: Path, lines: list[str], *, name: str = "名册.csv",
          encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(("\n".join(lines) + "\n").encode(encoding))
    return path


def run_import(engine, path: Path, *, full: bool = True, now: datetime = NOW) -> ImportResult:
    with Session(engine, expire_on_commit=False) as session:
        result = import_roster(session, path, full=full, now=now, tz=SHANGHAI)
        session.commit()
        return result


def member(engine, name: str) -> Member:
    with Session(engine) as session:
        return session.exec(select(Member).where(Member.name == name)).one()


def ids_of(engine, name: str) -> dict[str, str]:
    with Session(engine) as session:
        rows = session.exec(
            select(Identity).join(Member, Member.id == Identity.member_id).where(Member.name == name)
        ).all()
        return {i.platform: i.user_id for i in rows}


def count(engine, model) -> int:
    with Session(engine) as session:
        return session.exec(select(func.count()).select_from(model)).one()


def test_a_valid_roster_creates_branches_groups_members_and_ids(engine, tmp_path):
    result = run_import(engine, write(tmp_path, ROSTER))

    assert (result.added, result.branches_created, result.groups_created) == (6, 2, 2)
    with Session(engine) as session:
        assert [b.name for b in session.exec(select(Branch).order_by(Branch.id))] == ["一支部", "二支部"]
        group = session.get(PartyGroup, member(engine, "张伟").party_group_id)
        assert group.name == "第二党小组"
    assert member(engine, "王建国").role == Role.SECRETARY
    assert member(engine, "张伟").role == Role.MEMBER  # an empty 角色 is 党员
    assert member(engine, "赵振华").branch_id is None  # a leader belongs to the bureau
    assert ids_of(engine, "王建国") == {"wecom": "wang", "dingtalk": "ding-wang"}
    assert ids_of(engine, "陈静") == {"dingtalk": "ding-chen"}


def test_reimporting_the_same_file_changes_nothing_but_says_so_once(engine, tmp_path):
    path = write(tmp_path, ROSTER)
    run_import(engine, path)
    audit_before = count(engine, AuditEntry)
    stamp = member(engine, "张伟").updated_at

    again = run_import(engine, path, now=NOW + timedelta(days=1))

    assert again.changes == 0 and again.unchanged == 6
    assert member(engine, "张伟").updated_at == stamp
    with Session(engine) as session:
        new = session.exec(select(AuditEntry).order_by(AuditEntry.id).offset(audit_before)).all()
    assert [(e.action, e.detail["added"], e.detail["updated"]) for e in new] == [
        ("roster.import", 0, 0)
    ]


def test_an_edited_file_updates_people_in_place_and_audits_role_changes(engine, tmp_path):
    run_import(engine, write(tmp_path, ROSTER))
    before = member(engine, "张伟").id
    edited = list(ROSTER)
    # Renamed, moved to 二支部, made 委员, new WeCom id: still the same person (编号 1003).
    edited[3] = "二支部,张伟强,委员,zhang-new,ding-zhang,1003,"

    result = run_import(engine, write(tmp_path, edited))

    assert (result.added, result.updated, result.deactivated) == (0, 1, 0)
    moved = member(engine, "张伟强")
    assert moved.id == before
    with Session(engine) as session:
        assert session.get(Branch, moved.branch_id).name == "二支部"
        assert moved.party_group_id is None
        change = session.exec(select(AuditEntry).where(AuditEntry.action == "role.change")).one()
    assert change.target == "张伟强"
    assert (change.detail["old"], change.detail["new"]) == ("member", "committee")
    assert ids_of(engine, "张伟强") == {"wecom": "zhang-new", "dingtalk": "ding-zhang"}


def test_without_a_staff_number_people_are_matched_by_their_ids(engine, tmp_path):
    run_import(engine, write(tmp_path, [HEADER, "一支部,王建国,书记,wang,,,"]))
    first = member(engine, "王建国").id
    run_import(engine, write(tmp_path, [HEADER, "一支部,王建国同志,书记,wang,ding-wang,,"]))
    assert member(engine, "王建国同志").id == first
    assert count(engine, Member) == 1


def test_a_full_import_deactivates_the_missing_and_keeps_their_history(engine, tmp_path, chat):
    run_import(engine, write(tmp_path, ROSTER))
    leaver = member(engine, "陈静")
    with Session(engine) as session:
        session.add(PointEntry(member_id=leaver.id, branch_id=leaver.branch_id, points=3,
                               rule="attendance.present", source_kind="attendance",
                               source_id="1", occurred_at=NOW, created_at=NOW))
        session.commit()

    result = run_import(engine, write(tmp_path, [line for line in ROSTER if "陈静" not in line]))

    assert result.deactivated == 1
    assert member(engine, "陈静").active is False
    assert count(engine, PointEntry) == 1
    # Inactive people are strangers to the bot.
    assert "不在党员名册" in chat.say("ding-chen", "我的信息", platform="dingtalk").text
    # Listed again, they come back as the same person.
    back = run_import(engine, write(tmp_path, ROSTER))
    assert back.reactivated == 1 and member(engine, "陈静").id == leaver.id


def test_a_partial_import_only_adds_and_updates(engine, tmp_path):
    run_import(engine, write(tmp_path, ROSTER))
    result = run_import(engine, write(tmp_path, [HEADER, "二支部,新同志,,xin,,2003,"]), full=False)
    assert (result.added, result.deactivated) == (1, 0)
    with Session(engine) as session:
        assert session.exec(select(func.count()).where(Member.active == True)).one() == 7  # noqa: E712


def test_an_id_given_to_someone_else_moves_to_them(engine, tmp_path):
    run_import(engine, write(tmp_path, ROSTER))
    swapped = [HEADER, "一支部,王建国,书记,wang2,ding-wang,1001,", "一支部,李秀英,委员,wang,,1002,"]
    run_import(engine, write(tmp_path, swapped), full=False)
    assert ids_of(engine, "李秀英") == {"wecom": "wang"}
    assert ids_of(engine, "王建国") == {"wecom": "wang2", "dingtalk": "ding-wang"}


def test_temporary_branches_keep_their_end_date(engine, tmp_path):
    lines = ["支部,姓名,角色,企业微信ID,钉钉ID,临时,结束日期",
             "专项行动临时党支部,刘洋,书记,liu,,是,2026/12/31",
             "专项行动临时党支部,陈静,,chen,,,"]
    run_import(engine, write(tmp_path, lines))
    with Session(engine) as session:
        branch = session.exec(select(Branch)).one()
    assert branch.temporary and branch.ends_on == date(2026, 12, 31)


BAD_ROWS = [
    ("一支部,王五,群众,w5,,,", 3, "未知的角色「群众」"),
    ("一支部,,党员,w5,,,", 3, "缺少姓名"),
    ("一支部,王五,党员,w5,,1001,", 3, "编号「1001」与第 2 行重复"),
    ("一支部,王五,党员,wang,,,", 3, "企业微信ID「wang」与第 2 行重复"),
    ("一支部,王五,党员,,,,", 3, "企业微信ID 和 钉钉ID 不能都为空"),
    (",王五,党员,w5,,,", 3, "缺少支部"),
    # The display name where the 账号 belongs: a WeCom userid is letters, digits and _-@.
    ("一支部,王五,党员,王五,,,", 3, "企业微信ID「王五」不是企业微信的账号"),
]


@pytest.mark.parametrize("bad_line, row, problem", BAD_ROWS)
def test_a_bad_row_imports_nothing_and_names_the_row(engine, tmp_path, bad_line, row, problem):
    path = write(tmp_path, [HEADER, "一支部,王建国,书记,wang,,1001,", bad_line])
    with pytest.raises(RosterError) as caught:
        run_import(engine, path)
    assert any(r == row and problem in text for r, text in caught.value.problems), caught.value
    assert f"第 {row} 行" in str(caught.value)
    assert count(engine, Member) == count(engine, Branch) == count(engine, AuditEntry) == 0


@pytest.mark.parametrize(
    "table, row, problem",
    [
        ([["支部", "姓名", "角色", "企业微信ID", "钉钉ID", "手机号"]], 1, "未知的表头「手机号」"),
        ([["支部", "姓名", "企业微信ID", "钉钉ID"]], 1, "缺少表头「角色」"),
        ([["支部", "姓名", "角色", "企业微信ID", "钉钉ID", "结束日期"],
          ["临时支部", "王五", "", "w5", "", "2026-02-30"]], 2, "不是有效日期"),
        ([["支部", "姓名", "角色", "企业微信ID", "钉钉ID", "临时"],
          ["临时支部", "王五", "", "w5", "", "也许"]], 2, "临时只能填 是 或 否"),
        # A title above the header, as office spreadsheets have: not "headers missing".
        ([["城关分局党员名册（2026年12月）"], ["支部", "姓名", "角色", "企业微信ID", "钉钉ID"],
          ["一支部", "王五", "", "w5", ""]], 1, "是标题，表头在第 2 行：请删去表头上方的标题行"),
    ],
)
def test_bad_headers_and_values_name_the_row(table, row, problem):
    with pytest.raises(RosterError) as caught:
        parse_roster(table)
    assert any(r == row and problem in text for r, text in caught.value.problems), caught.value


def test_a_bad_file_leaves_an_existing_roster_untouched(engine, tmp_path):
    run_import(engine, write(tmp_path, ROSTER))
    broken = list(ROSTER)
    broken[1] = "一支部,王建国改名,书记,wang,ding-wang,1001,第一党小组"
    broken.append("一支部,错误,干部,x,,,")
    with pytest.raises(RosterError):
        run_import(engine, write(tmp_path, broken))
    assert member(engine, "王建国").active


def test_two_rows_that_are_one_person_in_the_database_are_refused(engine, tmp_path):
    run_import(engine, write(tmp_path, [HEADER, "一支部,王建国,书记,wang,,1001,"]))
    # Row 2 matches 王建国 by his id; row 3 matches him again by his 编号.
    lines = [HEADER, "一支部,李四,,wang,,,", "一支部,王建国,书记,wang2,,1001,"]
    with pytest.raises(RosterError) as caught:
        run_import(engine, write(tmp_path, lines))
    assert caught.value.problems[0][0] == 3
    assert ids_of(engine, "王建国") == {"wecom": "wang"}


def test_gbk_and_bom_csv_files_are_read(engine, tmp_path):
    run_import(engine, write(tmp_path, ROSTER, name="gbk.csv", encoding="gbk"))
    assert member(engine, "王建国").role == Role.SECRETARY
    bom = run_import(engine, write(tmp_path, ROSTER, name="bom.csv", encoding="utf-8-sig"))
    assert bom.changes == 0


def test_an_xlsx_roster_with_numeric_staff_numbers_and_date_cells(engine, tmp_path):
    book = Workbook()
    sheet = book.active
    sheet.append(["支部", "姓名", "角色", "企业微信ID", "钉钉ID", "编号", "结束日期"])
    sheet.append(["专项行动临时党支部", "王建国", "书记", "wang", None, 1001, datetime(2026, 12, 31)])
    sheet.append([None, None, None, None, None, None, None])  # a blank row is skipped
    sheet.append(["专项行动临时党支部", "李秀英", None, None, "ding-li", 1002.0, None])
    path = tmp_path / "名册.xlsx"
    book.save(path)

    result = run_import(engine, path)

    assert result.added == 2
    assert member(engine, "王建国").staff_no == "1001"
    assert member(engine, "李秀英").staff_no == "1002"
    with Session(engine) as session:
        assert session.exec(select(Branch)).one().ends_on == date(2026, 12, 31)


def test_the_template_and_the_demo_roster_are_valid():
    from bot.demo import DEMO_ROSTER
    from storage.roster import parse_file

    root = Path(__file__).resolve().parents[1]
    template = parse_file(root / "docs" / "roster-template.csv")
    assert template and template[0].row == 3  # row 2 is the explanation line
    demo = parse_file(DEMO_ROSTER)
    assert len({r.branch for r in demo if r.branch}) == 3 and len(demo) >= 30


def test_a_changed_end_date_is_a_change(engine, tmp_path):
    lines = ["支部,姓名,角色,企业微信ID,钉钉ID,结束日期", "临时支部,刘洋,书记,liu,,2026-12-31"]
    run_import(engine, write(tmp_path, lines))
    assert run_import(engine, write(tmp_path, lines)).changes == 0
    lines[1] = lines[1].replace("2026-12-31", "2027-03-31")
    result = run_import(engine, write(tmp_path, lines))
    assert result.branches_updated == 1 and "更新支部 1 个" in result.summary()
    with Session(engine) as session:
        assert session.exec(select(Branch)).one().ends_on == date(2027, 3, 31)


def test_a_row_whose_lookup_failed_in_excel_is_refused_not_skipped(engine, tmp_path):
    # 支部 and 钉钉ID filled by VLOOKUP: a person not found shows #N/A. Such a row is no
    # note to skip: skipped, a full import would deactivate 李秀英 without a word.
    run_import(engine, write(tmp_path, ROSTER))
    looked_up = list(ROSTER)
    looked_up[2] = "#N/A,李秀英,委员,li,,1002,第一党小组"
    looked_up[3] = "一支部,张伟,,zhang,#REF!,1003,第二党小组"

    with pytest.raises(RosterError) as caught:
        run_import(engine, write(tmp_path, looked_up))

    problems = dict(caught.value.problems)
    assert "支部「#N/A」是 Excel 的错误值" in problems[3]
    assert "钉钉ID「#REF!」是 Excel 的错误值" in problems[4]
    assert member(engine, "李秀英").active
    assert ids_of(engine, "张伟") == {"wecom": "zhang", "dingtalk": "ding-zhang"}


def test_ids_typed_in_full_width_are_the_same_person_and_account(engine, tmp_path):
    # A Chinese input method left in full-width mode types １００３ and ｚｈａｎｇ: the same
    # 编号 and userid, not a new person who takes 张伟's accounts and history away.
    run_import(engine, write(tmp_path, ROSTER))
    before = member(engine, "张伟").id
    wide = list(ROSTER)
    wide[3] = "一支部,张伟,,ｚｈａｎｇ,ｄｉｎｇ－ｚｈａｎｇ,１００３,第二党小组"

    result = run_import(engine, write(tmp_path, wide))

    assert (result.added, result.updated, result.deactivated) == (0, 0, 0)
    assert member(engine, "张伟").id == before and member(engine, "张伟").staff_no == "1003"
    assert ids_of(engine, "张伟") == {"wecom": "zhang", "dingtalk": "ding-zhang"}


def test_a_name_padded_to_line_up_in_excel_is_the_name_people_type(engine, tmp_path, chat):
    # Office rosters pad two-character names with a full-width space (王　伟) so that
    # they line up with three-character ones; in chat people write 王伟.
    lines = [HEADER, "一支部,王　伟,,wangw,,1004,", "一支部,李 秀英,,li,,1002,",
             ",管理员,管理员,admin,,9000,"]
    run_import(engine, write(tmp_path, lines))

    reply = chat.say("admin", "设置角色 王伟 委员").text
    assert reply.startswith("已将 王伟 的角色从党员改为委员"), reply
    assert member(engine, "李秀英").staff_no == "1002"


def test_last_months_file_does_not_reopen_a_temporary_branch_that_has_ended(engine, tmp_path):
    # 专项临时支部 ended on 30 November and 刘洋 went home to 一支部. The master file, still
    # listing the task force, is imported again in December: that would reopen the branch
    # (back in the rankings) and take 刘洋 from 一支部, only for the scheduler to close it
    # again. It is refused, saying why, and nothing changes.
    from storage.temporary import end_due

    lines = ["支部,姓名,角色,企业微信ID,钉钉ID,临时,结束日期,原支部",
             "一支部,王建国,书记,wang,,,,",
             "专项临时支部,刘洋,书记,liu,,是,2026-11-30,一支部"]
    run_import(engine, write(tmp_path, lines))
    december = datetime(2026, 12, 2, 1, 0, tzinfo=timezone.utc)
    with Session(engine) as session:
        end_due(session, today=date(2026, 12, 1), now=december - timedelta(days=1), tz=SHANGHAI)
        session.commit()

    with pytest.raises(RosterError) as caught:
        run_import(engine, write(tmp_path, lines), now=december)

    problem = dict(caught.value.problems)[3]
    assert "临时党支部「专项临时支部」已于 2026-11-30 结束" in problem, problem
    with Session(engine) as session:
        temp = session.exec(select(Branch).where(Branch.name == "专项临时支部")).one()
        assert temp.active is False
        assert session.get(Branch, member(engine, "刘洋").branch_id).name == "一支部"
    # A later end date reopens it on purpose, and the import says so.
    lines[2] = lines[2].replace("2026-11-30", "2027-03-31")
    reopened = run_import(engine, write(tmp_path, lines), now=december)
    assert reopened.reopened_branches == ["专项临时支部"]


def test_an_account_reused_for_a_newcomer_does_not_bring_back_who_left(engine, tmp_path):
    # 张伟 (no 编号) left; his WeCom userid was deleted and given to 张薇, who joined later.
    # Matched by the account alone, she would become him: his points and attendance hers.
    run_import(engine, write(tmp_path, [HEADER, "一支部,王建国,书记,wang,,,", "一支部,张伟,,zhang,,,"]))
    leaver = member(engine, "张伟")
    with Session(engine) as session:
        session.add(PointEntry(member_id=leaver.id, branch_id=leaver.branch_id, points=3,
                               rule="attendance.present", source_kind="attendance",
                               source_id="1", occurred_at=NOW, created_at=NOW))
        session.commit()
    run_import(engine, write(tmp_path, [HEADER, "一支部,王建国,书记,wang,,,"]))

    later = [HEADER, "一支部,王建国,书记,wang,,,", "一支部,张薇,,zhang,,,"]
    result = run_import(engine, write(tmp_path, later), now=NOW + timedelta(days=30))

    assert (result.added, result.reactivated) == (1, 0)
    assert "原属 张伟" in "".join(result.warnings)
    assert member(engine, "张伟").active is False and member(engine, "张薇").id != leaver.id
    assert ids_of(engine, "张薇") == {"wecom": "zhang"}


def test_an_xlsx_whose_branch_cells_are_merged_puts_everyone_in_that_branch(engine, tmp_path):
    # Secretaries merge the 支部 cell over the rows of one branch: Excel shows 一支部 on
    # every row, the file holds it only in the first. They mean one branch for all.
    book = Workbook()
    sheet = book.active
    sheet.append(["支部", "姓名", "角色", "企业微信ID", "钉钉ID"])
    sheet.append(["一支部", "王建国", "书记", "wang", None])
    sheet.append([None, "李秀英", None, "li", None])
    sheet.append([None, "张伟", None, "zhang", None])
    sheet.append([None, None, None, None, None])  # a blank row inside the merge stays blank
    sheet.append(["二支部", "刘洋", "书记", "liu", None])
    sheet.merge_cells("A2:A5")
    path = tmp_path / "名册.xlsx"
    book.save(path)

    result = run_import(engine, path)

    assert result.added == 4
    with Session(engine) as session:
        for name, branch in (("李秀英", "一支部"), ("张伟", "一支部"), ("刘洋", "二支部")):
            assert session.get(Branch, member(engine, name).branch_id).name == branch


def test_a_cell_merged_sideways_is_no_second_account(engine, tmp_path):
    # 企业微信ID merged across 钉钉ID (a layout, not a value for each): copied into both,
    # the WeCom account would have been made a DingTalk one nobody has.
    book = Workbook()
    sheet = book.active
    sheet.append(["支部", "姓名", "角色", "企业微信ID", "钉钉ID"])
    sheet.append(["一支部", "王建国", "书记", "wang", None])
    sheet.merge_cells("D2:E2")
    path = tmp_path / "名册.xlsx"
    book.save(path)

    run_import(engine, path)

    with Session(engine) as session:
        ids = session.exec(select(Identity.platform, Identity.user_id)).all()
    assert ids == [("wecom", "wang")]


def test_a_corrected_staff_number_is_the_same_person_with_their_points(engine, tmp_path):
    # 张伟's 警号 was typed 1030 last time; this file has it right, 1003, with his accounts.
    # A new 张伟 taking his accounts would leave his points with the old one, deactivated.
    typo = list(ROSTER)
    typo[3] = typo[3].replace(",1003,", ",1030,")
    run_import(engine, write(tmp_path, typo))
    before = member(engine, "张伟").id

    result = run_import(engine, write(tmp_path, ROSTER))

    assert (result.added, result.updated, result.deactivated) == (0, 1, 0)
    assert result.updated_people[0].details == ["编号 1030 → 1003"]
    assert member(engine, "张伟").id == before and member(engine, "张伟").staff_no == "1003"


def test_a_task_force_ending_sends_its_people_back_where_they_came_from(engine, tmp_path):
    # The template has no 原支部 column: 张伟 was moved from 一支部 into the task force by
    # a roster import. When it ends he goes back to 一支部 as he was there, not to no
    # branch at all (out of every branch's figures, unable to check in with his own).
    from storage.temporary import end_due

    run_import(engine, write(tmp_path, ROSTER))
    lines = [HEADER + ",临时,结束日期", *[line + ",," for line in ROSTER[1:]]]
    lines[3] = "专项临时支部,张伟,委员,zhang,ding-zhang,1003,,是,2026-11-30"
    run_import(engine, write(tmp_path, lines), now=NOW + timedelta(hours=1))
    with Session(engine) as session:
        end_due(session, today=date(2026, 12, 1), now=datetime(2026, 11, 30, 16, 5,
                                                               tzinfo=timezone.utc), tz=SHANGHAI)
        session.commit()
        zhang = member(engine, "张伟")
        assert session.get(Branch, zhang.branch_id).name == "一支部"
        assert session.get(PartyGroup, zhang.party_group_id).name == "第二党小组"
        assert zhang.role == Role.MEMBER


def test_the_template_opens_in_excel_on_chinese_windows_with_its_headers_readable():
    # Excel reads a CSV without a byte-order mark in the system code page (GBK): the
    # headers come up as 鏀儴… and a file filled in and saved so is refused. With the
    # UTF-8 BOM Excel reads it as UTF-8; the import reads it either way.
    from storage.roster import parse_file

    template = Path(__file__).resolve().parents[1] / "docs" / "roster-template.csv"
    assert template.read_bytes().startswith("\ufeff".encode())
    assert parse_file(template)[0].name == "王建国"


def test_a_return_branch_named_further_down_the_same_file_is_found(engine, tmp_path):
    # The task force listed first, its people's 原支部 further down: the file creates it.
    lines = ["支部,姓名,角色,企业微信ID,钉钉ID,临时,结束日期,原支部",
             "专项临时支部,刘洋,书记,liu,,是,2026-12-31,一支部",
             "一支部,王建国,书记,wang,,,,"]

    run_import(engine, write(tmp_path, lines))

    with Session(engine) as session:
        assert session.get(Branch, member(engine, "刘洋").return_branch_id).name == "一支部"


def test_a_branch_name_retyped_with_half_width_brackets_is_the_same_branch(engine, tmp_path):
    # 城关派出所（一）党支部 typed again as 城关派出所(一)党支部: not a new branch taking
    # everyone away from the one their group chat, schedules and history belong to.
    lines = [HEADER, "城关派出所（一）党支部,王建国,书记,wang,,1001,",
             "城关派出所（一）党支部,李秀英,,li,,1002,"]
    run_import(engine, write(tmp_path, lines))

    retyped = [line.replace("（一）", "(一)") for line in lines]
    result = run_import(engine, write(tmp_path, retyped))

    assert (result.branches_created, result.updated, result.unchanged) == (0, 0, 2)
    assert count(engine, Branch) == 1


def test_a_gbk_file_with_a_title_row_is_told_of_the_title_not_of_its_encoding(tmp_path):
    # Excel on Chinese Windows saves GBK; a title above the header is not a sign of a
    # file in another encoding.
    from storage.roster import parse_file

    path = write(tmp_path, ["城关分局党员名册,,,,", *ROSTER], encoding="gbk")
    with pytest.raises(RosterError) as caught:
        parse_file(path)
    assert "编码" not in str(caught.value)
    assert "是标题，表头在第 2 行" in str(caught.value)


def test_an_excel_number_that_lost_its_leading_zero_keeps_the_account_already_known(
        engine, tmp_path):
    # Last month's CSV gave the DingTalk ids as text; this month the sheet went through
    # Excel, which made them numbers and dropped the 0. The accounts people use are
    # known: a full import must not swap them for ones that match nobody, nor take 陈静
    # (matched by that account alone) for someone new.
    run_import(engine, write(tmp_path, [HEADER, "一支部,王建国,书记,wang,0412345678901,1001,",
                                        "一支部,陈静,,,0412345678904,,"]))
    chen = member(engine, "陈静").id
    book = Workbook()
    sheet = book.active
    sheet.append(HEADER.split(","))
    sheet.append(["一支部", "王建国", "书记", "wang", 412345678901, "1001", None])
    sheet.append(["一支部", "陈静", None, None, 412345678904, None, None])
    path = tmp_path / "名册.xlsx"
    book.save(path)

    result = run_import(engine, path)

    assert (result.added, result.updated, result.deactivated) == (0, 0, 0)
    assert ids_of(engine, "王建国")["dingtalk"] == "0412345678901"
    assert member(engine, "陈静").id == chen and ids_of(engine, "陈静") == {
        "dingtalk": "0412345678904"}


def test_a_leader_listed_under_局机关_as_djbot_shows_them_stays_at_bureau_level(
        engine, tmp_path):
    # `djbot members` and the import's lists show a leader's branch as 局机关; a roster
    # written from them says so too. No branch called 局机关 is made (to be ranked, and
    # flagged for a talk, with nothing held).
    lines = [line.replace(",赵振华,", "局机关,赵振华,") for line in ROSTER]
    run_import(engine, write(tmp_path, lines))

    assert member(engine, "赵振华").branch_id is None
    assert count(engine, Branch) == 2


def test_a_home_branch_retyped_with_half_width_brackets_is_the_branch_known(engine, tmp_path):
    """A task force's 原支部 written (一) where the branch is （一）, in a file that retypes
    the branch's own rows too: the 原支部 was made first as a new branch (a 原支部 named
    further down is), and everyone of the branch moved into it, away from its group chat,
    schedules and history."""
    lines = ["支部,姓名,角色,企业微信ID,钉钉ID,临时,结束日期,原支部",
             "城关派出所（一）党支部,王建国,书记,wang,,,,",
             "城关派出所（一）党支部,李秀英,,li,,,,"]
    run_import(engine, write(tmp_path, lines))

    # Next month: a task force, and the branch name retyped with half-width brackets.
    again = ["支部,姓名,角色,企业微信ID,钉钉ID,临时,结束日期,原支部",
             "专项临时支部,刘洋,书记,liu,,是,2027-06-30,城关派出所(一)党支部",
             "城关派出所(一)党支部,王建国,书记,wang,,,,",
             "城关派出所(一)党支部,李秀英,,li,,,,"]
    run_import(engine, write(tmp_path, again, name="名册2.csv"))

    with Session(engine) as s:
        names = sorted(b.name for b in s.exec(select(Branch)).all())
        wang = s.exec(select(Member).where(Member.name == "王建国")).one()
        home = s.get(Branch, wang.branch_id).name
    assert names == ["专项临时支部", "城关派出所（一）党支部"], names
    assert home == "城关派出所（一）党支部", home


def test_a_wecom_account_written_in_another_case_is_the_same_person(engine, tmp_path, chat):
    # WeCom tells userids apart without regard to case: the roster's ZhangSan is the
    # account that writes as zhangsan, and a file that writes it ZHANGSAN next year is
    # the same person, not someone handed 张伟's account.
    run_import(engine, write(tmp_path, [HEADER, "一支部,张伟,,ZhangSan,,1003,"]))
    assert "姓名：张伟" in chat.say("zhangsan", "我的信息").text
    result = run_import(engine, write(tmp_path, [HEADER, "一支部,张伟,,ZHANGSAN,,,"]))
    assert (result.added, result.deactivated) == (0, 0)
    assert "姓名：张伟" in chat.say("ZhangSan", "我的信息").text
    # Two rows giving one account in two cases are one account given twice.
    with pytest.raises(RosterError) as refused:
        parse_roster([HEADER.split(","), ["一支部", "张伟", "", "ZhangSan", "", "", ""],
                      ["二支部", "张薇", "", "zhangsan", "", "", ""]])
    assert "第 3 行" in str(refused.value) and "重复" in str(refused.value)


@pytest.mark.parametrize("both", ["一支部、二支部", "一支部/二支部", "一支部，二支部"])
def test_a_member_written_into_two_branches_is_refused_not_made_a_new_branch(
        engine, tmp_path, both):
    # 张伟 serves in both; a member belongs to the one branch his 组织关系 is in. Read as one
    # name, 「一支部、二支部」 became a third branch, with 张伟 alone in it and expected nowhere.
    lines = [HEADER, "一支部,王建国,书记,wang,,1001,", "二支部,刘洋,书记,liu,,2001,",
             f"\"{both}\",张伟,,zhang,,1003,"]
    with pytest.raises(RosterError) as refused:
        run_import(engine, write(tmp_path, lines))
    assert refused.value.problems == [
        (4, f"支部「{both}」是两个支部：一个人只能属于一个支部，请只填组织关系所在的那个")]
    assert count(engine, Branch) == 0


def test_a_branch_whose_people_are_away_in_a_temporary_branch_is_not_called_empty(
        engine, tmp_path):
    # 老城支部's one member is seconded to 专项临时支部 and goes back on 11-30: the import
    # must not tell the operator to close it (djbot branch close would refuse anyway).
    lines = ["支部,姓名,角色,企业微信ID,钉钉ID,临时,结束日期,原支部",
             "城关支部,王建国,书记,wang,,,,",
             "老城支部,刘洋,书记,liu,,,,"]
    run_import(engine, write(tmp_path, lines))
    lines[2] = "专项临时支部,刘洋,书记,liu,,是,2026-11-30,老城支部"
    result = run_import(engine, write(tmp_path, lines))
    assert not [w for w in result.warnings if "老城支部" in w], result.warnings


def test_a_newcomer_put_straight_into_a_temporary_branch_is_flagged_without_a_home(
        engine, tmp_path):
    # 刘洋 comes to djbot in 专项临时支部 with no 原支部: when it ends on 11-30 he would
    # belong to no branch, expected at nothing, and nobody would be told.
    lines = ["支部,姓名,角色,企业微信ID,钉钉ID,临时,结束日期,原支部",
             "城关支部,王建国,书记,wang,,,,",
             "专项临时支部,刘洋,书记,liu,,是,2026-11-30,",
             "专项临时支部,陈静,党员,chen,,是,2026-11-30,城关支部"]
    result = run_import(engine, write(tmp_path, lines))
    homeless = [w for w in result.warnings if "原支部" in w]
    assert homeless == ["第 3 行刘洋：临时党支部「专项临时支部」2026-11-30 结束后没有可回的支部，"
                        "请在「原支部」列填写"], result.warnings


def test_someone_back_on_the_roster_is_not_put_into_a_branch_closed_meanwhile(
        engine, tmp_path):
    # 刘洋 left; 二支部, empty, was closed; a partial file brings him back by his account
    # alone. He went back into the closed branch: expected at nothing, in no ranking.
    from storage.temporary import close
    run_import(engine, write(tmp_path, ROSTER))
    run_import(engine, write(tmp_path, [line for line in ROSTER if "二支部" not in line]))
    with Session(engine) as session:
        closed = session.exec(select(Branch).where(Branch.name == "二支部")).one()
        close(session, branch=closed, now=NOW, tz=SHANGHAI)
        session.commit()
    with pytest.raises(RosterError) as refused:
        run_import(engine, write(tmp_path, ["姓名,企业微信ID", "刘洋,liu"]), full=False)
    assert refused.value.problems == [
        (2, "刘洋原在的「二支部」已撤销：请在「支部」列填写此人现在的支部")]
    assert member(engine, "刘洋").active is False
