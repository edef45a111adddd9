"""An HTTP server on 127.0.0.1 standing in for the channels' event receivers: it checks every
delivery's signature as a channel would (the Standard Webhooks library, with the channel's
secret), keeps each one, and answers as a test tells it: 2xx, an error, a redirect, slowly,
or not at all (switched off)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from tests.conftest import free_port


class Server(ThreadingHTTPServer):
    # A web server's listen queue: the standard library's 5 drops connections when the
    # service's senders open theirs at once, and each dropped one is tried again a second
    # later, a delay of the receiver's, not the service's.
    request_queue_size = 128


@dataclass(frozen=True)
class Arrival:
    """One delivery as it arrived, its signature checked."""

    channel: str
    event_id: str
    event: dict[str, Any]
    body: bytes
    headers: dict[str, str]
    # What the receiver answered (or was about to, for one the sender gave up on).
    answered: int
    at: float


@dataclass
class Behaviour:
    status: int = 204
    body: bytes = b""
    location: str | None = None
    # Seconds to wait before answering.
    delay_s: float = 0.0


class Receiver:
    """Receives events at /events/<channel code>, one ThreadingHTTPServer on its own port."""

    def __init__(self, port: int | None = None, on: bool = True):
        self.port = port or free_port()
        self.secrets: dict[str, str] = {}
        self.behaviours: dict[str, Behaviour] = {}
        self.arrivals: list[Arrival] = []
        # Deliveries whose signature did not verify (there must be none).
        self.forged: list[tuple[str, dict[str, str], str]] = []
        # Connections accepted, ever.
        self.connections = 0
        # Requests being answered right now.
        self.in_progress = 0
        self.changed = threading.Condition()
        self._server: ThreadingHTTPServer | None = None
        if on:
            self.switch_on()

    def url(self, channel: str) -> str:
        return f"http://127.0.0.1:{self.port}/events/{channel}"

    def expect(self, channel: str, secret: str, behaviour: Behaviour | None = None) -> str:
        """Take `channel`'s events, checked with its secret; returns its events URL."""
        self.secrets[channel] = secret
        self.behaviours[channel] = behaviour or Behaviour()
        return self.url(channel)

    def behave(self, channel: str, **how: Any) -> None:
        self.behaviours[channel] = Behaviour(**how)

    def switch_on(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            # Keeps the connection between deliveries, as a web server would.
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                with receiver.changed:
                    receiver.connections += 1

            def do_POST(self) -> None:
                receiver._take(self)

            def log_message(self, *_args: Any) -> None:
                pass

        self._server = Server(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def switch_off(self) -> None:
        """Nothing listens any more: connections are refused."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def close(self) -> None:
        self.switch_off()

    def __enter__(self) -> Receiver:
        return self

    def __exit__(self, *_exc: Any) -> None:
        self.close()

    def _take(self, request: BaseHTTPRequestHandler) -> None:
        body = request.rfile.read(int(request.headers.get("Content-Length", 0)))
        headers = {name.lower(): value for name, value in request.headers.items()}
        channel = request.path.rsplit("/", 1)[-1]
        behaviour = self.behaviours.get(channel, Behaviour(status=404))
        try:
            event = Webhook(self.secrets[channel]).verify(body, headers)
        except (KeyError, WebhookVerificationError) as error:
            with self.changed:
                self.forged.append((channel, headers, str(error)))
                self.changed.notify_all()
            self._answer(request, Behaviour(status=401, body=b"bad signature"))
            return
        arrival = Arrival(
            channel, headers["webhook-id"], event, body, headers, behaviour.status, time.monotonic()
        )
        with self.changed:
            self.arrivals.append(arrival)
            self.in_progress += 1
            self.changed.notify_all()
        try:
            time.sleep(behaviour.delay_s)
            self._answer(request, behaviour)
        finally:
            with self.changed:
                self.in_progress -= 1
                self.changed.notify_all()

    @staticmethod
    def _answer(request: BaseHTTPRequestHandler, behaviour: Behaviour) -> None:
        try:
            request.send_response(behaviour.status)
            if behaviour.location:
                request.send_header("Location", behaviour.location)
            request.send_header("Content-Length", str(len(behaviour.body)))
            request.end_headers()
            request.wfile.write(behaviour.body)
        except OSError:
            pass  # the sender gave up waiting

    def acknowledged(self, channel: str | None = None) -> list[Arrival]:
        """The deliveries answered 2xx, in the order they arrived."""
        with self.changed:
            return [
                a
                for a in self.arrivals
                if 200 <= a.answered < 300 and (channel is None or a.channel == channel)
            ]

    def of(self, channel: str) -> list[Arrival]:
        with self.changed:
            return [a for a in self.arrivals if a.channel == channel]

    def wait_for(self, check: Callable[[], Any], timeout: float, what: str) -> Any:
        """The first truthy result of `check`, looked at whenever a delivery arrives."""
        deadline = time.monotonic() + timeout
        while not (found := check()):
            left = deadline - time.monotonic()
            assert left > 0, f"timed out waiting for {what}"
            with self.changed:
                self.changed.wait(min(left, 0.2))
        return found
