"""The HTML UI: signing in, the issue list and page, status buttons, escaping."""

from __future__ import annotations

import re

import httpx
import psycopg
from markupsafe import escape

from tests.unit.web import dataset
from tests.unit.web.conftest import Seeded

CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')


def escaped(value: str) -> str:
    """``value`` as the templates' autoescaping writes it."""
    return str(escape(value))


async def sign_in(client: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    return await client.post("/login", data={"email": email, "password": password, "next": "/"})


async def signed_in_as_alice(client: httpx.AsyncClient) -> None:
    response = await sign_in(client, dataset.ALICE_EMAIL, dataset.ALICE_PASSWORD)
    assert response.status_code == 303


async def test_anonymous_visitors_are_sent_to_login(client: httpx.AsyncClient) -> None:
    for path in ("/", "/acme/backend/issues/", "/acme/backend/issues/1/"):
        response = await client.get(path)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/login?next=")
    page = await client.get("/login")
    assert page.status_code == 200
    assert 'name="password"' in page.text


async def test_login_with_a_wrong_password_fails(client: httpx.AsyncClient) -> None:
    for email, password in ((dataset.ALICE_EMAIL, "wrong"), ("nobody@x.test", "wrong")):
        response = await sign_in(client, email, password)
        assert response.status_code == 401
        assert "Invalid email or password" in response.text
        assert "faultline_session" not in response.headers.get("set-cookie", "")


async def test_login_sets_a_safe_cookie_and_lands_on_the_first_project(
    client: httpx.AsyncClient,
) -> None:
    response = await sign_in(client, dataset.ALICE_EMAIL, dataset.ALICE_PASSWORD)
    assert response.status_code == 303
    cookie = response.headers["set-cookie"].lower()
    assert "faultline_session=" in cookie
    assert "httponly" in cookie
    assert "samesite=lax" in cookie
    home = await client.get("/")
    assert home.status_code == 303
    assert home.headers["location"] == "/acme/backend/issues/"


async def test_login_never_redirects_off_site(client: httpx.AsyncClient) -> None:
    for target in ("//evil.test/", "https://evil.test/", "/\\evil.test"):
        response = await client.post("/login", data={
            "email": dataset.ALICE_EMAIL, "password": dataset.ALICE_PASSWORD, "next": target})
        assert response.headers["location"] == "/"


async def test_issue_list_page(client: httpx.AsyncClient, seeded: Seeded) -> None:
    await signed_in_as_alice(client)
    page = await client.get("/acme/backend/issues/")
    assert page.status_code == 200
    for spec in dataset.ISSUES:
        shown = escaped(spec.title) in page.text
        assert shown == (spec.project == "backend" and spec.status == "unresolved"), spec.key
    assert "<script>" not in page.text
    resolved = await client.get("/acme/backend/issues/?status=resolved")
    assert escaped(dataset.issue_spec("valueerror").title) in resolved.text
    assert escaped(dataset.issue_spec("zero").title) not in resolved.text


async def test_issue_page_shows_frames_request_and_escapes_event_data(
    client: httpx.AsyncClient, seeded: Seeded
) -> None:
    await signed_in_as_alice(client)
    page = await client.get(f"/acme/backend/issues/{seeded.issue('zero')}/")
    assert page.status_code == 200
    assert escaped(dataset.CHECKOUT_LINE) in page.text
    assert dataset.CHECKOUT_URL in page.text
    assert "GET /cart" in page.text
    hostile = await client.get(f"/acme/backend/issues/{seeded.issue('hostile')}/")
    assert hostile.status_code == 200
    for markup in (dataset.HOSTILE_SCRIPT, dataset.HOSTILE_IMG, "<b>bold</b>", "<i>tag</i>",
                   "<marquee>"):
        assert markup not in hostile.text
    assert escaped(dataset.HOSTILE_SCRIPT) in hostile.text
    assert escaped(dataset.HOSTILE_IMG) in hostile.text
    assert "script-src" not in hostile.headers["content-security-policy"]
    assert "default-src 'none'" in hostile.headers["content-security-policy"]


async def test_newest_frame_comes_first(client: httpx.AsyncClient, seeded: Seeded) -> None:
    await signed_in_as_alice(client)
    page = (await client.get(f"/acme/backend/issues/{seeded.issue('zero')}/")).text
    assert page.index("shop/views.py") < page.index("django/core/handlers/base.py")


async def test_other_tenants_issue_page_is_404(client: httpx.AsyncClient, seeded: Seeded) -> None:
    await signed_in_as_alice(client)
    for path in (f"/globex/shop/issues/{seeded.issue('globex')}/", "/globex/shop/issues/",
                 f"/acme/frontend/issues/{seeded.issue('zero')}/"):
        response = await client.get(path)
        assert response.status_code == 404, path
        assert "GlobexError" not in response.text


async def issue_status(seeded: Seeded, issue_id: int) -> str:
    async with await psycopg.AsyncConnection.connect(seeded.pg_dsn) as conn:
        cur = await conn.execute("SELECT status FROM issues WHERE id = %s", (issue_id,))
        row = await cur.fetchone()
    assert row is not None
    return str(row[0])


async def test_status_buttons_need_the_csrf_token(
    client: httpx.AsyncClient, seeded: Seeded
) -> None:
    await signed_in_as_alice(client)
    issue = seeded.issue("ui-mutable")
    page = await client.get(f"/acme/frontend/issues/{issue}/")
    match = CSRF.search(page.text)
    assert match is not None
    action = f"/acme/frontend/issues/{issue}/status/"
    forged = await client.post(action, data={"status": "resolved", "csrf_token": "0" * 64})
    assert forged.status_code == 403
    assert await issue_status(seeded, issue) == "unresolved"
    done = await client.post(action, data={"status": "resolved", "csrf_token": match.group(1)})
    assert done.status_code == 303
    assert await issue_status(seeded, issue) == "resolved"
    back = await client.post(action, data={"status": "unresolved", "csrf_token": match.group(1)})
    assert back.status_code == 303
    assert await issue_status(seeded, issue) == "unresolved"


async def test_logout_needs_csrf_and_ends_the_session(client: httpx.AsyncClient) -> None:
    await signed_in_as_alice(client)
    page = await client.get("/acme/backend/issues/")
    match = CSRF.search(page.text)
    assert match is not None
    assert (await client.post("/logout", data={"csrf_token": "bad"})).status_code == 403
    assert (await client.get("/acme/backend/issues/")).status_code == 200
    response = await client.post("/logout", data={"csrf_token": match.group(1)})
    assert response.status_code == 303
    assert (await client.get("/acme/backend/issues/")).status_code == 303


async def test_stylesheet_is_served(client: httpx.AsyncClient) -> None:
    response = await client.get("/_static/faultline.css")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/css")
