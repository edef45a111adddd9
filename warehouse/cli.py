"""The `warehouse` command: init, demo, serve, users, tokens, import, sheet, check, roles,
backup and restore."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Literal

import click
from sqlalchemy import Engine, func, select

from warehouse import accounts, backup, demo, importer, invariants, migrate, sheets
from warehouse.config import Config, ConfigError, load_config
from warehouse.db import make_engine, make_sessionmaker, writing
from warehouse.errors import WarehouseError
from warehouse.models import ROLES, Location, Movement, Product


class Context:
    """The configuration and engine, made once per command."""

    def __init__(self, config_path: str | None):
        try:
            self.config: Config = load_config(config_path)
        except ConfigError as exc:
            problems = str(exc)
            joint = "\n" if "\n" in problems else " "
            raise click.ClickException(f"configuration refused:{joint}{problems}") from None
        self._engine: Engine | None = None

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = make_engine(self.config.database)
        return self._engine

    @property
    def migrated_engine(self) -> Engine:
        """The engine, once the database is known to be at the code's schema."""
        try:
            migrate.require_current(self.engine)
        except migrate.NotMigrated as exc:
            raise click.ClickException(str(exc)) from None
        return self.engine


pass_context = click.make_pass_decorator(Context)


def _refuse(error: WarehouseError) -> click.ClickException:
    return click.ClickException(error.message)


@click.group()
@click.option("--config", "config_path", envvar="WAREHOUSE_CONFIG", help="config.toml to use.")
@click.pass_context
def main(ctx: click.Context, config_path: str | None) -> None:
    """Warehouse floor pick-pack-scan service."""
    ctx.obj = Context(config_path)


@main.command()
@pass_context
def init(ctx: Context) -> None:
    """Create or migrate the database (safe to run twice)."""
    migrate.upgrade(ctx.engine)
    from warehouse.app import secret_key

    secret_key(ctx.engine)
    click.echo(f"Database ready at revision {migrate.current(ctx.engine)}.")


@main.command("demo")
@click.option("--base-url", default=None, help="Where the service will answer, for the login help.")
@pass_context
def demo_command(ctx: Context, base_url: str | None) -> None:
    """Load the demo warehouse into an empty database."""
    server = ctx.config.server
    base_url = base_url or f"http://{server.host}:{server.port}"
    with writing(make_sessionmaker(ctx.migrated_engine)) as session:
        if demo.is_loaded(session):
            click.echo("The database already holds data; the demo was not loaded again.")
            token = None
        else:
            token = demo.load(session, ctx.config)
            click.echo("Demo warehouse loaded.")
    click.echo(demo.login_help(base_url))
    if token:
        click.echo(f"API token for shop-bot (shown once): {token}")


@main.command()
@click.option("--host", default=None, help="Address to listen on (config: server.host).")
@click.option("--port", type=int, default=None, help="Port (config: server.port).")
@click.option(
    "--workers", type=int, default=None, help="Worker processes (config: server.workers)."
)
@pass_context
def serve(ctx: Context, host: str | None, port: int | None, workers: int | None) -> None:
    """Run the service under gunicorn (gevent workers: see warehouse.serving)."""
    from warehouse import serving

    ctx.migrated_engine.dispose()
    server = ctx.config.server
    if server.https:
        for path in (server.certificate, server.private_key):
            if not Path(path).is_file():
                raise click.ClickException(f"server: no such file {path}")
    bind = f"{host or server.host}:{port or server.port}"
    workers = workers or server.workers
    scheme = "https" if server.https else "http"
    click.echo(f"Serving on {scheme}://{bind} with {workers} workers")
    serving.serve(ctx.config, bind, workers)


@main.group()
def user() -> None:
    """Manage users."""


@user.command("add")
@click.argument("name")
@click.option("--role", required=True, type=click.Choice(ROLES))
@click.option("--password", default=None, help="Password login (8 characters or more).")
@click.option("--badge", default=None, help="Badge barcode; one is made up when not given.")
@click.option("--pin", default=None, help="Badge PIN; one is made up when not given.")
@pass_context
def user_add(
    ctx: Context, name: str, role: str, password: str | None, badge: str | None, pin: str | None
) -> None:
    """Add a user NAME with a ROLE."""
    try:
        with writing(make_sessionmaker(ctx.migrated_engine)) as session:
            created = accounts.add_user(
                session, name, role, ctx.config.auth, password=password, badge=badge, pin=pin
            )
    except WarehouseError as error:
        raise _refuse(error) from None
    parts = [f"Added {name} ({role})"]
    if created.badge:
        parts.append(f"badge {created.badge}")
    if created.pin:
        parts.append(f"PIN {created.pin}")
    click.echo(", ".join(parts))


@user.command("unlock")
@click.argument("name")
@pass_context
def user_unlock(ctx: Context, name: str) -> None:
    """Lift the login lockout of user NAME (after too many failed logins)."""
    try:
        with writing(make_sessionmaker(ctx.migrated_engine)) as session:
            accounts.unlock(session, name)
    except WarehouseError as error:
        raise _refuse(error) from None
    click.echo(f"{name} may sign in again.")


@user.command("deactivate")
@click.argument("name")
@pass_context
def user_deactivate(ctx: Context, name: str) -> None:
    """Stop user NAME from signing in; their sessions and tokens end at once."""
    try:
        with writing(make_sessionmaker(ctx.migrated_engine)) as session:
            accounts.deactivate(session, name)
    except WarehouseError as error:
        raise _refuse(error) from None
    click.echo(f"{name} no longer signs in; their sessions and tokens have ended.")


@main.group()
def token() -> None:
    """Manage API tokens."""


@token.command("create")
@click.argument("name")
@click.option(
    "--channel",
    "channels",
    multiple=True,
    metavar="CODE",
    help="An integration's token serves only these channels (repeat for several).",
)
@click.option(
    "--expires-days",
    type=click.IntRange(1, accounts.MAX_TOKEN_DAYS),
    default=None,
    help="The token stops working after this many days (default: when revoked).",
)
@pass_context
def token_create(
    ctx: Context, name: str, channels: tuple[str, ...], expires_days: int | None
) -> None:
    """Print a new API token for user NAME, alone on its line."""
    try:
        with writing(make_sessionmaker(ctx.migrated_engine)) as session:
            new_token = accounts.create_token(session, name, channels, expires_days)
    except WarehouseError as error:
        raise _refuse(error) from None
    click.echo(new_token)


@token.command("revoke")
@click.argument("token")
@pass_context
def token_revoke(ctx: Context, token: str) -> None:
    """End API token TOKEN: it answers 401 from then on."""
    try:
        with writing(make_sessionmaker(ctx.migrated_engine)) as session:
            row = accounts.revoke_token(session, token)
            owner = row.user.name
    except WarehouseError as error:
        raise _refuse(error) from None
    click.echo(f"The token of {owner} no longer works.")


@main.command("roles")
@pass_context
def roles_command(ctx: Context) -> None:
    """Print the role matrix of every endpoint and page (docs/roles.md) as Markdown."""
    from warehouse.app import create_app
    from warehouse.endpoints import role_table

    # Only the routes are read: no database is opened, so any signing key will do.
    server = ctx.config.server.model_copy(update={"secret_key": "role-table"})
    click.echo(role_table(create_app(ctx.config.model_copy(update={"server": server}))), nl=False)


@main.group("import")
def import_group() -> None:
    """Import data from files."""


@import_group.command("orders")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--channel", "channel_code", required=True, help="Code of the channel the orders came from."
)
@click.option("--batch-size", default=500, show_default=True, type=click.IntRange(1, 100_000))
@pass_context
def import_orders(ctx: Context, path: Path, channel_code: str, batch_size: int) -> None:
    """Import channel orders from a CSV file, one row per order line.

    Columns: external_id, sku, qty, ship_to_name, ship_to_street1, ship_to_city,
    ship_to_postal_code, ship_to_country, and optionally unit_price, ship_to_street2,
    ship_to_region, ship_by. The rows of one order follow each other. Running the same
    file again adds nothing; exit 1 when any order was refused.
    """
    factory = make_sessionmaker(ctx.migrated_engine)
    try:
        with (
            path.open("rb") as stream,
            click.progressbar(
                length=path.stat().st_size, label="Importing orders", file=sys.stderr
            ) as bar,
        ):
            report = importer.import_orders(
                factory, channel_code, stream, batch_size, bar.update, ctx.config.orders.max_lines
            )
    except importer.BadFile as exc:
        raise click.ClickException(f"{path}: {exc}") from None
    except WarehouseError as error:
        raise _refuse(error) from None
    for rejected in report.rejected:
        click.echo(
            f"{path}:{rejected.line}: order {rejected.external_id or '?'}: {rejected.reason}"
        )
    click.echo(
        f"{report.created} orders ({report.lines} lines) imported, "
        f"{report.already_there} already there, {len(report.rejected)} refused."
    )
    if report.rejected:
        sys.exit(1)


@main.command("sheet")
@click.argument("kind", type=click.Choice(sheets.SHEETS))
@click.option("--prefix", default="", help="Only codes, SKUs or names that start with this.")
@click.option("--paper", type=click.Choice(["A4", "Letter"]), help="[default: labels.slip_paper]")
@click.option(
    "-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path),
    help="The PDF file to write.",
)  # fmt: skip
@pass_context
def sheet_command(
    ctx: Context, kind: str, prefix: str, paper: Literal["A4", "Letter"] | None, output: Path
) -> None:
    """Write a sheet of barcodes to print: bin labels, product labels or staff badges."""
    try:
        with make_sessionmaker(ctx.migrated_engine)() as session:
            document = sheets.sheet(session, kind, prefix, paper or ctx.config.labels.slip_paper)
    except WarehouseError as error:
        raise _refuse(error) from None
    output.write_bytes(document)
    click.echo(f"Wrote {output} ({len(document)} bytes).")


@main.command("backup")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@pass_context
def backup_command(ctx: Context, file: Path) -> None:
    """Back up the SQLite database to FILE while the service runs (PostgreSQL: pg_dump)."""
    try:
        backup.back_up(ctx.config.database.url, file)
    except WarehouseError as error:
        raise _refuse(error) from None
    click.echo(f"Backed up to {file}.")


@main.command("restore")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="Do not ask first.")
@pass_context
def restore_command(ctx: Context, file: Path, yes: bool) -> None:
    """Replace the SQLite database with the backup in FILE (stop the service first)."""
    if not yes:
        click.confirm(f"Replace everything in {ctx.config.database.url} with {file}?", abort=True)
    try:
        backup.restore(ctx.config.database.url, file)
    except WarehouseError as error:
        raise _refuse(error) from None
    # A backup of an older release is brought up to the code's schema.
    migrate.upgrade(ctx.engine)
    click.echo(f"Restored from {file}; the database is at revision {migrate.current(ctx.engine)}.")


@main.command()
@pass_context
def check(ctx: Context) -> None:
    """Verify the stock invariants; exit 1 with a line per violation."""
    with make_sessionmaker(ctx.migrated_engine)() as session:
        problems = invariants.check_invariants(session)
        counts = [
            session.scalar(select(func.count()).select_from(model))
            for model in (Product, Location, Movement)
        ]
    for problem in problems:
        click.echo(problem)
    if problems:
        click.echo(f"{len(problems)} violation(s) of the stock invariants.", err=True)
        sys.exit(1)
    click.echo(
        "All stock invariants hold ({} products, {} locations, {} movements).".format(*counts)
    )
