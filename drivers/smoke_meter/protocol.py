"""Nanhua NHT-6 / NHT-1L binary framing: pure bytes, no I/O.

Request ``[cmd][params…][cks]``; reply of a fixed length per command whose first byte echoes
the command and whose last byte is the checksum; ``cks`` is the two's complement of the byte
sum, so a whole frame sums to 0 mod 256. A refusal is ``0x15`` (NAK) followed by one error-code
byte. 16-bit values are big-endian. Oil temperature is sent as °C + 273, 0xFFFF = no probe.

The host drives the exchange; :meth:`Nht6Protocol.read_reply` pulls exactly the bytes the
command needs through a ``read(n)`` callable, so the same code runs over a serial port, a TCP
converter or the in-process simulator.
"""

from __future__ import annotations

import enum
import struct
from collections.abc import Callable
from dataclasses import dataclass

from drivers.errors import DeviceError, DeviceReportedError, DeviceTimeout, ProtocolError
from drivers.smoke_meter.types import (
    CONTROL_VALUE_TYPES,
    AlarmWord,
    ControlParam,
    ControlParams,
    EngineStroke,
    FilterMode,
    MaxValues,
    MeterStatus,
    MeterTestResult,
    RpmPickup,
    Variant,
)

NAK = 0x15
#: oil temperature is transmitted in kelvin-like units: °C + 273
OIL_TEMP_OFFSET = 273
#: oil temperature word meaning "no probe connected"
NO_OIL_PROBE = 0xFFFF
#: newer NHT-1L firmware reports "measuring" as 0xF1 instead of 0x01
NHT1L_MEASURING_NEW = 0xF1
#: scale of N and k on the wire: N × 10 (%), k × 100 (m⁻¹)
N_SCALE = 10
K_SCALE = 100


class Command(enum.IntEnum):
    SET_STATUS = 0xA0
    STATUS = 0xA1
    STOP_WARMUP = 0xA2
    ALARMS = 0xA3
    ZERO = 0xA4
    REALTIME = 0xA5
    READ_MAX = 0xA6
    CLEAR_MAX = 0xA7
    STATUS_NHT1L = 0xAD
    RESULT = 0xB1
    SET_CONTROL = 0xB2
    GET_CONTROL = 0xB3
    FILTER_ENTER = 0xC1
    FILTER_SET = 0xC2
    FILTER_EXIT = 0xC3


@dataclass(frozen=True)
class CommandSpec:
    command: Command
    #: bytes between the command byte and the checksum of the request
    params_len: int
    #: total length of a positive reply, checksum included
    reply_len: int
    variants: frozenset[Variant]


_BOTH = frozenset(Variant)
_NHT6 = frozenset({Variant.NHT6})
_NHT1L = frozenset({Variant.NHT1L})

COMMANDS: dict[Command, CommandSpec] = {
    spec.command: spec
    for spec in (
        CommandSpec(Command.SET_STATUS, 1, 2, _NHT6),
        CommandSpec(Command.STATUS, 0, 3, _NHT6),
        CommandSpec(Command.STOP_WARMUP, 0, 2, _BOTH),
        CommandSpec(Command.ALARMS, 0, 4, _BOTH),
        CommandSpec(Command.ZERO, 0, 2, _BOTH),
        CommandSpec(Command.REALTIME, 0, 10, _BOTH),
        CommandSpec(Command.READ_MAX, 0, 8, _BOTH),
        CommandSpec(Command.CLEAR_MAX, 0, 2, _BOTH),
        CommandSpec(Command.STATUS_NHT1L, 0, 3, _NHT1L),
        CommandSpec(Command.RESULT, 0, 12, _NHT6),
        CommandSpec(Command.SET_CONTROL, 2, 2, _BOTH),
        CommandSpec(Command.GET_CONTROL, 0, 5, _BOTH),
        CommandSpec(Command.FILTER_ENTER, 0, 2, _BOTH),
        CommandSpec(Command.FILTER_SET, 2, 2, _BOTH),
        CommandSpec(Command.FILTER_EXIT, 0, 2, _BOTH),
    )
}

ReadFn = Callable[[int], bytes]
PendingFn = Callable[[], int]


def checksum(data: bytes) -> int:
    """The byte that makes ``data + [cks]`` sum to 0 mod 256."""
    return -sum(data) & 0xFF


def seal(body: bytes) -> bytes:
    """``body`` followed by its checksum."""
    return body + bytes((checksum(body),))


def is_sealed(frame: bytes) -> bool:
    return len(frame) >= 2 and sum(frame) & 0xFF == 0


class Nht6Protocol:
    """Framing of one meter variant; errors name ``device``."""

    def __init__(self, variant: Variant = Variant.NHT6, device: str | None = None) -> None:
        self.variant = Variant(variant)
        self.device = device

    @property
    def status_command(self) -> Command:
        return Command.STATUS if self.variant is Variant.NHT6 else Command.STATUS_NHT1L

    def supports(self, command: Command) -> bool:
        return self.variant in COMMANDS[command].variants

    # -- requests -------------------------------------------------------------------------

    def request(self, command: Command, params: bytes = b"") -> bytes:
        spec = COMMANDS[command]
        if self.variant not in spec.variants:
            raise DeviceError(
                f"{command.name} ({command:#04x}) is not a command of the {self.variant.value} meter",
                device=self.device,
            )
        if len(params) != spec.params_len:
            raise ValueError(f"{command.name} takes {spec.params_len} parameter bytes, not {len(params)}")
        return seal(bytes((command,)) + params)

    @staticmethod
    def set_status_params(code: int) -> bytes:
        if not 1 <= code <= 4:
            raise ValueError(f"status code must be 1..4, not {code!r}")
        return bytes((code,))

    @staticmethod
    def filter_value_params(n_pct: float) -> bytes:
        if not 0.0 <= n_pct <= 100.0:
            raise ValueError(f"filter opacity must be within 0..100 %, not {n_pct!r}")
        return struct.pack(">H", round(n_pct * N_SCALE))

    @staticmethod
    def control_params(param: ControlParam, value: int) -> bytes:
        param = ControlParam(param)
        CONTROL_VALUE_TYPES[param](value)  # refuses a value the selector does not have
        return bytes((param, value))

    # -- replies --------------------------------------------------------------------------

    def read_reply(self, command: Command, read: ReadFn, pending: PendingFn | None = None) -> bytes:
        """Read and check the reply to ``command``; return the whole frame.

        ``read(n)`` returns up to ``n`` bytes (fewer after its timeout); ``pending()`` tells how
        many bytes are already waiting, to catch replies longer than the command's length.
        """
        spec = COMMANDS[command]
        head = read(1)
        if not head:
            raise DeviceTimeout(f"no answer to {command.name} ({command:#04x})", device=self.device)
        if head[0] == NAK:
            code = read(1)
            if not code:
                raise DeviceTimeout(f"NAK to {command.name} without an error code", device=self.device)
            raise DeviceReportedError(
                f"meter refused {command.name} ({command:#04x}) with error code {code[0]:#04x}",
                device=self.device,
                device_code=code[0],
            )
        if head[0] != command:
            raise ProtocolError(
                f"answer to {command.name} starts with {head[0]:#04x}, not {command:#04x}",
                device=self.device,
            )
        rest = read(spec.reply_len - 1)
        if len(rest) < spec.reply_len - 1:
            raise DeviceTimeout(
                f"partial answer to {command.name}: {1 + len(rest)} of {spec.reply_len} bytes",
                device=self.device,
            )
        frame = head + rest
        if not is_sealed(frame):
            raise ProtocolError(
                f"bad checksum in answer to {command.name}: {frame.hex(' ')}", device=self.device
            )
        extra = pending() if pending is not None else 0
        if extra:
            raise ProtocolError(
                f"answer to {command.name} is longer than {spec.reply_len} bytes "
                f"({extra} more waiting)",
                device=self.device,
            )
        return frame

    def decode_status(self, frame: bytes) -> MeterStatus:
        code = frame[1]
        if self.variant is Variant.NHT1L and code == NHT1L_MEASURING_NEW:
            code = MeterStatus.MEASURING
        try:
            return MeterStatus(code)
        except ValueError:
            raise ProtocolError(f"unknown status code {code:#04x}", device=self.device) from None

    @staticmethod
    def decode_realtime(frame: bytes) -> tuple[float, float, int, int | None]:
        """(N %, k m⁻¹, rpm, oil °C or None) of an A5 frame."""
        _, n, k, rpm, oil, _ = struct.unpack(">BHHHHB", frame)
        return n / N_SCALE, k / K_SCALE, rpm, None if oil == NO_OIL_PROBE else oil - OIL_TEMP_OFFSET

    @staticmethod
    def decode_max(frame: bytes) -> MaxValues:
        _, n, k, rpm, _ = struct.unpack(">BHHHB", frame)
        return MaxValues(n_pct=n / N_SCALE, k_m1=k / K_SCALE, rpm=rpm)

    @staticmethod
    def decode_alarms(frame: bytes) -> AlarmWord:
        _, word, _ = struct.unpack(">BHB", frame)
        return AlarmWord(word)

    @staticmethod
    def decode_result(frame: bytes) -> MeterTestResult:
        _, k1, k2, k3, k_avg, low_rpm, _ = struct.unpack(">BHHHHHB", frame)
        return MeterTestResult(
            k1_m1=k1 / K_SCALE,
            k2_m1=k2 / K_SCALE,
            k3_m1=k3 / K_SCALE,
            k_avg_m1=k_avg / K_SCALE,
            low_rpm=low_rpm,
        )

    def decode_control(self, frame: bytes) -> ControlParams:
        _, stroke, pickup, filter_mode, _ = struct.unpack(">BBBBB", frame)
        try:
            return ControlParams(EngineStroke(stroke), RpmPickup(pickup), FilterMode(filter_mode))
        except ValueError as exc:
            raise ProtocolError(f"unknown control parameter value: {exc}", device=self.device) from None
