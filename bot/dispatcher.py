"""The platform-neutral core: IncomingMessage in, Reply out, one transaction per message.

The order of checks is fixed and each has its own reply: a repeated delivery gets the
stored reply; a stranger, an unbound group, a wrong role, a foreign branch and bad
arguments each get a short Chinese answer that says what to do, and change nothing.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import partial
from typing import Any, TypeVar

from sqlalchemy import bindparam, insert
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import Session, select

from bot import metrics
from bot.clock import Clock
from bot.config import Settings
from bot.context import Ctx, QuickCtx
from bot.core import IncomingMessage, NotAdmitted, Reply
from bot.domain.rules import Rules
from bot.domain.text import PARTICLES, SEPARATORS, clean, ends_in_question, pleasantry
from bot.pglane import PipelineLane
from bot.registry import LEADERS, MANAGERS, Command, CommandRegistry, ParseEnv, shorten, usage_text
from bot.writer import LockHeld, LoopLane, MessageWriter
from storage import org
from storage.db import BUSY_TIMEOUT_MS, WAL_AUTOCHECKPOINT
from storage.errors import Conflict
from storage.models import (
    ROLE_LABELS,
    Branch,
    ChatBinding,
    Identity,
    Member,
    ProcessedMessage,
    Role,
)
from storage.prepared import Prepared, Writes, shown, straight_to_cursor

log = logging.getLogger("djbot.dispatcher")
T = TypeVar("T")

# The statements every message runs, built once: constructing a statement costs more
# CPU than SQLite takes to run it. Values are bound per message.
STORED_REPLY = select(ProcessedMessage.reply).where(
    ProcessedMessage.platform == bindparam("platform"),
    ProcessedMessage.message_id == bindparam("message_id"),
    ProcessedMessage.reply.is_not(None),
)
MEMBER_BY_IDENTITY = (
    select(Member)
    .join(Identity, Identity.member_id == Member.id)
    .where(
        Identity.platform == bindparam("platform"),
        Identity.user_id == bindparam("user_id"),
        Member.active == True,
    )
)
BINDING_WITH_BRANCH = (
    select(ChatBinding, Branch)
    .outerjoin(Branch, Branch.id == ChatBinding.branch_id)
    .where(
        ChatBinding.platform == bindparam("platform"),
        ChatBinding.chat_id == bindparam("chat_id"),
    )
)
RECORD_MESSAGE = insert(ProcessedMessage.__table__)
# The record for the quick lane, run on the driver's cursor (storage.prepared).
QUICK_RECORD_MESSAGE = Prepared(RECORD_MESSAGE, keys=("platform", "message_id", "chat_id",
                                                      "sender_id", "received_at", "reply"))

_UNREAD = object()  # a text the quick lane has not read yet (None: read, and no lane)


@dataclass(frozen=True, slots=True)
class QuickPlan:
    """A message's quick lane before its read: the command, the time it is handled at, and
    the statement with its values (QuickLane.read)."""

    command: Command
    now: datetime
    statement: Prepared
    params: dict[str, Any]


# No command needs more; a longer message is refused before it is parsed or echoed.
MAX_MESSAGE_CHARS = 1000

# How many texts' readings for the quick lane are kept (Dispatcher._readings): a burst is
# the same few words (签到, 签到了, 到) again and again. Past it they are all read anew.
READINGS_KEPT = 256
# And only of texts this short (签到 with a mention and some marks): a longer one, read
# anew each time, would have the readings hold up to READINGS_KEPT message bodies.
READ_TEXT_KEPT = 40

# A racing duplicate (same message id, or the same member checking in from two
# replicas) loses on a unique constraint; the retry then sees the winner's row.
MAX_ATTEMPTS = 4

# Writer threads on a server database: concurrent transactions, each its own connection.
SERVER_WRITERS = 8


@dataclass
class Dispatcher:
    engine: Engine
    settings: Settings
    clock: Clock
    registry: CommandRegistry
    rules: Rules

    # Off only to compare the two lanes (tests/test_checkin_quick.py).
    quick_lane: bool = True
    # The quick lane tried on the event loop before the writer threads: SQLite's on the
    # loop's own connection (bot.writer.LoopLane), PostgreSQL's on async connections in
    # pipeline mode (bot.pglane).
    on_loop: bool = True
    _writer: MessageWriter | None = field(default=None, init=False, repr=False)
    _loop_lane: LoopLane | None = field(default=None, init=False, repr=False)
    _pipeline_lane: PipelineLane | None = field(default=None, init=False, repr=False)
    # The quick lane's reading of a text on a day: its command, or None for no lane.
    _readings: dict[tuple[str, date], Command | None] = field(default_factory=dict,
                                                             init=False, repr=False)

    async def handle(self, message: IncomingMessage) -> Reply:
        """Handle one message off the event loop; the reply is committed before it returns."""
        return (await self.handle_delivery(message))[0]

    async def handle_delivery(self, message: IncomingMessage) -> tuple[Reply, bool]:
        """Like handle, plus whether this delivery was a repeat answered from the stored reply.

        The message waits in the writer's queue: SQLite's one writer (several threads on
        PostgreSQL), and quick-lane check-ins that arrive together commit together."""
        return await self.deliver(message)

    def deliver(self, message: IncomingMessage) -> asyncio.Future:
        """handle_delivery's result as a future, without a task: a retry can wait on it too."""
        if self.on_loop and self.quick_lane and self.engine.dialect.name == "sqlite":
            if self._loop_lane is None:
                self._loop_lane = LoopLane(
                    self.quick_now, self._writers,
                    lambda: self._writer is not None and self._writer.busy,
                    connect=self._connect_for_loop, release=self._release_loop_connection,
                    checkpoint=self._checkpoint)
            return self._loop_lane.enqueue(message)
        if self.on_loop and self.quick_lane and self.engine.dialect.driver == "psycopg":
            if self._pipeline_lane is None:
                self._pipeline_lane = PipelineLane(
                    connect_args=self.engine.dialect.create_connect_args(self.engine.url)[1],
                    plan=self._pipeline_plan, answer=self._pipeline_answer,
                    finish=self._pipeline_finish,
                    fallback=lambda message: self._writers().enqueue(message),
                    observe=self._observe)
            return self._pipeline_lane.enqueue(message)
        return self._writers().enqueue(message)

    # PostgreSQL's quick lane on the event loop (bot.pglane), around quick_plan and
    # quick_answer, as quick runs them on a connection.

    def _pipeline_plan(self, message: IncomingMessage
                       ) -> tuple[tuple[str, Any], tuple[QuickPlan, float]] | None:
        started = time.perf_counter()
        plan = self.quick_plan(message)
        if plan is None:
            return None
        return plan.statement.bind(self.engine.dialect, plan.params), (plan, started)

    def _pipeline_answer(self, message: IncomingMessage, planned: tuple[QuickPlan, float],
                         row: tuple | None) -> tuple[Any, str, Any] | None:
        plan, started = planned
        if row is not None:
            row = plan.statement.convert(self.engine.dialect, [row])[0]
        writes = Writes(None, dialect=self.engine.dialect)
        answered = self.quick_answer(message, plan, row, writes)
        if answered is None:
            return None
        return (answered, started), *writes.statement()

    def _pipeline_finish(self, message: IncomingMessage,
                         done: tuple[tuple[Reply, str], float]) -> tuple[Reply, bool]:
        (reply, command), started = done
        self._handled(message, reply, command, False, started)
        return reply, False

    def _observe(self, sql: str, parameters: Any) -> tuple[str, Any]:
        """A statement the pipeline lane sends, shown to the engine's listeners as the
        driver's cursor shows them the others (storage.prepared.shown): what to send."""
        if self.engine.dispatch.before_cursor_execute:
            return shown(self.engine.dispatch.before_cursor_execute, None, None, sql, parameters)
        return sql, parameters

    def write(self, job: Callable[..., T], *args: Any) -> Awaitable[T]:
        """Run a write that follows a message (queueing its reply) on the writer threads."""
        return self._writers().call(partial(job, *args))

    def _writers(self) -> MessageWriter:
        if self._writer is None:
            threads = 1 if self.engine.dialect.name == "sqlite" else SERVER_WRITERS
            self._writer = MessageWriter(self.handle_batch, threads=threads)
        return self._writer

    def close(self) -> None:
        """Let the writer threads finish what is queued and stop (the service's shutdown)."""
        if self._writer is not None:
            self._writer.close()
        if self._loop_lane is not None:
            self._loop_lane.close()
        if self._pipeline_lane is not None:
            self._pipeline_lane.close()

    def handle_sync(self, message: IncomingMessage) -> Reply:
        return self.handle_sync_delivery(message)[0]

    def handle_batch(self, messages: list[IncomingMessage],
                     contexts: list[contextvars.Context] | None = None,
                     ) -> list[tuple[Reply, bool] | BaseException]:
        """Handle messages taken from the queue together: the quick lane's in one transaction
        (group commit: one COMMIT for all, each answered only after it), the others one by
        one. Should anything in the shared transaction fail (a unique key another replica
        won, a busy database), it is rolled back whole and every message goes alone.
        `contexts` are the senders' (their request ids in the log lines), one per message."""
        contexts = contexts or [contextvars.copy_context() for _ in messages]
        started = time.perf_counter()
        done: dict[int, tuple[Reply, str]] = {}
        declined: set[int] = set()  # the quick lane has said no: straight to the general path
        if self.quick_lane and len(messages) > 1:
            try:
                with self.engine.begin() as conn:
                    for index, message in enumerate(messages):
                        answered = self.quick(conn, message)
                        if answered is not None:
                            done[index] = answered
                        else:
                            declined.add(index)
            except Exception as exc:  # noqa: BLE001 - every message is tried again alone
                log.info("batch of %d rolled back (%s); handling each alone", len(messages),
                         type(exc).__name__)
                done, declined = {}, set()
        results: list[tuple[Reply, bool] | BaseException] = []
        for index, message in enumerate(messages):
            if index in done:
                reply, command = done[index]
                contexts[index].run(self._handled, message, reply, command, False, started)
                results.append((reply, False))
                continue
            try:
                results.append(contexts[index].run(self.handle_sync_delivery, message,
                                                   quick=index not in declined))
            except Exception as exc:  # noqa: BLE001 - handed to the message's own caller
                results.append(exc)
        return results

    def quick_now(self, conn: Connection, messages: list[IncomingMessage],
                  contexts: list[contextvars.Context]) -> list[tuple[Reply, bool] | None]:
        """SQLite, on the event loop: the messages' quick lanes in one transaction on `conn`,
        a connection that does not wait for the write lock (see _connect_for_loop). Each
        result is the message's answer, committed, or None when the writer thread must
        handle it: the lane declined it, or the batch was rolled back (a unique key another
        delivery won). Raises LockHeld when another writer held the lock: nothing was done,
        and the loop may try again a moment later."""
        started = time.perf_counter()
        try:
            with conn.begin():
                answered = [self.quick(conn, message) for message in messages]
        except Exception as exc:  # the writer thread handles each instead
            if isinstance(exc, OperationalError) and any(
                    word in str(exc).lower() for word in ("locked", "busy")):
                raise LockHeld from exc
            log.debug("the event loop's batch of %d gave way (%s)", len(messages),
                      type(exc).__name__)
            return [None] * len(messages)
        results: list[tuple[Reply, bool] | None] = []
        for message, context, done in zip(messages, contexts, answered, strict=True):
            if done is None:
                results.append(None)
                continue
            reply, command = done
            context.run(self._handled, message, reply, command, False, started)
            results.append((reply, False))
        return results

    def _connect_for_loop(self) -> Connection:
        """The event loop's own SQLite connection: out of the pool for as long as the loop
        runs, with no busy timeout, so "database is locked" comes at once, and no automatic
        checkpoint (LoopLane has one run in a worker thread instead)."""
        conn = self.engine.connect()
        driver = conn.connection.dbapi_connection
        driver.execute("PRAGMA busy_timeout=0")  # type: ignore[union-attr]
        driver.execute("PRAGMA wal_autocheckpoint=0")  # type: ignore[union-attr]
        return conn

    def _release_loop_connection(self, conn: Connection) -> None:
        if not conn.closed and not conn.invalidated:  # back to the pool as it came
            driver = conn.connection.dbapi_connection
            driver.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")  # type: ignore[union-attr]
            driver.execute(f"PRAGMA wal_autocheckpoint={WAL_AUTOCHECKPOINT}")  # type: ignore[union-attr]
        conn.close()

    def _checkpoint(self) -> None:
        """Copy SQLite's write-ahead log back into the database, in a worker thread.

        RESTART, so that the next write starts the log from its beginning: after PASSIVE
        ones the log was copied but kept growing (measured: 13 MB for 2,000 check-ins). It
        holds writers off while it copies, and would while it waits for readers, so it does
        not wait: with a writer or a reader busy it copies what it can (as PASSIVE does) and
        the next one, CHECKPOINT_EVERY messages later, tries again."""
        with self.engine.connect() as conn:
            driver = conn.connection.dbapi_connection
            driver.execute("PRAGMA busy_timeout=0")  # type: ignore[union-attr]
            try:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(RESTART)").all()
            finally:
                driver.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")  # type: ignore[union-attr]

    def quick(self, conn: Connection, message: IncomingMessage) -> tuple[Reply, str] | None:
        """The message through its command's quick lane, on `conn` (an open transaction, or
        autocommit: see _quick_alone): its reply, recorded with it, and the command's name;
        None when the command has no lane or the lane declines (the general path then
        answers). Never a repeat.

        No read of a stored reply first: a retried delivery fails on the record's unique
        (platform, message id), which rolls the transaction back, and the general path then
        answers it from the stored reply (a retry of a 签到 is declined sooner: its row is
        there). Retries are rare; the read would cost every check-in a round trip. The
        adapter's admission check (a DingTalk header pair) is claimed the same way: a pair
        seen before fails the writes, and the general path tells a retry from a replay."""
        plan = self.quick_plan(message)
        if plan is None:
            return None
        row = plan.statement.first(conn, plan.params, direct=True)  # quick_plan asked
        writes = Writes(conn, direct=True)
        answered = self.quick_answer(message, plan, row, writes)
        if answered is not None:
            writes.flush()
        return answered

    def quick_plan(self, message: IncomingMessage) -> QuickPlan | None:
        """What the message's quick lane reads (its command's one statement), or None when
        it has none: a private chat, no command with a lane, arguments the lane can't take."""
        if message.is_private:
            return None
        now = self.clock.now()
        today = now.astimezone(self.settings.tz).date()
        # What the text says depends on nothing else (the registry is built once), so a
        # burst's 签到 is read once a day, not cleaned, matched and parsed each time: that
        # was a quarter of the lane's own Python.
        key = (message.text, today)
        command = self._readings.get(key, _UNREAD)
        if command is _UNREAD:
            command = self._quick_command(message.text, today)
            if len(message.text) <= READ_TEXT_KEPT:
                if len(self._readings) >= READINGS_KEPT:
                    self._readings.clear()
                self._readings[key] = command
        if command is None:
            return None
        if not straight_to_cursor(self.engine):
            # A listener the lane's statements would pass by on the driver's cursor (a
            # tracer's after_cursor_execute, a handle_error): the general path shows them.
            return None
        statement, params = command.quick.read(message, now)
        return QuickPlan(command, now, statement, params)

    def _quick_command(self, said: str, today: date) -> Command | None:
        """The command whose quick lane may take a message that says `said` on `today`."""
        text = clean(said)
        if not text or len(text) > MAX_MESSAGE_CHARS:
            return None
        command, arg_text = self.registry.match(text)
        if command is None or command.quick is None:
            return None
        if command.ignores and text.endswith(command.ignored_endings):
            return None  # 签到 夜学: which activity was named is the general path's to check
        if command.for_another is not None and "@" in text:
            # 签到 @张强 names whom (the general path refuses it). The bot's own @ is gone by
            # now (clean), so this is rare: one named, or a bot by a name djbot doesn't know.
            return None
        _, problem = command.parse(arg_text, ParseEnv(today=today))
        if problem is not None:
            return None
        return command

    def quick_answer(self, message: IncomingMessage, plan: QuickPlan, row: tuple | None,
                     writes: Writes) -> tuple[Reply, str] | None:
        """The lane's answer from its statement's first row (converted; None: no row), its
        writes and the message's record queued in `writes`; None when the lane declines
        (then nothing is queued that matters: the caller drops `writes`)."""
        command = plan.command
        assert command.quick is not None
        if message.admit is not None:
            message.admit.claim(writes)
        reply = command.quick.answer(QuickCtx(message=message, writes=writes, now=plan.now,
                                              settings=self.settings, rules=self.rules), row)
        if reply is None:
            return None
        if message.queue_reply is not None:
            message.queue_reply(writes, reply)
        writes.add(QUICK_RECORD_MESSAGE, {
            "platform": message.platform, "message_id": message.message_id,
            "chat_id": message.chat_id, "sender_id": message.sender_id,
            "received_at": plan.now, "reply": reply.to_dict()})
        return reply, command.name

    def _quick_alone(self, message: IncomingMessage) -> tuple[Reply, str] | None:
        """The message's quick lane, with nothing else in its transaction."""
        if self.engine.dialect.name != "sqlite":
            # On a server database everything the lane writes (a DingTalk header pair
            # included) goes in one statement (storage.prepared.Writes), which is atomic
            # alone: no BEGIN and COMMIT, two of a lone check-in's five round trips. Its
            # look-up reads committed rows as before (READ COMMITTED takes a new snapshot
            # for every statement anyway).
            with self.engine.connect() as conn:
                conn.execution_options(isolation_level="AUTOCOMMIT")
                return self.quick(conn, message)
        with self.engine.begin() as conn:
            return self.quick(conn, message)

    def handle_sync_delivery(self, message: IncomingMessage, *,
                             quick: bool = True) -> tuple[Reply, bool]:
        started = time.perf_counter()
        if quick and self.quick_lane:
            try:
                answered = self._quick_alone(message)
            except (IntegrityError, OperationalError) as exc:  # the general path retries
                log.info("quick lane gave way on message %s (%s)", message.message_id,
                         type(exc).__name__)
                answered = None
            if answered is not None:
                reply, command = answered
                self._handled(message, reply, command, False, started)
                return reply, False
        for attempt in range(MAX_ATTEMPTS):
            try:
                reply, command, repeated = self._handle_once(message)
                break
            except (IntegrityError, Conflict):
                log.info("conflict on message %s, retrying (%d)", message.message_id, attempt + 1)
            except OperationalError as exc:  # SQLite "database is locked" past busy_timeout
                if "locked" not in str(exc).lower() or attempt == MAX_ATTEMPTS - 1:
                    raise
                log.warning("database busy on message %s, retrying", message.message_id)
        else:  # pragma: no cover - only after repeated conflicts
            raise RuntimeError(f"message {message.message_id} kept conflicting")
        self._handled(message, reply, command, repeated, started)
        return reply, repeated

    def _handled(self, message: IncomingMessage, reply: Reply, command: str | None,
                 repeated: bool, started: float) -> None:
        elapsed = time.perf_counter() - started
        metrics.command_latency(command or "-", elapsed)
        if log.isEnabledFor(logging.INFO):  # the record's extras cost more than the check
            log.info("handled", extra={
                "platform": message.platform,
                "command": command or "-",
                "outcome": "repeat" if repeated else ("error" if reply.is_error else "ok"),
                "ms": round(elapsed * 1000, 1),
            })

    def _handle_once(self, message: IncomingMessage) -> tuple[Reply, str | None, bool]:
        with Session(self.engine, expire_on_commit=False) as session:
            _admit(message, session.connection())
            stored = session.execute(
                STORED_REPLY, {"platform": message.platform, "message_id": message.message_id}
            ).scalar()
            if stored is not None:
                return Reply.from_dict(stored), None, True

            reply, command = self._run(session, message)
            if reply.is_error:
                # Whatever the handler did is undone; only the answer is remembered, and
                # with it the admission of the message (a pair stays tied to its body).
                session.rollback()
                _admit(message, session.connection())
            if message.queue_reply is not None:
                writes = Writes(session.connection())
                message.queue_reply(writes, reply)
                writes.flush()
            # Flush what the handler added first, so the append-only record of the
            # message can go in as one plain INSERT. A racing delivery of the same
            # message id fails on it, on (platform, message_id), and is retried.
            session.flush()
            session.execute(
                RECORD_MESSAGE,
                {
                    "platform": message.platform,
                    "message_id": message.message_id,
                    "chat_id": message.chat_id,
                    "sender_id": message.sender_id,
                    "received_at": self.clock.now(),
                    "reply": reply.to_dict(),
                },
            )
            session.commit()
            return reply, command, False

    def _run(self, session: Session, message: IncomingMessage) -> tuple[Reply, str | None]:
        text = clean(message.text)
        member = session.exec(
            MEMBER_BY_IDENTITY, params={"platform": message.platform, "user_id": message.sender_id}
        ).first()
        if member is None and message.platform in org.CASELESS_IDS:
            # The roster's zhangsan is WeCom's ZhangSan: one account, spelt otherwise.
            member = org.member_by_identity(session, platform=message.platform,
                                            user_id=message.sender_id)
        binding: ChatBinding | None = None
        branch: Branch | None = None
        if not message.is_private:
            # The chat's binding and its branch in one round trip.
            found = session.exec(
                BINDING_WITH_BRANCH, params={"platform": message.platform, "chat_id": message.chat_id}
            ).first()
            if found is not None:
                binding, branch = found

        if len(text) > MAX_MESSAGE_CHARS:
            return Reply.error(f"消息太长：最多 {MAX_MESSAGE_CHARS} 字，这条有 {len(text)} 字。"
                               "请精简后重新发送。"), None
        if not text:
            text = "帮助"
        env = ParseEnv(
            today=self.clock.now().astimezone(self.settings.tz).date(),
            branches=lambda: [b.name for b in org.branches(session)],
        )
        command, arg_text = self.registry.meant(text, env, asked=ends_in_question(message.text))
        if member is not None and (command is None or (command.for_another and (
                arg_text or "@" in text))):
            signed = self.registry.signed_by(text)
            if signed is not None and signed[1] == member.name:
                command, arg_text = signed[0], ""  # 李明签到 from 李明, as in a 接龙
            elif signed is not None and org.members_by_name_or_staff_no(session, text=signed[1]):
                assert signed[0].for_another is not None
                return Reply.error(signed[0].for_another.format(name=signed[1])), signed[0].name
        if command is None:
            said = pleasantry(text)
            if said is not None:  # 收到, 谢谢, 你好: not a slip for 签到
                return Reply(said), None
            meant = self.registry.suggest(text)
            if meant is None:
                # 收到，会准时参加: the acknowledgement answered, what follows it is no command.
                head, *tail = SEPARATORS.split(text, maxsplit=1)
                said = pleasantry(head) if tail and tail[0] else None
                if said is not None:
                    return Reply(said), None
            return Reply.error(self._unknown(text, meant)), None

        if command.needs_member and member is None:
            return Reply.error(
                "你还不在党员名册中，暂时不能使用这个指令。"
                "请联系支部书记把你加入名册（需要你的账号 ID："
                f"{message.sender_id}）。"
            ), command.name
        if command.where == "group" and message.is_private:
            return Reply.error(f"「{command.name}」请在支部群里发送。"), command.name
        if command.where == "private" and not message.is_private:
            return Reply.error(f"「{command.name}」请私聊我发送，不要在群里发。"), command.name
        if not message.is_private and command.needs_binding and binding is None:
            return Reply.error(
                "本群还没有绑定支部。请支部书记在群里发送「绑定 支部名称」。"
            ), command.name

        role = Role(member.role) if member else None
        if command.roles is not None and role not in command.roles and command.others_mean:
            command = self.registry.get(command.others_mean) or command
        if command.roles is not None and role not in command.roles:
            allowed = "、".join(ROLE_LABELS[r] for r in sorted(command.roles, key=_role_order))
            return Reply.error(f"「{command.name}」仅限{allowed}使用。"), command.name

        bureau_wide = False
        if binding is not None:
            bureau_wide = binding.is_leaders
        elif message.is_private and member is not None:
            bureau_wide = role in LEADERS
            if member.branch_id is not None:
                branch = session.get(Branch, member.branch_id)

        if (
            command.roles is not None
            and command.roles <= MANAGERS | LEADERS
            and role in (Role.SECRETARY, Role.COMMITTEE)
            and branch is not None
            and member is not None
            and member.branch_id != branch.id
        ):
            return Reply.error(f"你只能管理本支部的事务，本群属于「{branch.name}」。"), command.name

        args, problem = command.parse(arg_text, env)
        if problem is not None:
            return Reply.error(usage_text(command, problem)), command.name

        ctx = Ctx(
            message=message,
            session=session,
            clock=self.clock,
            settings=self.settings,
            rules=self.rules,
            registry=self.registry,
            member=member,
            branch=branch,
            binding=binding,
            bureau_wide=bureau_wide,
        )
        return command.handler(ctx, args), command.name


    def _unknown(self, text: str, meant: str | None) -> str:
        """The answer to words that are no command; `meant`, the registry's suggestion."""
        head = shorten(text.split(" ", 1)[0], 12)
        if _ANOTHERS_POINTS.search(text):
            # 查一下周强的积分 was answered with the asker's own, as if asked.
            return ("只能查看自己的积分：发送「积分」或「积分明细」。"
                    "本支部的排名请发送「排行榜」。")
        first = SEPARATORS.split(text, maxsplit=1)[0]
        asked = self.registry.get(first) or self.registry.get(_ASKED_END.sub("", first))
        if asked is not None and asked.acts:
            # 补签 张强 可以吗, 结束？: a command asked about, which a question never sets off;
            # it exists, and is told how it is given.
            return (f"像是在问，这次没有执行「{asked.name}」。需要时请直接发送，"
                    f"例如：{asked.example or asked.name}")
        if meant is not None:
            return f"没有「{head}」这个指令。你是想发送「{meant}」吗？发送「帮助」查看全部指令。"
        return f"没有「{head}」这个指令。发送「帮助」查看可用指令。"


# How a command asked about ends (结束了吗, 确认缺席了么): what is left is the command.
_ASKED_END = re.compile(f"(?:{PARTICLES.pattern})$")
# Another's points asked for (周强的积分, 看看李明的积分明细): each member sees their own.
_ANOTHERS_POINTS = re.compile(r"(?<!我)(?<!自己)的(?:积分|积分明细|得分|分数)")


def _admit(message: IncomingMessage, conn: Connection) -> None:
    if message.admit is not None and not message.admit(conn):
        raise NotAdmitted(message.message_id)


def _role_order(role: Role) -> int:
    return list(Role).index(role)
