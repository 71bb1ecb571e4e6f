"""Organization statistics in Sentry's shapes: release health (``/sessions/``) and
outcomes (``/stats_v2/``).

``project`` selects projects by id (repeatable; absent or ``-1``: every project of the
organization the caller can see). An organization or project the caller cannot see is
404, like every other object of another tenant.

``/sessions/`` fields: ``sum(session)``, ``crash_free_rate(session)``,
``crash_rate(session)``, ``count_healthy(session)``, ``count_errored(session)`` (errored,
neither crashed nor abnormal), ``count_unhealthy(session)`` (every session with an
error), ``count_crashed(session)``, ``count_abnormal(session)``; groupBy ``project``,
``release``, ``environment``.

``/stats_v2/`` field: ``sum(quantity)``; groupBy ``project``, ``outcome``, ``category``,
``reason``; optional ``outcome``/``category``/``reason`` filters. Outcomes are accepted,
rate_limited, client_discard, filtered and filtered_sampling; accepted errors are counted
from processed events in the hour of the event's timestamp.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query

from faultline_core.storage.postgres.tenancy import Project, TokenUser
from faultline_web.context import WebContext
from faultline_web.deps import NOT_FOUND, CurrentUser, Web, parse_object_id
from faultline_web.stats_query import (
    OUTCOME_FIELDS,
    OUTCOME_GROUPS,
    SESSION_FIELDS,
    SESSION_GROUPS,
    StatsError,
    TimeRange,
    grouped,
    parse_range,
    pick,
)
from faultline_web.stats_store import load_organization, outcome_rows, session_rows

router = APIRouter(prefix="/api/0/organizations/{org_slug}", tags=["stats"])

Values = Annotated[list[str], Query(max_length=200)]
SESSION_METRICS = ("started", "errored", "crashed", "abnormal")


async def stats_projects(
    web: WebContext, user: TokenUser, org_slug: str, requested: list[str]
) -> list[Project]:
    """The projects a stats request covers; 404 for anything the caller cannot see."""
    org = await load_organization(web.pool, org_slug)
    if org is None or not (user.is_superuser or org.id in user.organization_ids):
        raise HTTPException(404, NOT_FOUND)
    visible = {p.id: p for p in org.projects if user.can_access(p)}
    wanted = [text for text in requested if text != "-1"]
    if not wanted:
        return list(visible.values())
    chosen: list[Project] = []
    for project_id in dict.fromkeys(parse_object_id(text) for text in wanted):
        project = visible.get(project_id)
        if project is None:
            raise HTTPException(404, NOT_FOUND)
        chosen.append(project)
    return chosen


def request_range(stats_period: str, interval: str | None) -> TimeRange:
    try:
        return parse_range(stats_period, interval, datetime.now(UTC))
    except StatsError as exc:
        raise HTTPException(400, str(exc)) from exc


def chosen(values: list[str], allowed: Any, what: str, required: bool) -> list[str]:
    if required and not values:
        raise HTTPException(400, f"at least one {what} is required")
    try:
        return pick(values, allowed, what)
    except StatsError as exc:
        raise HTTPException(400, str(exc)) from exc


async def session_stats(
    web: WebContext, projects: list[Project], fields: list[str], group_by: list[str],
    time_range: TimeRange,
) -> dict[str, Any]:
    """Release health of ``projects`` in the grouped shape (also used by the UI)."""
    rows = await session_rows(web.pool, [p.id for p in projects], time_range.start,
                              time_range.end)
    return grouped(
        (({"project": r.project_id, "release": r.release, "environment": r.environment},
          r.bucket, {"started": r.started, "errored": r.errored, "crashed": r.crashed,
                     "abnormal": r.abnormal}) for r in rows),
        group_by, {name: SESSION_FIELDS[name] for name in fields}, time_range,
        SESSION_METRICS,
    )


async def outcome_stats(
    web: WebContext, projects: list[Project], group_by: list[str], time_range: TimeRange,
    filters: dict[str, list[str]] | None = None,
) -> dict[str, Any]:
    """Outcomes of ``projects`` as ``sum(quantity)`` in the grouped shape."""
    rows = await outcome_rows(web.pool, [p.id for p in projects], time_range.start,
                              time_range.end)
    wanted = {name: set(values) for name, values in (filters or {}).items() if values}
    dimensions = (({"project": r.project_id, "outcome": r.outcome, "category": r.category,
                    "reason": r.reason}, r.bucket, {"quantity": r.quantity}) for r in rows)
    return grouped(
        ((d, b, v) for d, b, v in dimensions
         if all(d[name] in values for name, values in wanted.items())),
        group_by, OUTCOME_FIELDS, time_range, ("quantity",),
    )


@router.get("/sessions/")
async def organization_sessions(
    org_slug: str, web: Web, user: CurrentUser,
    field: Values = [],  # noqa: B006 - FastAPI copies defaults per request
    group_by: Annotated[list[str], Query(alias="groupBy", max_length=200)] = [],  # noqa: B006
    project: Values = [],  # noqa: B006
    stats_period: Annotated[str, Query(alias="statsPeriod", max_length=20)] = "24h",
    interval: Annotated[str | None, Query(max_length=20)] = None,
    query: Annotated[str, Query(max_length=200)] = "",
) -> dict[str, Any]:
    """Sessions per release and environment over time, with crash-free rates."""
    if query.strip():
        raise HTTPException(400, "query filters are not supported; use groupBy")
    fields = chosen(field, SESSION_FIELDS, "field", required=True)
    groups = chosen(group_by, SESSION_GROUPS, "groupBy", required=False)
    time_range = request_range(stats_period, interval)
    projects = await stats_projects(web, user, org_slug, project)
    return await session_stats(web, projects, fields, groups, time_range)


@router.get("/stats_v2/")
async def organization_stats(
    org_slug: str, web: Web, user: CurrentUser,
    field: Values = [],  # noqa: B006
    group_by: Annotated[list[str], Query(alias="groupBy", max_length=200)] = [],  # noqa: B006
    project: Values = [],  # noqa: B006
    outcome: Values = [],  # noqa: B006
    category: Values = [],  # noqa: B006
    reason: Values = [],  # noqa: B006
    stats_period: Annotated[str, Query(alias="statsPeriod", max_length=20)] = "24h",
    interval: Annotated[str | None, Query(max_length=20)] = None,
) -> dict[str, Any]:
    """What became of the data the projects sent: accepted, rate-limited, discarded."""
    chosen(field, OUTCOME_FIELDS, "field", required=True)
    groups = chosen(group_by, OUTCOME_GROUPS, "groupBy", required=False)
    time_range = request_range(stats_period, interval)
    projects = await stats_projects(web, user, org_slug, project)
    filters = {"outcome": outcome, "category": category, "reason": reason}
    return await outcome_stats(web, projects, groups, time_range, filters)
