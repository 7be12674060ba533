"""ESC/POS ticket printer simulator (打印机模拟器).

A TCP server on 127.0.0.1 that the real ``escpos.printer.Network`` prints to, answering
``DLE EOT n`` status queries from live fault switches and decoding what it receives into
printed tickets (text lines with attributes, QR payloads, a PNG). Run it on its own with
``python -m simulators.printer --port 9100``. See ``docs/devices/printer.md``.
"""

from simulators.printer.decoder import (
    BitImage,
    Feed,
    PrintedTicket,
    PrinterModel,
    QrSymbol,
    TextLine,
    TextRun,
    decode_escpos,
)
from simulators.printer.faults import Faults, FaultSwitches
from simulators.printer.parser import Command, EscPosParser
from simulators.printer.server import PrinterSimulator

__all__ = [
    "BitImage",
    "Command",
    "EscPosParser",
    "FaultSwitches",
    "Faults",
    "Feed",
    "PrintedTicket",
    "PrinterModel",
    "PrinterSimulator",
    "QrSymbol",
    "TextLine",
    "TextRun",
    "decode_escpos",
]
