"""Each project's grouping settings, as the processor groups its events with them.

A project records the grouping config it uses (``projects.grouping_config``) and its
server-side rules as users wrote them (``fingerprinting_rules``,
``grouping_enhancements``). :func:`~faultline_processor.prepare.prepare` is pure and runs
in a worker thread, so the poll loop looks the settings up first, for all the projects of
one poll in one query, and hands them over as a mapping.

The cache keeps entries for ``ttl_s`` (a change made through the API applies within that
time) and at most ``max_entries`` projects. Parsed rules are cached by their text, so a
project's rules are parsed once however often its entry is refreshed. Rules that no
longer parse (the API validates them, but a newer parser may be stricter) and configs
that are not registered fall back to no rules and the default config, logged once.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from faultline_core.bus.base import BusMessage
from faultline_core.grouping import DEFAULT_GROUPING_CONFIG, GROUPING_CONFIGS
from faultline_core.grouping.rules import GroupingRules, RulesSyntaxError, parse_grouping_rules
from faultline_core.storage.postgres.pool import Pool

log = logging.getLogger(__name__)

DEFAULT_TTL_S = 30.0
DEFAULT_MAX_ENTRIES = 10_000
MAX_PARSED_RULES = 1_000
RETRY_BACKOFF_S = 1.0


@dataclass(frozen=True)
class ProjectGrouping:
    """How one project's events are grouped."""

    config: str = DEFAULT_GROUPING_CONFIG
    rules: GroupingRules | None = None
    """The parsed server-side rules; ``None`` when the project has none (or they are bad)."""


def effective_config(config: str) -> str:
    """The config a project's events are grouped with: its own, unless this release does
    not know it (written by a newer one), then the default."""
    return config if config in GROUPING_CONFIGS else DEFAULT_GROUPING_CONFIG


NO_SETTINGS = ProjectGrouping()
"""For a project that is not (or no longer) in the database: the default config."""

GroupingByProject = Mapping[int, ProjectGrouping]


def message_project_ids(messages: Sequence[BusMessage]) -> set[int]:
    """The project ids of the messages, read from their header line only (the payload
    may be large and is decoded later, in the worker thread); bad headers are skipped:
    :func:`~faultline_processor.prepare.prepare` dead-letters them."""
    ids: set[int] = set()
    for message in messages:
        head = message.value.partition(b"\n")[0]
        try:
            header = json.loads(head)
            project_id = int(header["project_id"])
        except (ValueError, TypeError, KeyError, OverflowError):
            continue
        if 0 < project_id < 2**63:
            ids.add(project_id)
    return ids


@dataclass(frozen=True)
class _Entry:
    settings: ProjectGrouping
    loaded_at: float


class GroupingSettingsCache:
    """Bounded TTL cache of :class:`ProjectGrouping` by project id, loaded from PostgreSQL."""

    def __init__(
        self,
        pool: Pool,
        *,
        ttl_s: float = DEFAULT_TTL_S,
        max_entries: int = DEFAULT_MAX_ENTRIES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._pool = pool
        self._ttl_s = ttl_s
        self._max_entries = max(1, max_entries)
        self._clock = clock
        self._entries: OrderedDict[int, _Entry] = OrderedDict()
        self._parsed: OrderedDict[tuple[str, str], GroupingRules | None] = OrderedDict()
        self.queries = 0
        """How many times the database was asked (for tests and debugging)."""

    def __len__(self) -> int:
        return len(self._entries)

    async def get_many(self, project_ids: Iterable[int]) -> dict[int, ProjectGrouping]:
        """Settings for every id, loading the missing or expired ones in one query.

        Raises if the database cannot be read and some id has no entry at all; expired
        entries are used (and kept) while it cannot be read.
        """
        now = self._clock()
        wanted = set(project_ids)
        found: dict[int, ProjectGrouping] = {}
        stale: set[int] = set()
        for project_id in wanted:
            entry = self._entries.get(project_id)
            if entry is not None:
                found[project_id] = entry.settings
                if now - entry.loaded_at >= self._ttl_s:
                    stale.add(project_id)
        missing = (wanted - found.keys()) | stale
        if not missing:
            return found
        try:
            loaded = await self._load(sorted(missing))
        except Exception as exc:
            if wanted - found.keys():
                raise
            log.warning("reloading grouping settings failed; using expired ones: %s: %s",
                        type(exc).__name__, exc)
            return found
        for project_id in missing:
            settings = loaded.get(project_id, NO_SETTINGS)
            self._store(project_id, settings, now)
            found[project_id] = settings
        return found

    async def for_messages(
        self, messages: Sequence[BusMessage], stop: asyncio.Event,
        on_retry: Callable[[], None] = lambda: None,
    ) -> GroupingByProject | None:
        """Settings for the projects of ``messages``; retried while the database is
        unreachable (grouping with the wrong settings would be permanent), calling
        ``on_retry`` between tries. ``None`` once ``stop`` is set: the caller must then
        leave the messages uncommitted, to be redelivered."""
        ids = message_project_ids(messages)
        while True:
            try:
                return await self.get_many(ids)
            except Exception as exc:
                log.warning("loading grouping settings failed (retrying): %s: %s",
                            type(exc).__name__, exc)
            if stop.is_set():
                return None
            on_retry()
            await asyncio.sleep(RETRY_BACKOFF_S)

    async def _load(self, project_ids: list[int]) -> dict[int, ProjectGrouping]:
        self.queries += 1
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                "SELECT id, grouping_config, fingerprinting_rules, grouping_enhancements"
                " FROM projects WHERE id = ANY(%s)",
                (project_ids,),
            )
            rows = await cur.fetchall()
        return {
            int(row["id"]): self._settings(
                int(row["id"]), str(row["grouping_config"]),
                str(row["fingerprinting_rules"]), str(row["grouping_enhancements"]),
            )
            for row in rows
        }

    async def refresh(self, project_ids: Iterable[int]) -> dict[int, ProjectGrouping]:
        """Settings for every id, read now whatever the cache holds (a write found that
        a project's config changed since its events were grouped)."""
        ids = set(project_ids)
        for project_id in ids:
            self._entries.pop(project_id, None)
        return await self.get_many(ids)

    def _settings(
        self, project_id: int, config: str, fingerprinting: str, enhancements: str
    ) -> ProjectGrouping:
        if config not in GROUPING_CONFIGS:
            # Written by a newer release than this one; grouping must not stop.
            log.error("project %d uses the unknown grouping config %r; grouping with %r",
                      project_id, config, DEFAULT_GROUPING_CONFIG)
        return ProjectGrouping(effective_config(config),
                               self._rules(project_id, fingerprinting, enhancements))

    def _rules(
        self, project_id: int, fingerprinting: str, enhancements: str
    ) -> GroupingRules | None:
        if not fingerprinting.strip() and not enhancements.strip():
            return None
        key = (fingerprinting, enhancements)
        if key in self._parsed:
            self._parsed.move_to_end(key)
            return self._parsed[key]
        rules: GroupingRules | None
        try:
            rules = parse_grouping_rules(fingerprinting, enhancements)
        except RulesSyntaxError as exc:
            # Logged once: the failure is cached with the text that caused it.
            log.error("project %d: its grouping rules no longer parse (%s); grouping its "
                      "events without rules", project_id, exc)
            rules = None
        if rules is not None and rules.is_empty:
            rules = None
        self._parsed[key] = rules
        while len(self._parsed) > MAX_PARSED_RULES:
            self._parsed.popitem(last=False)
        return rules

    def _store(self, project_id: int, settings: ProjectGrouping, now: float) -> None:
        self._entries[project_id] = _Entry(settings, now)
        self._entries.move_to_end(project_id)
        while len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)
