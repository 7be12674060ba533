"""The ticket printer (取号票打印机): status checks around every job.

A job is checked twice. Before: a printer that is out of paper, has its cover open or does not
answer would swallow the ticket, so the job is refused. After: a printer that lost power or ran
out of paper mid-job loses the output silently, so the status is read again; only a printer
that still answers and is still able to print counts as having printed the ticket.

Connections: ``open()`` starts a session that stays open until ``close()``; without it every
``status()``/``print_ticket()`` opens and closes its own connection, which keeps the printer's
single raw-TCP session free for other hosts.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from escpos.escpos import Escpos
from escpos.exceptions import DeviceNotFoundError
from escpos.exceptions import Error as EscposError
from escpos.printer import Dummy

from drivers.errors import DeviceError, DeviceNotFound, DeviceReportedError, DeviceTimeout
from drivers.printer.config import PrinterConfig
from drivers.printer.connection import (
    ConnectionLost,
    build_connection,
    is_timeout,
    status_link_for,
)
from drivers.printer.status import (
    STATUS_QUERIES,
    PrinterCondition,
    PrinterStatus,
    status_query,
)
from drivers.printer.ticket import TicketLayout, TicketPrintout, render_ticket

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PrintResult:
    """Outcome of a ticket that the printer accepted.

    ``verified`` is False when the connection cannot report status (Dummy, File, or
    ``check_status`` off): the bytes were handed over, nothing more is known.
    ``warnings`` are conditions that did not stop the job but need staff (paper near end).
    """

    status_before: PrinterStatus
    status_after: PrinterStatus
    verified: bool
    bytes_sent: int
    warnings: tuple[PrinterCondition, ...] = ()

    @property
    def warning_text(self) -> str:
        """Chinese text of the warnings for staff screens (empty when none)."""
        return "；".join(w.description for w in self.warnings)


class TicketPrinter:
    """One ticket printer built from configuration; safe to share between threads."""

    def __init__(self, config: PrinterConfig | None = None, *, connection: Escpos | None = None) -> None:
        """``connection`` injects an escpos object the caller owns (never opened or closed here)."""
        self.config = config or PrinterConfig()
        self.config.validate()
        self.layout = TicketLayout.from_config(self.config)
        self._lock = threading.RLock()
        self._borrowed = connection is not None
        self._conn: Escpos | None = connection
        self._session = connection is not None

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any] | None) -> TicketPrinter:
        return cls(PrinterConfig.from_dict(cfg))

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def connection(self) -> Escpos | None:
        """The python-escpos connection while open (a ``Dummy``'s ``.output`` holds the bytes)."""
        return self._conn

    @property
    def is_open(self) -> bool:
        return self._conn is not None

    # -- lifecycle ---------------------------------------------------------------------------

    def open(self) -> None:
        """Connect and keep the connection until :meth:`close`. Raises ``DeviceNotFound``."""
        with self._lock:
            self._connect()
            self._session = True

    def close(self) -> None:
        with self._lock:
            self._session = self._borrowed
            self._disconnect()

    def __enter__(self) -> TicketPrinter:
        self.open()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _connect(self) -> Escpos:
        if self._conn is not None:
            return self._conn
        conn = build_connection(self.config)
        try:
            conn.open()
        except (DeviceNotFoundError, OSError) as exc:
            raise DeviceNotFound(f"cannot reach the printer: {exc}", device=self.name) from exc
        except (RuntimeError, ValueError) as exc:  # escpos Usb: pyusb or its libusb backend missing
            raise DeviceNotFound(f"cannot open the USB printer: {exc}", device=self.name) from exc
        self._conn = conn
        return conn

    def _disconnect(self) -> None:
        if self._borrowed or self._conn is None:
            return
        conn, self._conn = self._conn, None
        try:
            conn.close()
        except (OSError, EscposError) as exc:
            log.debug("%s: error while closing: %s", self.name, exc)

    @contextmanager
    def _connected(self) -> Iterator[Escpos]:
        """The open connection; one opened here is closed again unless a session is open."""
        conn = self._connect()
        try:
            yield conn
        finally:
            if not self._session:
                self._disconnect()

    # -- status ------------------------------------------------------------------------------

    def status(self) -> PrinterStatus:
        """Ask the printer with ``DLE EOT 1..4``.

        No answer within ``status_timeout`` gives a ``NO_ANSWER`` (offline) status; a link that
        cannot answer gives ``UNKNOWN``. Raises ``DeviceNotFound`` when the printer cannot be
        reached and ``ProtocolError`` for a reply that is not a status byte.
        """
        with self._lock, self._connected() as conn:
            return self._status_with_reconnect(conn)[0]

    def _status_with_reconnect(self, conn: Escpos) -> tuple[PrinterStatus, Escpos]:
        """The status, and the connection to go on with (a new one after a reconnect)."""
        try:
            return self._read_status(conn), conn
        except ConnectionLost as exc:
            if not self._session or self._borrowed:
                raise DeviceNotFound(f"connection lost: {exc}", device=self.name) from exc
        # a kept-open connection went stale (printer restarted, idle timeout): reconnect once
        log.info("%s: connection went stale, reconnecting", self.name)
        self._disconnect()
        conn = self._connect()
        try:
            return self._read_status(conn), conn
        except ConnectionLost as exc:
            raise DeviceNotFound(f"connection lost: {exc}", device=self.name) from exc

    def _read_status(self, conn: Escpos) -> PrinterStatus:
        link = status_link_for(conn) if self.config.check_status else None
        if link is None:
            return PrinterStatus.unknown()
        replies = bytearray()
        for n in STATUS_QUERIES:
            reply = link.query(status_query(n), self.config.status_timeout)
            if reply is None:
                return PrinterStatus.no_answer()
            replies.append(reply)
        return PrinterStatus.from_replies(bytes(replies), check_fixed_bits=self.config.check_fixed_bits)

    # -- printing ----------------------------------------------------------------------------

    def render(self, ticket: TicketPrintout) -> bytes:
        """The exact bytes of ``ticket`` for this printer's layout and profile."""
        dummy = Dummy(profile=self.config.profile)
        render_ticket(dummy, ticket, self.layout)
        return dummy.output

    def print_ticket(self, ticket: TicketPrintout) -> PrintResult:
        """Print one ticket, checking status before and after.

        Raises ``DeviceReportedError`` (``device_code`` = ``paper_out``, ``cover_open``,
        ``cutter_error``, ``error`` or ``offline``) when the printer reports a fault,
        ``DeviceTimeout`` when it does not answer, ``DeviceNotFound`` when it cannot be reached
        or the connection drops. An error raised after the job was sent says so in its message:
        the ticket may be missing or incomplete and should be reprinted.
        """
        payload = self.render(ticket)  # composed in full before the printer is touched
        with self._lock, self._connected() as conn:
            before, conn = self._status_with_reconnect(conn)
            self._refuse_unless_printable(before, "refused before printing")
            try:
                conn._raw(payload)
            except OSError as exc:  # socket, pyserial and pyusb errors are all OSError
                self._drop_broken_connection()
                if is_timeout(exc):
                    raise DeviceTimeout(
                        "printer stopped accepting data mid-job; the ticket may be incomplete",
                        device=self.name,
                    ) from exc
                raise DeviceNotFound(
                    f"connection lost while sending the ticket: {exc}", device=self.name
                ) from exc
            try:
                after = self._read_status(conn)
            except ConnectionLost as exc:
                self._drop_broken_connection()
                raise DeviceNotFound(
                    f"connection lost after sending the ticket, it may not have been printed: {exc}",
                    device=self.name,
                ) from exc
            self._refuse_unless_printable(after, "fault after sending the ticket, it may not have been printed")
        verified = after.answered
        warnings = tuple(dict.fromkeys(before.warnings + after.warnings))
        return PrintResult(before, after, verified, len(payload), warnings)

    def _drop_broken_connection(self) -> None:
        if not self._borrowed:
            self._disconnect()

    def _refuse_unless_printable(self, status: PrinterStatus, when: str) -> None:
        if status.can_print:
            return
        condition = status.condition
        message = f"{when}: {status.description} ({condition.value})"
        if condition is PrinterCondition.NO_ANSWER:
            raise DeviceTimeout(message, device=self.name)
        raise DeviceReportedError(message, device=self.name, device_code=condition.value)


def print_error_code(error: DeviceError) -> str:
    """The most specific stable code of a driver error: ``paper_out``, ``timeout``, …"""
    if isinstance(error, DeviceReportedError) and error.device_code is not None:
        return str(error.device_code)
    return error.code
