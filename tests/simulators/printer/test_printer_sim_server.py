"""The simulator as a network printer: python-escpos's Network class and raw sockets."""

from __future__ import annotations

import socket
import threading
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from drivers.printer import PaperState, PrinterCondition, PrinterStatus
from simulators.printer import Faults, PrinterSimulator

URL = "https://station.example.cn/p/0b7c"
QUERIES = b"\x10\x04\x01\x10\x04\x02\x10\x04\x03\x10\x04\x04"


def read_exactly(sock: socket.socket, count: int) -> bytes:
    data = b""
    while len(data) < count:
        chunk = sock.recv(count - len(data))
        if not chunk:
            break
        data += chunk
    return data


def print_sample(printer, number: str = "A001") -> None:
    printer.hw("INIT")
    printer.set(align="center", custom_size=True, width=2, height=2)
    printer._raw(number.encode("gb18030") + b"\n")
    printer.set(custom_size=True, width=1, height=1)
    printer._raw("车牌：浙A·1**23\n".encode("gb18030"))
    printer.qr(URL, native=True, size=5)
    printer.cut()


def test_escpos_network_class_prints_a_ticket(network, simulator):
    print_sample(network())
    (ticket,) = simulator.wait_for_tickets(1)
    assert ticket.largest_line.text == "A001"
    assert ticket.find_line("浙A·1**23") is not None
    assert ticket.qr_payloads == [URL]


@pytest.mark.parametrize(
    ("faults", "expected"),
    [
        ({}, "12 12 12 12"),
        ({"paper_near_end": True}, "12 12 12 1e"),
        ({"paper_out": True}, "1a 32 12 7e"),
        ({"cover_open": True}, "1a 16 12 12"),
        ({"cutter_error": True}, "1a 52 1a 12"),
        ({"cover_open": True, "paper_near_end": True}, "1a 16 12 1e"),
    ],
)
def test_dle_eot_replies_follow_the_epson_bit_layout(simulator, raw_client, faults, expected):
    simulator.faults = faults
    sock = raw_client()
    sock.sendall(QUERIES)
    assert read_exactly(sock, 4).hex(" ") == expected


def test_python_escpos_status_helpers_read_the_simulator(network, simulator):
    printer = network()
    assert printer.is_online() is True
    assert printer.paper_status() == 2
    simulator.faults.paper_near_end = True
    assert printer.paper_status() == 1
    simulator.faults.set(paper_near_end=False, paper_out=True)
    assert printer.paper_status() == 0
    assert printer.is_online() is False


def test_no_answer_takes_the_job_but_never_replies(simulator, raw_client, network):
    simulator.faults.no_answer = True
    sock = raw_client()
    sock.settimeout(0.3)
    sock.sendall(QUERIES)
    with pytest.raises(TimeoutError):
        sock.recv(1)
    simulator.wait_for(lambda sim: sim.status_queries == 4)
    print_sample(network())
    assert len(simulator.wait_for_tickets(1)) == 1


@pytest.mark.parametrize("fault", ["paper_out", "cover_open", "cutter_error"])
def test_a_stopped_printer_discards_jobs_until_the_fault_is_cleared(network, simulator, fault):
    simulator.faults.set(**{fault: True})
    print_sample(network(), "A001")
    simulator.wait_for(lambda sim: sim.discarded_jobs == 1)
    assert simulator.tickets == []

    simulator.faults.clear()
    print_sample(network(), "A002")
    (ticket,) = simulator.wait_for_tickets(1)
    assert ticket.largest_line.text == "A002"


def test_a_job_split_over_two_connections_is_one_ticket(simulator, raw_client):
    first = raw_client()
    first.sendall(b"\x1b@" + "第一行\n".encode("gb18030"))
    first.close()
    # the first connection was accepted, read to its end and closed before the second opens
    simulator.wait_for(lambda sim: sim.connections_accepted == 1 and sim.open_connections == 0)
    second = raw_client()
    second.sendall("第二行\n".encode("gb18030") + b"\x1dV\x00")
    (ticket,) = simulator.wait_for_tickets(1)
    assert [line.text for line in ticket.lines] == ["第一行", "第二行"]


def test_drop_mid_job_resets_the_connection_and_loses_the_job(simulator, raw_client):
    simulator.faults.drop_mid_job = 16
    sock = raw_client()
    sock.sendall(b"\x1b@" + b"0123456789\n" * 5 + b"\x1dV\x00")
    try:
        closed = sock.recv(1) == b""
    except ConnectionResetError:
        closed = True
    assert closed
    simulator.wait_for(lambda sim: sim.discarded_jobs == 1)
    assert simulator.dropped_connections == 1
    assert simulator.tickets == []

    # a status query before the job does not count towards the job's bytes
    simulator.faults.drop_mid_job = 40
    sock = raw_client()
    sock.sendall(QUERIES + b"\x1b@ok\n\x1dV\x00")
    assert len(read_exactly(sock, 4)) == 4
    assert simulator.wait_for_tickets(1)[0].text == "ok"


def test_slow_replies_are_delayed(simulator, raw_client):
    simulator.faults.slow_reply = 0.25
    sock = raw_client()
    started = time.monotonic()
    sock.sendall(b"\x10\x04\x01")
    assert read_exactly(sock, 1) == b"\x12"
    assert time.monotonic() - started >= 0.25


def test_fault_switches_are_live_validated_and_thread_safe(simulator):
    faults = simulator.faults
    with pytest.raises(AttributeError):
        faults.paper_jam = True
    with pytest.raises(ValueError):
        faults.drop_mid_job = 0
    with pytest.raises(ValueError):
        faults.slow_reply = -1

    def flip(name: str) -> None:
        for i in range(200):
            faults.set(**{name: i % 2 == 0})

    threads = [threading.Thread(target=flip, args=(n,)) for n in ("paper_out", "cover_open", "no_answer")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    snapshot = faults.snapshot()
    assert (snapshot.paper_out, snapshot.cover_open, snapshot.no_answer) == (False, False, False)
    simulator.faults = {"paper_out": True}
    assert faults.paper_out and faults.snapshot().active() == {"paper_out": True}
    faults.clear()
    assert faults.snapshot() == Faults()


@given(
    paper_near_end=st.booleans(),
    paper_out=st.booleans(),
    cover_open=st.booleans(),
    cutter_error=st.booleans(),
)
def test_driver_reads_every_fault_combination_correctly(paper_near_end, paper_out, cover_open, cutter_error):
    faults = Faults(paper_near_end=paper_near_end, paper_out=paper_out, cover_open=cover_open,
                    cutter_error=cutter_error)
    status = PrinterStatus.from_replies(bytes(faults.status_byte(n) for n in (1, 2, 3, 4)))
    assert status.online is not faults.offline
    assert status.cover_open is cover_open
    assert (PrinterCondition.PAPER_OUT in status.conditions) is paper_out
    assert (PrinterCondition.COVER_OPEN in status.conditions) is cover_open
    assert (PrinterCondition.CUTTER_ERROR in status.conditions) is cutter_error
    expected_paper = PaperState.OUT if paper_out else PaperState.NEAR_END if paper_near_end else PaperState.OK
    assert status.paper is expected_paper
    assert status.can_print is not faults.blocks_printing


def test_wait_for_tickets_times_out(simulator):
    with pytest.raises(TimeoutError, match="0 of 1"):
        simulator.wait_for_tickets(1, timeout=0.1)


def test_png_of_every_ticket(tmp_path):
    with (
        PrinterSimulator(png_dir=tmp_path / "png") as sim,
        socket.create_connection(("127.0.0.1", sim.port), timeout=5) as sock,
    ):
        sock.sendall(b"A001\n\x1dV\x00A002\n\x1dV\x00")
        sim.wait_for(lambda s: len(s.png_paths) == 2)
    assert [p.name for p in sim.png_paths] == ["ticket-0001.png", "ticket-0002.png"]
    with Image.open(sim.png_paths[0]) as image:
        assert image.width > 576


def test_stop_closes_clients_and_the_port():
    sim = PrinterSimulator().start()
    port = sim.port
    client = socket.create_connection(("127.0.0.1", port), timeout=5)
    try:
        sim.wait_for(lambda s: s.open_connections == 1)
        sim.stop()
        assert client.recv(1) == b""  # the simulator closed our connection
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port), timeout=5).close()
    finally:
        client.close()
        sim.stop()
