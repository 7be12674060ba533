"""``python -m simulators.printer`` run as a separate process, driven by the real driver."""

from __future__ import annotations

import queue
import re
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from drivers.errors import DeviceReportedError
from drivers.printer import PrinterCondition, TicketPrinter, TicketPrintout
from simulators.printer import PrinterSimulator
from simulators.printer.__main__ import apply_control_line, build_parser, faults_from_args

PROJECT_ROOT = Path(__file__).resolve().parents[3]
OUTPUT_TIMEOUT = 30.0  # generous: the child imports OpenCV and Pillow on a loaded CI machine
TICKET = TicketPrintout(
    station_name="测试检测站",
    number="C005",
    category="复检",
    plate="苏E·9**01",
    issued_at=datetime(2024, 5, 6, 9, 30, tzinfo=ZoneInfo("Asia/Shanghai")),
    people_ahead=1,
    estimated_wait_min=5,
    progress_url="https://station.example.cn/p/cli",
    hotline="12345",
)


@dataclass
class Running:
    process: subprocess.Popen
    lines: queue.Queue

    def expect(self, predicate: Callable[[str], bool]) -> str:
        """The next stdout line that satisfies ``predicate`` (earlier lines are skipped)."""
        while True:
            try:
                line = self.lines.get(timeout=OUTPUT_TIMEOUT)
            except queue.Empty:
                pytest.fail("simulator printed nothing matching in time")
            if line is None:
                pytest.fail("simulator exited early")
            if predicate(line):
                return line

    def send(self, command: str) -> None:
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()


@pytest.fixture
def run_cli(tmp_path) -> Iterator[Callable[..., Running]]:
    started: list[subprocess.Popen] = []

    def run(*args: str) -> Running:
        process = subprocess.Popen(
            [sys.executable, "-m", "simulators.printer", "--port", "0", *args],
            cwd=PROJECT_ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, encoding="utf-8",
        )
        started.append(process)
        lines: queue.Queue = queue.Queue()

        def pump() -> None:
            for line in process.stdout:
                lines.put(line.rstrip("\n"))
            lines.put(None)

        threading.Thread(target=pump, daemon=True).start()
        return Running(process, lines)

    yield run
    for process in started:
        if process.poll() is None:
            process.kill()
        process.wait(OUTPUT_TIMEOUT)
        for stream in (process.stdin, process.stdout):
            stream.close()


def test_standalone_simulator_prints_switches_faults_and_quits(run_cli, tmp_path):
    png_dir = tmp_path / "tickets"
    sim = run_cli("--paper-near-end", "--png-dir", str(png_dir))
    banner = sim.expect(lambda line: "listening on" in line)
    port = int(re.search(r":(\d+)$", banner).group(1))
    assert "paper_near_end" in sim.expect(lambda line: line.startswith("faults:"))

    printer = TicketPrinter.from_config({"port": port, "timeout": 10, "status_timeout": 10})
    result = printer.print_ticket(TICKET)
    assert result.warnings == (PrinterCondition.PAPER_NEAR_END,)
    sim.expect(lambda line: "C005" in line and "2x2" in line)
    sim.expect(lambda line: "https://station.example.cn/p/cli" in line)
    assert sim.expect(lambda line: "png:" in line).endswith("ticket-0001.png")
    assert (png_dir / "ticket-0001.png").is_file()

    sim.send("paper_out on")
    assert sim.expect(lambda line: line.startswith("paper_out")) == "paper_out = True"
    with pytest.raises(DeviceReportedError) as caught:
        printer.print_ticket(TICKET)
    assert caught.value.device_code == "paper_out"

    sim.send("quit")
    sim.expect(lambda line: line == "printer simulator stopped")
    assert sim.process.wait(OUTPUT_TIMEOUT) == 0


def test_command_line_flags_become_faults():
    args = build_parser().parse_args(
        ["--port", "0", "--paper-out", "--cover-open", "--cutter-error", "--no-answer",
         "--drop-mid-job", "128", "--slow-reply", "0.5"]
    )
    faults = faults_from_args(args)
    assert faults.active() == {"paper_out": True, "cover_open": True, "cutter_error": True,
                               "no_answer": True, "drop_mid_job": 128, "slow_reply": 0.5}
    assert faults_from_args(build_parser().parse_args([])).active() == {}


def test_control_lines():
    sim = PrinterSimulator()  # switches only: never started
    assert apply_control_line(sim, "cover-open on") == "cover_open = True"
    assert apply_control_line(sim, "drop_mid_job 200") == "drop_mid_job = 200"
    assert apply_control_line(sim, "slow_reply 0.25") == "slow_reply = 0.25"
    assert sim.faults.snapshot().active() == {"cover_open": True, "drop_mid_job": 200, "slow_reply": 0.25}
    assert "cover_open" in apply_control_line(sim, "status")
    assert apply_control_line(sim, "drop_mid_job off") == "drop_mid_job = None"
    assert apply_control_line(sim, "paper_out maybe").startswith("? bad value")
    assert apply_control_line(sim, "jam on").startswith("? usage")
    assert apply_control_line(sim, "clear") == "faults cleared"
    assert sim.faults.snapshot().active() == {}
    assert apply_control_line(sim, "") == ""
    assert apply_control_line(sim, "quit") is None


def test_standalone_simulator_stops_cleanly_on_sigterm(run_cli):
    sim = run_cli("--no-answer")
    sim.expect(lambda line: "listening on" in line)
    sim.process.terminate()
    sim.expect(lambda line: line == "printer simulator stopped")
    assert sim.process.wait(OUTPUT_TIMEOUT) == 0
