"""Reaching the simulator: pty pair, TCP port, the ledsim:// URL scheme and the command line."""

from __future__ import annotations

import os
import queue
import socket
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import serial

import simulators.led as ledsim
from simulators.led import LedBusSimulator, PtyLink, TcpLink

PROBE_1 = bytes.fromhex("AA 01 BB 55 55 FF")
PROBE_2 = bytes.fromhex("AA 02 BB 55 55 FF")
SHOW_A_1 = bytes.fromhex("AA 01 BB 51 54 0B 03 05 00 01 41 48 FF")
#: generous: only reached when something is broken
WAIT = 10.0
REPO = Path(__file__).resolve().parents[3]


def service_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("ledsim-")]


@pytest.fixture
def url_name() -> Iterator[str]:
    ledsim.register_url_scheme()
    name = f"t{uuid.uuid4().hex}"
    yield name
    ledsim.forget_url_simulator(name)


def test_pty_link_serves_the_slave_path() -> None:
    sim = LedBusSimulator([1])
    with PtyLink(sim) as pty:
        assert pty.port.startswith("/dev/")
        port = serial.Serial(pty.port, timeout=WAIT)
        try:
            port.write(PROBE_1 + SHOW_A_1)
            assert port.read(1) == b"\x1b"
            assert sim.wait_for(1, "A", WAIT)
        finally:
            port.close()
    assert service_threads() == []


def test_tcp_link_serves_each_client_and_can_drop_them() -> None:
    sim = LedBusSimulator([1, 2])
    with TcpLink(sim) as tcp:
        assert tcp.url == f"socket://127.0.0.1:{tcp.port}" and tcp.port > 0
        with socket.create_connection(("127.0.0.1", tcp.port), timeout=WAIT) as first:
            first.sendall(PROBE_1)
            assert first.recv(1) == b"\x1b"
            with socket.create_connection(("127.0.0.1", tcp.port), timeout=WAIT) as second:
                second.sendall(PROBE_2)
                assert second.recv(1) == b"\x1b"
                tcp.drop_clients()
                assert first.recv(1) == b""  # connection closed by the "converter"
                assert second.recv(1) == b""
        assert tcp.connections == 2
        port = tcp.port
    assert service_threads() == []
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=WAIT).close()


def test_links_open_only_once_and_close_twice_harmlessly() -> None:
    pty = PtyLink(LedBusSimulator())
    pty.close()  # never opened
    with pytest.raises(RuntimeError):
        pty.open()
    tcp = TcpLink(LedBusSimulator()).open()
    tcp.close()
    tcp.close()


def test_register_url_scheme_is_idempotent() -> None:
    ledsim.register_url_scheme()
    ledsim.register_url_scheme()
    assert serial.protocol_handler_packages.count("simulators") == 1


def test_anonymous_url_builds_a_private_simulator_from_its_options() -> None:
    ledsim.register_url_scheme()
    port = serial.serial_for_url(
        "ledsim://?addresses=1,0x02&faults=no_answer@2,noise@1&ack=0x06&valid=length", timeout=0.05
    )
    try:
        sim = port.simulator
        assert sim.addresses == [1, 2]
        assert (sim.ack, sim.valid) == (0x06, "length")
        assert sim.faults(2) == {"no_answer"} and sim.faults(1) == {"noise"}
        sim.set_fault("noise", False, address=1)
        port.write(PROBE_1 + PROBE_2)
        assert port.in_waiting == 1
        assert port.read(5) == b"\x1b"  # returns what came within the timeout
        assert port.read(1) == b""
    finally:
        port.close()
    with pytest.raises(serial.PortNotOpenError):
        port.write(PROBE_1)


def test_named_url_reaches_one_simulator_from_every_port(url_name: str) -> None:
    first = serial.serial_for_url(f"ledsim://{url_name}?addresses=1,2", timeout=WAIT)
    # Options only apply when the name is first used: this port joins the simulator above.
    second = serial.serial_for_url(f"ledsim://{url_name}?addresses=7", timeout=WAIT)
    try:
        assert first.simulator is second.simulator is ledsim.url_simulator(url_name)
        assert first.simulator.addresses == [1, 2]
        first.write(SHOW_A_1)
        second.write(PROBE_1)
        assert second.read(1) == b"\x1b"
        assert first.in_waiting == 0  # answers go back on the port that asked
        assert ledsim.url_simulator(url_name).shown(1).text == "A"
    finally:
        first.close()
        second.close()


def test_registered_simulator_is_reachable_by_name(url_name: str) -> None:
    sim = LedBusSimulator([5])
    url = ledsim.register_url_simulator(url_name, sim)
    assert url == f"ledsim://{url_name}"
    with pytest.raises(ValueError, match="already registered"):
        ledsim.register_url_simulator(url_name, sim)
    port = serial.serial_for_url(url, timeout=WAIT)
    try:
        assert port.simulator is sim
    finally:
        port.close()


@pytest.mark.parametrize(
    "url",
    [
        "ledsim://?colour=red",
        "ledsim://?faults=smoke",
        "ledsim://?addresses=x",
        "ledsim://?valid=count",
    ],
)
def test_bad_urls_fail_to_open(url: str) -> None:
    ledsim.register_url_scheme()
    with pytest.raises(serial.SerialException):
        serial.serial_for_url(url)


def test_blocking_read_ends_on_cancel_read() -> None:
    ledsim.register_url_scheme()
    port = serial.serial_for_url("ledsim://", timeout=None)
    try:
        result: list[bytes] = []
        reader = threading.Thread(target=lambda: result.append(port.read(1)))
        reader.start()
        port.cancel_read()  # ends the read whether it already waits or is about to
        reader.join(WAIT)
        assert result == [b""]
        port.write(PROBE_1)
        assert port.read(1) == b"\x1b"  # the cancel was used up
    finally:
        port.close()


def test_command_line_simulator_on_a_pty() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "simulators.led", "--pty", "--addresses", "1,2", "--ack", "0x06"],
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        encoding="utf-8",
        env={**os.environ, "PYTHONIOENCODING": "utf-8"},
    )
    lines: queue.Queue[str] = queue.Queue()
    reader = threading.Thread(
        target=lambda: [lines.put(line) for line in process.stdout], daemon=True
    )
    reader.start()
    try:
        banner = lines.get(timeout=WAIT)
        assert banner.startswith("LED simulator on /dev/") and "addresses 1,2" in banner
        path = banner.split()[3]
        port = serial.Serial(path, timeout=WAIT)
        try:
            port.write(SHOW_A_1)
            assert port.read(1) == b"\x06"
        finally:
            port.close()
        assert lines.get(timeout=WAIT).startswith("#1 show 立即显示 红 速度3 停留5: 'A' → 06")
        process.stdin.write("fault power_off@2\nstate\n")
        process.stdin.flush()
        assert lines.get(timeout=WAIT).strip() == "fault power_off@2 on"
        assert lines.get(timeout=WAIT).startswith("#1: 'A' (立即显示, 红)")
        assert "faults=power_off" in lines.get(timeout=WAIT)
    finally:
        process.terminate()
        process.wait(timeout=WAIT)
        process.stdin.close()
        process.stdout.close()
        reader.join(WAIT)
    assert process.returncode == 0
