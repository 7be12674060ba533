"""Byte-level simulator of LED window / lane displays (条屏、窗口屏) on an RS-485 bus.

- :class:`LedBusSimulator` — displays at one or several addresses: parses every frame exactly,
  keeps what each display shows, answers probes, and has fault switches.
- :class:`PtyLink` / :class:`TcpLink` — serve it on a pty (the driver opens the slave path) or on
  a TCP port (the driver opens ``socket://127.0.0.1:PORT``).
- ``ledsim://`` — an in-process pyserial URL after :func:`register_url_scheme`.

Standalone: ``python -m simulators.led --pty`` or ``python -m simulators.led --tcp 7101``.
"""

import serial

from simulators.led.model import (
    FAULTS,
    GARBAGE,
    MODE_NAMES,
    PROBE_REPLY,
    FrameParser,
    FrameRecord,
    LedBusSimulator,
    ShownText,
    SimDisplay,
    SimLink,
)
from simulators.led.transports import PtyLink, TcpLink
from simulators.led.url import (
    forget_url_simulator,
    register_url_simulator,
    simulator_for_url,
    url_simulator,
)

#: the package pyserial searches for ``protocol_ledsim`` (simulators/protocol_ledsim.py)
HANDLER_PACKAGE = "simulators"


def register_url_scheme() -> None:
    """Let ``serial.serial_for_url`` open ``ledsim://`` URLs. Idempotent."""
    if HANDLER_PACKAGE not in serial.protocol_handler_packages:
        serial.protocol_handler_packages.append(HANDLER_PACKAGE)


__all__ = [
    "FAULTS",
    "GARBAGE",
    "MODE_NAMES",
    "PROBE_REPLY",
    "FrameParser",
    "FrameRecord",
    "LedBusSimulator",
    "PtyLink",
    "ShownText",
    "SimDisplay",
    "SimLink",
    "TcpLink",
    "forget_url_simulator",
    "register_url_scheme",
    "register_url_simulator",
    "simulator_for_url",
    "url_simulator",
]
