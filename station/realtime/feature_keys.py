"""Realtime events of key handover and the runner queue: which signal is pushed to which namespace, and in
what form (public namespaces get masked data only).

- ``key_moved`` → ``/staff`` event ``key`` with the full payload (plate, holders, place, actor);
  → ``/progress`` room ``visit:<id>`` event ``key`` with ``{stage, stage_label, tag, at}`` only.
- ``key_overdue`` (``station.services.keys``) → ``/staff`` event ``key_overdue``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from station import signals

if TYPE_CHECKING:
    from . import RealtimeHub

#: the only fields of a key step the owner's progress page receives
PROGRESS_FIELDS = ("stage", "stage_label", "tag", "at")


def receivers(hub: RealtimeHub) -> list[tuple[Any, Callable[..., None]]]:
    """(signal, receiver) pairs for the bridge to connect."""
    from station.services.keys import key_overdue

    from . import PROGRESS, STAFF

    def on_key(_sender: Any, **p: Any) -> None:
        hub.publish(STAFF, "key", dict(p))
        hub.publish(PROGRESS, "key", {k: p[k] for k in PROGRESS_FIELDS},
                    room=f"visit:{p['visit_id']}")

    def on_overdue(_sender: Any, **p: Any) -> None:
        hub.publish(STAFF, "key_overdue", dict(p))

    return [(signals.key_moved, on_key), (key_overdue, on_overdue)]
