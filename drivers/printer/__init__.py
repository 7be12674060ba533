"""ESC/POS ticket printer driver (取号票打印机).

Lay out a queue ticket with :func:`render_ticket` on any python-escpos connection, or use
:class:`TicketPrinter` (built from a config dict) to print with status checks before and
after the job. See ``docs/devices/printer.md``.
"""

from drivers.printer.config import PrinterConfig
from drivers.printer.printer import PrintResult, TicketPrinter, print_error_code
from drivers.printer.status import PaperState, PrinterCondition, PrinterStatus
from drivers.printer.ticket import TicketLayout, TicketPrintout, render_ticket

__all__ = [
    "PaperState",
    "PrintResult",
    "PrinterCondition",
    "PrinterConfig",
    "PrinterStatus",
    "TicketLayout",
    "TicketPrinter",
    "TicketPrintout",
    "print_error_code",
    "render_ticket",
]
