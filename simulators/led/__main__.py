"""Run the LED display simulator on its own and print every frame it receives.

    python -m simulators.led --pty                    # prints the pty path to configure
    python -m simulators.led --tcp 7101 --addresses 1,2,3 --ack 0x06

While it runs, lines on stdin switch faults: ``fault no_answer`` / ``fault power_off@2 off``,
``state`` prints what every display shows, ``clear`` removes all faults. Ctrl-C stops it.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading
from collections.abc import Sequence
from typing import TextIO

from simulators.led.model import FAULTS, VALID_VARIANTS, FrameRecord, LedBusSimulator
from simulators.led.transports import PtyLink, TcpLink

DEFAULT_HOST = "127.0.0.1"


def _addresses(value: str) -> list[int]:
    return [int(a, 0) for a in value.split(",") if a]


def _byte(value: str) -> int:
    return int(value, 0)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m simulators.led", description="Simulated RS-485 LED displays (条屏、窗口屏)."
    )
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--pty", action="store_true", help="serve on a new pty pair")
    where.add_argument("--tcp", type=int, metavar="PORT", help="serve on a TCP port")
    parser.add_argument("--host", default=DEFAULT_HOST, help="TCP address to bind")
    parser.add_argument("--addresses", type=_addresses, default=[1], help="e.g. 1,2,3")
    parser.add_argument("--ack", type=_byte, default=None, help="answer byte for show/on/off")
    parser.add_argument("--valid", choices=VALID_VARIANTS, default="flag")
    parser.add_argument("--faults", default="", help=f"initial faults: {', '.join(FAULTS)}[@addr]")
    return parser


def apply_command(simulator: LedBusSimulator, line: str, out: TextIO) -> None:
    """Execute one stdin command."""
    words = line.split()
    if not words:
        return
    if words[0] == "fault" and len(words) in (2, 3):
        name, _, address = words[1].partition("@")
        on = len(words) == 2 or words[2] != "off"
        simulator.set_fault(name, on, address=int(address, 0) if address else None)
        print(f"fault {words[1]} {'on' if on else 'off'}", file=out, flush=True)
    elif words[0] == "clear":
        simulator.clear_faults()
        print("faults cleared", file=out, flush=True)
    elif words[0] == "state":
        for address in simulator.addresses:
            state = simulator.state(address)
            faults = ",".join(sorted(simulator.faults(address))) or "-"
            shown = simulator.shown(address)
            text = f"{shown.text!r} ({shown.mode_name}, {shown.colour_name})" if shown else "(dark)"
            saved = state.saved.text if state.saved else "-"
            print(f"#{address}: {text} saved={saved!r} faults={faults}", file=out, flush=True)
    else:
        print("commands: fault NAME[@ADDR] [on|off] | clear | state", file=out, flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    simulator = LedBusSimulator(args.addresses, ack=args.ack, valid=args.valid)
    for item in filter(None, args.faults.split(",")):
        name, _, address = item.partition("@")
        simulator.set_fault(name, address=int(address, 0) if address else None)

    def print_frame(record: FrameRecord) -> None:
        print(record.describe(), flush=True)

    simulator.add_listener(print_frame)
    link = PtyLink(simulator) if args.pty else TcpLink(simulator, args.host, args.tcp)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with link:
        where = link.port if isinstance(link, PtyLink) else link.url
        addresses = ",".join(str(a) for a in simulator.addresses)
        print(f"LED simulator on {where} (addresses {addresses})", flush=True)

        def read_commands() -> None:
            for line in sys.stdin:
                try:
                    apply_command(simulator, line, sys.stdout)
                except (ValueError, KeyError) as exc:
                    print(f"error: {exc}", flush=True)

        threading.Thread(target=read_commands, name="ledsim-stdin", daemon=True).start()
        with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C is the normal way out
            stop.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
