"""Benchmark of the distributed mode: four processes on Kafka, ClickHouse and PostgreSQL.

Starts the real infrastructure with the test harness (Debian's PostgreSQL and ClickHouse
18.16, Apache Kafka in KRaft), the four services as separate processes, then measures:

1. relay events/s and p99 accept latency, with the processor stopped (Kafka absorbs all);
2. processor events/s: the processor started on that backlog, until every event is counted;
3. end-to-end latency (the processor's relay-receive → written histogram) and consumer lag
   while events arrive at a fixed rate.

Run it with ``make bench-distributed``. Everything runs on this machine, so the client, the
infrastructure and the services share its cores.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import psycopg

from scripts.bench import envelope, send_all
from tests.integration.harness.infra import Infra, start_infra
from tests.integration.harness.services import Stack, start_stack


def relay_target(stack: Stack) -> tuple[str, dict[str, str]]:
    key, rest = stack.dsn.split("://", 1)[1].split("@", 1)
    project_id = rest.rsplit("/", 1)[1]
    headers = {"X-Sentry-Auth": f"Sentry sentry_version=7, sentry_key={key}",
               "Content-Type": "application/x-sentry-envelope"}
    return f"{stack.relay_url}/api/{project_id}/envelope/", headers


def counted(stack: Stack) -> int:
    with psycopg.connect(stack.env["FAULTLINE_PG_DSN"]) as conn:
        row = conn.execute("SELECT coalesce(sum(times_seen), 0) FROM issues").fetchone()
    return int(row[0]) if row else 0


def scrape(url: str) -> dict[str, float]:
    """Prometheus text format → {"name{labels}": value} (enough for our own metrics)."""
    samples: dict[str, float] = {}
    for line in httpx.get(url, timeout=10).text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            samples[name] = float(value)
    return samples


def histogram_quantile(before: dict[str, float], after: dict[str, float], metric: str,
                       q: float) -> float | None:
    """The q-quantile of the observations made between two scrapes (linear in a bucket)."""
    buckets = []
    for name, value in after.items():
        if name.startswith(f"{metric}_bucket{{") and 'le="' in name:
            le = name.split('le="')[1].split('"')[0]
            bound = float("inf") if le == "+Inf" else float(le)
            buckets.append((bound, value - before.get(name, 0.0)))
    buckets.sort()
    total = buckets[-1][1] if buckets else 0
    if not total:
        return None
    rank, lower, below = q * total, 0.0, 0.0
    for bound, cumulative in buckets:
        if cumulative >= rank:
            if bound == float("inf"):
                return lower
            share = (rank - below) / (cumulative - below) if cumulative > below else 1.0
            return lower + (bound - lower) * share
        lower, below = bound, cumulative
    return None


def max_lag(samples: dict[str, float]) -> float:
    lags = [v for k, v in samples.items() if k.startswith("faultline_processor_consumer_lag")]
    return max(lags, default=0.0)


async def fixed_rate(url: str, headers: dict[str, str], rate: int, seconds: float,
                     metrics_url: str) -> float:
    """Send ``rate`` events/s for ``seconds`` (one request per event); return the max lag."""
    peak = 0.0
    for second in range(int(seconds)):
        started = time.perf_counter()
        bodies = [envelope(uuid.uuid4().hex, i % 20) for i in range(rate)]
        await send_all(url, headers, bodies, 16)
        if second % 2 == 0:
            peak = max(peak, max_lag(scrape(metrics_url)))
        await asyncio.sleep(max(0.0, 1.0 - (time.perf_counter() - started)))
    return peak


def wait_counted(stack: Stack, total: int, timeout_s: float,
                 metrics_url: str | None = None) -> tuple[float, float]:
    """Seconds until ``total`` events are counted, and the peak consumer lag seen."""
    started, peak = time.perf_counter(), 0.0
    while counted(stack) < total:
        if time.perf_counter() - started > timeout_s:
            raise RuntimeError(f"only {counted(stack)} of {total} counted in {timeout_s}s")
        if metrics_url:
            peak = max(peak, max_lag(scrape(metrics_url)))
        time.sleep(0.25)
    return time.perf_counter() - started, peak


def run(args: argparse.Namespace, infra: Infra, workdir: Path) -> dict[str, Any]:
    stack = start_stack(infra.env(), workdir / "stack")
    try:
        url, headers = relay_target(stack)
        stack.services["processor"].stop()
        bodies = [envelope(uuid.uuid4().hex, i % 20) for i in range(args.events)]
        started = time.perf_counter()
        latencies = sorted(asyncio.run(send_all(url, headers, bodies, args.concurrency)))
        relay_s = time.perf_counter() - started

        processor = stack.start("processor")
        metrics_port = processor.env["FAULTLINE_PROCESSOR_METRICS_PORT"]
        metrics_url = f"http://127.0.0.1:{metrics_port}/metrics"
        processing_s, backlog_lag = wait_counted(stack, args.events, args.timeout, metrics_url)

        before = scrape(metrics_url)
        steady_lag = asyncio.run(fixed_rate(url, headers, args.rate, args.seconds, metrics_url))
        wait_counted(stack, args.events + args.rate * int(args.seconds), args.timeout)
        after = scrape(metrics_url)
        p95 = histogram_quantile(before, after, "faultline_processor_end_to_end_seconds", 0.95)
        return {
            "events": args.events,
            "relay_events_per_s": round(args.events / relay_s),
            "relay_accept_p50_ms": round(statistics.median(latencies) * 1000, 1),
            "relay_accept_p99_ms": round(latencies[int(len(latencies) * 0.99) - 1] * 1000, 1),
            "processor_events_per_s": round(args.events / processing_s),
            "processor_backlog_peak_lag": backlog_lag,
            "fixed_rate_events_per_s": args.rate,
            "end_to_end_p95_s": round(p95, 3) if p95 is not None else None,
            "fixed_rate_peak_lag": steady_lag,
        }
    finally:
        stack.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=20000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rate", type=int, default=500, help="events/s for the latency phase")
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--timeout", type=float, default=300)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="faultline-bench-"))
    workdir.chmod(0o755)
    infra = start_infra(workdir / "infra")
    try:
        print(json.dumps(run(args, infra, workdir), indent=2))
    finally:
        infra.stop()


if __name__ == "__main__":
    main()
