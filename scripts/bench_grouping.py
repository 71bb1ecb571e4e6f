"""Micro-benchmark: normalise + group, events/s on one core.

Builds a realistic ~6 KB sentry-python event (a chained Django-style exception with
context lines, pre/post context and local variables, request, contexts, breadcrumbs and
tags), then times ``normalize_event`` on the raw JSON bytes and ``compute_grouping``
under each config. Every event has its own random-looking event and trace ids (as the
SDK's uuid4 hex) and other line numbers and values, so nothing is served from a cache
that a real stream would miss (names do repeat in a real stream, and the frame-name
caches see that). Each stage runs ``--repeat`` times over the same events and the median
is reported.

Then every event the real sentry-python SDK sent in ``tests/fixtures/sdk/python`` (the SDK
matrix's captures: Django, Flask, logging, sentry-cli) goes through normalise + group v2,
with a fresh event id each time and received a second after its own timestamp: the same
error over and over, as a stream of one issue is.

It says whether the compiled build (``make native``) or the pure-Python modules ran;
``FAULTLINE_PURE_PYTHON=1`` measures the latter.
Run: ``.venv/bin/python scripts/bench_grouping.py [--events N] [--repeat R]``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from faultline_core.envelope import parse_envelope
from faultline_core.grouping import GROUPING_CONFIGS, compute_grouping
from faultline_core.native import build_state
from faultline_core.normalize import load_payload, normalize_event
from faultline_core.normalize_values import parse_timestamp

SDK_FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "sdk" / "python"

APP_FRAMES = [("shop.views", "checkout"), ("shop.orders", "place_order"),
              ("shop.payments", "charge"), ("shop.gateway", "post")]
LIB_FRAMES = [("django.core.handlers.exception", "inner"),
              ("django.core.handlers.base", "_get_response"),
              ("django.views.generic.base", "view"), ("django.views.generic.base", "dispatch"),
              ("requests.api", "post"), ("requests.sessions", "request")]


def _frame(module: str, function: str, lineno: int, in_app: bool) -> dict[str, Any]:
    path = module.replace(".", "/") + ".py"
    return {
        "filename": path, "abs_path": f"/srv/app/{path}", "module": module,
        "function": function, "lineno": lineno, "in_app": in_app,
        "context_line": f"        result = {function}(request, order_id=order.id)",
        "pre_context": ["    try:"],
        "post_context": ["    except KeyError:"],
        "vars": {"order_id": str(lineno), "request": "<WSGIRequest: POST '/checkout'>"},
    }


def make_event(seq: int) -> bytes:
    """One ~6 KB event; ``seq`` varies the ids, line numbers and values."""
    event_id = hashlib.md5(str(seq).encode(), usedforsecurity=False).hexdigest()
    frames = [_frame(m, f, 100 + i + seq % 7, False) for i, (m, f) in enumerate(LIB_FRAMES[:4])]
    frames += [_frame(m, f, 20 + i + seq % 5, True) for i, (m, f) in enumerate(APP_FRAMES)]
    frames += [_frame(m, f, 300 + i, False) for i, (m, f) in enumerate(LIB_FRAMES[4:])]
    cause = {"type": "ConnectionError", "value": f"HTTPSConnectionPool: max retries ({seq})",
             "module": "requests.exceptions", "stacktrace": {"frames": frames[-3:]},
             "mechanism": {"type": "chained", "handled": True}}
    event = {
        "event_id": event_id, "timestamp": 1_700_000_000 + seq % 1000,
        "platform": "python", "level": "error", "environment": "production",
        "release": "shop@1.4.2", "server_name": "web-3", "transaction": "/checkout",
        "exception": {"values": [cause, {
            "type": "PaymentError", "value": f"payment for order {seq} failed",
            "module": "shop.payments", "stacktrace": {"frames": frames},
            "mechanism": {"type": "django", "handled": False}}]},
        "request": {"url": "https://shop.example.com/checkout", "method": "POST",
                    "headers": {"User-Agent": "Mozilla/5.0", "Accept": "text/html"},
                    "query_string": f"order={seq}"},
        "contexts": {"runtime": {"name": "CPython", "version": "3.11.6"},
                     "os": {"name": "Linux"}, "trace": {"trace_id": event_id[::-1],
                                                        "span_id": event_id[:16]}},
        "breadcrumbs": {"values": [{"category": "query", "message": f"SELECT {i}",
                                    "timestamp": 1_700_000_000} for i in range(3)]},
        "tags": {"tenant": "eu-1", "feature": "checkout-v2"},
        "sdk": {"name": "sentry.python.django", "version": "2.19.0"},
    }
    return json.dumps(event).encode()


RECEIVED_AT = 1_700_001_000.0  # after every event's timestamp (1_700_000_000 + seq % 1000)


def _rate(count: int, seconds: float) -> str:
    return f"{count / seconds:>10,.0f} events/s  ({seconds / count * 1e6:6.1f} µs/event)"


def _median_seconds(stage: Callable[[], object], repeat: int) -> float:
    """The median wall time of ``repeat`` runs of ``stage`` (noisy, shared machines)."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        stage()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--events", type=int, default=5_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    count = args.events
    payloads = [make_event(seq) for seq in range(count)]
    print(f"normalise and group: {build_state().reason}")
    print(f"event size: {sum(map(len, payloads)) // count} bytes, {count} events, one core, "
          f"median of {args.repeat} runs")
    # Like the processor, every stage handles one event at a time and keeps no result:
    # holding thousands of normalised events would make the measurement mostly about
    # the garbage collector re-scanning them. Received a little after the latest event
    # time, as a live event is (else every event would record a future-timestamp error).

    def normalise() -> None:
        for i, payload in enumerate(payloads):
            normalize_event(1, f"{i:032x}", payload, RECEIVED_AT, None)

    def both(config: str) -> None:
        for i, payload in enumerate(payloads):
            compute_grouping(normalize_event(1, f"{i:032x}", payload, RECEIVED_AT,
                                             None).data, config)

    print(f"normalise only:        {_rate(count, _median_seconds(normalise, args.repeat))}")
    for config in sorted(GROUPING_CONFIGS):
        seconds = _median_seconds(lambda: both(config), args.repeat)  # noqa: B023
        print(f"normalise + group {config}:  {_rate(count, seconds)}")
    for config in sorted(GROUPING_CONFIGS):
        seconds = _group_seconds(payloads, config, args.repeat)
        print(f"group {config} only:         {_rate(count, seconds)}")
    bench_sdk_events(count, args.repeat)


def _sdk_events() -> list[tuple[str, bytes]]:
    events = []
    for path in sorted(SDK_FIXTURES.glob("*.envelope")):
        for item in parse_envelope(path.read_bytes()).items:
            if item.type == "event":
                events.append((path.stem, item.payload))
    return events


def bench_sdk_events(count: int, repeat: int) -> None:
    print(f"real sentry-python events, normalise + group v2, {count} times each:")
    for name, payload in _sdk_events():
        received = (parse_timestamp(load_payload(payload).get("timestamp")) or 1.7e9) + 1.0

        def both() -> None:
            for i in range(count):
                compute_grouping(normalize_event(  # noqa: B023
                    1, f"{i:032x}", payload, received, None).data, "v2")  # noqa: B023

        print(f"  {name:24} {len(payload):6} bytes: {_rate(count, _median_seconds(both, repeat))}")


def _group_seconds(payloads: list[bytes], config: str, repeat: int) -> float:
    """Grouping alone, on events normalised beforehand: these stay alive, so the
    collector's scans of them count here (the processor holds one batch at a time)."""
    datas = [normalize_event(1, f"{i:032x}", p, RECEIVED_AT, None).data
             for i, p in enumerate(payloads)]

    def group() -> None:
        for data in datas:
            compute_grouping(data, config)

    return _median_seconds(group, repeat)


if __name__ == "__main__":
    main()
