"""Check-ins that race: the same member at the same activity, delivered at once from several
threads, or through two `djbot serve` processes on one PostgreSQL database, store one row.

The guarantee is the UNIQUE(activity_id, member_id) constraint, not a read-then-write: the
loser of a race fails on it and the dispatcher retries, then sees the winner's row.
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from sqlmodel import Session, func, select

from bot.adapters.dingtalk.signing import sign
from bot.core import IncomingMessage
from storage import db
from storage.models import Attendance, PointEntry, ProcessedMessage, Role

from .factories import bind_chat, make_branch, make_member, seed

THREADS = 8


def _count(engine, model) -> int:
    with Session(engine) as session:
        return session.exec(select(func.count()).select_from(model)).one()


def test_one_member_checking_in_from_many_threads_at_once_stores_one_row(runtime, chat):
    def bureau(session):
        branch = make_branch(session, "一支部")
        make_member(session, branch, "李书记", role=Role.SECRETARY, wecom="sec")
        make_member(session, branch, "张三", wecom="zhang")
        bind_chat(session, branch, "g1")

    seed(runtime.engine, bureau)
    assert not chat.say("sec", "开始 主题党日 学习新党章", chat="g1").is_error
    start_together = threading.Barrier(THREADS)

    def check_in(n: int):
        start_together.wait()
        # Different message ids: the member really sent 签到 several times (or from two
        # devices), so de-duplication by message id does not come into it.
        return runtime.dispatcher.handle_sync(IncomingMessage(
            platform="wecom", chat_id="g1", sender_id="zhang", text="签到",
            message_id=f"race-{n}", at=runtime.clock.now(), is_private=False,
        ))

    with ThreadPoolExecutor(THREADS) as pool:
        replies = list(pool.map(check_in, range(THREADS)))

    assert all(not r.is_error for r in replies), [r.text for r in replies]
    assert sum("签到成功" in r.text for r in replies) == 1, [r.text for r in replies]
    assert sum("已签到" in r.text for r in replies) == THREADS - 1
    assert _count(runtime.engine, Attendance) == 1
    assert _count(runtime.engine, PointEntry) == 1


# --- two server processes on one PostgreSQL database ----------------------------------------

MEMBERS = 50
TIMES_EACH = 4
APP_SECRET = "test-dingtalk-app-secret"
CONVERSATION = "cid-branch-one"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(port: int, env: dict[str, str], log: Path) -> subprocess.Popen:
    djbot = Path(sys.executable).parent / "djbot"
    return subprocess.Popen(
        [str(djbot), "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env, stdout=log.open("w"), stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group, so we stop exactly what we started
    )


def _wait_ready(port: int, proc: subprocess.Popen, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"djbot serve exited {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)  # waiting for a real process to start, not for a clock
    pytest.fail(f"djbot serve on {port} not ready:\n{log.read_text()[-3000:]}")


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)


_SEQUENCE = itertools.count()
_STARTED_MS = int(time.time() * 1000)  # the test takes far less than the hour's window


def _callback(user: str, text: str) -> tuple[dict, bytes]:
    """A genuinely signed DingTalk robot callback (platforms.md §3).

    Each gets its own millisecond: djbot refuses a (timestamp, sign) pair used before with
    another body (docs/security.md), as two callbacks in one millisecond would be."""
    timestamp = str(_STARTED_MS - next(_SEQUENCE))
    body = json.dumps({
        "msgtype": "text",
        "msgId": uuid.uuid4().hex,
        "conversationId": CONVERSATION,
        "conversationType": "2",
        "senderStaffId": user,
        "senderNick": user,
        "chatbotUserId": "bot",
        "isInAtList": True,
        "createAt": timestamp,
        "text": {"content": text},
    }, ensure_ascii=False).encode()
    headers = {"timestamp": timestamp, "sign": sign(timestamp, APP_SECRET),
               "content-type": "application/json"}
    return headers, body


@pytest.mark.own_databases
@pytest.mark.timeout(300)
def test_two_servers_200_concurrent_check_ins_for_50_members(pg_url, tmp_path):
    engine = db.make_engine(pg_url)
    db.upgrade(engine)

    def bureau(session):
        branch = make_branch(session, "一支部")
        make_member(session, branch, "李书记", role=Role.SECRETARY, wecom="sec-w", dingtalk="sec")
        for n in range(MEMBERS):
            make_member(session, branch, f"党员{n:02d}", wecom=f"w{n}", dingtalk=f"d{n}")
        bind_chat(session, branch, CONVERSATION, platform="dingtalk")

    seed(engine, bureau)
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "DJBOT_DATABASE_URL": pg_url,
        "DJBOT_DINGTALK__ENABLED": "true",
        "DJBOT_DINGTALK__MODE": "http",
        "DJBOT_DINGTALK__APP_KEY": "test-app-key",
        "DJBOT_DINGTALK__APP_SECRET": APP_SECRET,
        "DJBOT_DINGTALK__ROBOT_CODE": "test-robot",
        # Replies go to the outbox; its sends fail fast here instead of reaching DingTalk.
        "DJBOT_DINGTALK__API_BASE": "http://127.0.0.1:9",
        "DJBOT_DINGTALK__OAPI_BASE": "http://127.0.0.1:9",
        "DJBOT_LOG_LEVEL": "WARNING",
    }
    ports = [_free_port(), _free_port()]
    logs = [tmp_path / f"serve-{i}.log" for i in range(2)]
    servers = [_serve(port, env, log) for port, log in zip(ports, logs)]
    try:
        for port, proc, log in zip(ports, servers, logs):
            _wait_ready(port, proc, log)
        headers, body = _callback("sec", "开始 主题党日 学习新党章")
        opened = httpx.post(f"http://127.0.0.1:{ports[0]}/dingtalk/callback", headers=headers,
                            content=body, timeout=10)
        assert opened.status_code == 200

        # Each member sends 签到 four times: twice to each server, all at once.
        jobs = [(ports[k % 2], f"d{n}") for n in range(MEMBERS) for k in range(TIMES_EACH)]

        def deliver(job):
            port, user = job
            headers, body = _callback(user, "签到")
            return httpx.post(f"http://127.0.0.1:{port}/dingtalk/callback", headers=headers,
                              content=body, timeout=30).status_code

        with ThreadPoolExecutor(40) as pool:
            statuses = list(pool.map(deliver, jobs))
        assert statuses == [200] * MEMBERS * TIMES_EACH
        for port in ports:  # both replicas really took their half
            scrape = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
            ok = next(line for line in scrape.splitlines()
                      if line.startswith('djbot_callbacks_total{outcome="ok",platform="dingtalk"}')
                      or line.startswith('djbot_callbacks_total{platform="dingtalk",outcome="ok"}'))
            assert float(ok.rsplit(" ", 1)[1]) >= MEMBERS * TIMES_EACH / 2
    finally:
        for proc in servers:
            _stop(proc)

    with Session(engine) as session:
        attendance = session.exec(select(func.count()).select_from(Attendance)).one()
        points = session.exec(select(func.count()).select_from(PointEntry)).one()
        members = session.exec(select(func.count(func.distinct(Attendance.member_id)))).one()
        # The replies each delivery got (stored with it): one success per member, the rest
        # "already checked in".
        replies = [r["text"] for r in session.exec(select(ProcessedMessage.reply)) if r]
    engine.dispose()
    assert (attendance, members, points) == (MEMBERS, MEMBERS, MEMBERS)
    assert sum("签到成功" in text for text in replies) == MEMBERS
    assert sum("已签到" in text for text in replies) == MEMBERS * (TIMES_EACH - 1)
