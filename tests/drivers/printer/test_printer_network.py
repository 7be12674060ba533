"""TicketPrinter over the real escpos Network class against the printer simulator."""

from __future__ import annotations

import threading
import time

import pytest
from escpos.printer import Network

from drivers.errors import DeviceNotFound, DeviceReportedError, DeviceTimeout
from drivers.printer import (
    PaperState,
    PrinterCondition,
    PrinterConfig,
    TicketPrinter,
    print_error_code,
)
from simulators.printer import PrinterSimulator

STATUS_QUERY_PREFIX = b"\x10\x04"


def only_status_queries(data: bytes) -> bool:
    chunks = [data[i : i + 3] for i in range(0, len(data), 3)]
    return all(c[:2] == STATUS_QUERY_PREFIX and c[2] in (1, 2, 3, 4) for c in chunks)


def test_round_trip_number_plate_and_qr_url(network_printer, simulator, ticket):
    printer = network_printer()
    result = printer.print_ticket(ticket)

    (printed,) = simulator.wait_for_tickets(1)
    assert printed.raw == printer.render(ticket), "the printer received the job byte for byte"
    number = printed.largest_line
    assert number.text == "A012"
    assert (number.width, number.height, number.bold, number.align) == (2, 2, True, "center")
    assert printed.find_line("浙D·1**45").text == "车牌号码：浙D·1**45"
    assert printed.qr_payloads == [ticket.progress_url]
    assert result.verified
    assert result.bytes_sent == len(printed.raw)
    assert result.status_before.condition is PrinterCondition.READY
    assert result.status_after.condition is PrinterCondition.READY
    assert result.warnings == ()
    assert not printer.is_open, "without open() each job uses its own connection"


def test_round_trip_with_qr_as_image(network_printer, simulator, ticket):
    network_printer(qr_native=False).print_ticket(ticket)
    (printed,) = simulator.wait_for_tickets(1)
    assert printed.native_qr_payloads == []
    assert printed.image_qr_payloads == [ticket.progress_url]


def test_status_of_a_ready_printer(network_printer):
    status = network_printer().status()
    assert status.condition is PrinterCondition.READY
    assert status.raw == bytes((0x12, 0x12, 0x12, 0x12))


def test_paper_near_end_prints_with_a_warning(network_printer, simulator, ticket):
    simulator.faults.paper_near_end = True
    result = network_printer().print_ticket(ticket)
    assert result.warnings == (PrinterCondition.PAPER_NEAR_END,)
    assert result.warning_text == "纸将尽"
    assert result.status_after.paper is PaperState.NEAR_END
    assert len(simulator.wait_for_tickets(1)) == 1


@pytest.mark.parametrize(
    ("fault", "code", "text"),
    [
        ("paper_out", "paper_out", "打印机缺纸"),
        ("cover_open", "cover_open", "打印机盖未关"),
        ("cutter_error", "cutter_error", "打印机切刀故障"),
    ],
)
def test_fault_refuses_the_job_before_sending_it(network_printer, simulator, ticket, fault, code, text):
    simulator.faults.set(**{fault: True})
    printer = network_printer()
    assert not printer.status().can_print
    with pytest.raises(DeviceReportedError) as caught:
        printer.print_ticket(ticket)
    assert caught.value.device_code == code
    assert print_error_code(caught.value) == code
    assert text in str(caught.value)
    assert "before printing" in str(caught.value)
    assert only_status_queries(simulator.received), "no job byte reached the printer"
    assert simulator.tickets == []

    simulator.faults.clear()  # paper loaded / cover closed: printing resumes
    network_printer().print_ticket(ticket)
    assert len(simulator.wait_for_tickets(1)) == 1


def test_printer_that_does_not_answer_is_offline_within_the_timeout(network_printer, simulator, ticket):
    simulator.faults.no_answer = True
    printer = network_printer(status_timeout=0.3)
    started = time.monotonic()
    status = printer.status()
    elapsed = time.monotonic() - started
    assert status.condition is PrinterCondition.NO_ANSWER
    assert status.online is False
    assert status.description == "打印机无响应"
    assert 0.3 <= elapsed < 5.0

    with pytest.raises(DeviceTimeout) as caught:
        printer.print_ticket(ticket)
    assert print_error_code(caught.value) == "timeout"
    assert only_status_queries(simulator.received)
    assert simulator.tickets == []


def test_paper_out_printer_that_stays_silent_is_refused_as_a_timeout(network_printer, simulator, ticket):
    simulator.faults.set(paper_out=True, no_answer=True)
    with pytest.raises(DeviceTimeout):
        network_printer(status_timeout=0.2).print_ticket(ticket)
    assert simulator.tickets == []


def test_slow_replies_within_the_timeout_are_fine_beyond_it_offline(network_printer, simulator):
    simulator.faults.slow_reply = 0.02
    assert network_printer(status_timeout=2.0).status().condition is PrinterCondition.READY
    simulator.faults.slow_reply = 3.0
    assert network_printer(status_timeout=0.2).status().condition is PrinterCondition.NO_ANSWER


def test_drop_mid_job_is_reported_and_the_next_job_prints(network_printer, simulator, ticket):
    simulator.faults.drop_mid_job = 64
    printer = network_printer()
    with pytest.raises(DeviceNotFound, match="connection lost"):
        printer.print_ticket(ticket)
    assert simulator.tickets == []
    assert simulator.discarded_jobs == 1
    assert simulator.dropped_connections == 1

    simulator.faults.drop_mid_job = None
    printer.print_ticket(ticket)
    assert len(simulator.wait_for_tickets(1)) == 1


def test_drop_mid_job_in_an_open_session_reconnects_for_the_next_job(network_printer, simulator, ticket):
    simulator.faults.drop_mid_job = 64
    with network_printer() as printer:
        with pytest.raises(DeviceNotFound):
            printer.print_ticket(ticket)
        simulator.faults.drop_mid_job = None
        assert printer.print_ticket(ticket).verified
    assert len(simulator.wait_for_tickets(1)) == 1


def test_paper_running_out_during_the_job_is_caught_by_the_status_after(ticket):
    # the switch flips as the cut is processed, before the after-job status query is answered
    with PrinterSimulator(on_ticket=lambda _ticket: sim.faults.set(paper_out=True)) as sim:
        printer = TicketPrinter(PrinterConfig(port=sim.port, status_timeout=5.0))
        with pytest.raises(DeviceReportedError) as caught:
            printer.print_ticket(ticket)
    assert caught.value.device_code == "paper_out"
    assert "after sending" in str(caught.value)


def test_open_session_survives_the_printer_dropping_the_connection(network_printer, simulator, ticket):
    with network_printer() as printer:
        assert printer.is_open
        assert printer.status().condition is PrinterCondition.READY
        simulator.disconnect_all()  # printer restarted, or closed an idle session
        simulator.wait_for(lambda sim: sim.open_connections == 0)
        assert printer.status().condition is PrinterCondition.READY
        simulator.disconnect_all()
        simulator.wait_for(lambda sim: sim.open_connections == 0)
        assert printer.print_ticket(ticket).verified  # the job goes out on the new connection
    assert simulator.connections_accepted == 3
    assert len(simulator.wait_for_tickets(1)) == 1
    assert not printer.is_open


def test_check_status_off_prints_to_a_printer_without_back_channel(network_printer, simulator, ticket):
    simulator.faults.no_answer = True
    result = network_printer(check_status=False).print_ticket(ticket)
    assert not result.verified
    assert result.status_after.condition is PrinterCondition.UNKNOWN
    assert len(simulator.wait_for_tickets(1)) == 1
    assert simulator.status_queries == 0


def test_concurrent_jobs_on_one_printer_do_not_interleave(network_printer, simulator, make_ticket):
    printer = network_printer()
    errors: list[BaseException] = []

    def issue(prefix: str) -> None:
        try:
            for i in range(3):
                printer.print_ticket(make_ticket(number=f"{prefix}{i:03d}"))
        except BaseException as exc:  # reported in the main thread
            errors.append(exc)

    threads = [threading.Thread(target=issue, args=(p,)) for p in ("A", "B")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors
    printed = simulator.wait_for_tickets(6)
    assert sorted(t.largest_line.text for t in printed) == [
        "A000", "A001", "A002", "B000", "B001", "B002"
    ]
    assert all(len(t.lines) == 12 and t.qr_payloads for t in printed)


def test_borrowed_connection_is_used_but_not_closed(simulator, ticket):
    conn = Network("127.0.0.1", simulator.port, timeout=5, profile="NT-80-V-UL")
    conn.open()
    try:
        printer = TicketPrinter(PrinterConfig(), connection=conn)
        assert printer.print_ticket(ticket).verified
        printer.close()
        assert conn.device is not None
        conn.textln("still open")
        conn.cut()
        assert [t.lines[0].text for t in simulator.wait_for_tickets(2)][1] == "still open"
    finally:
        conn.close()


def test_serial_url_printer_reaches_the_simulator_through_socket_url(simulator, ticket):
    config = {"connection": "serial", "url": f"socket://127.0.0.1:{simulator.port}",
              "flow_control": "none", "timeout": 5.0, "status_timeout": 5.0}
    simulator.faults.paper_near_end = True
    result = TicketPrinter.from_config(config).print_ticket(ticket)
    assert result.verified and result.warnings == (PrinterCondition.PAPER_NEAR_END,)
    assert simulator.wait_for_tickets(1)[0].qr_payloads == [ticket.progress_url]

    simulator.faults.no_answer = True
    silent = TicketPrinter.from_config({**config, "status_timeout": 0.2})
    assert silent.status().condition is PrinterCondition.NO_ANSWER
