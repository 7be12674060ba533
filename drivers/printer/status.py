"""Real-time printer status (实时状态) from ESC/POS ``DLE EOT n`` replies.

``DLE EOT n`` (``10 04 n``) is processed by the printer as soon as it is received, even when
the printer is offline, and answers with one status byte. Every reply byte has fixed bits
(bit 1 and bit 4 set, bit 0 and bit 7 clear), which lets us tell a status byte from noise.

===  ====================  =================================================================
 n   meaning               bits we read
===  ====================  =================================================================
 1   printer status        bit 3 offline
 2   offline cause         bit 2 cover open, bit 5 printing stopped by paper end, bit 6 error
 3   error cause           bit 3 autocutter error, bit 5 unrecoverable, bit 6 auto-recoverable
 4   roll paper sensor     bits 2-3 paper near end, bits 5-6 paper end (no paper)
===  ====================  =================================================================

This module is pure protocol: no I/O. :mod:`drivers.printer.printer` sends the queries.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from drivers.errors import ProtocolError

DLE_EOT = b"\x10\x04"
#: the ``n`` of ``DLE EOT n`` for each status byte, in the order they are queried
STATUS_PRINTER = 1
STATUS_OFFLINE_CAUSE = 2
STATUS_ERROR_CAUSE = 3
STATUS_PAPER = 4
STATUS_QUERIES = (STATUS_PRINTER, STATUS_OFFLINE_CAUSE, STATUS_ERROR_CAUSE, STATUS_PAPER)

FIXED_MASK = 0b1001_0011  # bits 0, 1, 4, 7
FIXED_VALUE = 0b0001_0010  # bit 1 and bit 4 set, bit 0 and bit 7 clear

OFFLINE_BIT = 0x08  # n=1
COVER_OPEN_BIT = 0x04  # n=2
PAPER_END_STOP_BIT = 0x20  # n=2
ERROR_BIT = 0x40  # n=2
AUTOCUTTER_ERROR_BIT = 0x08  # n=3
UNRECOVERABLE_ERROR_BIT = 0x20  # n=3
AUTO_RECOVERABLE_ERROR_BIT = 0x40  # n=3
NEAR_END_BITS = 0x0C  # n=4
PAPER_END_BITS = 0x60  # n=4


def status_query(n: int) -> bytes:
    """The bytes of the real-time status request ``DLE EOT n``."""
    if n not in STATUS_QUERIES:
        raise ValueError(f"DLE EOT n must be one of {STATUS_QUERIES}, got {n}")
    return DLE_EOT + bytes((n,))


class PaperState(StrEnum):
    """Roll paper as the paper sensors see it."""

    OK = "ok"
    NEAR_END = "near_end"
    OUT = "out"
    UNKNOWN = "unknown"


class PrinterCondition(StrEnum):
    """One thing the status says about the printer, with its Chinese description for screens.

    Ordered from most to least severe: :attr:`PrinterStatus.condition` is the first that applies.
    """

    NO_ANSWER = "no_answer"
    PAPER_OUT = "paper_out"
    COVER_OPEN = "cover_open"
    CUTTER_ERROR = "cutter_error"
    ERROR = "error"
    OFFLINE = "offline"
    PAPER_NEAR_END = "paper_near_end"
    READY = "ready"
    UNKNOWN = "unknown"

    @property
    def description(self) -> str:
        return _DESCRIPTIONS[self]

    @property
    def blocks_printing(self) -> bool:
        """True when a job sent now would not come out of the printer."""
        return self in _BLOCKING


_DESCRIPTIONS = {
    PrinterCondition.NO_ANSWER: "打印机无响应",
    PrinterCondition.PAPER_OUT: "打印机缺纸",
    PrinterCondition.COVER_OPEN: "打印机盖未关",
    PrinterCondition.CUTTER_ERROR: "打印机切刀故障",
    PrinterCondition.ERROR: "打印机故障",
    PrinterCondition.OFFLINE: "打印机离线",
    PrinterCondition.PAPER_NEAR_END: "纸将尽",
    PrinterCondition.READY: "打印机正常",
    PrinterCondition.UNKNOWN: "打印机状态未知",
}
_BLOCKING = frozenset(
    {
        PrinterCondition.NO_ANSWER,
        PrinterCondition.PAPER_OUT,
        PrinterCondition.COVER_OPEN,
        PrinterCondition.CUTTER_ERROR,
        PrinterCondition.ERROR,
        PrinterCondition.OFFLINE,
    }
)
_SEVERITY = {condition: rank for rank, condition in enumerate(PrinterCondition)}


@dataclass(frozen=True)
class PrinterStatus:
    """What the printer said about itself (打印机状态).

    ``online``/``cover_open``/``error`` are ``None`` when the printer could not be asked
    (a ``Dummy`` or ``File`` connection) or did not answer.
    ``raw`` holds the reply bytes to ``DLE EOT 1..4`` in that order (empty when none).
    """

    online: bool | None
    paper: PaperState
    cover_open: bool | None
    error: bool | None
    conditions: tuple[PrinterCondition, ...]
    raw: bytes = b""

    @property
    def condition(self) -> PrinterCondition:
        """The most severe condition."""
        return self.conditions[0]

    @property
    def description(self) -> str:
        """Chinese text for staff screens, e.g. ``打印机缺纸；打印机盖未关``."""
        return "；".join(c.description for c in self.conditions)

    @property
    def answered(self) -> bool:
        return bool(self.raw)

    @property
    def can_print(self) -> bool:
        """False when a job sent now would be lost (unknown status does not block)."""
        return not any(c.blocks_printing for c in self.conditions)

    @property
    def warnings(self) -> tuple[PrinterCondition, ...]:
        """Conditions that allow printing but need attention soon (paper near end)."""
        return tuple(c for c in self.conditions if c is PrinterCondition.PAPER_NEAR_END)

    def to_dict(self) -> dict[str, object]:
        """A JSON-friendly view for the device manager and status screens."""
        return {
            "condition": self.condition.value,
            "conditions": [c.value for c in self.conditions],
            "description": self.description,
            "online": self.online,
            "paper": self.paper.value,
            "cover_open": self.cover_open,
            "error": self.error,
            "raw": self.raw.hex(),
        }

    @classmethod
    def unknown(cls) -> PrinterStatus:
        """For connections that cannot report status (``Dummy``, ``File``, one-way links)."""
        return cls(None, PaperState.UNKNOWN, None, None, (PrinterCondition.UNKNOWN,))

    @classmethod
    def no_answer(cls) -> PrinterStatus:
        """The printer did not answer ``DLE EOT``: treated as offline."""
        return cls(False, PaperState.UNKNOWN, None, None, (PrinterCondition.NO_ANSWER,))

    @classmethod
    def from_replies(cls, raw: bytes, *, check_fixed_bits: bool = True) -> PrinterStatus:
        """Parse the four reply bytes to ``DLE EOT 1``, ``2``, ``3``, ``4`` (in that order)."""
        if len(raw) != len(STATUS_QUERIES):
            raise ProtocolError(
                f"expected {len(STATUS_QUERIES)} status bytes, got {len(raw)}: {raw.hex()}"
            )
        if check_fixed_bits:
            for n, byte in zip(STATUS_QUERIES, raw, strict=True):
                if byte & FIXED_MASK != FIXED_VALUE:
                    raise ProtocolError(
                        f"reply 0x{byte:02x} to DLE EOT {n} has wrong fixed bits "
                        f"(expected xxx1xx10 with bit 7 clear)"
                    )
        printer, offline_cause, error_cause, paper_sensor = raw
        offline = bool(printer & OFFLINE_BIT)
        cover_open = bool(offline_cause & COVER_OPEN_BIT)
        paper_out = bool(paper_sensor & PAPER_END_BITS) or bool(offline_cause & PAPER_END_STOP_BIT)
        near_end = bool(paper_sensor & NEAR_END_BITS)
        cutter_error = bool(error_cause & AUTOCUTTER_ERROR_BIT)
        other_error = bool(error_cause & (UNRECOVERABLE_ERROR_BIT | AUTO_RECOVERABLE_ERROR_BIT))
        error = cutter_error or other_error or bool(offline_cause & ERROR_BIT)

        if paper_out:
            paper = PaperState.OUT
        elif near_end:
            paper = PaperState.NEAR_END
        else:
            paper = PaperState.OK

        found: set[PrinterCondition] = set()
        if paper_out:
            found.add(PrinterCondition.PAPER_OUT)
        if cover_open:
            found.add(PrinterCondition.COVER_OPEN)
        if cutter_error:
            found.add(PrinterCondition.CUTTER_ERROR)
        if error and not cutter_error:
            found.add(PrinterCondition.ERROR)
        if offline and not found:
            found.add(PrinterCondition.OFFLINE)
        if paper is PaperState.NEAR_END:
            found.add(PrinterCondition.PAPER_NEAR_END)
        if not found:
            found.add(PrinterCondition.READY)
        conditions = tuple(sorted(found, key=_SEVERITY.__getitem__))
        return cls(not offline, paper, cover_open, error, conditions, bytes(raw))
