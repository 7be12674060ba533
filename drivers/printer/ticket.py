"""Layout of the queue ticket (取号票) with python-escpos, on any escpos connection object.

Chinese text is always sent as raw bytes in the printer's Chinese-mode encoding (GB18030 by
default). python-escpos's own ``text()`` only switches to GB18030 when a string holds a CJK
ideograph; a string of full-width punctuation alone (``【】``, ``——``) would go through a
single-byte code page and print as ``?``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from escpos.constants import QR_ECLEVEL_H, QR_ECLEVEL_L, QR_ECLEVEL_M, QR_ECLEVEL_Q
from escpos.escpos import Escpos

from drivers.printer.config import PrinterConfig

FS = b"\x1c"
SELECT_CHINESE_MODE = FS + b"&"
LF = b"\n"

_QR_EC = {"L": QR_ECLEVEL_L, "M": QR_ECLEVEL_M, "Q": QR_ECLEVEL_Q, "H": QR_ECLEVEL_H}


@dataclass(frozen=True)
class TicketPrintout:
    """What goes on one printed queue ticket. Plain data: the caller fills it from its models.

    ``plate`` is already masked (e.g. ``浙D·1**45``); an empty plate leaves its line out.
    ``issued_at`` must be timezone-aware and is printed in the zone it carries.
    """

    station_name: str
    number: str
    category: str
    plate: str
    issued_at: datetime
    people_ahead: int
    estimated_wait_min: int
    progress_url: str
    hotline: str
    window_hint: str = ""
    footer_lines: tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        if self.issued_at.tzinfo is None or self.issued_at.utcoffset() is None:
            raise ValueError("TicketPrintout.issued_at must be timezone-aware")
        if self.people_ahead < 0 or self.estimated_wait_min < 0:
            raise ValueError("people_ahead and estimated_wait_min cannot be negative")


@dataclass(frozen=True)
class TicketLayout:
    """How a ticket is laid out and encoded; defaults match :class:`PrinterConfig`."""

    encoding: str = PrinterConfig.encoding
    chinese_mode: bool = PrinterConfig.chinese_mode
    qr_native: bool = PrinterConfig.qr_native
    qr_size: int = PrinterConfig.qr_size
    qr_error_correction: str = PrinterConfig.qr_error_correction
    number_scale: int = PrinterConfig.number_scale
    cut_mode: str = PrinterConfig.cut_mode
    #: height multiplier of the station name (width stays 1 so long names fit on 58 mm paper)
    station_name_height: int = 2
    time_format: str = "%Y-%m-%d %H:%M"
    label_plate: str = "车牌号码"
    label_time: str = "取号时间"
    label_ahead: str = "前面等候"
    people_unit: str = "人"
    label_wait: str = "预计等候"
    wait_minutes: str = "约 {minutes} 分钟"
    wait_none: str = "无需等候"
    qr_caption: str = "扫码查看办理进度"
    label_hotline: str = "监督电话"
    separator: str = "："

    @classmethod
    def from_config(cls, config: PrinterConfig) -> TicketLayout:
        return cls(
            encoding=config.encoding,
            chinese_mode=config.chinese_mode,
            qr_native=config.qr_native,
            qr_size=config.qr_size,
            qr_error_correction=config.qr_error_correction,
            number_scale=config.number_scale,
            cut_mode=config.cut_mode,
        )

    def detail_lines(self, ticket: TicketPrintout) -> list[str]:
        """The left-aligned detail block: plate, time, people ahead, estimated wait."""
        sep = self.separator
        lines = []
        if ticket.plate:
            lines.append(f"{self.label_plate}{sep}{ticket.plate}")
        lines.append(f"{self.label_time}{sep}{ticket.issued_at.strftime(self.time_format)}")
        lines.append(f"{self.label_ahead}{sep}{ticket.people_ahead} {self.people_unit}")
        if ticket.estimated_wait_min:
            wait = self.wait_minutes.format(minutes=ticket.estimated_wait_min)
        else:
            wait = self.wait_none
        lines.append(f"{self.label_wait}{sep}{wait}")
        return lines


def write_line(printer: Escpos, text: str, encoding: str = PrinterConfig.encoding) -> None:
    """Send one line of text as raw bytes in the printer's Chinese-mode encoding, then LF."""
    printer._raw(text.encode(encoding, errors="replace") + LF)


def render_ticket(printer: Escpos, ticket: TicketPrintout, layout: TicketLayout | None = None) -> None:
    """Lay out ``ticket`` on ``printer`` (Network, Serial, Usb, File, Dummy …) and cut.

    Order: station name, category, number (large), details, window hint, QR code, hotline,
    footer, cut. Sizes use ``GS !`` because it scales Chinese characters as well
    (``ESC !`` only scales single-byte characters on Chinese-mode printers).
    """
    layout = layout or TicketLayout()
    enc = layout.encoding

    printer.hw("INIT")
    if layout.chinese_mode:
        printer._raw(SELECT_CHINESE_MODE)

    printer.set(align="center", bold=True, custom_size=True, width=1, height=layout.station_name_height)
    write_line(printer, ticket.station_name, enc)
    printer.set(bold=False, custom_size=True, width=1, height=1)
    write_line(printer, ticket.category, enc)
    scale = layout.number_scale
    printer.set(bold=True, custom_size=True, width=scale, height=scale)
    write_line(printer, ticket.number, enc)
    printer.set(bold=False, custom_size=True, width=1, height=1)
    printer._raw(LF)

    printer.set(align="left")
    for line in layout.detail_lines(ticket):
        write_line(printer, line, enc)

    printer.set(align="center")
    if ticket.window_hint:
        printer.set(bold=True)
        write_line(printer, ticket.window_hint, enc)
        printer.set(bold=False)

    ec = _QR_EC[layout.qr_error_correction]
    if layout.qr_native:
        printer._raw(LF)
        printer.qr(ticket.progress_url, ec=ec, size=layout.qr_size, native=True)
        printer._raw(LF)
    else:
        # alignment comes from ESC a; python-escpos's own centring needs the paper width
        printer.qr(
            ticket.progress_url,
            ec=ec,
            size=layout.qr_size,
            native=False,
            image_arguments={"center": False},
        )
    write_line(printer, layout.qr_caption, enc)
    write_line(printer, f"{layout.label_hotline}{layout.separator}{ticket.hotline}", enc)
    for line in ticket.footer_lines:
        write_line(printer, line, enc)
    printer.cut(mode=layout.cut_mode)
