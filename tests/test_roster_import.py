"""Roster import as an office worker meets it: previews by name, partial files that
leave the rest alone, ids that keep their zeros, the titles people write, and namesakes.

Each scenario runs `djbot import-roster` the way an operator does and asserts what
they read and what the database holds afterwards.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlmodel import Session, func, select
from typer.testing import CliRunner

from bot.cli import app
from storage import db
from storage.models import AuditEntry, Branch, Identity, Member, PartyGroup, Role

HEADER = "支部,姓名,角色,企业微信ID,钉钉ID,编号,党小组"
ROSTER = [
    HEADER,
    "一支部,王建国,支部书记,wang,0412345678901,1001,第一党小组",
    "一支部,李秀英,组织委员,li,0412345678902,1002,第一党小组",
    "一支部,张伟,,zhang,0412345678903,1003,第二党小组",
    "一支部,陈静,党员,chen,0412345678904,1004,第二党小组",
    "二支部,刘洋,支书,liu,0412345678905,2001,",
    "二支部,赵敏,预备党员,zhaomin,0412345678906,2002,",
    ",赵振华,党委委员,zhao,0412345678907,9001,",
]


def djbot(url: str, *args: str, code: int = 0):
    result = CliRunner().invoke(app, list(args), env={"DJBOT_DATABASE_URL": url})
    assert result.exit_code == code, result.output
    return result


@pytest.fixture
def url(db_url) -> str:
    djbot(db_url, "db", "upgrade")
    return db_url


def write(tmp_path: Path, lines: list[str], name: str = "名册.csv") -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def people(url: str) -> dict[str, dict]:
    """Everyone in the database as the office worker would describe them."""
    with Session(db.make_engine(url)) as session:
        branches = {b.id: b.name for b in session.exec(select(Branch))}
        groups = {g.id: g.name for g in session.exec(select(PartyGroup))}
        found = {}
        for m in session.exec(select(Member)):
            ids = {i.platform: i.user_id
                   for i in session.exec(select(Identity).where(Identity.member_id == m.id))}
            found[m.name] = {"branch": branches.get(m.branch_id), "role": m.role,
                             "group": groups.get(m.party_group_id), "active": m.active,
                             "staff_no": m.staff_no, **ids}
        return found


def audit_count(url: str) -> int:
    with Session(db.make_engine(url)) as session:
        return session.exec(select(func.count()).select_from(AuditEntry)).one()


def test_a_dry_run_names_who_would_be_added_changed_and_deactivated_and_changes_nothing(
        url, tmp_path):
    djbot(url, "import-roster", str(write(tmp_path, ROSTER)))
    before, audits = people(url), audit_count(url)
    # Next year's file: 张伟 moves to 二支部 as 委员, 孙丽 joins, three people are gone.
    new_year = [HEADER,
                "一支部,王建国,书记,wang,0412345678901,1001,第一党小组",
                "一支部,李秀英,委员,li,0412345678902,1002,第一党小组",
                "二支部,张伟,委员,zhang,0412345678903,1003,",
                "二支部,刘洋,书记,liu,0412345678905,2001,",
                "一支部,孙丽,,sun,0412345678908,1005,第二党小组"]
    path = write(tmp_path, new_year, "2027.csv")

    preview = djbot(url, "import-roster", str(path), "--dry-run").stdout

    assert preview.splitlines()[0] == ("预览（--dry-run，完整导入）：没有改动任何数据。如果导入，将会："
                                       "新增 1 人，更新 1 人，停用 3 人，未变 3 人。")
    assert "  新增 1 人：\n    一支部：孙丽\n" in preview
    assert "  停用 3 人：\n    一支部：陈静\n    二支部：赵敏\n    局机关：赵振华\n" in preview
    assert "    张伟（二支部）：支部 一支部 → 二支部；党小组 第二党小组 → 无；角色 党员 → 委员\n" in preview
    assert preview.rstrip().endswith("确认无误后，去掉 --dry-run 再运行一次即可导入。")
    assert people(url) == before and audit_count(url) == audits

    done = djbot(url, "import-roster", str(path)).stdout

    # The real import says the same, by name, and the database now holds it.
    assert done.splitlines()[0].startswith("导入完成（完整导入）：新增 1 人，更新 1 人，停用 3 人")
    assert done.splitlines()[1:] == preview.splitlines()[1:-1]
    after = people(url)
    assert [n for n, p in after.items() if not p["active"]] == ["陈静", "赵敏", "赵振华"]
    assert after["张伟"] | {"active": True} == {"branch": "二支部", "role": "committee", "group": None,
                                                "active": True, "staff_no": "1003",
                                                "wecom": "zhang", "dingtalk": "0412345678903"}
    assert after["孙丽"]["group"] == "第二党小组"
    with Session(db.make_engine(url)) as session:
        entry = session.exec(select(AuditEntry).where(AuditEntry.action == "roster.import")
                             .order_by(AuditEntry.id.desc())).first()
        gone = {session.get(Member, i).name for i in entry.detail["deactivated_member_ids"]}
    assert gone == {"陈静", "赵敏", "赵振华"}


def test_a_partial_import_with_an_empty_dingtalk_column_keeps_everyones_dingtalk_account(
        url, tmp_path):
    djbot(url, "import-roster", str(write(tmp_path, ROSTER)))
    # The WeCom export someone made: 钉钉ID and 角色 left empty, one new WeCom id.
    wecom_only = [HEADER, "一支部,王建国,,wang-new,,1001,第一党小组", "一支部,李秀英,,li,,1002,"]

    path = write(tmp_path, wecom_only, "wecom.csv")
    out = djbot(url, "import-roster", str(path), "--partial").stdout

    assert "新增 0 人，更新 1 人，停用 0 人，未变 1 人" in out
    assert "    王建国（一支部）：企业微信ID wang → wang-new\n" in out
    after = people(url)
    assert after["王建国"] == {"branch": "一支部", "role": "secretary", "group": "第一党小组",
                               "active": True, "staff_no": "1001",
                               "wecom": "wang-new", "dingtalk": "0412345678901"}
    assert after["李秀英"]["dingtalk"] == "0412345678902"
    assert after["李秀英"]["group"] == "第一党小组" and after["李秀英"]["role"] == "committee"


def test_a_partial_file_may_carry_only_the_columns_it_changes(url, tmp_path):
    djbot(url, "import-roster", str(write(tmp_path, ROSTER)))
    ding = ["编号,姓名,钉钉ID", "1003,张伟,ding-zhang-2026"]

    preview = djbot(url, "import-roster", str(write(tmp_path, ding, "ding.csv")), "--partial",
                    "--dry-run").stdout

    assert "    张伟（一支部）：钉钉ID 0412345678903 → ding-zhang-2026\n" in preview
    djbot(url, "import-roster", str(write(tmp_path, ding, "ding.csv")), "--partial")
    assert people(url)["张伟"] == {"branch": "一支部", "role": "member", "group": "第二党小组",
                                   "active": True, "staff_no": "1003",
                                   "wecom": "zhang", "dingtalk": "ding-zhang-2026"}
    # A partial file needs some way to tell who is who.
    bad = djbot(url, "import-roster", str(write(tmp_path, ["姓名,角色", "张伟,委员"], "x.csv")),
                "--partial", code=1)
    assert "部分导入至少需要 编号、企业微信ID、钉钉ID 其中一列" in bad.stderr


def test_a_full_import_whose_dingtalk_column_is_empty_top_to_bottom_removes_no_account(
        url, tmp_path):
    djbot(url, "import-roster", str(write(tmp_path, ROSTER)))
    emptied = [",".join(cells[:4] + [""] + cells[5:])
               for cells in (line.split(",") for line in ROSTER)]
    emptied[0] = HEADER

    out = djbot(url, "import-roster", str(write(tmp_path, emptied, "no-ding.csv"))).stdout

    assert "未变 7 人" in out and "「钉钉ID」列整列为空，没有改动任何人的钉钉ID" in out
    assert all(p["dingtalk"].startswith("04123456789") for p in people(url).values())
    # One empty cell in a filled column is the file saying "no DingTalk account".
    one_gone = list(ROSTER)
    one_gone[4] = "一支部,陈静,党员,chen,,1004,第二党小组"
    path = write(tmp_path, one_gone, "one.csv")
    preview = djbot(url, "import-roster", str(path), "--dry-run").stdout
    assert "    陈静（一支部）：钉钉ID 0412345678904 → 无\n" in preview


def test_ids_are_text_leading_zeros_kept_from_csv_and_from_excel(url, tmp_path):
    book = Workbook()
    sheet = book.active
    sheet.append(["支部", "姓名", "角色", "企业微信ID", "钉钉ID", "编号"])
    sheet.append(["一支部", "王建国", "书记", "wang", "0412345678901", "001001"])  # typed as text
    sheet.append(["一支部", "李秀英", "", "li", 412345678902, 1002])  # numbers shown with zeros
    sheet["E3"].number_format = "0000000000000"
    sheet["F3"].number_format = "000000"
    sheet.append(["一支部", "张伟", "", "zhang", 412345678903, 1003])  # plain numbers
    path = tmp_path / "名册.xlsx"
    book.save(path)

    out = djbot(url, "import-roster", str(path)).stdout

    after = people(url)
    assert (after["王建国"]["dingtalk"], after["王建国"]["staff_no"]) == ("0412345678901", "001001")
    assert (after["李秀英"]["dingtalk"], after["李秀英"]["staff_no"]) == ("0412345678902", "001002")
    # A plain number cannot say it lost a 0: the office worker is told, with the rows.
    assert after["张伟"]["dingtalk"] == "412345678903"
    assert ("钉钉ID在 Excel 里是数字格式（第 4 行），如果原本以 0 开头，开头的 0 已经丢失：" in out)
    # Past 15 digits Excel has already rounded the number: refused, nothing imported.
    sheet.append(["二支部", "刘洋", "", "liu", 4123456789012345678, None])
    book.save(path)
    bad = djbot(url, "import-roster", str(path), code=1)
    assert "第 5 行：钉钉ID在 Excel 里存成了数字，超过 15 位的部分已经丢失" in bad.stderr
    assert "刘洋" not in people(url)
    # CSV cells are text already, and an id Excel turned into 4.12346E+11 is refused.
    csv_path = write(tmp_path, [HEADER, "一支部,王建国,书记,wang,0412345678901,001001,",
                                "一支部,陈静,,chen,4.12346E+11,1004,"], "sci.csv")
    sci = djbot(url, "import-roster", str(csv_path), code=1)
    assert "第 3 行：钉钉ID「4.12346E+11」被 Excel 变成了科学计数法" in sci.stderr


def test_the_titles_people_write_become_djbot_roles_and_the_committee_is_书记_and_委员(url, tmp_path):
    lines = ["支部,姓名,角色,企业微信ID,钉钉ID",
             "一支部,王建国,党支部书记,a1,", "一支部,李秀英,支部副书记,a2,", "一支部,张伟,组织委员,a3,",
             "一支部,陈静,宣传委员,a4,", "一支部,刘洋,纪检委员,a5,", "一支部,赵敏,预备党员,a6,",
             "一支部,孙丽,党员,a7,", "二支部,周强,支书,b1,", "二支部,吴刚,支 委,b2,",
             ",赵振华,党委委员,c1,", ",钱进,党委书记,c2,", ",郑红,党务干部,c3,"]

    djbot(url, "import-roster", str(write(tmp_path, lines)))

    roles = {name: p["role"] for name, p in people(url).items()}
    assert roles == {"王建国": "secretary", "李秀英": "committee", "张伟": "committee",
                     "陈静": "committee", "刘洋": "committee", "赵敏": "member", "孙丽": "member",
                     "周强": "secretary", "吴刚": "committee",
                     "赵振华": "leader", "钱进": "leader", "郑红": "admin"}
    committee = {n for n, p in people(url).items()
                 if p["branch"] == "一支部" and p["role"] in (Role.SECRETARY, Role.COMMITTEE)}
    assert committee == {"王建国", "李秀英", "张伟", "陈静", "刘洋"}
    # 书记 without a branch is most likely the bureau's secretary: the error says what to write.
    bad = djbot(url, "import-roster", str(write(tmp_path, [lines[0], ",钱进,书记,c2,"], "b.csv")),
                code=1)
    assert "第 2 行：缺少支部（只有领导、管理员可以不填支部；局党委书记请填「领导」）" in bad.stderr
    unknown = djbot(url, "import-roster", str(write(tmp_path, [lines[0], "一支部,王五,群众,x,"], "u.csv")),
                    code=1)
    assert "未知的角色「群众」，只能是 党员、委员、书记、领导、管理员" in unknown.stderr


def test_two_people_of_one_name_in_a_branch_import_with_a_warning_asking_for_编号(url, tmp_path):
    lines = ["支部,姓名,角色,企业微信ID,钉钉ID,编号",
             "一支部,张伟,,zw1,,", "一支部,王建国,书记,wang,,", "一支部,张伟,,zw2,,",
             "二支部,李娜,,ln1,,2001", "二支部,李娜,,ln2,,2002"]  # told apart by 编号: no warning

    out = djbot(url, "import-roster", str(write(tmp_path, lines))).stdout

    assert "新增 5 人" in out
    assert ("请注意：\n    「一支部」有 2 位「张伟」（第 2、4 行），请在名册里填写编号（警号）区分，"
            "否则按姓名找人时分不清\n") in out
    assert "李娜" not in out.split("请注意")[1]
    # A later partial file that adds a third 张伟 is warned too, pointing at the others.
    third = write(tmp_path, [lines[0], "一支部,张伟,,zw3,,"], "more.csv")
    more = djbot(url, "import-roster", str(third), "--partial").stdout
    assert "「一支部」有 3 位「张伟」（第 2 行，另有 2 位已在名册中）" in more
    with Session(db.make_engine(url)) as session:
        assert session.exec(select(func.count()).where(Member.name == "张伟")).one() == 3


def test_a_preview_of_a_bad_file_is_the_same_refusal(url, tmp_path):
    djbot(url, "import-roster", str(write(tmp_path, ROSTER)))
    before = people(url)
    broken = list(ROSTER) + ["三支部,新人,,,,3001,"]
    for extra in ([], ["--dry-run"]):
        path = write(tmp_path, broken, "bad.csv")
        result = djbot(url, "import-roster", str(path), *extra, code=1)
        assert "第 9 行：企业微信ID 和 钉钉ID 不能都为空" in result.stderr
    assert people(url) == before
    with Session(db.make_engine(url)) as session:
        assert session.exec(select(Branch).where(Branch.name == "三支部")).first() is None


def test_a_reimport_at_a_later_time_changes_nothing(url, tmp_path):
    path = write(tmp_path, ROSTER)
    djbot(url, "import-roster", str(path))
    again = djbot(url, "import-roster", str(path), "--dry-run").stdout
    assert "新增 0 人，更新 0 人，停用 0 人，未变 7 人" in again
    assert again.count("\n") == 2  # the summary and the closing hint, no lists


def test_an_account_given_to_a_new_person_says_whose_it_was(url, tmp_path):
    djbot(url, "import-roster", str(write(tmp_path, ROSTER)))
    # 陈静's WeCom account was reassigned to a newcomer (a common WeCom admin shortcut).
    newcomer = [HEADER, "一支部,钱多多,,chen,,1006,"]
    out = djbot(url, "import-roster", str(write(tmp_path, newcomer, "n.csv")), "--partial").stdout
    assert "第 2 行新增的钱多多：企业微信ID 无 → chen（原属 陈静）" in out
    after = people(url)
    assert after["钱多多"]["wecom"] == "chen" and "wecom" not in after["陈静"]
    assert after["陈静"]["dingtalk"] == "0412345678904"


def test_a_wecom_account_spelt_in_other_case_is_the_same_person(url, tmp_path):
    """WeCom ignores case in a userid (path/90195: "系统进行唯一性检查时会忽略大小写"): zhang
    and Zhang are one account. A roster without 编号 exported again from the WeCom admin,
    spelling it Zhang, added a second 张伟 and (a full import) made the first, with all
    his attendance and points, inactive. He is the same person; his account is spelt as
    the file spells it, on record."""
    plain = ["支部,姓名,角色,企业微信ID,钉钉ID", "一支部,王建国,支部书记,wang,",
             "一支部,张伟,,zhang,"]
    djbot(url, "import-roster", str(write(tmp_path, plain)))
    respelt = [plain[0], plain[1], "一支部,张伟,,Zhang,"]
    out = djbot(url, "import-roster", str(write(tmp_path, respelt, "again.csv"))).stdout
    assert "新增 0 人" in out and "停用 0 人" in out, out
    after = people(url)
    assert after["张伟"]["active"] and after["张伟"]["wecom"] == "Zhang"
    with Session(db.make_engine(url)) as session:
        assert session.exec(select(func.count()).select_from(Member)).one() == 2
    # One file may not give the account to two people either, however it is spelt.
    twice = [*plain, "一支部,张卫,,ZHANG,"]
    refused = djbot(url, "import-roster", str(write(tmp_path, twice, "twice.csv")), code=1)
    assert "企业微信ID「ZHANG」与第 3 行重复" in refused.output, refused.output


def test_an_account_given_to_a_new_person_in_other_case_is_taken_from_whose_it_was(
        url, tmp_path):
    """陈静's account chen, given to a newcomer and written CHEN (the same account: WeCom
    ignores case), stayed 陈静's as well: two people held one account, and WeCom's messages
    from it were 陈静's."""
    djbot(url, "import-roster", str(write(tmp_path, ROSTER)))
    newcomer = [HEADER, "一支部,钱多多,,CHEN,,1006,"]
    out = djbot(url, "import-roster", str(write(tmp_path, newcomer, "n.csv")), "--partial").stdout
    assert "第 2 行新增的钱多多：企业微信ID 无 → CHEN（原属 陈静）" in out, out
    after = people(url)
    assert after["钱多多"]["wecom"] == "CHEN" and "wecom" not in after["陈静"]


def test_a_whole_column_wrong_is_told_in_a_screenful_not_a_line_per_row(url, tmp_path):
    # The 企业微信ID column filled with names by a VLOOKUP gone wrong, 1,200 people: the
    # operator reads the first problems and how many more, not 1,200 lines to scroll past.
    rows = [HEADER] + [f"一支部,党员{i},党员,张{i},,{10000 + i}," for i in range(1200)]
    bad = djbot(url, "import-roster", str(write(tmp_path, rows)), code=1)
    lines = bad.stderr.splitlines()
    assert "没有导入任何数据" in lines[0]
    assert lines[1].startswith("  第 2 行：企业微信ID「张0」不是企业微信的账号")
    assert len(lines) <= 25, len(lines)
    assert "另有 1180 处问题" in lines[-1], lines[-1]
    assert people(url) == {}
