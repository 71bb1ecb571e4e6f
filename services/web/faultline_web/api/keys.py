"""DSN keys (Sentry's "client keys") and project quotas, in Sentry's API shapes.

* ``GET  /api/0/projects/{org}/{project}/keys/``: the project's keys.
* ``POST /api/0/projects/{org}/{project}/keys/``: a new key, from ``name`` and ``rateLimit``.
* ``GET|PUT /api/0/projects/{org}/{project}/keys/{key_id}/``: one key (``key_id`` is its
  public key, as in Sentry); PUT takes ``name``, ``isActive`` and
  ``rateLimit: {"window": <seconds>, "count": <events>}`` or ``null`` (no limit).
* ``GET|PUT /api/0/projects/{org}/{project}/``: the project, with
  ``quotas: {"perMinute": N | null, "perHour": M | null}`` (error events over all the
  project's keys; ``null`` is unlimited; a missing field is left as it is).

Reading needs access to the project (others' are 404); changing needs the organization
role owner, admin or manager, or a superuser (else 403). The relay applies a change when
its key cache entry expires (``FAULTLINE_RELAY_KEY_CACHE_TTL_S``, 30 s by default).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse

from faultline_core.storage.postgres.tenancy import Project, TokenUser
from faultline_web import keystore, serializers
from faultline_web.api import grouping
from faultline_web.api.issues import base_url
from faultline_web.context import WebContext
from faultline_web.deps import NOT_FOUND, CurrentUser, ProjectDep, Web
from faultline_web.keystore import KeyRow, Quotas

router = APIRouter(prefix="/api/0", tags=["keys"])

MAX_NAME_LENGTH = 64
MAX_WINDOW_S = 86_400
MAX_COUNT = 2**31 - 1  # the PostgreSQL INTEGER columns
NO_PERMISSION = "You do not have permission to perform this action."


def _dsn_urls(key: KeyRow, project: Project, base: str) -> dict[str, str]:
    scheme, _, rest = base.rstrip("/").partition("://")
    public = f"{scheme}://{key.public_key}@{rest}/{project.id}"
    secret = f"{scheme}://{key.public_key}:{key.secret_key}@{rest}/{project.id}"
    api = f"{base.rstrip('/')}/api/{project.id}"
    return {
        "public": public,
        "secret": secret if key.secret_key else public,
        "csp": f"{api}/security/?sentry_key={key.public_key}",
        "security": f"{api}/security/?sentry_key={key.public_key}",
        "minidump": f"{api}/minidump/?sentry_key={key.public_key}",
    }


def key_json(key: KeyRow, project: Project, base: str) -> dict[str, Any]:
    """A key as Sentry's client-key API shows it."""
    rate_limit = None
    if key.rate_limit_count is not None and key.rate_limit_window is not None:
        rate_limit = {"window": key.rate_limit_window, "count": key.rate_limit_count}
    return {
        "id": key.public_key,
        "name": key.label,
        "label": key.label,
        "public": key.public_key,
        "secret": key.secret_key,
        "projectId": project.id,
        "isActive": key.is_active,
        "rateLimit": rate_limit,
        "dsn": _dsn_urls(key, project, base),
        "dateCreated": key.created_at.isoformat(),
    }


def project_json(project: Project, quotas: Quotas) -> dict[str, Any]:
    """The project with its organization and its event quotas."""
    return {
        **serializers.project_json(project),
        "organization": {"id": str(project.organization_id),
                         "slug": project.organization_slug},
        "quotas": {"perMinute": quotas.per_minute, "perHour": quotas.per_hour},
    }


async def json_object(request: Request) -> dict[str, Any]:
    """The request body, which must be a JSON object (400 otherwise)."""
    try:
        body = await request.json()
    except ValueError as exc:
        raise HTTPException(400, "the body must be a JSON object") from exc
    if not isinstance(body, dict):
        raise HTTPException(400, "the body must be a JSON object")
    return body


def _int_in(value: object, field: str, low: int, high: int) -> int:
    # bool is an int in Python; JSON true is not a number.
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise HTTPException(400, f"{field} must be an integer from {low} to {high}")
    return value


def parse_rate_limit(value: object) -> tuple[int, int] | None:
    """``rateLimit``: ``null`` or ``{"window": seconds, "count": events}`` → (count, window)."""
    if value is None:
        return None
    if not isinstance(value, dict) or set(value) - {"window", "count"}:
        raise HTTPException(400, 'rateLimit must be null or {"window": ..., "count": ...}')
    window = _int_in(value.get("window"), "rateLimit.window", 1, MAX_WINDOW_S)
    count = _int_in(value.get("count"), "rateLimit.count", 0, MAX_COUNT)
    return count, window


def parse_name(value: object) -> str:
    if not isinstance(value, str) or not value.strip() or len(value.strip()) > MAX_NAME_LENGTH:
        raise HTTPException(400, f"name must be a non-empty string of at most "
                                 f"{MAX_NAME_LENGTH} characters")
    return value.strip()


def key_changes(body: dict[str, Any]) -> dict[str, Any]:
    """The columns a key update sets, from ``name``, ``isActive`` and ``rateLimit``."""
    changes: dict[str, Any] = {}
    if "name" in body:
        changes["label"] = parse_name(body["name"])
    if "isActive" in body:
        if not isinstance(body["isActive"], bool):
            raise HTTPException(400, "isActive must be true or false")
        changes["is_active"] = body["isActive"]
    if "rateLimit" in body:
        count, window = parse_rate_limit(body["rateLimit"]) or (None, None)
        changes["rate_limit_count"], changes["rate_limit_window"] = count, window
    return changes


def quota_changes(body: dict[str, Any]) -> dict[str, int | None]:
    """The quota columns a project update sets, from ``quotas``."""
    if "quotas" not in body:
        return {}
    quotas = body["quotas"]
    if not isinstance(quotas, dict) or set(quotas) - {"perMinute", "perHour"}:
        raise HTTPException(400, 'quotas must be {"perMinute": N|null, "perHour": N|null}')
    changes: dict[str, int | None] = {}
    for field, column in (("perMinute", "quota_per_minute"), ("perHour", "quota_per_hour")):
        if field in quotas:
            value = quotas[field]
            changes[column] = None if value is None else _int_in(
                value, f"quotas.{field}", 0, MAX_COUNT
            )
    return changes


async def require_manager(web: WebContext, user: TokenUser, project: Project) -> None:
    """403 unless the user may change the project's settings."""
    if user.is_superuser:
        return
    role = await keystore.member_role(web.pool, project.organization_id, user.user_id)
    if role not in keystore.MANAGER_ROLES:
        raise HTTPException(403, NO_PERMISSION)


@router.get("/projects/{org_slug}/{project_slug}/keys/")
async def list_keys(request: Request, project: ProjectDep, web: Web) -> list[dict[str, Any]]:
    keys = await keystore.list_keys(web.pool, project.id)
    base = base_url(request, web)
    return [key_json(key, project, base) for key in keys]


@router.post("/projects/{org_slug}/{project_slug}/keys/", status_code=201)
async def create_key(
    request: Request, project: ProjectDep, web: Web, user: CurrentUser
) -> JSONResponse:
    """A new key; ``name`` defaults to "Default", ``rateLimit`` to none."""
    await require_manager(web, user, project)
    body = await json_object(request)
    name = parse_name(body["name"]) if body.get("name") is not None else "Default"
    rate_limit = parse_rate_limit(body.get("rateLimit"))
    key = await keystore.create_key(web.pool, project.id, name, rate_limit)
    return JSONResponse(key_json(key, project, base_url(request, web)), status_code=201)


@router.get("/projects/{org_slug}/{project_slug}/keys/{key_id}/")
async def get_key(
    request: Request, key_id: str, project: ProjectDep, web: Web
) -> dict[str, Any]:
    key = await keystore.get_key(web.pool, project.id, key_id)
    if key is None:
        raise HTTPException(404, NOT_FOUND)
    return key_json(key, project, base_url(request, web))


@router.put("/projects/{org_slug}/{project_slug}/keys/{key_id}/")
async def update_key(
    request: Request, key_id: str, project: ProjectDep, web: Web, user: CurrentUser
) -> dict[str, Any]:
    """Change a key's name, whether it is active, or its rate limit."""
    await require_manager(web, user, project)
    changes = key_changes(await json_object(request))
    key = await keystore.update_key(web.pool, project.id, key_id, changes)
    if key is None:
        raise HTTPException(404, NOT_FOUND)
    return key_json(key, project, base_url(request, web))


@router.get("/projects/{org_slug}/{project_slug}/")
async def get_project(project: ProjectDep, web: Web) -> dict[str, Any]:
    """The project with its quotas and grouping settings (see :mod:`.grouping`)."""
    body = project_json(project, await keystore.get_quotas(web.pool, project.id))
    return {**body, **await grouping.project_grouping_json(web.pool, project.id)}


@router.put("/projects/{org_slug}/{project_slug}/")
async def update_project(
    request: Request, project: ProjectDep, web: Web, user: CurrentUser
) -> dict[str, Any]:
    """Change the project's event quotas and grouping settings (``groupingConfig``,
    ``fingerprintingRules``, ``groupingEnhancements``); other fields are not editable."""
    await require_manager(web, user, project)
    body = await json_object(request)
    changes = quota_changes(body)
    grouping_changes = grouping.grouping_changes(body)  # all validated before any write
    await keystore.set_quotas(web.pool, project.id, changes)
    await grouping.save_grouping(web.pool, project.id, grouping_changes)
    return await get_project(project, web)
