"""What runs beside the web server: devices (and their simulators in demo mode) and the
scheduler. Only ``station serve`` and ``station demo`` call :func:`start`.

Exactly one process per station runs them. The guard is a lock held for the life of the
process — a PostgreSQL advisory lock when the database is PostgreSQL (several hosts may
serve one station), else an exclusive file lock in ``instance/``. A second ``station serve``
(or Werkzeug's reloader parent) serves HTTP but starts no scheduler and opens no device.
"""

from __future__ import annotations

import fcntl
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa
from apscheduler.schedulers.background import BackgroundScheduler
from flask import Flask

from station.cameras import CameraService, device_cameras, track_presence
from station.db import Database
from station.devices import DeviceManager
from station.devices.adapters import default_factories
from station.jobs import BackupPlan, build_scheduler, station_jobs
from station.outputs import CallOutputs
from station.printing import PrintWorker
from station.services import evidence, notify

log = logging.getLogger(__name__)

ADVISORY_LOCK_KEY = 0x5354_4154  # "STAT"


class RuntimeLock:
    """The one-process-per-station lock."""

    def __init__(self, db: Database, instance_path: Path) -> None:
        self.db = db
        self.path = instance_path / "runtime.lock"
        self._fd: int | None = None
        self._conn: sa.Connection | None = None

    @classmethod
    def of(cls, app: Flask) -> RuntimeLock:
        return cls(app.extensions["station.db"], app.extensions["station.config"].instance_path)

    def acquire(self) -> bool:
        if self.db.dialect == "postgresql":
            conn = self.db.engine.connect()
            got = conn.execute(sa.text("SELECT pg_try_advisory_lock(:k)"),
                               {"k": ADVISORY_LOCK_KEY}).scalar()
            conn.commit()
            if got:
                self._conn = conn
            else:
                conn.close()
            return bool(got)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd
        return True

    def release(self) -> None:
        if self._conn is not None:
            self._conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": ADVISORY_LOCK_KEY})
            self._conn.close()
            self._conn = None
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


@dataclass
class Runtime:
    app: Flask
    lock: RuntimeLock
    devices: DeviceManager | None = None
    scheduler: BackgroundScheduler | None = None
    printer: PrintWorker | None = None
    outputs: CallOutputs | None = None
    cameras: CameraService | None = None
    #: stop callbacks of what the runtime started besides devices (simulators in demo mode)
    on_stop: list[Callable[[], None]] = field(default_factory=list)

    @property
    def active(self) -> bool:
        return self.scheduler is not None

    def stop(self) -> None:
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=False)
            self.scheduler = None
        for worker in (self.printer, self.outputs, self.cameras):  # before the devices they use
            if worker is not None:
                worker.stop()
        self.printer = self.outputs = self.cameras = None
        # live smoke-meter sessions (daily checks, free-acceleration tests) hold meters
        sessions = self.app.extensions.pop("station.smoke_sessions", None)
        if sessions is not None:
            sessions.stop()
        if self.devices is not None:
            self.devices.stop()
        for stop in reversed(self.on_stop):
            stop()
        self.on_stop.clear()
        self.lock.release()


def _reloader_parent() -> bool:
    """Werkzeug's reloader runs the app in a child with WERKZEUG_RUN_MAIN=true; the parent
    only watches files and must not start anything."""
    return os.environ.get("WERKZEUG_RUN_MAIN") is None and os.environ.get("STATION_RELOADER") == "1"


def start(app: Flask) -> Runtime:
    """Start devices and the scheduler if this process wins the lock."""
    lock = RuntimeLock.of(app)
    runtime = Runtime(app, lock)
    app.extensions["station.runtime"] = runtime
    if _reloader_parent() or not lock.acquire():
        log.warning("another process runs this station's devices and scheduler; serving HTTP only")
        return runtime
    db, clock = app.extensions["station.db"], app.extensions["station.clock"]
    config = app.extensions["station.config"]
    runtime.devices = DeviceManager(db, clock, default_factories(simulate=config.simulate_devices,
                                                                 on_stop=runtime.on_stop))
    app.extensions["station.devices"] = runtime.devices
    runtime.devices.load()
    notifier: notify.Notifier = (
        notify.SmsGatewayNotifier(config.sms_gateway_url, config.sms_gateway_token)
        if config.sms_gateway_url else notify.OutboxOnlyNotifier())
    store = evidence.EvidenceStore.under(config.instance_path, config.archive_path)
    backups = BackupPlan(config.database_url, config.backup_path, config.backup_keep)
    runtime.scheduler = build_scheduler(
        station_jobs(db, clock, runtime.devices, notifier, store, backups), clock)
    runtime.scheduler.start()
    runtime.printer = PrintWorker(db, clock, runtime.devices, config.public_url).start()
    runtime.outputs = CallOutputs(db, runtime.devices).start()
    runtime.cameras = CameraService(db, clock, store, device_cameras(db, runtime.devices),
                                    on_presence=track_presence(db, clock)).start()
    app.extensions["station.cameras"] = runtime.cameras
    log.info("runtime started: %d devices, %d jobs", len(runtime.devices.statuses()),
             len(runtime.scheduler.get_jobs()))
    return runtime
