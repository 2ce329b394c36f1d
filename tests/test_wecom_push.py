"""设置 推送 in chat and `djbot push set`: private only, own branch, the key never echoed."""

from __future__ import annotations

import logging

from sqlmodel import Session, select
from typer.testing import CliRunner

from storage.models import AuditEntry, PushChannel, Role
from tests.factories import bind_chat, make_branch, make_member, seed

KEY = "693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa"
URL = f"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={KEY}"


def _org(engine):
    def setup(session: Session):
        one, two = make_branch(session, "一支部"), make_branch(session, "二支部")
        make_member(session, one, "书记甲", role=Role.SECRETARY, wecom="sec1")
        make_member(session, one, "党员乙", wecom="m1")
        make_member(session, two, "书记丙", role=Role.SECRETARY, wecom="sec2")
        bind_chat(session, one, "chat-one")
    seed(engine, setup)


def channels(engine) -> list[PushChannel]:
    with Session(engine) as session:
        return list(session.exec(select(PushChannel)))


def test_secretary_sets_push_privately_and_key_is_not_echoed(chat, engine, caplog):
    _org(engine)
    caplog.set_level(logging.DEBUG, logger="djbot")
    logging.getLogger("djbot").propagate = True
    reply = chat.say("sec1", f"设置 推送 一支部 {URL}")
    assert not reply.is_error, reply.text
    assert "一支部" in reply.text and KEY not in reply.text
    [channel] = channels(engine)
    assert (channel.platform, channel.url, channel.is_leaders) == ("wecom", KEY, False)
    assert KEY not in caplog.text
    with Session(engine) as session:
        [audit] = session.exec(select(AuditEntry).where(AuditEntry.action == "push.set")).all()
        assert KEY not in str(audit.detail) and audit.target == "一支部"

    again = chat.say("sec1", "设置 推送 一支部 0b5c2a11-2222-4bc4-97a0-0ec2aaaabbbb")
    assert "已更新" in again.text
    assert [c.url for c in channels(engine)] == ["0b5c2a11-2222-4bc4-97a0-0ec2aaaabbbb"]


def test_push_refused_in_group_for_members_and_other_branches(chat, engine):
    _org(engine)
    in_group = chat.say("sec1", f"设置 推送 一支部 {KEY}", chat="chat-one")
    assert in_group.is_error and "私聊" in in_group.text and KEY not in in_group.text
    member = chat.say("m1", f"设置 推送 一支部 {KEY}")
    assert member.is_error
    foreign = chat.say("sec2", f"设置 推送 一支部 {KEY}")
    assert foreign.is_error and "本支部" in foreign.text
    bad = chat.say("sec1", "设置 推送 一支部 not a key!")
    assert bad.is_error and "例如" in bad.text
    assert channels(engine) == []


def test_cli_push_set(engine, runtime, monkeypatch):
    _org(engine)
    from bot import cli
    from bot.cli import app

    monkeypatch.setattr(cli, "get_runtime", lambda *a, **k: runtime)

    result = CliRunner().invoke(app, ["push", "set", "--platform", "wecom", "--branch", "一支部",
                                      "--key", URL])
    assert result.exit_code == 0, result.output
    assert KEY not in result.output and "一支部" in result.output
    assert [c.url for c in channels(engine)] == [KEY]
    missing = CliRunner().invoke(app, ["push", "set", "--branch", "九支部", "--key", KEY])
    assert missing.exit_code == 1 and "九支部" in missing.output
