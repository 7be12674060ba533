"""The ticket print worker: prints pending tickets on their kiosk's printer, after commit.

It runs in the runtime process (the one holding the devices). It wakes when a ticket is
issued in this process, and every ``POLL_SECONDS`` otherwise, so tickets issued by another
web process — or left pending by a crash — are printed too. A printer failure never touches
the ticket's existence: the ticket is marked ``failed`` with the printer's reason, the device
goes to ``retrying``, staff screens raise an alert, and a reprint is one call away.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from drivers.errors import DeviceError
from station import signals
from station.clock import Clock
from station.db import Database
from station.devices import DeviceManager, DeviceUnavailable
from station.services import queue, tickets

log = logging.getLogger(__name__)
POLL_SECONDS = 1.0


class PrintWorker:
    def __init__(self, db: Database, clock: Clock, devices: DeviceManager, public_url: str) -> None:
        self.db, self.clock, self.devices, self.public_url = db, clock, devices, public_url
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="ticket-printer", daemon=True)

    def start(self) -> PrintWorker:
        signals.ticket_changed.connect(self._on_ticket, sender=self.db)
        self._thread.start()
        return self

    def stop(self) -> None:
        signals.ticket_changed.disconnect(self._on_ticket, sender=self.db)
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=10)

    def _on_ticket(self, _sender: Any, **payload: Any) -> None:
        if payload.get("print_state") == "pending":
            self._wake.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(POLL_SECONDS)
            self._wake.clear()
            try:
                self.print_pending()
            except Exception:
                log.exception("ticket printing failed")

    def print_pending(self) -> int:
        """Print every pending ticket of today once; returns how many were printed."""
        with self.db.read() as s:
            pending = tickets.pending(s, self.clock)
            # one queue computation for the whole batch, not one per ticket
            places = {p.visit_id: p for p in queue.counter_queue(s, self.clock)} if pending else {}
        return sum(self.print_one(ticket_id, places) for ticket_id in pending)

    def print_one(self, ticket_id: int, places: dict[int, queue.QueuePlace] | None = None) -> bool:
        with self.db.read() as s:
            ticket = tickets.get(s, ticket_id)
            printer = tickets.printer_for_kiosk(s, ticket.kiosk_id)
            place = (places or {}).get(ticket.visit_id)  # none: called already, print no place
            paper = tickets.printout(s, self.clock, ticket, self.public_url,
                                     people_ahead=place.people_ahead if place else 0,
                                     estimated_wait_min=place.estimated_wait_min if place else 0)
        error: str | None = None
        if printer is None:
            error = "没有配置取号打印机"
        else:
            try:
                handle = self.devices.handle(printer.id)
                handle.printer.print_ticket(paper)  # type: ignore[attr-defined]
            except DeviceUnavailable as exc:
                error = exc.message_zh
            except DeviceError as exc:
                error = str(exc)
                self.devices.report_failure(printer.id, exc)
        with self.db.write() as s:
            tickets.record_print(s, self.clock, ticket_id, printed=error is None, error=error)
        if error:
            log.warning("ticket %s not printed: %s", paper.number, error)
        return error is None
