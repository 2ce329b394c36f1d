"""WeCom AI-bot check-in callbacks: `djbot serve` beside the one-commit baseline, on SQLite
and on PostgreSQL in the same run.

    python -m bench.bench_wecom [--postgres-url postgresql://…] [--runs 3] [--seconds 10]

The baseline (`commit_app`) is what any WeCom callback endpoint that keeps its promise
must do: verify, decrypt, one committed INSERT … ON CONFLICT DO NOTHING of the check-in on
the same database (SQLite in WAL with synchronous=NORMAL, one writer; PostgreSQL over a
few psycopg connections), then answer with an encrypted finished stream. djbot does the
same plus the rest: de-duplication with the stored reply, roster, binding, activity, the
attendance row and its points with the rules version. `baseline_app` (no database at all)
is kept for reference. Per database, two figures as ratios to the baseline measured in the
same run:

1. throughput at saturation: 50 keep-alive connections, distinct members and msgids;
2. p99 latency in a burst: 1,000 check-ins paced evenly over 10 seconds (open loop: each
   is sent when due, whatever the server does, and its latency counts from then).

The load comes from bench/loadgen.py (asyncio, 127.0.0.1 only, bounded by count and time),
so no wrk is needed; requests are encrypted beforehand with wechatpy as WeCom does.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import loadgen  # noqa: E402
from tests import fake_wecom as fw  # noqa: E402  (wechatpy's own encryption, as WeCom does)

CHAT = "grp-bench"
ROSTER_PART = 5000  # storage.roster.MAX_ROWS


# --- the baseline: verify, decrypt, answer ---------------------------------------------

def _baseline_crypto():
    from bot.adapters.wecom.crypto import CallbackCrypto

    return CallbackCrypto(fw.AIBOT_TOKEN, fw.AIBOT_AES_KEY, "", 3600)


_CRYPTO = None


async def baseline_app(scope, receive, send):
    """A minimal ASGI app: what any WeCom callback endpoint must do, and nothing more."""
    global _CRYPTO
    if scope["type"] != "http":
        return
    _CRYPTO = _CRYPTO or _baseline_crypto()
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    from urllib.parse import parse_qs

    q = {k: v[0] for k, v in parse_qs(scope["query_string"].decode()).items()}
    now = time.time()
    from datetime import datetime, timezone

    plaintext = _CRYPTO.decrypt(msg_signature=q.get("msg_signature"), timestamp=q.get("timestamp"),
                                nonce=q.get("nonce"), encrypt=json.loads(body)["encrypt"],
                                now=datetime.fromtimestamp(now, timezone.utc))
    msgid = json.loads(plaintext)["msgid"]
    answer = json.dumps({"msgtype": "stream", "stream": {"id": msgid, "finish": True,
                                                         "content": "签到成功"}},
                        ensure_ascii=False)
    out = json.dumps(_CRYPTO.encrypt_json_reply(answer, timestamp=str(int(now)))).encode()
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": out})


# --- the one-commit baseline: verify, decrypt, one committed INSERT, answer ----------------

_STORE = None


class _SqliteStore:
    """One connection, used on the event loop: SQLite's one writer, no thread hop."""

    def __init__(self, path: str):
        import sqlite3

        self.con = sqlite3.connect(path)
        self.con.execute("PRAGMA journal_mode=WAL")
        self.con.execute("PRAGMA synchronous=NORMAL")
        self.con.execute("CREATE TABLE IF NOT EXISTS checkin (msgid TEXT PRIMARY KEY,"
                         " userid TEXT NOT NULL, at REAL NOT NULL)")
        self.con.commit()

    async def save(self, msgid: str, userid: str, at: float) -> None:
        self.con.execute("INSERT INTO checkin (msgid, userid, at) VALUES (?, ?, ?)"
                         " ON CONFLICT (msgid) DO NOTHING", (msgid, userid, at))
        self.con.commit()


class _PostgresStore:
    """A few async psycopg connections taken from a queue (a pool without the library)."""

    SIZE = 4

    def __init__(self, conninfo: str):
        self.conninfo = conninfo
        self.pool = None
        self.opening = None

    async def _open(self):
        import asyncio

        import psycopg

        pool = asyncio.Queue()
        for _ in range(self.SIZE):
            conn = await psycopg.AsyncConnection.connect(self.conninfo)
            await conn.execute("CREATE TABLE IF NOT EXISTS checkin (msgid text PRIMARY KEY,"
                               " userid text NOT NULL, at double precision NOT NULL)")
            await conn.commit()
            pool.put_nowait(conn)
        self.pool = pool

    async def save(self, msgid: str, userid: str, at: float) -> None:
        import asyncio

        if self.pool is None:  # the first requests wait for one opening (or its error)
            self.opening = self.opening or asyncio.ensure_future(self._open())
            await asyncio.shield(self.opening)
        conn = await self.pool.get()
        try:
            await conn.execute("INSERT INTO checkin (msgid, userid, at) VALUES (%s, %s, %s)"
                               " ON CONFLICT (msgid) DO NOTHING", (msgid, userid, at))
            await conn.commit()
        finally:
            self.pool.put_nowait(conn)


def _store():
    url = os.environ["BENCH_COMMIT_DB"]
    if url.startswith("sqlite:///"):
        return _SqliteStore(url.removeprefix("sqlite:///"))
    from psycopg.conninfo import make_conninfo
    from sqlalchemy.engine import make_url

    # From the URL's parts: libpq reads a "+" in a URL's options literally, not as a space.
    parsed = make_url(url)
    return _PostgresStore(make_conninfo(
        host=parsed.host, port=parsed.port, dbname=parsed.database, user=parsed.username,
        password=parsed.password, **dict(parsed.query)))


async def commit_app(scope, receive, send):
    """The honest floor: the bare endpoint plus one committed row before the answer."""
    global _CRYPTO, _STORE
    if scope["type"] != "http":
        return
    _CRYPTO = _CRYPTO or _baseline_crypto()
    _STORE = _STORE or _store()
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    if scope["method"] != "POST":
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})
        return
    from datetime import datetime, timezone
    from urllib.parse import parse_qs

    q = {k: v[0] for k, v in parse_qs(scope["query_string"].decode()).items()}
    now = time.time()
    plaintext = _CRYPTO.decrypt(msg_signature=q.get("msg_signature"), timestamp=q.get("timestamp"),
                                nonce=q.get("nonce"), encrypt=json.loads(body)["encrypt"],
                                now=datetime.fromtimestamp(now, timezone.utc))
    payload = json.loads(plaintext)
    await _STORE.save(payload["msgid"], payload["from"]["userid"], now)
    answer = json.dumps({"msgtype": "stream", "stream": {"id": payload["msgid"], "finish": True,
                                                         "content": "签到成功"}},
                        ensure_ascii=False)
    out = json.dumps(_CRYPTO.encrypt_json_reply(answer, timestamp=str(int(now)))).encode()
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": out})




# --- harness --------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(url: str, process: subprocess.Popen, log: Path) -> None:
    import httpx

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(log.read_text())
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise RuntimeError("server did not start")


def requests_for(members: range, prefix: str) -> list[bytes]:
    """Signed, encrypted check-in callbacks, one per member, ready to send."""
    now = int(time.time())
    out = []
    for i in members:
        payload = fw.text_callback(msgid=f"{prefix}-{i}", user=f"u{i:05d}", text="签到",
                                   chatid=CHAT)
        params, body = fw.aibot_request(payload, timestamp=now, nonce=f"{prefix}{i:08d}")
        query = "&".join(f"{k}={v}" for k, v in params.items())
        out.append(loadgen.encode(f"/wecom/aibot?{query}", body))
    return out


def start(cmd: list[str], env: dict, cwd: Path, log: Path) -> subprocess.Popen:
    return subprocess.Popen(cmd, env=env, cwd=cwd, stdout=log.open("wb"),
                            stderr=subprocess.STDOUT)


def stop(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(15)
    except subprocess.TimeoutExpired:
        process.kill()


def count_rows(db_url: str, sql: str, prefix: str) -> int:
    from sqlalchemy import text

    from storage.db import make_engine

    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            return conn.execute(text(sql), {"p": f"{prefix}-%"}).scalar_one()
    finally:
        engine.dispose()


DJBOT_ROWS = "SELECT count(*) FROM attendance WHERE message_id LIKE :p"
BASELINE_ROWS = "SELECT count(*) FROM checkin WHERE msgid LIKE :p"


def load(port: int, sat: list[bytes], burst: list[bytes], args) -> tuple[dict, dict]:
    saturated = loadgen.saturate(port, sat, connections=50, seconds=args.seconds)
    burst_run = loadgen.paced(port, burst, seconds=args.burst_seconds, connections=50)
    return saturated, burst_run


def say_wecom(url: str, user: str, text: str, msgid: str) -> None:
    import httpx

    params, body = fw.aibot_request(
        fw.text_callback(msgid=msgid, user=user, text=text, chatid=CHAT),
        timestamp=int(time.time()), nonce=msgid)
    httpx.post(f"{url}/wecom/aibot", params=params, content=body, timeout=10)


@dataclass
class Platform:
    """What differs between WeCom and DingTalk in this harness."""

    name: str
    env: dict[str, str]  # djbot's settings for the platform
    roster_line: str  # one member's roster line, formatted with i
    requests_for: Callable[[range, str], list[bytes]]
    say: Callable[[str, str, str, str], None]  # (url, user, text, msgid): a setup message
    baseline_app: str  # module:app for uvicorn


def measure_djbot(db_url: str, work: Path, tag: str, args) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DJBOT_DATABASE_URL": db_url,
           "DJBOT_LOG_LEVEL": args.log_level, **PLATFORM.env}
    total = args.members + args.burst
    sec = PLATFORM.roster_line.format(name="书记", role="书记", i="sec")
    lines = [sec] + [PLATFORM.roster_line.format(name=f"党员{i:05d}", role="党员", i=f"u{i:05d}")
                     for i in range(total)]
    if not db_url.startswith("sqlite"):  # djbot migrates only SQLite by itself
        subprocess.run([sys.executable, "-m", "bot.cli", "db", "upgrade"], env=env, cwd=work,
                       check=True, capture_output=True)
    # A roster file holds at most 5,000 people: a bigger bench goes in in parts.
    for part, first in enumerate(range(0, len(lines), ROSTER_PART)):
        roster = work / f"roster-{tag}-{part}.csv"
        roster.write_text("支部,姓名,角色,企业微信ID,钉钉ID\n"
                          + "".join(lines[first:first + ROSTER_PART]), encoding="utf-8")
        subprocess.run([sys.executable, "-m", "bot.cli", "import-roster", str(roster),
                        *(["--partial"] if part else [])], env=env, cwd=work, check=True,
                       capture_output=True)
    sat = PLATFORM.requests_for(range(0, args.members), f"sat{tag}")
    burst = PLATFORM.requests_for(range(args.members, total), f"burst{tag}")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = work / f"djbot-{tag}.log"
    proc = start([sys.executable, "-m", "bot.cli", "serve", "--port", str(port)], env, work, log)
    try:
        wait_ready(f"{url}/healthz", proc, log)
        for i, text in enumerate(["绑定 一支部", "开始 主题党日"]):
            PLATFORM.say(url, "sec", text, f"setup{tag}{i}")
        saturated, burst_run = load(port, sat, burst, args)
        rss_mb = resident_mb(proc.pid)  # after every callback of the run
    finally:
        stop(proc)
    saturated["rows"] = count_rows(db_url, DJBOT_ROWS, f"sat{tag}")
    burst_run["rows"] = count_rows(db_url, DJBOT_ROWS, f"burst{tag}")
    callbacks = saturated["requests"] + burst_run["requests"]
    return {"sat": saturated, "burst": burst_run, "rss_mb": rss_mb, "callbacks": callbacks}


def resident_mb(pid: int) -> float | None:
    """The process's resident memory (VmRSS), in MB; None where /proc is not there."""
    try:
        for row in Path(f"/proc/{pid}/status").read_text().splitlines():
            if row.startswith("VmRSS:"):
                return int(row.split()[1]) / 1024
    except OSError:
        return None
    return None


def measure_baseline(db_url: str, work: Path, tag: str, args) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "BENCH_COMMIT_DB": db_url}
    # The baseline checks no roster, so it gets as many requests as it can answer.
    sat = PLATFORM.requests_for(range(0, args.baseline_requests), f"bsat{tag}")
    burst = PLATFORM.requests_for(
        range(args.baseline_requests, args.baseline_requests + args.burst), f"bburst{tag}")
    port = free_port()
    log = work / f"baseline-{tag}.log"
    proc = start([sys.executable, "-m", "uvicorn", PLATFORM.baseline_app,
                  "--host", "127.0.0.1", "--port", str(port), "--no-access-log",
                  "--log-level", "warning"], env, ROOT, log)
    try:
        wait_ready(f"http://127.0.0.1:{port}/", proc, log)
        saturated, burst_run = load(port, sat, burst, args)
    finally:
        stop(proc)
    saturated["rows"] = count_rows(db_url, BASELINE_ROWS, f"bsat{tag}")
    burst_run["rows"] = count_rows(db_url, BASELINE_ROWS, f"bburst{tag}")
    return {"sat": saturated, "burst": burst_run}


def databases(work: Path, postgres_url: str | None, tag: str):
    """(name, djbot URL, baseline URL) per database; PostgreSQL in fresh schemas."""
    import contextlib

    yield "SQLite", f"sqlite:///{work / f'djbot-{tag}.db'}", f"sqlite:///{work / f'base-{tag}.db'}"
    if postgres_url:
        from tests.conftest import postgres_schema

        with contextlib.ExitStack() as stack:
            djbot_url = stack.enter_context(postgres_schema(postgres_url))
            base_url = stack.enter_context(postgres_schema(postgres_url))
            yield "PostgreSQL", djbot_url, base_url


def line(name: str, r: dict) -> str:
    return (f"  {name:9} {r['rps']:7.0f} req/s ({r['requests']} in {r['wall_s']:.1f} s)"
            f"  p50 {r['p50_ms']:6.1f} ms  p99 {r['p99_ms']:7.1f} ms  non-2xx {r['non_2xx']}"
            f"  errors {r['socket_errors']}  rows {r.get('rows', '-')}")


WECOM = Platform(
    name="WeCom",
    env={"DJBOT_WECOM__ENABLED": "true", "DJBOT_WECOM__AIBOT_TOKEN": fw.AIBOT_TOKEN,
         "DJBOT_WECOM__AIBOT_AES_KEY": fw.AIBOT_AES_KEY},
    roster_line="一支部,{name},{role},{i},\n",
    requests_for=requests_for, say=say_wecom, baseline_app="bench.bench_wecom:commit_app",
)
PLATFORM = WECOM


def main(platform: Platform = WECOM) -> None:
    global PLATFORM
    PLATFORM = platform
    parser = argparse.ArgumentParser(
        description=f"{platform.name} check-in callbacks: djbot beside the one-commit baseline")
    parser.add_argument("--members", type=int, default=12000,
                        help="djbot's saturation check-ins, one member each "
                             "(imported 5,000 at a time)")
    parser.add_argument("--baseline-requests", type=int, default=30000)
    parser.add_argument("--seconds", type=float, default=10, help="saturation time limit")
    parser.add_argument("--burst", type=int, default=1000)
    parser.add_argument("--burst-seconds", type=float, default=10)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--only", choices=["SQLite", "PostgreSQL"],
                        help="measure on this database alone")
    parser.add_argument("--postgres-url", default=os.environ.get("DJBOT_TEST_POSTGRES_URL"),
                        help="a PostgreSQL server to run the same measurement on")
    parser.add_argument("--json", type=Path, help="write every figure here")
    parser.add_argument("--keep", action="store_true",
                        help="keep the work directory (the databases and djbot's logs)")
    parser.add_argument("--log-level", default="WARNING", help="djbot's log level")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="djbot-bench-wecom-"))
    every: list[dict] = []
    try:
        for run in range(1, args.runs + 1):
            for name, djbot_url, base_url in databases(work, args.postgres_url, f"r{run}"):
                if args.only and name != args.only:
                    continue
                tag = f"r{run}{name[0].lower()}"
                base = measure_baseline(base_url, work, tag, args)
                ours = measure_djbot(djbot_url, work, tag, args)
                ratio_rps = ours["sat"]["rps"] / base["sat"]["rps"]
                ratio_p99 = ours["burst"]["p99_ms"] / base["burst"]["p99_ms"]
                committed = all(r["rows"] >= r["requests"] - r["non_2xx"]
                                for r in (ours["sat"], ours["burst"]))
                print(f"run {run}, {PLATFORM.name} on {name}")
                print(line("baseline", base["sat"]) + "  [saturation]")
                print(line("djbot", ours["sat"]) + "  [saturation]")
                print(line("baseline", base["burst"]) + "  [burst]")
                print(line("djbot", ours["burst"]) + "  [burst]")
                for who, run_ in (("baseline", base["burst"]), ("djbot", ours["burst"])):
                    print(f"  {who}'s slowest in the burst (s from its start, ms): "
                          + ", ".join(f"{due:.2f} {ms:.0f}" for due, ms in run_["slowest"][:5]))
                if ours["rss_mb"] is not None:
                    print(f"  djbot serve resident memory after {ours['callbacks']} callbacks: "
                          f"{ours['rss_mb']:.0f} MB (goal < 150)")
                print(f"  throughput ratio {ratio_rps:.2f} (goal >= 0.5), burst p99 ratio "
                      f"{ratio_p99:.2f} (goal <= 3), every answered check-in committed: "
                      f"{committed}", flush=True)
                every.append({"run": run, "platform": PLATFORM.name, "database": name,
                              "djbot": ours, "baseline": base, "throughput_ratio": ratio_rps,
                              "p99_ratio": ratio_p99, "committed": committed})
    finally:
        if args.keep:
            print(f"kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    if args.json:
        args.json.write_text(json.dumps(every, indent=1))


if __name__ == "__main__":
    main()
