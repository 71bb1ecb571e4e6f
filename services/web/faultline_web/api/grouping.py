"""Grouping configs, a project's grouping settings, and why an event grouped where it did.

* ``GET /api/0/projects/{org}/{project}/grouping-configs/``: the registered configs,
  ``[{"id", "latest", "default", "changelog", ...}]`` (``latest`` is what new projects
  get; ``default`` what projects that predate per-project configs kept).
* ``groupingConfig``, ``fingerprintingRules`` and ``groupingEnhancements`` on
  ``GET|PUT /api/0/projects/{org}/{project}/`` (the route lives in :mod:`.keys`, which
  calls :func:`grouping_changes`, :func:`save_grouping` and :func:`project_grouping_json`).
  The config must be a registered id; both rule texts must parse (else 400 whose
  ``detail`` names the field and the line). A change applies to events processed from
  then on (within the processor's settings cache TTL, 30 s): existing issues keep their
  hashes; rebuilding history under new settings is what regrouping is for.
* ``GET /api/0/projects/{org}/{project}/events/{event_id}/grouping-info/``: Sentry's
  ``{variant: {"type", "description", "hash", "hashMismatch", "contributes", "key",
  "component" | "values"}}``, recomputed from the stored event with its issue's config
  and the project's current rules. Each variant also says ``matchedIssue``: whether its
  hash is one of those pointing at the event's issue (what the event was matched on).
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, HTTPException

from faultline.v1 import query_pb2
from faultline_core.grouping import (
    DEFAULT_GROUPING_CONFIG,
    GROUPING_CONFIGS,
    LATEST_GROUPING_CONFIG,
    explain_grouping,
)
from faultline_core.grouping.rules import GroupingRules, RulesSyntaxError, parse_grouping_rules
from faultline_core.storage.postgres.pool import Pool
from faultline_core.storage.postgres.tenancy import Project
from faultline_web import grouping_store
from faultline_web.context import WebContext
from faultline_web.deps import ProjectDep, Web, parse_uuid_id
from faultline_web.eventdata import load_event_data

router = APIRouter(prefix="/api/0", tags=["grouping"])

MAX_RULES_LENGTH = 64 * 1024
_RULE_FIELDS = (
    ("fingerprintingRules", "fingerprinting_rules"),
    ("groupingEnhancements", "grouping_enhancements"),
)


def grouping_configs_json() -> list[dict[str, Any]]:
    """Every registered config, in Sentry's grouping-configs shape."""
    return [
        {
            "id": config_id,
            "latest": config_id == LATEST_GROUPING_CONFIG,
            "default": config_id == DEFAULT_GROUPING_CONFIG,
            "hidden": False,
            "base": None,
            "changelog": GROUPING_CONFIGS[config_id].changelog,
            "risk": 0,
        }
        for config_id in sorted(GROUPING_CONFIGS)
    ]


def _rules_text(body: dict[str, Any], field: str) -> str:
    value = body[field]
    if value is None:
        return ""
    if not isinstance(value, str) or len(value) > MAX_RULES_LENGTH:
        raise HTTPException(400, f"{field} must be a string of at most "
                                 f"{MAX_RULES_LENGTH} characters")
    try:  # each text alone, so the error names the field that is wrong
        parse_grouping_rules(*((value, "") if field == "fingerprintingRules" else ("", value)))
    except RulesSyntaxError as exc:
        raise HTTPException(400, f"{field}: invalid syntax on line {exc.line}: "
                                 f"{exc.message}") from exc
    return value


def grouping_changes(body: dict[str, Any]) -> dict[str, str]:
    """The grouping columns a project update sets (validated; 400 on anything wrong)."""
    changes: dict[str, str] = {}
    if "groupingConfig" in body:
        config = body["groupingConfig"]
        if not isinstance(config, str) or config not in GROUPING_CONFIGS:
            raise HTTPException(400, "groupingConfig must be one of "
                                     f"{', '.join(sorted(GROUPING_CONFIGS))}")
        changes["grouping_config"] = config
    for field, column in _RULE_FIELDS:
        if field in body:
            changes[column] = _rules_text(body, field)
    return changes


async def save_grouping(pool: Pool, project_id: int, changes: dict[str, str]) -> None:
    """Store validated :func:`grouping_changes`."""
    await grouping_store.set_grouping(pool, project_id, changes)


async def project_grouping_json(pool: Pool, project_id: int) -> dict[str, Any]:
    """The project's grouping settings under Sentry's field names."""
    row = await grouping_store.get_grouping(pool, project_id)
    if row is None:
        return {}
    return {
        "groupingConfig": row.grouping_config,
        "fingerprintingRules": row.fingerprinting_rules,
        "groupingEnhancements": row.grouping_enhancements,
    }


def _stored_rules(row: grouping_store.ProjectGroupingRow | None) -> GroupingRules | None:
    """The project's rules as the processor applies them: none if they do not parse."""
    if row is None:
        return None
    try:
        return parse_grouping_rules(row.fingerprinting_rules, row.grouping_enhancements)
    except RulesSyntaxError:
        return None


async def event_grouping_info(
    web: WebContext, project: Project, event: query_pb2.Event
) -> dict[str, Any]:
    """Sentry's grouping info for a stored event (see the module docstring)."""
    settings = await grouping_store.get_grouping(web.pool, project.id)
    config = await grouping_store.issue_grouping_config(web.pool, project.id, event.issue_id)
    if config is None:  # the issue is gone (or not yet written): the project's config
        config = settings.grouping_config if settings else DEFAULT_GROUPING_CONFIG
    if config not in GROUPING_CONFIGS:
        config = DEFAULT_GROUPING_CONFIG
    data = load_event_data(event.data_json)
    info = await asyncio.to_thread(explain_grouping, data, config, _stored_rules(settings))
    hashes = [v["hash"] for v in info.values() if isinstance(v, dict) and v.get("hash")]
    matched = await grouping_store.issue_hashes_among(
        web.pool, project.id, event.issue_id, hashes
    )
    for variant in info.values():
        if isinstance(variant, dict):
            variant["matchedIssue"] = variant.get("hash") in matched
            variant["config"] = config
    return info


@router.get("/projects/{org_slug}/{project_slug}/grouping-configs/")
async def grouping_configs(project: ProjectDep) -> list[dict[str, Any]]:
    """The grouping configs this server can group with."""
    return grouping_configs_json()


@router.get("/projects/{org_slug}/{project_slug}/events/{event_id}/grouping-info/")
async def grouping_info(event_id: str, project: ProjectDep, web: Web) -> dict[str, Any]:
    """Why the event grouped where it did: its variants, components and hashes."""
    event = await web.query.get_event(project.id, parse_uuid_id(event_id))
    return await event_grouping_info(web, project, event)
