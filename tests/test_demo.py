"""`djbot demo`: loads the demo bureau with eight weeks of history; run again, it starts over."""

from __future__ import annotations

import pytest
from sqlmodel import Session, func, select
from typer.testing import CliRunner

from bot.cli import app
from bot.demo import BRANCH_CHATS, DEMO_CHATS, DEMO_VISITS
from storage import db
from storage.models import AuditEntry, Branch, ChatBinding, Member, ResearchVisit, StudyLog


# The demo is for the embedded SQLite default, so these run in the SQLite pass only.
pytestmark = pytest.mark.own_databases


def counts(url: str) -> dict[str, int]:
    engine = db.make_engine(url)
    with Session(engine) as s:
        found = {model.__name__: s.exec(select(func.count()).select_from(model)).one()
                 for model in (Branch, Member, ChatBinding, StudyLog, ResearchVisit)}
        found["bind"] = s.exec(select(func.count()).where(AuditEntry.action == "bind")).one()
    engine.dispose()
    return found


def test_demo_starts_over_when_run_again_and_says_so(tmp_path):
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    env = {"DJBOT_DATABASE_URL": url}

    first = CliRunner().invoke(app, ["demo"], env=env)
    assert first.exit_code == 0, first.output
    assert "新增 33 人" in first.stdout and "重新开始" not in first.stdout
    assert "djbot chat --user cg03" in first.stdout and "demo-g1" in first.stdout
    after_first = counts(url)
    assert after_first["Branch"] == 3 and after_first["Member"] == 33
    assert after_first["ChatBinding"] == 2 * len(DEMO_CHATS)  # WeCom and DingTalk
    assert after_first["StudyLog"] > 50 and after_first["ResearchVisit"] == len(DEMO_VISITS)

    # Something happens in between; the second run starts from the same demo again.
    CliRunner().invoke(app, ["chat", "--user", "cg03", "学习 理论 30"], env=env)
    second = CliRunner().invoke(app, ["demo"], env=env)
    assert second.exit_code == 0, second.output
    assert "已清空上次的演示数据，演示重新开始。" in second.stdout
    assert "新增 33 人" in second.stdout
    assert counts(url) == after_first


def test_demo_refuses_to_wipe_a_database_with_real_people(tmp_path):
    url = f"sqlite:///{tmp_path / 'real.db'}"
    env = {"DJBOT_DATABASE_URL": url}
    roster = tmp_path / "名册.csv"
    roster.write_text("支部,姓名,角色,企业微信ID,钉钉ID,编号\n一支部,真人,书记,real1,,900001\n",
                      encoding="utf-8")
    assert CliRunner().invoke(app, ["import-roster", str(roster)], env=env).exit_code == 0
    refused = CliRunner().invoke(app, ["demo"], env=env)
    assert refused.exit_code == 1 and "不会清空" in refused.output
    assert counts(url)["Member"] == 1


def test_demo_adds_no_fake_bureau_to_a_real_database_it_cannot_clear(tmp_path):
    # A database the demo does not clear as a file (PostgreSQL, or SQLite by a driver
    # URL): 33 made-up members and eight weeks of made-up history would join the real
    # bureau's figures and the leaders' weekly report.
    path = tmp_path / "real.db"
    roster = tmp_path / "名册.csv"
    roster.write_text("支部,姓名,角色,企业微信ID,钉钉ID,编号\n一支部,真人,书记,real1,,900001\n",
                      encoding="utf-8")
    env = {"DJBOT_DATABASE_URL": f"sqlite+pysqlite:///{path}"}
    assert CliRunner().invoke(app, ["import-roster", str(roster)], env=env).exit_code == 0
    refused = CliRunner().invoke(app, ["demo"], env=env)
    assert refused.exit_code == 1 and "不属于演示党委" in refused.output
    assert counts(f"sqlite:///{path}") | {"bind": 0} == {
        "Branch": 1, "Member": 1, "ChatBinding": 0, "StudyLog": 0, "ResearchVisit": 0,
        "bind": 0}


def test_the_weekly_report_shows_three_branches_in_three_tiers(tmp_path):
    env = {"DJBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'demo.db'}"}
    CliRunner().invoke(app, ["demo"], env=env)
    result = CliRunner().invoke(app, ["report", "weekly", "--json"], env=env)
    assert result.exit_code == 0, result.output
    import json
    report = json.loads(result.stdout)
    assert {b["name"] for b in report["branches"]} == set(BRANCH_CHATS)
    assert all(b["activities"] >= 1 and b["expected"] >= 10 for b in report["branches"])
    assert {b["tier"] for b in report["branches"]} == {"红", "黄", "蓝"}
    text = CliRunner().invoke(app, ["report", "weekly"], env=env).stdout
    assert "🔴红" in text and "🟡黄" in text and "🔵蓝（约谈）" in text


def test_the_demo_bureau_answers_in_its_chats(tmp_path):
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    env = {"DJBOT_DATABASE_URL": url}
    CliRunner().invoke(app, ["demo"], env=env)

    me = CliRunner().invoke(app, ["chat", "--platform", "dingtalk", "--user", "ding-cg03",
                                  "--chat", "demo-g1", "我的信息"], env=env)
    assert "张伟" in me.stdout and "本群：「城关派出所党支部」" in me.stdout
    report = CliRunner().invoke(app, ["chat", "--user", "ld01", "--chat", "demo-leaders", "调研记录"],
                                env=env)
    assert "交警大队党支部：1 次" in report.stdout and "刑侦大队党支部：1 次" in report.stdout


def test_the_walkthrough_names_everyone_with_a_role_in_each_branch(runtime):
    """Whoever the demo roster gives a role (书记, 委员) is named with their id, so a new
    user can try the committee's side in every branch, not only in the first."""
    import csv

    from bot.demo import DEMO_ROSTER, walkthrough

    text = walkthrough(runtime)
    with DEMO_ROSTER.open(encoding="utf-8") as f:
        officers = [(row["姓名"], row["企业微信ID"]) for row in csv.DictReader(f)
                    if row["角色"] in ("书记", "委员")]
    assert len(officers) == 6
    for name, user in officers:
        assert f"{name} {user}" in text, (name, user)
