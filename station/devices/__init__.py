"""Hardware devices: build drivers from configuration and keep each one's lifecycle.

Lifecycle (one enum, one transition rule — Home Assistant's config-entry idea):
``loading`` → ``ready`` | ``retrying`` (offline: retried with exponential backoff) |
``failed`` (configuration the driver refuses: needs a person) ; ``disabled`` when switched off.
A ready device that fails its health check goes back to ``retrying``. Every change is sent as
the ``device_state_changed`` signal, so staff screens and the status page follow it live.

The manager knows drivers only through :class:`DeviceHandle` factories registered per kind
(``station.devices.adapters``); it never imports Flask.
"""

from __future__ import annotations

import enum
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Protocol

import sqlalchemy as sa

from drivers.errors import DeviceError
from station import signals
from station.clock import Clock
from station.db import Database
from station.errors import Conflict
from station.models import DEVICE_KIND_LABELS, DeviceKind, HardwareDevice

log = logging.getLogger(__name__)


class DeviceState(enum.StrEnum):
    LOADING = "loading"
    READY = "ready"
    RETRYING = "retrying"
    FAILED = "failed"
    DISABLED = "disabled"


STATE_LABELS: dict[DeviceState, tuple[str, str]] = {
    DeviceState.LOADING: ("连接中", "Connecting"),
    DeviceState.READY: ("正常", "Ready"),
    DeviceState.RETRYING: ("离线，重试中", "Offline, retrying"),
    DeviceState.FAILED: ("配置错误", "Configuration error"),
    DeviceState.DISABLED: ("已停用", "Disabled"),
}


class DeviceHandle(Protocol):
    """What the manager needs of a driver."""

    def open(self) -> None: ...

    def check(self) -> str | None:
        """Raise a ``DeviceError`` if the device is unusable; else an optional warning
        (e.g. "纸将尽") shown beside the ready state."""

    def close(self) -> None: ...


@dataclass(frozen=True)
class DeviceConfig:
    """A ``HardwareDevice`` row as plain values, handed to a factory."""

    id: int
    kind: DeviceKind
    name: str
    config: dict[str, Any]
    simulated: bool
    lane_station_id: int | None = None
    counter_id: int | None = None
    client_device_id: int | None = None


Factory = Callable[[DeviceConfig], DeviceHandle]


@dataclass(frozen=True)
class DeviceStatus:
    id: int
    name: str
    kind: DeviceKind
    state: DeviceState
    message: str | None
    since: datetime
    simulated: bool
    attempts: int = 0
    next_retry_at: datetime | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "kind": self.kind.value,
                "kind_label": DEVICE_KIND_LABELS[self.kind][0], "state": self.state.value,
                "state_label": STATE_LABELS[self.state][0], "message": self.message,
                "since": self.since.isoformat(), "simulated": self.simulated,
                "attempts": self.attempts,
                "next_retry_at": self.next_retry_at.isoformat() if self.next_retry_at else None}


@dataclass
class _Entry:
    config: DeviceConfig
    status: DeviceStatus
    handle: DeviceHandle | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)


class DeviceUnavailable(Conflict):
    def __init__(self, status: DeviceStatus) -> None:
        super().__init__("device_unavailable", f"设备“{status.name}”不可用：{status.message or STATE_LABELS[status.state][0]}",
                         f"Device “{status.name}” is unavailable: {status.message or STATE_LABELS[status.state][1]}",
                         device_id=status.id, state=status.state.value)


class DeviceManager:
    def __init__(self, db: Database, clock: Clock, factories: dict[DeviceKind, Factory], *,
                 backoff_initial_s: float = 2.0, backoff_max_s: float = 60.0) -> None:
        self.db, self.clock, self.factories = db, clock, factories
        self.backoff_initial_s, self.backoff_max_s = backoff_initial_s, backoff_max_s
        self._entries: dict[int, _Entry] = {}
        self._lock = threading.Lock()

    # -- lifecycle -------------------------------------------------------------------------
    def load(self) -> None:
        """Read the configured devices and bring each one up."""
        with self.db.read() as s:
            rows = list(s.scalars(sa.select(HardwareDevice).order_by(HardwareDevice.id)))
            configs = [(DeviceConfig(r.id, r.kind, r.name, dict(r.config or {}), r.simulated,
                                     r.lane_station_id, r.counter_id, r.client_device_id), r.enabled)
                       for r in rows]
        for config, enabled in configs:
            now = self.clock.now()
            state = DeviceState.LOADING if enabled else DeviceState.DISABLED
            entry = _Entry(config, DeviceStatus(config.id, config.name, config.kind, state, None,
                                                now, config.simulated))
            with self._lock:
                self._entries[config.id] = entry
            if enabled:
                self._bring_up(entry)

    def tick(self) -> None:
        """Retry devices whose backoff has passed and health-check ready ones (a scheduled job)."""
        now = self.clock.now()
        for entry in self._all():
            st = entry.status
            if st.state is DeviceState.RETRYING and st.next_retry_at and st.next_retry_at <= now:
                self._bring_up(entry)
            elif st.state is DeviceState.READY:
                self._health_check(entry)

    def stop(self) -> None:
        for entry in self._all():
            with entry.lock:
                self._close(entry)

    # -- use -------------------------------------------------------------------------------
    def statuses(self) -> list[DeviceStatus]:
        return [e.status for e in self._all()]

    def status(self, device_id: int) -> DeviceStatus | None:
        entry = self._entries.get(device_id)
        return entry.status if entry else None

    def handle(self, device_id: int) -> DeviceHandle:
        """The driver of a ready device, or ``DeviceUnavailable`` saying why not."""
        entry = self._entries.get(device_id)
        if entry is None:
            raise Conflict("device_unknown", "未配置该设备", "No such device", device_id=device_id)
        if entry.status.state is not DeviceState.READY or entry.handle is None:
            raise DeviceUnavailable(entry.status)
        return entry.handle

    def report_failure(self, device_id: int, error: DeviceError) -> None:
        """A caller's operation failed on the device: mark it offline and retry it later."""
        entry = self._entries.get(device_id)
        if entry is not None:
            with entry.lock:
                self._to_retrying(entry, error)

    # -- internals -------------------------------------------------------------------------
    def _all(self) -> list[_Entry]:
        with self._lock:
            return list(self._entries.values())

    def _bring_up(self, entry: _Entry) -> None:
        with entry.lock:
            factory = self.factories.get(entry.config.kind)
            if factory is None:
                self._set(entry, DeviceState.FAILED, f"没有{entry.config.kind.value}类设备的驱动")
                return
            try:
                if entry.handle is None:
                    entry.handle = factory(entry.config)
                entry.handle.open()
                warning = entry.handle.check()
            except DeviceError as exc:
                self._to_retrying(entry, exc)
                return
            except (KeyError, ValueError, TypeError) as exc:
                log.warning("device %s refused its configuration: %s", entry.config.name, exc)
                self._close(entry)
                self._set(entry, DeviceState.FAILED, f"配置无效：{exc}")
                return
            self._set(entry, DeviceState.READY, warning, attempts=0)

    def _health_check(self, entry: _Entry) -> None:
        with entry.lock:
            if entry.handle is None or entry.status.state is not DeviceState.READY:
                return
            try:
                warning = entry.handle.check()
            except DeviceError as exc:
                self._to_retrying(entry, exc)
                return
            if warning != entry.status.message:
                self._set(entry, DeviceState.READY, warning)

    def _to_retrying(self, entry: _Entry, error: DeviceError) -> None:
        attempts = entry.status.attempts + 1
        delay = min(self.backoff_max_s, self.backoff_initial_s * 2 ** (attempts - 1))
        self._close(entry)
        self._set(entry, DeviceState.RETRYING, str(error) or error.code, attempts=attempts,
                  next_retry_at=self.clock.now() + timedelta(seconds=delay))

    def _close(self, entry: _Entry) -> None:
        if entry.handle is not None:
            try:
                entry.handle.close()
            except DeviceError as exc:
                log.info("closing %s: %s", entry.config.name, exc)
            entry.handle = None

    def _set(self, entry: _Entry, state: DeviceState, message: str | None, **extra: Any) -> None:
        old = entry.status
        changed = state is not old.state or message != old.message
        entry.status = replace(old, state=state, message=message,
                               since=self.clock.now() if state is not old.state else old.since,
                               next_retry_at=extra.pop("next_retry_at", None), **extra)
        if changed:
            log.info("device %s: %s %s", old.name, state.value, message or "")
            signals.device_state_changed.send(self.db, **entry.status.as_dict())
