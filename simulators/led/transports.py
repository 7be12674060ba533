"""Ways for a real driver to reach a :class:`LedBusSimulator`: a pty pair or a TCP port.

A pty slave is a real serial device (the driver opens its path with pyserial, ``exclusive=True``
and all); the TCP port stands in for the RS-485-to-Ethernet converters stations use for
displays far from the server (the driver opens ``socket://127.0.0.1:PORT``).
"""

from __future__ import annotations

import contextlib
import os
import select
import socket
import threading
import tty
from abc import ABC, abstractmethod
from collections.abc import Callable
from types import TracebackType
from typing import Self

from simulators.led.model import LedBusSimulator, SimLink

#: how long close() waits for a service thread; they wake at once, so this only bounds a hang
JOIN_TIMEOUT = 5.0
READ_CHUNK = 4096
CLIENT_THREAD = "ledsim-tcp-client"


class _Served(ABC):
    """Start/stop plumbing shared by the transports: a wake-up pipe that ends every select()."""

    def __init__(self) -> None:
        self._wake_r = self._wake_w = -1
        self._threads: list[threading.Thread] = []
        self._threads_lock = threading.Lock()
        self._closed = False

    @abstractmethod
    def open(self) -> Self: ...

    @abstractmethod
    def close(self) -> None: ...

    def _begin(self) -> None:
        if self._closed or self._wake_r >= 0:
            raise RuntimeError(f"{type(self).__name__} can be opened once")
        self._wake_r, self._wake_w = os.pipe()

    def _spawn(self, target: Callable[..., None], name: str, *args: object) -> None:
        thread = threading.Thread(target=target, args=args, name=name, daemon=True)
        with self._threads_lock:
            self._threads.append(thread)
        thread.start()

    def _join(self, prefix: str = "") -> None:
        joined: set[threading.Thread] = set()
        while True:  # a thread may spawn another while we join, hence the loop
            with self._threads_lock:
                pending = [
                    t for t in self._threads if t not in joined and t.name.startswith(prefix)
                ]
            if not pending:
                return
            for thread in pending:
                thread.join(JOIN_TIMEOUT)
                joined.add(thread)

    def _end(self) -> bool:
        """Stop every thread; False when there was nothing to stop (never opened, or closed)."""
        if self._closed or self._wake_r < 0:
            self._closed = True
            return False
        self._closed = True
        # The byte is never read, so the pipe stays readable and wakes every thread.
        os.write(self._wake_w, b"x")
        self._join()
        os.close(self._wake_r)
        os.close(self._wake_w)
        return True

    def __enter__(self) -> Self:
        return self.open()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class PtyLink(_Served):
    """Serves the simulator on the master side of a pty; drivers open :attr:`port`."""

    def __init__(self, simulator: LedBusSimulator) -> None:
        super().__init__()
        self.simulator = simulator
        self._master = -1
        self._slave = -1
        self.port = ""

    def open(self) -> PtyLink:
        self._begin()
        self._master, self._slave = os.openpty()
        # Raw from the start: no echo, no CR/LF translation before the driver configures it.
        tty.setraw(self._slave)
        self.port = os.ttyname(self._slave)
        self._spawn(self._serve, f"ledsim-pty {self.port}", self.simulator.connect())
        return self

    def close(self) -> None:
        if not self._end():
            return
        # Our slave descriptor kept the master readable while drivers came and went.
        for fd in (self._master, self._slave):
            if fd >= 0:
                os.close(fd)
        self._master = self._slave = -1

    def _serve(self, link: SimLink) -> None:
        while True:
            ready, _, _ = select.select([self._master, self._wake_r], [], [])
            if self._wake_r in ready:
                return
            try:
                data = os.read(self._master, READ_CHUNK)
            except OSError:
                return
            answer = link.feed(data)
            if answer:
                os.write(self._master, answer)


class TcpLink(_Served):
    """Serves the simulator on a TCP port, one byte stream per client."""

    def __init__(self, simulator: LedBusSimulator, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__()
        self.simulator = simulator
        self.host = host
        self.requested_port = port
        self.port = 0
        self._server: socket.socket | None = None
        self._clients: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._connections = 0

    @property
    def url(self) -> str:
        return f"socket://{self.host}:{self.port}"

    @property
    def connections(self) -> int:
        """Clients accepted so far."""
        with self._lock:
            return self._connections

    def open(self) -> TcpLink:
        self._begin()
        server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind((self.host, self.requested_port))
        server.listen()
        self._server = server
        self.port = server.getsockname()[1]
        self._spawn(self._accept, f"ledsim-tcp {self.port}", server)
        return self

    def drop_clients(self) -> None:
        """Cut every client connection, as a rebooting converter would; returns once they are gone."""
        with self._lock:
            clients = list(self._clients)
        for conn in clients:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        self._join(CLIENT_THREAD)

    def close(self) -> None:
        if not self._end():
            return
        if self._server is not None:
            self._server.close()

    def _accept(self, server: socket.socket) -> None:
        while True:
            ready, _, _ = select.select([server, self._wake_r], [], [])
            if self._wake_r in ready:
                return
            try:
                conn, peer = server.accept()
            except OSError:
                return
            with self._lock:
                self._clients.add(conn)
                self._connections += 1
            self._spawn(self._serve, f"{CLIENT_THREAD} {peer[1]}", conn, self.simulator.connect())

    def _serve(self, conn: socket.socket, link: SimLink) -> None:
        try:
            while True:
                ready, _, _ = select.select([conn, self._wake_r], [], [])
                if self._wake_r in ready:
                    return
                try:
                    data = conn.recv(READ_CHUNK)
                except OSError:
                    return
                if not data:
                    return
                answer = link.feed(data)
                if answer:
                    try:
                        conn.sendall(answer)
                    except OSError:
                        return
        finally:
            with self._lock:
                self._clients.discard(conn)
            conn.close()
