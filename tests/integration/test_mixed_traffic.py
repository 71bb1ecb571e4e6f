"""Nothing accepted is lost: good and hostile ingestion traffic, interleaved and concurrent.

A few hundred requests hit one all-in-one process from several clients at once. Every answer
must be a 200 or a 4xx with a reason; afterwards the issues' counts must add up to exactly
the distinct events that were answered 200, each of them must be retrievable, and the
process must still be healthy and of reasonable size.
"""

from __future__ import annotations

import asyncio
import functools
import gzip
import json
import random
import re
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import brotli
import httpx
import pytest
import zstandard

from tests.integration.allinone import AllInOne, start_allinone

ISSUES = "/api/0/projects/default/default/issues/"
EVENT = "/api/0/projects/default/default/events/{}/"
BUCKETS = 7
CLIENTS = 8
MIB = 1024 * 1024
RSS_LIMIT_KIB = 1024 * 1024
NEXT_LINK = re.compile(r'<([^>]+)>; rel="next"; results="true"')


@dataclass(frozen=True)
class Planned:
    """One request to send, and whether it must be accepted."""

    kind: str
    path: str
    body: bytes
    headers: dict[str, str]
    event_id: str | None = None
    accepted: bool = True


@dataclass
class Outcome:
    """What came back for one planned request."""

    planned: Planned
    status: int
    body: Any = None
    failure: str = ""


@dataclass
class Traffic:
    """Builds requests for the all-in-one's default project and DSN key."""

    project_id: str
    key: str
    run: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    rng: random.Random = field(default_factory=lambda: random.Random(20261125))
    titles: dict[str, str] = field(default_factory=dict)

    def auth(self, key: str | None = None, encoding: str | None = None) -> dict[str, str]:
        headers = {"X-Sentry-Auth": f"Sentry sentry_version=7, sentry_key={key or self.key}"}
        if encoding is not None:
            headers["Content-Encoding"] = encoding
        return headers

    def event(self, event_id: str, **extra: Any) -> dict[str, Any]:
        # A fingerprint per bucket, so all events land in a few known issues whose title
        # (the first event's message) names the bucket.
        bucket = self.rng.randrange(BUCKETS)
        self.titles[event_id] = self.title(bucket)
        return {"event_id": event_id, "message": self.title(bucket), "level": "error",
                "fingerprint": [f"mixed-{self.run}-{bucket}"], **extra}

    def title(self, bucket: int) -> str:
        return f"mixed traffic {self.run} bucket {bucket}"

    def url(self, endpoint: str = "envelope", project_id: str | None = None) -> str:
        return f"/api/{project_id or self.project_id}/{endpoint}/"


def envelope(*items: tuple[dict[str, Any], bytes], header: dict[str, Any] | None = None) -> bytes:
    lines = [json.dumps(header or {}).encode()]
    for item_header, payload in items:
        lines += [json.dumps({**item_header, "length": len(payload)}).encode(), payload]
    return b"\n".join(lines)


def event_envelope(event: dict[str, Any]) -> bytes:
    return envelope(({"type": "event"}, json.dumps(event).encode()),
                    header={"event_id": event["event_id"]})


COMPRESSORS: dict[str, Callable[[bytes], bytes]] = {
    "gzip": gzip.compress,
    "br": brotli.compress,
    "zstd": zstandard.ZstdCompressor(write_checksum=True).compress,
}


def good_requests(traffic: Traffic) -> list[Planned]:
    """Envelopes, store requests and compressed envelopes, each with a fresh event id."""
    plan: list[Planned] = []
    for kind, count in [("envelope", 250), ("store", 60), ("gzip", 30), ("br", 30),
                        ("zstd", 30), ("unknown items", 20)]:
        for _ in range(count):
            event_id = uuid.uuid4().hex
            plan.append(good_request(traffic, kind, event_id))
    return plan


def good_request(traffic: Traffic, kind: str, event_id: str) -> Planned:
    event = traffic.event(event_id)
    if kind == "store":
        return Planned(kind, traffic.url("store"), json.dumps(event).encode(), traffic.auth(),
                       event_id)
    if kind == "unknown items":
        payload = json.dumps(event).encode()
        body = envelope(({"type": "profile_chunk"}, b'{"samples":[]}'),
                        ({"type": "event"}, payload), ({"type": "no_such_type"}, b"\x00\xff"),
                        header={"event_id": event_id})
        return Planned(kind, traffic.url(), body, traffic.auth(), event_id)
    if kind in COMPRESSORS:
        body = COMPRESSORS[kind](event_envelope(event))
        return Planned(kind, traffic.url(), body, traffic.auth(encoding=kind), event_id)
    return Planned(kind, traffic.url(), event_envelope(event), traffic.auth(), event_id)


def _damaged(traffic: Traffic, encoding: str, truncate: bool) -> Planned:
    body = COMPRESSORS[encoding](event_envelope(traffic.event(uuid.uuid4().hex)))
    half = len(body) // 2
    damaged = body[:half] if truncate else body[:half] + bytes(b ^ 0xA5 for b in body[half:])
    kind = f"{'truncated' if truncate else 'corrupt'} {encoding}"
    return Planned(kind, traffic.url(), damaged, traffic.auth(encoding=encoding), None, False)


def _refused(traffic: Traffic, kind: str, body: bytes, **overrides: Any) -> Planned:
    defaults: dict[str, Any] = {"path": traffic.url(), "headers": traffic.auth()}
    options = {**defaults, **overrides}
    return Planned(kind, options["path"], body, options["headers"], None, False)


def hostile_kinds(traffic: Traffic) -> list[Callable[[], Planned]]:
    """One factory per kind of hostile request; each must be refused with a 4xx."""
    deep = b'{"extra":' + b"[" * 10_000 + b"]" * 10_000 + b"}"
    big = json.dumps(traffic.event(uuid.uuid4().hex, extra={"pad": "x" * (MIB + 10)})).encode()

    def valid() -> bytes:
        return event_envelope(traffic.event(uuid.uuid4().hex))

    factories: list[Callable[[], Planned]] = [
        lambda: _refused(traffic, "malformed envelope",
                         b'{}\n{"type":"event","length":9999}\n{"message":"short"}'),
        lambda: _refused(traffic, "not json envelope", b"\xff\xfe not json\n{}\n{}"),
        lambda: _refused(traffic, "deep json", envelope(({"type": "event"}, deep))),
        lambda: _refused(traffic, "wrong key", valid(), headers=traffic.auth(uuid.uuid4().hex)),
        lambda: _refused(traffic, "other project", valid(), path=traffic.url(project_id="9999")),
        lambda: _refused(traffic, "oversized event", envelope(({"type": "event"}, big))),
        lambda: _refused(traffic, "oversized gzip event", gzip.compress(
            envelope(({"type": "event"}, big))), headers=traffic.auth(encoding="gzip")),
        lambda: _refused(traffic, "invalid event id", envelope(
            ({"type": "event"}, json.dumps({"event_id": "not-hex", "message": "x"}).encode()))),
        lambda: _refused(traffic, "store not an object", b"[1, 2, 3]",
                         path=traffic.url("store")),
        lambda: _refused(traffic, "unknown encoding", valid(),
                         headers=traffic.auth(encoding="lzma-9000")),
    ]
    for encoding in COMPRESSORS:
        factories += [functools.partial(_damaged, traffic, encoding, truncate)
                      for truncate in (True, False)]
    return factories


def session_only(traffic: Traffic) -> Planned:
    session = {"sid": uuid.uuid4().hex, "status": "ok", "started": "2026-11-25T08:00:00Z"}
    body = envelope(({"type": "session"}, json.dumps(session).encode()))
    return Planned("session only", traffic.url(), body, traffic.auth())


def plan_traffic(traffic: Traffic) -> list[Planned]:
    """About 600 requests: good ones, resends of some of them, and hostile ones, shuffled."""
    good = good_requests(traffic)
    resent = [Planned(f"resent {p.kind}", p.path, p.body, p.headers, p.event_id)
              for p in traffic.rng.sample(good, 30)]
    hostile = [make() for make in hostile_kinds(traffic) for _ in range(8)]
    sessions = [session_only(traffic) for _ in range(10)]
    # Past the 20 MiB limit on the raw body: refused from its Content-Length, unread.
    huge = [_refused(traffic, "huge body", b"{}\n" + b"x" * (21 * MIB)) for _ in range(3)]
    plan = good + resent + hostile + sessions + huge
    traffic.rng.shuffle(plan)
    return plan


async def send(client: httpx.AsyncClient, planned: Planned) -> Outcome:
    try:
        response = await client.post(planned.path, content=planned.body, headers=planned.headers)
    except httpx.TransportError as exc:
        return Outcome(planned, 0, failure=f"transport error: {exc!r}")
    try:
        body = response.json()
    except ValueError:
        return Outcome(planned, response.status_code, failure=f"not JSON: {response.text[:200]}")
    return Outcome(planned, response.status_code, body)


async def send_all(aio: AllInOne, plan: list[Planned]) -> list[Outcome]:
    """Send the plan from ``CLIENTS`` concurrent clients, in plan order."""
    queue: asyncio.Queue[Planned] = asyncio.Queue()
    for planned in plan:
        queue.put_nowait(planned)
    outcomes: list[Outcome] = []

    async def client_task() -> None:
        # One connection per task, so the relay sees several clients at once.
        async with httpx.AsyncClient(base_url=aio.url, timeout=30) as client:
            while not queue.empty():
                outcomes.append(await send(client, queue.get_nowait()))

    async with asyncio.TaskGroup() as group:
        for _ in range(CLIENTS):
            group.create_task(client_task())
    return outcomes


def answer_problem(outcome: Outcome) -> str | None:
    """Why this answer is wrong for its request, or None when it is right."""
    planned, body = outcome.planned, outcome.body
    if outcome.failure:
        return outcome.failure
    if not planned.accepted:
        detail = body.get("detail") if isinstance(body, dict) else None
        if 400 <= outcome.status < 500 and isinstance(detail, str) and detail:
            return None
        return f"expected a 4xx with a detail, got {outcome.status} {body!r}"
    expected = {"id": planned.event_id} if planned.event_id else {}
    if outcome.status == 200 and body == expected:
        return None
    return f"expected 200 {expected!r}, got {outcome.status} {body!r}"


async def all_issues(api: httpx.AsyncClient) -> list[dict[str, Any]]:
    """Every issue of the project, following the Link header's next page."""
    issues: list[dict[str, Any]] = []
    url: str | None = ISSUES
    params: dict[str, str | int] | None = {"query": "", "limit": 3}
    while url is not None:
        response = await api.get(url, params=params)
        assert response.status_code == 200, response.text
        issues += response.json()
        match = NEXT_LINK.search(response.headers["Link"])
        url, params = (match.group(1), None) if match else (None, None)
    return issues


async def settled_counts(api: httpx.AsyncClient, expected: int,
                         timeout_s: float = 20) -> list[dict[str, Any]]:
    """The issues once their counts add up to ``expected`` (or the last seen on timeout)."""
    deadline = time.monotonic() + timeout_s
    issues = await all_issues(api)
    while sum(int(i["count"]) for i in issues) != expected and time.monotonic() < deadline:
        await asyncio.sleep(0.25)
        issues = await all_issues(api)
    return issues


async def fetch_event(api: httpx.AsyncClient, event_id: str, timeout_s: float = 10) -> (
    httpx.Response
):
    deadline = time.monotonic() + timeout_s
    response = await api.get(EVENT.format(event_id))
    while response.status_code == 404 and time.monotonic() < deadline:
        await asyncio.sleep(0.25)
        response = await api.get(EVENT.format(event_id))
    return response


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmRSS for process {pid}")


@pytest.fixture(scope="module")
def allinone(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AllInOne]:
    aio = start_allinone(tmp_path_factory.mktemp("mixed"))
    try:
        yield aio
    finally:
        assert aio.stop() == 0, aio.log_tail()


def traffic_for(aio: AllInOne) -> Traffic:
    dsn = aio.bootstrap["dsn"]
    return Traffic(project_id=dsn.rsplit("/", 1)[1], key=dsn.split("://", 1)[1].split("@")[0])


def summary(outcomes: list[Outcome]) -> dict[str, list[int]]:
    statuses: dict[str, list[int]] = {}
    for outcome in outcomes:
        statuses.setdefault(outcome.planned.kind, []).append(outcome.status)
    return {kind: sorted(set(codes)) for kind, codes in sorted(statuses.items())}


async def assert_retrievable(api: httpx.AsyncClient, traffic: Traffic, event_ids: list[str],
                             issue_ids: dict[str, str]) -> None:
    """Each event can be fetched and sits in the issue of its fingerprint."""
    responses = await asyncio.gather(*(fetch_event(api, event_id) for event_id in event_ids))
    for event_id, response in zip(event_ids, responses, strict=True):
        assert response.status_code == 200, (event_id, response.text)
        event = response.json()
        assert event["eventID"] == event_id
        assert event["groupID"] == issue_ids[traffic.titles[event_id]], event_id


async def test_every_accepted_event_is_counted_once_and_retrievable(allinone: AllInOne) -> None:
    traffic = traffic_for(allinone)
    plan = plan_traffic(traffic)
    outcomes = await send_all(allinone, plan)

    problems = [(o.planned.kind, p) for o in outcomes if (p := answer_problem(o)) is not None]
    assert len(outcomes) == len(plan) and not problems, (problems[:10], summary(outcomes))
    accepted = {o.planned.event_id: o.planned.kind for o in outcomes
                if o.status == 200 and o.planned.event_id is not None}

    token = {"Authorization": f"Bearer {allinone.bootstrap['api_token']}"}
    async with httpx.AsyncClient(base_url=allinone.url, headers=token, timeout=30) as api:
        issues = await settled_counts(api, len(accepted))
        assert sum(int(i["count"]) for i in issues) == len(accepted), summary(outcomes)
        issue_ids = {issue["title"]: issue["id"] for issue in issues}
        assert len(issue_ids) == len(issues) and set(issue_ids) <= set(traffic.titles.values())

        # Events are processed in order: once a later one is stored, nothing earlier
        # (a resent copy, say) can still add to the counts.
        marker = uuid.uuid4().hex
        assert (await send(api, good_request(traffic, "envelope", marker))).status == 200
        assert (await fetch_event(api, marker)).status_code == 200
        issues = await settled_counts(api, len(accepted) + 1)
        assert sum(int(i["count"]) for i in issues) == len(accepted) + 1
        issue_ids = {issue["title"]: issue["id"] for issue in issues}

        plain = sorted(e for e, kind in accepted.items() if kind == "envelope")
        others = sorted(e for e, kind in accepted.items() if kind != "envelope")
        await assert_retrievable(api, traffic, traffic.rng.sample(plain, 30) + others, issue_ids)

        assert allinone.process.poll() is None
        assert (await api.get("/readyz")).status_code == 200
    assert rss_kib(allinone.process.pid) < RSS_LIMIT_KIB
    assert "Traceback" not in allinone.log_path.read_text(errors="replace")
