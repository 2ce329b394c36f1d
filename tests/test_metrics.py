"""What an operator reads at /metrics after something happens: refused callbacks by reason,
outbox failures and dead letters, reminders enqueued (each counted once, after commit)."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.app import create_app
from bot.config import DingtalkSettings, Settings
from bot.outbox import OutboxWorker
from bot.runtime import build_runtime
from bot.sender import Outbound, SendResult
from storage.outbox import enqueue
from tests import fake_wecom as fw
from tests.conftest import local
from tests.factories import seed
from tests.test_reminders_restart import night_study_branch, service
from tests.test_wecom_routes import client_for, wecom_settings


async def scrape(http: httpx.AsyncClient) -> dict[tuple, float]:
    """/metrics as {(sample name, sorted labels): value}."""
    response = await http.get("/metrics")
    assert response.status_code == 200
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(response.text)
            for s in family.samples}


def key(name: str, **labels) -> tuple:
    return name, tuple(sorted(labels.items()))


def rejected(platform: str, reason: str) -> tuple:
    return key("djbot_rejected_total", platform=platform, reason=reason)


@pytest.mark.parametrize("case, status, reason", [
    ("wrong signature", 401, "signature"),
    ("stale timestamp", 403, "stale"),
    ("not JSON", 400, "malformed"),
    ("oversized", 413, "too_large"),
])
async def test_a_refused_wecom_callback_is_counted_by_reason(
        db_url, clock, engine, case, status, reason):
    now = int(clock.now().timestamp())
    payload = fw.text_callback(msgid="m1", user="wang", text="帮助")
    params, body = fw.aibot_request(payload, timestamp=now - 7200 if case == "stale timestamp"
                                    else now)
    if case == "wrong signature":
        params["msg_signature"] = "0" * 40
    elif case == "not JSON":
        body = b"<xml/>"
    elif case == "oversized":
        body = b" " * (1024 * 1024 + 1)
    async with client_for(wecom_settings(db_url), clock, engine) as http:
        before = await scrape(http)
        response = await http.post("/wecom/aibot", params=params, content=body)
        after = await scrape(http)
    assert response.status_code == status
    assert after[rejected("wecom", reason)] == before.get(rejected("wecom", reason), 0) + 1
    others = {k for k in after if k[0] == "djbot_rejected_total" and k != rejected("wecom", reason)}
    assert all(after[k] == before.get(k, 0) for k in others)  # one refusal, one reason


async def test_a_refused_dingtalk_callback_is_counted_by_reason(db_url, clock, engine):
    settings = Settings(database_url=db_url, _env_file=None, dingtalk=DingtalkSettings(
        enabled=True, app_key="key", app_secret="secret", robot_code="robot",
        api_base="http://127.0.0.1:9"))
    app = create_app(build_runtime(settings, clock=clock, engine=engine, migrate=False),
                     start_background=False)
    now_ms = str(int(clock.now().timestamp() * 1000))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://x") as http:
        before = await scrape(http)
        response = await http.post("/dingtalk/callback", content=json.dumps({}).encode(),
                                   headers={"timestamp": now_ms, "sign": "forged"})
        after = await scrape(http)
    assert response.status_code == 401
    assert after[rejected("dingtalk", "signature")] == \
        before.get(rejected("dingtalk", "signature"), 0) + 1


class Refusing:
    """A platform that refuses every message: retryably or for good."""

    platform = "wecom"

    def __init__(self, *, retryable: bool) -> None:
        self.retryable = retryable

    async def send(self, message: Outbound) -> SendResult:
        return SendResult.failed("errcode 93000", retryable=self.retryable)


def metrics_client(runtime) -> httpx.AsyncClient:
    app = create_app(runtime, start_background=False)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://djbot")


async def test_failed_tries_and_the_dead_letter_are_counted(runtime, clock):
    failures = key("djbot_outbox_failures_total", platform="wecom")
    dead = key("djbot_outbox_dead_letters_total", platform="wecom")
    seed(runtime.engine, lambda s: enqueue(s, platform="wecom", target_kind="group", target="g1",
                                           payload={"text": "提醒"}, now=clock.now()))
    worker = OutboxWorker(runtime.engine, clock, {"wecom": Refusing(retryable=True)},
                          max_attempts=2)
    async with metrics_client(runtime) as http:
        before = await scrape(http)
        await worker.drain()  # first try fails; the row waits for its retry
        first = await scrape(http)
        clock.advance(hours=2)
        await worker.drain()  # the last try fails: the row is given up on
        second = await scrape(http)
        await worker.drain()  # nothing left to try: nothing more is counted
        third = await scrape(http)
    assert first[failures] == before.get(failures, 0) + 1
    assert first.get(dead, 0) == before.get(dead, 0)
    assert second[failures] == before.get(failures, 0) + 2
    assert second[dead] == before.get(dead, 0) + 1
    assert third[failures] == second[failures] and third[dead] == second[dead]
    assert second[key("djbot_outbox_messages", status="dead")] == 1


async def test_a_refused_message_is_a_dead_letter_at_once(runtime, clock):
    dead = key("djbot_outbox_dead_letters_total", platform="wecom")
    seed(runtime.engine, lambda s: enqueue(s, platform="wecom", target_kind="group", target="g1",
                                           payload={"text": "提醒"}, now=clock.now()))
    async with metrics_client(runtime) as http:
        before = await scrape(http)
        await OutboxWorker(runtime.engine, clock, {"wecom": Refusing(retryable=False)}).drain()
        after = await scrape(http)
    assert after[dead] == before.get(dead, 0) + 1


async def test_reminders_are_counted_once_however_many_replicas_tick(runtime, clock, engine):
    seed(engine, night_study_branch)
    nudges = key("djbot_reminders_enqueued_total", kind="nudge")
    start = key("djbot_reminders_enqueued_total", kind="reminder.start")
    clock.set(local(2026, 11, 25, 19, 50))  # Wednesday's night study began at 19:30
    async with metrics_client(runtime) as http:
        before = await scrape(http)
        result = await asyncio.to_thread(service(runtime, clock).tick)
        after_first = await scrape(http)
        clock.advance(minutes=1)
        # Another replica's ticker finds the same reminders already enqueued.
        await asyncio.to_thread(service(runtime, clock).tick)
        after_second = await scrape(http)
    assert sorted(r.kind for r in result.enqueued) == ["nudge", "nudge", "reminder.start"]
    assert after_first[nudges] == before.get(nudges, 0) + 2
    assert after_first[start] == before.get(start, 0) + 1
    assert after_second[nudges] == after_first[nudges]
    assert after_second[start] == after_first[start]


def test_a_callback_the_long_connection_cannot_read_is_counted(runtime):
    from bot import metrics
    from bot.adapters.wecom.longconn import LongConnection

    malformed = ("djbot_rejected_total", {"platform": "wecom", "reason": "malformed"})
    before = metrics.REGISTRY.get_sample_value(*malformed) or 0
    conn = LongConnection(runtime, runtime.settings.wecom, holder="a")
    frame = {"cmd": "aibot_msg_callback", "headers": {"req_id": "req-1"},
             "body": {"msgtype": "text"}}  # no msgid, no sender
    assert asyncio.run(conn._on_frame(None, frame)) is True  # counted, and the socket stays
    assert metrics.REGISTRY.get_sample_value(*malformed) == before + 1
