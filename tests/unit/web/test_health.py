"""Health, readiness and metrics endpoints of the standalone app."""

from __future__ import annotations

import httpx

from faultline_core.ports import free_port
from tests.unit.web.conftest import Seeded, bearer, make_app


async def test_healthz_and_readyz(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"postgres": True, "query": True}


async def test_readyz_fails_without_the_query_service(seeded: Seeded) -> None:
    app = make_app(seeded, f"127.0.0.1:{free_port()}")
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            ready = await http.get("/readyz")
            assert ready.status_code == 503
            assert ready.json()["checks"] == {"postgres": True, "query": False}
            issues = await http.get("/api/0/projects/acme/backend/issues/",
                                    headers=bearer(seeded.tokens["alice"]))
            assert issues.status_code == 503


async def test_metrics_count_requests_by_route_template(
    client: httpx.AsyncClient, seeded: Seeded
) -> None:
    await client.get(f"/api/0/issues/{seeded.issue('zero')}/",
                     headers=bearer(seeded.tokens["alice"]))
    text = (await client.get("/metrics")).text
    assert ('faultline_web_http_requests_total{method="GET",route="/api/0/issues/{issue_id}/",'
            'status_class="2xx"}') in text
    assert 'faultline_web_query_rpc_duration_seconds_count{code="OK",method="GetIssue"}' in text
    assert str(seeded.issue("zero")) + "/" not in text
