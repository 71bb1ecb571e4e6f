"""Load generator for a running all-in-one (``make run``, then ``make bench``).

Sends N envelopes shaped like sentry-python's, from C concurrent connections, and reports:
events/s accepted, events/s processed (until every event is counted in the issues API),
p50/p99 accept latency, time until the last event is queryable, and peak RSS of the
server process and of its PostgreSQL children.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

USER_AGENT = ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
              "Chrome/120.0 Safari/537.36")


def envelope(event_id: str, kind: int) -> bytes:
    event: dict[str, Any] = {
        "event_id": event_id,
        "timestamp": time.time(),
        "platform": "python",
        "level": "error",
        "server_name": f"bench-{kind % 3}",
        "release": "bench@1.0.0",
        "exception": {"values": [{
            "type": f"BenchError{kind}",
            "value": f"request {event_id} failed after {kind} retries",
            "mechanism": {"type": "generic", "handled": True},
            "stacktrace": {"frames": [
                {"filename": "app/views.py", "module": "app.views", "function": "handle",
                 "lineno": 42, "in_app": True, "context_line": "    return compute(x)"},
                {"filename": "app/compute.py", "module": "app.compute",
                 "function": f"compute_{kind}", "lineno": 7, "in_app": True,
                 "context_line": "    raise BenchError()"},
            ]},
        }]},
        "request": {"method": "GET", "url": f"https://example.com/items/{kind}",
                    "headers": {"User-Agent": USER_AGENT}},
        "user": {"id": str(kind % 50)},
    }
    payload = json.dumps(event).encode()
    header = json.dumps({"event_id": event_id}).encode()
    item = json.dumps({"type": "event", "length": len(payload)}).encode()
    return header + b"\n" + item + b"\n" + payload + b"\n"


def _proc_kb(path: str, field: str) -> float:
    for line in Path(path).read_text().splitlines():
        if line.startswith(field):
            return int(line.split()[1]) / 1024
    return 0.0


def memory_mb(pid: int) -> dict[str, float]:
    """The server's peak RSS (VmHWM), and the proportional set size (PSS, which splits
    shared memory fairly instead of counting it once per process) of its descendants:
    the embedded PostgreSQL server and its backends, measured now."""

    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    descendants, frontier = [], [pid]
    while frontier:
        children = [child for child, parent in parents.items() if parent in frontier]
        descendants += children
        frontier = children
    return {
        "server_peak_rss": _proc_kb(f"/proc/{pid}/status", "VmHWM:"),
        "postgres_pss": sum(_proc_kb(f"/proc/{c}/smaps_rollup", "Pss:") for c in descendants),
    }


async def send_all(url: str, headers: dict[str, str], bodies: list[bytes],
                   concurrency: int) -> list[float]:
    """POST every body over ``concurrency`` keep-alive connections.

    A minimal HTTP/1.1 client on raw asyncio streams: a full-featured client costs more
    CPU per request than the server under test, and both share this machine's 2 cores.
    """
    parts = urlsplit(url)
    head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    latencies: list[float] = []
    queue: list[bytes] = list(reversed(bodies))

    async def worker() -> None:
        reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
        try:
            while queue:
                body = queue.pop()
                request = (f"POST {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\n{head}"
                           f"Content-Length: {len(body)}\r\n\r\n").encode() + body
                started = time.perf_counter()
                writer.write(request)
                status, response = await read_response(reader)
                if status != 200:
                    raise RuntimeError(f"{status}: {response[:200]!r}")
                latencies.append(time.perf_counter() - started)
        finally:
            writer.close()

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    length = next((int(line.split(":", 1)[1]) for line in lines
                   if line.lower().startswith("content-length:")), 0)
    return status, await reader.readexactly(length)


async def counted_events(client: httpx.AsyncClient, base: str, token: str) -> int:
    total, cursor = 0, ""
    while True:
        resp = await client.get(
            f"{base}/api/0/projects/default/default/issues/",
            params={"limit": 100, "cursor": cursor, "query": ""},
            headers={"Authorization": f"Bearer {token}"},
        )
        resp.raise_for_status()
        total += sum(int(issue["count"]) for issue in resp.json())
        link = resp.headers.get("link", "")
        if 'rel="next"; results="true"' not in link:
            return total
        cursor = link.split('rel="next"; results="true"; cursor="')[1].split('"')[0]


async def run(args: argparse.Namespace) -> dict[str, Any]:
    boot = json.loads((Path(args.data_dir) / "bootstrap.json").read_text())
    key, rest = boot["dsn"].split("://", 1)[1].split("@", 1)
    project_id = rest.rsplit("/", 1)[1]
    base = boot["url"].rstrip("/")
    url = f"{base}/api/{project_id}/envelope/"
    headers = {"X-Sentry-Auth": f"Sentry sentry_version=7, sentry_key={key}",
               "Content-Type": "application/x-sentry-envelope"}
    bodies = [envelope(uuid.uuid4().hex, i % args.kinds) for i in range(args.events)]
    limits = httpx.Limits(max_connections=args.concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:
        before = await counted_events(client, base, boot["api_token"])
        started = time.perf_counter()
        latencies = await send_all(url, headers, bodies, args.concurrency)
        accepted_s = time.perf_counter() - started
        while await counted_events(client, base, boot["api_token"]) < before + args.events:
            if time.perf_counter() - started > args.timeout:
                raise RuntimeError("timed out waiting for events to be processed")
            await asyncio.sleep(0.2)
        processed_s = time.perf_counter() - started
    latencies.sort()
    pid = int((Path(args.data_dir) / "faultline.pid").read_text())
    return {
        "events": args.events,
        "concurrency": args.concurrency,
        "accepted_events_per_s": round(args.events / accepted_s),
        "processed_events_per_s": round(args.events / processed_s),
        "accept_latency_p50_ms": round(statistics.median(latencies) * 1000, 1),
        "accept_latency_p99_ms": round(latencies[int(len(latencies) * 0.99) - 1] * 1000, 1),
        "last_event_queryable_after_s": round(processed_s, 2),
        "memory_mb": {k: round(v) for k, v in memory_mb(pid).items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=20000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--kinds", type=int, default=20, help="distinct issues")
    parser.add_argument("--timeout", type=float, default=300)
    parser.add_argument("--data-dir", default=os.environ.get("FAULTLINE_DATA_DIR", "data"))
    print(json.dumps(asyncio.run(run(parser.parse_args())), indent=2))


if __name__ == "__main__":
    main()
