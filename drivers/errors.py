"""Typed device errors shared by every driver.

The device manager in ``station.devices`` maps these onto a device's lifecycle state
(retrying after ``DeviceTimeout``/``DeviceNotFound``, error shown on the status page for
``DeviceReportedError`` …) without knowing which driver raised them.
"""

from __future__ import annotations


class DeviceError(Exception):
    """Base class of every error a driver raises."""

    #: short machine-readable code, stable across releases (used by screens and logs)
    code = "device_error"

    def __init__(self, message: str, *, device: str | None = None) -> None:
        super().__init__(message)
        self.device = device

    def __str__(self) -> str:
        base = super().__str__()
        return f"{self.device}: {base}" if self.device else base


class DeviceNotFound(DeviceError):
    """The port, host or device does not exist or cannot be opened."""

    code = "not_found"


class DeviceTimeout(DeviceError):
    """The device did not answer (in full) within the allowed time."""

    code = "timeout"


class ProtocolError(DeviceError):
    """The device answered with bytes that break the protocol (bad checksum, wrong length …)."""

    code = "protocol"


class DeviceReportedError(DeviceError):
    """The device answered correctly but reports a fault (NAK code, paper out, cover open …)."""

    code = "device_reported"

    def __init__(self, message: str, *, device: str | None = None, device_code: int | str | None = None) -> None:
        super().__init__(message, device=device)
        self.device_code = device_code
