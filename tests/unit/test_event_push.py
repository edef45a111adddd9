"""One push of an event to a real HTTP server on 127.0.0.1: signed so the Standard Webhooks
library verifies it, any 2xx taken as delivered, and every other outcome a failure whose words
say what happened (a redirect is not followed, and says where it points)."""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import free_port
from tests.receiver import Behaviour, Receiver
from warehouse.event_push import push_event

SECRET = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
BODY = json.dumps({"id": "evt_1", "type": "order.accepted", "data": {"id": 7}}).encode()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as receiving:
        receiving.expect("web", SECRET)
        yield receiving


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client() as http:
        yield http


@pytest.mark.parametrize("status", [200, 201, 202, 204, 299])
def test_any_2xx_delivers_a_signed_event(
    receiver: Receiver, client: httpx.Client, status: int
) -> None:
    receiver.behave("web", status=status)
    pushed = push_event(client, receiver.url("web"), SECRET, "evt_1", BODY, 2)
    assert pushed.delivered and pushed.error == ""
    (arrival,) = receiver.arrivals
    assert arrival.event_id == "evt_1" and arrival.body == BODY and receiver.forged == []
    assert arrival.headers["content-type"] == "application/json"


@pytest.mark.parametrize("body", [b"", b'{"ok": true}', b"x" * 5000])
def test_events_share_one_connection(receiver: Receiver, client: httpx.Client, body: bytes) -> None:
    # An acknowledgement left unread would close its connection: a new one (TLS and all)
    # for every event.
    receiver.behave("web", status=200, body=body)
    for n in range(5):
        assert push_event(client, receiver.url("web"), SECRET, f"evt_{n}", BODY, 2).delivered
    assert len(receiver.arrivals) == 5 and receiver.connections == 1


def test_a_huge_acknowledgement_still_delivers(receiver: Receiver, client: httpx.Client) -> None:
    receiver.behave("web", status=200, body=b"y" * 300_000)
    for n in range(2):
        assert push_event(client, receiver.url("web"), SECRET, f"evt_{n}", BODY, 2).delivered
    assert len(receiver.arrivals) == 2


@pytest.mark.parametrize(
    ("behaviour", "words"),
    [
        (Behaviour(status=500, body=b"Internal error\n  trace id 42"),
         "The channel answered 500 Internal Server Error: Internal error trace id 42"),
        (Behaviour(status=410), "The channel answered 410 Gone."),
        (Behaviour(status=404, body=b"<html><body><p>No such hook</p></body></html>"),
         "The channel answered 404 Not Found: No such hook"),
        (Behaviour(status=302, location="https://new.example.test/hook"),
         "The channel answered 302 Found, a redirect to https://new.example.test/hook: events are"
         " not sent on to another address; set the channel's events URL to the one it names."),
        (Behaviour(status=308), "The channel answered 308 Permanent Redirect, a redirect: events"),
        (Behaviour(status=200, delay_s=1.5), "No answer from 127.0.0.1:"),
    ],
)  # fmt: skip
def test_every_other_outcome_fails_and_says_why(
    receiver: Receiver, client: httpx.Client, behaviour: Behaviour, words: str
) -> None:
    receiver.behaviours["web"] = behaviour
    pushed = push_event(client, receiver.url("web"), SECRET, "evt_1", BODY, 0.5)
    assert not pushed.delivered
    assert pushed.error.startswith(words), pushed.error
    if behaviour.delay_s:
        assert pushed.error.endswith("within 0.5 s.")
    # Not followed: the receiver got the one POST, nothing went elsewhere.
    assert len(receiver.arrivals) == 1


def test_a_long_answer_is_cut_to_a_snippet(receiver: Receiver, client: httpx.Client) -> None:
    receiver.behave("web", status=400, body=b"x" * 100_000)
    pushed = push_event(client, receiver.url("web"), SECRET, "evt_1", BODY, 2)
    assert pushed.error == "The channel answered 400 Bad Request: " + "x" * 119 + "…"


@pytest.mark.parametrize(
    ("url", "words"),
    [
        (
            "ftp://example.test/in",
            "The events URL ftp://example.test/in is not an http(s) address.",
        ),
        ("example.test/in", "is not an http(s) address"),
        ("http://[::1/in", "is not an address that can be sent to"),
        ("http://host:99999/in", "is not an address that can be sent to"),
        ("https:///in", "names no host"),
        ("http://bad host/in", "Could not connect to bad host: no such host."),
        ("http://no-such-host.invalid/in", "Could not connect to no-such-host.invalid"),
    ],
)
def test_an_address_that_cannot_be_sent_to_is_a_failure(
    client: httpx.Client, url: str, words: str
) -> None:
    pushed = push_event(client, url, SECRET, "evt_1", BODY, 2)
    assert not pushed.delivered and words in pushed.error, pushed.error


def test_nothing_listening_is_a_refused_connection(client: httpx.Client) -> None:
    url = f"http://127.0.0.1:{free_port()}/in"
    pushed = push_event(client, url, SECRET, "evt_1", BODY, 2)
    assert not pushed.delivered
    assert "connection refused" in pushed.error and "127.0.0.1:" in pushed.error
