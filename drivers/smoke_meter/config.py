"""Configuration of one smoke meter: port, framing variant, timeouts, poll rate, backoff.

Every number lives here once, with its default; a device row's JSON config
(``station.models.device.HardwareDevice.config``) or environment strings are read through
:meth:`SmokeMeterConfig.from_mapping`, which converts strings and refuses unknown keys.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

import serial

from drivers.smoke_meter.types import Variant

#: pyserial parity letters accepted in configuration
PARITIES = {"N": serial.PARITY_NONE, "E": serial.PARITY_EVEN, "O": serial.PARITY_ODD}
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


@dataclass(frozen=True)
class SmokeMeterConfig:
    """One meter. Defaults are the Nanhua NHT-6 on a local serial port (9600 8N1)."""

    #: pyserial URL: a device path, ``socket://host:port``, ``rfc2217://…`` or ``nht6sim://…``
    url: str = "/dev/ttyUSB0"
    #: name used in errors and logs
    name: str = "smoke_meter"
    variant: Variant = Variant.NHT6
    baudrate: int = 9600
    bytesize: int = 8
    parity: str = "N"
    stopbits: int = 1
    #: seconds to wait for the first byte of an answer (vendor: ~100 ms)
    reply_timeout_s: float = 0.1
    #: seconds allowed between bytes of one answer (vendor: ~20 ms)
    inter_byte_timeout_s: float = 0.02
    #: seconds a write may block (a stalled network converter)
    write_timeout_s: float = 0.1
    #: lock the port against other processes; None = yes for device paths, no for URL schemes
    exclusive: bool | None = None
    #: real-time polls (A5) per second
    poll_hz: float = 10.0
    #: seconds between status queries while polling
    status_interval_s: float = 1.0
    #: consecutive timeouts after which the poller reports the meter offline
    offline_after_failures: int = 3
    #: consecutive protocol errors / refusals after which the poller reports a fault
    fault_after_errors: int = 3
    #: first wait before reconnecting (s); doubles by ``backoff_factor`` up to ``backoff_max_s``
    backoff_initial_s: float = 0.5
    backoff_factor: float = 2.0
    backoff_max_s: float = 10.0

    def __post_init__(self) -> None:
        if not self.url:
            raise ValueError("smoke meter url must not be empty")
        object.__setattr__(self, "variant", Variant(self.variant))
        if self.parity not in PARITIES:
            raise ValueError(f"parity must be one of {sorted(PARITIES)}, not {self.parity!r}")
        positive = (
            "baudrate",
            "reply_timeout_s",
            "write_timeout_s",
            "poll_hz",
            "status_interval_s",
            "backoff_initial_s",
            "backoff_max_s",
            "offline_after_failures",
            "fault_after_errors",
        )
        for name in positive:
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive, not {getattr(self, name)!r}")
        if self.inter_byte_timeout_s < 0 or self.backoff_factor < 1:
            raise ValueError("inter_byte_timeout_s must be ≥ 0 and backoff_factor ≥ 1")

    @property
    def is_device_path(self) -> bool:
        return "://" not in self.url

    @property
    def poll_period_s(self) -> float:
        return 1.0 / self.poll_hz

    def serial_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``serial.serial_for_url``."""
        exclusive = self.is_device_path if self.exclusive is None else self.exclusive
        return {
            "baudrate": self.baudrate,
            "bytesize": self.bytesize,
            "parity": PARITIES[self.parity],
            "stopbits": self.stopbits,
            "timeout": self.reply_timeout_s,
            "inter_byte_timeout": self.inter_byte_timeout_s or None,
            "write_timeout": self.write_timeout_s,
            "exclusive": exclusive,
        }

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> SmokeMeterConfig:
        """Configuration from a mapping of typed values or strings; unknown keys fail."""
        known = {f.name: f for f in fields(cls)}
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise ValueError(f"unknown smoke meter settings: {', '.join(unknown)}")
        defaults = cls()
        converted = {
            name: _convert(name, value, getattr(defaults, name)) for name, value in values.items()
        }
        return replace(defaults, **converted)


def _convert(name: str, value: Any, default: Any) -> Any:
    if not isinstance(value, str):
        return value
    text = value.strip()
    if name == "exclusive":
        if text.lower() in ("", "auto", "none"):
            return None
        return _convert_bool(name, text)
    if isinstance(default, bool):
        return _convert_bool(name, text)
    if isinstance(default, Variant):
        return Variant(text.lower())
    if isinstance(default, int):
        return int(text)
    if isinstance(default, float):
        return float(text)
    return text


def _convert_bool(name: str, text: str) -> bool:
    if text.lower() in _TRUE:
        return True
    if text.lower() in _FALSE:
        return False
    raise ValueError(f"{name} must be a yes/no value, not {text!r}")
