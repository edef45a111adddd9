"""`warehouse serve`: the service under gunicorn, with gevent workers.

Why gevent: a sync worker reads a request's headers and body itself, so a client that sends
them slowly holds the whole worker (two slow connections stopped a two-worker server), and
gunicorn's threaded worker reads them in its pool threads once the first byte is in, so a
few slow clients hold every thread. A gevent worker reads each connection in a greenlet of
its own: a slow client costs a greenlet and a socket, never a worker. psycopg 3 waits for
PostgreSQL cooperatively under gevent; SQLite's calls do not yield, so a request never
lets another run while it holds SQLite's write lock, as long as it does no network
waiting inside its transaction. The one such wait a request could make is reading its
body, so each body is read in full before the application runs (RequestBuffer).

This module imports neither the application nor prometheus_client at its top: the
gunicorn master must not, so that each worker imports them after gevent has patched it and
after PROMETHEUS_MULTIPROC_DIR is set.
"""

from __future__ import annotations

import io
import logging
import os
import shutil
import sys
import tempfile
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from warehouse.config import Config
from warehouse.event_sender import SenderProcess

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

# Greenlets per worker: each open connection, slow or idle, takes one.
WORKER_CONNECTIONS = 1000
KEEPALIVE_S = 5


class RequestBuffer:
    """WSGI middleware that reads each request's whole body before the application sees it,
    so a slowly sent body is waited for by its own greenlet, never inside a transaction.
    A body that has not arrived within `deadline_s` is answered 408 and its connection
    closed, so a client cannot keep a connection forever by sending a byte now and then."""

    def __init__(self, app: WSGIApplication, limit: int, deadline_s: float):
        self.app = app
        self.limit = limit
        self.deadline_s = deadline_s

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        """Buffer the body (up to the app's size limit), then call the application."""
        import gevent

        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        chunked = environ.get("HTTP_TRANSFER_ENCODING", "").lower() == "chunked"
        try:
            with gevent.Timeout(self.deadline_s):
                if 0 < length <= self.limit:
                    environ["wsgi.input"] = io.BytesIO(environ["wsgi.input"].read(length))
                elif chunked and not length:
                    # One byte past the limit, so that the application still refuses it.
                    body = environ["wsgi.input"].read(self.limit + 1)
                    environ["wsgi.input"] = io.BytesIO(body)
                    environ["wsgi.input_terminated"] = True
        except gevent.Timeout:
            start_response(
                "408 Request Timeout",
                [("Content-Type", "text/plain; charset=utf-8"), ("Connection", "close")],
            )
            return [b"The request did not arrive in time; send it again.\n"]
        # A body past the limit is left unread: the application refuses it without reading.
        return self.app(environ, start_response)


def metrics_directory() -> Path:
    """PROMETHEUS_MULTIPROC_DIR for this run, emptied of an earlier run's files; made (and
    named in the environment) when the environment names none."""
    named = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if named:
        directory = Path(named)
        directory.mkdir(parents=True, exist_ok=True)
        for stale in directory.glob("*.db"):
            stale.unlink()
    else:
        directory = Path(tempfile.mkdtemp(prefix="warehouse-metrics-"))
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(directory)
    return directory


def _log_requests_to_stdout() -> None:
    """The request log's JSON lines go to standard output, one per request, as they are."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("%(message)s"))
    requests = logging.getLogger("warehouse.requests")
    requests.addHandler(handler)
    requests.setLevel(logging.INFO)
    requests.propagate = False


def serve(config: Config, bind: str, workers: int) -> None:
    """Run the service under gunicorn until it is stopped."""
    from gunicorn.app.base import BaseApplication

    # Made before gevent patches threading, the dispatchers' wake-up events would block a
    # worker's every connection while they wait; the metrics would stay per process.
    early = [
        name
        for name in (
            "warehouse.app",
            "warehouse.printing",
            "warehouse.delivery",
            "prometheus_client",
        )
        if name in sys.modules
    ]
    if early:
        raise RuntimeError(f"imported before the workers start: {', '.join(early)}")
    server = config.server
    made_metrics = "PROMETHEUS_MULTIPROC_DIR" not in os.environ
    metrics = metrics_directory()
    _log_requests_to_stdout()
    options: dict[str, Any] = {
        "bind": bind,
        "workers": workers,
        "worker_class": "gevent",
        "worker_connections": WORKER_CONNECTIONS,
        # A handheld's connection is kept between scans a few seconds apart; a request's
        # headers must arrive within this time too, or its connection is closed.
        "keepalive": KEEPALIVE_S,
        # The JSON request log (warehouse.monitoring) takes the access log's place.
        "accesslog": None,
        "timeout": 60,
        "graceful_timeout": 10,
    }
    if server.https:
        options.update(certfile=server.certificate, keyfile=server.private_key)

    def start_dispatchers(worker: Any) -> None:
        # Each worker sends due print jobs from a thread of its own (a greenlet, once gevent
        # has patched threading), woken the moment a job is written; a job is claimed before
        # it is sent, so no two workers (or servers) send the same one at once.
        from warehouse import printing

        factory = worker.wsgi.extensions["warehouse.sessions"]
        threading.Thread(
            target=printing.run_dispatcher,
            args=(factory, config.printers, threading.Event(), config.printing),
            name="print-dispatcher",
            daemon=True,
        ).start()

    # Channel events go out from a process of their own (warehouse.event_sender).
    sender = SenderProcess(config)

    def worker_gone(_arbiter: Any, worker: Any) -> None:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)

    options["post_worker_init"] = start_dispatchers
    options["when_ready"] = lambda _arbiter: sender.start()
    options["on_exit"] = lambda _arbiter: sender.stop()
    options["child_exit"] = worker_gone

    class Service(BaseApplication):
        def load_config(self) -> None:
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self) -> Any:
            # Each worker builds its own app and engine after the fork and gevent's patching.
            from warehouse.app import create_app

            app = create_app(config)
            app.wsgi_app = RequestBuffer(  # type: ignore[method-assign]
                app.wsgi_app, app.config["MAX_CONTENT_LENGTH"], server.body_timeout_s
            )
            return app

    master = os.getpid()
    try:
        Service().run()
    finally:
        # Workers leave through this frame too (gunicorn forks them inside run()).
        if made_metrics and os.getpid() == master:
            shutil.rmtree(metrics, ignore_errors=True)
