"""The relay: Sentry-compatible ingestion endpoints that authenticate, check limits and
publish each event, unprocessed, on the ``ingest-events`` topic."""

from __future__ import annotations

from faultline_relay.app import create_app
from faultline_relay.context import RelayContext
from faultline_relay.routes import router

__all__ = ["RelayContext", "create_app", "router"]
