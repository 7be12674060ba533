"""Call outputs: each call to a counter is shown on that window's LED display (窗口屏).

Runs in the runtime process beside the devices, on its own thread, so a slow or absent display
never delays the counter's request. A display that fails goes to ``retrying`` in the device
manager; when it comes back, it is sent the current number of its window again.
"""

from __future__ import annotations

import logging
import queue as queues
import threading
from typing import Any

import sqlalchemy as sa

from drivers.errors import DeviceError
from station import signals
from station.db import Database
from station.devices import DeviceManager, DeviceState, DeviceUnavailable
from station.models import DeviceKind, HardwareDevice

log = logging.getLogger(__name__)


def led_text(label: str, counter_number: int) -> str:
    """What a window's LED display shows for a call (short: the displays are narrow)."""
    return f"{label}号 请到{counter_number}号窗口"


class CallOutputs:
    def __init__(self, db: Database, devices: DeviceManager) -> None:
        self.db, self.devices = db, devices
        self._jobs: queues.Queue[tuple[int, str] | None] = queues.Queue()
        self._shown: dict[int, str] = {}  # counter id → the text its display should show
        self._thread = threading.Thread(target=self._run, name="call-outputs", daemon=True)

    def start(self) -> CallOutputs:
        signals.ticket_called.connect(self._on_call, sender=self.db)
        signals.device_state_changed.connect(self._on_device, sender=self.db)
        self._thread.start()
        return self

    def stop(self) -> None:
        signals.ticket_called.disconnect(self._on_call, sender=self.db)
        signals.device_state_changed.disconnect(self._on_device, sender=self.db)
        self._jobs.put(None)
        self._thread.join(timeout=10)

    def _on_call(self, _sender: Any, **call: Any) -> None:
        text = led_text(call["label"], call["counter_number"])
        self._shown[call["counter_id"]] = text
        self._jobs.put((call["counter_id"], text))

    def _on_device(self, _sender: Any, **device: Any) -> None:
        """A display that comes back shows its window's current number again."""
        if device["kind"] == DeviceKind.LED_DISPLAY.value and device["state"] == DeviceState.READY.value:
            counter_id = self._counter_of(device["id"])
            if counter_id in self._shown:
                self._jobs.put((counter_id, self._shown[counter_id]))

    def _counter_of(self, device_id: int) -> int | None:
        with self.db.read() as s:
            return s.scalar(sa.select(HardwareDevice.counter_id).where(HardwareDevice.id == device_id))

    def _displays(self, counter_id: int) -> list[int]:
        with self.db.read() as s:
            return list(s.scalars(sa.select(HardwareDevice.id).where(
                HardwareDevice.counter_id == counter_id, HardwareDevice.enabled.is_(True),
                HardwareDevice.kind == DeviceKind.LED_DISPLAY)))

    def _run(self) -> None:
        while (job := self._jobs.get()) is not None:
            counter_id, text = job
            for device_id in self._displays(counter_id):
                try:
                    self.devices.handle(device_id).display.show(text)  # type: ignore[attr-defined]
                except DeviceUnavailable as exc:
                    log.info("call not shown on display %s: %s", device_id, exc.message_en)
                except DeviceError as exc:
                    self.devices.report_failure(device_id, exc)

    def drain(self, timeout: float = 10.0) -> None:
        """Wait until every queued call has been sent (tests)."""
        done = threading.Event()
        self._jobs.put((-1, ""))  # a marker job for a counter with no displays
        deadline = threading.Timer(timeout, done.set)
        deadline.start()
        while not self._jobs.empty() and not done.is_set():
            done.wait(0.02)
        deadline.cancel()
