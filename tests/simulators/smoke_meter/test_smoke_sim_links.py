"""How the simulator is reached: framing, pty, TCP, the nht6sim:// scheme, the command line."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import serial

import simulators.smoke_meter as sim_package
from drivers.errors import DeviceReportedError
from drivers.smoke_meter import MeterStatus, Nht6Meter, SmokeMeterConfig
from simulators.smoke_meter import (
    InProcessLink,
    PtyServer,
    RequestFramer,
    ScaledClock,
    SmokeMeterSimulator,
    SteppedClock,
    TcpServer,
    registry,
)
from simulators.smoke_meter.registry import options_from_url

ROOT = Path(__file__).resolve().parents[3]
WAIT_S = 10.0
A5 = bytes((0xA5, 0x5B))
A1 = bytes((0xA1, 0x5F))


def new_sim(**options) -> SmokeMeterSimulator:
    options.setdefault("warmup_s", 0)
    options.setdefault("line_baud", 0)
    return SmokeMeterSimulator(clock=SteppedClock(), **options)


def test_framer_splits_joins_and_resynchronises() -> None:
    now = [0.0]
    framer = RequestFramer(SmokeMeterSimulator.request_length, monotonic=lambda: now[0])
    assert framer.feed(A5 + A1 + b"\xb2\x01") == [A5, A1]
    assert framer.feed(b"\x02\x4b") == [b"\xb2\x01\x02\x4b"]
    assert framer.feed(b"\x99\xa5\x5b") == [b"\x99"]  # unknown: NAKed, rest dropped
    assert framer.feed(b"\xa5") == []
    now[0] += 1.0  # a long silence: the torn request is dropped
    assert framer.feed(A1) == [A1]


def test_in_process_link_timing() -> None:
    sim = new_sim()
    sim.set_faults("delay=0.15")
    link = InProcessLink(sim)
    link.write(A5)
    assert link.in_waiting == 0
    started = time.monotonic()
    assert link.read(10, timeout=0.05) == b""  # not there yet: the timeout wins
    data = link.read(10, timeout=WAIT_S)
    assert len(data) == 10 and time.monotonic() - started >= 0.15
    link.write(A5)
    link.reset_input()  # the answer is still on the line: it survives the reset …
    assert len(link.read(10, timeout=WAIT_S)) == 10
    sim.clear_faults()
    link.write(A5)
    assert link.in_waiting == 10
    link.reset_input()  # … but what has arrived is dropped
    assert link.read(1, timeout=0) == b""


def test_in_process_link_read_can_be_cancelled() -> None:
    link = InProcessLink(new_sim())
    result: list[bytes] = []
    reader = threading.Thread(target=lambda: result.append(link.read(10, timeout=None)))
    reader.start()
    while reader.is_alive() and not result:
        link.cancel_read()
        reader.join(0.05)
    reader.join(WAIT_S)
    assert result == [b""]


def test_url_scheme_is_registered_once() -> None:
    sim_package.register_url_scheme()
    sim_package.register_url_scheme()
    assert serial.protocol_handler_packages.count("simulators") == 1


def test_url_scheme_opens_a_private_simulator() -> None:
    port = serial.serial_for_url("nht6sim://?profile=failing&warmup_s=0&line_baud=0", timeout=1.0)
    try:
        assert port.simulator.profile.name == "failing"
        port.write(A5)
        assert len(port.read(10)) == 10
        assert port.in_waiting == 0
    finally:
        port.close()
    with pytest.raises(serial.PortNotOpenError):
        port.read(1)


def test_url_options() -> None:
    name, options = options_from_url(
        "nht6sim://bay2?profile=erratic&variant=nht1l&warmup_s=5&seed=9&line_baud=0"
        "&time_scale=20&faults=garbled&silent_after=3&nak=0x05&delay=0.1"
    )
    assert name == "bay2"
    faults = options.pop("faults")
    clock = options.pop("clock")
    assert options == {"profile": "erratic", "variant": "nht1l", "warmup_s": 5.0, "seed": 9, "line_baud": 0}
    assert isinstance(clock, ScaledClock) and clock.time_scale == 20
    assert (faults.garbled, faults.silent_after, faults.nak, faults.delay_s) == (True, 3, 5, 0.1)
    with pytest.raises(ValueError, match="unknown nht6sim option"):
        options_from_url("nht6sim://?colour=red")
    with pytest.raises(ValueError):
        options_from_url("socket://localhost:1")
    with pytest.raises(serial.SerialException):
        serial.serial_for_url("nht6sim://?profile=tractor")


def test_named_simulators_survive_a_reconnect() -> None:
    url = "nht6sim://links-test-shared?warmup_s=0&line_baud=0"
    try:
        first = serial.serial_for_url(url, timeout=1.0)
        first.close()
        second = serial.serial_for_url(url, timeout=1.0)
        assert second.simulator is first.simulator is registry.get("links-test-shared")
        second.close()
        with pytest.raises(ValueError, match="already exists"):
            registry.create("links-test-shared")
        assert "links-test-shared" in registry.names()
    finally:
        registry.remove("links-test-shared")
    assert "links-test-shared" not in registry.names()


def test_the_pty_is_a_real_terminal() -> None:
    with PtyServer(new_sim()) as pty:
        fd = os.open(pty.path, os.O_RDWR | os.O_NOCTTY)
        try:
            assert os.isatty(fd)
            os.write(fd, A1)
            reply = b""
            deadline = time.monotonic() + WAIT_S
            while len(reply) < 3 and time.monotonic() < deadline:
                reply += os.read(fd, 3 - len(reply))
            assert reply == bytes((0xA1, 0x01, 0x5E))
        finally:
            os.close(fd)


def test_tcp_serves_one_client_at_a_time() -> None:
    with TcpServer(new_sim()) as server:
        assert server.url == f"socket://127.0.0.1:{server.port}" and server.port > 0
        with socket.create_connection(("127.0.0.1", server.port), timeout=WAIT_S) as first:
            first.sendall(A1)
            assert first.recv(3) == bytes((0xA1, 0x01, 0x5E))
            with socket.create_connection(("127.0.0.1", server.port), timeout=WAIT_S) as second:
                assert second.recv(3) == b""  # refused: closed at once
            first.sendall(A1)
            assert first.recv(3) == bytes((0xA1, 0x01, 0x5E))
        assert server.connections == 1


def run_cli(*args: str) -> tuple[subprocess.Popen, str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "simulators.smoke_meter", "--warmup-s", "0", "--line-baud", "0", *args],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    return process, process.stdout.readline().strip()


def stop_cli(process: subprocess.Popen) -> int:
    process.terminate()
    try:
        return process.wait(WAIT_S)
    finally:
        for stream in (process.stdin, process.stdout, process.stderr):
            if stream is not None:
                stream.close()


def test_command_line_on_a_pty() -> None:
    process, where = run_cli("--pty", "--profile", "failing")
    try:
        assert where.startswith("/dev/pts/")
        with Nht6Meter(SmokeMeterConfig(url=where, reply_timeout_s=2.0)) as meter:
            assert meter.status() is MeterStatus.MEASURING
            idle = meter.read_realtime()
            assert idle.oil_temp_c == 91
            assert process.stdin is not None and process.stderr is not None
            process.stdin.write("accel\n")
            process.stdin.flush()
            lines = iter(process.stderr.readline, "")
            assert any(line.startswith("acceleration 1:") for line in lines)
    finally:
        assert stop_cli(process) == 0


def test_command_line_on_tcp() -> None:
    process, where = run_cli("--tcp", "0", "--variant", "nht1l", "--faults", "nak=9")
    try:
        assert where.startswith("socket://127.0.0.1:")
        meter = Nht6Meter(SmokeMeterConfig(url=where, reply_timeout_s=2.0, variant="nht1l"))
        with meter:
            with pytest.raises(DeviceReportedError) as refused:
                meter.status()
            assert refused.value.device_code == 9
    finally:
        assert stop_cli(process) == 0
