"""``GET /metrics``: the server's state in the Prometheus text format (prometheus-client).

What is measured: the run queue (depth, wait from submit to start), runs (latency from submit to exit by
verdict), execution slots (ready, busy, free), the sandboxes' warm pools (hits, cold starts), collaboration (rooms
in memory, open connections, messages received, flush lag). Histograms are observed where things happen (the run
service calls :meth:`Metrics.run_started` / :meth:`Metrics.run_finished`); gauges are read at scrape time from
async *sources* that features register (:meth:`Metrics.add_source`), so an idle server does no metrics work.

Who may read it: not the public internet. A request must carry ``Authorization: Bearer $CLASSROOM_ADMIN_TOKEN``;
with no admin token configured, only a client on this host's loopback may read it (a sidecar or node-local
scraper). Anyone else gets 401 (no or wrong token) or 403 (not loopback), and the figures never leave.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import Awaitable, Callable

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from classroom.errors import Forbidden, Unauthenticated
from classroom.settings import Settings

log = logging.getLogger(__name__)

Source = Callable[[], Awaitable[dict[str, float]]]
LOOPBACK = ("127.0.0.1", "::1", "localhost")
# Gauge names a source may set (its dict's keys), with their help text.
GAUGES = {
    "queue_depth": "Runs waiting for a slot on this replica's dispatcher.",
    "runs_running": "Runs executing now, dispatched by this replica.",
    "slots_ready": "Execution slots that can take a run (busy or not).",
    "slots_busy": "Execution slots running a run of this replica.",
    "slots_free": "Execution slots ready and idle.",
    "warm_pool_sandboxes": "Pre-warmed sandboxes waiting in the slots' pools.",
    "rooms": "Collaborative rooms in memory on this replica.",
    "connections": "Open collaboration WebSocket connections on this replica.",
    "flush_lag_seconds": "Age of the oldest edit not yet in the durable log (0 when none).",
}
# Monotonic counts a source reports (exported as counters, named *_total).
COUNTERS = {
    "warm_pool_hits": "Runs that started in a pre-warmed sandbox.",
    "cold_starts": "Runs that had to start a sandbox cold.",
    "collab_messages": "Collaboration messages received from clients (rate() gives messages/s).",
}
LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0)
WAIT_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class _Monotonic(Counter):
    """A counter whose value a source reports as a total (prometheus-client's Counter only increments)."""

    def set_total(self, value: float) -> None:
        self._value.set(value)


class Metrics:
    """One registry per app (tests build several apps in one process)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.run_seconds = Histogram(
            "classroom_run_seconds", "Submit to exit, by verdict.", ["verdict"],
            buckets=LATENCY_BUCKETS, registry=self.registry,
        )  # fmt: skip
        self.queue_wait_seconds = Histogram(
            "classroom_queue_wait_seconds", "Submit to start in a slot.", buckets=WAIT_BUCKETS, registry=self.registry
        )
        self.gauges = {k: Gauge(f"classroom_{k}", h, registry=self.registry) for k, h in GAUGES.items()}
        self.counters = {k: _Monotonic(f"classroom_{k}", h, registry=self.registry) for k, h in COUNTERS.items()}
        self.scrape_errors = Counter("classroom_metrics_source_errors", "Sources that failed.", registry=self.registry)
        self._sources: list[Source] = []

    def add_source(self, source: Source) -> None:
        self._sources.append(source)

    def run_started(self, waited_seconds: float) -> None:
        self.queue_wait_seconds.observe(max(0.0, waited_seconds))

    def run_finished(self, verdict: str, seconds: float) -> None:
        self.run_seconds.labels(verdict=verdict or "unknown").observe(max(0.0, seconds))

    async def collect(self) -> bytes:
        results = await asyncio.gather(*(asyncio.wait_for(s(), 3) for s in self._sources), return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                self.scrape_errors.inc()
                log.warning("metrics: a source failed: %s", result)
                continue
            for key, value in result.items():
                if key in self.gauges:
                    self.gauges[key].set(value)
                elif key in self.counters:
                    self.counters[key].set_total(value)
        return generate_latest(self.registry)


def _authorize(request: Request) -> None:
    settings: Settings = request.app.state.settings
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if settings.admin_token:
        if scheme.lower() != "bearer" or not hmac.compare_digest(token.encode(), settings.admin_token.encode()):
            raise Unauthenticated("/metrics needs Authorization: Bearer <CLASSROOM_ADMIN_TOKEN>")
        return
    client = request.client.host if request.client else ""
    if client not in LOOPBACK:
        raise Forbidden("/metrics is served to this host's loopback only (set CLASSROOM_ADMIN_TOKEN to scrape)")


async def metrics(request: Request) -> Response:
    _authorize(request)
    found: Metrics = request.app.state.metrics
    return Response(await found.collect(), media_type=CONTENT_TYPE_LATEST)


def routes() -> list[BaseRoute]:
    return [Route("/metrics", metrics, methods=["GET"])]
