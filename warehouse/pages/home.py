"""Signing in on a handheld (a badge and a PIN, or a name and a password), signing out, and
the home page with the tasks the person's role allows."""

from __future__ import annotations

import re
from dataclasses import dataclass

from flask import Blueprint, redirect, render_template, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from warehouse import accounts
from warehouse.errors import LoginRefused, LoginThrottled
from warehouse.pages.shared import signed_in
from warehouse.roles import allowed
from warehouse.web import (
    client_address,
    config,
    public,
    requires,
    sign_in,
    sign_out,
    transaction,
)

bp = Blueprint("home", __name__)


@dataclass(frozen=True)
class Task:
    title: str
    endpoint: str
    permission: str
    hint: str


# What the home page offers, each shown only to roles whose permission allows it.
TASKS = (
    Task("Pick", "pages.flows.pick", "picking.pick", "Walk a pick list, scan every pick"),
    Task("Pack", "pages.flows.pack", "packing.pack", "Scan the tote, each item into its carton"),
    Task("Dock", "pages.flows.dock", "shipments.ship", "Scan each carton's label as it is loaded"),
    Task("Receive", "pages.flows.receive", "stock.receive", "Scan the bin, then each item"),
    Task("Returns", "pages.flows.returns", "returns.receive", "Scan the order, each item, its bin"),
    Task("Count", "pages.flows.count", "stock.count", "Count a bin by scanning"),
    Task("Look up", "pages.flows.lookup", "scan.resolve", "Scan anything: what it is, where it is"),
    Task("Plan picking", "pages.plan.plan", "picking.plan", "Choose orders, preview carts, create"),
    Task("Picking", "pages.pick.supervise", "picking.plan", "Open lists, bins to count, pickers"),
    Task(
        "Printing", "pages.printing.jobs", "printing.supervise",
        "Label jobs, reprints, barcode sheets",
    ),
    Task("Orders", "pages.orders.order_list", "orders.supervise", "By channel and status"),
    Task("Events", "pages.events.backlog", "events.manage", "Sent to channels, failing, replays"),
    Task("Figures", "pages.figures.channels", "figures.read", "Which channels pay, side by side"),
    Task("Counts", "pages.counts.counts", "counts.approve", "Large differences to decide"),
    Task("People", "pages.people.people", "people.supervise", "Roles, badges, lockouts lifted"),
    Task(
        "Channels", "pages.channels.channel_list", "channels.supervise",
        "Priority, stock share, fees, handling time, events URL",
    ),
    Task(
        "Scanner set-up", "pages.scanner_setup.page", "scanners.setup",
        "Test a scanner, get its settings",
    ),
)  # fmt: skip


# A path on this site: one slash, then anything but a slash or a backslash, in printable
# ASCII. `//host`, `/\\host` and schemes lead elsewhere.
_LOCAL_PATH = re.compile(r"/(?![/\\])[!-~]*")


def _safe_next(target: str | None) -> str:
    """Only paths on this site, so a login link cannot send people elsewhere. Browsers drop
    tabs and line breaks from a URL (`/\\t/host` is `//host` to them), so they are dropped
    before the check; a backslash anywhere is refused, as browsers read it as a slash."""
    path = re.sub(r"[\t\n\r]", "", target or "")
    if _LOCAL_PATH.fullmatch(path) and "\\" not in path:
        return path
    return url_for("pages.home.home")


@bp.route("/login", methods=["GET", "POST"])
@public
def login() -> str | BaseResponse | tuple[str, int] | tuple[str, int, dict[str, str]]:
    """Step 1: scan a badge or type a name. Step 2: the PIN or the password."""
    auth = config().auth
    if request.method == "GET":
        notice = "Signed out after being idle." if request.args.get("idle") else None
        return render_template(
            "login.html", step="who", notice=notice, next=request.args.get("next")
        )
    code = request.form.get("code", "").strip()
    is_badge = bool(re.fullmatch(config().scanners.badge_pattern, code))
    pin, password = request.form.get("pin"), request.form.get("password")
    next_ = request.form.get("next")
    if not code:
        return render_template(
            "login.html", step="who", signin_error="Scan your badge or type your name."
        ), 400
    if is_badge and pin is None and auth.badge_pin_required:
        return render_template("login.html", step="pin", code=code, next=next_)
    if not is_badge and password is None:
        return render_template("login.html", step="password", code=code, next=next_)
    try:
        # Failed attempts are counted even though the login is refused.
        with transaction(keep=(LoginRefused,)) as db:
            address = client_address()
            if is_badge:
                user = accounts.login_with_badge(db, code, pin, address, auth)
            else:
                user = accounts.login_with_password(db, code, password or "", address, auth)
            sign_in(db, user)
    except (LoginRefused, LoginThrottled) as refused:
        status, wait = 401, {}
        if isinstance(refused, LoginThrottled):
            status, wait = 429, {"Retry-After": str(refused.retry_after)}
        return (
            render_template(
                "login.html", step="who", signin_error=refused.message, outcome="bad", next=next_
            ),
            status,
            wait,
        )
    return redirect(_safe_next(next_))


@bp.route("/logout", methods=["POST"])
@public
def logout() -> BaseResponse:
    """End the session (handhelds are shared: sign out at the end of a task)."""
    with transaction() as db:
        sign_out(db)
    return redirect(url_for("pages.home.login"))


@bp.route("/")
@requires("home")
def home() -> str:
    """The tasks this user's role allows."""
    role = signed_in().role
    tasks = [task for task in TASKS if allowed(role, task.permission)]
    return render_template("home.html", tasks=tasks)
