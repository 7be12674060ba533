"""Named events: "something happened" in the station, sent after the transaction commits.

Services call :func:`send_after_commit`; receivers (the realtime bridge, device outputs, the
simulator's recorders) connect with ``signal.connect(receiver, sender=db)`` where ``db`` is
the :class:`station.db.Database` of their app, so two apps in one process never mix.

Payloads are keyword arguments of plain values (ids, states, times), never ORM objects:
the session that produced them is closed by the time receivers run.
"""

from __future__ import annotations

from typing import Any

from blinker import Namespace
from sqlalchemy.orm import Session

from station.db import after_commit

station_signals = Namespace()

#: a visit changed state — visit_id, serial, attempt, from_state, to_state, at, actor, plate, plate_type
visit_state_changed = station_signals.signal("visit-state-changed")
#: a lane or station was opened, closed or blocked — lane_id, station_id, state, reason
lane_state_changed = station_signals.signal("lane-state-changed")
#: a hardware device changed lifecycle state — the fields of ``DeviceStatus.as_dict()``
device_state_changed = station_signals.signal("device-state-changed")
#: a ticket was issued or its printing changed — ticket_id, label, visit_id, kiosk_id,
#: print_state, print_error
ticket_changed = station_signals.signal("ticket-changed")
#: a ticket was called (or recalled, or transferred) to a counter — ticket_id, label, visit_id,
#: counter_id, counter_number, counter_name, plate (masked), text (the call as said), action,
#: call_count, at
ticket_called = station_signals.signal("ticket-called")
#: a station setting changed — key, value
setting_changed = station_signals.signal("setting-changed")
#: a payment was taken, voided or refunded at the single window — visit_id, payment_id, state,
#: amount_fen, at
payment_changed = station_signals.signal("payment-changed")
#: a paper of the single window (receipt, report, retest notice) waits for its printer, new or
#: queued again — document_id, counter_id
document_queued = station_signals.signal("document-queued")
#: a car moved on a lane (arrived at, finished or left a station; assigned to a lane) —
#: visit_id, lane_id, station_id, kind, source, at, plate (masked)
vehicle_moved = station_signals.signal("vehicle-moved")
#: a key changed holder (owner → desk → runner → lane → cabinet → owner) — visit_id, key_id,
#: tag, from_holder, to_holder, stage, at
key_moved = station_signals.signal("key-moved")
#: a metering instrument became usable or blocked — instrument_id, station_id, usable, reason, at
instrument_state_changed = station_signals.signal("instrument-state-changed")
#: a rating, a bad-rating case or a complaint was recorded or changed — kind, id, state, at
feedback_changed = station_signals.signal("feedback-changed")


def send_after_commit(session: Session, signal: Any, **payload: Any) -> None:
    db = session.info["db"]
    after_commit(session, lambda: signal.send(db, **payload))
