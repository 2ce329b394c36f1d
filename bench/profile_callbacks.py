"""Where a check-in callback's CPU goes, in process: the ASGI app called directly, no sockets.

    python -m bench.profile_callbacks [--members 3000] [--concurrency 50]
                                      [--platform wecom|dingtalk] [--database-url URL]
                                      [--profile] [--sort tottime] [--baseline] [--floor]

A roster in one bound group, one open 主题党日, then every member's AI-bot callback
(encrypted with wechatpy, as WeCom does) or DingTalk robot callback (signed as DingTalk
signs, each a millisecond apart, as in bench/bench_dingtalk.py) is sent to the app
`djbot serve` runs, at most `--concurrency` at a time. Prints CPU per callback and, with
`--profile`, a breakdown by layer (framework, ORM/Core, the database driver, crypto,
djbot's own code) from cProfile.
The load generator and uvicorn's HTTP parsing are not in it: this is the server's own work.

`--floor` measures, in turns in one process, what bounds the ratio to the baseline: djbot
with each statement's time in the driver summed; the same callbacks with the dispatcher
answering at once (the HTTP side: the framework, crypto, parsing, the reply); and the
baseline. The HTTP side plus the statements is what a callback would cost if everything
else djbot does for a check-in (the command, the look-up's and writes' Python, the lane)
cost nothing: baseline ÷ that is the best ratio this design can reach in process.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import pstats
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests import fake_wecom as fw  # noqa: E402

CHAT = "grp-profile"  # bench/profile_checkin.py's bound group

# cProfile's files, grouped into the layers the issue names.
LAYERS = [
    ("sqlalchemy/sqlmodel", ("sqlalchemy", "sqlmodel")),
    ("database driver", ("sqlite3", "psycopg", "<method 'execute'", "<method 'commit'")),
    ("framework (fastapi/starlette/anyio)", ("fastapi", "starlette", "anyio", "pydantic")),
    ("crypto", ("wechatpy", "cryptography", "crypto.py", "hashlib", "_hashlib")),
    ("asyncio and threads", ("asyncio", "threading", "concurrent", "queue.py")),
    ("logging", ("logging", "logs.py")),
    ("djbot", ("/bot/", "/handlers/", "/storage/")),
]


def _layer(filename: str, name: str) -> str:
    where = f"{filename}:{name}"
    for label, needles in LAYERS:
        if any(n in where for n in needles):
            return label
    return "other"


def breakdown(stats: pstats.Stats) -> list[tuple[str, float]]:
    """Self time per layer, as shares of the total."""
    totals: dict[str, float] = {}
    for (filename, _line, name), (_cc, _nc, tottime, _ct, _callers) in stats.stats.items():
        layer = _layer(filename, name)
        totals[layer] = totals.get(layer, 0.0) + tottime
    whole = sum(totals.values()) or 1.0
    return sorted(((k, v / whole) for k, v in totals.items()), key=lambda kv: -kv[1])


# Waiting, not work: the event loop's poll and the writer's wait for the queue.
IDLE = {"<method 'poll' of 'select.epoll' objects>",
        "<method 'acquire' of '_thread.lock' objects>",
        "<method 'get' of '_queue.SimpleQueue' objects>"}


def _profile_writer(runtime) -> cProfile.Profile:
    """Profile the dispatcher's work in the writer thread too (cProfile sees one thread)."""
    profiler = cProfile.Profile()
    dispatcher = runtime.dispatcher
    handle_batch = dispatcher.handle_batch

    def profiled(messages, contexts=None):
        return profiler.runcall(handle_batch, messages, contexts)

    dispatcher.handle_batch = profiled
    if dispatcher._writer is not None:  # made by the warm-up's first message
        dispatcher._writer.handle_batch = profiled
    return profiler


def build(url: str, members: int, platform: str):
    from bench import bench_dingtalk
    from bench.profile_checkin import seed
    from bot.app import create_app
    from bot.config import Settings
    from bot.runtime import build_runtime
    from storage.db import make_engine, upgrade

    if platform == "wecom":
        settings = Settings(database_url=url, _env_file=None, log_level="WARNING",
                            wecom={"enabled": True, "aibot_token": fw.AIBOT_TOKEN,
                                   "aibot_aes_key": fw.AIBOT_AES_KEY})
    else:  # replies go by the outbox to an address nothing answers, as in bench_dingtalk
        settings = Settings(database_url=url, _env_file=None, log_level="WARNING",
                            dingtalk={"enabled": True, "mode": "http",
                                      "app_key": bench_dingtalk.APP_KEY,
                                      "app_secret": bench_dingtalk.APP_SECRET,
                                      "api_base": "http://127.0.0.1:9",
                                      "oapi_base": "http://127.0.0.1:9"})
    engine = make_engine(url)
    upgrade(engine)
    seed(engine, members, platform)  # the same bureau as bench/profile_checkin.py
    runtime = build_runtime(settings, engine=engine, migrate=False)
    return runtime, create_app(runtime, start_background=False)


async def call(app, request: Request) -> tuple[int, bytes]:
    path, params, headers, body = request
    query = "&".join(f"{k}={v}" for k, v in params.items()).encode()
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": "POST", "scheme": "http", "path": path, "raw_path": path.encode(),
             "query_string": query, "root_path": "",
             "headers": [(b"host", b"127.0.0.1"), (b"content-type", b"application/json"),
                         (b"content-length", str(len(body)).encode()),
                         *((k.encode(), v.encode()) for k, v in headers.items())],
             "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80)}
    sent = False
    out: dict = {"status": 0, "body": b""}

    async def receive():
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.sleep(3600)  # the client stays connected
        return {"type": "http.disconnect"}

    async def send(message):
        if message["type"] == "http.response.start":
            out["status"] = message["status"]
        elif message["type"] == "http.response.body":
            out["body"] += message.get("body", b"")

    await app(scope, receive, send)
    return out["status"], out["body"]


# (path, query, headers, body)
Request = tuple[str, dict, dict, bytes]


def requests(platform: str, members: range, prefix: str, text: str = "签到") -> list[Request]:
    """Each member's callback, as the platform sends it; member -1 is the secretary."""
    def user(i: int) -> str:
        return "sec" if i < 0 else f"u{i:05d}"

    if platform == "wecom":
        now = int(time.time())
        out: list[Request] = []
        for i in members:
            params, body = fw.aibot_request(
                fw.text_callback(msgid=f"{prefix}-{i}", user=user(i), text=text, chatid=CHAT),
                timestamp=now, nonce=f"{prefix}{i:08d}")
            out.append(("/wecom/aibot", params, {}, body))
        return out
    from bench import bench_dingtalk
    from tests import fake_dingtalk as fd

    out = []
    for i in members:
        ts = next(bench_dingtalk._TIMESTAMPS)  # a (timestamp, sign) pair carries one body
        headers, body = bench_dingtalk._request(fd.robot_message(
            msg_id=f"{prefix}-{i}", sender=user(i), text=text, now_ms=ts,
            conversation=CHAT), ts)
        out.append(("/dingtalk/callback", {}, headers, body))
    return out


async def drive(app, batch: list[Request], concurrency: int) -> list[int]:
    gate = asyncio.Semaphore(concurrency)

    async def one(request):
        async with gate:
            status, _ = await call(app, request)
            return status

    return await asyncio.gather(*(one(r) for r in batch))


class _Lifespanless:
    """The baseline is a bare ASGI callable: no lifespan, no router."""

    def __init__(self, app) -> None:
        self.app = app
        self.router = self

    def lifespan_context(self, _app):
        import contextlib

        return contextlib.nullcontext()

    async def __call__(self, scope, receive, send):
        await self.app(scope, receive, send)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--platform", choices=("wecom", "dingtalk"), default="wecom")
    parser.add_argument("--database-url", help="an empty PostgreSQL database instead of SQLite")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--baseline", action="store_true",
                        help="profile bench_wecom's one-commit baseline instead of djbot")
    parser.add_argument("--floor", action="store_true",
                        help="djbot, its statements, the HTTP side alone and the baseline")
    parser.add_argument("--sort", default="tottime")
    parser.add_argument("--top", type=int, default=30)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="djbot-cb-"))
    url = args.database_url or f"sqlite:///{work / 'djbot.db'}"
    runtime, app = build(url, args.members + 1, args.platform)
    if args.baseline:
        app = baseline_app(args.platform, url)

    async def run() -> None:
        async with app.router.lifespan_context(app):
            await open_and_warm(app, args.platform, args.concurrency)
            batch = requests(args.platform, range(100, args.members), "cb")
            profiler = cProfile.Profile() if args.profile else None
            writer = _profile_writer(runtime) if args.profile and not args.baseline else None
            cpu, wall = time.process_time(), time.perf_counter()
            if profiler:
                profiler.enable()
            statuses = await drive(app, batch, args.concurrency)
            if profiler:
                profiler.disable()
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            n = len(batch)
            bad = sum(1 for s in statuses if s != 200)
            print(f"{n} check-in callbacks on {runtime.engine.dialect.name}, concurrency "
                  f"{args.concurrency}: {cpu / n * 1000:.3f} ms CPU and {wall / n * 1000:.3f} ms "
                  f"wall each ({n / wall:.0f}/s in process); non-200: {bad}")
            if profiler:
                # The event loop's thread and the writer's, together (waiting excluded).
                stats = pstats.Stats(profiler)
                if writer is not None and writer.getstats():
                    stats.add(writer)
                for name in [k for k in stats.stats if k[2] in IDLE]:
                    del stats.stats[name]
                for layer, share in breakdown(stats):
                    print(f"  {share:6.1%}  {layer}")
                stats.sort_stats(args.sort).print_stats(args.top)

    try:
        asyncio.run(floor(args, runtime, app, url) if args.floor else run())
    finally:
        runtime.engine.dispose()
        shutil.rmtree(work, ignore_errors=True)  # its SQLite file and the WAL: megabytes


def baseline_app(platform: str, url: str) -> _Lifespanless:
    """The bench's one-commit baseline for the platform, on a database beside djbot's."""
    from bench import bench_dingtalk, bench_wecom

    os.environ["BENCH_COMMIT_DB"] = url.replace("djbot.db", "baseline.db")
    harness = bench_wecom if platform == "wecom" else bench_dingtalk
    return _Lifespanless(harness.commit_app)


async def open_and_warm(app, platform: str, concurrency: int) -> None:
    """The secretary opens the theme day (the baseline takes it as any check-in), then 100
    members check in before anything is timed."""
    opener = requests(platform, range(-1, 0), "open", "开始 主题党日")[0]
    assert (await call(app, opener))[0] == 200
    await drive(app, requests(platform, range(0, 100), "warm"), concurrency)


def server_cpu() -> float | None:
    """Seconds of CPU the local PostgreSQL's processes have used (None when none runs here).

    On a machine of two cores the server's work competes with djbot's for the same CPU, so
    a statement that costs the server more lowers the rate as much as Python does."""
    tick = os.sysconf("SC_CLK_TCK")
    total, found = 0, False
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:  # ended meanwhile
            continue
        name, _, rest = text.partition(") ")
        if not name.endswith("(postgres"):
            continue
        fields = rest.split()
        found = True
        total += sum(int(f) for f in fields[11:15])  # utime stime cutime cstime
    return total / tick if found else None


async def _timed(app, batch: list[Request], concurrency: int, *,
                 server: bool = False) -> tuple[float, float | None]:
    """CPU per callback, in ms, of this process and, with `server`, of a local PostgreSQL
    server (None when none runs here); every callback must be answered 200."""
    cpu, before = time.process_time(), server_cpu() if server else None
    statuses = await drive(app, batch, concurrency)
    cpu = time.process_time() - cpu
    spent = None
    if before is not None:
        spent = (server_cpu() - before) / len(batch) * 1000
    if any(status != 200 for status in statuses):
        raise SystemExit(f"{sum(s != 200 for s in statuses)} callbacks not answered 200")
    return cpu / len(batch) * 1000, spent


async def floor(args, runtime, app, url: str) -> None:
    from bot.core import Reply
    from storage import prepared

    spent = {"seconds": 0.0, "statements": 0}
    execute = prepared._execute

    def timed_execute(conn, sql, parameters, returns_rows):
        started = time.perf_counter()
        try:
            return execute(conn, sql, parameters, returns_rows)
        finally:
            spent["seconds"] += time.perf_counter() - started
            spent["statements"] += 1

    reply = Reply("张三 签到成功：主题党日（14:00），积分 +2。")

    def answer_at_once(message):
        future = asyncio.get_running_loop().create_future()
        future.set_result((reply, False))
        return future

    baseline = baseline_app(args.platform, url)
    members = range(100, args.members)
    dialect = runtime.engine.dialect.name
    on_server = dialect == "postgresql"  # SQLite's work is in this process's own CPU
    async with app.router.lifespan_context(app):
        await open_and_warm(app, args.platform, args.concurrency)
        await open_and_warm(baseline, args.platform, args.concurrency)
        prepared._execute = timed_execute
        try:
            whole, whole_server = await _timed(app, requests(args.platform, members, "cb"),
                                               args.concurrency, server=on_server)
        finally:
            prepared._execute = execute
        statements = spent["seconds"] / len(members) * 1000
        runtime.dispatcher.deliver = answer_at_once  # the adapters' way in to the dispatcher
        http, _ = await _timed(app, requests(args.platform, members, "stub"), args.concurrency)
        base, base_server = await _timed(baseline, requests(args.platform, members, "base"),
                                         args.concurrency, server=on_server)
    n = spent["statements"] / len(members)
    # On PostgreSQL the event loop sends the check-ins' statements in pipelines (bot.pglane),
    # past the driver's cursor: only those the writer threads send are timed.
    timed = (f"  its statements in the driver       {statements:.3f} ({n:.1f} a check-in; wall)\n"
             if dialect == "sqlite" or n else "")
    print(f"{args.platform} on {dialect}, {len(members)} check-ins each, ms of CPU a callback:\n"
          f"  djbot                              {whole:.3f}\n"
          f"{timed}"
          f"  the HTTP side (dispatcher stubbed) {http:.3f}\n"
          f"  the one-commit baseline            {base:.3f}\n"
          f"  ratio as measured {base / whole:.2f}", end="")
    if dialect == "sqlite":  # on the event loop: a statement's wall time is its CPU
        print(f"; with nothing but the HTTP side and the statements "
              f"{base / (http + statements):.2f}")
    else:  # waiting for the server, side by side: wall is not CPU
        print("; no floor: the statements' wall time is mostly waiting for the server")
    if whole_server is not None and base_server is not None:
        print(f"  the local server's CPU a callback: djbot {whole_server:.3f}, baseline "
              f"{base_server:.3f}; ratio of both sides together "
              f"{(base + base_server) / (whole + whole_server):.2f}")


if __name__ == "__main__":
    main()
