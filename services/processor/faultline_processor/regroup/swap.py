"""Swapping the shadow projection in: one transaction, under the project's exclusive
regroup lock (see :mod:`faultline_core.storage.postgres.project_locks`), with the
project's issues locked in id order like every other writer locks them.

Order matters because of the foreign keys' cascades: retired issues' activity and the
redirects pointing at them are moved before the issues are deleted, and their hashes are
read before the delete removes them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from psycopg import AsyncConnection

from faultline_core.storage.postgres.recount import recount_issues
from faultline_core.storage.postgres.text import pg_text
from faultline_processor.regroup.plan import Plan
from faultline_processor.regroup.shadow import ShadowIssue

_INSERT_ISSUES = """
INSERT INTO issues (id, project_id, title, culprit, level, type, metadata, platform,
                    first_seen, last_seen, times_seen, grouping_config)
SELECT u.id, %(project)s, u.title, u.culprit, u.level, u.type, u.metadata::jsonb,
       u.platform, u.ts, u.ts, 0, %(config)s
FROM unnest(%(id)s::bigint[], %(title)s::text[], %(culprit)s::text[], %(level)s::text[],
            %(type)s::text[], %(metadata)s::text[], %(platform)s::text[],
            %(ts)s::timestamptz[])
     AS u(id, title, culprit, level, type, metadata, platform, ts)
"""

_UPDATE_ISSUES = """
UPDATE issues i SET title = u.title, culprit = u.culprit, level = u.level, type = u.type,
       metadata = u.metadata::jsonb, platform = u.platform, grouping_config = %(config)s
FROM unnest(%(id)s::bigint[], %(title)s::text[], %(culprit)s::text[], %(level)s::text[],
            %(type)s::text[], %(metadata)s::text[], %(platform)s::text[],
            %(ts)s::timestamptz[])
     AS u(id, title, culprit, level, type, metadata, platform, ts)
WHERE i.id = u.id AND i.project_id = %(project)s
"""

_MOVE_RETIRED = (
    """UPDATE issue_activity a SET issue_id = t.new_id FROM rg_target t
    WHERE a.project_id = %(project)s AND a.issue_id = t.old_id
      AND t.old_id = ANY(%(retired)s::bigint[])""",
    """UPDATE issue_redirects r SET to_issue_id = t.new_id FROM rg_target t
    WHERE r.project_id = %(project)s AND r.to_issue_id = t.old_id
      AND t.old_id = ANY(%(retired)s::bigint[])""",
    """INSERT INTO issue_redirects (project_id, from_issue_id, to_issue_id)
    SELECT %(project)s, t.old_id, t.new_id FROM rg_target t
    WHERE t.old_id = ANY(%(retired)s::bigint[])
    ON CONFLICT (from_issue_id) DO UPDATE SET to_issue_id = excluded.to_issue_id""",
    # Regrouped events first: afterwards a row still on a retired id was not regrouped
    # (not read back, or received before --since) and follows its old issue's target.
    """UPDATE processed_events p SET issue_id = f.issue_id
    FROM rg_events e JOIN rg_keys k ON k.key_idx = e.key_idx
    JOIN rg_final f ON f.issue_idx = k.issue_idx
    WHERE p.project_id = %(project)s AND p.event_id = e.event_id
      AND p.issue_id <> f.issue_id""",
    """UPDATE processed_events p SET issue_id = t.new_id FROM rg_target t
    WHERE p.project_id = %(project)s AND p.issue_id = t.old_id AND t.old_id <> t.new_id""",
)

_UPSERT_HASHES = """
INSERT INTO grouphashes (project_id, hash, issue_id)
SELECT %(project)s, u.hash, u.issue_id
FROM unnest(%(hash)s::text[], %(issue)s::bigint[]) AS u(hash, issue_id)
ORDER BY u.hash
ON CONFLICT (project_id, hash) DO UPDATE SET issue_id = excluded.issue_id
"""

_ACTIVITY = """
INSERT INTO issue_activity (project_id, issue_id, type, data)
SELECT %(project)s, u.id, 'regroup', u.data::jsonb
FROM unnest(%(id)s::bigint[], %(data)s::text[]) AS u(id, data) ORDER BY u.id
"""


async def allocate_ids(conn: AsyncConnection[Any], plan: Plan) -> dict[int, int]:
    """The final issue id of every new issue: its winner's, or a fresh one."""
    fresh = plan.fresh
    cur = await conn.execute(
        "SELECT nextval(pg_get_serial_sequence('issues', 'id')) AS id"
        " FROM generate_series(1, %s)", (len(fresh),))
    ids = [int(row["id"]) for row in await cur.fetchall()]
    return {**plan.winner, **dict(zip(fresh, ids, strict=True))}


async def apply_plan(
    conn: AsyncConnection[Any], project_id: int, plan: Plan,
    issues: Sequence[ShadowIssue], final: Mapping[int, int], config: str, run_id: str,
) -> None:
    """Write the shadow projection over the project's (locked) issues."""
    params: dict[str, Any] = {"project": project_id, "config": config,
                              "retired": plan.retired}
    await _copy_maps(conn, plan, final)
    reused = set(plan.winner)
    await conn.execute(_INSERT_ISSUES, {**params, **_describe(
        [issues[i] for i in plan.fresh], final)})
    await conn.execute(_UPDATE_ISSUES, {**params, **_describe(
        [issues[i] for i in sorted(reused)], final)})
    old_hashes = await _hashes_of(conn, project_id, sorted(plan.target))
    for statement in _MOVE_RETIRED:
        await conn.execute(statement, params)
    await conn.execute("DELETE FROM issues WHERE project_id = %(project)s"
                       " AND id = ANY(%(retired)s::bigint[])", params)
    hashes = _hash_map(plan, issues, final, old_hashes)
    await conn.execute(_UPSERT_HASHES, {**params, "hash": list(hashes),
                                        "issue": list(hashes.values())})
    await recount_issues(conn, project_id, list(final.values()))
    await conn.execute(_ACTIVITY, {**params, **_activity(plan, final, config, run_id)})


async def _copy_maps(conn: AsyncConnection[Any], plan: Plan, final: Mapping[int, int]) -> None:
    await conn.execute("TRUNCATE rg_final, rg_target")
    async with conn.cursor() as cur:
        async with cur.copy("COPY rg_final (issue_idx, issue_id) FROM STDIN") as copy:
            await copy.write("".join(f"{i}\t{f}\n" for i, f in final.items()).encode())
        async with cur.copy("COPY rg_target (old_id, new_id) FROM STDIN") as copy:
            await copy.write("".join(
                f"{old}\t{final[new]}\n" for old, new in plan.target.items()).encode())
    await conn.execute("ANALYZE rg_final")
    await conn.execute("ANALYZE rg_target")


async def _hashes_of(
    conn: AsyncConnection[Any], project_id: int, issue_ids: Sequence[int]
) -> dict[str, int]:
    cur = await conn.execute(
        "SELECT hash, issue_id FROM grouphashes WHERE project_id = %s"
        " AND issue_id = ANY(%s::bigint[])", (project_id, list(issue_ids)))
    return {str(row["hash"]): int(row["issue_id"]) for row in await cur.fetchall()}


def _hash_map(
    plan: Plan, issues: Sequence[ShadowIssue], final: Mapping[int, int],
    old_hashes: Mapping[str, int],
) -> dict[str, int]:
    """Old hashes to their majority issue (else their issue's target); the new config's
    hashes, which win any conflict, to their new issue."""
    wanted: dict[str, int] = {}
    for h, old in old_hashes.items():
        new = plan.hash_target.get(h, plan.target[old])
        wanted[h] = final[new]
    for index, issue_id in final.items():
        for h in issues[index].hashes:
            wanted[h] = issue_id
    return dict(sorted(wanted.items()))


def _describe(issues: Sequence[ShadowIssue], final: Mapping[int, int]) -> dict[str, list[Any]]:
    return {
        "id": [final[i.index] for i in issues],
        "title": [pg_text(i.latest.title) for i in issues],
        "culprit": [pg_text(i.latest.culprit) for i in issues],
        "level": [pg_text(i.latest.level) or "error" for i in issues],
        "type": [pg_text(i.seed.type) for i in issues],
        "metadata": [_json(i.metadata) for i in issues],
        "platform": [pg_text(i.seed.platform) for i in issues],
        "ts": [i.latest.timestamp for i in issues],
    }


def _json(value: Mapping[str, Any]) -> str:
    # jsonb refuses NUL characters; everything else stored data holds is valid JSON.
    return json.dumps(value, default=str).replace("\\u0000", "")


def _activity(
    plan: Plan, final: Mapping[int, int], config: str, run_id: str
) -> dict[str, list[Any]]:
    items = sorted(final.items(), key=lambda item: item[1])
    return {
        "id": [issue_id for _, issue_id in items],
        "data": [json.dumps({"run": run_id, "config": config,
                             "events": plan.totals[index],
                             "from": [str(o) for o in plan.contributors.get(index, [])]})
                 for index, _ in items],
    }
