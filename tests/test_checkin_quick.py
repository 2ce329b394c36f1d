"""签到's quick lane (no ORM) and the writer that commits check-ins together.

The quick lane answers only 签到's simple case and must be indistinguishable from the
general path: the same replies and the same rows, ledger and stored replies included. The
writer commits check-ins that arrive together in one transaction, answers each only after
that commit, and when the shared transaction fails, handles each message alone.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from contextlib import ExitStack
from datetime import timedelta

import pytest
from sqlalchemy import event
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, SQLModel, select

from bot.clock import ManualClock
from bot.core import IncomingMessage, Reply
from bot.runtime import build_runtime
from storage import checkin as checkin_store
from storage import db
from storage.models import (
    Activity,
    Attendance,
    Member,
    PointEntry,
    ProcessedMessage,
    Role,
    RuleSet,
)

from .conftest import POSTGRES_URL, TEST_DB, ChatDriver, local, postgres_schema
from .factories import bind_chat, make_branch, make_group, make_member, seed


def _bureau(session) -> None:
    one = make_branch(session, "一支部")
    two = make_branch(session, "二支部")
    group = make_group(session, one, "第一党小组")
    make_member(session, one, "李书记", role=Role.SECRETARY, wecom="sec")
    make_member(session, one, "王委员", role=Role.COMMITTEE, wecom="wy")
    for n in range(1, 6):
        make_member(session, one, f"党员{n}", wecom=f"m{n}",
                    party_group_id=group.id if n == 5 else None)
    make_member(session, two, "外支部", wecom="other")
    make_member(session, None, "赵领导", role=Role.LEADER, wecom="leader")
    bind_chat(session, one, "g1")
    bind_chat(session, two, "g2")
    bind_chat(session, None, "leaders", leaders=True)


# (user, text, chat or None for a private chat, message id or None, minutes to advance first)
SCRIPT = [
    ("m1", "签到", "g1", None, 0),  # nothing open yet
    ("sec", "开始 主题党日 学习新党章", "g1", None, 0),
    ("m1", "签到", "g1", "same", 0),  # quick
    ("m1", "签到", "g1", "same", 0),  # the same delivery again: the stored reply
    ("m1", "签到", "g1", None, 0),  # sent twice: 已签到
    ("m2", "请假 出差", "g1", None, 0),
    ("m2", "签到", "g1", None, 0),  # leave asked, came anyway: the general path
    ("other", "签到", "g1", None, 0),  # another branch's member
    ("stranger", "签到", "g1", None, 0),
    ("m3", "签到！", "g1", None, 0),
    ("m4", "@党建助手 签到了", "g1", None, 0),
    ("m5", "签到 我来了", "g1", None, 0),  # extra words: refused, nothing recorded
    ("m5", "签到", "g9", None, 0),  # an unbound group
    ("wy", "签到", None, None, 0),  # a private chat
    ("m5", "打卡", "g1", None, 40),  # late: the general path
    ("sec", "结束", "g1", None, 0),
    ("m1", "签到", "g1", None, 0),
    ("sec", "开始 支委会", "g1", None, 60 * 24),
    ("m1", "签到", "g1", None, 0),  # not on the committee
    ("wy", "签到", "g1", None, 0),
    ("sec", "结束", "g1", None, 0),
    ("sec", "开始 党小组会 第一党小组", "g1", None, 60 * 24),
    ("m5", "签到", "g1", None, 0),  # a party group's activity: its name in the reply
    ("sec", "结束", "g1", None, 0),
    ("leader", "开始 大讲堂 廉政教育", "leaders", None, 60 * 24),
    ("m3", "签到", "g1", None, 0),  # bureau-wide, from a branch group
    ("other", "签到", "g2", None, 0),
    ("leader", "结束", "leaders", None, 0),
]


class World:
    """One database and runtime, its own clock, driven through the dispatcher."""

    def __init__(self, url: str, *, quick: bool) -> None:
        self.engine = db.make_engine(url)
        SQLModel.metadata.create_all(self.engine)
        self.clock = ManualClock(local(2026, 11, 23, 9, 0))
        from bot.config import Settings

        self.runtime = build_runtime(Settings(database_url=url, _env_file=None),
                                     clock=self.clock, engine=self.engine, migrate=False)
        self.runtime.dispatcher.quick_lane = quick
        self.chat = ChatDriver(self.runtime)
        self.quick_answers = 0
        answer = self.runtime.dispatcher.quick

        def counted(conn, message):
            result = answer(conn, message)
            self.quick_answers += result is not None
            return result

        self.runtime.dispatcher.quick = counted  # type: ignore[method-assign]
        seed(self.engine, _bureau)

    def play(self) -> list[str]:
        replies = []
        for n, (user, text, chat, message_id, minutes) in enumerate(SCRIPT):
            self.clock.advance(timedelta(minutes=minutes))
            reply = self.chat.say(user, text, chat=chat, message_id=message_id or f"msg-{n}")
            replies.append(("ERR " if reply.is_error else "") + reply.text)
        return replies

    def records(self) -> dict[str, list]:
        with Session(self.engine) as s:
            names = {m.id: m.name for m in s.exec(select(Member))}
            kinds = {a.id: a.type for a in s.exec(select(Activity))}
            digests = {r.id: r.digest for r in s.exec(select(RuleSet))}
            return {
                "attendance": sorted(
                    (kinds[r.activity_id], names[r.member_id], r.status, r.checked_in_at,
                     r.platform, r.message_id) for r in s.exec(select(Attendance))),
                "ledger": sorted(
                    (names[e.member_id], e.branch_id, e.points, e.rule, digests.get(e.ruleset_id),
                     e.source_kind, e.occurred_at, e.created_at)
                    for e in s.exec(select(PointEntry))),
                "replies": sorted(
                    (p.message_id, p.chat_id, p.sender_id, p.received_at, str(p.reply))
                    for p in s.exec(select(ProcessedMessage))),
            }


@pytest.fixture
def urls(tmp_path):
    """Two fresh databases of this pass's kind."""
    with ExitStack() as stack:
        if TEST_DB == "postgres":
            if not POSTGRES_URL:
                pytest.skip("PostgreSQL not configured")
            yield [stack.enter_context(postgres_schema(POSTGRES_URL)) for _ in range(2)]
        else:
            yield [f"sqlite:///{tmp_path / 'quick.db'}", f"sqlite:///{tmp_path / 'general.db'}"]


def test_the_quick_lane_gives_the_same_replies_and_rows_as_the_general_path(urls):
    quick, general = World(urls[0], quick=True), World(urls[1], quick=False)
    try:
        assert quick.play() == general.play()
        assert quick.records() == general.records()
    finally:
        quick.engine.dispose()
        general.engine.dispose()
    # m1's 签到, m3, m4 and wy at the 支委会 went the quick way; everything else (a repeated
    # delivery, leave row, strangers, party group, bureau-wide, m5 late: a 更正 may have
    # said the meeting began later, which the general path reads) did not.
    assert quick.quick_answers == 4, quick.quick_answers
    assert general.quick_answers == 0
    replies = quick.records()["replies"]
    assert any("签到成功（迟到）" in r[-1] for r in replies)
    assert any("第一党小组" in r[-1] for r in replies)


# --- the writer: check-ins that arrive together ---------------------------------------------


def _branch_of(n: int):
    def build(session):
        branch = make_branch(session, "一支部")
        make_member(session, branch, "李书记", role=Role.SECRETARY, wecom="sec")
        for i in range(n):
            make_member(session, branch, f"党员{i:02d}", wecom=f"u{i:02d}")
        bind_chat(session, branch, "g1")
    return build


def _check_in(runtime, user: str) -> IncomingMessage:
    return IncomingMessage(platform="wecom", chat_id="g1", sender_id=user, text="签到",
                           message_id=uuid.uuid4().hex, at=runtime.clock.now())


@pytest.fixture
def commits(runtime):
    counted: list[int] = []
    event.listen(runtime.engine, "commit", lambda conn: counted.append(1))
    yield counted


async def test_check_ins_that_arrive_together_commit_together(runtime, chat, commits):
    seed(runtime.engine, _branch_of(30))
    chat.say("sec", "开始 主题党日", chat="g1")
    commits.clear()

    results = await asyncio.gather(*(runtime.dispatcher.handle_delivery(
        _check_in(runtime, f"u{i:02d}")) for i in range(30)))
    runtime.dispatcher.close()

    assert all("签到成功" in reply.text and not repeated for reply, repeated in results)
    with Session(runtime.engine) as s:
        assert len(s.exec(select(Attendance)).all()) == 30
        assert len(s.exec(select(PointEntry)).all()) == 30
    # Queued while the first was handled, the rest share transactions: far fewer commits.
    assert len(commits) < 10, len(commits)


async def test_a_shared_transaction_that_fails_is_redone_one_message_at_a_time(
        runtime, chat, monkeypatch):
    seed(runtime.engine, _branch_of(12))
    chat.say("sec", "开始 主题党日", chat="g1")
    record = checkin_store.record
    failed: list[int] = []

    def another_replica_won_once(conn, *, member, **kw):
        # As if another replica had just stored u05's check-in: the unique key fails the
        # whole shared transaction once.
        if member.name == "党员05" and not failed:
            failed.append(1)
            raise IntegrityError("INSERT INTO attendance", {}, Exception("UNIQUE"))
        return record(conn, member=member, **kw)

    monkeypatch.setattr(checkin_store, "record", another_replica_won_once)
    messages = [_check_in(runtime, f"u{i:02d}") for i in range(12)]
    results = runtime.dispatcher.handle_batch(messages)

    assert failed == [1]
    assert all(isinstance(r, tuple) and "签到成功" in r[0].text for r in results), results
    with Session(runtime.engine) as s:  # nothing of the rolled-back attempt is left twice
        assert len(s.exec(select(Attendance)).all()) == 12
        assert len(s.exec(select(PointEntry)).all()) == 12
        assert len(s.exec(select(ProcessedMessage)).all()) == 12 + 1  # and 开始


async def test_one_failing_message_fails_alone(runtime, chat, monkeypatch):
    seed(runtime.engine, _branch_of(4))
    chat.say("sec", "开始 主题党日", chat="g1")
    handle = runtime.dispatcher.handle_sync_delivery

    def broken_for_u02(message, **kw):
        if message.sender_id == "u02":
            raise RuntimeError("the database went away")
        return handle(message, **kw)

    monkeypatch.setattr(checkin_store, "record", _raise_for("党员02", checkin_store.record))
    monkeypatch.setattr(runtime.dispatcher, "handle_sync_delivery", broken_for_u02)
    results = runtime.dispatcher.handle_batch([_check_in(runtime, f"u{i:02d}") for i in range(4)])

    assert isinstance(results[2], RuntimeError)
    assert [r[0].text.split()[0] for i, r in enumerate(results) if i != 2] == [
        "党员00", "党员01", "党员03"]


def _raise_for(name: str, record):
    def maybe(conn, *, member, **kw):
        if member.name == name:
            raise RuntimeError("the database went away")
        return record(conn, member=member, **kw)
    return maybe


async def test_a_stopped_writer_finishes_what_was_queued_and_starts_again(runtime, chat):
    seed(runtime.engine, _branch_of(3))
    chat.say("sec", "开始 主题党日", chat="g1")
    first = asyncio.ensure_future(runtime.dispatcher.handle(_check_in(runtime, "u00")))
    await asyncio.sleep(0)
    await asyncio.to_thread(runtime.dispatcher.close)
    assert "签到成功" in (await first).text
    again = await runtime.dispatcher.handle(_check_in(runtime, "u01"))
    assert isinstance(again, Reply) and "签到成功" in again.text


def test_a_retry_answered_before_the_activity_opened_keeps_its_answer(runtime, chat):
    """The quick lane does not read the stored reply first: the retry fails on the record's
    unique key, and the general path answers it as the first delivery was answered."""
    seed(runtime.engine, _branch_of(1))
    first = chat.say("u00", "签到", chat="g1", message_id="m-1")
    assert "现在没有可以签到的活动" in first.text
    chat.say("sec", "开始 主题党日", chat="g1")

    again = chat.say("u00", "签到", chat="g1", message_id="m-1")

    assert again == first
    with Session(runtime.engine) as s:
        assert s.exec(select(Attendance)).all() == []
        assert s.exec(select(PointEntry)).all() == []


def test_what_a_text_says_is_read_once_and_the_readings_kept_are_few(runtime, chat):
    """The quick lane reads a text once (a burst is the same 签到 again and again), and
    the same words then still go the same way: a check-in by the lane, 签到 夜学 by the
    general path, which checks the activity named. However many texts come, the kept
    readings stay few."""
    from bot.dispatcher import READINGS_KEPT

    seed(runtime.engine, _branch_of(6))
    chat.say("sec", "开始 主题党日", chat="g1")
    dispatcher = runtime.dispatcher
    for n in range(READINGS_KEPT + 20):  # a stranger's chatter: each text read once
        chat.say("u05", f"你好{n}", chat="g1")
    assert len(dispatcher._readings) <= READINGS_KEPT
    lanes = []
    for user in ("u00", "u01"):
        lanes.append(dispatcher.quick_plan(_message(runtime, user, "签到")) is not None)
        assert "签到成功" in chat.say(user, "签到", chat="g1").text
    for user in ("u02", "u03"):
        lanes.append(dispatcher.quick_plan(_message(runtime, user, "签到 夜学")) is not None)
        assert "不是政治夜学" in chat.say(user, "签到 夜学", chat="g1").text
    assert lanes == [True, True, False, False]


async def test_a_write_after_a_message_runs_on_the_writer_thread(runtime):
    """A reply queued in the outbox after the answer takes the writer's turn: on SQLite no
    second thread waits for the write lock (a burst piled them up by the hundred)."""
    import threading

    def where(x):
        return threading.current_thread().name, x * 2

    assert await runtime.dispatcher.write(where, 21) == ("djbot-writer", 42)

    def broken():
        raise ValueError("no")

    with pytest.raises(ValueError):
        await runtime.dispatcher.write(broken)


# --- SQLite: the event loop writes a turn's check-ins itself -----------------------------

sqlite_only = pytest.mark.skipif(TEST_DB == "postgres",
                                 reason="the event loop's lane is SQLite's (one writer)")


def _message(runtime, user: str, text: str, message_id: str | None = None) -> IncomingMessage:
    return IncomingMessage(platform="wecom", chat_id="g1", sender_id=user, text=text,
                           message_id=message_id or uuid.uuid4().hex, at=runtime.clock.now())


@sqlite_only
async def test_on_sqlite_a_loop_turns_check_ins_are_written_on_the_loop_in_one_commit(
        runtime, chat, commits, monkeypatch):
    seed(runtime.engine, _branch_of(30))
    chat.say("sec", "开始 主题党日", chat="g1")
    commits.clear()
    handed_over: list[int] = []
    writers = runtime.dispatcher._writers
    monkeypatch.setattr(runtime.dispatcher, "_writers",
                        lambda: handed_over.append(1) or writers())

    results = await asyncio.gather(*(runtime.dispatcher.handle_delivery(
        _check_in(runtime, f"u{i:02d}")) for i in range(30)))

    assert all("签到成功" in reply.text for reply, _ in results)
    assert len(commits) == 1  # committed before any of the 30 answers came back
    assert handed_over == []  # no writer thread was woken for them
    with Session(runtime.engine) as s:
        assert len(s.exec(select(Attendance)).all()) == 30
        assert len(s.exec(select(PointEntry)).all()) == 30
        assert len(s.exec(select(ProcessedMessage)).all()) == 30 + 1


@sqlite_only
async def test_the_event_loop_never_waits_for_a_write_lock_another_connection_holds(
        runtime, chat, settings):
    """A command in a shell (or the scheduler) holds SQLite's write lock: the check-ins wait
    for it on the writer thread, while the event loop goes on answering other requests."""
    import sqlite3
    import threading
    import time

    seed(runtime.engine, _branch_of(5))
    chat.say("sec", "开始 主题党日", chat="g1")
    held, release = threading.Event(), threading.Event()

    def hold_the_lock() -> None:
        conn = sqlite3.connect(settings.database_url.removeprefix("sqlite:///"),
                               isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")
        held.set()
        release.wait(10)
        conn.execute("ROLLBACK")
        conn.close()

    holder = threading.Thread(target=hold_the_lock)
    holder.start()
    assert held.wait(10)
    gaps: list[float] = []

    async def ticker() -> None:  # what every other request on the loop sees
        last = time.perf_counter()
        for _ in range(30):
            await asyncio.sleep(0.01)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    pending = [asyncio.ensure_future(runtime.dispatcher.handle(_check_in(runtime, f"u{i:02d}")))
               for i in range(5)]
    await ticker()  # 0.3 s with the lock held
    assert not any(p.done() for p in pending)  # not answered: nothing is committed yet
    release.set()
    replies = await asyncio.gather(*pending)
    holder.join()

    assert max(gaps) < 0.2, max(gaps)  # the loop was never stuck behind the lock
    assert all("签到成功" in r.text for r in replies)
    with Session(runtime.engine) as s:
        assert len(s.exec(select(Attendance)).all()) == 5


async def test_a_turn_with_a_declined_message_and_a_repeated_delivery(runtime, chat):
    """In one turn: check-ins, a 请假 the quick lane leaves to the general path, and one
    check-in delivered twice at once. Each gets its own answer, the repeat the first's."""
    seed(runtime.engine, _branch_of(4))
    chat.say("sec", "开始 主题党日", chat="g1")

    results = await asyncio.gather(
        runtime.dispatcher.handle_delivery(_message(runtime, "u00", "签到")),
        runtime.dispatcher.handle_delivery(_message(runtime, "u01", "请假 出差")),
        runtime.dispatcher.handle_delivery(_message(runtime, "u02", "签到", "twice")),
        runtime.dispatcher.handle_delivery(_message(runtime, "u02", "签到", "twice")),
        runtime.dispatcher.handle_delivery(_message(runtime, "u03", "签到")),
    )

    texts = [reply.text for reply, _ in results]
    assert "签到成功" in texts[0] and "签到成功" in texts[4]
    assert "请假" in texts[1] and "签到成功" not in texts[1]
    assert texts[2] == texts[3] and "签到成功" in texts[2]
    assert sorted(repeated for _, repeated in results[2:4]) == [False, True]
    with Session(runtime.engine) as s:
        rows = {(a.member_id, a.status) for a in s.exec(select(Attendance)).all()}
        assert len(rows) == 4 and sum(status == "leave" for _, status in rows) == 1
        assert len(s.exec(select(PointEntry)).all()) == 3


@sqlite_only
async def test_the_loops_connection_goes_back_to_the_pool_waiting_for_the_lock_again(
        runtime, chat, monkeypatch):
    """Only the event loop's own connection gives up at once on a held lock; once given
    back (the service stopping), whoever gets it from the pool waits, as every other does."""
    import threading

    seed(runtime.engine, _branch_of(2))
    chat.say("sec", "开始 主题党日", chat="g1")
    released_in: list[threading.Thread] = []
    release = runtime.dispatcher._release_loop_connection
    monkeypatch.setattr(runtime.dispatcher, "_release_loop_connection",
                        lambda conn: released_in.append(threading.current_thread())
                        or release(conn))
    assert "签到成功" in (await runtime.dispatcher.handle(_check_in(runtime, "u00"))).text
    assert runtime.engine.pool.checkedout() == 1  # the loop's own
    # As the service stops: from a worker thread, while the loop runs (and may be writing
    # on that connection), so the loop gives it back itself between two turns.
    await asyncio.to_thread(runtime.dispatcher.close)
    await asyncio.sleep(0)
    assert runtime.engine.pool.checkedout() == 0
    assert released_in == [threading.current_thread()]  # by the loop's own thread

    held = [runtime.engine.connect() for _ in range(3)]  # the pool's idle ones, and more
    try:
        settings = {(c.exec_driver_sql("PRAGMA busy_timeout").scalar(),
                     c.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar()) for c in held}
    finally:
        for c in held:
            c.close()
    assert settings == {(db.BUSY_TIMEOUT_MS, db.WAL_AUTOCHECKPOINT)}
    # And the next message opens the loop's connection again.
    assert "签到成功" in (await runtime.dispatcher.handle(_check_in(runtime, "u01"))).text


@sqlite_only
async def test_the_write_ahead_log_stays_short_though_the_loop_never_checkpoints(
        runtime, chat, settings):
    """The loop's connection leaves checkpoints to a worker thread (one on the loop held
    every request up); the log must still be copied back, or it grows with every check-in."""
    import os

    seed(runtime.engine, _branch_of(2000))
    chat.say("sec", "开始 主题党日", chat="g1")
    wal = settings.database_url.removeprefix("sqlite:///") + "-wal"

    async def check_in(users: range) -> None:
        replies = await asyncio.gather(*(runtime.dispatcher.handle(
            _check_in(runtime, f"u{i:02d}")) for i in users))
        assert all("签到成功" in r.text for r in replies)
        for _ in range(100):  # let a checkpoint that has begun finish (a worker thread)
            if runtime.dispatcher._loop_lane._checkpointing is None:
                break
            await asyncio.sleep(0.01)

    await check_in(range(400))
    first = os.path.getsize(wal)
    for start in range(400, 2000, 400):
        await check_in(range(start, start + 400))

    # Without checkpoints the log would hold all 2,000 (five times the first 400).
    assert os.path.getsize(wal) < 3 * first, (first, os.path.getsize(wal))
    with Session(runtime.engine) as s:
        assert len(s.exec(select(Attendance)).all()) == 2000


# --- PostgreSQL: the event loop sends a turn's check-ins in two pipelines ------------------

postgres_only = pytest.mark.skipif(TEST_DB != "postgres",
                                   reason="the pipeline lane is PostgreSQL's")


@postgres_only
async def test_on_postgresql_a_loop_turns_check_ins_are_sent_from_the_loop(
        runtime, chat, monkeypatch):
    """A turn's 30 check-ins: their 30 look-ups in one pipeline, their 30 writes in one
    transaction, from the event loop; no writer thread is woken, and each answer comes
    after the commit (the rows are there once the answers are)."""
    from .conftest import counting

    seed(runtime.engine, _branch_of(30))
    chat.say("sec", "开始 主题党日", chat="g1")
    handed_over: list[int] = []
    writers = runtime.dispatcher._writers
    monkeypatch.setattr(runtime.dispatcher, "_writers",
                        lambda: handed_over.append(1) or writers())

    messages = [_check_in(runtime, f"u{i:02d}") for i in range(30)]
    with counting(runtime.engine) as seen:
        results = await asyncio.gather(*(runtime.dispatcher.handle_delivery(message)
                                         for message in messages))

    assert all("签到成功" in reply.text and not repeated for reply, repeated in results)
    assert handed_over == []
    assert len(seen.statements) == 60, seen.statements  # a look-up and a write each
    # A retried delivery gets the reply stored with it, as the first delivery read it.
    again, repeated = await runtime.dispatcher.handle_delivery(messages[7])
    assert repeated and again == results[7][0]
    with Session(runtime.engine) as s:
        assert len(s.exec(select(Attendance)).all()) == 30
        entries = s.exec(select(PointEntry)).all()
        rules = s.exec(select(RuleSet).where(RuleSet.digest == runtime.rules.digest)).one()
        assert len(entries) == 30 and {e.ruleset_id for e in entries} == {rules.id}
        assert len(s.exec(select(ProcessedMessage)).all()) == 30 + 1
    runtime.dispatcher.close()


@postgres_only
async def test_a_pipeline_whose_writes_fail_is_redone_by_the_writer_threads(
        runtime, chat, monkeypatch):
    """Another replica stores 党员05's check-in between this turn's look-ups and its
    writes: the turn's transaction fails on the unique key and writes nothing, and every
    message of it is handled again on the writer threads, each counted once."""
    from bot import pglane

    seed(runtime.engine, _branch_of(12))
    chat.say("sec", "开始 主题党日", chat="g1")
    read = pglane.PipelineLane._read
    raced: list[int] = []

    async def another_replica_wins(self, conn, reads):
        rows = await read(self, conn, reads)
        if not raced:
            raced.append(1)
            with Session(runtime.engine) as s:
                member = s.exec(select(Member).where(Member.name == "党员05")).one()
                activity = s.exec(select(Activity)).one()
                s.add(Attendance(activity_id=activity.id, member_id=member.id,
                                 status="present", checked_in_at=runtime.clock.now(),
                                 platform="wecom", message_id="other-replica",
                                 updated_at=runtime.clock.now()))
                s.commit()
        return rows

    monkeypatch.setattr(pglane.PipelineLane, "_read", another_replica_wins)
    results = await asyncio.gather(*(runtime.dispatcher.handle_delivery(
        _check_in(runtime, f"u{i:02d}")) for i in range(12)))

    texts = [reply.text for reply, _ in results]
    assert raced == [1]
    assert "签到成功" not in texts[5] and "已" in texts[5], texts[5]
    assert all("签到成功" in text for i, text in enumerate(texts) if i != 5), texts
    with Session(runtime.engine) as s:
        assert len(s.exec(select(Attendance)).all()) == 12
        assert len(s.exec(select(PointEntry)).all()) == 11  # the other replica's has none here
        assert len(s.exec(select(ProcessedMessage)).all()) == 12 + 1
    runtime.dispatcher.close()


@postgres_only
async def test_a_lost_connection_loses_no_check_in_and_the_lane_connects_again(
        runtime, chat):
    """The server ends the lane's connection (a restart, a failover): the next turn's
    check-ins are answered all the same, by the writer threads, and the turn after that is
    back on the loop."""
    import psycopg

    from .conftest import _server

    seed(runtime.engine, _branch_of(9))
    chat.say("sec", "开始 主题党日", chat="g1")
    dispatcher = runtime.dispatcher

    async def turn(users: range) -> list[str]:
        return [(await f)[0].text for f in [dispatcher.deliver(_check_in(runtime, f"u{i:02d}"))
                                            for i in users]]

    assert all("签到成功" in text for text in await turn(range(3)))
    lane = dispatcher._pipeline_lane
    (state,) = lane._loops.values()
    pids = [conn.pgconn.backend_pid for conn in state.idle]
    assert pids
    with psycopg.connect(_server(runtime.settings.database_url), autocommit=True) as admin:
        for pid in pids:
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))

    assert all("签到成功" in text for text in await turn(range(3, 6)))
    assert all("签到成功" in text for text in await turn(range(6, 9)))
    assert state.idle and all(conn.pgconn.backend_pid not in pids for conn in state.idle)
    with Session(runtime.engine) as s:
        assert len(s.exec(select(Attendance)).all()) == 9
        assert len(s.exec(select(PointEntry)).all()) == 9
    dispatcher.close()


@postgres_only
async def test_a_message_whose_look_up_cannot_be_planned_holds_up_no_other(
        runtime, chat, monkeypatch):
    """Planning one message's look-up fails (a bug in a command's parsing, say): that
    message fails alone, as it would on the writer threads, and the rest of its turn is
    answered. Turn after turn, more such turns than the lane has connections: none hangs."""
    from bot import pglane

    seed(runtime.engine, _branch_of(20))
    chat.say("sec", "开始 主题党日", chat="g1")
    dispatcher = runtime.dispatcher
    plan = type(dispatcher).quick_plan

    def fails_for_one(self, message):
        if message.sender_id.endswith("0"):  # u00, u10: one in each turn
            raise RuntimeError("parser bug")
        return plan(self, message)

    monkeypatch.setattr(type(dispatcher), "quick_plan", fails_for_one)
    for turn in range(2 * pglane.CONNECTIONS):
        users = [f"u{(turn % 2) * 10 + i:02d}" for i in range(3)]
        futures = [dispatcher.deliver(_check_in(runtime, user)) for user in users]
        results = await asyncio.wait_for(
            asyncio.gather(*futures, return_exceptions=True), 10)
        assert isinstance(results[0], RuntimeError), results[0]
        assert all(not isinstance(r, BaseException) for r in results[1:]), results
    with Session(runtime.engine) as s:
        assert len(s.exec(select(Attendance)).all()) == 4
    dispatcher.close()


@postgres_only
async def test_a_turn_the_database_refuses_is_logged_without_the_rows_it_held(
        runtime, chat, caplog):
    """The server refuses a turn's writes (here a check of its own; a full disk, a
    constraint): before, the lane logged the server's words whole at INFO, and PostgreSQL's
    「Failing row contains (…)」 quoted the stored answer, 「党员01，签到成功 …」, and the
    account. What failed is logged, not the rows."""
    seed(runtime.engine, _branch_of(3))
    chat.say("sec", "开始 主题党日", chat="g1")
    with runtime.engine.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE processedmessage ADD CONSTRAINT no_answers "
                             "CHECK (reply IS NULL) NOT VALID")
    dispatcher = runtime.dispatcher
    caplog.set_level(logging.INFO, logger="djbot")
    futures = [dispatcher.deliver(_check_in(runtime, f"u{i:02d}")) for i in range(3)]
    await asyncio.wait_for(asyncio.gather(*futures, return_exceptions=True), 30)
    lane = [r.getMessage() for r in caplog.records if r.name == "djbot.pglane"]
    assert lane, caplog.text  # the turn gave way, and said so
    assert not [line for line in lane if "党员0" in line or "u0" in line], lane
    dispatcher.close()


@postgres_only
async def test_a_tracing_hook_sees_every_check_in_of_a_turn_end(runtime, chat):
    """The pipeline lane sends a turn's statements on connections of its own, past
    SQLAlchemy: an after_cursor_execute listener (a tracer's end of a span) never saw them.
    With one, the check-ins go by the writer threads, and the tracer sees each end."""
    seed(runtime.engine, _branch_of(3))
    chat.say("sec", "开始 主题党日", chat="g1")
    opened: list[str] = []
    closed: list[str] = []
    event.listen(runtime.engine, "before_cursor_execute",
                 lambda conn, cursor, sql, *rest: opened.append(sql))
    event.listen(runtime.engine, "after_cursor_execute",
                 lambda conn, cursor, sql, *rest: closed.append(sql))
    dispatcher = runtime.dispatcher
    futures = [dispatcher.deliver(_check_in(runtime, f"u{i:02d}")) for i in range(3)]
    results = await asyncio.wait_for(asyncio.gather(*futures), 30)
    dispatcher.close()

    assert all("签到成功" in reply.text for reply, _ in results), results
    assert sum("INSERT INTO pointentry" in sql for sql in closed) == 3, closed
    assert sorted(closed) == sorted(opened)  # the writer threads' interleave
    with Session(runtime.engine) as s:
        assert len(s.exec(select(PointEntry)).all()) == 3


def test_the_readings_kept_stay_small_however_long_the_texts(runtime, chat):
    """The kept readings are of a burst's few short words: long texts (a platform passes a
    pasted notice of thousands of characters) are read each time, not held by the
    hundred."""
    from bot.dispatcher import READINGS_KEPT

    seed(runtime.engine, _branch_of(2))
    chat.say("sec", "开始 主题党日", chat="g1")
    dispatcher = runtime.dispatcher
    for n in range(READINGS_KEPT // 2):
        dispatcher.quick_plan(_message(runtime, "u01", f"{n} " + "通知" * 2000))
    held = sum(len(text) for text, _ in dispatcher._readings)
    assert held <= READINGS_KEPT * 100, held
    assert "签到成功" in chat.say("u00", "签到", chat="g1").text


async def test_a_tracer_that_comments_each_statement_has_its_comment_on_the_check_ins(
        runtime, chat):
    """A tracer that marks each statement with a comment (sqlcommenter: a
    before_cursor_execute listener with retval=True, the trace's id in the SQL) had its
    comment on the general path's statements and dropped from the quick lane's: the
    check-ins' look-ups and INSERTs reached the database unmarked."""
    seed(runtime.engine, _branch_of(3))
    chat.say("sec", "开始 主题党日", chat="g1")
    marked: list[str] = []

    def comment(conn, cursor, sql, parameters, context, executemany):
        marked.append(sql)
        return sql + " /* traceparent='00-djbot' */", parameters

    sent: list[str] = []
    event.listen(runtime.engine, "before_cursor_execute", comment, retval=True)
    if TEST_DB == "postgres":  # the pipeline lane's statements: what psycopg was given
        import psycopg
        real = psycopg.AsyncConnection.execute
        original = psycopg.AsyncCursor.execute

        async def cursor_execute(self, query, *args, **kwargs):
            sent.append(query)
            return await original(self, query, *args, **kwargs)

        async def conn_execute(self, query, *args, **kwargs):
            sent.append(query)
            return await real(self, query, *args, **kwargs)

        psycopg.AsyncCursor.execute = cursor_execute
        psycopg.AsyncConnection.execute = conn_execute
    else:
        runtime.engine.dispose()
        event.listen(runtime.engine, "connect",
                     lambda dbapi, record: dbapi.set_trace_callback(sent.append))
    try:
        results = await asyncio.gather(*(runtime.dispatcher.handle_delivery(
            _check_in(runtime, f"u{i:02d}")) for i in range(3)))
    finally:
        if TEST_DB == "postgres":
            psycopg.AsyncCursor.execute = original
            psycopg.AsyncConnection.execute = real
        runtime.dispatcher.close()
    assert all("签到成功" in reply.text for reply, _ in results), results
    inserts = [sql for sql in sent if "INSERT INTO attendance" in sql]
    assert len(inserts) >= 1, sent
    assert all("traceparent='00-djbot'" in sql for sql in inserts), inserts
