"""The process that pushes channel events, beside gunicorn's workers (`warehouse serve`).

Why a process of its own: inside a gevent worker, a send waits behind every request the
worker has in hand, so while orders flood in the workers take all the CPU and events fall
minutes behind. As a process, the sender gets its share of the CPU from the kernel, and the
workers' requests never wait on a send. It finds new events by polling (a few indexed reads
a second, no write while nothing is due), so an event reaches its channel within
`POLL_S` plus the send.

The gunicorn master starts it once its workers are up, starts it again if it dies, and
stops it on its way out; the sender also stops by itself when the master is gone.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading

from warehouse.config import Config

log = logging.getLogger(__name__)

POLL_S = 0.1
RESTART_S = 1.0
# How long the sender may take to finish once its master is gone.
GRACE_S = 5.0


class SenderProcess:
    """Keeps one sender process running until stopped (used in the gunicorn master).

    It is spawned (posix_spawn) rather than forked and exec'd by subprocess: the master
    forks workers from its main thread meanwhile, and a worker forked while subprocess waited
    for its child's exec would keep that wait's pipe open, and the wait, forever."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.stopping = threading.Event()
        self.pid: int | None = None
        self.lock = threading.Lock()
        self.keeper = threading.Thread(target=self._keep, name="event-sender", daemon=True)

    def start(self) -> None:
        self.keeper.start()

    def _spawn(self) -> int:
        read, write = os.pipe()
        try:
            pid = os.posix_spawn(
                sys.executable,
                [sys.executable, "-m", "warehouse.event_sender", str(os.getpid())],
                os.environ,
                file_actions=[(os.POSIX_SPAWN_DUP2, read, 0)],
            )
        finally:
            os.close(read)
        # The configuration goes over the pipe, secrets and all, never on a command line;
        # as one line, since a worker forked meanwhile may hold the pipe open (no end of file).
        with os.fdopen(write, "wb") as pipe:
            pipe.write(self.config.model_dump_json().encode() + b"\n")
        return pid

    def _keep(self) -> None:
        while True:
            with self.lock:
                if self.stopping.is_set():
                    return
                self.pid = pid = self._spawn()
            try:
                _, status = os.waitpid(pid, 0)
                code: int | str = os.waitstatus_to_exitcode(status)
            except ChildProcessError:  # the arbiter reaps every child of the master
                code = "unknown"
            _forget_metrics(pid)
            if self.stopping.wait(RESTART_S):
                return
            log.error("event sender stopped (exit %s); starting it again", code)

    def stop(self, timeout_s: float = 10) -> None:
        with self.lock:
            self.stopping.set()
            pid = self.pid
        if pid is None:
            return
        for signum in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.kill(pid, signum)
            except ProcessLookupError:
                return
            self.keeper.join(timeout_s)
            if not self.keeper.is_alive():
                return


def _forget_metrics(pid: int) -> None:
    if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)


def main() -> None:
    """Send events until SIGTERM, or until the process that started this one ends."""
    from warehouse import delivery
    from warehouse.db import make_engine, make_sessionmaker

    # Named by the master itself: one killed while this process started is not mistaken
    # for whoever adopted it.
    master = int(sys.argv[1]) if len(sys.argv) > 1 else os.getppid()
    stop, done = threading.Event(), threading.Event()

    def watch_master() -> None:
        # Watched from the start: a master killed before it wrote the configuration leaves
        # this process waiting for a line that will never come.
        while True:
            if os.getppid() != master:
                stop.set()
                if not done.wait(GRACE_S):
                    os._exit(1)
                return
            if stop.wait(1):
                return

    threading.Thread(target=watch_master, daemon=True).start()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    # A Ctrl-C in the terminal reaches every process of the server: the master stops this
    # one once its workers are down, rather than see it gone and start it again meanwhile.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    logging.basicConfig(level=logging.WARNING, format="[event sender] %(levelname)s %(message)s")
    config = Config.model_validate_json(sys.stdin.buffer.readline())
    engine = make_engine(config.database)
    try:
        delivery.run_dispatcher(make_sessionmaker(engine), stop, config.events, every_s=POLL_S)
    finally:
        engine.dispose()
        done.set()


if __name__ == "__main__":
    main()
