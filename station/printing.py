"""The print worker: prints pending tickets on their kiosk's printer, and the single window's
papers (receipts, reports, retest notices) on the counter's printer, after commit.

It runs in the runtime process (the one holding the devices). It wakes when a ticket is
issued or a paper queued in this process (not on every change of the station: a call or a car
moving prints nothing), and every ``POLL_SECONDS`` otherwise, so papers queued by another web
process — or left pending by a crash — are printed too. A printer failure never touches
the ticket's existence: the ticket is marked ``failed`` with the printer's reason, the device
goes to ``retrying``, staff screens raise an alert, and a reprint is one call away.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from escpos.printer import Dummy

from drivers.errors import DeviceError
from drivers.printer import TicketPrinter, TicketPrintout
from drivers.printer.ticket import LF, SELECT_CHINESE_MODE, write_line
from station import signals
from station.clock import Clock
from station.db import Database
from station.devices import DeviceManager, DeviceUnavailable
from station.models import DeviceKind, HardwareDevice
from station.models.window import DocumentPrintState, PrintedDocument
from station.services import queue, settings, tickets

log = logging.getLogger(__name__)
POLL_SECONDS = 1.0
#: pending tickets placed and made into papers together (a burst's; the papers are printed
#: one after the other, so the last of a batch is placed a little before it is printed)
PAPERS_AT_ONCE = 8
#: how long printed tickets may wait to have their outcome recorded with the next ones
RECORD_WITHIN_S = 0.2
#: after a wake-up, how long the worker lets a burst's next tickets come before it reads the
#: pending ones: a burst's tickets are then placed, and their outcomes recorded, a batch at a
#: time instead of one by one (a paper is out a twentieth of a second later)
GATHER_S = 0.05


class PrintWorker:
    def __init__(self, db: Database, clock: Clock, devices: DeviceManager, public_url: str) -> None:
        self.db, self.clock, self.devices, self.public_url = db, clock, devices, public_url
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="ticket-printer", daemon=True)

    def start(self) -> PrintWorker:
        signals.ticket_changed.connect(self._on_ticket, sender=self.db)
        signals.document_queued.connect(self._on_document, sender=self.db)
        self._thread.start()
        return self

    def stop(self) -> None:
        signals.ticket_changed.disconnect(self._on_ticket, sender=self.db)
        signals.document_queued.disconnect(self._on_document, sender=self.db)
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=10)

    def _on_ticket(self, _sender: Any, **payload: Any) -> None:
        if payload.get("print_state") == "pending":
            self._wake.set()

    def _on_document(self, _sender: Any, **_payload: Any) -> None:
        self._wake.set()  # a receipt, report or retest notice

    def _run(self) -> None:
        while not self._stop.is_set():
            if self._wake.wait(POLL_SECONDS):
                self._stop.wait(GATHER_S)
            self._wake.clear()
            try:
                self.print_pending()
                self.print_pending_documents()
            except Exception:
                log.exception("printing failed")

    def print_pending(self) -> int:
        """Print every pending ticket of today once; returns how many were printed."""
        with self.db.read() as s:
            pending = tickets.pending(s, self.clock)
        # a burst of check-ins leaves several waiting: their papers are made together (one
        # reading of the queue places them all) and printed one by one
        return sum(self._print(pending[start:start + PAPERS_AT_ONCE])
                   for start in range(0, len(pending), PAPERS_AT_ONCE))

    def print_one(self, ticket_id: int) -> bool:
        return self._print([ticket_id]) == 1

    def _print(self, ticket_ids: list[int]) -> int:
        """Print the tickets and record how each went; returns how many were printed.

        Outcomes printed within ``RECORD_WITHIN_S`` of the last recording are recorded together
        (one write transaction, where each took one and the kiosks' check-ins queued behind
        them); a failure, or a printer slow enough, is recorded at once, so that the kiosk and
        the staff screens learn of it without waiting for the rest of the batch."""
        printed, outcomes = 0, []
        last = time.monotonic()
        papers = self._papers(ticket_ids)
        for n, (ticket_id, printer_id, paper) in enumerate(papers, start=1):
            error = self._send(printer_id, paper)
            outcomes.append((ticket_id, error))
            printed += error is None
            if error:
                log.warning("ticket %s not printed: %s", paper.number, error)
            if error or n == len(papers) or time.monotonic() - last >= RECORD_WITHIN_S:
                with self.db.write() as s:
                    for done_id, done_error in outcomes:
                        tickets.record_print(s, self.clock, done_id, printed=done_error is None,
                                             error=done_error)
                outcomes, last = [], time.monotonic()
        return printed

    def _papers(self, ticket_ids: list[int]) -> list[tuple[int, int | None, TicketPrintout]]:
        """What to print for each ticket, and on which printer (the kiosk's)."""
        with self.db.read() as s:
            issued = tickets.get_many(s, ticket_ids)
            # the places of the tickets, not the whole queue: a ticket called already has none
            places = queue.places_of(s, self.clock, [t.visit_id for t in issued])
            papers = []
            for ticket in issued:
                place = places.get(ticket.visit_id)
                paper = tickets.printout(s, self.clock, ticket, self.public_url,
                                         people_ahead=place.people_ahead if place else 0,
                                         estimated_wait_min=place.estimated_wait_min if place else 0)
                papers.append((ticket.id, tickets.kiosk_printer_id(s, ticket.kiosk_id), paper))
        return papers

    def _send(self, printer_id: int | None, paper: TicketPrintout) -> str | None:
        """Print one paper; None when it printed, else why not."""
        if printer_id is None:
            return "没有配置取号打印机"
        try:
            handle = self.devices.handle(printer_id)
            handle.printer.print_ticket(paper)  # type: ignore[attr-defined]
        except DeviceUnavailable as exc:
            return exc.message_zh
        except DeviceError as exc:
            self.devices.report_failure(printer_id, exc)
            return str(exc)
        return None

    # -- the single window's papers ----------------------------------------------------------

    def print_pending_documents(self) -> int:
        """Print every pending paper once; returns how many were printed."""
        with self.db.read() as s:
            pending = list(s.scalars(sa.select(PrintedDocument.id).where(
                PrintedDocument.state == DocumentPrintState.PENDING).order_by(PrintedDocument.id)))
        return sum(self.print_document(doc_id) for doc_id in pending)

    def print_document(self, document_id: int) -> bool:
        with self.db.read() as s:
            doc = s.get(PrintedDocument, document_id)
            if doc is None:
                return False
            printer = counter_printer(s, doc.counter_id)
            paper = DocumentPrintout(str(settings.get(s, "station.name")), doc.title,
                                     tuple(doc.lines), self.clock.local(doc.created_at),
                                     str(settings.get(s, "station.hotline")))
        error: str | None = None
        if printer is None:
            error = "本窗口没有配置打印机"
        else:
            try:
                print_paper(self.devices.handle(printer.id).printer, paper)  # type: ignore[attr-defined]
            except DeviceUnavailable as exc:
                error = exc.message_zh
            except DeviceError as exc:
                error = str(exc)
                self.devices.report_failure(printer.id, exc)
        with self.db.write() as s:
            doc = s.get(PrintedDocument, document_id)
            if doc is not None:
                doc.attempts += 1
                doc.state = DocumentPrintState.FAILED if error else DocumentPrintState.PRINTED
                doc.error = error[:200] if error else None
                doc.printed_at = None if error else self.clock.now()
        if error:
            log.warning("%s not printed: %s", paper.title, error)
        return error is None


def counter_printer(session: Any, counter_id: int | None) -> HardwareDevice | None:
    """The enabled printer at a counter window (a ticket printer with ``counter_id`` set)."""
    if counter_id is None:
        return None
    return session.scalar(sa.select(HardwareDevice).where(
        HardwareDevice.counter_id == counter_id, HardwareDevice.enabled.is_(True),
        HardwareDevice.kind == DeviceKind.TICKET_PRINTER).order_by(HardwareDevice.id).limit(1))


class DocumentPrintout:
    """A counter paper: title, plain lines, time; rendered on the same ESC/POS printers."""

    def __init__(self, station_name: str, title: str, lines: tuple[str, ...], at: datetime,
                 hotline: str) -> None:
        self.station_name, self.title, self.lines, self.at = station_name, title, lines, at
        self.hotline = hotline


class _PaperPrinter(TicketPrinter):
    """The ticket printer's status-checked job, with a paper's layout instead of a ticket's.

    It borrows the connection the device manager keeps open, so the printer's single raw
    session is shared, and holds the driver's lock while it prints.
    """

    def render(self, paper: DocumentPrintout) -> bytes:  # type: ignore[override]
        enc = self.layout.encoding
        out = Dummy(profile=self.config.profile)
        out.hw("INIT")
        if self.layout.chinese_mode:
            out._raw(SELECT_CHINESE_MODE)
        out.set(align="center", bold=True, custom_size=True, width=1, height=2)
        write_line(out, paper.station_name, enc)
        write_line(out, paper.title, enc)
        out.set(align="left", bold=False, custom_size=True, width=1, height=1)
        out._raw(LF)
        for line in paper.lines:
            write_line(out, line, enc)
        out._raw(LF)
        write_line(out, f"打印时间：{paper.at:%Y-%m-%d %H:%M}", enc)
        write_line(out, f"监督电话：{paper.hotline}", enc)
        out.cut(mode=self.layout.cut_mode)
        return out.output


def print_paper(printer: TicketPrinter, paper: DocumentPrintout) -> None:
    """Print a counter paper on ``printer`` with its status checks before and after."""
    with printer._lock:
        if printer.connection is not None:
            _PaperPrinter(printer.config, connection=printer.connection).print_ticket(paper)  # type: ignore[arg-type]
        else:
            _PaperPrinter(printer.config).print_ticket(paper)  # type: ignore[arg-type]
