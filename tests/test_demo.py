"""`djbot demo`: loads the demo bureau into the configured database, twice without harm."""

from __future__ import annotations

import pytest
from sqlmodel import Session, func, select
from typer.testing import CliRunner

from bot.cli import app
from bot.demo import DEMO_CHATS
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


def test_demo_runs_twice_cleanly_and_prints_a_walkthrough(tmp_path):
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    env = {"DJBOT_DATABASE_URL": url}

    first = CliRunner().invoke(app, ["demo"], env=env)
    assert first.exit_code == 0, first.output
    assert "新增 33 人" in first.stdout
    assert "djbot chat --user cg03" in first.stdout and "demo-g1" in first.stdout
    after_first = counts(url)
    assert after_first["Branch"] == 3 and after_first["Member"] == 33
    assert after_first["ChatBinding"] == 2 * len(DEMO_CHATS)  # WeCom and DingTalk
    assert after_first["StudyLog"] > 0 and after_first["ResearchVisit"] == 1

    second = CliRunner().invoke(app, ["demo"], env=env)
    assert second.exit_code == 0, second.output
    assert "新增 0 人，更新 0 人，停用 0 人，未变 33 人" in second.stdout
    assert "新绑定的群 0 个" in second.stdout
    assert counts(url) == after_first


def test_the_demo_bureau_answers_in_its_chats(tmp_path):
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    env = {"DJBOT_DATABASE_URL": url}
    CliRunner().invoke(app, ["demo"], env=env)

    me = CliRunner().invoke(app, ["chat", "--platform", "dingtalk", "--user", "ding-cg03",
                                  "--chat", "demo-g1", "我的信息"], env=env)
    assert "张伟" in me.stdout and "本群：「城关派出所党支部」" in me.stdout
    report = CliRunner().invoke(app, ["chat", "--user", "ld01", "--chat", "demo-leaders", "调研记录"],
                                env=env)
    assert "交警大队党支部：1 次" in report.stdout
