"""What operations watch: one JSON log line per request, and Prometheus metrics at /metrics.

Request latencies are measured in each worker process; under `warehouse serve` the workers
write them to PROMETHEUS_MULTIPROC_DIR, so one scrape sees every worker. Scans, orders and
print jobs are counted from the database at each scrape, so every worker and every app
server on one database tells the same figures.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import logging
import os
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Flask, Response, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, inspect, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from warehouse import refusals, web
from warehouse.models import Order, OrderStatus, PrintJob, PrintJobStatus, ScanLog

request_log = logging.getLogger("warehouse.requests")

REQUEST_SECONDS = Histogram(
    "warehouse_request_seconds",
    "Time from a request's arrival to its answer, by endpoint, method and status.",
    ["endpoint", "method", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)

bp = Blueprint("monitoring", __name__)


def _started() -> None:
    g.started = time.perf_counter()


def _station() -> str | None:
    """The packing station a request acts for, where its path or query names one."""
    station = (request.view_args or {}).get("station") or request.args.get("station")
    return str(station) if station else None


def _user_name() -> str | None:
    """Who asked, without failing the answer: a refused request's rollback has expired the
    user's row, and reading it again needs the database, which may be what failed."""
    user = web.current_user()
    if user is None:
        return None
    state = inspect(user)
    if "name" in state.dict:
        return str(state.dict["name"])
    try:
        return user.name
    except SQLAlchemyError:
        return f"user #{state.identity[0]}" if state.identity else None


def _measured(response: Response) -> Response:
    """Log the request as one JSON line and add it to the latency histogram."""
    started = g.get("started")
    duration = time.perf_counter() - started if started is not None else 0.0
    # An unknown path is counted under one name, so a scan of random URLs cannot make
    # a series per URL.
    endpoint = request.endpoint or "unmatched"
    REQUEST_SECONDS.labels(endpoint, request.method, str(response.status_code)).observe(duration)
    request_log.info(
        json.dumps(
            {
                "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
                "user": _user_name(),
                "station": _station(),
                "method": request.method,
                "path": request.path,
                "endpoint": endpoint,
                "status": response.status_code,
                "duration_ms": round(duration * 1000, 1),
            },
            ensure_ascii=False,
        )
    )
    return response


class StoredFigures(Collector):
    """Scans, orders and print jobs as the database holds them, read at each scrape."""

    def __init__(self, session: Session):
        self.session = session

    def _count_by(self, column: Any) -> dict[Any, int]:
        rows = self.session.execute(select(column, func.count()).group_by(column))
        return {value: count for value, count in rows}

    def collect(self) -> Iterable[Metric]:
        """The figures of one scrape."""
        scans = CounterMetricFamily(
            "warehouse_scans", "Scans logged, by whether they were accepted.", labels=["accepted"]
        )
        for accepted, count in self._count_by(ScanLog.accepted).items():
            scans.add_metric([str(bool(accepted)).lower()], count)
        yield scans

        received = CounterMetricFamily("warehouse_orders_received", "Orders taken in.")
        by_status = GaugeMetricFamily(
            "warehouse_orders", "Orders by their status now.", labels=["status"]
        )
        counts = self._count_by(Order.status)
        for status in OrderStatus:
            by_status.add_metric([status.value], counts.get(status, 0))
        received.add_metric([], sum(counts.values()))
        yield received
        yield by_status

        jobs = GaugeMetricFamily(
            "warehouse_print_jobs", "Print jobs by their state now.", labels=["state"]
        )
        states = self._count_by(PrintJob.status)
        for state in PrintJobStatus:
            jobs.add_metric([state.value], states.get(state, 0))
        yield jobs


def _may_read_metrics() -> bool:
    """A request with the configured metrics token, or with none configured, from this machine."""
    token = web.config().server.metrics_token
    if token:
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(given.strip(), token)
    try:
        return ipaddress.ip_address(request.remote_addr or "").is_loopback
    except ValueError:
        return False


@bp.route("/metrics")
@web.scraped
def metrics() -> Response:
    """The Prometheus exposition of every worker's request latencies and the stored figures."""
    if not _may_read_metrics():
        return refusals.error_response(
            403,
            "forbidden",
            "Metrics are read with the metrics token (server.metrics_token), or from this "
            "machine when none is set.",
        )
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = CollectorRegistry()
        registry.register(_ThisProcess())
    registry.register(StoredFigures(web.db()))
    return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)


class _ThisProcess(Collector):
    """The default registry's metrics, for a service that runs as one process."""

    def collect(self) -> Iterable[Metric]:
        yield from REGISTRY.collect()


def install(app: Flask) -> None:
    """Measure and log every request, and serve /metrics."""
    app.before_request(_started)
    app.after_request(_measured)
    app.register_blueprint(bp)
