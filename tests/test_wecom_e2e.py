"""End to end: `djbot serve` as a real process, the fake WeCom beside it, encrypted callbacks.

A secretary binds the group and opens a 主题党日; 20 members check in through AI-bot
callbacks, 5 of them delivered twice; then the secretary asks 未签到 privately through
the self-built app.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, func
from sqlmodel import Session, select

from storage.models import Attendance, ProcessedMessage
from tests import fake_wecom as fw

ROOT = Path(__file__).resolve().parent.parent
DJBOT = [sys.executable, "-m", "bot.cli"]
MEMBERS = [f"m{i:02d}" for i in range(1, 25)]  # 24 members; 20 check in, 4 do not


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def fake():
    server = fw.FakeWecom().start()
    yield server
    server.stop()


@pytest.fixture
def served(tmp_path, fake):
    """`djbot serve` on a roster imported with `djbot import-roster`; yields (url, db url)."""
    db_url = f"sqlite:///{tmp_path / 'djbot.db'}"
    roster = tmp_path / "roster.csv"
    lines = ["支部,姓名,角色,企业微信ID,钉钉ID", "一支部,王书记,书记,sec,"]
    lines += [f"一支部,党员{m},党员,{m}," for m in MEMBERS]
    roster.write_text("\n".join(lines) + "\n", encoding="utf-8")
    env = {
        **os.environ,
        "DJBOT_DATABASE_URL": db_url,
        "DJBOT_WECOM__ENABLED": "true",
        "DJBOT_WECOM__CORP_ID": fw.CORP_ID,
        "DJBOT_WECOM__AIBOT_TOKEN": fw.AIBOT_TOKEN,
        "DJBOT_WECOM__AIBOT_AES_KEY": fw.AIBOT_AES_KEY,
        "DJBOT_WECOM__APP_TOKEN": fw.APP_TOKEN,
        "DJBOT_WECOM__APP_AES_KEY": fw.APP_AES_KEY,
        "DJBOT_WECOM__AGENT_ID": "1000002",
        "DJBOT_WECOM__APP_SECRET": fw.APP_SECRET,
        "DJBOT_WECOM__API_BASE": fake.base_url,
        "PYTHONPATH": str(ROOT),
    }
    subprocess.run([*DJBOT, "import-roster", str(roster)], env=env, cwd=tmp_path, check=True,
                   capture_output=True, timeout=60)
    port = free_port()
    log = open(tmp_path / "serve.log", "wb")
    process = subprocess.Popen([*DJBOT, "serve", "--host", "127.0.0.1", "--port", str(port)],
                               env=env, cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:  # waiting for a real process to listen, not for the clock
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError((tmp_path / "serve.log").read_text())
            time.sleep(0.1)
        yield url, db_url, tmp_path / "serve.log"
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


async def say(http: httpx.AsyncClient, user: str, text: str, msgid: str,
              chat: str | None = "grp-1") -> tuple[dict, float]:
    payload = fw.text_callback(msgid=msgid, user=user, text=text, chatid=chat)
    params, body = fw.aibot_request(payload, timestamp=int(time.time()), nonce=msgid[-8:])
    started = time.monotonic()
    response = await http.post("/wecom/aibot", params=params, content=body)
    elapsed = time.monotonic() - started
    assert response.status_code == 200, response.text
    return fw.open_aibot_reply(response.json())["stream"], elapsed


@pytest.mark.own_databases  # `djbot serve` runs on its own SQLite file
async def test_group_check_in_end_to_end(served):
    url, db_url, log_path = served
    async with httpx.AsyncClient(base_url=url, timeout=10) as http:
        bound, _ = await say(http, "sec", "绑定 一支部", "bind-1")
        assert bound["finish"] and "一支部" in bound["content"], bound
        opened, _ = await say(http, "sec", "开始 主题党日", "open-1")
        assert opened["finish"] and "主题党日" in opened["content"], opened

        checkers = MEMBERS[:20]
        deliveries = [(m, f"ci-{m}") for m in checkers]
        deliveries += [(m, f"ci-{m}") for m in checkers[:5]]  # WeCom delivers these twice
        results = await asyncio.gather(*(say(http, m, "签到", msgid) for m, msgid in deliveries))

        # The secretary asks privately, through the self-built app's XML callback.
        now = int(time.time())
        xml = fw.app_text_xml(user="sec", text="未签到", msgid="900001", create_time=now)
        params, body = fw.app_request(xml, timestamp=now)
        missing = await http.post("/wecom/app", params=params, content=body)

    for stream, elapsed in results:
        assert elapsed < 5.0
        assert stream["finish"] is True and stream["content"], stream
    first = {msgid: results[i][0]["content"] for i, (_, msgid) in enumerate(deliveries[:20])}
    for i, (_, msgid) in enumerate(deliveries[20:], start=20):
        assert results[i][0]["content"] == first[msgid]
    assert all("签到" in c for c in first.values()), first

    engine = create_engine(db_url)
    with Session(engine) as session:
        assert session.exec(select(func.count()).select_from(Attendance)).one() == 20
        assert session.exec(select(func.count()).select_from(ProcessedMessage)).one() == 23
    engine.dispose()

    assert missing.status_code == 200
    reply = fw.open_app_reply(missing.text)
    assert reply["ToUserName"] == "sec"
    for m in MEMBERS[20:]:
        assert f"党员{m}" in reply["Content"], reply["Content"]
    for m in MEMBERS[:20]:
        assert f"党员{m}" not in reply["Content"]
    # Nothing secret or said in chat reached the log.
    logged = log_path.read_text()
    assert fw.AIBOT_AES_KEY not in logged and fw.APP_SECRET not in logged
    assert "response_code" not in logged and f"党员{MEMBERS[-1]}" not in logged
