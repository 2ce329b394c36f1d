"""The outbox delivery worker: claim due rows, hand them to the platform's Sender, record.

Guarantees (docs/schedules.md says the same for operators):
- A row is claimed by one worker at a time: `FOR UPDATE SKIP LOCKED` on PostgreSQL, and
  on both databases a compare-and-set UPDATE, so SQLite's single writer is safe too.
- A worker that dies after claiming leaves the row `sending`; after CLAIM_TIMEOUT any
  worker reclaims it. If it died after the platform accepted, that is the one extra copy
  at-least-once delivery allows. A service that stops gives back the rows it has not
  tried (OutboxWorker.stopping), so they need not wait for the claim timeout.
- A failure is retried with exponential backoff and jitter (BASE_DELAY doubling, capped
  at MAX_DELAY); after MAX_ATTEMPTS tries the row is `dead` and `djbot outbox` lists it.
  A platform's "wait N seconds" (retry_after) is obeyed and uses up no try.
- At most RATE_LIMITS[target_kind] messages a minute go to one destination (group robots
  take 20 a minute; WeCom allows 30 a minute to one member), counted from the table so
  every replica sees the same count, and claims made one at a time (_claim_alone) so that
  no two count the same minute's room. A destination at its rate is left out of the claim
  itself, so a backlog to one group never hides the rows behind it (the leaders' summary).
- A destination whose send failed and may succeed later is held for HOLD (or as long as
  the platform said to wait): its other rows are not tried meanwhile, and those already
  claimed with it go back untried, their try given back. An unreachable platform then
  costs a worker one failing try per destination and beat, not one per queued message.
- A row with nowhere to go is dead at its first try. A sender may have a row wait for its
  channel without using up a try, but only so long (WeCom's long connection: an hour,
  bot.adapters.wecom.senders.LONGCONN_PATIENCE); `retry` starts that wait afresh.
- A message queued once per chat (a reminder to each of a branch's groups) goes through a
  channel those chats share (the branch's one push webhook) once: the row with the lowest
  id carries it, and the others are marked sent once it is sent (they wait while it is
  pending, fail with it if it is given up, and are withdrawn with it, for its reason). A
  chat with a destination of its own gets its own copy. Which rows share a channel, their sender says (SharesChannels).
- A call to check in (a group's notice or start notice, a nudge) that waited past the
  end of check-in, or a nudge past its member's 签到 or leave, is withdrawn when due
  (storage.attendance.withdraw_overtaken_calls), not sent. So is a scheduled message long
  past its time (OUTLIVES): a platform with no sender (not enabled) never has its rows
  claimed, and they would otherwise all go when it is enabled again. One withdrawn so
  whose claim had timed out may still be in its worker's hands: if that send goes, the
  row is recorded sent, as one withdrawn while being sent is (withdraw_reason).
- What a try leaves to do is stored with its outcome, in one transaction: the row's payload
  (the parts and people already reached, so the next try sends only the rest) and any
  follow-up rows (people the platform held back, split off to go later). A restart between
  tries therefore neither repeats nor loses a part. A follow-up's key is its message's
  key with the row it left and its first recipient (storage.outbox.follow_up_key): what
  withdraws a message's rows withdraws it too, and it is written once.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import socket
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from typing import Any

from sqlalchemy import and_, case, false, func, or_, tuple_, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot import metrics
from bot.clock import Clock
from bot.scheduling.plan import STILL_USEFUL
from bot.sender import WAITING_SINCE, Outbound, Sender, SendResult, SharesChannels
from storage import attendance, outbox
from storage.db import session_scope
from storage.models import OutboxMessage

log = logging.getLogger("djbot.outbox")

PENDING, SENDING, SENT, DEAD = "pending", "sending", "sent", "dead"
WITHDRAWN = "withdrawn"  # never to be sent: what it said is no longer so
MAX_ATTEMPTS = 6  # 30 s, 1, 2, 4, 8 min between tries: about a quarter of an hour in all
BASE_DELAY = timedelta(seconds=30)
MAX_DELAY = timedelta(hours=1)
CLAIM_TIMEOUT = timedelta(minutes=5)
RATE_WINDOW = timedelta(minutes=1)
RATE_LIMITS = {"group": 20, "leaders": 20, "user": 30}
# Shorter than a beat of the scheduler (tick_seconds, 30): the next beat tries again.
HOLD = timedelta(seconds=15)

Destination = tuple[str, str, str]  # (platform, target_kind, target)

# Messages djbot starts on a schedule, by what a retry that reaches quiet hours does with
# them: a group's notice of the moment and a nudge are dropped (next morning they are
# noise), what someone reads to act on waits for the morning. Replies are not listed: the
# member who wrote at night is awake.
NIGHT_DROPPED = (outbox.GROUP_BEFORE, outbox.START, outbox.NUDGE)
DAY_BEFORE = outbox.DAY_BEFORE
NIGHT_HELD = (DAY_BEFORE, outbox.MISSING, outbox.MEETINGS_DUE, outbox.PIONEER_SHORTLIST,
              outbox.LEADERBOARD, outbox.SUMMARY, outbox.SUMMARY_PICTURE, outbox.LEAVE_LAPSED,
              outbox.LEAVE_MOVED)
AT_NIGHT = "at_night"  # in a payload: a reminder of an activity set inside quiet hours
OUTLIVED = "活动当天才能送达，「明日」已不对，不再发送"
# A scheduled message, or a reply asked for in a group, is of use at its time: one still
# not sent long after it (its platform had no sender, being disabled in the config, or
# every replica was down) is withdrawn, not sent days late with all the others when the
# platform is enabled. What the secretary or the leaders read to act on lasts as long as
# the schedule would still send it late (plan.STILL_USEFUL), the rest a day. What someone
# must be told whenever it reaches them (a leave to decide, decided or lapsed) waits;
# `djbot doctor` names what waits.
USEFUL_LIFE = timedelta(days=1)
OUTLIVES: dict[str, timedelta] = {
    **dict.fromkeys(NIGHT_DROPPED + (DAY_BEFORE, outbox.POINTS_LEDGER, outbox.OWN_LEAVE,
                                     outbox.OWN_STUDY), USEFUL_LIFE),
    **STILL_USEFUL}
# One condition a life, not one a kind, in drop_stale's UPDATE.
_KINDS_BY_LIFE = {life: [kind for kind, its in OUTLIVES.items() if its == life]
                  for life in set(OUTLIVES.values())}
STALE = "过了发送时间很久仍未发出（平台未启用或服务停止），已过时，不再发送"


def rate_limit(target_kind: str) -> int:
    """Messages a minute one destination of this kind takes."""
    return RATE_LIMITS.get(target_kind, 20)


def backoff(attempts: int, rng: random.Random) -> timedelta:
    """Delay before try attempts+1: doubling from BASE_DELAY, capped, with jitter in [½, 1]."""
    delay = min(MAX_DELAY, BASE_DELAY * (2 ** max(attempts - 1, 0)))
    return delay * (0.5 + rng.random() / 2)


def _outbound(row: OutboxMessage) -> Outbound:
    return Outbound(id=row.id, platform=row.platform, target_kind=row.target_kind,  # type: ignore[arg-type]
                    target=row.target, branch_id=row.branch_id, kind=row.kind,
                    payload=dict(row.payload))


@dataclass
class OutboxWorker:
    engine: Engine
    clock: Clock
    senders: dict[str, Sender]
    worker_id: str = field(
        default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}")
    batch: int = 20
    max_attempts: int = MAX_ATTEMPTS
    claim_timeout: timedelta = CLAIM_TIMEOUT
    rng: random.Random = field(default_factory=random.Random)
    # Destinations not to try before the time given (this worker's view; see HOLD).
    held: dict[Destination, datetime] = field(default_factory=dict)
    # Quiet hours (bot.scheduling.plan.QuietHours) and the time zone they are in: None sends
    # at any hour.
    quiet: Any = None
    tz: tzinfo | None = None
    # Set when the service stops: the send in hand is finished, nothing more is claimed,
    # and the rest of the batch is given back (SchedulerService.stop).
    stopping: bool = False

    def _lost(self, now: datetime) -> Any:
        """Rows claimed longer than the claim timeout ago: their worker is taken for lost,
        and any worker may take them again, or end them unsent."""
        return and_(OutboxMessage.status == SENDING,
                    OutboxMessage.claimed_at <= now - self.claim_timeout)  # type: ignore[operator]

    def drop_outlived(self, session: Session, now: datetime) -> None:
        """【明日活动】 still to go on a later day than it was queued (every replica down
        from its time until after quiet hours, so none dropped it at night) would say 明日
        of today: withdrawn, not sent. A claim that timed out on it counts as not sent."""
        if self.tz is None:
            return
        local = now.astimezone(self.tz)
        today = local.replace(hour=0, minute=0, second=0, microsecond=0)
        for message_id in session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.kind == DAY_BEFORE,
                       OutboxMessage.created_at < today,  # type: ignore[operator]
                       or_(OutboxMessage.status == PENDING,
                           self._lost(now)))
                .values(**_withdrawn(OUTLIVED))
                .returning(OutboxMessage.id)
                .execution_options(synchronize_session=False)).scalars():
            log.info("outbox %s not sent: 【明日活动】 of a day that has come", message_id)

    def drop_stale(self, session: Session, now: datetime) -> None:
        """Withdraw what is still unsent long after its time (OUTLIVES), on every platform,
        this worker's or not: a platform not enabled has no worker to claim its rows, and
        this is what ends them (and lets the housekeeping prune them), so that enabling it
        does not send them all at once, days late."""
        for message_id in session.execute(
                update(OutboxMessage)
                .where(or_(*(and_(OutboxMessage.kind.in_(kinds),  # type: ignore[attr-defined]
                                  OutboxMessage.next_attempt_at <= now - life)  # type: ignore[operator]
                             for life, kinds in _KINDS_BY_LIFE.items())),
                       or_(OutboxMessage.status == PENDING,
                           self._lost(now)))
                .values(**_withdrawn(STALE))
                .returning(OutboxMessage.id)
                .execution_options(synchronize_session=False)).scalars():
            log.info("outbox %s not sent: long past its time", message_id)

    def keep_the_night(self, session: Session, now: datetime) -> None:
        """In quiet hours, scheduled messages meant for before them (a retry, a platform's
        wait, a channel back late) are not sent: dropped or held until quiet hours end."""
        if self.quiet is None or self.tz is None:
            return
        local = now.astimezone(self.tz)
        if not self.quiet.contains(local.time()):
            return
        began = local.replace(hour=self.quiet.start.hour, minute=self.quiet.start.minute,
                              second=0, microsecond=0)
        if began > local:
            began -= timedelta(days=1)
        rows = session.exec(select(OutboxMessage).where(
            OutboxMessage.status == PENDING, OutboxMessage.next_attempt_at <= now,
            OutboxMessage.created_at < began,  # type: ignore[operator]
            OutboxMessage.kind.in_(NIGHT_DROPPED + NIGHT_HELD))).all()  # type: ignore[attr-defined]
        morning = self.quiet.next_end(local)
        dropped, held = [], []
        for row in rows:
            if (row.payload or {}).get(AT_NIGHT):
                continue  # the secretary chose that hour
            if row.kind in NIGHT_DROPPED or (
                    # 【明日活动】 is written the day before: by morning it is the day itself.
                    row.kind == DAY_BEFORE
                    and morning.date() > row.created_at.astimezone(self.tz).date()):
                dropped.append(row.id)
            else:
                held.append(row.id)
        # Compare-and-set on the status, as a claim is: another replica whose clock is not
        # yet in quiet hours may have claimed and sent a row since it was read here.
        still_pending = (OutboxMessage.status == PENDING,
                         OutboxMessage.next_attempt_at <= now)  # type: ignore[operator]
        for message_id in session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id.in_(dropped), *still_pending)  # type: ignore[union-attr]
                .values(status=WITHDRAWN, last_error="免打扰时段开始前未能送达，不再发送")
                .returning(OutboxMessage.id)
                .execution_options(synchronize_session=False)).scalars():
            log.info("outbox %s not sent: quiet hours began before it went", message_id)
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(held), *still_pending)  # type: ignore[union-attr]
            .values(next_attempt_at=morning)
            .execution_options(synchronize_session=False))

    def claim(self) -> list[Outbound]:
        """Take up to `batch` due rows for our platforms, within each destination's rate,
        leaving out the destinations at their rate or held."""
        now = self.clock.now()
        self.held = {where: until for where, until in self.held.items() if until > now}
        with session_scope(self.engine) as session:
            postgres = session.get_bind().dialect.name == "postgresql"
            if postgres:
                # Before the clean-up: each of its updates locks rows, in an order of its
                # own, and two replicas' claims doing them at once could each hold a row
                # the other waits for (PostgreSQL then aborts one). Not so on SQLite,
                # where the lock is the write lock: a replica would hold it from its first
                # read, and the clean-up's reads need none.
                _claim_alone(session)
            self.keep_the_night(session, now)
            self.drop_outlived(session, now)
            self.drop_stale(session, now)
            for row in attendance.withdraw_overtaken_calls(session, now=now):
                log.info("outbox %s (%s) not sent: %s", row.id, row.kind, row.last_error)
            if not postgres:
                _claim_alone(session)
            used = _recent_counts(session, now)
            # Left out in the query, not skipped after it: a backlog of one destination
            # would otherwise fill every batch read and hide the rows behind it.
            left_out = set(self.held) | {where for where, count in used.items()
                                         if count >= rate_limit(where[1])}
            query = (
                select(OutboxMessage)
                .where(
                    OutboxMessage.platform.in_(list(self.senders)),  # type: ignore[attr-defined]
                    or_(
                        and_(OutboxMessage.status == PENDING, OutboxMessage.next_attempt_at <= now),
                        self._lost(now),
                    ),
                )
                .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
                .limit(self.batch * 5)
            )
            if left_out:
                query = query.where(tuple_(OutboxMessage.platform, OutboxMessage.target_kind,
                                           OutboxMessage.target).not_in(sorted(left_out)))
            if postgres:
                query = query.with_for_update(skip_locked=True)
            rows = session.exec(query).all()
            claimed: list[Outbound] = []
            given_up: list[str] = []
            full: set[Destination] = set()
            for row in rows:
                if len(claimed) >= self.batch:
                    break
                destination = (row.platform, row.target_kind, row.target)
                if destination in full:
                    continue  # a row before it waits for the next minute: so does this one
                outbound = _outbound(row)
                sends = self._sends(outbound)
                if used[destination] and used[destination] + sends > rate_limit(row.target_kind):
                    # Its rate filled in this batch: the next minute sends it, and the
                    # destination's later rows after it (a short one would fit, out of turn).
                    full.add(destination)
                    continue
                if row.status == SENDING and row.withdraw_reason:
                    # Its worker was lost mid-send after the row was withdrawn: not again.
                    # Its claim stays named: a worker only slow may yet say it went (record).
                    row.status, row.last_error = WITHDRAWN, row.withdraw_reason[:500]
                    session.add(row)
                    continue
                if row.attempts >= self.max_attempts:  # a reclaimed row on its last life
                    _mark_dead(session, row, row.last_error or "worker lost the message")
                    given_up.append(row.platform)
                    continue
                # Compare-and-set: only one worker's UPDATE matches the row as it was read.
                won = session.execute(
                    update(OutboxMessage)
                    .where(OutboxMessage.id == row.id, OutboxMessage.status == row.status,
                           OutboxMessage.attempts == row.attempts)
                    .values(status=SENDING, claimed_by=self.worker_id, claimed_at=now,
                            attempts=row.attempts + 1, sends=sends)
                    .execution_options(synchronize_session=False)
                ).rowcount
                if won:
                    used[destination] += sends
                    claimed.append(outbound)
        for platform in given_up:  # counted once the transaction has committed
            metrics.dead_letter(platform)
        return claimed

    def _sends(self, message: Outbound) -> int:
        """The platform's messages the row's send will take (its sender's count, where it
        keeps one: a WeCom private text in parts), at least one."""
        sender = self.senders.get(message.platform)
        counts = getattr(sender, "sends", None)
        return max(1, counts(message)) if counts is not None else 1

    def record(self, message_id: int, result: SendResult) -> str:
        """Store one send's outcome; returns the row's new status."""
        now = self.clock.now()
        with session_scope(self.engine) as session:
            row = session.get(OutboxMessage, message_id)
            # Withdrawn while this worker, taken for lost, was still sending (_withdrawn):
            # recorded as any row withdrawn mid-send, sent if it went.
            ours = row is not None and row.claimed_by == self.worker_id and (
                row.status == SENDING or (row.status == WITHDRAWN and bool(row.withdraw_reason)))
            if row is None or not ours:
                return row.status if row else DEAD  # reclaimed meanwhile: theirs now
            platform = row.platform
            if result.payload is not None:  # what is left to send, for the next try
                row.payload = result.payload
            if row.withdraw_reason and not result.ok:
                # Withdrawn while this send was under way (its activity called off): what
                # did not go now is not to go at all.
                row.status, row.last_error = WITHDRAWN, row.withdraw_reason[:500]
                log.info("outbox %s withdrawn after a failed send: %s", row.id,
                         row.withdraw_reason)
            elif result.ok:
                # A note (recipients refused for good) stays on the sent row for the operator.
                row.status, row.sent_at = SENT, now
                row.last_error = result.note[:500] if result.note else None
            elif result.retryable and result.retry_after:
                # The platform said "wait" (a rate limit such as DingTalk's 10-minute robot
                # block): not the message's fault, so the try is given back and the message
                # waits as long as it was told, however often, instead of going dead.
                row.attempts -= 1
                delay = timedelta(seconds=result.retry_after)
                row.status, row.next_attempt_at = PENDING, now + delay
                row.last_error = (result.error or "throttled")[:500]
                log.info("outbox %s throttled, retry in %ds", row.id, delay.total_seconds())
            elif result.retryable and row.attempts < self.max_attempts:
                delay = backoff(row.attempts, self.rng)
                row.status, row.next_attempt_at = PENDING, now + delay
                row.last_error = (result.error or "failed")[:500]
                log.info("outbox %s failed (try %d), retry in %ds", row.id, row.attempts,
                         delay.total_seconds())
            else:
                _mark_dead(session, row, result.error or "failed")
            for follow_up in () if row.withdraw_reason else result.follow_ups:
                # Whatever became of the row (unless withdrawn), they left it. Keyed by the
                # row's message, so that what withdraws the message's rows (an activity
                # called off) finds it too; written once however often it is offered.
                outbox.enqueue(session, platform=row.platform, target_kind=row.target_kind,
                               target=follow_up.target, payload=follow_up.payload, now=now,
                               kind=row.kind, branch_id=row.branch_id,
                               dedupe_key=outbox.follow_up_key(row, follow_up.target),
                               not_before=now + timedelta(seconds=follow_up.delay))
            row.claimed_by = None
            session.add(row)
            status = row.status
        # Counted once the outcome is committed: every failed try, and each row given up on.
        if not result.ok:
            metrics.outbox_failure(platform)
        if status == DEAD:
            metrics.dead_letter(platform)
        return status

    def release(self, message_ids: list[int]) -> int:
        """Give claimed rows back untried (their destination is held): pending again, due
        as before, the claim's try given back; how many."""
        ours = (OutboxMessage.id.in_(message_ids),  # type: ignore[union-attr]
                OutboxMessage.status == SENDING, OutboxMessage.claimed_by == self.worker_id)
        withdrawn = OutboxMessage.withdraw_reason.is_not(None)  # type: ignore[union-attr]
        with session_scope(self.engine) as session:
            session.execute(  # withdrawn meanwhile: not to be tried at all
                update(OutboxMessage)
                .where(*ours, withdrawn)
                .values(status=WITHDRAWN, claimed_by=None, last_error=OutboxMessage.withdraw_reason)
                .execution_options(synchronize_session=False))
            return session.execute(
                update(OutboxMessage)
                .where(*ours)
                .values(status=PENDING, claimed_by=None, claimed_at=None,
                        attempts=OutboxMessage.attempts - 1)
                .execution_options(synchronize_session=False)
            ).rowcount

    def hold(self, destination: Destination, result: SendResult) -> None:
        """After a failed send the platform may take later: no other row to `destination`
        until HOLD has passed, or the wait the platform asked for."""
        wait = timedelta(seconds=result.retry_after) if result.retry_after else HOLD
        self.held[destination] = self.clock.now() + wait
        log.info("outbox: %s %s %s held for %ds after a failed send (%s)", *destination,
                 wait.total_seconds(), result.error or "failed")

    def copy_sent(self, sender: Sender, message: Outbound) -> SendResult | None:
        """The outcome of a row whose copy another row of the same message carries through
        the channel both would take (one push webhook for a branch's two groups), or None
        when this row is to be sent. The first row (by id) sends; the others follow it:
        sent once it is sent, waiting (no try used) while it is due, given up with it."""
        channel_of = getattr(sender, "shared_channel", None)
        if channel_of is None or message.target_kind == "user":
            return None
        shares: SharesChannels = sender  # type: ignore[assignment]
        channel = shares.shared_channel(message)
        if channel is None:
            return None
        with Session(self.engine) as session:
            others = outbox.same_message(session, message_id=message.id)
        first = min((row for row in others if row.id < message.id  # type: ignore[operator]
                     and shares.shared_channel(_outbound(row)) == channel),
                    key=lambda row: row.id, default=None)  # type: ignore[arg-type, return-value]
        if first is None:
            return None
        if first.status == SENT:
            log.info("outbox %s: its copy went with %s through the same channel", message.id,
                     first.id)
            return SendResult.sent()
        if first.status in (PENDING, SENDING):
            return SendResult.failed(f"goes with #{first.id}, due through the same channel",
                                     retryable=True, retry_after=HOLD.total_seconds())
        if first.status == WITHDRAWN:
            # What withdrew the copy that carries it (past its time, quiet hours, an
            # activity called off) withdraws this one too, for the same reason: not a dead
            # row asking the operator to retry what was withdrawn on purpose. record reads
            # the reason as it does for a row withdrawn while being sent.
            reason = first.last_error or f"随 #{first.id} 撤回（同一通道）"
            with session_scope(self.engine) as session:
                session.execute(
                    update(OutboxMessage)
                    .where(OutboxMessage.id == message.id, OutboxMessage.status == SENDING,
                           OutboxMessage.claimed_by == self.worker_id)
                    .values(withdraw_reason=reason)
                    .execution_options(synchronize_session=False))
            return SendResult.failed(f"#{first.id} through the same channel is withdrawn",
                                     retryable=False)
        return SendResult.failed(
            f"goes with #{first.id} through the same channel, and #{first.id} is "
            f"{first.status} ({first.last_error or '-'}): djbot outbox retry {first.id} "
            f"{message.id}", retryable=False)

    async def deliver_once(self) -> int:
        """Claim one batch and send it; returns how many were handed to a sender."""
        batch = await asyncio.to_thread(self.claim)
        claimed_at = self.clock.now()
        untried: list[int] = []
        at = -1
        try:
            for at, message in enumerate(batch):
                destination = (message.platform, message.target_kind, message.target)
                if destination in self.held:  # failed earlier in this batch
                    untried.append(message.id)
                    continue
                if self.stopping or self.clock.now() - claimed_at >= self.claim_timeout / 2:
                    # The service is stopping, or slow sends ate the claim (past its timeout
                    # another replica takes these rows again and they would go twice): given
                    # back now, untried, for the next beat of any replica.
                    untried.append(message.id)
                    continue
                sender = self.senders[message.platform]
                try:
                    result = (await asyncio.to_thread(self.copy_sent, sender, message)
                              or await sender.send(message))
                except Exception as exc:  # a sender bug must not stop the loop
                    log.exception("sender for %s raised", message.platform)
                    result = SendResult.failed(type(exc).__name__)
                await asyncio.to_thread(self.record, message.id, result)
                if not result.ok and result.retryable:
                    self.hold(destination, result)
        except BaseException as stop:
            # Stopped in the middle (the service stopping, a connection to the database lost
            # as an outcome was recorded): the rows after the one in hand go back untried
            # rather than stay claimed until the claim timeout. The one in hand may have
            # reached the platform: it waits for the timeout, as a lost worker's does, unless
            # the console could not show it (OutputClosed): then it went nowhere.
            shown_to_none = [batch[at].id] if isinstance(stop, OutputClosed) else []
            try:
                self.release(untried + shown_to_none
                             + [message.id for message in batch[at + 1:]])
            except Exception:  # the database is gone: the claim timeout frees them
                log.exception("outbox: rows not given back; reclaimed after the claim timeout")
            raise
        if untried:
            await asyncio.to_thread(self.release, untried)
        return len(batch) - len(untried)

    async def drain(self, max_batches: int = 50) -> int:
        """Deliver until nothing is claimable now (rate limits and backoff leave rows due later)."""
        total = 0
        for _ in range(max_batches):
            if self.stopping:
                break
            sent = await self.deliver_once()
            total += sent
            if sent == 0:
                break
        return total


# The lock that makes claims one at a time across replicas (_claim_alone): named with the
# schema, as PostgreSQL's advisory locks are the whole database's, and two deployments in
# one database (a staging beside production, each in its own schema) waited on each
# other's claims, a hung one holding the other's messages up.
CLAIM_LOCK = "djbot.outbox.claim:"


def _claim_alone(session: Session) -> None:
    """Wait for any other replica's claim to commit: each claim counts the last minute's
    sends to each destination and takes what is left of its rate, so two counting at once
    would each take all of it (their rows differ, by SKIP LOCKED). On PostgreSQL a
    transaction advisory lock, released by the claim's COMMIT. On SQLite the write lock,
    taken by an UPDATE of no row: one writer at a time, but a transaction takes it only at
    its first write, and the count is read before that."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(
            func.hashtextextended(func.concat(CLAIM_LOCK, func.current_schema()), 0))))
    else:
        session.execute(update(OutboxMessage).where(false())
                        .values(status=OutboxMessage.status)
                        .execution_options(synchronize_session=False))


def _recent_counts(session: Session, now: datetime) -> Counter:
    """The platform's messages sent (or being sent) to each destination in the last minute:
    a row sent in parts counts each part (OutboxMessage.sends)."""
    used: Counter = Counter()
    recent = session.exec(
        select(OutboxMessage.platform, OutboxMessage.target_kind, OutboxMessage.target,
               func.sum(OutboxMessage.sends))
        .where(
            or_(OutboxMessage.sent_at > now - RATE_WINDOW,  # type: ignore[operator]
                and_(OutboxMessage.status == SENDING,
                     OutboxMessage.claimed_at > now - RATE_WINDOW)),  # type: ignore[operator]
        )
        .group_by(OutboxMessage.platform, OutboxMessage.target_kind, OutboxMessage.target)
    ).all()
    for platform, target_kind, target, count in recent:
        used[(platform, target_kind, target)] = int(count)
    return used


def _withdrawn(reason: str) -> dict[str, Any]:
    """The values that withdraw a row pending or claimed long ago (the claim timed out).
    A claimed one's worker may only be slow, its send still under way: the claim stays
    named and the reason is kept as withdraw_reason, so that if that send goes, record
    says sent (the chat has it), and if it fails, withdrawn, as for a row withdrawn while
    being sent (storage.outbox.withdraw_rows). A pending row's withdraw_reason stays None."""
    claimed = OutboxMessage.status == SENDING
    return {"status": WITHDRAWN, "last_error": reason,
            "withdraw_reason": case((claimed, reason), else_=OutboxMessage.withdraw_reason)}


def _mark_dead(session: Session, row: OutboxMessage, error: str) -> None:
    row.status, row.last_error, row.claimed_by = DEAD, error[:500], None
    session.add(row)
    log.warning("outbox %s is dead after %d tries: %s", row.id, row.attempts, row.last_error)


# --- operator queries (keyword-only, never commit) --------------------------------------------


def list_messages(session: Session, *, status: str | None = None,
                  limit: int = 50) -> list[OutboxMessage]:
    query = select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(limit)  # type: ignore[union-attr]
    if status:
        query = query.where(OutboxMessage.status == status)
    return list(session.exec(query).all())


def unreached(session: Session, *, platform: str | None = None, since: datetime,
              limit: int = 20) -> list[OutboxMessage]:
    """Sent messages some of whose recipients the platform refused for good (the note
    is in last_error): what `djbot doctor` and `djbot outbox` show the operator."""
    query = (select(OutboxMessage)
             .where(OutboxMessage.status == SENT, OutboxMessage.last_error.is_not(None),  # type: ignore[union-attr]
                    OutboxMessage.sent_at >= since)  # type: ignore[operator]
             .order_by(OutboxMessage.id.desc()).limit(limit))  # type: ignore[union-attr]
    if platform:
        query = query.where(OutboxMessage.platform == platform)
    return list(session.exec(query).all())


def given_up(session: Session, *, platform: str, since: datetime,
             limit: int = 5) -> tuple[list[OutboxMessage], int]:
    """Messages given up on (dead) since a moment, the latest first: up to `limit` of them,
    and how many more there are; what `djbot doctor` shows the operator."""
    query = select(OutboxMessage).where(
        OutboxMessage.status == DEAD, OutboxMessage.platform == platform,
        OutboxMessage.created_at >= since)  # type: ignore[operator]
    rows = list(session.exec(query.order_by(OutboxMessage.id.desc())  # type: ignore[union-attr]
                             .limit(limit)).all())
    if len(rows) < limit:
        return rows, 0
    total = session.exec(select(func.count()).select_from(query.subquery())).one()
    return rows, total - len(rows)


# A message still not sent this long after it was queued, kept waiting by its platform (a
# wait uses up no try, so nothing gives it up), is named to the operator by `djbot doctor`.
WAITING_TOO_LONG = timedelta(hours=1)


def kept_waiting(session: Session, *, platform: str, now: datetime,
                 limit: int = 5) -> list[OutboxMessage]:
    """Messages queued more than WAITING_TOO_LONG ago that have failed and are still to be
    tried within that time (not held for the morning), the oldest first."""
    return list(session.exec(select(OutboxMessage).where(
        OutboxMessage.status == PENDING, OutboxMessage.platform == platform,
        OutboxMessage.last_error.is_not(None),  # type: ignore[union-attr]
        OutboxMessage.created_at <= now - WAITING_TOO_LONG,  # type: ignore[operator]
        OutboxMessage.next_attempt_at <= now + WAITING_TOO_LONG)  # type: ignore[operator]
        .order_by(OutboxMessage.id).limit(limit)).all())  # type: ignore[arg-type]


@dataclass
class Queued:
    """The messages waiting to go on one platform (see queued_for)."""

    count: int
    oldest: datetime | None
    lasting: int  # how many of them go however late (not OUTLIVES)


def queued_for(session: Session, *, platform: str) -> Queued:
    """Messages pending on a platform: what `djbot doctor` says of one that is disabled,
    where nothing sends them."""
    pending = (OutboxMessage.status == PENDING, OutboxMessage.platform == platform)
    count, oldest = session.exec(select(func.count(), func.min(OutboxMessage.created_at))
                                 .where(*pending)).one()
    lasting = session.exec(select(func.count()).where(
        *pending, OutboxMessage.kind.not_in(list(OUTLIVES)))).one() if count else 0  # type: ignore[attr-defined]
    return Queued(count=count, oldest=oldest, lasting=lasting)


def retry(session: Session, *, ids: list[int] | None = None, all_dead: bool = False,
          now: datetime) -> int:
    """Give dead (or failing) messages a fresh set of tries, due now."""
    query = select(OutboxMessage).where(OutboxMessage.status.in_([DEAD, PENDING]))  # type: ignore[attr-defined]
    if all_dead:
        query = query.where(OutboxMessage.status == DEAD)
    elif ids:
        query = query.where(OutboxMessage.id.in_(ids))  # type: ignore[union-attr]
    else:
        return 0
    rows = session.exec(query).all()
    for row in rows:
        row.status, row.attempts, row.next_attempt_at, row.claimed_by = PENDING, 0, now, None
        if WAITING_SINCE in row.payload:  # a fresh wait too, or it would end at once
            row.payload = {k: v for k, v in row.payload.items() if k != WAITING_SINCE}
        session.add(row)
    return len(rows)


# --- the console sender ---------------------------------------------------------------------


class ConsoleSender:
    """Prints what would be sent: for `djbot chat`, `demo` and `tick`, no platform needed."""

    def __init__(self, platform: str, echo: Callable[[str], None] = print,
                 clock: Clock | None = None, tz=None) -> None:
        self.platform = platform
        self._echo = echo
        self._clock = clock
        self._tz = tz

    async def send(self, message: Outbound) -> SendResult:
        where = {"group": "群", "leaders": "领导群", "user": "私聊"}.get(message.target_kind, "")
        stamp = ""
        if self._clock is not None:
            local = self._clock.now().astimezone(self._tz)
            stamp = f"{local.month}月{local.day}日 {local:%H:%M} "
        shown = message.payload.get("text", "")
        if message.payload.get("image_base64"):  # the summary's picture: said, not dumped
            size = len(message.payload["image_base64"]) * 3 // 4 // 1024
            shown = f"[图片：{message.payload.get('title') or '图片'}，{size} KB]"
        try:
            self._echo(f"📣 {stamp}[{message.platform} {where} {message.target}] {shown}")
        except BrokenPipeError as closed:  # djbot chat … | head: the reader has gone
            raise OutputClosed from closed
        return SendResult.sent()


class OutputClosed(BaseException):
    """The console's reader went away before a message was shown (djbot chat … | head):
    the drain stops as on Ctrl-C, the message in hand goes back untried with the rest (it
    reached nobody, and it is no failed send), and the command ends quietly. Not an
    Exception, so that the worker's guard against a sender's bug does not take it for one;
    its cause is the BrokenPipeError, which click ends quietly (see raise_closed)."""


def raise_closed(closed: OutputClosed) -> None:
    """Raise the closed pipe again as click knows it (OSError EPIPE: exit 1, no traceback,
    stdout's last flush pacified)."""
    raise closed.__cause__ or BrokenPipeError() from None


def console_senders(echo: Callable[[str], None] = print, clock: Clock | None = None,
                    tz=None) -> dict[str, Sender]:
    return {name: ConsoleSender(name, echo, clock, tz) for name in ("wecom", "dingtalk")}
