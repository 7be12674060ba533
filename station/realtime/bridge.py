"""From signals to realtime events: what each namespace is told when something happens.

Staff get the full payload; the lobby gets it masked (``overview.public_visit``): this module
is the one place where an event's public form is decided, and a test checks every event type.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flask import Flask

from station import signals
from station.domain.journey import LABELS, VisitState
from station.services.overview import progress_steps, public_visit

if TYPE_CHECKING:
    from . import RealtimeHub


def connect_signals(app: Flask, hub: RealtimeHub) -> None:
    db = app.extensions["station.db"]
    from . import LOBBY, PROGRESS, STAFF

    def on_visit(_sender: Any, **p: Any) -> None:
        public = public_visit(p["visit_id"], p["to_state"], p["plate"])
        staff = {k: p[k] for k in ("visit_id", "serial", "attempt", "from_state", "to_state",
                                   "at", "actor", "plate", "plate_type")}
        staff.update(state_label=public["state_label"], on_site=public["on_site"])
        hub.publish(STAFF, "visit", staff)
        hub.publish(LOBBY, "visit", public)
        state = VisitState(p["to_state"])
        hub.publish(PROGRESS, "progress", {"state": state.value, "state_label": LABELS[state][0],
                                           "steps": progress_steps(state)},
                    room=f"visit:{p['visit_id']}")

    def on_lane(_sender: Any, **p: Any) -> None:
        data = {k: p[k] for k in ("lane_id", "station_id", "state", "reason")}
        hub.publish(STAFF, "lane", data)
        hub.publish(LOBBY, "lane", data)

    def on_device(_sender: Any, **p: Any) -> None:
        hub.publish(STAFF, "device", dict(p))

    def on_setting(_sender: Any, **p: Any) -> None:
        hub.publish(STAFF, "setting", dict(p))

    def on_ticket(_sender: Any, **p: Any) -> None:
        hub.publish(STAFF, "ticket", dict(p))

    def on_call(_sender: Any, **p: Any) -> None:
        public = {k: p[k] for k in ("label", "counter_number", "counter_name", "text", "action", "at")}
        hub.publish(STAFF, "call", dict(p))
        hub.publish(LOBBY, "call", public)
        hub.publish(PROGRESS, "call", public, room=f"visit:{p['visit_id']}")

    receivers = [(signals.visit_state_changed, on_visit), (signals.lane_state_changed, on_lane),
                 (signals.device_state_changed, on_device), (signals.setting_changed, on_setting),
                 (signals.ticket_changed, on_ticket), (signals.ticket_called, on_call)]
    for signal, receiver in receivers:
        signal.connect(receiver, sender=db, weak=False)
    # keep references so the app can disconnect them (tests create many apps)
    app.extensions["station.realtime.receivers"] = receivers
