"""One all-in-one for the whole SDK matrix: each SDK test reports to it as a user would."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.integration.allinone import AllInOne, start_allinone, wait_for


@pytest.fixture(scope="session")
def aio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AllInOne]:
    server = start_allinone(tmp_path_factory.mktemp("sdk-allinone"))
    try:
        yield server
    finally:
        assert server.stop() == 0, server.log_tail()


def find_issue(aio: AllInOne, title_contains: str, count: int | None = None,
               timeout_s: float = 60) -> dict[str, Any]:
    """Wait for the issue whose title contains ``title_contains`` (and has ``count``)."""
    def lookup() -> dict[str, Any] | None:
        resp = aio.api("/api/0/projects/default/default/issues/",
                       params={"query": "", "limit": 100})
        resp.raise_for_status()
        for issue in resp.json():
            if title_contains in issue["title"] and (count is None
                                                     or int(issue["count"]) == count):
                return dict(issue)
        return None

    found: dict[str, Any] = wait_for(lookup, timeout_s)
    return found


def latest_event(aio: AllInOne, issue_id: str) -> dict[str, Any]:
    resp = aio.api(f"/api/0/issues/{issue_id}/events/latest/")
    resp.raise_for_status()
    event: dict[str, Any] = resp.json()
    return event
