"""A small HTTP/1.1 load generator on asyncio streams, for machines without wrk.

Pre-built POST requests (path and body) go out over keep-alive connections to
127.0.0.1 only; every run is bounded by a request count and a time limit.

- saturate(): N connections, each sending its next request as soon as the last is answered
  (closed loop: throughput at saturation);
- paced(): open loop, request i is due at i * seconds / count whatever the server does;
  its latency counts from when it was due, so a slow server's queue shows in the p99.

No parsing beyond the status line, Content-Length and chunked bodies; one event loop in
one process (about 8-10k requests/s on one core, enough for the servers measured here).
"""

from __future__ import annotations

import asyncio
import gc
import statistics
import time
from dataclasses import dataclass, field


@dataclass
class Result:
    requests: int = 0
    non_2xx: int = 0
    errors: int = 0
    wall_s: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    # Paced runs: when each request was due, in seconds from the start (the same order).
    due_s: list[float] = field(default_factory=list)

    @property
    def rps(self) -> float:
        return self.requests / self.wall_s if self.wall_s else 0.0

    def percentile(self, q: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))]

    def summary(self) -> dict:
        return {"rps": self.rps, "requests": self.requests, "wall_s": self.wall_s,
                "p50_ms": self.percentile(50), "p99_ms": self.percentile(99),
                "non_2xx": self.non_2xx, "socket_errors": self.errors,
                "mean_ms": statistics.fmean(self.latencies_ms) if self.latencies_ms else 0.0,
                "slowest": self.slowest()}

    def slowest(self, n: int = 10) -> list[tuple[float, float]]:
        """A paced run's n slowest requests as (due, in s from the start; latency, ms): a
        stall shows as a run of them due one after another, and when it came."""
        pairs = sorted(zip(self.latencies_ms, self.due_s), reverse=True)[:n]
        return [(round(due, 3), round(ms, 1)) for ms, due in pairs]


def encode(path: str, body: bytes, headers: dict[str, str] | None = None) -> bytes:
    extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
    head = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"{extra}Content-Length: {len(body)}\r\n\r\n").encode()
    return head + body


def load_requests(file) -> list[bytes]:
    """Lines of `path<TAB>body` (the format bench/wecom_requests.lua also reads)."""
    out = []
    with open(file, encoding="utf-8") as lines:
        for line in lines:
            path, _, body = line.rstrip("\n").partition("\t")
            out.append(encode(path, body.encode()))
    return out


async def _read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            key, _, value = line.partition(":")
            headers[key.strip().lower()] = value.strip()
    if "content-length" in headers:
        await reader.readexactly(int(headers["content-length"]))
    elif headers.get("transfer-encoding", "").lower() == "chunked":
        while True:
            size = int((await reader.readuntil(b"\r\n")).strip(), 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    return status


class _Connection:
    def __init__(self, host: str, port: int):
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def connect(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)

    async def send(self, request: bytes) -> int:
        if self.writer is None:
            await self.connect()
        try:
            self.writer.write(request)
            return await _read_response(self.reader)
        except (OSError, asyncio.IncompleteReadError):
            self.close()
            raise

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


# Time for the gate's thousand waiters to be woken before the first request is due.
START_LEAD_SECONDS = 0.05


def _check_host(host: str) -> None:
    if host != "127.0.0.1":
        raise ValueError("the load generator only talks to 127.0.0.1")


async def _saturate(host, port, requests, connections, seconds) -> Result:
    _check_host(host)
    result = Result()
    queue = iter(requests)
    started = time.perf_counter()
    deadline = started + seconds

    async def worker():
        conn = _Connection(host, port)
        try:
            for request in queue:
                if time.perf_counter() >= deadline:
                    return
                sent = time.perf_counter()
                try:
                    status = await conn.send(request)
                except (OSError, asyncio.IncompleteReadError):
                    result.errors += 1
                    continue
                result.latencies_ms.append((time.perf_counter() - sent) * 1000)
                result.requests += 1
                if not 200 <= status < 300:
                    result.non_2xx += 1
        finally:
            conn.close()

    await asyncio.gather(*(worker() for _ in range(connections)))
    result.wall_s = time.perf_counter() - started
    return result


async def _paced(host, port, requests, seconds, connections, timeout) -> Result:
    _check_host(host)
    result = Result()
    pool: asyncio.Queue[_Connection] = asyncio.Queue()
    # The clock starts once the connections are open and every request waits for its
    # turn: the generator's own start (connecting, a thousand tasks, a collection of its
    # garbage) once held a burst's first tenth of a second up, whichever server it met.
    opened = [_Connection(host, port) for _ in range(connections)]
    await asyncio.gather(*(conn.connect() for conn in opened))
    for conn in opened:
        pool.put_nowait(conn)
    step = seconds / max(1, len(requests))
    gate = asyncio.Event()
    started = 0.0

    async def one(i: int, request: bytes):
        await gate.wait()
        due = started + i * step
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        conn = await pool.get()
        try:
            status = await conn.send(request)
        except (OSError, asyncio.IncompleteReadError):
            result.errors += 1
            return
        finally:
            pool.put_nowait(conn)
        result.latencies_ms.append((time.perf_counter() - due) * 1000)
        result.due_s.append(due - started)
        result.requests += 1
        if not 200 <= status < 300:
            result.non_2xx += 1

    tasks = [asyncio.ensure_future(one(i, r)) for i, r in enumerate(requests)]
    await asyncio.sleep(0)  # every task waits at the gate
    gc.collect()
    started = time.perf_counter() + START_LEAD_SECONDS
    gate.set()
    await asyncio.wait(tasks, timeout=seconds + START_LEAD_SECONDS + timeout)
    for task in tasks:
        task.cancel()
    result.wall_s = time.perf_counter() - started
    while not pool.empty():
        pool.get_nowait().close()
    return result


def saturate(port: int, requests: list[bytes], *, connections: int = 50, seconds: float = 10,
             host: str = "127.0.0.1") -> dict:
    """Closed loop: as many requests as the server answers in `seconds` (at most all)."""
    return asyncio.run(_saturate(host, port, requests, connections, seconds)).summary()


def paced(port: int, requests: list[bytes], *, seconds: float = 10, connections: int = 50,
          timeout: float = 20, host: str = "127.0.0.1") -> dict:
    """Open loop: the requests evenly spread over `seconds`, latency from when each was due."""
    return asyncio.run(_paced(host, port, requests, seconds, connections, timeout)).summary()
