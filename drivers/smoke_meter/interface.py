"""What the station expects of any opacity smoke meter, whatever its framing or vendor."""

from __future__ import annotations

from abc import ABC, abstractmethod
from types import TracebackType

from drivers.smoke_meter.types import (
    AlarmWord,
    ControlParam,
    ControlParams,
    MaxValues,
    MeterStatus,
    MeterTestResult,
    Reading,
)


class SmokeMeter(ABC):
    """An opacity smoke meter (不透光烟度计).

    Every method is one request/answer exchange and raises the typed errors of
    :mod:`drivers.errors`: ``DeviceNotFound`` (port missing or vanished), ``DeviceTimeout``
    (no or partial answer), ``ProtocolError`` (bytes that break the framing),
    ``DeviceReportedError`` (the meter refused, with its ``device_code``). Methods are safe to
    call from several threads: exchanges are serialised per port.
    """

    @abstractmethod
    def open(self) -> None:
        """Open the port; idempotent."""

    @abstractmethod
    def close(self) -> None:
        """Close the port; idempotent, never raises."""

    @property
    @abstractmethod
    def is_open(self) -> bool:
        """Whether the port is open."""

    @abstractmethod
    def status(self) -> MeterStatus:
        """Warm-up, measuring, calibrating or internal fault."""

    @abstractmethod
    def read_realtime(self) -> Reading:
        """Current N, k, engine speed and oil temperature."""

    @abstractmethod
    def read_max(self) -> MaxValues:
        """Maximum N, k and engine speed since the last :meth:`clear_max`."""

    @abstractmethod
    def clear_max(self) -> None:
        """Reset the maximum registers."""

    @abstractmethod
    def zero(self) -> None:
        """Zero calibration with the probe in clean air (调零)."""

    @abstractmethod
    def stop_warmup(self) -> None:
        """End the warm-up early (中止预热)."""

    @abstractmethod
    def alarms(self) -> AlarmWord:
        """The alarm bit field."""

    @abstractmethod
    def result(self) -> MeterTestResult:
        """The meter's own free-acceleration result: K1, K2, K3, their mean, idle speed."""

    @abstractmethod
    def set_status(self, code: int) -> None:
        """Set the meter's working status (1..4, vendor-defined)."""

    @abstractmethod
    def enter_filter_calibration(self) -> None:
        """Enter sensitivity (neutral-density filter) calibration."""

    @abstractmethod
    def set_filter_value(self, n_pct: float) -> None:
        """Tell the meter the nominal opacity of the filter now in the beam."""

    @abstractmethod
    def exit_filter_calibration(self) -> None:
        """Leave filter calibration."""

    @abstractmethod
    def control_params(self) -> ControlParams:
        """Engine stroke, rpm pickup and filter setting of the control unit."""

    @abstractmethod
    def set_control_param(self, param: ControlParam, value: int) -> None:
        """Change one control-unit parameter."""

    def __enter__(self) -> SmokeMeter:
        self.open()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
