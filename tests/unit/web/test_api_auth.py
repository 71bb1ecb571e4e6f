"""Authentication and tenant isolation of the JSON API."""

from __future__ import annotations

import httpx
import psycopg
import pytest

from tests.unit.web import dataset
from tests.unit.web.conftest import Seeded, bearer


def acme_paths(seeded: Seeded) -> list[str]:
    issue = seeded.issue("zero")
    event_id = dataset.issue_spec("zero").events[0].event_id
    return [
        "/api/0/projects/acme/backend/issues/",
        f"/api/0/issues/{issue}/",
        f"/api/0/organizations/acme/issues/{issue}/",
        f"/api/0/issues/{issue}/events/latest/",
        f"/api/0/issues/{issue}/tags/",
        f"/api/0/issues/{issue}/stats/",
        f"/api/0/projects/acme/backend/events/{event_id}/",
    ]


async def test_requests_without_a_token_are_401(client: httpx.AsyncClient, seeded: Seeded) -> None:
    for path in acme_paths(seeded):
        response = await client.get(path)
        assert response.status_code == 401, path
        assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize(
    "header", ["Bearer not-a-real-token", "Bearer ", "Basic YWxpY2U6c2VjcmV0", "garbage"]
)
async def test_invalid_credentials_are_401(
    client: httpx.AsyncClient, seeded: Seeded, header: str
) -> None:
    for path in acme_paths(seeded):
        response = await client.get(path, headers={"Authorization": header})
        assert response.status_code == 401, path


async def test_member_of_the_right_org_gets_through(
    client: httpx.AsyncClient, seeded: Seeded
) -> None:
    for path in acme_paths(seeded):
        response = await client.get(path, headers=bearer(seeded.tokens["alice"]))
        assert response.status_code == 200, path


async def test_other_tenant_gets_404_for_everything(
    client: httpx.AsyncClient, seeded: Seeded
) -> None:
    for path in acme_paths(seeded):
        response = await client.get(path, headers=bearer(seeded.tokens["bob"]))
        assert response.status_code == 404, path
        assert "ZeroDivision" not in response.text


async def test_other_tenant_cannot_change_status(
    client: httpx.AsyncClient, seeded: Seeded
) -> None:
    issue = seeded.issue("api-mutable")
    for path in (f"/api/0/issues/{issue}/", f"/api/0/organizations/acme/issues/{issue}/",
                 f"/api/0/organizations/globex/issues/{issue}/"):
        response = await client.put(
            path, json={"status": "ignored"}, headers=bearer(seeded.tokens["bob"])
        )
        assert response.status_code == 404, path
    async with await psycopg.AsyncConnection.connect(seeded.pg_dsn) as conn:
        cur = await conn.execute("SELECT status FROM issues WHERE id = %s", (issue,))
        assert await cur.fetchone() == ("unresolved",)


async def test_issue_under_the_wrong_org_path_is_404(
    client: httpx.AsyncClient, seeded: Seeded
) -> None:
    """Even the issue's own member gets 404 when the path names another organization."""
    path = f"/api/0/organizations/globex/issues/{seeded.issue('zero')}/"
    response = await client.get(path, headers=bearer(seeded.tokens["alice"]))
    assert response.status_code == 404


async def test_event_of_another_project_is_404(client: httpx.AsyncClient, seeded: Seeded) -> None:
    globex_event = dataset.issue_spec("globex").events[0].event_id
    for path in (f"/api/0/projects/acme/backend/events/{globex_event}/",
                 f"/api/0/projects/globex/shop/events/{globex_event}/"):
        response = await client.get(path, headers=bearer(seeded.tokens["alice"]))
        assert response.status_code == 404, path


async def test_superuser_sees_every_organization(
    client: httpx.AsyncClient, seeded: Seeded
) -> None:
    headers = bearer(seeded.superuser_token)
    acme = await client.get(f"/api/0/issues/{seeded.issue('zero')}/", headers=headers)
    globex = await client.get(f"/api/0/issues/{seeded.issue('globex')}/", headers=headers)
    assert acme.status_code == globex.status_code == 200
