"""An ESC/POS network printer on 127.0.0.1: the real ``escpos.printer.Network`` prints to it.

Like a raw-TCP (port 9100) receipt printer it takes byte streams on any number of connections,
one print engine behind them, answers ``DLE EOT n`` at once from its fault switches, and cuts
the stream into tickets at every cut command. Jobs sent while it cannot print (paper out,
cover open, cutter error) are discarded, as a printer that has stopped loses them.
"""

from __future__ import annotations

import contextlib
import logging
import selectors
import socket
import struct
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from simulators.printer.decoder import PrintedTicket, PrinterModel
from simulators.printer.faults import Faults, FaultSwitches
from simulators.printer.parser import Command, EscPosParser

log = logging.getLogger(__name__)

RECV_BYTES = 4096
JOIN_TIMEOUT = 5.0  # seconds to wait for a connection thread when stopping
DEFAULT_WAIT = 10.0  # seconds wait_for_tickets and wait_for wait by default


class PrinterSimulator:
    """A simulated ESC/POS ticket printer listening on TCP.

    Usage: ``with PrinterSimulator() as sim:`` (port 0 picks a free port), print to
    ``("127.0.0.1", sim.port)``, then ``sim.wait_for_tickets(1)[0].text``. Switch faults with
    ``sim.faults.paper_out = True``; received bytes and tickets are kept until :meth:`clear`.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        faults: Faults | Mapping[str, Any] | None = None,
        png_dir: str | Path | None = None,
        font_path: str | None = None,
        chinese_mode: bool = True,
        encoding: str = "gb18030",
        on_ticket: Callable[[PrintedTicket], None] | None = None,
    ) -> None:
        self.host = host
        self._requested_port = port
        self._faults = FaultSwitches(faults)
        self.png_dir = Path(png_dir) if png_dir is not None else None
        self.font_path = font_path
        self.on_ticket = on_ticket
        self._model = PrinterModel(chinese_mode=chinese_mode, encoding=encoding)
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._stop = threading.Event()
        self._listener: socket.socket | None = None
        self._selector: selectors.BaseSelector | None = None
        self._wake_r: socket.socket | None = None
        self._wake_w: socket.socket | None = None
        self._accept_thread: threading.Thread | None = None
        self._connections: dict[socket.socket, threading.Thread] = {}
        self._received = bytearray()
        self.status_queries = 0
        self.connections_accepted = 0
        self.dropped_connections = 0
        self.png_paths: list[Path] = []

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> PrinterSimulator:
        if self._listener is not None:
            raise RuntimeError("simulator already started")
        listener = socket.create_server((self.host, self._requested_port))
        self._wake_r, self._wake_w = socket.socketpair()
        self._selector = selectors.DefaultSelector()
        self._selector.register(listener, selectors.EVENT_READ)
        self._selector.register(self._wake_r, selectors.EVENT_READ)
        self._listener = listener
        self._stop.clear()
        if self.png_dir is not None:
            self.png_dir.mkdir(parents=True, exist_ok=True)
        self._accept_thread = threading.Thread(
            target=self._accept_loop, name=f"printer-sim-accept-{self.port}", daemon=True
        )
        self._accept_thread.start()
        log.info("printer simulator listening on %s:%d", self.host, self.port)
        return self

    def stop(self) -> None:
        if self._listener is None:
            return
        self._stop.set()
        assert self._wake_w is not None
        self._wake_w.send(b"x")
        if self._accept_thread is not None:
            self._accept_thread.join(JOIN_TIMEOUT)
        with self._lock:
            connections = list(self._connections.items())
        for conn, _thread in connections:
            _shutdown(conn)
        for _conn, thread in connections:
            thread.join(JOIN_TIMEOUT)
        assert self._selector is not None and self._wake_r is not None
        self._selector.close()
        self._listener.close()
        self._wake_r.close()
        self._wake_w.close()
        self._listener = None
        with self._changed:
            self._changed.notify_all()

    def __enter__(self) -> PrinterSimulator:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._listener is None:
            raise RuntimeError("simulator not started")
        return self._listener.getsockname()[1]

    @property
    def address(self) -> tuple[str, int]:
        return self.host, self.port

    # -- state -------------------------------------------------------------------------------

    @property
    def faults(self) -> FaultSwitches:
        """Live switches: ``sim.faults.paper_out = True`` or ``sim.faults.set(...)``."""
        return self._faults

    @faults.setter
    def faults(self, value: Faults | Mapping[str, Any] | None) -> None:
        self._faults.replace_all(value)

    @property
    def tickets(self) -> list[PrintedTicket]:
        with self._lock:
            return list(self._model.tickets)

    @property
    def discarded_jobs(self) -> int:
        with self._lock:
            return self._model.discarded_jobs

    @property
    def received(self) -> bytes:
        """Every byte received, status queries included."""
        with self._lock:
            return bytes(self._received)

    @property
    def open_connections(self) -> int:
        with self._lock:
            return len(self._connections)

    def disconnect_all(self) -> None:
        """Close every client connection, as a printer that restarts or times out idle sessions."""
        with self._lock:
            connections = list(self._connections)
        for conn in connections:
            _shutdown(conn)

    def clear(self) -> None:
        """Forget received bytes and tickets (not the fault switches)."""
        with self._lock:
            self._received.clear()
            self._model.tickets.clear()
            self._model.discarded_jobs = 0
            self.png_paths.clear()

    def wait_for_tickets(self, count: int, timeout: float = DEFAULT_WAIT) -> list[PrintedTicket]:
        """Block until at least ``count`` tickets were printed; raises ``TimeoutError``."""
        with self._changed:
            done = self._changed.wait_for(
                lambda: len(self._model.tickets) >= count or self._stop.is_set(), timeout
            )
            tickets = list(self._model.tickets)
        if not done or len(tickets) < count:
            raise TimeoutError(f"{len(tickets)} of {count} tickets printed within {timeout} s")
        return tickets

    def wait_for(self, predicate: Callable[[PrinterSimulator], bool], timeout: float = DEFAULT_WAIT) -> None:
        """Block until ``predicate(self)`` holds (checked whenever the simulator's state changes)."""
        with self._changed:
            if not self._changed.wait_for(lambda: predicate(self), timeout):
                raise TimeoutError(f"condition not met within {timeout} s")

    # -- network -----------------------------------------------------------------------------

    def _accept_loop(self) -> None:
        assert self._selector is not None and self._listener is not None
        while not self._stop.is_set():
            for key, _events in self._selector.select():
                if key.fileobj is not self._listener or self._stop.is_set():
                    continue
                try:
                    conn, peer = self._listener.accept()
                except OSError:
                    continue
                thread = threading.Thread(
                    target=self._serve, args=(conn, peer), name=f"printer-sim-conn-{peer[1]}", daemon=True
                )
                with self._changed:
                    self._connections[conn] = thread
                    self.connections_accepted += 1
                    self._changed.notify_all()
                thread.start()

    def _serve(self, conn: socket.socket, peer: tuple[str, int]) -> None:
        parser = EscPosParser()
        dropped = False
        try:
            while not self._stop.is_set() and not dropped:
                try:
                    data = conn.recv(RECV_BYTES)
                except OSError:
                    break
                if not data:
                    break
                with self._lock:
                    self._received += data
                for cmd in parser.feed(data):
                    if cmd.name == "DLE EOT":
                        self._answer_status(conn, cmd)
                    elif not self._print(cmd):
                        dropped = True
                        break
                    # finish a cut ticket before the next command (a status query) is answered
                    self._after_print()
        finally:
            if dropped:
                _abort(conn)
            else:
                conn.close()
            with self._changed:
                self._connections.pop(conn, None)
                self._changed.notify_all()
            if parser.pending:
                log.debug("%s: connection closed with %d bytes of an unfinished command", peer, parser.pending)

    def _answer_status(self, conn: socket.socket, cmd: Command) -> None:
        faults = self._faults.snapshot()
        n = cmd.arg(0)
        with self._changed:
            self.status_queries += 1
            self._changed.notify_all()
        if faults.no_answer or n not in (1, 2, 3, 4):
            return
        if faults.slow_reply and self._stop.wait(faults.slow_reply):
            return
        try:
            conn.sendall(bytes((faults.status_byte(n),)))
        except OSError as exc:
            log.debug("status reply not delivered: %s", exc)

    def _print(self, cmd: Command) -> bool:
        """Apply one command to the print engine; False when the connection must be dropped."""
        faults = self._faults.snapshot()
        with self._changed:
            limit = faults.drop_mid_job
            if limit is not None and self._model.job_bytes + cmd.size > limit:
                self._model.power_cut()
                self.dropped_connections += 1
                self._changed.notify_all()
                return False
            self._model.apply(cmd, printable=not faults.blocks_printing)
            self._changed.notify_all()  # waiters watch tickets and discarded jobs
        return True

    def _after_print(self) -> None:
        with self._lock:
            finished = self._model.take_finished()
        for ticket in finished:
            if self.png_dir is not None:
                path = self.png_dir / f"ticket-{ticket.index:04d}.png"
                ticket.render_png(path, font=self.font_path)
                with self._changed:
                    self.png_paths.append(path)
                    self._changed.notify_all()
            if self.on_ticket is not None:
                self.on_ticket(ticket)


def _shutdown(conn: socket.socket) -> None:
    with contextlib.suppress(OSError):  # already closed by its thread
        conn.shutdown(socket.SHUT_RDWR)


def _abort(conn: socket.socket) -> None:
    """Close with RST, as a printer losing power mid-job does (no orderly FIN)."""
    with contextlib.suppress(OSError):
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    conn.close()
