"""Open-loop reads for ``scripts/bench.py``: GETs fired on a fixed schedule, whether or not earlier ones answered.

A closed loop (N clients, each waiting for its answer) slows down with the server and hides saturation; here
request i leaves at start + i/rate and its latency counts from that moment, so a saturated API shows as growing
latency (and a lower achieved rate), not as a politely lower offered rate.

The client is a few lines of HTTP/1.1 over asyncio streams with keep-alive connections: httpx spends about a
millisecond of CPU per request, at 500/s half a core of the two the API also needs.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from collections import Counter
from typing import Any
from urllib.parse import urlparse

from bench_load import latency_ms

Connection = tuple[asyncio.StreamReader, asyncio.StreamWriter]


class RawGets:
    """Keep-alive GETs to one host, at most ``limit`` connections: waiting for one counts as latency, and a
    saturated API gets no more than ``limit`` requests at once, so its backlog stays bounded."""

    IDLE_MAX = 2.0  # seconds; uvicorn closes a keep-alive connection idle for 5

    def __init__(self, url: str, token: str, limit: int = 64) -> None:
        parsed = urlparse(url)
        self.host = parsed.hostname or "127.0.0.1"
        self.port = parsed.port or 80
        self.head = f"Host: {self.host}:{self.port}\r\nAuthorization: Bearer {token}\r\nAccept: */*\r\n\r\n"
        self.idle: list[tuple[float, Connection]] = []
        self.slots = asyncio.Semaphore(limit)
        self.opened = 0

    def _reuse(self) -> Connection | None:
        """The most recently used idle connection; older ones the server may be closing are dropped."""
        now = time.monotonic()
        while self.idle:
            used, conn = self.idle.pop()
            if now - used < self.IDLE_MAX and not conn[0].at_eof():
                return conn
            conn[1].close()
        return None

    async def get(self, path: str) -> int:
        async with self.slots:
            for attempt in (1, 2):
                conn = self._reuse()
                reused = conn is not None
                if conn is None:
                    conn = await asyncio.open_connection(self.host, self.port)
                    self.opened += 1
                reader, writer = conn
                try:
                    writer.write(f"GET {path} HTTP/1.1\r\n{self.head}".encode())
                    await writer.drain()
                    status, keep = await _response(reader)
                except (asyncio.IncompleteReadError, ConnectionResetError) as exc:
                    writer.close()
                    partial = getattr(exc, "partial", b"")
                    if reused and not partial and attempt == 1:
                        continue  # closed by the server while idle: the request never arrived, send it again
                    raise
                except BaseException:  # also a cancelled (timed-out) call: the connection is in an unknown state
                    writer.close()
                    raise
                if keep:
                    self.idle.append((time.monotonic(), conn))
                else:
                    writer.close()
                return status
        raise AssertionError("unreachable")

    async def close(self) -> None:
        for _, (_, writer) in self.idle:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
        self.idle.clear()


async def _response(reader: asyncio.StreamReader) -> tuple[int, bool]:
    """Status and keep-alive of one response, its body read and dropped (Content-Length or chunked)."""
    lines = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {k.strip().lower(): v.strip().lower() for k, _, v in (h.partition(":") for h in lines[1:] if h)}
    if "content-length" in headers:
        await reader.readexactly(int(headers["content-length"]))
    elif headers.get("transfer-encoding") == "chunked":
        while True:
            size = int((await reader.readline()).split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    return status, headers.get("connection") != "close"


async def open_loop(gets: RawGets, paths: list[str], rate: float, seconds: float, give_up: float = 10.0
                    ) -> dict[str, Any]:
    """``rate`` GETs a second for ``seconds``, spread over ``paths``; latency from each request's scheduled time."""
    loop = asyncio.get_running_loop()
    total = max(int(rate * seconds), 1)
    latencies: list[float] = []
    errors: Counter[str] = Counter()
    examples: dict[str, str] = {}
    last = 0.0
    start = loop.time() + 0.05

    async def one(i: int, at: float) -> None:
        nonlocal last
        try:
            status = await asyncio.wait_for(gets.get(paths[i % len(paths)]), give_up)
            if status == 200:
                latencies.append(loop.time() - at)
            else:
                errors[str(status)] += 1
        except TimeoutError:
            errors["timeout"] += 1
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError, IndexError) as exc:
            errors[type(exc).__name__] += 1
            examples.setdefault(type(exc).__name__, str(exc)[:200])
        last = max(last, loop.time())

    tasks: list[asyncio.Task[None]] = []
    late = 0
    for i in range(total):
        at = start + i / rate
        delay = at - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        elif delay < -0.005:
            late += 1
        tasks.append(asyncio.create_task(one(i, at)))
    await asyncio.gather(*tasks)
    span = last - start
    out: dict[str, Any] = {"offered_per_s": rate, "seconds": seconds, "sent": total, "ok": len(latencies),
                           "achieved_per_s": round(len(latencies) / span, 1) if span > 0 else None,
                           "errors": dict(errors), "error_examples": examples, "sent_late_by_client": late}
    out.update(latency_ms(latencies))
    print(f"  reads at {rate:g}/s: achieved {out['achieved_per_s']}/s, p50 {out['p50_ms']} ms, p99 {out['p99_ms']} "
          f"ms, errors {sum(errors.values())}", file=sys.stderr, flush=True)
    return out
