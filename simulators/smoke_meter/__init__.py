"""Byte-level simulator of the Nanhua NHT-6 / NHT-1L opacity smoke meter (不透光烟度计).

Reach it the way the real meter is reached, so the real driver runs unchanged:

- a pty: ``with PtyServer(sim) as pty: Nht6Meter(SmokeMeterConfig(url=pty.path))``;
- TCP: ``with TcpServer(sim) as server: … url=server.url`` (``socket://127.0.0.1:PORT``);
- in process: ``url="nht6sim://?profile=clean&faults=timeout&warmup_s=0"``.

Importing this package registers the ``nht6sim://`` scheme with pyserial
(:func:`register_url_scheme`). Standalone: ``python -m simulators.smoke_meter --pty``.
"""

import serial

from simulators.smoke_meter.clock import ScaledClock, SimClock, SteppedClock
from simulators.smoke_meter.links import InProcessLink, PtyServer, RequestFramer, TcpServer
from simulators.smoke_meter.meter import (
    DEFAULT_WARMUP_S,
    Faults,
    MeterStatusCode,
    NakCode,
    Outgoing,
    SmokeMeterSimulator,
)
from simulators.smoke_meter.registry import (
    URL_SCHEME,
    SimulatorRegistry,
    registry,
    simulator_from_url,
)
from simulators.smoke_meter.vehicle import PROFILES, Acceleration, EngineModel, VehicleProfile

#: the package pyserial searches for ``protocol_nht6sim``
HANDLER_PACKAGE = "simulators"


def register_url_scheme() -> None:
    """Make ``serial.serial_for_url("nht6sim://…")`` work; idempotent."""
    if HANDLER_PACKAGE not in serial.protocol_handler_packages:
        serial.protocol_handler_packages.append(HANDLER_PACKAGE)


register_url_scheme()

__all__ = [
    "DEFAULT_WARMUP_S",
    "PROFILES",
    "URL_SCHEME",
    "Acceleration",
    "EngineModel",
    "Faults",
    "InProcessLink",
    "MeterStatusCode",
    "NakCode",
    "Outgoing",
    "PtyServer",
    "RequestFramer",
    "ScaledClock",
    "SimClock",
    "SimulatorRegistry",
    "SmokeMeterSimulator",
    "SteppedClock",
    "TcpServer",
    "VehicleProfile",
    "register_url_scheme",
    "registry",
    "simulator_from_url",
]
