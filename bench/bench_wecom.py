"""WeCom AI-bot check-in callbacks: `djbot serve` against a minimal baseline, same server.

    python -m bench.bench_wecom [--members 8000] [--seconds 10]

The baseline is a bare ASGI app that only verifies, decrypts and answers (an encrypted,
finished stream reply), served by the same uvicorn. djbot does the same plus the work:
de-duplication, roster lookup, the check-in row and its points, committed before the
answer. Two figures, each as a ratio to the baseline in the same run:

1. throughput at saturation: wrk, 50 connections, distinct members and msgids;
2. p99 latency in a realistic burst: about 1,000 check-ins paced over 10 seconds.

wrk (a load generator outside Python) replays pre-encrypted requests through
bench/wecom_requests.lua. Results are printed and, with --write, appended to
docs/benchmarks.md under "WeCom callbacks".
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests import fake_wecom as fw  # noqa: E402  (wechatpy's own encryption, as WeCom does)

LUA = Path(__file__).with_name("wecom_requests.lua")
CHAT = "grp-bench"
# wrk paces each connection with delay(): 10 connections, each waiting 100 ms between
# requests, offer about 100 check-ins a second, i.e. 1,000 in 10 s (fewer if the server
# answers slowly: the pacing is closed-loop, so the offered rate is also reported).
BURST_CONNECTIONS = 10


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


def request_file(path: Path, members: range, prefix: str) -> int:
    now = int(time.time())
    with path.open("w") as out:
        for i in members:
            payload = fw.text_callback(msgid=f"{prefix}-{i}", user=f"u{i:05d}", text="签到",
                                       chatid=CHAT)
            params, body = fw.aibot_request(payload, timestamp=now, nonce=f"{i:08d}")
            query = "&".join(f"{k}={v}" for k, v in params.items())
            out.write(f"/wecom/aibot?{query}\t{body.decode()}\n")
    return len(members)


def run_wrk(url: str, file: Path, *, connections: int, seconds: int, threads: int = 2,
            delay_ms: int = 0, limit: int = 0) -> dict:
    cmd = ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{seconds}s", "--latency",
           "--timeout", "10s", "-s", str(LUA), url, "--", str(file), str(threads),
           str(delay_ms), str(limit)]
    started = time.monotonic()
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    wall = time.monotonic() - started
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    total = int(re.search(r"(\d+) requests in", out).group(1))
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)\b", out)
    p99_ms = float(p99.group(1)) * {"us": 0.001, "ms": 1, "s": 1000}[p99.group(2)]
    p50 = re.search(r"50%\s+([\d.]+)(us|ms|s)\b", out)
    p50_ms = float(p50.group(1)) * {"us": 0.001, "ms": 1, "s": 1000}[p50.group(2)]
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors:.*", out)
    return {"rps": rps, "requests": total, "wall_s": wall, "p99_ms": p99_ms, "p50_ms": p50_ms,
            "non_2xx": int(bad.group(1)) if bad else 0,
            "socket_errors": errors.group(0) if errors else "", "raw": out}


def start(cmd: list[str], env: dict, cwd: Path, log: Path) -> subprocess.Popen:
    return subprocess.Popen(cmd, env=env, cwd=cwd, stdout=log.open("wb"),
                            stderr=subprocess.STDOUT)


def stop(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(15)
    except subprocess.TimeoutExpired:
        process.kill()


def count_rows(db_url: str, prefix: str) -> int:
    from sqlalchemy import text

    from storage.db import make_engine

    engine = make_engine(db_url)
    with engine.connect() as conn:
        n = conn.execute(text("SELECT count(*) FROM attendance WHERE message_id LIKE :p"),
                         {"p": f"{prefix}-%"}).scalar_one()
    engine.dispose()
    return n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=8000)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--burst", type=int, default=1000)
    parser.add_argument("--write", action="store_true", help="append to docs/benchmarks.md")
    parser.add_argument("--database-url", help="an empty PostgreSQL database instead of SQLite")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is needed (apt-get install -y wrk)")

    work = Path(tempfile.mkdtemp(prefix="djbot-bench-wecom-"))
    db_url = args.database_url or f"sqlite:///{work / 'djbot.db'}"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DJBOT_DATABASE_URL": db_url,
           "DJBOT_WECOM__ENABLED": "true", "DJBOT_WECOM__AIBOT_TOKEN": fw.AIBOT_TOKEN,
           "DJBOT_WECOM__AIBOT_AES_KEY": fw.AIBOT_AES_KEY}
    total = args.members + args.burst
    roster = work / "roster.csv"
    roster.write_text("支部,姓名,角色,企业微信ID,钉钉ID\n一支部,书记,书记,sec,\n" + "".join(
        f"一支部,党员{i:05d},党员,u{i:05d},\n" for i in range(total)), encoding="utf-8")
    if not db_url.startswith("sqlite"):  # djbot migrates only SQLite by itself
        subprocess.run([sys.executable, "-m", "bot.cli", "db", "upgrade"], env=env, cwd=work,
                       check=True, capture_output=True)
    subprocess.run([sys.executable, "-m", "bot.cli", "import-roster", str(roster)], env=env,
                   cwd=work, check=True, capture_output=True)
    saturation = work / "saturation.txt"
    burst = work / "burst.txt"
    request_file(saturation, range(0, args.members), "sat")
    request_file(burst, range(args.members, total), "burst")

    results: dict[str, dict] = {}
    # djbot
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = start([sys.executable, "-m", "bot.cli", "serve", "--port", str(port)], env, work,
                 work / "djbot.log")
    try:
        wait_ready(f"{url}/healthz", proc, work / "djbot.log")
        import httpx

        for i, text in enumerate(["绑定 一支部", "开始 主题党日"]):
            params, body = fw.aibot_request(
                fw.text_callback(msgid=f"setup-{i}", user="sec", text=text, chatid=CHAT),
                timestamp=int(time.time()))
            answer = httpx.post(f"{url}/wecom/aibot", params=params, content=body, timeout=10)
            print(text, "→", fw.open_aibot_reply(answer.json())["stream"]["content"][:40])
        results["djbot_sat"] = run_wrk(url, saturation, connections=50, seconds=args.seconds)
        results["djbot_sat"]["rows"] = count_rows(db_url, "sat")
        results["djbot_burst"] = run_wrk(url, burst, connections=BURST_CONNECTIONS,
                                         seconds=args.seconds + 5, delay_ms=100,
                                         limit=args.burst)
        results["djbot_burst"]["rows"] = count_rows(db_url, "burst")
    finally:
        stop(proc)
    # baseline, same uvicorn, same machine, same request files
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = start([sys.executable, "-m", "uvicorn", "bench.bench_wecom:baseline_app",
                  "--host", "127.0.0.1", "--port", str(port), "--no-access-log",
                  "--log-level", "warning"], env, ROOT, work / "baseline.log")
    try:
        wait_ready(f"{url}/", proc, work / "baseline.log")
        results["base_sat"] = run_wrk(url, saturation, connections=50, seconds=args.seconds)
        results["base_burst"] = run_wrk(url, burst, connections=BURST_CONNECTIONS,
                                        seconds=args.seconds + 5, delay_ms=100,
                                        limit=args.burst)
    finally:
        stop(proc)

    for name, r in results.items():
        print(f"{name}: {r['rps']:.0f} req/s, {r['requests']} requests in {r['wall_s']:.1f} s,"
              f" p50 {r['p50_ms']:.1f} ms,"
              f" p99 {r['p99_ms']:.1f} ms, non-2xx {r['non_2xx']}, rows {r.get('rows', '-')}"
              f" {r['socket_errors']}")
    throughput_ratio = results["djbot_sat"]["rps"] / results["base_sat"]["rps"]
    p99_ratio = results["djbot_burst"]["p99_ms"] / results["base_burst"]["p99_ms"]
    committed = results["djbot_sat"]["rows"] >= results["djbot_sat"]["requests"] - \
        results["djbot_sat"]["non_2xx"]
    print(f"throughput ratio {throughput_ratio:.2f} (goal >= 0.5); p99 ratio {p99_ratio:.2f} "
          f"(goal <= 3); every answered check-in committed: {committed}")
    if args.write:
        write_section(results, throughput_ratio, p99_ratio, committed, args)
    shutil.rmtree(work, ignore_errors=True)


def write_section(results, throughput_ratio, p99_ratio, committed, args) -> None:
    ds, bs, db_, bb = (results[k] for k in ("djbot_sat", "base_sat", "djbot_burst", "base_burst"))
    cpu = os.cpu_count()
    lines = [
        "",
        "## WeCom callbacks",
        "",
        f"`python -m bench.bench_wecom --write` ({time.strftime('%Y-%m-%d')}, {cpu} cores shared "
        "by wrk and the server, SQLite, one uvicorn process). AI-bot check-in callbacks, each a "
        "distinct member and msgid, encrypted beforehand with wechatpy and replayed by wrk "
        "(`bench/wecom_requests.lua`). The baseline is a bare ASGI app on the same uvicorn that "
        "only verifies, decrypts and answers with an encrypted finished stream.",
        "",
        "| run | djbot | baseline | ratio | goal |",
        "|---|---|---|---|---|",
        f"| saturation, 50 connections, {args.seconds} s: throughput | {ds['rps']:.0f} req/s | "
        f"{bs['rps']:.0f} req/s | {throughput_ratio:.2f} | ≥ 0.5 |",
        f"| burst, ~{args.burst} check-ins paced over ~10 s: p99 | {db_['p99_ms']:.1f} ms | "
        f"{bb['p99_ms']:.1f} ms | {p99_ratio:.2f} | ≤ 3 |",
        f"| burst: p50 | {db_['p50_ms']:.1f} ms | {bb['p50_ms']:.1f} ms | | |",
        "",
        f"Saturation: djbot answered {ds['requests']} requests (non-2xx {ds['non_2xx']}) and the "
        f"database holds {ds['rows']} check-ins from them; every answered check-in was committed "
        f"before its answer: {'yes' if committed else 'NO'}. Burst: {db_['requests']} answered, "
        f"{db_['rows']} stored.",
        "",
    ]
    path = ROOT / "docs" / "benchmarks.md"
    with path.open("a", encoding="utf-8") as out:
        out.write("\n".join(lines))


if __name__ == "__main__":
    main()
