"""The real driver against the byte-level simulator over a pty, TCP and the nht6sim:// scheme."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest

from drivers.errors import (
    DeviceError,
    DeviceNotFound,
    DeviceReportedError,
    DeviceTimeout,
    ProtocolError,
)
from drivers.smoke_meter import (
    AlarmWord,
    ControlParam,
    EngineStroke,
    FilterMode,
    MeterStatus,
    Nht6Meter,
    RpmPickup,
    SmokeMeterConfig,
    Variant,
)
from simulators.smoke_meter import NakCode, PtyServer, SmokeMeterSimulator, SteppedClock
from station.emissions import k_from_n

#: reply timeout for tests that expect silence: short, so they stay fast
SHORT_TIMEOUT_S = 0.5


def test_every_command_over_every_transport(served, sim: SmokeMeterSimulator, make_meter) -> None:
    url, _ = served
    clock: SteppedClock = sim.clock  # type: ignore[assignment]
    with make_meter(url) as meter:
        assert meter.status() is MeterStatus.MEASURING

        idle = meter.read_realtime()
        assert 740 <= idle.rpm <= 760
        assert idle.oil_temp_c == 85
        assert idle.n_pct == pytest.approx(1.28 + 0.8, abs=0.1)  # idle smoke + unzeroed drift
        assert idle.k_m1 == pytest.approx(k_from_n(idle.n_pct), abs=0.01)

        meter.zero()
        assert meter.status() is MeterStatus.CALIBRATING
        clock.advance(1.0)
        assert meter.status() is MeterStatus.MEASURING
        assert meter.read_realtime().n_pct == pytest.approx(idle.n_pct - 0.8, abs=0.1)

        meter.clear_max()
        for _ in range(3):
            acceleration = sim.free_acceleration()
            clock.advance(0.8)
            top = meter.read_realtime()
            assert top.rpm == pytest.approx(3000, abs=10)
            assert top.k_m1 == pytest.approx(acceleration.peak_k_m1, abs=0.02)
            clock.advance(acceleration.end - clock.now() + 1.0)
        maximum = meter.read_max()
        result = meter.result()
        peaks = sim.completed_peaks
        assert (result.k1_m1, result.k2_m1, result.k3_m1) == pytest.approx(peaks, abs=0.005)
        assert result.k_avg_m1 == pytest.approx(sum(peaks) / 3, abs=0.006)
        assert 740 <= result.low_rpm <= 760
        assert maximum.k_m1 == pytest.approx(max(peaks), abs=0.01)
        assert maximum.rpm >= 3000

        meter.clear_max()
        assert meter.read_max().k_m1 == 0.0

        sim.set_alarms(0x8005)
        assert meter.alarms() == AlarmWord(0x8005)
        assert meter.alarms().bits == (0, 2, 15)

        meter.stop_warmup()
        meter.set_status(2)
        assert sim.status_code_set == 2

        sim.remove_probe()
        sim.insert_filter(30.0)
        meter.enter_filter_calibration()
        assert meter.status() is MeterStatus.CALIBRATING
        meter.set_filter_value(31.5)
        assert meter.read_realtime().n_pct == 31.5
        meter.exit_filter_calibration()
        assert meter.status() is MeterStatus.MEASURING

        assert meter.control_params().engine_stroke is EngineStroke.FOUR_STROKE
        meter.set_control_param(ControlParam.ENGINE_STROKE, EngineStroke.TWO_STROKE)
        meter.set_control_param(ControlParam.RPM_PICKUP, RpmPickup.PHOTOELECTRIC)
        meter.set_control_param(ControlParam.FILTER, FilterMode.NONE)
        params = meter.control_params()
        assert (params.engine_stroke, params.rpm_pickup, params.filter_mode) == (
            EngineStroke.TWO_STROKE,
            RpmPickup.PHOTOELECTRIC,
            FilterMode.NONE,
        )


def test_bad_arguments_are_refused_before_any_byte_is_sent(fast_served, sim, make_meter) -> None:
    url, _ = fast_served
    with make_meter(url) as meter:
        before = sim.requests
        with pytest.raises(ValueError):
            meter.set_status(5)
        with pytest.raises(ValueError):
            meter.set_control_param(ControlParam.FILTER, 7)
        with pytest.raises(ValueError):
            meter.set_filter_value(-1)
        assert sim.requests == before


def test_meter_refusals_carry_its_code(fast_served, sim, make_meter) -> None:
    url, _ = fast_served
    with make_meter(url) as meter:
        with pytest.raises(DeviceReportedError) as caught:
            meter.set_filter_value(30.0)  # not in filter calibration
        assert caught.value.device_code == NakCode.NOT_NOW
        assert meter.status() is MeterStatus.MEASURING  # and the line is still in step


@pytest.mark.parametrize(
    ("faults", "error"),
    [
        ("no_answer", DeviceTimeout),
        ("garbled", ProtocolError),
        ("bad_checksum", ProtocolError),
        ("nak=7", DeviceReportedError),
        ("delay=1.2", DeviceTimeout),
    ],
)
def test_fault_switches_raise_typed_errors(
    fast_served, sim, make_meter, faults: str, error: type[DeviceError]
) -> None:
    url, _ = fast_served
    with make_meter(url, reply_timeout_s=SHORT_TIMEOUT_S) as meter:
        assert meter.read_realtime()
        sim.set_faults(faults)
        with pytest.raises(error) as caught:
            meter.read_realtime()
        if error is DeviceReportedError:
            assert caught.value.device_code == 7
        sim.clear_faults()
        if "delay" in faults:
            # the late answer to the timed-out request is dropped before the next request
            assert caught.value.code == "timeout"
        reading = meter.read_realtime()
        assert 700 <= reading.rpm <= 800


def test_no_answer_waits_for_the_reply_timeout(fast_served, sim, make_meter) -> None:
    url, _ = fast_served
    with make_meter(url, reply_timeout_s=SHORT_TIMEOUT_S) as meter:
        sim.set_faults("timeout")
        started = time.monotonic()
        with pytest.raises(DeviceTimeout):
            meter.status()
        assert time.monotonic() - started >= SHORT_TIMEOUT_S * 0.9


def test_slow_answers_within_the_timeout_are_fine(fast_served, sim, make_meter) -> None:
    url, _ = fast_served
    with make_meter(url, reply_timeout_s=1.0) as meter:
        sim.set_faults("delay=0.05")
        started = time.monotonic()
        assert meter.status() is MeterStatus.MEASURING
        assert time.monotonic() - started >= 0.05


def test_going_silent_mid_session(fast_served, sim, make_meter) -> None:
    url, _ = fast_served
    with make_meter(url, reply_timeout_s=SHORT_TIMEOUT_S) as meter:
        sim.set_faults("silent_after=2")
        meter.read_realtime()
        meter.read_realtime()
        with pytest.raises(DeviceTimeout):
            meter.read_realtime()
        sim.clear_faults()
        assert meter.status() is MeterStatus.MEASURING


def test_stuck_in_warm_up(fast_served, sim, make_meter) -> None:
    url, _ = fast_served
    with make_meter(url) as meter:
        sim.set_faults("stuck_warmup")
        meter.stop_warmup()
        assert meter.status() is MeterStatus.WARMING_UP
        with pytest.raises(DeviceReportedError) as caught:
            meter.zero()
        assert caught.value.device_code == NakCode.NOT_NOW


def test_warm_up_ends_by_time_or_by_command(make_meter, serve) -> None:
    clock = SteppedClock()
    sim = SmokeMeterSimulator(warmup_s=60, clock=clock, line_baud=0)
    with serve("url", sim) as (url, _), make_meter(url) as meter:
        assert meter.status() is MeterStatus.WARMING_UP
        clock.advance(59.9)
        assert meter.status() is MeterStatus.WARMING_UP
        clock.advance(0.1)
        assert meter.status() is MeterStatus.MEASURING
    sim = SmokeMeterSimulator(warmup_s=60, clock=SteppedClock(), line_baud=0)
    with serve("url", sim) as (url, _), make_meter(url) as meter:
        meter.stop_warmup()
        assert meter.status() is MeterStatus.MEASURING


def test_nht1l_variant_uses_ad_for_status(make_meter, serve) -> None:
    sim = SmokeMeterSimulator(variant="nht1l", warmup_s=0, clock=SteppedClock(), line_baud=0)
    with serve("pty", sim) as (url, _):
        with make_meter(url, variant=Variant.NHT1L) as meter:
            assert meter.status() is MeterStatus.MEASURING
            assert meter.read_realtime().rpm > 0
            before = sim.requests
            with pytest.raises(DeviceError, match="not a command of the nht1l meter"):
                meter.result()
            with pytest.raises(DeviceError):
                meter.set_status(1)
            assert sim.requests == before
        with make_meter(url, variant=Variant.NHT6) as wrong:
            with pytest.raises(DeviceReportedError) as caught:
                wrong.status()  # A1 is unknown to an NHT-1L
            assert caught.value.device_code == NakCode.UNKNOWN_COMMAND


def test_readings_are_stamped_by_the_injected_clock(sim, serve) -> None:
    stamp = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
    with serve("url", sim) as (url, _):
        meter = Nht6Meter(SmokeMeterConfig(url=url), clock=lambda: stamp + timedelta(seconds=sim.clock.now()))
        with meter:
            sim.clock.advance(12.5)
            assert meter.read_realtime().at == stamp + timedelta(seconds=12.5)


def test_hardware_ports_are_locked_for_one_reader(sim, make_meter) -> None:
    with PtyServer(sim) as pty:
        first = make_meter(pty.path)
        assert first.config.serial_kwargs()["exclusive"] is True
        with first, pytest.raises(DeviceNotFound, match="cannot open"):
            make_meter(pty.path).open()
        with make_meter(pty.path) as second:  # released on close
            assert second.status() is MeterStatus.MEASURING


def test_missing_ports_and_closed_meters(make_meter) -> None:
    with pytest.raises(DeviceNotFound) as caught:
        make_meter("/dev/does-not-exist-smoke").open()
    assert caught.value.code == "not_found"
    with pytest.raises(DeviceNotFound):
        make_meter("nosuchscheme://x").open()
    meter = make_meter("nht6sim://?warmup_s=0")
    with pytest.raises(DeviceNotFound, match="not open"):
        meter.status()
    meter.open()
    meter.open()  # idempotent
    assert meter.is_open
    meter.close()
    meter.close()
    assert not meter.is_open


def test_dropped_tcp_connection_and_reconnect(sim, make_meter, serve) -> None:
    with serve("tcp", sim) as (url, server):
        meter = make_meter(url)
        meter.open()
        assert meter.status() is MeterStatus.MEASURING
        server.drop_connection()
        with pytest.raises(DeviceNotFound):
            meter.read_realtime()
        assert not meter.is_open
        meter.open()
        assert meter.status() is MeterStatus.MEASURING
        meter.close()
        assert server.connections == 2


def test_a_vanished_pty_is_not_found(sim, make_meter) -> None:
    pty = PtyServer(sim).start()
    meter = make_meter(pty.path)
    try:
        meter.open()
        pty.stop()  # the adapter is unplugged
        with pytest.raises((DeviceNotFound, DeviceTimeout)):
            meter.read_realtime()
        assert not meter.is_open  # the driver let go of the dead port
    finally:
        meter.close()
        pty.stop()


def test_exchanges_from_two_threads_are_serialised(sim, make_meter, serve) -> None:
    errors: list[BaseException] = []
    with serve("pty", sim) as (url, _), make_meter(url) as meter:

        def hammer(call) -> None:
            try:
                for _ in range(40):
                    call()
            except BaseException as exc:  # any error means two exchanges interleaved
                errors.append(exc)

        threads = [threading.Thread(target=hammer, args=(call,)) for call in (meter.read_realtime, meter.status)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
    assert errors == []
    assert sim.requests == 80


def test_configuration_from_a_device_row() -> None:
    meter = Nht6Meter.from_config(
        {"url": "socket://127.0.0.1:7001", "variant": "NHT1L", "reply_timeout_s": "0.25", "exclusive": "auto"}
    )
    config = meter.config
    assert (config.variant, config.reply_timeout_s, config.exclusive) == (Variant.NHT1L, 0.25, None)
    kwargs = config.serial_kwargs()
    assert kwargs["exclusive"] is False  # nothing to lock on a URL
    assert (kwargs["baudrate"], kwargs["bytesize"], kwargs["parity"], kwargs["stopbits"]) == (9600, 8, "N", 1)
    assert kwargs["timeout"] == 0.25 and kwargs["inter_byte_timeout"] == 0.02
    assert SmokeMeterConfig.from_mapping({"exclusive": "yes", "poll_hz": "5"}).poll_period_s == 0.2
    with pytest.raises(ValueError, match="unknown smoke meter settings"):
        Nht6Meter.from_config({"urll": "/dev/ttyUSB0"})
    with pytest.raises(ValueError):
        SmokeMeterConfig(poll_hz=0)
    with pytest.raises(ValueError):
        SmokeMeterConfig.from_mapping({"exclusive": "perhaps"})
