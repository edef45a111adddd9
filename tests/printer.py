"""A TCP listener standing in for a label printer on its raw port (9100 on a real one)."""

from __future__ import annotations

import socket
import struct
import threading
import time


class FakePrinter:
    """Accepts connections, keeps each job's bytes; `cut_after` resets mid-job instead."""

    def __init__(self, port: int, cut_after: int | None = None):
        self.port, self.cut_after = port, cut_after
        self.jobs: list[bytes] = []
        self._server = socket.create_server(("127.0.0.1", port), reuse_port=False)
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
            with connection:
                connection.settimeout(5)
                data = bytearray()
                while chunk := connection.recv(65536):
                    data += chunk
                    if self.cut_after is not None and len(data) >= self.cut_after:
                        # Power off mid-job: a reset, not a clean close.
                        connection.setsockopt(
                            socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                        )
                        break
                else:
                    self.jobs.append(bytes(data))

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
