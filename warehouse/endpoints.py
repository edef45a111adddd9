"""Every endpoint of the service against the role matrix: the check that stops the service
from starting with an endpoint that names no permission, and the table of docs/roles.md."""

from __future__ import annotations

from flask import Flask

from warehouse.models import ROLES
from warehouse.roles import FINER_RULES, PERMISSIONS, allowed
from warehouse.web import PUBLIC_ENDPOINTS


def check_every_endpoint(app: Flask) -> None:
    """Refuse to start when an endpoint is neither public nor named in the role matrix."""
    for endpoint, view in app.view_functions.items():
        if endpoint in PUBLIC_ENDPOINTS or getattr(view, "_public", False):
            continue
        if getattr(view, "_permission", None) not in PERMISSIONS:
            raise RuntimeError(f"endpoint {endpoint} names no permission of the role matrix")


def role_table(app: Flask) -> str:
    """docs/roles.md: every endpoint and page with the permission it needs and the roles
    that hold it, then the rules finer than an endpoint."""
    head = ("Method", "Path", "Permission", *ROLES)
    lines = [
        "# Who may call what",
        "",
        "Written by `warehouse roles > docs/roles.md` from `warehouse/roles.py`; the tests "
        "check that it is current and that the service answers every cell as written.",
        "",
        "✓: allowed. An empty cell: 403. With no one signed in: 401 from `/api/`, a "
        "redirect to `/login` from a page. `public`: anyone, signed in or not; `signed`: "
        "anyone whose request the channel signed; `metrics`: a request with the metrics token "
        "of config.toml (`server.metrics_token`), or from the service's own machine when "
        "none is set, whoever sends it.",
        "",
        "| " + " | ".join(head) + " |",
        "|" + "---|" * len(head),
    ]
    rows = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        view = app.view_functions[rule.endpoint]
        open_ = rule.endpoint in PUBLIC_ENDPOINTS or getattr(view, "_public", False)
        permission = str(getattr(view, "_permission", ""))
        if open_:
            permission = (
                "signed"
                if getattr(view, "_signed", False)
                else "metrics"
                if getattr(view, "_scraped", False)
                else "public"
            )
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            cells = ["✓" if open_ or allowed(role, permission) else "" for role in ROLES]
            rows.append((rule.rule, method, permission, cells))
    for path, method, permission, cells in sorted(rows, key=lambda row: row[:2]):
        lines.append("| " + " | ".join([method, f"`{path}`", permission, *cells]) + " |")
    lines += ["", "## Finer rules", ""]
    lines += [f"- {rule}" for rule in FINER_RULES]
    return "\n".join(lines) + "\n"
