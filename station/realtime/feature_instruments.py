"""Realtime events of metering instruments and the free-acceleration test: which signal is
pushed to which namespace, and in what form (public namespaces get masked data only).

``instrument_state_changed`` goes to staff only; the lobby learns of a blocked station through
``lane_state_changed`` (sent by ``lanes.set_station_state``), which carries the public reason.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from station import signals

if TYPE_CHECKING:
    from . import RealtimeHub

INSTRUMENT_FIELDS = ("instrument_id", "station_id", "usable", "reason", "at")


def receivers(hub: RealtimeHub) -> list[tuple[Any, Callable[..., None]]]:
    """(signal, receiver) pairs for the bridge to connect."""
    from . import STAFF

    def on_instrument(_sender: Any, **p: Any) -> None:
        hub.publish(STAFF, "instrument", {k: p.get(k) for k in INSTRUMENT_FIELDS})

    return [(signals.instrument_state_changed, on_instrument)]
