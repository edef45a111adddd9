"""`warehouse-agent`: read the station's scanner, queue every scan on disk, post it to the service."""

from __future__ import annotations

import logging
import os
import re
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType

import click

from station_agent.outbox import Outbox
from station_agent.readers import input_devices, key_scans, open_key_device, serial_scans
from station_agent.scale import ScaleReporter
from station_agent.sender import Sender

log = logging.getLogger("station_agent")

# How long to wait before opening a scanner that is unplugged or not there yet.
REOPEN_DELAY = 1.0


def default_queue(station: str) -> Path:
    """The station's outbox file under $XDG_STATE_HOME (~/.local/state)."""
    state = Path(os.environ.get("XDG_STATE_HOME") or "~/.local/state").expanduser()
    return state / "warehouse-agent" / (re.sub(r"[^\w.-]", "_", station) + ".sqlite3")


def _list_devices(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if not value or ctx.resilient_parsing:
        return
    from station_agent.readers import has_keys

    devices = input_devices()
    for device in devices:
        kind = "keys" if has_keys(device) else "-"
        click.echo(f"{os.fsdecode(device.path)}\t{kind}\t{device.name}\t{device.phys}")
    if not devices:
        click.echo("No readable input devices (is this user in the 'input' group?).", err=True)
    ctx.exit()


def _reopening(open_reader: Callable[[], Iterator[str]]) -> Iterator[str]:
    """A reader's scans, opening it again whenever its scanner goes away (unplugged, reset)."""
    while True:
        try:
            yield from open_reader()
        except PermissionError as exc:
            raise click.ClickException(
                f"{exc}: this user may not read the scanner (the 'input' or 'dialout' group?)"
            ) from None
        except OSError as exc:  # serial.SerialException is an OSError too
            log.warning("The scanner is not there (%s); trying again.", exc)
        time.sleep(REOPEN_DELAY)


def _station_name(value: str) -> str:
    if not 1 <= len(value) <= 64:
        raise click.BadParameter("a station name has 1 to 64 characters")
    return value


def _stop_on_sigterm(_signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--service", required=True, help="Base URL of the warehouse service.")
@click.option("--token", required=True, envvar="WAREHOUSE_AGENT_TOKEN", help="API token.")
@click.option(
    "--station",
    required=True,
    # The service takes 1 to 64 characters; a longer name would have every scan refused.
    type=click.STRING,
    callback=lambda _ctx, _param, value: _station_name(value),
    help="This station's name (1 to 64 characters), logged with each scan.",
)
@click.option(
    "--evdev", "evdev_path", help="HID scanner's device, e.g. /dev/input/by-id/usb-...-event-kbd."
)
@click.option("--evdev-name", help="HID scanner by part of its name (see --list-devices).")
@click.option("--serial", "serial_path", help="Serial scanner's port, e.g. /dev/ttyUSB0.")
@click.option("--baud", default=9600, show_default=True, help="Serial scanner's baud rate.")
@click.option(
    "--end-key",
    type=click.Choice(["enter", "tab"]),
    default="enter",
    show_default=True,
    help="The key a HID scanner ends a scan with.",
)
@click.option(
    "--line-end",
    type=click.Choice(["any", "cr", "lf", "crlf"]),
    default="any",
    show_default=True,
    help="What ends a serial scanner's scan; any is CR, LF or CRLF.",
)
@click.option("--scale", "scale_path", help="The station scale's serial port, e.g. /dev/ttyUSB1.")
@click.option("--scale-baud", default=9600, show_default=True, help="The scale's baud rate.")
@click.option(
    "--queue",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The outbox file [default: ~/.local/state/warehouse-agent/STATION.sqlite3].",
)
@click.option(
    "--list-devices",
    is_flag=True,
    is_eager=True,
    expose_value=False,
    callback=_list_devices,
    help="Print the input devices evdev sees, and exit.",
)
def main(
    service: str,
    token: str,
    station: str,
    evdev_path: str | None,
    evdev_name: str | None,
    serial_path: str | None,
    baud: int,
    end_key: str,
    line_end: str,
    scale_path: str | None,
    scale_baud: int,
    queue: Path | None,
) -> None:
    """Read a station's barcode scanner and post every scan to the warehouse service."""
    if sum(1 for source in (evdev_path, evdev_name, serial_path) if source) != 1:
        raise click.UsageError("Name one scanner: --evdev, --evdev-name or --serial.")
    if not 1 <= len(station) <= 64:
        # The service refuses a longer name with a 422, which would drop every scan as refused.
        raise click.BadParameter("1 to 64 characters.", param_hint="--station")
    logging.basicConfig(
        level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(levelname)s %(message)s"
    )
    # httpx logs every request at INFO; the sender prints its own line per scan.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    outbox = Outbox(queue or default_queue(station))
    waiting = outbox.count()
    if waiting:
        log.info("%d scans from before are still to send; sending them first.", waiting)

    def open_reader() -> Iterator[str]:
        if serial_path:
            return serial_scans(serial_path, baud, line_end)
        return key_scans(open_key_device(evdev_path, evdev_name), end_key)

    sender = Sender(outbox, service, token, station)
    stop = threading.Event()
    thread = threading.Thread(target=sender.run, args=(stop,), name="sender", daemon=True)
    thread.start()
    if scale_path:
        _start_scale(scale_path, scale_baud, sender, service, station, stop)
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    try:
        for code in _reopening(open_reader):
            outbox.add(code)
    except KeyboardInterrupt:
        pass
    finally:
        # Unsent scans stay in the outbox file for the next start.
        stop.set()
        thread.join(timeout=2)
        log.info("Stopped; %d scans wait in %s.", outbox.count(), outbox.path)


def _start_scale(
    path: str, baud: int, sender: Sender, service: str, station: str, stop: threading.Event
) -> None:
    """Read the station scale from a thread of its own, reopening it when it goes away."""
    reporter = ScaleReporter(sender.client, service, station)
    lines = _reopening(lambda: serial_scans(path, baud, "any", stop))
    thread = threading.Thread(target=reporter.report, args=(lines, stop), name="scale", daemon=True)
    thread.start()
