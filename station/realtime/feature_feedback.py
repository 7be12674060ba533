"""Realtime events of ratings and complaints: ``feedback_changed`` → ``/staff`` event
``feedback`` (``kind``, ``id``, ``state``, ``at`` — no rating content, no owner data), so a
new bad rating or an escalated case reaches the manager's screens at once."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from station import signals

if TYPE_CHECKING:
    from . import RealtimeHub

FIELDS = ("kind", "id", "state", "at")


def receivers(hub: RealtimeHub) -> list[tuple[Any, Callable[..., None]]]:
    from . import STAFF

    def on_feedback(_sender: Any, **p: Any) -> None:
        hub.publish(STAFF, "feedback", {k: p.get(k) for k in FIELDS})

    return [(signals.feedback_changed, on_feedback)]
