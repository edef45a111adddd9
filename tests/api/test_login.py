"""People sign in by password or by badge and PIN; failures are slowed, then locked, per name
or badge and client address, alike for known and unknown ones; sessions live on the server."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, delete, update
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash
from werkzeug.test import TestResponse

from tests.conftest import PASSWORD, Person, ref, warehouse_command
from warehouse import accounts
from warehouse.app import create_app
from warehouse.config import AuthConfig, Config
from warehouse.db import make_sessionmaker, writing
from warehouse.models import LoginFailure, utcnow

LOGIN_ADDRESS = "127.0.0.1"  # the test client's address


def csrf_of(client: FlaskClient, path: str = "/login") -> str:
    match = re.search(r'name="csrf-token" content="([^"]+)"', client.get(path).text)
    assert match, "no CSRF token on the page"
    return match.group(1)


def post_login(client: FlaskClient, address: str = LOGIN_ADDRESS, **form: str) -> TestResponse:
    return client.post(
        "/login",
        data={"csrf_token": csrf_of(client), **form},
        environ_base={"REMOTE_ADDR": address},
    )


def failures_of(db: Session, identifier: str, address: str = LOGIN_ADDRESS) -> LoginFailure | None:
    """The failed-login row of a name or badge at an address."""
    db.rollback()
    digest = hashlib.sha256(identifier.encode()).hexdigest()
    return db.get(LoginFailure, (digest, address))


def age_failures(engine: Engine, identifier: str, address: str = LOGIN_ADDRESS) -> None:
    """Let the wait after the last failure run out."""
    digest = hashlib.sha256(identifier.encode()).hexdigest()
    with writing(make_sessionmaker(engine)) as session:
        session.execute(
            update(LoginFailure)
            .where(LoginFailure.identifier_hash == digest, LoginFailure.address == address)
            .values(wait_until=utcnow() - timedelta(seconds=1))
        )


def signed_in_as(client: FlaskClient) -> str | None:
    page = client.get("/")
    if page.status_code != 200:
        return None
    match = re.search(r'data-testid="who">([^ <]+)', page.text)
    return match.group(1) if match else None


@pytest.fixture
def person(engine: Engine, config: Config) -> Person:
    """A fresh picker, so failed-login counts start at zero."""
    with writing(make_sessionmaker(engine)) as session:
        new = accounts.add_user(session, ref("picker"), "picker", config.auth, password=PASSWORD)
    assert new.badge and new.pin
    return Person(new.user.name, "picker", new.badge, new.pin)


def test_pages_send_strangers_to_the_login(client: FlaskClient) -> None:
    response = client.get("/lookup?code=X")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=/lookup")


def test_password_login_in_two_steps(client: FlaskClient, person: Person) -> None:
    step_two = post_login(client, code=person.name)
    assert step_two.status_code == 200 and 'name="password"' in step_two.text
    done = post_login(client, code=person.name, password=PASSWORD, next="/lookup")
    assert done.status_code == 302 and done.headers["Location"] == "/lookup"
    assert signed_in_as(client) == person.name


def test_badge_then_pin(client: FlaskClient, person: Person) -> None:
    step_two = post_login(client, code=person.badge)
    assert 'name="pin"' in step_two.text
    assert signed_in_as(client) is None
    done = post_login(client, code=person.badge, pin=person.pin)
    assert done.status_code == 302
    assert signed_in_as(client) == person.name


def test_home_lists_the_tasks_of_the_role(client: FlaskClient, person: Person) -> None:
    post_login(client, code=person.badge, pin=person.pin)
    home = client.get("/")
    assert "Look up" in home.text and "Scanner set-up" in home.text
    assert home.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize(
    "form",
    [
        {"code": "U999999", "pin": "1234"},  # a badge nobody has
        {"code": "nobody-at-all", "password": PASSWORD},
    ],
)
def test_unknown_badges_and_names_are_refused(client: FlaskClient, form: dict[str, str]) -> None:
    response = post_login(client, **form)
    assert response.status_code == 401
    said = "Wrong PIN, or a badge" if "pin" in form else "Unknown user or wrong password."
    assert said in response.text and 'data-outcome="bad"' in response.text
    assert signed_in_as(client) is None


def test_a_wrong_pin_is_refused_and_counted(
    client: FlaskClient, person: Person, db: Session
) -> None:
    wrong = "0000" if person.pin != "0000" else "1111"
    response = post_login(client, code=person.badge, pin=wrong)
    assert response.status_code == 401
    assert signed_in_as(client) is None
    counted = failures_of(db, person.badge)
    assert counted is not None and counted.failures == 1
    # The right PIN then starts the count over.
    assert post_login(client, code=person.badge, pin=person.pin).status_code == 302
    assert failures_of(db, person.badge) is None


def test_repeated_failures_are_slowed_then_locked(
    client: FlaskClient, person: Person, engine: Engine, config: Config
) -> None:
    auth = config.auth
    for _ in range(auth.free_attempts):
        assert post_login(client, code=person.name, password="wrong-password").status_code == 401
    # One more failure, and the next try must wait.
    assert post_login(client, code=person.name, password="wrong-password").status_code == 401
    slowed = post_login(client, code=person.name, password=PASSWORD)
    assert slowed.status_code == 429
    assert "try again in" in slowed.text
    assert signed_in_as(client) is None

    for _ in range(auth.max_attempts - auth.free_attempts - 1):
        age_failures(engine, person.name)
        assert post_login(client, code=person.name, password="wrong-password").status_code == 401
    # The max_attempts-th failure locked the name here: even the right password waits.
    locked = post_login(client, code=person.name, password=PASSWORD)
    assert locked.status_code == 429
    assert "locked" in locked.text
    # When the lock has run out, the right password works and the count starts over.
    age_failures(engine, person.name)
    assert post_login(client, code=person.name, password=PASSWORD).status_code == 302
    assert signed_in_as(client) == person.name


def test_the_session_ends_when_idle(
    client: FlaskClient, person: Person, config: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    import time as real_time

    post_login(client, code=person.badge, pin=person.pin)
    assert signed_in_as(client) == person.name
    later = real_time.time() + config.auth.idle_minutes * 60 + 5
    monkeypatch.setattr("warehouse.web.time.time", lambda: later)
    response = client.get("/")
    assert response.status_code == 302
    assert "Signed out after being idle." in client.get(response.headers["Location"]).text
    assert signed_in_as(client) is None


def test_logout(client: FlaskClient, person: Person) -> None:
    post_login(client, code=person.badge, pin=person.pin)
    response = client.post("/logout", data={"csrf_token": csrf_of(client, "/")})
    assert response.status_code == 302
    assert signed_in_as(client) is None


def test_a_login_never_redirects_off_site(client: FlaskClient, person: Person) -> None:
    done = post_login(client, code=person.badge, pin=person.pin, next="//evil.example/")
    assert done.headers["Location"] == "/"


def test_badge_alone_when_pins_are_off(config: Config, engine: Engine) -> None:
    no_pins = config.model_copy(update={"auth": AuthConfig(badge_pin_required=False)})
    app: Flask = create_app(no_pins)
    with writing(make_sessionmaker(engine)) as session:
        new = accounts.add_user(session, ref("packer"), "packer", no_pins.auth)
    assert new.badge and new.pin is None
    client = app.test_client()
    response = post_login(client, code=new.badge)
    assert response.status_code == 302
    assert signed_in_as(client) == new.user.name


def test_a_role_without_the_page_gets_403_html(client: FlaskClient, tokens: dict[str, str]) -> None:
    response = client.get("/", headers={"Authorization": f"Bearer {tokens['integration']}"})
    assert response.status_code == 403
    assert "text/html" in response.content_type


def lock_out(engine: Engine, *identifiers: str, address: str = LOGIN_ADDRESS) -> None:
    """Lock the names or badges out at an address, as max_attempts failures would."""
    with writing(make_sessionmaker(engine)) as session:
        for identifier in identifiers:
            digest = hashlib.sha256(identifier.encode()).hexdigest()
            session.execute(delete(LoginFailure).where(LoginFailure.identifier_hash == digest))
            session.add(
                LoginFailure(
                    identifier_hash=digest,
                    address=address,
                    failures=0,
                    locked=True,
                    wait_until=utcnow() + timedelta(minutes=15),
                    last_failed_at=utcnow(),
                )
            )


def test_a_supervisor_unlocks_a_locked_badge(
    app: Flask, client: FlaskClient, person: Person, engine: Engine, staff: dict[str, Person]
) -> None:
    lock_out(engine, person.name, person.badge)
    assert post_login(client, code=person.badge, pin=person.pin).status_code == 429
    lead = app.test_client()
    assert post_login(lead, code=staff["supervisor"].name, password=PASSWORD).status_code == 302
    listed = lead.get("/people")
    row = listed.text[listed.text.index(f'data-person="{person.name}"') :]
    assert "locked until" in row[:600]
    unlocked = lead.post("/people", data={"csrf_token": csrf_of(lead), "name": person.name})
    assert unlocked.status_code == 200 and f"{person.name} may sign in again" in unlocked.text
    assert post_login(client, code=person.badge, pin=person.pin).status_code == 302
    # A picker may not; an unknown name is said so.
    assert (
        lead.post("/people", data={"csrf_token": csrf_of(lead), "name": "nobody"}).status_code
        == 404
    )
    picker = app.test_client()
    assert post_login(picker, code=staff["picker"].name, password=PASSWORD).status_code == 302
    assert picker.get("/people").status_code == 403


def test_the_command_line_unlocks_a_user(
    person: Person, engine: Engine, database_url: str, client: FlaskClient
) -> None:
    lock_out(engine, person.name, address="10.1.2.3")
    said = warehouse_command(database_url, "user", "unlock", person.name)
    assert f"{person.name} may sign in again." in said
    assert post_login(client, "10.1.2.3", code=person.name, password=PASSWORD).status_code == 302


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example/",
        "/\\evil.example/",
        "/\t/evil.example/",
        "/\r\n/evil.example/",
        "\t//evil.example/",
        "https://evil.example/",
        "javascript:alert(1)",
        "evil.example",
        "/lookup\r\nSet-Cookie: x=y",
        "/look\\up",
    ],
)
def test_next_after_login_stays_on_this_site(
    client: FlaskClient, person: Person, target: str
) -> None:
    done = post_login(client, code=person.badge, pin=person.pin, next=target)
    assert done.status_code == 302 and done.headers["Location"] == "/"


def test_next_after_login_may_name_a_local_page(client: FlaskClient, person: Person) -> None:
    done = post_login(client, code=person.badge, pin=person.pin, next="/pick?list=3")
    assert done.status_code == 302 and done.headers["Location"] == "/pick?list=3"


def _page(answer: TestResponse, *swap: str) -> str:
    """A login page's text without its CSRF tokens (new on every page), one code swapped."""
    text = re.sub(r'(csrf-token" content|name="csrf_token" value)="[^"]*"', "", answer.text)
    return text.replace(*swap) if swap else text


def _throttled(client: FlaskClient, badge: str, config: Config, address: str) -> TestResponse:
    """free_attempts more wrong PINs for a badge refused once already, then the answer to
    one more."""
    for _ in range(config.auth.free_attempts):
        assert post_login(client, address, code=badge, pin="0000").status_code == 401
    return post_login(client, address, code=badge, pin="0000")


def test_known_and_unknown_badges_are_refused_and_throttled_alike(
    client: FlaskClient, config: Config, engine: Engine
) -> None:
    with writing(make_sessionmaker(engine)) as session:
        known = accounts.add_user(session, ref("packer"), "packer", config.auth, pin="1234")
    assert known.badge
    unknown = "U" + str(int(known.badge[1:]) ^ 1).zfill(6)
    address = "10.9.8.7"
    answers = [
        (
            post_login(client, address, code=badge, pin="0000"),
            _throttled(client, badge, config, address),
        )
        for badge in (known.badge, unknown)
    ]
    (refused_known, slowed_known), (refused_unknown, slowed_unknown) = answers
    assert refused_known.status_code == refused_unknown.status_code == 401
    assert _page(refused_known, known.badge, unknown) == _page(refused_unknown)
    assert slowed_known.status_code == slowed_unknown.status_code == 429
    assert _page(slowed_known, known.badge, unknown) == _page(slowed_unknown)
    assert slowed_known.headers["Retry-After"] == slowed_unknown.headers["Retry-After"]


def test_a_stranger_who_knows_a_badge_cannot_lock_its_owner_out(
    app: Flask, client: FlaskClient, person: Person, config: Config, engine: Engine
) -> None:
    stranger, elsewhere = app.test_client(), "10.66.6.6"
    for _ in range(config.auth.max_attempts):
        age_failures(engine, person.badge, elsewhere)
        assert post_login(stranger, elsewhere, code=person.badge, pin="0000").status_code == 401
    right = post_login(stranger, elsewhere, code=person.badge, pin=person.pin)
    assert right.status_code == 429 and "locked" in right.text
    # The owner, on a handheld of their own, signs in as ever.
    assert post_login(client, code=person.badge, pin=person.pin).status_code == 302
    assert signed_in_as(client) == person.name


def _copy_cookies(source: FlaskClient, target: FlaskClient) -> None:
    for cookie in source._cookies.values():  # the browser's cookie jar, as a thief copies it
        target.set_cookie(cookie.key, cookie.value, domain=cookie.domain, path=cookie.path)


@pytest.mark.parametrize("how", ["page", "api"])
def test_a_cookie_copied_before_logout_is_dead_after_it(
    app: Flask, client: FlaskClient, staff: dict[str, Person], how: str
) -> None:
    receiver = staff["receiver"]
    post_login(client, code=receiver.name, password=PASSWORD)
    thief = app.test_client()
    _copy_cookies(client, thief)
    assert signed_in_as(thief) == receiver.name
    token = csrf_of(thief, "/")
    if how == "page":
        assert client.post("/logout", data={"csrf_token": csrf_of(client, "/")}).status_code == 302
    else:
        signed_out = client.delete("/api/session", headers={"X-CSRFToken": csrf_of(client, "/")})
        assert signed_out.status_code == 200 and signed_out.json["user"] is None
    assert signed_in_as(client) is None
    assert thief.get("/").status_code == 302
    wrote = thief.post("/api/stock/counts", json={}, headers={"X-CSRFToken": token})
    assert wrote.status_code == 401 and wrote.json["error"]["code"] == "unauthorized"


def test_a_deactivated_user_is_signed_out_at_once_and_signs_in_no_more(
    app: Flask, client: FlaskClient, engine: Engine, config: Config, database_url: str
) -> None:
    with writing(make_sessionmaker(engine)) as session:
        new = accounts.add_user(session, ref("picker"), "picker", config.auth, password=PASSWORD)
        token = accounts.create_token(session, new.user.name)
    name = new.user.name
    assert post_login(client, code=name, password=PASSWORD).status_code == 302
    bearer = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/pick-lists", headers=bearer).status_code == 200
    said = warehouse_command(database_url, "user", "deactivate", name)
    assert f"{name} no longer signs in" in said
    assert signed_in_as(client) is None
    assert client.get("/api/pick-lists", headers=bearer).status_code == 401
    # Refused as an unknown name is: the answer tells nothing more.
    again = post_login(app.test_client(), code=name, password=PASSWORD)
    assert again.status_code == 401 and "Unknown user or wrong password." in again.text


def test_a_supervisor_deactivates_a_user_on_the_people_page(
    app: Flask, client: FlaskClient, person: Person, staff: dict[str, Person]
) -> None:
    assert post_login(client, code=person.badge, pin=person.pin).status_code == 302
    lead = app.test_client()
    assert post_login(lead, code=staff["supervisor"].name, password=PASSWORD).status_code == 302
    done = lead.post(
        "/people",
        data={"csrf_token": csrf_of(lead, "/people"), "name": person.name, "action": "deactivate"},
    )
    assert done.status_code == 200 and f"{person.name} no longer signs in" in done.text
    row = done.text[done.text.index(f'data-person="{person.name}"') :]
    assert "no longer signs in" in row[:300]
    assert signed_in_as(client) is None
    # Nobody deactivates themselves by a slip of the finger.
    own = lead.post(
        "/people",
        data={
            "csrf_token": csrf_of(lead, "/people"),
            "name": staff["supervisor"].name,
            "action": "deactivate",
        },
    )
    assert own.status_code == 409 and signed_in_as(lead) == staff["supervisor"].name
    # Nor does a supervisor end an admin.
    admin = lead.post(
        "/people",
        data={
            "csrf_token": csrf_of(lead, "/people"),
            "name": staff["admin"].name,
            "action": "deactivate",
        },
    )
    assert admin.status_code == 403 and "Only an admin deactivates an admin" in admin.text


def test_every_refused_login_costs_one_hash_check(
    client: FlaskClient,
    person: Person,
    engine: Engine,
    config: Config,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A known badge, an unknown one and a deactivated user's take the same work to refuse,
    so the time an answer takes tells nothing either."""
    with writing(make_sessionmaker(engine)) as session:
        gone = accounts.add_user(session, ref("packer"), "packer", config.auth, pin="1234")
        accounts.deactivate(session, gone.user.name)
    assert gone.badge
    checks: list[str] = []

    def counted(stored: str, secret: str) -> bool:
        checks.append(secret)
        return check_password_hash(stored, secret)

    monkeypatch.setattr("warehouse.accounts.check_password_hash", counted)
    for badge, address in (
        (person.badge, "10.5.0.1"),
        ("U000000", "10.5.0.2"),
        (gone.badge, "10.5.0.3"),
    ):
        checks.clear()
        assert post_login(client, address, code=badge, pin="0000").status_code == 401
        assert checks == ["0000"], badge
    checks.clear()
    assert (
        post_login(client, "10.5.0.4", code="nobody-at-all", password=PASSWORD).status_code == 401
    )
    assert checks == [PASSWORD]


def test_failures_of_a_day_ago_are_cleared_away_at_the_next_sign_in(
    client: FlaskClient, person: Person, engine: Engine, db: Session
) -> None:
    stale, locked = ref("typo"), ref("typo")
    long_ago = utcnow() - timedelta(days=2)
    with writing(make_sessionmaker(engine)) as session:
        for identifier, wait in ((stale, None), (locked, utcnow() + timedelta(minutes=5))):
            session.add(
                LoginFailure(
                    identifier_hash=hashlib.sha256(identifier.encode()).hexdigest(),
                    address=LOGIN_ADDRESS,
                    failures=2,
                    wait_until=wait,
                    locked=wait is not None,
                    last_failed_at=long_ago,
                )
            )
    assert post_login(client, code=person.badge, pin=person.pin).status_code == 302
    assert failures_of(db, stale) is None
    assert failures_of(db, locked) is not None  # still holding its lockout


def test_an_idle_sign_out_ends_a_copy_of_the_cookie_kept_busy_elsewhere(
    app: Flask,
    client: FlaskClient,
    person: Person,
    config: Config,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import time as real_time

    post_login(client, code=person.badge, pin=person.pin)
    thief = app.test_client()
    _copy_cookies(client, thief)
    idle = config.auth.idle_minutes * 60
    start = real_time.time()
    monkeypatch.setattr("warehouse.web.time.time", lambda: start + idle - 60)
    assert signed_in_as(thief) == person.name  # the copy is busy; the owner's handheld is not
    monkeypatch.setattr("warehouse.web.time.time", lambda: start + idle + 5)
    assert client.get("/").status_code == 302
    assert thief.get("/").status_code == 302
