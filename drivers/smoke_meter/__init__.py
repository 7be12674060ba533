"""Opacity smoke meter (不透光烟度计) driver: Nanhua NHT-6 / NHT-1L binary protocol.

Layers, each usable on its own:

- :mod:`~drivers.smoke_meter.protocol` — framing and checksums, pure bytes;
- :mod:`~drivers.smoke_meter.transport` — one pyserial port (device path, ``socket://``,
  ``nht6sim://`` …) with exchanges serialised by a lock;
- :class:`Nht6Meter` — the :class:`SmokeMeter` interface over both;
- :class:`MeterPoller` — a background thread polling real-time data with reconnects.

The GB 3847 procedure, limits and validity live in :mod:`station.emissions`, not here.
"""

from drivers.smoke_meter.config import SmokeMeterConfig
from drivers.smoke_meter.interface import SmokeMeter
from drivers.smoke_meter.nht6 import Nht6Meter
from drivers.smoke_meter.poller import (
    ONLINE_STATES,
    STATE_TRANSITIONS,
    MeterPoller,
    MeterState,
    PollerStats,
    PollSchedule,
    StateChange,
)
from drivers.smoke_meter.protocol import COMMANDS, NAK, Command, Nht6Protocol, checksum, seal
from drivers.smoke_meter.types import (
    AlarmWord,
    ControlParam,
    ControlParams,
    EngineStroke,
    FilterMode,
    MaxValues,
    MeterStatus,
    MeterTestResult,
    Reading,
    RpmPickup,
    Variant,
)

__all__ = [
    "COMMANDS",
    "NAK",
    "ONLINE_STATES",
    "STATE_TRANSITIONS",
    "AlarmWord",
    "Command",
    "ControlParam",
    "ControlParams",
    "EngineStroke",
    "FilterMode",
    "MaxValues",
    "MeterPoller",
    "MeterState",
    "MeterStatus",
    "MeterTestResult",
    "Nht6Meter",
    "Nht6Protocol",
    "PollSchedule",
    "PollerStats",
    "Reading",
    "RpmPickup",
    "SmokeMeter",
    "SmokeMeterConfig",
    "StateChange",
    "Variant",
    "checksum",
    "seal",
]
