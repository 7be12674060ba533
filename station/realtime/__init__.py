"""Realtime push over Socket.IO (Flask-SocketIO, ``threading`` mode, simple-websocket).

The contract (docs/REALTIME.md): a client that connects to a namespace receives
``snapshot`` = {epoch, seq, state}; after it, ``event`` = {epoch, seq, type, data} with ``seq``
increasing by one per namespace. Events carry the new state of one entity, so applying one
that the snapshot already contains changes nothing. A client that sees a gap in ``seq``, or
a new ``epoch`` (the server restarted), emits ``resync`` and gets a fresh snapshot.
Only same-origin browsers may connect (engine.io's default for ``cors_allowed_origins=None``).

Namespaces:
- ``/staff``  signed-in staff (session cookie): full data.
- ``/lobby``  registered lobby displays and kiosks (device token in the connect ``auth``),
  or signed-in staff previewing it: masked data only (``station.services.overview``).
- ``/progress`` an owner's phone, with the ticket's progress token in ``auth``: joins the room
  of that one visit; masked data only. Sequence numbers are per room there.

With ``STATION_REDIS_URL`` the Socket.IO message queue, the epoch and the sequence numbers
live in Redis, so several server processes share one ordered stream per namespace.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from flask import Flask, request
from flask_login import current_user
from flask_socketio import SocketIO, join_room

from station.auth import device_from_token
from station.errors import NotFound
from station.jsonutil import to_jsonable
from station.models import ClientKind

from .bridge import connect_signals

log = logging.getLogger(__name__)

STAFF = "/staff"
LOBBY = "/lobby"
PROGRESS = "/progress"
NAMESPACES = (STAFF, LOBBY)


class _LocalCounter:
    def __init__(self) -> None:
        self._counters: dict[str, itertools.count[int]] = {}
        self._current: dict[str, int] = {}
        self._lock = threading.Lock()

    def next(self, namespace: str) -> int:
        with self._lock:
            value = next(self._counters.setdefault(namespace, itertools.count(1)))
            self._current[namespace] = value
            return value

    def current(self, namespace: str) -> int:
        with self._lock:
            return self._current.get(namespace, 0)


class _RedisCounter:
    def __init__(self, url: str, prefix: str) -> None:
        import redis

        self._redis = redis.Redis.from_url(url)
        self._prefix = prefix

    def next(self, namespace: str) -> int:
        return int(self._redis.incr(f"{self._prefix}:seq:{namespace}"))

    def current(self, namespace: str) -> int:
        return int(self._redis.get(f"{self._prefix}:seq:{namespace}") or 0)

    def shared_epoch(self, proposed: str) -> str:
        key = f"{self._prefix}:epoch"
        self._redis.set(key, proposed, nx=True)
        return (self._redis.get(key) or proposed.encode()).decode()


class RealtimeHub:
    """Sequenced snapshots and events per namespace."""

    def __init__(self, socketio: SocketIO, *, redis_url: str | None = None,
                 redis_prefix: str = "station") -> None:
        self.socketio = socketio
        self.epoch = uuid.uuid4().hex
        if redis_url:
            counter = _RedisCounter(redis_url, f"{redis_prefix}:rt")
            self.epoch = counter.shared_epoch(self.epoch)
            self._counter: _LocalCounter | _RedisCounter = counter
        else:
            self._counter = _LocalCounter()
        #: namespace → function returning the namespace's (or a room's) full state
        self.snapshots: dict[str, Callable[..., dict[str, Any]]] = {}
        self._publish_lock = threading.Lock()
        #: events go through a message queue (Redis), not straight to this process's clients
        self._queued = redis_url is not None

    @staticmethod
    def _stream(namespace: str, room: str | None) -> str:
        return f"{namespace}#{room}" if room else namespace

    def publish(self, namespace: str, type_: str, data: dict[str, Any], *,
                room: str | None = None) -> int:
        """Send an event to every client of ``namespace`` (or of one ``room`` in it); returns
        its sequence number in that stream."""
        with self._publish_lock:  # seq order == emit order within this process
            seq = self._counter.next(self._stream(namespace, room))
            self.socketio.emit("event", {"epoch": self.epoch, "seq": seq, "type": type_,
                                         "data": to_jsonable(data)}, namespace=namespace, to=room)
        # The emit only queued the packet for each client's sending thread (or, with a message
        # queue, for the thread that takes it from Redis). Those threads need the GIL, which
        # this thread would otherwise keep until it blocks or its switch interval (5 ms) runs
        # out; yielding here lets the clients get the event first and the rest of the request
        # (the HTTP answer) wait. Measured: 1.5 ms off the median delivery to 50 lobby
        # displays (docs/BENCHMARKS.md). The yield is a sleep (about 75 µs on Linux, its timer
        # slack), so a stream nobody here follows is not waited for.
        if self._queued or self._has_listeners(namespace, room):
            time.sleep(0)
        return seq

    def _has_listeners(self, namespace: str, room: str | None) -> bool:
        participants = self.socketio.server.manager.get_participants(namespace, room)
        return next(iter(participants), None) is not None

    def snapshot(self, namespace: str, room: str | None = None) -> dict[str, Any]:
        # read seq first: every event up to it is already committed, hence in the state
        seq = self._counter.current(self._stream(namespace, room))
        builder = self.snapshots[namespace]
        return {"epoch": self.epoch, "seq": seq, "state": builder(room) if room else builder()}


def _lobby_allowed(auth: Any) -> bool:
    if current_user.is_authenticated:
        return True
    token = auth.get("token") if isinstance(auth, dict) else None
    device = device_from_token(token)
    return device is not None and device.kind in (ClientKind.LOBBY_DISPLAY, ClientKind.KIOSK)


def init_app(app: Flask) -> None:
    from station.services import overview, tickets

    config = app.extensions["station.config"]
    socketio = SocketIO(app, async_mode="threading", message_queue=config.redis_url,
                        channel=f"{config.redis_prefix}-socketio", cors_allowed_origins=None)
    hub = RealtimeHub(socketio, redis_url=config.redis_url, redis_prefix=config.redis_prefix)
    app.extensions["station.realtime"] = hub
    db, clock = app.extensions["station.db"], app.extensions["station.clock"]

    def _read(builder: Callable[..., dict[str, Any]]) -> Callable[[], dict[str, Any]]:
        def build() -> dict[str, Any]:
            with db.read() as s:
                return builder(s, clock)
        return build

    def _staff_state() -> dict[str, Any]:
        state = _read(overview.staff_overview)()
        devices = app.extensions.get("station.devices")  # present once the runtime started
        state["devices"] = [d.as_dict() for d in devices.statuses()] if devices else []
        return state

    hub.snapshots[STAFF] = _staff_state
    hub.snapshots[LOBBY] = _read(overview.public_overview)

    def _send_snapshot(namespace: str) -> None:
        socketio.emit("snapshot", to_jsonable(hub.snapshot(namespace)), namespace=namespace,
                      to=_sid())

    @socketio.on("connect", namespace=STAFF)
    def _staff_connect(auth: Any = None) -> bool:
        if not current_user.is_authenticated:
            return False
        _send_snapshot(STAFF)
        return True

    @socketio.on("connect", namespace=LOBBY)
    def _lobby_connect(auth: Any = None) -> bool:
        if not _lobby_allowed(auth):
            return False
        _send_snapshot(LOBBY)
        return True

    for namespace in NAMESPACES:
        socketio.on_event("resync", lambda *_a, ns=namespace: _send_snapshot(ns), namespace=namespace)

    def _progress_state(room: str) -> dict[str, Any]:
        with db.read() as s:
            ticket = tickets.for_visit(s, int(room.removeprefix("visit:")))
            return overview.progress(s, clock, ticket)

    hub.snapshots[PROGRESS] = _progress_state
    progress_rooms: dict[str, str] = {}  # sid → the room of the visit it follows

    def _send_progress(room: str) -> None:
        socketio.emit("snapshot", to_jsonable(hub.snapshot(PROGRESS, room)), namespace=PROGRESS,
                      to=_sid())

    @socketio.on("connect", namespace=PROGRESS)
    def _progress_connect(auth: Any = None) -> bool:
        token = auth.get("token") if isinstance(auth, dict) else None
        if not token:
            return False
        with db.read() as s:
            try:
                visit_id = tickets.by_token(s, str(token)).visit_id
            except NotFound:
                return False
        room = f"visit:{visit_id}"
        join_room(room)
        progress_rooms[_sid()] = room
        _send_progress(room)
        return True

    @socketio.on("resync", namespace=PROGRESS)
    def _progress_resync(*_args: Any) -> None:
        if _sid() in progress_rooms:
            _send_progress(progress_rooms[_sid()])

    @socketio.on("disconnect", namespace=PROGRESS)
    def _progress_disconnect(*_args: Any) -> None:
        progress_rooms.pop(_sid(), None)

    connect_signals(app, hub)


def _sid() -> str:
    return request.sid  # type: ignore[attr-defined]




def hub_of(app: Flask) -> RealtimeHub:
    return app.extensions["station.realtime"]
