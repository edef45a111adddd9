"""A TCP listener standing in for a label printer on its raw port (9100 on a real one), well
behaved or in the ways real ones misbehave."""

from __future__ import annotations

import socket
import struct
import threading
import time


class FakePrinter:
    """Accepts connections, each in a thread of its own, and keeps each job's bytes.

    Misbehaving: `cut_after` resets the connection once that many bytes came; `hold_open`
    reads every byte but never closes its side; `trickle_s` reads one byte every that many
    seconds (through a small receive window, so the sender feels it)."""

    def __init__(
        self,
        port: int,
        cut_after: int | None = None,
        hold_open: bool = False,
        trickle_s: float | None = None,
    ):
        self.port, self.cut_after = port, cut_after
        self.hold_open, self.trickle_s = hold_open, trickle_s
        # Each connection's bytes once the sender finished sending (a reset one is left out).
        self.jobs: list[bytes] = []
        # Every connection's bytes so far, finished or not: a label started is counted here.
        self.connections: list[bytearray] = []
        self._server = socket.socket()
        self._server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if trickle_s is not None or cut_after is not None:
            # Inherited by each connection: the sender cannot put the whole job in flight.
            self._server.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        self._server.bind(("127.0.0.1", port))
        self._server.listen()
        self._server.settimeout(0.2)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self._server.accept()
            except TimeoutError:
                continue
            data = bytearray()
            self.connections.append(data)
            threading.Thread(target=self._take, args=(connection, data), daemon=True).start()

    def _take(self, connection: socket.socket, data: bytearray) -> None:
        with connection:
            connection.settimeout(0.2)
            while not self._stop.is_set():
                try:
                    chunk = connection.recv(1 if self.trickle_s else 65536)
                except TimeoutError:
                    continue
                except OSError:
                    return  # the sender reset the connection
                if not chunk:
                    break
                data += chunk
                if self.cut_after is not None and len(data) >= self.cut_after:
                    # Power off mid-job: a reset, not a clean close.
                    connection.setsockopt(
                        socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                    )
                    return
                if self.trickle_s:
                    self._stop.wait(self.trickle_s)
            else:
                return  # switched off mid-job
            self.jobs.append(bytes(data))
            if self.hold_open:
                self._stop.wait()

    def wait_for(self, count: int, timeout: float = 10.0) -> list[bytes]:
        """The jobs received, once there are `count` of them (or the timeout passed)."""
        deadline = time.monotonic() + timeout
        while len(self.jobs) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return list(self.jobs)

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self._server.close()

    def __enter__(self) -> FakePrinter:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
