"""python-escpos connection objects built from :class:`PrinterConfig`, and the back channel
that carries ``DLE EOT`` status replies for each kind of connection.

python-escpos's own ``query_status()`` reads with the connection's long I/O timeout and never
discards stale bytes, so a late reply to one query would be taken as the answer to the next.
The status links here drain the input first and wait at most ``status_timeout`` per reply.
"""

from __future__ import annotations

import contextlib
import errno
import socket
import time
from typing import Protocol

import serial
from escpos.escpos import Escpos
from escpos.exceptions import DeviceNotFoundError
from escpos.printer import Dummy, File, Network, Serial, Usb

from drivers.errors import DeviceNotFound
from drivers.printer.config import PrinterConfig


class UrlSerial(Serial):
    """escpos ``Serial`` opened through ``serial.serial_for_url``.

    So a printer on ``/dev/ttyUSB0``, ``socket://127.0.0.1:9100`` or ``rfc2217://…`` is the
    same code path, and hardware ports are opened with ``exclusive=True``.
    """

    def __init__(self, devfile: str, *, rtscts: bool = False, **kwargs) -> None:
        super().__init__(devfile, **kwargs)
        self.rtscts = rtscts

    def open(self, raise_not_found: bool = True) -> None:
        if self._device:
            self.close()
        is_url = "://" in self.devfile
        try:
            self.device = serial.serial_for_url(
                self.devfile,
                baudrate=self.baudrate,
                bytesize=self.bytesize,
                parity=self.parity,
                stopbits=self.stopbits,
                timeout=self.timeout,
                write_timeout=self.timeout,
                xonxoff=self.xonxoff,
                dsrdtr=self.dsrdtr,
                rtscts=self.rtscts,
                exclusive=None if is_url else True,
            )
        except (ValueError, serial.SerialException) as exc:
            self.device = None
            if raise_not_found:
                raise DeviceNotFoundError(f"cannot open serial port {self.devfile}: {exc}") from exc


class TcpNetwork(Network):
    """escpos ``Network`` that closes its socket when connecting fails.

    escpos's own ``open()`` drops the failed socket without closing it; a station that retries
    a dead printer every few seconds would leak one descriptor per attempt until collected.
    """

    def open(self, raise_not_found: bool = True) -> None:
        if self._device:
            self.close()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.settimeout(self.timeout)
            sock.connect((self.host, self.port))
        except OSError as exc:
            sock.close()
            self.device = None
            if raise_not_found:
                raise DeviceNotFoundError(f"cannot connect to {self.host}:{self.port}: {exc}") from exc
            return
        self.device = sock


def build_connection(config: PrinterConfig) -> Escpos:
    """An unopened python-escpos connection object for ``config.connection``."""
    kind = config.connection
    if kind == "network":
        return TcpNetwork(config.host, port=config.port, timeout=config.timeout, profile=config.profile)
    if kind == "serial":
        flow = config.flow_control
        return UrlSerial(
            config.device,
            baudrate=config.baudrate,
            timeout=config.timeout,
            dsrdtr=flow == "dsrdtr",
            rtscts=flow == "rtscts",
            xonxoff=flow == "xonxoff",
            profile=config.profile,
        )
    if kind == "usb":
        if not Usb.is_usable():
            # without pyusb, escpos's Usb would also fail in close() when garbage-collected
            raise DeviceNotFound("USB printing needs pyusb, which is not installed", device=config.name)
        return Usb(
            config.vendor_id,
            config.product_id,
            timeout=int(config.timeout * 1000),  # pyusb counts milliseconds
            in_ep=config.usb_in_ep,
            out_ep=config.usb_out_ep,
            profile=config.profile,
        )
    if kind == "file":
        return File(config.device, profile=config.profile)
    if kind == "dummy":
        return Dummy(profile=config.profile)
    raise ValueError(f"unknown printer connection {kind!r}")


class ConnectionLost(Exception):
    """The link closed or reset under us (peer gone, cable pulled, power cut)."""


class StatusLink(Protocol):
    """Sends one ``DLE EOT n`` and returns the one-byte reply, or ``None`` on timeout."""

    def query(self, request: bytes, timeout: float) -> int | None: ...


class SocketStatusLink:
    """Status over the TCP socket of an escpos ``Network`` connection."""

    def __init__(self, printer: Network) -> None:
        self._printer = printer

    def query(self, request: bytes, timeout: float) -> int | None:
        sock: socket.socket = self._printer.device
        previous = sock.gettimeout()
        try:
            self._drain(sock)
            sock.settimeout(timeout)
            sock.sendall(request)
            reply = sock.recv(1)
        except TimeoutError:
            return None
        except OSError as exc:
            raise ConnectionLost(str(exc)) from exc
        finally:
            with contextlib.suppress(OSError):  # already closed: the caller sees ConnectionLost
                sock.settimeout(previous)
        if not reply:
            raise ConnectionLost("printer closed the connection")
        return reply[0]

    @staticmethod
    def _drain(sock: socket.socket) -> None:
        """Drop bytes that arrived unasked (a late reply, automatic status back)."""
        sock.setblocking(False)
        with contextlib.suppress(BlockingIOError):  # nothing (more) waiting: drained
            while True:
                chunk = sock.recv(256)
                if not chunk:
                    raise ConnectionLost("printer closed the connection")


class SerialStatusLink:
    """Status over a pyserial port (``UrlSerial``)."""

    def __init__(self, printer: Serial) -> None:
        self._printer = printer

    def query(self, request: bytes, timeout: float) -> int | None:
        port = self._printer.device
        previous = port.timeout
        try:
            port.reset_input_buffer()
            port.timeout = timeout
            port.write(request)
            reply = port.read(1)
        except serial.SerialTimeoutException:
            return None  # flow control held by a printer that is not taking data
        except (serial.SerialException, OSError) as exc:
            raise ConnectionLost(str(exc)) from exc
        finally:
            port.timeout = previous
        return reply[0] if reply else None


class UsbStatusLink:
    """Status over the bulk-in endpoint of an escpos ``Usb`` connection (pyusb)."""

    #: how long a drain read waits for stale bytes before deciding the endpoint is empty
    drain_timeout_ms = 1

    def __init__(self, printer: Usb) -> None:
        self._printer = printer

    def query(self, request: bytes, timeout: float) -> int | None:
        device = self._printer.device
        in_ep = self._printer.in_ep
        self._drain(device, in_ep)
        deadline = time.monotonic() + timeout
        try:
            self._printer._raw(request)
        except Exception as exc:  # pyusb raises USBError, a plain Exception subclass
            raise ConnectionLost(str(exc)) from exc
        while True:
            remaining_ms = int((deadline - time.monotonic()) * 1000)
            if remaining_ms <= 0:
                return None
            try:
                reply = bytes(device.read(in_ep, 16, remaining_ms))
            except Exception as exc:
                if is_timeout(exc):
                    return None
                raise ConnectionLost(str(exc)) from exc
            if reply:
                return reply[0]

    def _drain(self, device, in_ep: int) -> None:
        while True:
            try:
                if not device.read(in_ep, 16, self.drain_timeout_ms):
                    return
            except Exception as exc:
                if is_timeout(exc):
                    return
                raise ConnectionLost(str(exc)) from exc


def is_timeout(exc: BaseException) -> bool:
    """True for a write/read timeout of any link: socket, pyserial or pyusb.

    pyusb's ``USBTimeoutError`` carries errno ETIMEDOUT; checking the errno avoids importing
    pyusb (an optional dependency) just for the class.
    """
    return (
        isinstance(exc, TimeoutError | serial.SerialTimeoutException)
        or getattr(exc, "errno", None) == errno.ETIMEDOUT
    )


def status_link_for(printer: Escpos) -> StatusLink | None:
    """The status back channel of ``printer``, or ``None`` when it cannot answer (Dummy, File)."""
    if isinstance(printer, Network):
        return SocketStatusLink(printer)
    if isinstance(printer, Serial):
        return SerialStatusLink(printer)
    if isinstance(printer, Usb):
        return UsbStatusLink(printer)
    return None
