"""The organisation's command line: import-roster, members, bind and audit."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import Session, select
from typer.testing import CliRunner

from bot.cli import app
from storage import db
from storage.models import ChatBinding, Member

ROSTER = """支部,姓名,角色,企业微信ID,钉钉ID,编号
一支部,王建国,书记,wang,,1001
一支部,张伟,,zhang,ding-zhang,1002
二支部,刘洋,书记,liu,,2001
,赵振华,领导,zhao,,9001
"""


def djbot(url: str, *args: str, code: int = 0):
    result = CliRunner().invoke(app, list(args), env={"DJBOT_DATABASE_URL": url})
    assert result.exit_code == code, result.output
    return result


@pytest.fixture
def url(db_url) -> str:
    # Migrated the way an operator's database is (not the `engine` fixture's create_all).
    djbot(db_url, "db", "upgrade")
    return db_url


@pytest.fixture
def roster(tmp_path) -> Path:
    path = tmp_path / "名册.csv"
    path.write_text(ROSTER, encoding="utf-8")
    return path


def test_import_roster_reports_counts_and_a_second_run_changes_nothing(url, roster):
    first = djbot(url, "import-roster", str(roster))
    assert "新增 4 人" in first.stdout and "新建支部 2 个" in first.stdout
    again = djbot(url, "import-roster", str(roster))
    assert "新增 0 人，更新 0 人，停用 0 人，未变 4 人" in again.stdout


def test_a_bad_roster_exits_non_zero_naming_the_row(url, roster, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text(ROSTER + "二支部,错角色,群众,x,,\n", encoding="utf-8")
    result = djbot(url, "import-roster", str(bad), code=1)
    assert "没有导入任何数据" in result.stderr
    assert "第 6 行：未知的角色「群众」" in result.stderr
    with Session(db.make_engine(url)) as s:
        assert s.exec(select(Member)).all() == []


def test_partial_import_keeps_people_missing_from_the_file(url, roster, tmp_path):
    djbot(url, "import-roster", str(roster))
    short = tmp_path / "short.csv"
    short.write_text(ROSTER.splitlines()[0] + "\n一支部,新同志,,xin,,1003\n", encoding="utf-8")
    assert "停用 0 人" in djbot(url, "import-roster", str(short), "--partial").stdout
    full = djbot(url, "import-roster", str(short)).stdout
    assert "停用 4 人" in full and "停用了现有 5 人中的 4 人" in full and "请改用 --partial" in full
    assert "共 1 人" in djbot(url, "members").stdout
    assert "（已停用）" in djbot(url, "members", "--all").stdout


def test_members_lists_one_branch(url, roster):
    djbot(url, "import-roster", str(roster))
    out = djbot(url, "members", "--branch", "一支部").stdout
    assert "王建国  书记  1001  wecom:wang" in out and "刘洋" not in out and "共 2 人" in out
    assert "现有支部：一支部、二支部" in djbot(url, "members", "--branch", "三支部", code=1).stderr


def test_bind_from_the_command_line_is_audited(url, roster):
    djbot(url, "import-roster", str(roster))
    assert "「一支部」" in djbot(url, "bind", "--platform", "dingtalk", "--chat", "cid1",
                                 "--branch", "一支部").stdout
    moved = djbot(url, "bind", "--platform", "dingtalk", "--chat", "cid1", "--leaders").stdout
    assert "领导群" in moved and "原为「一支部」" in moved
    djbot(url, "bind", "--platform", "dingtalk", "--chat", "cid1", code=2)
    djbot(url, "bind", "--platform", "qq", "--chat", "cid1", "--leaders", code=2)
    with Session(db.make_engine(url)) as s:
        binding = s.exec(select(ChatBinding)).one()
    assert (binding.platform, binding.is_leaders, binding.branch_id) == ("dingtalk", True, None)

    audit = djbot(url, "audit", "--action", "bind").stdout.splitlines()
    assert len(audit) == 2
    assert "cli  bind  领导群  dingtalk:cid1" in audit[0]  # newest first
    assert "cli  bind  一支部  dingtalk:cid1" in audit[1]


def test_audit_filters_and_limits(url, roster, tmp_path):
    djbot(url, "import-roster", str(roster))
    edited = tmp_path / "edited.csv"
    edited.write_text(ROSTER.replace("一支部,张伟,,", "一支部,张伟,委员,"), encoding="utf-8")
    djbot(url, "import-roster", str(edited))

    changes = djbot(url, "audit", "--action", "role.change").stdout
    assert "role.change  张伟" in changes and '"new": "committee"' in changes
    assert len(djbot(url, "audit", "--limit", "1").stdout.splitlines()) == 1
    assert "roster.import" in djbot(url, "audit", "--since", "2000-01-01").stdout
    assert "没有符合条件" in djbot(url, "audit", "--since", "2999-01-01").stdout
    djbot(url, "audit", "--since", "昨天", code=2)
