"""pyserial URL handler for ``ledsim://`` (see :mod:`simulators.led.url`).

pyserial finds this module as ``<package>.protocol_ledsim`` once "simulators" is in
``serial.protocol_handler_packages``; :func:`simulators.led.register_url_scheme` puts it there.
Writes go straight into the simulator (synchronously, so answers are waiting before ``write``
returns); reads honour the port timeout like a real port.
"""

from __future__ import annotations

import threading
import time

from serial.serialutil import PortNotOpenError, SerialBase, SerialException

from simulators.led.model import LedBusSimulator, SimLink
from simulators.led.url import simulator_for_url


class Serial(SerialBase):
    """A serial port whose far end is a simulated bus of LED displays."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        self._rx = bytearray()
        self._rx_ready = threading.Condition()
        self._link: SimLink | None = None
        self._cancelled = False
        self.simulator: LedBusSimulator | None = None
        super().__init__(*args, **kwargs)

    def open(self) -> None:
        if self._port is None:
            raise SerialException("Port must be configured before it can be used.")
        if self.is_open:
            raise SerialException("Port is already open.")
        try:
            self.simulator = simulator_for_url(self._port)
        except (ValueError, KeyError) as exc:
            raise SerialException(f"could not open {self._port!r}: {exc}") from exc
        self._link = self.simulator.connect()
        with self._rx_ready:
            self._rx.clear()
        self.is_open = True

    def close(self) -> None:
        with self._rx_ready:
            self.is_open = False
            self._link = None
            self._rx_ready.notify_all()

    def _reconfigure_port(self) -> None:
        """Line settings mean nothing in process."""

    @property
    def in_waiting(self) -> int:
        self._require_open()
        with self._rx_ready:
            return len(self._rx)

    def read(self, size: int = 1) -> bytes:
        self._require_open()
        deadline = None if self._timeout is None else time.monotonic() + self._timeout
        with self._rx_ready:
            while len(self._rx) < size and self.is_open and not self._cancelled:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    break
                self._rx_ready.wait(remaining)
            # Like loop://, a cancel_read() ends the current read or, if none runs, the next one.
            self._cancelled = False
            data = bytes(self._rx[:size])
            del self._rx[:size]
            return data

    def write(self, data: bytes) -> int:
        self._require_open()
        link = self._link
        if link is None:
            raise PortNotOpenError()
        payload = bytes(data)
        answer = link.feed(payload)
        if answer:
            with self._rx_ready:
                self._rx += answer
                self._rx_ready.notify_all()
        return len(payload)

    def flush(self) -> None:
        """Writes are delivered synchronously; nothing is ever pending."""
        self._require_open()

    def cancel_read(self) -> None:
        with self._rx_ready:
            self._cancelled = True
            self._rx_ready.notify_all()

    def reset_input_buffer(self) -> None:
        self._require_open()
        with self._rx_ready:
            self._rx.clear()

    def reset_output_buffer(self) -> None:
        self._require_open()

    @property
    def out_waiting(self) -> int:
        self._require_open()
        return 0

    def _update_break_state(self) -> None:
        """No line to break."""

    def _update_rts_state(self) -> None:
        """No modem lines."""

    def _update_dtr_state(self) -> None:
        """No modem lines."""

    @property
    def cts(self) -> bool:
        return True

    @property
    def dsr(self) -> bool:
        return True

    @property
    def ri(self) -> bool:
        return False

    @property
    def cd(self) -> bool:
        return True

    def _require_open(self) -> None:
        if not self.is_open:
            raise PortNotOpenError()
