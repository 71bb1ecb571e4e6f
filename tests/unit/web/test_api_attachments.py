"""Event attachments in the web gateway: Sentry-shaped metadata, downloads with safe
headers, tenant isolation, and the list on the issue page."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg
import pytest
import pytest_asyncio
from fastapi import FastAPI
from pydantic import SecretStr

from faultline_core.blobstore.base import blob_key
from faultline_core.settings import AppSettings, BlobStoreSettings, PostgresSettings, WebSettings
from faultline_web.api.attachments import content_disposition
from faultline_web.app import create_app
from faultline_web.context import WebContext
from tests.unit.web import dataset
from tests.unit.web.conftest import SECRET_KEY, Seeded, bearer
from tests.unit.web.test_ui import signed_in_as_alice

BASE = "/api/0/projects/acme/backend/events"


@dataclass(frozen=True)
class Stored:
    event_id: str
    attachment_id: str
    data: bytes


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def blob_app(
    seeded: Seeded, query_address: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[FastAPI]:
    """The gateway with a blob store of its own (the shared app uses the default one)."""
    root: Path = tmp_path_factory.mktemp("web-blobs")
    app = create_app(
        WebSettings(query_address=query_address, public_url="http://faultline.test"),
        AppSettings(secret_key=SecretStr(SECRET_KEY)),
        PostgresSettings(dsn=SecretStr(seeded.pg_dsn), pool_min_size=1, pool_max_size=2),
        BlobStoreSettings(root=root),
    )
    async with app.router.lifespan_context(app):
        yield app


@pytest_asyncio.fixture(loop_scope="session")
async def http(blob_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=blob_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://faultline.test") as client:
        yield client


async def store(app: FastAPI, seeded: Seeded, project: str, name: str, content_type: str,
                data: bytes, event_id: str | None = None,
                attachment_type: str = "event.attachment") -> Stored:
    """An attachment as the relay and processor leave it: bytes in the blob store, a row."""
    web = app.state.web
    assert isinstance(web, WebContext)
    project_id = seeded.projects[project]
    event_id = event_id or uuid.uuid4().hex
    attachment_id = uuid.uuid4().hex
    key = blob_key(project_id, event_id, attachment_id)
    await web.blobs.put(key, data)
    async with await psycopg.AsyncConnection.connect(seeded.pg_dsn) as conn:
        await conn.execute(
            "INSERT INTO attachments (project_id, attachment_id, event_id, name, content_type,"
            " attachment_type, size, blob_key) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
            (project_id, attachment_id, event_id, name, content_type, attachment_type,
             len(data), key),
        )
    return Stored(event_id, attachment_id, data)


async def test_list_and_detail_in_sentrys_shape(
    http: httpx.AsyncClient, blob_app: FastAPI, seeded: Seeded
) -> None:
    dump = await store(blob_app, seeded, "backend", "crash.dmp", "application/x-dmp",
                       b"MDMP" + bytes(range(256)), attachment_type="event.minidump")
    log = await store(blob_app, seeded, "backend", "app.log", "text/plain", b"hello",
                      event_id=dump.event_id)
    alice = bearer(seeded.tokens["alice"])

    listed = await http.get(f"{BASE}/{dump.event_id}/attachments/", headers=alice)

    assert listed.status_code == 200
    body = listed.json()
    assert [(a["id"], a["name"], a["type"], a["mimetype"], a["size"]) for a in body] == [
        (dump.attachment_id, "crash.dmp", "event.minidump", "application/x-dmp", 260),
        (log.attachment_id, "app.log", "event.attachment", "text/plain", 5),
    ]
    first = body[0]
    assert first["event_id"] == dump.event_id and first["dateCreated"].endswith("Z")
    assert first["headers"] == {"Content-Type": first["mimetype"]}
    detail = await http.get(f"{BASE}/{dump.event_id}/attachments/{dump.attachment_id}/",
                            headers=alice)
    assert detail.status_code == 200 and detail.json()["name"] == "crash.dmp"
    dashed = str(uuid.UUID(dump.event_id))
    assert (await http.get(f"{BASE}/{dashed}/attachments/", headers=alice)).json() == body


async def test_download_returns_the_stored_bytes(
    http: httpx.AsyncClient, blob_app: FastAPI, seeded: Seeded
) -> None:
    dump = await store(blob_app, seeded, "backend", "crash.dmp", "application/x-dmp",
                       b"MDMP\x00\xff" * 1000)

    response = await http.get(
        f"{BASE}/{dump.event_id}/attachments/{dump.attachment_id}/",
        params={"download": "1"}, headers=bearer(seeded.tokens["alice"]),
    )

    assert response.status_code == 200
    assert response.content == dump.data
    assert response.headers["content-type"] == "application/x-dmp"
    assert response.headers["content-disposition"] == (
        "attachment; filename=\"crash.dmp\"; filename*=UTF-8''crash.dmp"
    )
    assert response.headers["x-content-type-options"] == "nosniff"


async def test_executable_types_download_as_inert_bytes(
    http: httpx.AsyncClient, blob_app: FastAPI, seeded: Seeded
) -> None:
    name = 'x"; filename=evil.exe\r\n<b>.html'
    page = await store(blob_app, seeded, "backend", name, "text/html",
                       b"<script>alert(1)</script>")
    response = await http.get(
        f"{BASE}/{page.event_id}/attachments/{page.attachment_id}/?download",
        headers=bearer(seeded.tokens["alice"]),
    )
    assert response.status_code == 200 and response.content == page.data
    assert response.headers["content-type"] == "application/octet-stream"
    assert response.headers["x-content-type-options"] == "nosniff"
    disposition = response.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="x__ filename=evil.exe__<b>.html";')
    assert "\r" not in disposition and "\n" not in disposition
    assert content_disposition("ünï.txt").endswith("filename*=UTF-8''%C3%BCn%C3%AF.txt")


async def test_other_tenants_attachments_are_404(
    http: httpx.AsyncClient, blob_app: FastAPI, seeded: Seeded
) -> None:
    theirs = await store(blob_app, seeded, "shop", "secret.txt", "text/plain", b"globex only")
    alice, bob = bearer(seeded.tokens["alice"]), bearer(seeded.tokens["bob"])
    path = f"/{theirs.event_id}/attachments/{theirs.attachment_id}/"
    globex = "/api/0/projects/globex/shop/events"

    # Bob, in globex, sees it; Alice neither through globex's URL nor through her own.
    assert (await http.get(f"{globex}{path}", headers=bob)).status_code == 200
    assert (await http.get(f"{globex}{path}?download=1", headers=bob)).content == theirs.data
    for url in (f"{globex}{path}", f"{globex}{path}?download=1", f"{BASE}{path}",
                f"{BASE}{path}?download=1"):
        assert (await http.get(url, headers=alice)).status_code == 404, url
    listed = await http.get(f"{BASE}/{theirs.event_id}/attachments/", headers=alice)
    assert listed.status_code == 200 and listed.json() == []
    assert (await http.get(f"{BASE}/not-an-id/attachments/", headers=alice)).status_code == 404
    assert (await http.get(f"{BASE}{path}")).status_code == 401


async def test_missing_bytes_are_404(
    http: httpx.AsyncClient, blob_app: FastAPI, seeded: Seeded
) -> None:
    gone = await store(blob_app, seeded, "backend", "gone.bin", "application/octet-stream", b"x")
    web = blob_app.state.web
    assert isinstance(web, WebContext)
    await web.blobs.delete(blob_key(seeded.projects["backend"], gone.event_id, gone.attachment_id))
    response = await http.get(f"{BASE}/{gone.event_id}/attachments/{gone.attachment_id}/",
                              params={"download": "1"}, headers=bearer(seeded.tokens["alice"]))
    assert response.status_code == 404


async def test_issue_page_lists_the_latest_events_attachments(
    http: httpx.AsyncClient, blob_app: FastAPI, seeded: Seeded
) -> None:
    spec = dataset.issue_spec("zero")
    newest = min(spec.events, key=lambda event: event.hours_ago)
    shown = await store(blob_app, seeded, "backend", "<b>state</b>.json", "application/json",
                        b"{}" * 700, event_id=newest.event_id)
    await signed_in_as_alice(http)

    page = await http.get(f"/acme/backend/issues/{seeded.issue('zero')}/")

    assert page.status_code == 200
    assert "&lt;b&gt;state&lt;/b&gt;.json" in page.text and "<b>state" not in page.text
    assert "1.4 KiB" in page.text
    link = (f"/api/0/projects/acme/backend/events/{newest.event_id}/attachments/"
            f"{shown.attachment_id}/?download=1")
    assert link in page.text
    download = await http.get(link)  # the session cookie is enough
    assert download.status_code == 200 and download.content == shown.data
