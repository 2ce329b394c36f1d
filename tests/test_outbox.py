"""The outbox worker: retries with backoff, dead letters, rate limits, reclaiming a lost claim."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlmodel import Session, select
from typer.testing import CliRunner

from bot import cli
from bot.outbox import BASE_DELAY, CLAIM_TIMEOUT, MAX_ATTEMPTS, OutboxWorker
from bot.sender import FollowUp, Outbound, SendResult
from storage import outbox
from storage.models import OutboxMessage
from storage.outbox import enqueue


class ScriptedSender:
    """Fails the first `failures` sends (or always), and records every attempt."""

    def __init__(self, clock, failures: int | None = 0, retryable: bool = True,
                 platform: str = "wecom") -> None:
        self.platform = platform
        self.clock = clock
        self.failures = failures
        self.retryable = retryable
        self.attempts: list = []
        self.delivered: list[Outbound] = []

    async def send(self, message: Outbound) -> SendResult:
        self.attempts.append(self.clock.now())
        if self.failures is None or len(self.attempts) <= self.failures:
            return SendResult.failed("errcode 45009", retryable=self.retryable)
        self.delivered.append(message)
        return SendResult.sent()


def put(engine, clock, n: int = 1, *, target: str = "g1", target_kind: str = "group",
        platform: str = "wecom") -> None:
    with Session(engine) as session:
        for i in range(n):
            enqueue(session, platform=platform, target_kind=target_kind, target=target,
                    payload={"text": f"消息{i}"}, now=clock.now(), kind="reminder.start")
        session.commit()


def rows(engine) -> list[OutboxMessage]:
    with Session(engine) as session:
        return list(session.exec(select(OutboxMessage).order_by(OutboxMessage.id)).all())


def drain(worker) -> int:
    return asyncio.run(worker.drain())


def test_three_failures_then_success_is_delivered_once_with_growing_backoff(engine, clock):
    put(engine, clock)
    sender = ScriptedSender(clock, failures=3)
    worker = OutboxWorker(engine, clock, {"wecom": sender})
    for _ in range(10):
        drain(worker)
        [row] = rows(engine)
        if row.status == "sent":
            break
        assert row.status == "pending" and row.last_error == "errcode 45009"
        assert drain(worker) == 0  # not due again before its backoff
        clock.set(row.next_attempt_at)
    assert len(sender.attempts) == 4 and len(sender.delivered) == 1
    [row] = rows(engine)
    assert (row.status, row.attempts) == ("sent", 4)
    gaps = [b - a for a, b in zip(sender.attempts, sender.attempts[1:])]
    for n, gap in enumerate(gaps, start=1):  # 30 s · 2^(n-1), jittered to at least half
        assert BASE_DELAY * 2 ** (n - 1) / 2 <= gap <= BASE_DELAY * 2 ** (n - 1)
    drain(worker)
    assert len(sender.delivered) == 1


def test_a_throttled_message_waits_as_told_and_never_goes_dead(engine, clock):
    class Throttled(ScriptedSender):
        async def send(self, message: Outbound) -> SendResult:
            self.attempts.append(self.clock.now())
            if len(self.attempts) <= MAX_ATTEMPTS + 2:  # blocked longer than the tries last
                return SendResult.failed("errcode 130101", retry_after=600)
            self.delivered.append(message)
            return SendResult.sent()

    put(engine, clock)
    sender = Throttled(clock, platform="wecom")
    worker = OutboxWorker(engine, clock, {"wecom": sender})
    while not sender.delivered:
        drain(worker)
        [row] = rows(engine)
        assert row.status in ("pending", "sent")
        if row.status == "pending":
            assert row.next_attempt_at - clock.now() == timedelta(seconds=600)
            assert drain(worker) == 0  # not before the platform's wait is over
            clock.set(row.next_attempt_at)
    [row] = rows(engine)
    assert row.status == "sent" and len(sender.attempts) == MAX_ATTEMPTS + 3


def test_a_message_that_always_fails_ends_dead_and_is_listed_and_can_be_retried(
        engine, clock, runtime, monkeypatch):
    put(engine, clock)
    sender = ScriptedSender(clock, failures=None)
    worker = OutboxWorker(engine, clock, {"wecom": sender})
    for _ in range(MAX_ATTEMPTS + 3):
        drain(worker)
        clock.advance(hours=2)
    [row] = rows(engine)
    assert (row.status, row.attempts) == ("dead", MAX_ATTEMPTS)
    assert len(sender.attempts) == MAX_ATTEMPTS

    monkeypatch.setattr(cli, "get_runtime", lambda *a, **kw: runtime)
    runner = CliRunner()
    listed = runner.invoke(cli.app, ["outbox", "--status", "dead"])
    assert listed.exit_code == 0, listed.output
    assert f"#{row.id} dead reminder.start" in listed.output and "errcode 45009" in listed.output
    assert "发件箱为空" in runner.invoke(cli.app, ["outbox", "--status", "pending"]).output

    retried = runner.invoke(cli.app, ["outbox", "retry", "--all-dead"])
    assert "已重新排队 1 条" in retried.output
    sender.failures = 0
    drain(worker)
    assert rows(engine)[0].status == "sent" and len(sender.delivered) == 1


def test_retrying_a_number_not_there_or_already_sent_says_so(engine, clock, runtime, monkeypatch):
    """Before, `djbot outbox retry 9999` (a typo of the number doctor gave) answered
    「已重新排队 0 条。」 and exit 0, as did the number of a message already sent."""
    put(engine, clock)
    drain(OutboxWorker(engine, clock, {"wecom": ScriptedSender(clock, failures=0)}))
    [row] = rows(engine)
    assert row.status == "sent"
    monkeypatch.setattr(cli, "get_runtime", lambda *a, **kw: runtime)
    result = CliRunner().invoke(cli.app, ["outbox", "retry", "9999", str(row.id)])
    assert result.exit_code == 1
    assert f"未重发：#9999 不存在；#{row.id} 状态为 sent，不用重发" in result.output
    assert rows(engine)[0].status == "sent"


def test_a_refusal_that_cannot_succeed_is_dead_at_once(engine, clock):
    put(engine, clock)
    sender = ScriptedSender(clock, failures=None, retryable=False)
    drain(OutboxWorker(engine, clock, {"wecom": sender}))
    assert rows(engine)[0].status == "dead" and len(sender.attempts) == 1


def test_a_sender_that_raises_is_a_retryable_failure(engine, clock):
    class Broken:
        platform = "wecom"

        async def send(self, message):
            raise RuntimeError("bug")

    put(engine, clock)
    drain(OutboxWorker(engine, clock, {"wecom": Broken()}))
    [row] = rows(engine)
    assert (row.status, row.last_error) == ("pending", "RuntimeError")


@pytest.mark.parametrize("target_kind, limit", [("group", 20), ("user", 30)])
def test_at_most_the_platform_rate_goes_to_one_destination_per_minute(engine, clock,
                                                                      target_kind, limit):
    put(engine, clock, limit + 5, target_kind=target_kind)
    put(engine, clock, 1, target_kind=target_kind, target="other")
    sender = ScriptedSender(clock)
    worker = OutboxWorker(engine, clock, {"wecom": sender})
    drain(worker)
    assert len([m for m in sender.delivered if m.target == "g1"]) == limit
    assert len([m for m in sender.delivered if m.target == "other"]) == 1
    clock.advance(seconds=30)
    assert drain(worker) == 0
    clock.advance(seconds=31)
    drain(worker)
    assert len(sender.delivered) == limit + 6


def test_two_replicas_claiming_at_once_send_a_group_no_more_than_its_rate(
        engine, clock, monkeypatch):
    """Two replicas' workers claim at the same beat from a backlog of 250 messages to one
    group robot (20 a minute). Before, each read the minute's count before the other had
    claimed, then claimed different rows (SKIP LOCKED): 20 + 20 went in one minute, and the
    robot blocked the group for ten."""
    import threading

    from bot import outbox as worker_mod

    put(engine, clock, 250)
    count = worker_mod._recent_counts
    counted = {"a": threading.Event(), "b": threading.Event()}

    def counted_then_wait_for_the_other(session, now):
        used = count(session, now)
        me = threading.current_thread().name
        counted[me].set()
        # Both at once, as on two replicas, unless the other cannot count until this
        # claim commits (then it waits its second and goes on).
        counted["b" if me == "a" else "a"].wait(1)
        return used

    monkeypatch.setattr(worker_mod, "_recent_counts", counted_then_wait_for_the_other)
    claimed: dict[str, list] = {}
    workers = [OutboxWorker(engine, clock, {"wecom": ScriptedSender(clock)}, worker_id=name)
               for name in counted]
    threads = [threading.Thread(name=w.worker_id, target=lambda w=w: claimed.__setitem__(
        w.worker_id, w.claim())) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert sorted(claimed) == ["a", "b"]
    assert len(claimed["a"]) + len(claimed["b"]) == 20, {k: len(v) for k, v in claimed.items()}


def test_a_worker_lost_after_claiming_is_replaced_after_the_claim_timeout(engine, clock):
    put(engine, clock)
    lost = OutboxWorker(engine, clock, {"wecom": ScriptedSender(clock)}, worker_id="lost")
    assert len(lost.claim()) == 1  # …and the process dies before sending
    sender = ScriptedSender(clock)
    other = OutboxWorker(engine, clock, {"wecom": sender}, worker_id="other")
    assert drain(other) == 0
    clock.advance(CLAIM_TIMEOUT + timedelta(seconds=1))
    drain(other)
    assert len(sender.delivered) == 1 and rows(engine)[0].status == "sent"
    # The lost worker's late answer does not overwrite the row.
    assert lost.record(rows(engine)[0].id, SendResult.failed("late")) == "sent"


def test_people_held_back_get_one_row_of_their_own_whichever_replica_records_it(engine,
                                                                               clock):
    """A row whose claim timed out is sent again by a second replica, and the platform holds
    u2 back both times. u2 gets one row of their own, keyed under the message's key (what
    withdraws the message withdraws it too), however often the outcome is recorded."""
    key = "reminder.day_before|dingtalk:user:u1|2026-11-25T19:30:00+08:00|activity:7"
    with Session(engine) as session:
        enqueue(session, platform="dingtalk", target_kind="user", target="u1",
                payload={"text": "【明日活动】", "user_ids": ["u1", "u2"]}, now=clock.now(),
                kind="reminder.day_before", dedupe_key=key)
        session.commit()
    held = SendResult.sent(follow_ups=(FollowUp(
        target="u2", payload={"text": "【明日活动】", "user_ids": ["u2"]}, delay=60),))
    slow = OutboxWorker(engine, clock, {"dingtalk": ScriptedSender(clock)}, worker_id="slow")
    [first] = slow.claim()
    clock.advance(CLAIM_TIMEOUT + timedelta(seconds=1))
    other = OutboxWorker(engine, clock, {"dingtalk": ScriptedSender(clock)}, worker_id="other")
    [again] = other.claim()
    assert other.record(again.id, held) == "sent"
    assert slow.record(first.id, held) == "sent"  # its late answer adds nothing
    parent, follow_up = rows(engine)
    assert (follow_up.target, follow_up.status) == ("u2", "pending")
    with Session(engine) as session:
        assert not enqueue(session, platform="dingtalk", target_kind="user", target="u2",
                           payload={}, now=clock.now(), kind="reminder.day_before",
                           dedupe_key=outbox.follow_up_key(parent, "u2"))  # written again
        assert len(outbox.withdraw_unsent(session, kind="reminder.day_before",
                                          key_prefix=key, reason="活动已取消")) == 1
        session.commit()
    assert [(r.target, r.status) for r in rows(engine)] == [("u1", "sent"), ("u2", "withdrawn")]


def test_rows_wait_for_a_platform_without_a_sender(engine, clock):
    put(engine, clock, platform="dingtalk")
    sender = ScriptedSender(clock)
    assert drain(OutboxWorker(engine, clock, {"wecom": sender})) == 0
    assert rows(engine)[0].status == "pending"


def test_two_workers_never_claim_the_same_row(engine, clock):
    put(engine, clock, 10, target_kind="user")
    first = OutboxWorker(engine, clock, {"wecom": ScriptedSender(clock)}, worker_id="a", batch=6)
    second = OutboxWorker(engine, clock, {"wecom": ScriptedSender(clock)}, worker_id="b", batch=6)
    claimed_a, claimed_b = first.claim(), second.claim()
    ids_a, ids_b = {m.id for m in claimed_a}, {m.id for m in claimed_b}
    assert len(ids_a) == 6 and len(ids_b) == 4 and not ids_a & ids_b


class DownFor(ScriptedSender):
    """Refuses every send to the targets in `down` (unreachable), sends the rest."""

    def __init__(self, clock, down: set[str], retry_after: float | None = None) -> None:
        super().__init__(clock)
        self.down = down
        self.retry_after = retry_after

    async def send(self, message: Outbound) -> SendResult:
        self.attempts.append((message.target, self.clock.now()))
        if message.target in self.down:
            return SendResult.failed("ConnectError", retry_after=self.retry_after)
        self.delivered.append(message)
        return SendResult.sent()


def test_a_backlog_to_one_group_does_not_hold_back_the_leaders_summary(engine, clock):
    put(engine, clock, 150)  # a burst of replies to one group, more than a minute's rate
    clock.advance(seconds=1)
    put(engine, clock, 1, target="leaders", target_kind="leaders")
    sender = ScriptedSender(clock)
    drain(OutboxWorker(engine, clock, {"wecom": sender}))
    assert [m.target for m in sender.delivered].count("g1") == 20
    assert [m.target for m in sender.delivered].count("leaders") == 1


def test_an_unreachable_group_is_tried_once_a_beat_and_the_others_still_go(engine, clock):
    put(engine, clock, 200)  # g1, whose robot cannot be reached
    clock.advance(seconds=1)
    put(engine, clock, 3, target="g2")
    put(engine, clock, 1, target="leaders", target_kind="leaders")
    sender = DownFor(clock, down={"g1"})
    worker = OutboxWorker(engine, clock, {"wecom": sender})
    drain(worker)
    assert [target for target, _ in sender.attempts].count("g1") == 1
    assert sorted(m.target for m in sender.delivered) == ["g2", "g2", "g2", "leaders"]
    g1 = [row for row in rows(engine) if row.target == "g1"]
    assert {row.status for row in g1} == {"pending"}
    tried = [row for row in g1 if row.attempts]
    assert len(tried) == 1 and tried[0].last_error == "ConnectError"
    assert all(row.last_error is None for row in g1 if not row.attempts)  # untried: no try used

    clock.advance(seconds=10)  # within the hold: nothing to g1, however often it drains
    assert drain(worker) == 0
    clock.advance(seconds=20)  # the next beat: one more try
    drain(worker)
    assert [target for target, _ in sender.attempts].count("g1") == 2

    sender.down.clear()  # back: the backlog goes at the group's rate, once each
    clock.advance(minutes=10)
    drain(worker)
    assert [m.target for m in sender.delivered].count("g1") == 20
    for _ in range(12):
        clock.advance(minutes=1)
        drain(worker)
    delivered = [m.id for m in sender.delivered if m.target == "g1"]
    assert len(delivered) == len(set(delivered)) == 200
    assert {row.status for row in rows(engine)} == {"sent"}


def test_a_throttled_group_is_not_tried_again_until_the_wait_is_over(engine, clock):
    put(engine, clock, 30)
    sender = DownFor(clock, down={"g1"}, retry_after=600)  # DingTalk's 10-minute robot block
    worker = OutboxWorker(engine, clock, {"wecom": sender})
    drain(worker)
    clock.advance(seconds=599)
    drain(worker)
    assert len(sender.attempts) == 1
    assert {row.attempts for row in rows(engine)} == {0}  # a "wait" uses up no try
    sender.down.clear()
    clock.advance(seconds=1)
    drain(worker)
    assert len(sender.delivered) == 20 and len(sender.attempts) == 21


def test_a_dead_picture_is_listed_and_can_be_retried(engine, clock, runtime, monkeypatch):
    """The weekly push's picture (no text, only the image) went dead: the leaders' group
    lost its push webhook. `djbot outbox` lists it, by its title, instead of failing."""
    with Session(engine) as session:
        enqueue(session, platform="wecom", target_kind="leaders", target="lg", now=clock.now(),
                kind="summary.picture", payload={
                    "text": "", "markdown": False, "mentions": [], "is_error": False,
                    "title": "党建周报（图）", "image_base64": "iVBORw0KGgo="})
        session.commit()
    drain(OutboxWorker(engine, clock, {"wecom": ScriptedSender(clock, failures=None,
                                                               retryable=False)}))
    [row] = rows(engine)
    assert row.status == "dead"

    monkeypatch.setattr(cli, "get_runtime", lambda *a, **kw: runtime)
    listed = CliRunner().invoke(cli.app, ["outbox", "--status", "dead"])
    assert listed.exit_code == 0, listed.output
    assert f"#{row.id} dead summary.picture" in listed.output
    assert "党建周报（图）" in listed.output
    assert "已重新排队 1 条" in CliRunner().invoke(cli.app, ["outbox", "retry", str(row.id)]).output


def test_the_console_shows_a_picture_as_a_picture_not_as_an_empty_line():
    """djbot chat, demo and tick print what would be sent: the weekly summary's picture
    printed as nothing left a bare 📣 line in the console."""
    import base64

    from bot.outbox import ConsoleSender

    said: list[str] = []
    picture = base64.b64encode(b"\x89PNG" + b"\0" * 4096).decode()
    asyncio.run(ConsoleSender("wecom", said.append).send(Outbound(
        id=1, platform="wecom", target_kind="leaders", target="demo-leaders", branch_id=None,
        kind="summary.picture",
        payload={"text": "", "title": "党建周报（图）", "image_base64": picture})))
    assert said == ["📣 [wecom 领导群 demo-leaders] [图片：党建周报（图），4 KB]"]


class SlowSender(ScriptedSender):
    """Each send takes three minutes (a platform answering at its timeout, a long reply
    sent in parts)."""

    async def send(self, message: Outbound) -> SendResult:
        self.clock.advance(timedelta(minutes=3))
        return await super().send(message)


def test_a_batch_whose_sends_outlast_half_its_claim_gives_the_rest_back(engine, clock):
    """Rows claimed together are sent one after another: past the claim's timeout another
    replica took the batch's last rows again and sent them a second time."""
    for group in ("g1", "g2", "g3"):
        put(engine, clock, target=group)
    sender = SlowSender(clock)
    worker = OutboxWorker(engine, clock, {"wecom": sender}, worker_id="slow")
    assert asyncio.run(worker.deliver_once()) == 1  # 3 minutes: past half of 5
    assert [r.status for r in rows(engine)] == ["sent", "pending", "pending"]
    other = ScriptedSender(clock)
    drain(OutboxWorker(engine, clock, {"wecom": other}, worker_id="other"))
    assert [m.target for m in other.delivered] == ["g2", "g3"]
    assert [m.target for m in sender.delivered] == ["g1"]  # each group once


def test_a_withdrawn_message_is_listed_with_why_and_can_be_asked_for(engine, clock, runtime,
                                                                   monkeypatch):
    """Before, `djbot outbox` listed a message taken back unsent as 「withdrawn … 错误：已销假」
    (no error: the leave was taken back), and `--status withdrawn` was refused."""
    with Session(engine) as session:
        enqueue(session, platform="wecom", target_kind="user", target="sec", now=clock.now(),
                kind="leave.ask", payload={"text": "【请假待批准】张三请假"})
        session.commit()
        [row] = rows(engine)
        outbox.withdraw_rows(session, rows=[session.get(OutboxMessage, row.id)], reason="已销假")
        session.commit()

    monkeypatch.setattr(cli, "get_runtime", lambda *a, **kw: runtime)
    listed = CliRunner().invoke(cli.app, ["outbox", "--status", "withdrawn"])
    assert listed.exit_code == 0, listed.output
    assert f"#{row.id} withdrawn leave.ask" in listed.output
    assert "撤回：已销假" in listed.output and "错误" not in listed.output


def test_doctor_names_a_message_given_up_and_how_to_send_it_again(engine, clock, settings):
    """The leaders' summary went dead (the webhook key was deleted): `djbot doctor` listed a
    message that reached some people but not one that reached nobody, and said all was well."""
    from bot.doctor import unreached_lines

    put(engine, clock)
    drain(OutboxWorker(engine, clock, {"wecom": ScriptedSender(clock, failures=None,
                                                                retryable=False)}))
    [row] = rows(engine)
    assert row.status == "dead"
    [(ok, line)] = unreached_lines(settings, "wecom", now=clock.now())
    assert not ok and f"#{row.id}" in line and "errcode 45009" in line
    assert f"djbot outbox retry {row.id}" in line
    assert unreached_lines(settings, "dingtalk", now=clock.now()) == []
    # Given up long ago (past DJBOT_RETENTION_DAYS), it is the operator's old news.
    later = clock.now() + timedelta(days=settings.retention_days + 1)
    assert unreached_lines(settings, "wecom", now=later) == []


def test_doctor_lists_the_latest_given_up_and_counts_the_rest(engine, clock, settings):
    from bot.doctor import unreached_lines

    put(engine, clock, 7)
    drain(OutboxWorker(engine, clock, {"wecom": ScriptedSender(clock, failures=None,
                                                                retryable=False)}))
    lines = unreached_lines(settings, "wecom", now=clock.now())
    assert all(f"#{row.id}（" in line for row, (_, line) in zip(rows(engine)[:1:-1], lines[:5]))
    assert len(lines) == 6 and "另有 2 条未能送达" in lines[-1][1] and "--all-dead" in lines[-1][1]


class HeldSender(ScriptedSender):
    """Takes each message, but holds the first send until told to answer."""

    def __init__(self, clock) -> None:
        super().__init__(clock)
        self.sending, self.answer = asyncio.Event(), asyncio.Event()

    async def send(self, message: Outbound) -> SendResult:
        if not self.attempts:
            self.attempts.append(self.clock.now())
            self.sending.set()
            await self.answer.wait()
            self.delivered.append(message)
            return SendResult.sent()
        return await super().send(message)


def test_a_service_stopped_mid_batch_leaves_nothing_claimed_for_the_claim_timeout(
        engine, clock, runtime):
    """A restart (a deploy, systemctl restart) while the 19:30 start notices of three
    groups were going out: the stop cancelled the beat mid-send, and the notices not yet
    sent stayed claimed by the stopped process, so no replica, nor the restarted one,
    sent them before the five-minute claim timeout."""
    from bot.scheduling.service import SchedulerService

    for group in ("g1", "g2", "g3"):
        put(engine, clock, target=group)
    sender = HeldSender(clock)

    async def restart() -> None:
        service = SchedulerService(runtime, {"wecom": sender})
        await service.start()
        await sender.sending.wait()  # g1's notice is with the platform
        stopping = asyncio.create_task(service.stop())
        await asyncio.sleep(0)
        sender.answer.set()  # the platform answers the send in hand
        await stopping

    asyncio.run(restart())
    assert [m.target for m in sender.delivered] == ["g1"]
    assert [(r.target, r.status) for r in rows(engine)] == [
        ("g1", "sent"), ("g2", "pending"), ("g3", "pending")]
    # The next process sends them at its first beat, not five minutes later.
    again = ScriptedSender(clock)
    drain(OutboxWorker(engine, clock, {"wecom": again}))
    assert sorted(m.target for m in again.delivered) == ["g2", "g3"]


def test_a_beat_cancelled_mid_send_gives_back_the_rows_it_had_not_tried(
        engine, clock, runtime, monkeypatch):
    """The send in hand never answers before the stop's wait is over: the beat is cancelled;
    the notices after it go back at once, the one in hand (it may have reached the group)
    waits for the claim timeout, as a lost worker's does."""
    from bot.scheduling import service as service_module

    monkeypatch.setattr(service_module, "STOP_WAIT", 0)
    for group in ("g1", "g2", "g3"):
        put(engine, clock, target=group)
    sender = HeldSender(clock)

    async def restart() -> None:
        service = service_module.SchedulerService(runtime, {"wecom": sender})
        await service.start()
        await sender.sending.wait()
        await service.stop()

    asyncio.run(restart())
    assert [(r.target, r.status) for r in rows(engine)] == [
        ("g1", "sending"), ("g2", "pending"), ("g3", "pending")]
    assert [r.attempts for r in rows(engine)] == [1, 0, 0]


def test_a_lost_database_connection_mid_batch_holds_back_only_the_message_in_hand(
        engine, clock):
    """PostgreSQL dropped a connection (a failover) as the outcome of g1's notice was being
    recorded: the beat stopped there, and the notices to g2 and g3, never tried, stayed
    claimed for the five-minute claim timeout."""
    for group in ("g1", "g2", "g3"):
        put(engine, clock, target=group)
    sender = ScriptedSender(clock)
    worker = OutboxWorker(engine, clock, {"wecom": sender})
    real_record = worker.record

    def record_once_lost(message_id, result):
        worker.record = real_record
        raise ConnectionError("server closed the connection unexpectedly")

    worker.record = record_once_lost
    with pytest.raises(ConnectionError):
        drain(worker)
    assert [(r.target, r.status) for r in rows(engine)] == [
        ("g1", "sending"), ("g2", "pending"), ("g3", "pending")]
    drain(worker)  # the next beat
    assert [m.target for m in sender.delivered] == ["g1", "g2", "g3"]


def test_doctor_names_a_message_the_platform_has_kept_waiting_for_over_an_hour(
        engine, clock, settings):
    """A platform's "wait" uses up no try, so a message throttled again and again (a group
    robot's key that another system also posts through) is never given up: it waited all
    evening, and `djbot doctor` said all was well."""
    from bot.doctor import unreached_lines

    put(engine, clock)
    always = ScriptedSender(clock, failures=None)
    always.send = lambda message: _throttled(always, message)
    worker = OutboxWorker(engine, clock, {"wecom": always})
    for _ in range(5):  # 40 minutes: still within what a wait may take
        drain(worker)
        clock.set(rows(engine)[0].next_attempt_at)
    assert unreached_lines(settings, "wecom", now=clock.now()) == []
    for _ in range(3):  # past an hour
        drain(worker)
        clock.set(rows(engine)[0].next_attempt_at)
    [(ok, line)] = unreached_lines(settings, "wecom", now=clock.now())
    assert not ok and "#1（" in line and "仍未送达" in line and "errcode 130101" in line


async def _throttled(sender, message):
    sender.attempts.append(sender.clock.now())
    return SendResult.failed("errcode 130101", retry_after=600)


def test_a_replica_whose_quiet_hours_began_leaves_alone_what_another_has_sent(engine):
    """Two replicas' clocks a minute apart at 22:00: the one already in quiet hours reads a
    group's notice queued at 21:50 as one not sent before them, and drops it; meanwhile the
    one still at 21:59:30 claims it and posts it. The group saw the notice, so the row says
    sent, not 「免打扰时段开始前未能送达」 (the status was written over whatever it was by
    then)."""
    from bot.clock import ManualClock
    from bot.scheduling.plan import QuietHours
    from tests.conftest import SHANGHAI, local

    behind, ahead = ManualClock(local(2026, 11, 25, 21, 59, 30)), ManualClock(
        local(2026, 11, 25, 22, 0, 30))
    with Session(engine) as session:
        enqueue(session, platform="wecom", target_kind="group", target="g1",
                payload={"text": "20:00 政治夜学即将开始"}, now=local(2026, 11, 25, 21, 50),
                kind=outbox.GROUP_BEFORE)
        session.commit()
    posted = ScriptedSender(behind)
    early = OutboxWorker(engine, behind, {"wecom": posted}, quiet=QuietHours(), tz=SHANGHAI)

    import threading

    racing = threading.Thread(target=drain, args=(early,))

    class Racing(QuietHours):
        """Its end is looked up once the rows due before it are read: then the replica
        a minute behind claims and posts the notice."""

        def next_end(self, local):
            if not racing.is_alive() and racing.ident is None:
                racing.start()
                racing.join(3)
            return super().next_end(local)

    late = OutboxWorker(engine, ahead, {"wecom": ScriptedSender(ahead)}, quiet=Racing(),
                        tz=SHANGHAI)
    drain(late)
    racing.join(30)
    [row] = rows(engine)
    if engine.dialect.name == "postgresql":
        # Claims are one at a time from their start there: the replica behind waited for
        # this one's, and found the notice dropped. Nobody saw it, and the row says so.
        assert posted.delivered == [] and row.status == "withdrawn"
    else:
        assert len(posted.delivered) == 1
        assert (row.status, row.last_error) == ("sent", None)


def test_two_replicas_claiming_at_once_in_quiet_hours_both_finish_their_claim(engine):
    """On PostgreSQL, each claim's clean-up (quiet hours, 【明日活动】 of a day that has
    come, what is long past its time) updated rows before the claim waited for the others:
    a replica already in quiet hours held the group's notice it dropped and waited for the
    【明日活动】 another had just withdrawn, which waited for the notice. PostgreSQL then
    aborted one claim (a deadlock), and that replica's beat sent nothing."""
    import threading
    import time

    from bot.clock import ManualClock
    from bot.outbox import AT_NIGHT
    from bot.scheduling.plan import QuietHours
    from tests.conftest import SHANGHAI, local

    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer: its claims never wait for each other's rows")
    with Session(engine) as session:
        enqueue(session, platform="wecom", target_kind="group", target="g1",
                payload={"text": "19:30 支部党员大会即将开始"}, now=local(2026, 11, 23, 19, 0),
                kind=outbox.GROUP_BEFORE)
        enqueue(session, platform="wecom", target_kind="group", target="g2",
                payload={"text": "【明日活动】", AT_NIGHT: True}, now=local(2026, 11, 24, 23, 0),
                kind=outbox.DAY_BEFORE)
        session.commit()
    failures: list[BaseException] = []

    def claiming(worker):
        try:
            worker.claim()
        except BaseException as exc:  # noqa: BLE001 - the thread's failure is the test's
            failures.append(exc)

    other = OutboxWorker(engine, ManualClock(local(2026, 11, 25, 21, 59)),
                         {"wecom": ScriptedSender(None)}, tz=SHANGHAI, worker_id="other")
    racing = threading.Thread(target=claiming, args=(other,))

    class AtNight(OutboxWorker):
        def keep_the_night(self, session, now):
            super().keep_the_night(session, now)
            racing.start()  # the other replica's claim, while this one's is under way
            time.sleep(1.5)

    night = AtNight(engine, ManualClock(local(2026, 11, 25, 22, 1)),
                    {"wecom": ScriptedSender(None)}, quiet=QuietHours(), tz=SHANGHAI,
                    worker_id="night")
    claiming(night)
    racing.join(30)
    assert failures == []
    assert {row.status for row in rows(engine)} == {"withdrawn"}


@pytest.mark.own_databases  # a second schema of its own: once, whichever pass
def test_a_claim_waits_for_its_own_deployments_claims_not_another_schemas(pg_url, clock):
    """PostgreSQL-only. Claims take a lock so that two replicas never count the same
    minute's sends at once; PostgreSQL's advisory locks are the whole database's, and a
    second deployment in another schema of it (staging beside production) waited on this
    one's claims: a claim held open there held every message here up."""
    import threading

    from sqlalchemy import text

    from bot.outbox import _claim_alone
    from storage import db
    from tests.conftest import POSTGRES_URL, postgres_schema

    def migrated(url):
        engine = db.make_engine(url)
        db.upgrade(engine)
        return engine

    here = migrated(pg_url)
    with postgres_schema(POSTGRES_URL) as other_url:
        there = migrated(other_url)
        try:
            put(here, clock)
            # Another deployment's claim, held open (as one stalled mid-claim holds it).
            held = there.connect()
            held.begin()
            with Session(bind=held) as stalled:
                _claim_alone(stalled)
                claimed: list = []
                worker = OutboxWorker(here, clock, {"wecom": ScriptedSender(clock)})
                claiming = threading.Thread(target=lambda: claimed.extend(worker.claim()),
                                            daemon=True)
                claiming.start()
                claiming.join(10)
                done = not claiming.is_alive()
                held.rollback()
                claiming.join(10)
            held.close()
            assert done and len(claimed) == 1
            # Within one deployment the claims still wait on each other.
            with there.begin() as conn, Session(bind=conn) as session:
                _claim_alone(session)
                with there.connect() as other:
                    other.execute(text("SET lock_timeout = '500ms'"))
                    with pytest.raises(Exception, match="lock timeout"):
                        with Session(bind=other) as second:
                            _claim_alone(second)
        finally:
            there.dispose()
            here.dispose()
