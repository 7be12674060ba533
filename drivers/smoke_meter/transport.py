"""The one port of one meter: opened through ``serial.serial_for_url``, exchanges serialised.

Only one exchange is on the wire at a time (the lock), so a poller thread and a screen action
(zero, clear max) can share the meter. Stale bytes are dropped before each request, so a late
answer to a timed-out request cannot be read as the answer to the next one of another command.
An I/O failure (unplugged USB adapter, dropped TCP converter, simulator gone) closes the port and
raises ``DeviceNotFound``; the caller re-opens when it wants to try again.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

import serial

from drivers.errors import DeviceNotFound, DeviceTimeout
from drivers.smoke_meter.protocol import PendingFn, ReadFn

try:  # a tty that vanished (unplugged adapter) fails in termios, which is not an OSError
    from termios import error as _TermiosError

    PORT_ERRORS: tuple[type[BaseException], ...] = (serial.SerialException, OSError, _TermiosError)
except ImportError:  # pragma: no cover - Windows has no termios
    PORT_ERRORS = (serial.SerialException, OSError)

T = TypeVar("T")
Opener = Callable[..., serial.SerialBase]


class SerialTransport:
    def __init__(
        self,
        url: str,
        serial_kwargs: dict[str, Any],
        *,
        device: str | None = None,
        opener: Opener = serial.serial_for_url,
    ) -> None:
        self.url = url
        self._kwargs = dict(serial_kwargs)
        self._device = device
        self._opener = opener
        self._port: serial.SerialBase | None = None
        self._lock = threading.Lock()

    @property
    def is_open(self) -> bool:
        return self._port is not None

    def open(self) -> None:
        with self._lock:
            if self._port is not None:
                return
            try:
                self._port = self._opener(self.url, **self._kwargs)
            except (*PORT_ERRORS, ValueError) as exc:
                raise DeviceNotFound(f"cannot open {self.url}: {exc}", device=self._device) from exc

    def close(self) -> None:
        with self._lock:
            self._drop()

    def exchange(self, request: bytes, reader: Callable[[ReadFn, PendingFn], T]) -> T:
        """Send ``request`` and let ``reader`` pull the answer; one exchange at a time."""
        with self._lock:
            port = self._port
            if port is None:
                raise DeviceNotFound(f"{self.url} is not open", device=self._device)
            try:
                port.reset_input_buffer()
                port.write(request)
                return reader(port.read, lambda: port.in_waiting)
            except serial.SerialTimeoutException as exc:
                raise DeviceTimeout(f"write to {self.url} timed out", device=self._device) from exc
            except PORT_ERRORS as exc:
                self._drop()
                raise DeviceNotFound(f"lost {self.url}: {exc}", device=self._device) from exc

    def _drop(self) -> None:
        port, self._port = self._port, None
        if port is not None:
            try:
                port.close()
            except PORT_ERRORS:
                # the port is already gone (unplugged, peer closed): nothing left to release
                return
