"""One try at pushing an event to a channel's receiver: a POST of its JSON body signed by the
Standard Webhooks convention (webhook-id, webhook-timestamp, webhook-signature), and what the
answer, or its absence, means in words a supervisor understands. Plain values in and out:
no database here.

Any 2xx answer acknowledges the event. A redirect is not followed (the channel's events URL
is where its events go, and a signed body is not for whoever it points to): it is a failure
that says where it points. Every other answer, and no answer in time, is a failure too.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx
from standardwebhooks.webhooks import Webhook

from warehouse.models import utcnow

log = logging.getLogger(__name__)

SNIPPET_CHARS = 120
ERROR_CHARS = 300
# The most of an acknowledgement's body read to keep its connection.
DRAIN_BYTES = 64 * 1024


@dataclass(frozen=True)
class Pushed:
    delivered: bool
    # Why it was not, in words a supervisor understands.
    error: str = ""


def url_problem(url: str) -> str | None:
    """Why an events URL cannot be sent to, or None."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return f"The events URL {url[:200]!r} is not an address that can be sent to."
    if parts.scheme not in ("http", "https"):
        return f"The events URL {url[:200]} is not an http(s) address."
    if not parts.hostname:
        return f"The events URL {url[:200]} names no host."
    return None if port is None or port > 0 else f"The events URL {url[:200]} names no port."


def _drain(response: httpx.Response) -> None:
    """Read a short answer to its end, so that its connection is kept for the next event (an
    answer left unread closes it); a long one is left, and its connection closed with it."""
    taken = 0
    for chunk in response.iter_raw():
        taken += len(chunk)
        if taken > DRAIN_BYTES:
            return


def _snippet(response: httpx.Response) -> str:
    """The start of an answer's body, as one short line of text."""
    taken = b""
    for chunk in response.iter_bytes():
        taken += chunk
        if len(taken) >= 4 * SNIPPET_CHARS:
            break
    text = re.sub(r"<[^>]*>", " ", taken.decode("utf-8", "replace"))
    text = " ".join(text.split())
    return text if len(text) <= SNIPPET_CHARS else text[: SNIPPET_CHARS - 1] + "…"


def _refusal(response: httpx.Response) -> str:
    """What an answer other than 2xx says."""
    said = f"The channel answered {response.status_code} {response.reason_phrase}".rstrip()
    if 300 <= response.status_code < 400:
        where = response.headers.get("location", "")
        return (
            f"{said}, a redirect{' to ' + where if where else ''}: events are not sent on to "
            "another address; set the channel's events URL to the one it names."
        )
    snippet = _snippet(response)
    return f"{said}: {snippet}" if snippet else f"{said}."


def _failure(error: httpx.HTTPError, url: str, timeout_s: float) -> str:
    """What a send that got no answer met with."""
    host = urlsplit(url).netloc
    text = str(error)
    if isinstance(error, httpx.ConnectTimeout):
        return f"No connection to {host} within {timeout_s:g} s."
    if isinstance(error, httpx.TimeoutException):
        return f"No answer from {host} within {timeout_s:g} s."
    if isinstance(error, httpx.ConnectError):
        if "refused" in text.lower():
            return f"Could not connect to {host}: connection refused (nothing listens there)."
        if "name" in text.lower() or "address" in text.lower():
            return f"Could not connect to {host}: no such host."
        return f"Could not connect to {host}: {text}"
    if isinstance(error, httpx.RemoteProtocolError):
        return f"{host} closed the connection without an answer."
    if isinstance(error, httpx.TransportError):
        return f"The connection to {host} broke before it answered: {text}"
    return f"The event could not be sent to {host}: {text}"


def push_event(
    client: httpx.Client, url: str, secret: str, event_id: str, body: bytes, timeout_s: float
) -> Pushed:
    """POST an event's body to a URL, signed with the channel's secret; never raises."""
    problem = url_problem(url)
    if problem:
        return Pushed(False, problem)
    now = utcnow()
    try:
        signature = Webhook(secret).sign(event_id, now, body.decode())
        headers = {
            "Content-Type": "application/json",
            "webhook-id": event_id,
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": signature,
        }
        with client.stream("POST", url, content=body, headers=headers, timeout=timeout_s) as answer:
            if answer.is_success:
                _drain(answer)
                return Pushed(True)
            return Pushed(False, _refusal(answer)[:ERROR_CHARS])
    except httpx.HTTPError as error:
        return Pushed(False, _failure(error, url, timeout_s)[:ERROR_CHARS])
    except Exception as error:  # a URL or secret that cannot be used: a failure, not a crash
        log.exception("event %s could not be sent", event_id)
        return Pushed(False, f"The event could not be sent: {error}"[:ERROR_CHARS])
