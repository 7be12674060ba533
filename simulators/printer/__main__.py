"""Run the printer simulator on its own: ``python -m simulators.printer --port 9100``.

Each printed ticket is written to stdout (and as a PNG with ``--png-dir``). Fault switches are
set with flags at start and changed at run time by lines on stdin::

    paper_out on          cover_open off        drop_mid_job 200      slow_reply 0.5
    drop_mid_job off      status                clear                 quit
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading
from collections.abc import Sequence
from typing import TextIO

from simulators.printer.faults import FAULT_NAMES, Faults
from simulators.printer.render import default_font
from simulators.printer.server import PrinterSimulator

_BOOLEAN = {"on": True, "off": False, "true": True, "false": False, "1": True, "0": False}
_MAIN_LOOP_TICK = 0.5  # seconds between checks for a stop request in the main thread


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m simulators.printer",
        description="ESC/POS network ticket printer simulator (answers DLE EOT, decodes tickets).",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default %(default)s)")
    parser.add_argument("--port", type=int, default=9100, help="TCP port, 0 = any free port (default %(default)s)")
    parser.add_argument("--png-dir", help="save a PNG of every ticket in this folder")
    parser.add_argument("--font", help="TrueType/OpenType font for the PNGs (default: a CJK font if found)")
    parser.add_argument("--encoding", default="gb18030", help="Chinese-mode text encoding (default %(default)s)")
    parser.add_argument("--paper-near-end", action="store_true", help="report paper near end")
    parser.add_argument("--paper-out", action="store_true", help="out of paper: offline, jobs discarded")
    parser.add_argument("--cover-open", action="store_true", help="cover open: offline, jobs discarded")
    parser.add_argument("--cutter-error", action="store_true", help="autocutter error: offline, jobs discarded")
    parser.add_argument("--no-answer", action="store_true", help="never answer DLE EOT status queries")
    parser.add_argument("--drop-mid-job", type=int, metavar="BYTES",
                        help="reset the connection once a job reaches BYTES bytes")
    parser.add_argument("--slow-reply", type=float, default=0.0, metavar="SECONDS",
                        help="delay every status reply")
    return parser


def faults_from_args(args: argparse.Namespace) -> Faults:
    return Faults(
        paper_near_end=args.paper_near_end,
        paper_out=args.paper_out,
        cover_open=args.cover_open,
        cutter_error=args.cutter_error,
        no_answer=args.no_answer,
        drop_mid_job=args.drop_mid_job,
        slow_reply=args.slow_reply,
    )


def apply_control_line(sim: PrinterSimulator, line: str) -> str | None:
    """Apply one stdin control line; returns the reply to print, or None to quit."""
    words = line.split()
    if not words:
        return ""
    name = words[0].replace("-", "_")
    if name in ("quit", "exit"):
        return None
    if name == "status":
        faults = sim.faults.snapshot()
        return (f"faults {faults.active() or 'none'}; {len(sim.tickets)} tickets, "
                f"{sim.discarded_jobs} discarded jobs")
    if name == "clear":
        sim.faults.clear()
        return "faults cleared"
    if name not in FAULT_NAMES or len(words) != 2:
        return f"? usage: <{'|'.join(FAULT_NAMES)}> <value> | status | clear | quit"
    value = words[1].lower()
    try:
        if name == "drop_mid_job":
            parsed: object = None if value in ("off", "none", "0") else int(value)
        elif name == "slow_reply":
            parsed = 0.0 if value == "off" else float(value)
        else:
            parsed = _BOOLEAN[value]
        sim.faults.set(**{name: parsed})
    except (KeyError, ValueError) as exc:
        return f"? bad value {words[1]!r} for {name}: {exc}"
    return f"{name} = {parsed}"


def _read_controls(sim: PrinterSimulator, stdin: TextIO, out: TextIO, done: threading.Event) -> None:
    for line in stdin:
        reply = apply_control_line(sim, line)
        if reply is None:
            done.set()
            return
        if reply:
            print(reply, file=out, flush=True)


def main(argv: Sequence[str] | None = None, *, stdin: TextIO | None = None, out: TextIO | None = None) -> int:
    args = build_parser().parse_args(argv)
    stdin = stdin if stdin is not None else sys.stdin
    out = out if out is not None else sys.stdout
    font = default_font(args.font)

    def show(ticket) -> None:
        print(ticket.describe(), file=out, flush=True)
        if args.png_dir:
            print(f"  png: {args.png_dir}/ticket-{ticket.index:04d}.png", file=out, flush=True)

    sim = PrinterSimulator(
        args.host, args.port, faults=faults_from_args(args), png_dir=args.png_dir,
        font_path=font.path, encoding=args.encoding, on_ticket=show,
    )
    done = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda *_: done.set())
    try:
        with sim:
            print(f"ESC/POS printer simulator listening on {sim.host}:{sim.port}", file=out, flush=True)
            print(f"faults: {sim.faults.snapshot().active() or 'none'}; PNG font: {font.description}",
                  file=out, flush=True)
            threading.Thread(target=_read_controls, args=(sim, stdin, out, done), daemon=True).start()
            with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C ends the simulator
                while not done.wait(_MAIN_LOOP_TICK):
                    continue
    finally:
        signal.signal(signal.SIGTERM, previous)
    print("printer simulator stopped", file=out, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
