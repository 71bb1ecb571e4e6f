"""A project's Releases page (release health) and Stats page (what became of its data)."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response

from faultline_core.storage.postgres.tenancy import Project
from faultline_web.api.stats import outcome_stats, session_stats
from faultline_web.context import WebContext
from faultline_web.deps import OptionalSessionUser, Web
from faultline_web.stats_query import StatsError, TimeRange, parse_range
from faultline_web.ui.project_page import project_page, project_url

router = APIRouter(include_in_schema=False)

PERIODS = ("24h", "14d", "30d")
OUTCOME_COLUMNS = ("accepted", "rate_limited", "client_discard", "filtered",
                   "filtered_sampling")
RELEASE_FIELDS = ["sum(session)", "crash_free_rate(session)", "count_healthy(session)",
                  "count_errored(session)", "count_abnormal(session)",
                  "count_crashed(session)"]


def page_range(period: str) -> TimeRange:
    """The time range of a ``period`` link; 400 for any other period."""
    if period not in PERIODS:
        raise HTTPException(400, f"period must be one of {', '.join(PERIODS)}")
    try:
        return parse_range(period, None, datetime.now(UTC))
    except StatsError as exc:  # cannot happen for PERIODS; kept for safety
        raise HTTPException(400, str(exc)) from exc


def percent(rate: float | None) -> str:
    """A rate as a percentage with one decimal; a dash when there is none."""
    return "–" if rate is None else f"{rate * 100:.1f}%"


def base_context(project: Project, page: str, period: str) -> dict[str, Any]:
    """What both pages show: the project and the period links."""
    return {
        "project": project, "period": period,
        "period_links": [(name, f"{project_url(project, page)}?period={name}", name == period)
                         for name in PERIODS],
    }


async def releases_context(web: WebContext, project: Project, period: str) -> dict[str, Any]:
    """Session health per release and environment, most sessions first."""
    body = await session_stats(web, [project], RELEASE_FIELDS, ["release", "environment"],
                               page_range(period))
    rows = [{
        "release": g["by"]["release"], "environment": g["by"]["environment"] or "(none)",
        "sessions": g["totals"]["sum(session)"],
        "crash_free": percent(g["totals"]["crash_free_rate(session)"]),
        "healthy": g["totals"]["count_healthy(session)"],
        "errored": g["totals"]["count_errored(session)"],
        "abnormal": g["totals"]["count_abnormal(session)"],
        "crashed": g["totals"]["count_crashed(session)"],
    } for g in body["groups"]]
    rows.sort(key=lambda row: (-row["sessions"], row["release"], row["environment"]))
    return {**base_context(project, "releases", period), "releases": rows}


async def stats_context(web: WebContext, project: Project, period: str) -> dict[str, Any]:
    """Outcome totals per data category, and every non-accepted outcome with its reason."""
    body = await outcome_stats(web, [project], ["outcome", "category", "reason"],
                               page_range(period))
    per_category: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    dropped: list[dict[str, Any]] = []
    for group in body["groups"]:
        by, quantity = group["by"], group["totals"]["sum(quantity)"]
        per_category[by["category"]][by["outcome"]] += quantity
        if by["outcome"] != "accepted" and quantity:
            dropped.append({"outcome": by["outcome"], "category": by["category"],
                            "reason": by["reason"] or "(none)", "quantity": quantity})
    dropped.sort(key=lambda row: (-row["quantity"], row["outcome"], row["category"],
                                  row["reason"]))
    categories = [{"category": name, "counts": [per_category[name][o] for o in OUTCOME_COLUMNS]}
                  for name in sorted(per_category)]
    return {**base_context(project, "stats", period), "outcome_columns": OUTCOME_COLUMNS,
            "categories": categories, "dropped": dropped}


@router.get("/{org_slug}/{project_slug}/releases/")
async def releases_page(
    request: Request, web: Web, signed_in: OptionalSessionUser, org_slug: str,
    project_slug: str, period: str = "14d",
) -> Response:
    """The Releases page: release health over the period."""
    return await project_page(request, web, signed_in, org_slug, project_slug, "releases.html",
                              lambda project: releases_context(web, project, period))


@router.get("/{org_slug}/{project_slug}/stats/")
async def stats_page(
    request: Request, web: Web, signed_in: OptionalSessionUser, org_slug: str,
    project_slug: str, period: str = "24h",
) -> Response:
    """The Stats page: what became of the project's data over the period."""
    return await project_page(request, web, signed_in, org_slug, project_slug, "stats.html",
                              lambda project: stats_context(web, project, period))
