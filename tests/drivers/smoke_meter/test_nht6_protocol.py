"""Framing, checksums and reply parsing, byte by byte (no port involved)."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.errors import DeviceError, DeviceReportedError, DeviceTimeout, ProtocolError
from drivers.smoke_meter import (
    COMMANDS,
    Command,
    ControlParam,
    EngineStroke,
    FilterMode,
    MeterStatus,
    Nht6Protocol,
    RpmPickup,
    Variant,
    checksum,
    seal,
)
from drivers.smoke_meter.protocol import is_sealed

NHT6 = Nht6Protocol(Variant.NHT6, device="bench")
NHT1L = Nht6Protocol(Variant.NHT1L)


class Wire:
    """Bytes as a port would hand them out: ``read(n)`` returns what is there, up to n."""

    def __init__(self, data: bytes) -> None:
        self.data = bytearray(data)

    def read(self, n: int) -> bytes:
        out = bytes(self.data[:n])
        del self.data[:n]
        return out

    def pending(self) -> int:
        return len(self.data)


def reply(*body: int) -> bytes:
    """A reply frame with its checksum, built independently of the driver."""
    return bytes(body) + bytes(((256 - sum(body) % 256) % 256,))


def test_checksum_is_the_twos_complement_of_the_sum() -> None:
    assert checksum(b"\xa5") == 0x5B
    assert seal(b"\xa5") == b"\xa5\x5b"
    assert seal(b"\xa0\x02") == b"\xa0\x02\x5e"
    assert checksum(b"") == 0
    assert checksum(b"\x80\x80") == 0


@pytest.mark.parametrize("command", list(Command))
def test_every_request_sums_to_zero_and_has_its_length(command: Command) -> None:
    spec = COMMANDS[command]
    variant = next(iter(spec.variants))
    request = Nht6Protocol(variant).request(command, bytes(spec.params_len))
    assert len(request) == 2 + spec.params_len
    assert request[0] == command
    assert sum(request) % 256 == 0


def test_parameter_encoders() -> None:
    assert NHT6.request(Command.SET_STATUS, NHT6.set_status_params(3)) == reply(0xA0, 3)
    assert NHT6.filter_value_params(30.0) == b"\x01\x2c"
    assert NHT6.filter_value_params(62.35) == struct.pack(">H", 624)
    assert NHT6.control_params(ControlParam.RPM_PICKUP, RpmPickup.BATTERY) == b"\x02\x03"
    for bad in (lambda: NHT6.set_status_params(0), lambda: NHT6.set_status_params(5)):
        with pytest.raises(ValueError):
            bad()
    with pytest.raises(ValueError):
        NHT6.filter_value_params(100.1)
    with pytest.raises(ValueError):
        NHT6.control_params(ControlParam.ENGINE_STROKE, 3)  # strokes are 1 or 2
    with pytest.raises(ValueError):
        NHT6.request(Command.FILTER_SET, b"\x01")


def test_variants_have_their_own_commands() -> None:
    assert NHT6.status_command is Command.STATUS
    assert NHT1L.status_command is Command.STATUS_NHT1L
    assert NHT1L.request(Command.STATUS_NHT1L) == reply(0xAD)
    for command in (Command.RESULT, Command.SET_STATUS, Command.STATUS):
        assert not NHT1L.supports(command)
        with pytest.raises(DeviceError, match="not a command of the nht1l meter"):
            NHT1L.request(command, bytes(COMMANDS[command].params_len))
    with pytest.raises(DeviceError):
        NHT6.request(Command.STATUS_NHT1L)


def test_realtime_reply() -> None:
    frame = reply(0xA5, 0x01, 0x93, 0x00, 0x78, 0x0B, 0xB8, 0x01, 0x64)  # 40.3 %, 1.20, 3000, 356-273
    wire = Wire(frame)
    assert NHT6.read_reply(Command.REALTIME, wire.read, wire.pending) == frame
    assert NHT6.decode_realtime(frame) == (40.3, 1.2, 3000, 83)
    no_probe = reply(0xA5, 0, 5, 0, 1, 0x02, 0xEE, 0xFF, 0xFF)
    assert NHT6.decode_realtime(no_probe) == (0.5, 0.01, 750, None)


def test_other_replies_decode() -> None:
    assert NHT6.decode_max(reply(0xA6, 0x02, 0x58, 0x00, 0xD7, 0x0C, 0x80)).k_m1 == 2.15
    assert NHT6.decode_alarms(reply(0xA3, 0x80, 0x05)).bits == (0, 2, 15)
    result = NHT6.decode_result(reply(0xB1, 0, 120, 0, 118, 0, 125, 0, 121, 0x02, 0xE4))
    assert (result.k1_m1, result.k2_m1, result.k3_m1, result.k_avg_m1, result.low_rpm) == (
        1.2,
        1.18,
        1.25,
        1.21,
        740,
    )
    params = NHT6.decode_control(reply(0xB3, 2, 3, 3))
    assert (params.engine_stroke, params.rpm_pickup, params.filter_mode) == (
        EngineStroke.TWO_STROKE,
        RpmPickup.BATTERY,
        FilterMode.NONE,
    )
    with pytest.raises(ProtocolError):
        NHT6.decode_control(reply(0xB3, 9, 1, 1))


@pytest.mark.parametrize(
    ("protocol", "code", "status"),
    [
        (NHT6, 0, MeterStatus.WARMING_UP),
        (NHT6, 1, MeterStatus.MEASURING),
        (NHT6, 2, MeterStatus.CALIBRATING),
        (NHT6, 3, MeterStatus.INTERNAL_FAULT),
        (NHT1L, 0xF1, MeterStatus.MEASURING),  # newer NHT-1L firmware
    ],
)
def test_status_codes(protocol: Nht6Protocol, code: int, status: MeterStatus) -> None:
    assert protocol.decode_status(reply(protocol.status_command, code)) is status


def test_unknown_status_code_is_a_protocol_error() -> None:
    with pytest.raises(ProtocolError):
        NHT6.decode_status(reply(0xA1, 0xF1))


def test_nak_carries_the_device_code() -> None:
    wire = Wire(b"\x15\x07")
    with pytest.raises(DeviceReportedError) as caught:
        NHT6.read_reply(Command.ZERO, wire.read, wire.pending)
    assert caught.value.device_code == 7
    assert caught.value.code == "device_reported"
    assert caught.value.device == "bench"
    assert "ZERO" in str(caught.value)


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (b"", DeviceTimeout),  # no answer
        (b"\x15", DeviceTimeout),  # NAK cut before its code
        (reply(0xA5, 1, 2, 3, 4, 5, 6, 7, 8)[:6], DeviceTimeout),  # partial answer
        (reply(0xA6, 1, 2, 3, 4, 5, 6), ProtocolError),  # answer to another command
        (b"\xa5\x00\x00\x00\x00\x00\x00\x00\x00\x00", ProtocolError),  # bad checksum
        (reply(0xA5, 1, 2, 3, 4, 5, 6, 7, 8) + b"\x00", ProtocolError),  # longer than 10 bytes
    ],
)
def test_broken_replies(data: bytes, error: type[Exception]) -> None:
    wire = Wire(data)
    with pytest.raises(error):
        NHT6.read_reply(Command.REALTIME, wire.read, wire.pending)


@given(st.binary(min_size=0, max_size=40))
def test_sealed_frames_sum_to_zero_and_any_change_breaks_them(body: bytes) -> None:
    frame = seal(body)
    assert is_sealed(frame) or len(frame) < 2
    assert sum(frame) % 256 == 0
    for i in range(len(frame)):
        for delta in (1, 0x80):
            broken = bytearray(frame)
            broken[i] = (broken[i] + delta) % 256
            assert sum(broken) % 256 != 0


@given(
    n10=st.integers(0, 1000),
    k100=st.integers(0, 0xFFFF),
    rpm=st.integers(0, 0xFFFF),
    oil=st.one_of(st.just(0xFFFF), st.integers(0, 0xFFFE)),
)
def test_realtime_round_trip(n10: int, k100: int, rpm: int, oil: int) -> None:
    body = struct.pack(">BHHHH", 0xA5, n10, k100, rpm, oil)
    wire = Wire(reply(*body))
    frame = NHT6.read_reply(Command.REALTIME, wire.read, wire.pending)
    n, k, r, o = NHT6.decode_realtime(frame)
    assert (round(n * 10), round(k * 100), r) == (n10, k100, rpm)
    assert o == (None if oil == 0xFFFF else oil - 273)


@given(command=st.sampled_from(list(Command)), noise=st.binary(max_size=24))
def test_garbage_only_ever_raises_typed_errors(command: Command, noise: bytes) -> None:
    protocol = NHT6 if Variant.NHT6 in COMMANDS[command].variants else NHT1L
    wire = Wire(noise)
    try:
        frame = protocol.read_reply(command, wire.read, wire.pending)
    except DeviceError:
        return
    assert frame[0] == command and is_sealed(frame) and len(frame) == COMMANDS[command].reply_len
