"""A platform with no sender (not enabled in the config): what is queued for it is named
by `djbot doctor`, and what is a day past its time is not sent when it is enabled."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlmodel import Session, select
from typer.testing import CliRunner

from bot import cli
from bot.outbox import CLAIM_TIMEOUT, OutboxWorker
from bot.sender import SendResult
from storage import outbox
from storage.models import OutboxMessage
from storage.outbox import enqueue


class Recorded:
    def __init__(self, platform: str = "dingtalk") -> None:
        self.platform = platform
        self.texts: list[str] = []

    async def send(self, message):
        self.texts.append(message.payload["text"])
        return SendResult.sent()


def queue_on_dingtalk(engine, clock) -> None:
    """What a branch still bound to a DingTalk group, and a secretary with a DingTalk
    account, are sent while DingTalk is not enabled."""
    with Session(engine) as session:
        for kind, target_kind, target, text in (
                (outbox.GROUP_BEFORE, "group", "cid-1", "【活动提醒】今晚 19:30 支部党员大会"),
                (outbox.LEADERBOARD, "group", "cid-1", "【积分榜】本周"),
                (outbox.LEAVE_ASK, "user", "ding-sec", "【请假待批准】张三 12月10日 支部党员大会")):
            enqueue(session, platform="dingtalk", target_kind=target_kind, target=target,
                    payload=outbox.text_payload(text), now=clock.now(), kind=kind,
                    dedupe_key=f"{kind}|dingtalk:{target}|1")
        session.commit()


def test_enabling_a_platform_days_later_sends_what_is_still_of_use_not_old_reminders(
        engine, clock):
    """DingTalk was switched off for a week while a branch stayed bound to a DingTalk
    group: its reminders and leaderboards piled up, never tried, and when DingTalk was
    enabled again they all went at once, a week late."""
    queue_on_dingtalk(engine, clock)
    asyncio.run(OutboxWorker(engine, clock, {"wecom": Recorded("wecom")}).drain())  # DingTalk off
    clock.advance(days=7)
    dingtalk = Recorded()
    asyncio.run(OutboxWorker(engine, clock, {"dingtalk": dingtalk}).drain())  # enabled
    assert dingtalk.texts == ["【请假待批准】张三 12月10日 支部党员大会"]
    with Session(engine) as session:
        withdrawn = [row for row in session.exec(select(OutboxMessage)).all() if row.status == "withdrawn"]
    assert sorted(row.kind for row in withdrawn) == sorted([outbox.GROUP_BEFORE, outbox.LEADERBOARD])
    assert all("不再发送" in (row.last_error or "") for row in withdrawn)


def test_a_reminder_a_few_hours_late_still_goes(engine, clock):
    queue_on_dingtalk(engine, clock)
    clock.advance(hours=3)
    dingtalk = Recorded()
    asyncio.run(OutboxWorker(engine, clock, {"dingtalk": dingtalk}).drain())
    assert len(dingtalk.texts) == 3


def test_doctor_names_messages_queued_for_a_platform_not_enabled(engine, clock, settings):
    """`djbot doctor dingtalk` said only 未启用, while messages for DingTalk sat in the
    outbox that nothing would send."""
    queue_on_dingtalk(engine, clock)
    env = {"DJBOT_DATABASE_URL": settings.database_url, "DJBOT_DINGTALK__ENABLED": "false",
           "DJBOT_WECOM__ENABLED": "false"}
    said = CliRunner().invoke(cli.app, ["doctor", "dingtalk"], env=env)
    assert said.exit_code == 0, said.output
    local = clock.now().astimezone(settings.tz)
    assert "3 条发往钉钉的消息在排队" in said.output
    assert f"最早 {local.month}月{local.day}日 {local:%H:%M}" in said.output
    assert "其中 1 条（请假审批、通知等）无论多晚都会发出" in said.output
    wecom = CliRunner().invoke(cli.app, ["doctor", "wecom"], env=env)
    assert "排队" not in wecom.output


class Slow:
    """Posts the message, but the post takes longer than the claim timeout: meanwhile
    another replica's claim runs (`meanwhile`)."""

    def __init__(self, clock, meanwhile) -> None:
        self.platform = "wecom"
        self.clock = clock
        self.meanwhile = meanwhile
        self.texts: list[str] = []

    async def send(self, message):
        self.clock.advance(CLAIM_TIMEOUT + timedelta(seconds=1))
        self.meanwhile()
        self.texts.append(message.payload["text"])
        return SendResult.sent()


def test_a_notice_posted_while_another_replica_found_it_stale_is_recorded_sent(engine, clock):
    """A group's notice a day late was claimed and posted, but the post outlasted the claim
    timeout; another replica's claim then took it for lost and withdrew it as stale. The
    group saw the notice, yet `djbot outbox` said 已撤回 (never sent)."""
    with Session(engine) as session:
        enqueue(session, platform="wecom", target_kind="group", target="g1",
                payload=outbox.text_payload("【活动提醒】今晚 19:30 支部党员大会"),
                now=clock.now() - timedelta(days=1) + timedelta(minutes=2),
                kind=outbox.GROUP_BEFORE, dedupe_key="reminder.group_before|wecom:g1|1")
        session.commit()
    other = OutboxWorker(engine, clock, {"dingtalk": Recorded()}, worker_id="other")
    posting = Slow(clock, other.claim)
    asyncio.run(OutboxWorker(engine, clock, {"wecom": posting}, worker_id="posting").drain())
    assert posting.texts == ["【活动提醒】今晚 19:30 支部党员大会"]
    with Session(engine) as session:
        [row] = session.exec(select(OutboxMessage)).all()
    assert (row.status, row.last_error) == ("sent", None)


def test_a_notice_whose_post_failed_after_it_went_stale_is_withdrawn_not_tried_again(
        engine, clock):
    with Session(engine) as session:
        enqueue(session, platform="wecom", target_kind="group", target="g1",
                payload=outbox.text_payload("【活动提醒】今晚 19:30 支部党员大会"),
                now=clock.now() - timedelta(days=1) + timedelta(minutes=2),
                kind=outbox.GROUP_BEFORE, dedupe_key="reminder.group_before|wecom:g1|1")
        session.commit()
    other = OutboxWorker(engine, clock, {"dingtalk": Recorded()}, worker_id="other")

    class Failing(Slow):
        async def send(self, message):
            await super().send(message)
            return SendResult.failed("errcode -1")

    posting = Failing(clock, other.claim)
    worker = OutboxWorker(engine, clock, {"wecom": posting}, worker_id="posting")
    asyncio.run(worker.drain())
    clock.advance(minutes=10)
    asyncio.run(worker.drain())
    assert len(posting.texts) == 1
    with Session(engine) as session:
        [row] = session.exec(select(OutboxMessage)).all()
    assert row.status == "withdrawn" and "不再发送" in row.last_error


class OneHook(Recorded):
    """A branch's two groups reached through its one push webhook."""

    def shared_channel(self, message):
        return "hook"


def test_a_copy_through_a_shared_channel_is_withdrawn_with_the_one_it_goes_with(engine, clock):
    """A branch's reminder to its two groups goes once through their shared webhook, with
    the first row. The first was a day past its time and withdrawn as stale, the second
    not quite: the second went dead, telling the operator 「djbot outbox retry 1 2」, a
    retry of what was withdrawn on purpose."""
    with Session(engine) as session:
        for group, queued in (("g1", timedelta(days=1, minutes=1)),
                              ("g2", timedelta(days=1) - timedelta(minutes=10))):
            enqueue(session, platform="wecom", target_kind="group", target=group,
                    payload=outbox.text_payload("【活动提醒】今晚 19:30 支部党员大会"),
                    now=clock.now() - queued, kind=outbox.GROUP_BEFORE,
                    dedupe_key=f"{outbox.GROUP_BEFORE}|wecom:{group}|activity:1")
        session.commit()
    hook = OneHook("wecom")
    asyncio.run(OutboxWorker(engine, clock, {"wecom": hook}).drain())
    assert hook.texts == []
    with Session(engine) as session:
        first, second = session.exec(select(OutboxMessage).order_by(OutboxMessage.id)).all()
    assert first.status == second.status == "withdrawn"
    assert second.last_error == first.last_error and "retry" not in second.last_error
