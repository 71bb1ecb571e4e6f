"""The legacy UDP listener end to end: the all-in-one process, a raven-style datagram, and
the issue it becomes, read back through the web API."""

from __future__ import annotations

import base64
import json
import socket
import time
import uuid
import zlib
from collections.abc import Iterator
from typing import Any

import pytest

from faultline_core.dsn import parse_dsn
from tests.integration.allinone import AllInOne, start_allinone, wait_for

ISSUES = "/api/0/projects/default/default/issues/"


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def allinone_udp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[AllInOne, int]]:
    udp_port = _free_udp_port()
    aio = start_allinone(
        tmp_path_factory.mktemp("allinone-udp"), extra_env={"FAULTLINE_UDP_PORT": str(udp_port)}
    )
    try:
        yield aio, udp_port
    finally:
        assert aio.stop() == 0, aio.log_tail()


def _raven_datagram(public_key: str, event: dict[str, Any]) -> bytes:
    """What raven-python's UDP transport sent: auth header, blank line, base64(zlib(json))."""
    auth = (
        f"Sentry sentry_timestamp={time.time()}, sentry_client=raven-python/6.10.0,"
        f" sentry_version=6, sentry_key={public_key}"
    )
    body = base64.b64encode(zlib.compress(json.dumps(event).encode()))
    return auth.encode() + b"\n\n" + body


def _issue_titled(aio: AllInOne, title: str) -> dict[str, Any] | None:
    response = aio.api(ISSUES)
    assert response.status_code == 200, response.text
    for issue in response.json():
        if issue["title"] == title:
            found: dict[str, Any] = issue
            return found
    return None


def test_raven_style_datagram_becomes_an_issue(allinone_udp: tuple[AllInOne, int]) -> None:
    aio, udp_port = allinone_udp
    title = f"UdpOnly: {uuid.uuid4().hex}"
    event = {
        "event_id": uuid.uuid4().hex,
        "platform": "python",
        "level": "error",
        "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()),
        "message": title,
    }
    datagram = _raven_datagram(parse_dsn(aio.bootstrap["dsn"]).public_key, event)

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.sendto(datagram, ("127.0.0.1", udp_port))

    issue = wait_for(lambda: _issue_titled(aio, title))
    assert int(issue["count"]) == 1
