"""A reminder withdrawn while a worker held it, then its activity resumed (恢复日程 /
a rule changed back): the row is pending again but keeps withdraw_reason, so its next
failed try withdraws it for good instead of retrying."""
import asyncio
from datetime import timedelta

from sqlmodel import Session, select

from bot.outbox import OutboxWorker
from bot.sender import SendResult
from storage import corrections, outbox
from storage.models import Activity, OutboxMessage
from tests.conftest import SHANGHAI
from tests.factories import make_branch


def test_resumed_reminder_is_retried_not_withdrawn(engine, clock):
    start = clock.now() + timedelta(hours=6)
    with Session(engine) as s:
        b = make_branch(s, "城关派出所党支部")
        a = Activity(type="政治夜学", branch_id=b.id, starts_at=start,
                     ends_at=start + timedelta(hours=1), checkin_opens_at=start,
                     checkin_closes_at=start + timedelta(hours=1), created_at=clock.now())
        s.add(a)
        s.flush()
        aid, bid = a.id, b.id
        outbox.enqueue(s, platform="wecom", target_kind="group", target="g1",
                       payload={"text": "今晚夜学"}, now=clock.now(), kind=outbox.GROUP_BEFORE,
                       dedupe_key=f"x|g1|{start.isoformat()}|activity:{aid}", branch_id=bid)
        s.commit()

    class CancelledMidSend:
        async def send(self, message):
            # 暂停日程 while this send is under way: the activity is withdrawn.
            with Session(engine) as s:
                act = s.get(Activity, aid)
                act.status, act.schedule_withdrawn = "cancelled", True
                s.add(act)
                corrections.withhold_unsent(s, activity=act)
                s.commit()
            return SendResult.failed("errcode 45009", retryable=True)

    asyncio.run(OutboxWorker(engine, clock, {"wecom": CancelledMidSend()}).drain())
    with Session(engine) as s:
        [row] = s.exec(select(OutboxMessage)).all()
        assert row.status == "withdrawn"  # as intended
        # 恢复日程 the same day: the activity and its withheld reminders come back.
        assert corrections.reopen(s, activity=s.get(Activity, aid), keep_rows=True,
                                  now=clock.now(), tz=SHANGHAI)
        s.commit()
        [row] = s.exec(select(OutboxMessage)).all()
        assert row.status == "pending"

    class FlakyOnce:
        n = 0
        async def send(self, message):
            self.n += 1
            return SendResult.failed("timeout", retryable=True) if self.n == 1 \
                else SendResult.sent()

    sender = FlakyOnce()
    worker = OutboxWorker(engine, clock, {"wecom": sender})
    for _ in range(5):
        asyncio.run(worker.drain())
        clock.advance(timedelta(minutes=10))
    with Session(engine) as s:
        [row] = s.exec(select(OutboxMessage)).all()
        # Expected: the resumed activity's reminder is retried and sent.
        assert row.status == "sent", (row.status, row.last_error, row.withdraw_reason)
