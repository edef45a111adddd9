"""The role matrix of docs/roles.md, cell by cell: every endpoint and page answers each role
as the document says (403 where it may not), and strangers get 401 or the login page."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import REPO
from warehouse.endpoints import role_table
from warehouse.models import ROLES

ROLE_DOCUMENT = REPO / "docs" / "roles.md"
ROLE_ROW = re.compile(
    r"\| (?P<method>[A-Z]+) \| `(?P<path>[^`]+)` \| (?P<permission>[a-z._]+) \|(?P<cells>.*)\|"
)


def role_rows(document: Path = ROLE_DOCUMENT) -> list[tuple[str, str, str, dict[str, bool]]]:
    """(method, path, permission, role -> allowed) for every row of the table."""
    rows = []
    for line in document.read_text().splitlines():
        if match := ROLE_ROW.fullmatch(line):
            cells = [cell.strip() == "✓" for cell in match["cells"].split("|")]
            assert len(cells) == len(ROLES), line
            rows.append(
                (
                    match["method"],
                    match["path"],
                    match["permission"],
                    dict(zip(ROLES, cells, strict=True)),
                )
            )
    return rows


def test_the_role_document_is_current(app: Flask) -> None:
    assert ROLE_DOCUMENT.read_text() == role_table(app), (
        "docs/roles.md is out of date: run `warehouse roles > docs/roles.md` and review it"
    )


def test_the_role_document_lists_every_endpoint(app: Flask) -> None:
    listed = {(method, path) for method, path, _, _ in role_rows()}
    served = {
        (method, rule.rule)
        for rule in app.url_map.iter_rules()
        if rule.endpoint != "static"
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}
    }
    assert listed == served


def concrete_url(path: str) -> str:
    """A URL of the rule that names nothing that exists: its checks, not its data, answer."""
    path = re.sub(r"<int:[a-z_]+>", "2147483000", path)
    return re.sub(r"<[a-z_]+>", "nothing-here", path)


def ask_as(client: FlaskClient, method: str, path: str, token: str | None) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if path.startswith("/api/"):
        # A list where every body is an object: refused by any schema, so nothing is done.
        return client.open(concrete_url(path), method=method, json=[], headers=headers)
    return client.open(concrete_url(path), method=method, data={}, headers=headers)


@pytest.mark.parametrize(
    ("method", "path", "permission", "cells"),
    role_rows(),
    ids=[f"{method} {path}" for method, path, _, _ in role_rows()],
)
def test_every_cell_of_the_role_matrix_holds(
    client: FlaskClient,
    tokens: dict[str, str],
    method: str,
    path: str,
    permission: str,
    cells: dict[str, bool],
) -> None:
    for role, allowed in cells.items():
        status = ask_as(client, method, path, tokens[role]).status_code
        if allowed:
            assert status not in (401, 403), f"{role} was refused {method} {path}: {status}"
        else:
            assert status == 403, f"{role} was let through {method} {path}: {status}"
    stranger = ask_as(client, method, path, None)
    # The tests' requests come from 127.0.0.1: with no metrics token set, /metrics answers.
    if permission in ("public", "signed", "metrics"):
        assert stranger.status_code != 403
        if permission == "public":
            assert stranger.status_code != 401
    elif path.startswith("/api/"):
        assert stranger.status_code == 401 and stranger.json["error"]["code"] == "unauthorized"
    else:
        assert stranger.status_code == 302
        assert stranger.headers["Location"].startswith("/login?next=")
