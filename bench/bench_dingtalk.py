"""DingTalk robot check-in callbacks: `djbot serve` beside the one-commit baseline, on SQLite
and on PostgreSQL in the same run (the twin of bench/bench_wecom.py, same harness).

    python -m bench.bench_dingtalk [--postgres-url postgresql://…] [--runs 3] [--seconds 10]

The callbacks are HTTP robot messages signed as DingTalk signs them (the `timestamp` and
`sign` headers, HMAC-SHA256 of the app secret; each request a millisecond apart, since a
pair is good for one body only). The baseline (`commit_app`) checks the sign and the
timestamp's freshness, reads the JSON, commits one INSERT … ON CONFLICT DO NOTHING of the
check-in on the same database and answers. djbot also records the (timestamp, sign) pair,
runs the check-in, and sends its reply after the answer: with no sessionWebhook in these
messages, through the persistent outbox.
"""

from __future__ import annotations

import itertools
import json
import time

from bench import bench_wecom as harness
from bench import loadgen
from bot.adapters.dingtalk.signing import check_callback, sign
from tests import fake_dingtalk as fd

APP_KEY = "ding-bench-key"
APP_SECRET = "ding-bench-secret"
GROUP = "cidGroupBench"
# One millisecond per request over the whole run, half an hour in the past (fresh for an
# hour): a (timestamp, sign) pair is never reused with another body.
_TIMESTAMPS = itertools.count(int(time.time() * 1000) - 1_800_000)


def _request(payload: dict, ts_ms: int) -> tuple[dict[str, str], bytes]:
    headers = {"timestamp": str(ts_ms), "sign": sign(ts_ms, APP_SECRET)}
    return headers, json.dumps(payload, ensure_ascii=False).encode()


def requests_for(members: range, prefix: str) -> list[bytes]:
    out = []
    for i in members:
        ts = next(_TIMESTAMPS)
        payload = fd.robot_message(msg_id=f"{prefix}-{i}", sender=f"u{i:05d}", text="签到",
                                   now_ms=ts, conversation=GROUP)
        headers, body = _request(payload, ts)
        out.append(loadgen.encode("/dingtalk/callback", body, headers))
    return out


def say(url: str, user: str, text: str, msgid: str) -> None:
    import httpx

    ts = next(_TIMESTAMPS)
    headers, body = _request(fd.robot_message(msg_id=msgid, sender=user, text=text, now_ms=ts,
                                              conversation=GROUP), ts)
    httpx.post(f"{url}/dingtalk/callback", content=body, timeout=10,
               headers={**headers, "content-type": "application/json"})


async def commit_app(scope, receive, send):
    """Verify the sign and its freshness, read the message, commit one row, answer."""
    from datetime import datetime, timezone

    if scope["type"] != "http":
        return
    harness._STORE = harness._STORE or harness._store()
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    status, out = 200, b"{}"
    if scope["method"] == "POST":
        headers = {k.decode(): v.decode() for k, v in scope["headers"]}
        refused = check_callback(timestamp=headers.get("timestamp"), signature=headers.get("sign"),
                                 app_secret=APP_SECRET, now=datetime.now(timezone.utc),
                                 max_skew_seconds=3600)
        if refused:
            status, out = 401, b'{"error": "refused"}'
        else:
            payload = json.loads(body)
            await harness._STORE.save(payload["msgId"], payload["senderStaffId"], time.time())
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": out})


DINGTALK = harness.Platform(
    name="DingTalk",
    env={"DJBOT_DINGTALK__ENABLED": "true", "DJBOT_DINGTALK__APP_KEY": APP_KEY,
         "DJBOT_DINGTALK__APP_SECRET": APP_SECRET, "DJBOT_DINGTALK__MODE": "http",
         "DJBOT_DINGTALK__ROBOT_CODE": "bench-robot",
         # Replies queued in the outbox go nowhere reachable: nothing leaves 127.0.0.1.
         "DJBOT_DINGTALK__API_BASE": "http://127.0.0.1:9",
         "DJBOT_DINGTALK__OAPI_BASE": "http://127.0.0.1:9"},
    roster_line="一支部,{name},{role},,{i}\n",
    requests_for=requests_for, say=say, baseline_app="bench.bench_dingtalk:commit_app",
)


if __name__ == "__main__":
    harness.main(DINGTALK)
