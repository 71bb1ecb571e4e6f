"""The processor's own HTTP listener: Prometheus metrics, and ``/healthz`` for liveness.

The processor has no web framework, so this is the standard library's WSGI server on a
daemon thread (as prometheus-client's ``start_http_server`` is): ``/healthz`` answers 200
while the run loop made progress within ``stale_after_s`` and 503 after that; every
other path serves the metrics. A liveness probe can equally watch the liveness file
(``FAULTLINE_PROCESSOR_LIVENESS_FILE``), which the run loop touches on every iteration.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server
from wsgiref.types import StartResponse, WSGIEnvironment

from prometheus_client import make_wsgi_app

from faultline_core.settings import ProcessorSettings
from faultline_processor.runner import Processor

log = logging.getLogger(__name__)

LIVENESS_STALE_AFTER_S = 60.0
"""One loop iteration can legitimately take long: a rebalance waits for the in-flight
batches (``drain_timeout_s``, 20 s by default) inside a poll."""
LIVENESS_FILE_NAME = "processor.alive"


class LivenessProbe:
    """Whether the processor's run loop made progress lately.

    Until a processor is attached with :meth:`watch`, the probe's creation counts as the
    last progress, so connecting to the bus and the stores gets the same grace period.
    """

    def __init__(self, stale_after_s: float = LIVENESS_STALE_AFTER_S) -> None:
        self.stale_after_s = stale_after_s
        self._created = time.monotonic()
        self._processor: Processor | None = None

    def watch(self, processor: Processor) -> None:
        self._processor = processor

    def idle_seconds(self) -> float:
        processor = self._processor
        last = processor.last_progress if processor is not None else self._created
        return max(0.0, time.monotonic() - last)

    def alive(self) -> bool:
        return self.idle_seconds() <= self.stale_after_s


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        """Probes and scrapes every few seconds would drown the log; stay silent."""


class HealthServer:
    """A running listener; :meth:`close` stops it."""

    def __init__(self, server: WSGIServer, thread: threading.Thread) -> None:
        self._server = server
        self._thread = thread

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def start_health_server(port: int, probe: LivenessProbe, addr: str = "0.0.0.0") -> HealthServer:
    """Serve ``/healthz`` and the metrics on ``addr:port`` (0: any free port)."""
    metrics_app = make_wsgi_app()

    def app(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != "/healthz":
            metrics: Iterable[bytes] = metrics_app(environ, start_response)
            return metrics
        alive = probe.alive()
        body = json.dumps({
            "status": "ok" if alive else "stalled",
            "idle_s": round(probe.idle_seconds(), 1),
        }).encode()
        status = "200 OK" if alive else "503 Service Unavailable"
        headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
        start_response(status, headers)
        return [body]

    server = make_server(addr, port, app, _ThreadingServer, _QuietHandler)
    thread = threading.Thread(target=server.serve_forever, name="processor-http", daemon=True)
    thread.start()
    return HealthServer(server, thread)


def with_default_liveness_file(settings: ProcessorSettings, data_dir: Path) -> ProcessorSettings:
    """``settings`` with a liveness file under ``data_dir`` unless one is configured.

    When ``data_dir`` cannot be created, no file is used (and the reason logged once),
    rather than a warning on every loop iteration.
    """
    if settings.liveness_file is not None:
        return settings
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        log.warning("no liveness file: cannot create %s: %s", data_dir, exc)
        return settings
    return settings.model_copy(update={"liveness_file": data_dir / LIVENESS_FILE_NAME})
