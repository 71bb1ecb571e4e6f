"""Log search: ``GET /api/0/projects/{org}/{project}/logs/``.

The ``query`` parameter is a small search language: ``key:value`` tokens filter on an
attribute (``release``, ``environment`` and ``trace`` on the line's own fields, ``level``
on the level), ``"quoted text"`` and plain words are a case-insensitive substring of the
body. ``level`` may also be given as parameters (``?level=error&level=warn``) and the time
range as ``statsPeriod`` (``30m``, ``24h``, ``14d``...). Pages are linked the way the
issue list links them (Sentry's ``Link`` header).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import JSONResponse

from faultline.v1 import query_pb2
from faultline_web.api.issues import link_header
from faultline_web.deps import ProjectDep, Web
from faultline_web.serializers import iso8601

router = APIRouter(prefix="/api/0", tags=["logs"])

DEFAULT_PERIOD = "24h"
MAX_QUERY_CHARS = 1000
_TOKEN = re.compile(r'([\w.\-]+):(?:"([^"]*)"|(\S+))|"([^"]*)"|(\S+)')
_PERIOD = re.compile(r"(\d{1,7})([smhdw])")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


class LogQueryError(ValueError):
    """The search parameters are malformed; the message is safe to show."""


@dataclass
class LogQuery:
    """A parsed ``query``: body text, levels and ``key:value`` filters."""

    text: str = ""
    levels: list[str] = field(default_factory=list)
    filters: list[tuple[str, str]] = field(default_factory=list)


def parse_log_query(query: str) -> LogQuery:
    """Split ``query`` into body text, ``level:`` tokens and attribute filters."""
    parsed = LogQuery()
    words: list[str] = []
    for match in _TOKEN.finditer(query):
        key, quoted_value, value, quoted_text, word = match.groups()
        if key is not None:
            filter_value = quoted_value if quoted_value is not None else value
            if key == "level":
                parsed.levels.append(filter_value.lower())
            else:
                parsed.filters.append((key, filter_value))
        else:
            words.append(quoted_text if quoted_text is not None else word)
    parsed.text = " ".join(words)
    return parsed


def period_seconds(period: str) -> int:
    """Seconds of a ``statsPeriod`` such as ``15m``, ``24h`` or ``14d``."""
    match = _PERIOD.fullmatch(period)
    if match is None or int(match.group(1)) == 0:
        raise LogQueryError("statsPeriod must be a number and a unit: s, m, h, d or w")
    return int(match.group(1)) * _UNIT_SECONDS[match.group(2)]


def search_request(
    project_id: int, query: str, levels: list[str], stats_period: str, limit: int, cursor: str
) -> query_pb2.SearchLogsRequest:
    """The query-service request for these parameters; :class:`LogQueryError`."""
    if len(query) > MAX_QUERY_CHARS:
        raise LogQueryError(f"query may be at most {MAX_QUERY_CHARS} characters")
    parsed = parse_log_query(query)
    return query_pb2.SearchLogsRequest(
        project_id=project_id,
        query=parsed.text,
        levels=[level.lower() for level in levels] + parsed.levels,
        attributes=[query_pb2.LogAttributeFilter(key=key, value=value)
                    for key, value in parsed.filters],
        period_seconds=period_seconds(stats_period or DEFAULT_PERIOD),
        limit=limit,
        cursor=cursor,
    )


def attribute_value(attribute: query_pb2.LogAttribute) -> Any:
    """The attribute's value with its declared type restored (text if it does not parse)."""
    try:
        if attribute.type == "integer":
            return int(attribute.value)
        if attribute.type == "double":
            return float(attribute.value)
        if attribute.type == "boolean":
            return attribute.value == "true"
        if attribute.type == "array":
            return json.loads(attribute.value)
    except ValueError:
        pass
    return attribute.value


def log_json(row: query_pb2.LogRow) -> dict[str, Any]:
    """One log line as the API shows it."""
    return {
        "id": row.log_id,
        "timestamp": iso8601(row.timestamp),
        "level": row.level,
        "severity_number": row.severity_number,
        "body": row.body,
        "trace_id": row.trace_id or None,
        "span_id": row.span_id or None,
        "release": row.release or None,
        "environment": row.environment or None,
        "template": row.template or None,
        "attributes": {
            attribute.key: {"value": attribute_value(attribute), "type": attribute.type}
            for attribute in row.attributes
        },
    }


@router.get("/projects/{org_slug}/{project_slug}/logs/")
async def search_project_logs(
    request: Request,
    project: ProjectDep,
    web: Web,
    query: Annotated[str, Query(max_length=MAX_QUERY_CHARS)] = "",
    level: Annotated[list[str] | None, Query(max_length=20)] = None,
    stats_period: Annotated[str, Query(alias="statsPeriod", max_length=20)] = DEFAULT_PERIOD,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: Annotated[str, Query(max_length=1000)] = "",
) -> JSONResponse:
    """The project's log lines matching the search, newest first."""
    try:
        search = search_request(project.id, query, level or [], stats_period, limit, cursor)
    except LogQueryError as exc:
        raise HTTPException(400, str(exc)) from exc
    page = await web.query.search_logs(search)
    body = [log_json(row) for row in page.rows]
    return JSONResponse(body, headers={"Link": link_header(request, page.next_cursor)})
