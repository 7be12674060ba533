"""Fixtures of the ticket printer driver tests: a sample ticket and a running simulator."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from drivers.printer import TicketPrinter, TicketPrintout
from simulators.printer import PrinterSimulator

STATION_ZONE = ZoneInfo("Asia/Shanghai")
PROGRESS_URL = "https://station.example.cn/p/7f3a9c2e"


@pytest.fixture
def make_ticket() -> Callable[..., TicketPrintout]:
    base = TicketPrintout(
        station_name="杭州市西湖机动车检测站",
        number="A012",
        category="预约",
        plate="浙D·1**45",
        issued_at=datetime(2024, 5, 6, 8, 12, tzinfo=STATION_ZONE),
        people_ahead=3,
        estimated_wait_min=15,
        progress_url=PROGRESS_URL,
        hotline="0571-88886666",
        window_hint="请到交钥匙区交车",
        footer_lines=("——————", "请妥善保管此票"),
    )

    def make(**changes) -> TicketPrintout:
        return replace(base, **changes)

    return make


@pytest.fixture
def ticket(make_ticket) -> TicketPrintout:
    return make_ticket()


@pytest.fixture
def simulator() -> Iterator[PrinterSimulator]:
    with PrinterSimulator() as sim:
        yield sim


@pytest.fixture
def network_printer(simulator) -> Callable[..., TicketPrinter]:
    """A factory of TicketPrinters pointed at the simulator; all are closed after the test."""
    made: list[TicketPrinter] = []

    def make(**cfg) -> TicketPrinter:
        config = {"connection": "network", "host": "127.0.0.1", "port": simulator.port,
                  "timeout": 5.0, "status_timeout": 5.0, **cfg}
        printer = TicketPrinter.from_config(config)
        made.append(printer)
        return printer

    yield make
    for printer in made:
        printer.close()
