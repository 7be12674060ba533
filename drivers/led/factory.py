"""Build displays from plain configuration dicts (as stored in the station's device settings).

Example::

    {"protocol": "rs485_frame", "url": "/dev/ttyUSB0", "address": 1,
     "baudrate": 9600, "timeout": 0.3, "ack": false}

Displays whose configuration names the same ``url`` share one :class:`~drivers.led.bus.Bus`
(they are on the same RS-485 pair), so build every display of a station through one
:class:`BusPool` — :func:`create_displays` does that.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

import serial

from drivers.led.bus import Bus, Opener, SerialSettings
from drivers.led.display import Colour, Display, Effect
from drivers.led.rs485_frame import (
    VENDOR_COLOURS,
    VENDOR_MODES,
    Rs485FrameDisplay,
    Rs485FrameOptions,
)

PROTOCOLS = ("rs485_frame",)
_BUS_KEYS = frozenset(field.name for field in dataclasses.fields(SerialSettings))
_RS485_KEYS = frozenset(field.name for field in dataclasses.fields(Rs485FrameOptions))
E = TypeVar("E", Effect, Colour)


class BusPool:
    """One :class:`Bus` per URL; asking twice for a URL with different line settings is an error."""

    def __init__(self, *, opener: Opener = serial.serial_for_url) -> None:
        self._opener = opener
        self._buses: dict[str, Bus] = {}
        self._lock = threading.Lock()

    def get(self, settings: SerialSettings) -> Bus:
        with self._lock:
            bus = self._buses.get(settings.url)
            if bus is None:
                bus = self._buses[settings.url] = Bus(settings, opener=self._opener)
            elif bus.settings != settings:
                raise ValueError(
                    f"displays on {settings.url} disagree on the line settings: "
                    f"{bus.settings} vs {settings}"
                )
            return bus

    @property
    def buses(self) -> list[Bus]:
        with self._lock:
            return list(self._buses.values())


def create_display(config: Mapping[str, Any], *, buses: BusPool | None = None) -> Display:
    """Build one (unopened) display from ``config``; unknown keys are refused to catch typos."""
    return _build(config, buses if buses is not None else BusPool())


def create_displays(
    configs: Iterable[Mapping[str, Any]], *, buses: BusPool | None = None
) -> list[Display]:
    """Build several displays sharing buses by URL; two displays at one address on one bus is an error."""
    pool = buses if buses is not None else BusPool()
    displays: list[Display] = []
    seen: set[tuple[str, int]] = set()
    for config in configs:
        display = _build(config, pool)
        place = (display.bus.url, display.address)
        if place in seen:
            raise ValueError(f"two displays at address {display.address} on {display.bus.url}")
        seen.add(place)
        displays.append(display)
    return displays


def _build(config: Mapping[str, Any], pool: BusPool) -> Rs485FrameDisplay:
    config = dict(config)
    protocol = config.pop("protocol", None)
    if protocol not in PROTOCOLS:
        raise ValueError(f"protocol must be one of {PROTOCOLS}, not {protocol!r}")
    unknown = set(config) - _BUS_KEYS - _RS485_KEYS
    if unknown:
        raise ValueError(f"unknown LED display setting(s): {', '.join(sorted(unknown))}")
    if "url" not in config or "address" not in config:
        raise ValueError("an LED display needs at least 'url' and 'address'")
    settings = SerialSettings(**{key: config[key] for key in _BUS_KEYS if key in config})
    options = {key: config[key] for key in _RS485_KEYS if key in config}
    if "ack_byte" in options:
        options["ack_byte"] = _byte(options["ack_byte"], "ack_byte")
    if "modes" in options:
        options["modes"] = _table(options["modes"], Effect, VENDOR_MODES, "modes")
    if "colours" in options:
        options["colours"] = _table(options["colours"], Colour, VENDOR_COLOURS, "colours")
    return Rs485FrameDisplay(pool.get(settings), Rs485FrameOptions(**options))


def _byte(value: Any, what: str) -> int:
    number = int(value, 0) if isinstance(value, str) else int(value)
    if not 0 <= number <= 0xFF:
        raise ValueError(f"{what} must be a byte, not {value!r}")
    return number


def _table(
    overrides: Mapping[str, Any], enum_type: type[E], defaults: Mapping[E, int], what: str
) -> dict[E, int]:
    """Vendor table with entries replaced by ``overrides`` ({"flash": 12, ...})."""
    table = dict(defaults)
    for name, code in overrides.items():
        try:
            member = enum_type(name)
        except ValueError:
            known = ", ".join(member.value for member in enum_type)
            raise ValueError(f"{what}: unknown name {name!r}; known: {known}") from None
        table[member] = _byte(code, f"{what}[{name}]")
    return table
