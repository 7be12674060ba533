"""One serial line (RS-485 bus) shared by every display wired to it.

Several displays hang on one RS-485 pair, each with its own address; only one request may be on
the wire at a time, so the :class:`Bus` owns the port and serialises request/answer exchanges
with a lock. The port is any pyserial URL: a device path for hardware, ``socket://`` for an
RS-485-to-Ethernet converter, a pty or the ``ledsim://`` scheme for the simulator.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import serial

from drivers.errors import DeviceNotFound, DeviceTimeout

#: pyserial parity letters accepted in configuration
PARITIES = {"N": serial.PARITY_NONE, "E": serial.PARITY_EVEN, "O": serial.PARITY_ODD}
#: upper bound on stray bytes read back after an answer (a babbling device must not hang us)
MAX_DRAIN_BYTES = 4096


@dataclass(frozen=True)
class SerialSettings:
    """How to open the line. Defaults are the displays' usual 9600 8N1."""

    url: str
    baudrate: int = 9600
    bytesize: int = 8
    parity: str = "N"
    stopbits: float = 1
    #: seconds to wait for an answer (probe reply, ACK)
    timeout: float = 0.3
    #: seconds a write may block (a stalled network converter)
    write_timeout: float = 2.0
    #: lock the port against other processes; None means "yes for device paths", because
    #: URL schemes (socket://, ledsim://) have nothing to lock
    exclusive: bool | None = None

    def __post_init__(self) -> None:
        if not self.url:
            raise ValueError("serial url must not be empty")
        if self.parity not in PARITIES:
            raise ValueError(f"parity must be one of {sorted(PARITIES)}, not {self.parity!r}")
        if self.bytesize not in (serial.SEVENBITS, serial.EIGHTBITS):
            raise ValueError(f"bytesize must be 7 or 8, not {self.bytesize!r}")
        if self.stopbits not in (serial.STOPBITS_ONE, serial.STOPBITS_TWO):
            raise ValueError(f"stopbits must be 1 or 2, not {self.stopbits!r}")
        if self.baudrate <= 0 or self.timeout <= 0 or self.write_timeout <= 0:
            raise ValueError("baudrate, timeout and write_timeout must be positive")

    @property
    def is_device_path(self) -> bool:
        return "://" not in self.url

    def open_kwargs(self) -> dict[str, Any]:
        exclusive = self.is_device_path if self.exclusive is None else self.exclusive
        return {
            "baudrate": self.baudrate,
            "bytesize": self.bytesize,
            "parity": PARITIES[self.parity],
            "stopbits": self.stopbits,
            "timeout": self.timeout,
            "write_timeout": self.write_timeout,
            "exclusive": exclusive,
        }


Opener = Callable[..., serial.SerialBase]


class Bus:
    """Owns one port; displays open and close it through a use count.

    ``open()`` and ``close()`` pair up per user: the port is opened by the first user and closed
    when the last one leaves. After an I/O failure (a dropped TCP converter, an unplugged USB
    adapter) the port is closed and the next exchange re-opens it, so a recovered link needs no
    restart.
    """

    def __init__(self, settings: SerialSettings, *, opener: Opener = serial.serial_for_url) -> None:
        self.settings = settings
        self._opener = opener
        self._lock = threading.RLock()
        self._port: serial.SerialBase | None = None
        self._users = 0

    @property
    def url(self) -> str:
        return self.settings.url

    @property
    def is_open(self) -> bool:
        """True while the port itself is open (False between a link failure and the next retry)."""
        with self._lock:
            return self._port is not None

    @property
    def users(self) -> int:
        with self._lock:
            return self._users

    def open(self) -> None:
        """Register a user and make sure the port is open; ``DeviceNotFound`` if it cannot be."""
        with self._lock:
            if self._port is None:
                self._port = self._open_port()
            self._users += 1

    def close(self) -> None:
        """Unregister a user; the last one closes the port."""
        with self._lock:
            if self._users == 0:
                return
            self._users -= 1
            if self._users == 0:
                self._drop_port()

    def exchange(self, frame: bytes, *, answer: int, device: str) -> bytes:
        """Send ``frame`` and read ``answer`` bytes (0: send only).

        Returns the answer followed by whatever else had already arrived, so the caller can tell
        a clean answer from junk. Raises ``DeviceTimeout`` when fewer than ``answer`` bytes come
        within the timeout, ``DeviceNotFound`` when the link is gone.
        """
        with self._lock:
            if self._users == 0:
                raise RuntimeError(f"bus {self.url} is not open; call open() first")
            if self._port is None:
                self._port = self._open_port(device)
            port = self._port
            try:
                # Bytes left over from an earlier late or garbled answer must not be taken
                # for this exchange's answer.
                port.reset_input_buffer()
                port.write(frame)
                port.flush()
                if not answer:
                    return b""
                data = port.read(answer)
                if len(data) < answer:
                    got = f"only {data.hex(' ')!r}" if data else "nothing"
                    raise DeviceTimeout(
                        f"no answer within {self.settings.timeout} s (expected {answer} byte(s), got {got})",
                        device=device,
                    )
                return data + self._drain(port)
            except serial.SerialTimeoutException as exc:
                raise DeviceTimeout(f"write timed out: {exc}", device=device) from exc
            except (serial.SerialException, OSError) as exc:
                self._drop_port()
                raise DeviceNotFound(f"link to {self.url} lost: {exc}", device=device) from exc

    def _drain(self, port: serial.SerialBase) -> bytes:
        extra = bytearray()
        while len(extra) < MAX_DRAIN_BYTES:
            waiting = port.in_waiting
            if not waiting:
                break
            chunk = port.read(waiting)
            if not chunk:
                break
            extra += chunk
        return bytes(extra)

    def _open_port(self, device: str | None = None) -> serial.SerialBase:
        try:
            return self._opener(self.url, **self.settings.open_kwargs())
        except (serial.SerialException, OSError, ValueError) as exc:
            raise DeviceNotFound(f"cannot open {self.url}: {exc}", device=device) from exc

    def _drop_port(self) -> None:
        port, self._port = self._port, None
        if port is not None:
            # The link may already be gone; there is nothing left to release then.
            with contextlib.suppress(serial.SerialException, OSError):
                port.close()

    def __repr__(self) -> str:
        state = "open" if self.is_open else "closed"
        return f"<Bus {self.url} {state} users={self.users}>"
