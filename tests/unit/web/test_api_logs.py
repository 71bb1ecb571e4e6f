"""Log search through the web gateway: the API, its query language, tenant isolation, and
the logs page.

The session's query-service process reads a chDB directory seeded before it started, so
these tests run a query service of their own, in process, on this process's chDB.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI
from pydantic import SecretStr

from faultline_core.migrations.clickhouse_migrate import migrate_clickhouse
from faultline_core.settings import PostgresSettings
from faultline_core.storage.clickhouse.chdb import ChdbClickHouse
from faultline_core.storage.clickhouse.logs_table import LOGS_COLUMNS, parse_log_item
from faultline_core.storage.clickhouse.sql import Identifier
from faultline_core.storage.postgres.pool import open_pool
from faultline_query.server import start_query_server_on
from faultline_query.servicer import QueryServicer
from faultline_web.api.logs import LogQueryError, parse_log_query, period_seconds
from tests.clickhouse_fixtures import fresh_database_name
from tests.unit.web import dataset
from tests.unit.web.conftest import Seeded, bearer, make_app

LOGS = "/api/0/projects/acme/backend/logs/"
LINK = re.compile(r'<([^>]*)>; rel="(\w+)"; results="(true|false)"; cursor="([^"]*)"')


def line(body: str, level: str, minutes_ago: float, **attrs: Any) -> dict[str, Any]:
    attributes = {key: {"value": value, "type": kind} for key, (value, kind) in attrs.items()}
    return {"timestamp": time.time() - minutes_ago * 60, "level": level, "body": body,
            "trace_id": "d" * 32, "attributes": attributes}


@dataclass(frozen=True)
class LogsWeb:
    app: FastAPI
    client: httpx.AsyncClient
    seeded: Seeded

    def browser(self) -> httpx.AsyncClient:
        """A client of its own, for cookies that must not leak into the API tests."""
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app),
                                 base_url="http://faultline.test")

    async def get(self, path: str = LOGS, user: str = "alice", **params: Any) -> httpx.Response:
        return await self.client.get(path, params=params, headers=bearer(self.seeded.tokens[user]))


async def _seed_logs(ch: ChdbClickHouse, seeded: Seeded) -> None:
    lines = {
        "backend": [
            line("Order A-17 failed", "error", 1, region=("eu", "string"), retry=(3, "integer")),
            line("order B-2 failed", "warn", 2, region=("us", "string")),
            line("cart loaded", "info", 3),
            line("very old", "info", 60 * 48),
        ],
        "shop": [line("globex order failed", "error", 1)],
    }
    for index, (project, items) in enumerate(lines.items()):
        batch = parse_log_item(json.dumps({"items": items}).encode(),
                               project_id=seeded.projects[project], item_id=f"{index:032x}",
                               received_at=time.time())
        await ch.insert("logs", LOGS_COLUMNS, batch.rows)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def logs_web(seeded: Seeded, chdb_path: Path) -> AsyncIterator[LogsWeb]:
    ch = await ChdbClickHouse.open(chdb_path, fresh_database_name())
    await migrate_clickhouse(ch)
    await _seed_logs(ch, seeded)
    pool = await open_pool(PostgresSettings(dsn=SecretStr(seeded.pg_dsn), pool_min_size=1,
                                            pool_max_size=2))
    server, port = await start_query_server_on(QueryServicer(ch, pool), "127.0.0.1", 0)
    app = make_app(seeded, f"127.0.0.1:{port}")
    try:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport,
                                         base_url="http://faultline.test") as client:
                yield LogsWeb(app, client, seeded)
    finally:
        await server.stop(None)
        await pool.close()
        await ch.execute("DROP DATABASE IF EXISTS %(db)s", {"db": Identifier(ch.database)})
        await ch.close()


async def bodies(web: LogsWeb, **params: Any) -> list[str]:
    response = await web.get(**params)
    assert response.status_code == 200, response.text
    return [row["body"] for row in response.json()]


# --- the query language (pure) -----------------------------------------------------------


def test_query_language_splits_text_levels_and_filters() -> None:
    parsed = parse_log_query('order level:error region:eu "two words" msg:"a b:c" failed')
    assert parsed.text == "order two words failed"
    assert parsed.levels == ["error"]
    assert parsed.filters == [("region", "eu"), ("msg", "a b:c")]
    assert period_seconds("15m") == 900 and period_seconds("14d") == 14 * 86400
    for bad in ("", "24", "0h", "1y", "-1h", "1h; drop"):
        with pytest.raises(LogQueryError):
            period_seconds(bad)


# --- the API -------------------------------------------------------------------------------


async def test_rows_have_their_fields_and_typed_attributes(logs_web: LogsWeb) -> None:
    response = await logs_web.get(query="A-17")
    assert response.status_code == 200
    [row] = response.json()
    assert row["body"] == "Order A-17 failed"
    assert (row["level"], row["severity_number"], row["trace_id"]) == ("error", 17, "d" * 32)
    assert row["attributes"]["retry"] == {"value": 3, "type": "integer"}
    assert row["attributes"]["region"] == {"value": "eu", "type": "string"}
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", row["timestamp"])
    assert re.fullmatch(r"[0-9a-f]{32}", row["id"])


async def test_search_filters(logs_web: LogsWeb) -> None:
    assert await bodies(logs_web) == ["Order A-17 failed", "order B-2 failed", "cart loaded"]
    assert await bodies(logs_web, query="ORDER") == ["Order A-17 failed", "order B-2 failed"]
    assert await bodies(logs_web, level="warn") == ["order B-2 failed"]
    assert await bodies(logs_web, level=["warn", "info"]) == ["order B-2 failed", "cart loaded"]
    assert await bodies(logs_web, query="level:error") == ["Order A-17 failed"]
    assert await bodies(logs_web, query="order region:us") == ["order B-2 failed"]
    assert await bodies(logs_web, statsPeriod="90s") == ["Order A-17 failed"]
    assert (await bodies(logs_web, statsPeriod="7d"))[-1] == "very old"
    assert await bodies(logs_web, query="nothing like this") == []


async def test_pages_are_linked_with_cursors(logs_web: LogsWeb) -> None:
    seen: list[str] = []
    params: dict[str, Any] = {"limit": 2}
    for _ in range(4):
        response = await logs_web.get(**params)
        seen += [row["body"] for row in response.json()]
        links = {rel: (results, cursor)
                 for _, rel, results, cursor in LINK.findall(response.headers["link"])}
        results, cursor = links["next"]
        if results == "false":
            break
        params["cursor"] = cursor
    assert seen == ["Order A-17 failed", "order B-2 failed", "cart loaded"]


async def test_another_tenants_project_is_404(logs_web: LogsWeb) -> None:
    assert dataset.PROJECT_ORGS["shop"] == "globex"
    assert (await logs_web.get("/api/0/projects/globex/shop/logs/")).status_code == 404
    assert (await logs_web.get("/api/0/projects/acme/shop/logs/")).status_code == 404
    # Bob sees his own lines and none of Acme's.
    response = await logs_web.get("/api/0/projects/globex/shop/logs/", user="bob")
    assert [row["body"] for row in response.json()] == ["globex order failed"]
    assert (await logs_web.get(user="bob")).status_code == 404
    anonymous = await logs_web.client.get(LOGS)
    assert anonymous.status_code == 401


@pytest.mark.parametrize("params", [
    {"statsPeriod": "forever"}, {"level": "loud"}, {"cursor": "forged"}, {"limit": 0},
    {"query": "x" * 1001}, {"statsPeriod": "200d"},
])
async def test_bad_parameters_are_400_with_detail(
    logs_web: LogsWeb, params: dict[str, Any]
) -> None:
    response = await logs_web.get(**params)
    assert response.status_code in (400, 422), response.text
    assert response.json()["detail"]


# --- the page ------------------------------------------------------------------------------


async def test_logs_page_searches_and_escapes(logs_web: LogsWeb) -> None:
    async with logs_web.browser() as browser:
        response = await browser.post("/login", data={
            "email": dataset.ALICE_EMAIL, "password": dataset.ALICE_PASSWORD, "next": "/"})
        assert response.status_code == 303, response.text
        page = await browser.get("/acme/backend/logs/", params={"query": "<script>order"})
        assert page.status_code == 200
        assert "<script>order" not in page.text and "&lt;script&gt;order" in page.text
        page = await browser.get("/acme/backend/logs/", params={"query": "order",
                                                                "level": "warn"})
        assert "order B-2 failed" in page.text and "Order A-17" not in page.text
        assert "region=us" in page.text
        issues = await browser.get("/acme/backend/issues/")
        assert 'href="/acme/backend/logs/"' in issues.text
        other = await browser.get("/globex/shop/logs/")
        assert other.status_code == 404 and "globex order failed" not in other.text
        bad = await browser.get("/acme/backend/logs/", params={"period": "5y"})
        assert bad.status_code == 400
