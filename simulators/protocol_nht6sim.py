"""pyserial URL handler for ``nht6sim://``: a simulated Nanhua NHT-6 in this process.

pyserial finds this module as ``<package>.protocol_<scheme>`` for every package listed in
``serial.protocol_handler_packages``; :func:`simulators.smoke_meter.register_url_scheme` adds
``simulators`` there. The port is a byte pipe to a
:class:`~simulators.smoke_meter.meter.SmokeMeterSimulator` (see
:mod:`simulators.smoke_meter.registry` for the URL's options); the driver cannot tell it from a
serial line, except that it needs no thread and no file descriptor.
"""

from __future__ import annotations

import numbers

from serial.serialutil import PortNotOpenError, SerialBase, SerialException, to_bytes

from simulators.smoke_meter.links import InProcessLink
from simulators.smoke_meter.meter import SmokeMeterSimulator
from simulators.smoke_meter.registry import simulator_from_url


class Serial(SerialBase):
    """A port onto a simulated meter; :attr:`simulator` is that meter once open."""

    def __init__(self, *args, **kwargs) -> None:
        self.simulator: SmokeMeterSimulator | None = None
        self._link: InProcessLink | None = None
        super().__init__(*args, **kwargs)

    def open(self) -> None:
        if self._port is None:
            raise SerialException("Port must be configured before it can be used.")
        if self.is_open:
            raise SerialException("Port is already open.")
        try:
            self.simulator = simulator_from_url(self.portstr)
        except ValueError as exc:
            raise SerialException(f"could not open port {self.portstr}: {exc}") from exc
        self._link = InProcessLink(self.simulator)
        self._reconfigure_port()
        self.is_open = True

    def close(self) -> None:
        if self.is_open and self._link is not None:
            self._link.close()
        self.is_open = False

    def _reconfigure_port(self) -> None:
        # nothing to configure on a simulated line; refuse what a real port would refuse
        if not isinstance(self._baudrate, numbers.Integral) or not 0 < self._baudrate < 2**32:
            raise ValueError(f"invalid baudrate: {self._baudrate!r}")

    def _require_link(self) -> InProcessLink:
        if not self.is_open or self._link is None:
            raise PortNotOpenError()
        return self._link

    @property
    def in_waiting(self) -> int:
        return self._require_link().in_waiting

    def read(self, size: int = 1) -> bytes:
        return self._require_link().read(size, self._timeout)

    def write(self, data: bytes) -> int:
        return self._require_link().write(to_bytes(data))

    def reset_input_buffer(self) -> None:
        self._require_link().reset_input()

    def reset_output_buffer(self) -> None:
        # writes reach the simulator at once: there is never output waiting to be dropped
        self._require_link()

    def cancel_read(self) -> None:
        self._require_link().cancel_read()
