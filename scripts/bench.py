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


def peak_rss_mb(pid: int) -> dict[str, float]:
    """VmHWM (peak resident set) of the server and the sum over its children."""
    def hwm(p: str) -> float:
        for line in Path(f"/proc/{p}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return 0.0

    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return {"server": hwm(str(pid)), "postgres_children": sum(hwm(c) for c in children)}


async def send_all(client: httpx.AsyncClient, url: str, headers: dict[str, str],
                   bodies: list[bytes], concurrency: int) -> list[float]:
    latencies: list[float] = []
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for body in bodies:
        queue.put_nowait(body)

    async def worker() -> None:
        while not queue.empty():
            body = queue.get_nowait()
            started = time.perf_counter()
            resp = await client.post(url, content=body, headers=headers)
            if resp.status_code != 200:
                raise RuntimeError(f"{resp.status_code}: {resp.text}")
            latencies.append(time.perf_counter() - started)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies


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
        latencies = await send_all(client, url, headers, bodies, args.concurrency)
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
        "peak_rss_mb": {k: round(v) for k, v in peak_rss_mb(pid).items()},
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
