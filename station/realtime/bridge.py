"""From signals to realtime events: what each namespace is told when something happens.

Staff get the full payload; the lobby gets it masked (``overview.public_visit``): this module
is the one place where an event's public form is decided, and a test checks every event type.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from flask import Flask

from station import signals
from station.domain.journey import LABELS, VisitState
from station.domain.masking import mask_plate
from station.services import overview
from station.services.overview import progress_steps, public_visit

from .coalesce import Coalescer

if TYPE_CHECKING:
    from . import RealtimeHub

log = logging.getLogger(__name__)
#: the derived wait figures are sent at most this often, off the request's path: every
#: change's own event goes out at once, the recomputed waits follow within this delay
WAITS_DELAY_S = 0.5
#: and take at most this share of the process's time (a long queue takes long to order)
WAITS_MAX_SHARE = 0.1


def _publish_waits(hub: RealtimeHub, db: Any, clock: Any, namespace: str,
                   parts: frozenset[str] | None) -> None:
    """The derived public figures (queues per category, lane waits), when they changed; only
    the ``parts`` that may have changed are read again."""
    last = getattr(hub, "_last_waits", None)
    with db.read() as s:
        data = overview.waits(s, clock, parts=parts, previous=last)
    if data != last:
        hub._last_waits = data  # type: ignore[attr-defined]
        hub.publish(namespace, "waits", data)


def connect_signals(app: Flask, hub: RealtimeHub) -> None:
    db = app.extensions["station.db"]
    clock = app.extensions["station.clock"]
    from . import LOBBY, PROGRESS, STAFF

    waits = Coalescer(lambda parts: _publish_waits(hub, db, clock, LOBBY, parts), interval=WAITS_DELAY_S,
                      delay=WAITS_DELAY_S, max_share=WAITS_MAX_SHARE, name="lobby-waits")
    app.extensions["station.realtime.waits"] = waits
    publish_waits = waits.request

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
        publish_waits()

    def on_moved(_sender: Any, **p: Any) -> None:
        plate = mask_plate(p["plate"])  # masked by the sender already; masking is idempotent
        # the lobby first: it has the most clients waiting for this
        hub.publish(LOBBY, "position", {"id": p["visit_id"], "lane_id": p["lane_id"],
                                        "station_id": p["station_id"], "kind": p["kind"],
                                        "at": p["at"], "plate": plate})
        hub.publish(STAFF, "position", {**p, "plate": plate})
        hub.publish(PROGRESS, "position", {"lane_id": p["lane_id"], "station_id": p["station_id"],
                                           "kind": p["kind"], "at": p["at"]},
                    room=f"visit:{p['visit_id']}")
        publish_waits("lanes")  # station times and lane queues; the counter queue is unchanged

    def on_lane(_sender: Any, **p: Any) -> None:
        data = {k: p[k] for k in ("lane_id", "station_id", "state", "reason")}
        hub.publish(STAFF, "lane", data)
        hub.publish(LOBBY, "lane", data)
        publish_waits("lanes")

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
        publish_waits("queues")

    receivers = [(signals.visit_state_changed, on_visit), (signals.lane_state_changed, on_lane),
                 (signals.device_state_changed, on_device), (signals.setting_changed, on_setting),
                 (signals.ticket_changed, on_ticket), (signals.ticket_called, on_call),
                 (signals.vehicle_moved, on_moved)]
    # the features that push events of their own decide their payloads in their own modules
    from . import feature_feedback, feature_instruments, feature_keys

    for feature in (feature_keys, feature_instruments, feature_feedback):
        receivers += feature.receivers(hub)
    for signal, receiver in receivers:
        signal.connect(receiver, sender=db, weak=False)
    # keep references so the app can disconnect them (tests create many apps)
    app.extensions["station.realtime.receivers"] = receivers
