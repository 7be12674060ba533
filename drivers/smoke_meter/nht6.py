"""The Nanhua NHT-6 / NHT-1L opacity meter: :class:`SmokeMeter` over framing over a port."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from functools import partial
from typing import Any

import serial

from drivers.smoke_meter.config import SmokeMeterConfig
from drivers.smoke_meter.interface import SmokeMeter
from drivers.smoke_meter.protocol import Command, Nht6Protocol
from drivers.smoke_meter.transport import Opener, SerialTransport
from drivers.smoke_meter.types import (
    AlarmWord,
    ControlParam,
    ControlParams,
    MaxValues,
    MeterStatus,
    MeterTestResult,
    Reading,
)


def _utc_now() -> datetime:
    return datetime.now(UTC)


class Nht6Meter(SmokeMeter):
    """A Nanhua meter on one port. ``clock`` stamps readings (inject one for fast tests)."""

    def __init__(
        self,
        config: SmokeMeterConfig,
        *,
        clock: Callable[[], datetime] = _utc_now,
        opener: Opener = serial.serial_for_url,
    ) -> None:
        self.config = config
        self.protocol = Nht6Protocol(config.variant, device=config.name)
        self.transport = SerialTransport(
            config.url, config.serial_kwargs(), device=config.name, opener=opener
        )
        self._clock = clock

    @classmethod
    def from_config(cls, values: Mapping[str, Any], **kwargs: Any) -> Nht6Meter:
        """A meter from a device row's JSON configuration (see :class:`SmokeMeterConfig`)."""
        return cls(SmokeMeterConfig.from_mapping(values), **kwargs)

    def __repr__(self) -> str:
        return f"<Nht6Meter {self.config.name} {self.config.variant.value} {self.config.url}>"

    # -- port -------------------------------------------------------------------------------

    def open(self) -> None:
        self.transport.open()

    def close(self) -> None:
        self.transport.close()

    @property
    def is_open(self) -> bool:
        return self.transport.is_open

    def _call(self, command: Command, params: bytes = b"") -> bytes:
        request = self.protocol.request(command, params)
        return self.transport.exchange(request, partial(self.protocol.read_reply, command))

    # -- commands ---------------------------------------------------------------------------

    def status(self) -> MeterStatus:
        return self.protocol.decode_status(self._call(self.protocol.status_command))

    def read_realtime(self) -> Reading:
        frame = self._call(Command.REALTIME)
        n_pct, k_m1, rpm, oil = self.protocol.decode_realtime(frame)
        return Reading(n_pct=n_pct, k_m1=k_m1, rpm=rpm, oil_temp_c=oil, at=self._clock())

    def read_max(self) -> MaxValues:
        return self.protocol.decode_max(self._call(Command.READ_MAX))

    def clear_max(self) -> None:
        self._call(Command.CLEAR_MAX)

    def zero(self) -> None:
        self._call(Command.ZERO)

    def stop_warmup(self) -> None:
        self._call(Command.STOP_WARMUP)

    def alarms(self) -> AlarmWord:
        return self.protocol.decode_alarms(self._call(Command.ALARMS))

    def result(self) -> MeterTestResult:
        return self.protocol.decode_result(self._call(Command.RESULT))

    def set_status(self, code: int) -> None:
        self._call(Command.SET_STATUS, self.protocol.set_status_params(code))

    def enter_filter_calibration(self) -> None:
        self._call(Command.FILTER_ENTER)

    def set_filter_value(self, n_pct: float) -> None:
        self._call(Command.FILTER_SET, self.protocol.filter_value_params(n_pct))

    def exit_filter_calibration(self) -> None:
        self._call(Command.FILTER_EXIT)

    def control_params(self) -> ControlParams:
        return self.protocol.decode_control(self._call(Command.GET_CONTROL))

    def set_control_param(self, param: ControlParam, value: int) -> None:
        self._call(Command.SET_CONTROL, self.protocol.control_params(param, value))

