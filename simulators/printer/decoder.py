"""A model of a receipt printer's print engine: ESC/POS commands in, printed tickets out.

The model keeps the print modes (alignment, character size, bold …) the way an Epson-compatible
printer in Chinese mode does, collects what would be printed, and closes a ticket at every cut
(``GS V``, ``ESC i``, ``ESC m``). Each :class:`PrintedTicket` holds its text lines with their
attributes, the payloads of native QR symbols (``GS ( k``), raster images (``GS v 0``,
``GS ( L``, ``ESC *``) with any QR code OpenCV can read in them, and can be drawn as a PNG.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np

from simulators.printer.parser import Command, EscPosParser

if TYPE_CHECKING:
    from PIL import Image

ALIGNMENTS = ("left", "center", "right")
#: default line spacing in dots (1/6 inch at 180-203 dpi)
DEFAULT_LINE_SPACING = 30
QR_EC_LEVELS = {48: "L", 49: "M", 50: "Q", 51: "H"}
QR_CODE_TYPE = 0x31  # cn of GS ( k for QR Code
#: single-byte code pages selected with ESC t n, for text sent outside Chinese mode
CODE_PAGES = {0: "cp437", 2: "cp850", 3: "cp860", 4: "cp863", 5: "cp865", 16: "cp1252",
              17: "cp866", 18: "cp852", 19: "cp858"}
_QR_QUIET_ZONE = 16  # white dots added round an image before looking for a QR code
_QR_UPSCALE = (1, 2, 3)  # thin python-escpos QR images decode more reliably when enlarged

# commands that put something on paper: dropped (and the job lost) while the printer is stopped
_CONTENT = frozenset({"TEXT", "LF", "FF", "HT", "ESC d", "ESC J", "ESC *", "GS v 0", "GS ( k",
                      "GS ( L", "GS 8 L", "GS k"})
_CUTS = frozenset({"GS V", "ESC i", "ESC m"})
_PARTIAL_CUTS = frozenset({1, 49, 66, 98, 104})  # GS V m values that leave a hinge
_FEED_CUTS = frozenset({65, 66, 97, 98, 103, 104})  # GS V m n: feed n dots, then cut


@dataclass(frozen=True)
class TextRun:
    """Characters printed with the same attributes; ``double_byte`` marks Chinese characters."""

    text: str
    width: int
    height: int
    bold: bool
    underline: int
    invert: bool
    double_byte: bool


@dataclass(frozen=True)
class TextLine:
    runs: tuple[TextRun, ...]
    align: str

    @property
    def text(self) -> str:
        return "".join(run.text for run in self.runs)

    def _visible(self) -> list[TextRun]:
        return [run for run in self.runs if run.text.strip()] or list(self.runs)

    @property
    def width(self) -> int:
        return max((run.width for run in self._visible()), default=1)

    @property
    def height(self) -> int:
        return max((run.height for run in self._visible()), default=1)

    @property
    def bold(self) -> bool:
        return any(run.bold for run in self._visible())

    @property
    def underline(self) -> int:
        return max((run.underline for run in self._visible()), default=0)

    @property
    def invert(self) -> bool:
        return any(run.invert for run in self._visible())

    def describe(self) -> str:
        marks = [self.align]
        if self.width > 1 or self.height > 1:
            marks.append(f"{self.width}x{self.height}")
        if self.bold:
            marks.append("bold")
        if self.underline:
            marks.append("underline")
        if self.invert:
            marks.append("invert")
        return f"[{' '.join(marks)}] {self.text}"


@dataclass(frozen=True)
class Feed:
    """Blank paper fed, in dots."""

    dots: int


@dataclass(frozen=True)
class QrSymbol:
    """A QR code printed by the printer's own engine (``GS ( k``, cn 49)."""

    payload: str
    data: bytes
    module_size: int
    error_correction: str
    model: int
    align: str


@dataclass(frozen=True, eq=False)
class BitImage:
    """A printed bitmap; ``pixels`` is a bool array (rows, columns), True = black dot."""

    pixels: np.ndarray
    scale_x: int
    scale_y: int
    align: str
    command: str

    @property
    def width(self) -> int:
        return int(self.pixels.shape[1]) * self.scale_x

    @property
    def height(self) -> int:
        return int(self.pixels.shape[0]) * self.scale_y

    def scaled(self) -> np.ndarray:
        return np.repeat(np.repeat(self.pixels, self.scale_y, axis=0), self.scale_x, axis=1)

    def decode_qr(self) -> tuple[str, ...]:
        """QR payloads OpenCV's ``QRCodeDetector`` reads in this image."""
        return decode_qr_pixels(self.scaled())


Element = TextLine | Feed | QrSymbol | BitImage


def decode_qr_pixels(pixels: np.ndarray) -> tuple[str, ...]:
    """Read QR codes in a bool bitmap (True = black) with OpenCV."""
    if pixels.size == 0 or not pixels.any():
        return ()
    gray = np.where(pixels, 0, 255).astype(np.uint8)
    gray = cv2.copyMakeBorder(gray, *([_QR_QUIET_ZONE] * 4), cv2.BORDER_CONSTANT, value=255)
    detector = cv2.QRCodeDetector()
    for factor in _QR_UPSCALE:
        image = gray if factor == 1 else cv2.resize(
            gray, None, fx=factor, fy=factor, interpolation=cv2.INTER_NEAREST
        )
        found, decoded, _points, _codes = detector.detectAndDecodeMulti(image)
        payloads = tuple(text for text in (decoded or ()) if text) if found else ()
        if payloads:
            return payloads
        text, _points, _code = detector.detectAndDecode(image)
        if text:
            return (text,)
    return ()


@dataclass(eq=False)
class PrintedTicket:
    """One job between two cuts, as it came out of the printer."""

    index: int
    elements: tuple[Element, ...]
    cut: str
    raw: bytes
    unknown_commands: tuple[str, ...] = ()

    @property
    def lines(self) -> list[TextLine]:
        """Text lines with something visible on them."""
        return [e for e in self.elements if isinstance(e, TextLine) and e.text.strip()]

    @property
    def text(self) -> str:
        return "\n".join(line.text for line in self.lines)

    @property
    def native_qr_payloads(self) -> list[str]:
        return [e.payload for e in self.elements if isinstance(e, QrSymbol)]

    @cached_property
    def image_qr_payloads(self) -> list[str]:
        return [p for e in self.elements if isinstance(e, BitImage) for p in e.decode_qr()]

    @property
    def qr_payloads(self) -> list[str]:
        """Every QR payload, printed natively or readable in an image."""
        return self.native_qr_payloads + self.image_qr_payloads

    @property
    def images(self) -> list[BitImage]:
        return [e for e in self.elements if isinstance(e, BitImage)]

    def find_line(self, fragment: str) -> TextLine | None:
        """The first line containing ``fragment``."""
        return next((line for line in self.lines if fragment in line.text), None)

    @property
    def largest_line(self) -> TextLine | None:
        """The line printed with the largest characters (the ticket number on a queue ticket)."""
        return max(self.lines, key=lambda line: line.width * line.height, default=None)

    def describe(self) -> str:
        """A readable dump: one line per text line, QR code and image."""
        out = [f"ticket #{self.index} ({self.cut} cut, {len(self.raw)} bytes)"]
        for element in self.elements:
            if isinstance(element, TextLine) and element.text.strip():
                out.append("  " + element.describe())
            elif isinstance(element, QrSymbol):
                out.append(f"  [QR {element.align} size {element.module_size} "
                           f"ec {element.error_correction}] {element.payload}")
            elif isinstance(element, BitImage):
                found = ", ".join(element.decode_qr()) or "no QR code"
                out.append(f"  [image {element.width}x{element.height} {element.command}] {found}")
        if self.unknown_commands:
            out.append(f"  unknown commands: {', '.join(self.unknown_commands)}")
        return "\n".join(out)

    def render_png(self, path: str | Path | None = None, **options) -> Image.Image:
        """Draw the ticket (see :func:`simulators.printer.render.render_ticket_image`)."""
        from simulators.printer.render import render_ticket_image

        image = render_ticket_image(self, **options)
        if path is not None:
            image.save(path)
        return image


@dataclass
class _Modes:
    align: int = 0
    ank_width: int = 1
    ank_height: int = 1
    kanji_width: int = 1
    kanji_height: int = 1
    bold: bool = False
    double_strike: bool = False
    underline: int = 0
    invert: bool = False
    codepage: int = 0
    chinese: bool = True
    line_spacing: int = DEFAULT_LINE_SPACING
    qr_model: int = 2
    qr_size: int = 3
    qr_ec: str = "L"
    qr_data: bytes = b""
    graphics: BitImage | None = None

    def text_key(self) -> tuple:
        return (self.ank_width, self.ank_height, self.kanji_width, self.kanji_height,
                self.bold or self.double_strike, self.underline, self.invert, self.chinese,
                self.codepage)


@dataclass
class _Line:
    segments: list[tuple[tuple, bytearray]] = field(default_factory=list)
    align: int | None = None
    band: BitImage | None = None


class PrinterModel:
    """The print engine of the simulator. Not thread-safe: the server serialises calls."""

    def __init__(self, *, chinese_mode: bool = True, encoding: str = "gb18030") -> None:
        self.chinese_default = chinese_mode
        self.encoding = encoding
        self.modes = _Modes(chinese=chinese_mode)
        self.tickets: list[PrintedTicket] = []
        #: jobs cut while the printer could not print, or cut short by a power cut
        self.discarded_jobs = 0
        self._finished: list[PrintedTicket] = []
        self._reset_job()

    # -- job bookkeeping ---------------------------------------------------------------------

    def _reset_job(self) -> None:
        self._elements: list[Element] = []
        self._line = _Line()
        self._raw = bytearray()
        self._unknown: list[str] = []
        self._lost = False

    @property
    def job_bytes(self) -> int:
        """Bytes received for the job in progress (since the last cut)."""
        return len(self._raw)

    @property
    def job_in_progress(self) -> bool:
        return bool(self._raw)

    def take_finished(self) -> list[PrintedTicket]:
        """Tickets completed since the last call."""
        finished, self._finished = self._finished, []
        return finished

    def power_cut(self) -> None:
        """Lose the job in progress and the print modes, as a printer losing power does."""
        if self.job_in_progress:
            self.discarded_jobs += 1
        self._reset_job()
        self.modes = _Modes(chinese=self.chinese_default)

    # -- commands ----------------------------------------------------------------------------

    def feed_bytes(self, data: bytes, parser: EscPosParser | None = None) -> None:
        """Parse and apply ``data`` (for offline decoding; the server applies command by command)."""
        for command in (parser or EscPosParser()).feed(data):
            self.apply(command)

    def apply(self, cmd: Command, *, printable: bool = True) -> None:
        """Apply one command. With ``printable`` False (paper out, cover open …) whatever would
        be printed is lost, and so is the job it belongs to."""
        if cmd.name in ("DLE EOT", "DLE ENQ", "DLE DC4"):
            return  # real-time commands: answered by the server, never printed
        self._raw += cmd.raw
        if not cmd.known:
            self._unknown.append(cmd.raw[:2].hex(" "))
        if cmd.name in _CUTS:
            self._cut(cmd, printable)
            return
        if not printable and cmd.name in _CONTENT:
            self._lost = True
            self._elements.clear()
            self._line = _Line()
            return
        handler = _HANDLERS.get(cmd.name)
        if handler is not None:
            handler(self, cmd)

    def _cut(self, cmd: Command, printable: bool) -> None:
        self._print_line()
        if cmd.name == "GS V" and cmd.arg(0) in _FEED_CUTS and cmd.arg(1):
            self._elements.append(Feed(cmd.arg(1)))
        partial = cmd.name == "ESC m" or (cmd.name == "GS V" and cmd.arg(0) in _PARTIAL_CUTS)
        if self._lost or not printable:
            self.discarded_jobs += 1
        else:
            ticket = PrintedTicket(
                index=len(self.tickets) + 1,
                elements=tuple(self._elements),
                cut="partial" if partial else "full",
                raw=bytes(self._raw),
                unknown_commands=tuple(self._unknown),
            )
            self.tickets.append(ticket)
            self._finished.append(ticket)
        self._reset_job()

    # -- printing ----------------------------------------------------------------------------

    @property
    def _align(self) -> str:
        return ALIGNMENTS[self.modes.align]

    def _text(self, data: bytes) -> None:
        line = self._line
        if line.align is None:
            line.align = self.modes.align  # ESC a counts only at the start of a line
        key = self.modes.text_key()
        if line.segments and line.segments[-1][0] == key:
            line.segments[-1][1].extend(data)
        else:
            line.segments.append((key, bytearray(data)))

    def _print_line(self, *, feed_if_empty: bool = False) -> None:
        line = self._line
        self._line = _Line()
        if line.band is not None:
            self._add_band(line.band)
        if line.segments:
            runs = tuple(run for key, data in line.segments for run in self._runs(key, bytes(data)))
            align = ALIGNMENTS[line.align if line.align is not None else self.modes.align]
            self._elements.append(TextLine(runs, align))
        elif feed_if_empty and line.band is None:
            self._elements.append(Feed(self.modes.line_spacing))

    def _runs(self, key: tuple, data: bytes) -> Iterable[TextRun]:
        ank_w, ank_h, kanji_w, kanji_h, bold, underline, invert, chinese, codepage = key
        if chinese:
            text = data.decode(self.encoding, errors="replace")
        else:
            text = data.decode(CODE_PAGES.get(codepage, "cp437"), errors="replace")
        text = text.replace("\t", "    ")
        start = 0
        for i in range(1, len(text) + 1):
            if i == len(text) or _double_byte(text[i], chinese) != _double_byte(text[start], chinese):
                double = _double_byte(text[start], chinese)
                width, height = (kanji_w, kanji_h) if double else (ank_w, ank_h)
                yield TextRun(text[start:i], width, height, bold, underline, invert, double)
                start = i

    def _add_image(self, image: BitImage) -> None:
        self._print_line()
        self._elements.append(image)

    def _add_band(self, band: BitImage) -> None:
        """Stack consecutive ``ESC *`` bands into one image, as they come out on paper."""
        last = self._elements[-1] if self._elements else None
        if (isinstance(last, BitImage) and last.command == "ESC *"
                and last.pixels.shape[1] == band.pixels.shape[1]
                and (last.scale_x, last.scale_y) == (band.scale_x, band.scale_y)):
            stacked = np.vstack([last.pixels, band.pixels])
            self._elements[-1] = replace(last, pixels=stacked)
        else:
            self._elements.append(band)

    # -- handlers ----------------------------------------------------------------------------

    def _on_esc_at(self, _cmd: Command) -> None:
        self._line = _Line()  # ESC @ clears the print buffer
        self.modes = _Modes(chinese=self.chinese_default)

    def _on_esc_bang(self, cmd: Command) -> None:
        n = cmd.arg(0)
        m = self.modes
        m.bold = bool(n & 0x08)
        m.ank_height = 2 if n & 0x10 else 1
        m.ank_width = 2 if n & 0x20 else 1
        m.underline = 1 if n & 0x80 else 0

    def _on_gs_bang(self, cmd: Command) -> None:
        n = cmd.arg(0)
        width, height = (n >> 4 & 0x07) + 1, (n & 0x07) + 1
        m = self.modes
        m.ank_width = m.kanji_width = width
        m.ank_height = m.kanji_height = height

    def _on_fs_bang(self, cmd: Command) -> None:
        n = cmd.arg(0)
        self.modes.kanji_width = 2 if n & 0x04 else 1
        self.modes.kanji_height = 2 if n & 0x08 else 1

    def _on_fs_w(self, cmd: Command) -> None:
        size = 2 if cmd.arg(0) & 0x01 else 1
        self.modes.kanji_width = self.modes.kanji_height = size

    def _on_esc_a(self, cmd: Command) -> None:
        n = cmd.arg(0)
        n = n - 48 if n >= 48 else n
        if 0 <= n < len(ALIGNMENTS):
            self.modes.align = n

    def _on_esc_minus(self, cmd: Command) -> None:
        n = cmd.arg(0)
        self.modes.underline = (n - 48 if n >= 48 else n) if n in (0, 1, 2, 48, 49, 50) else 0

    def _on_esc_d(self, cmd: Command) -> None:
        self._print_line()
        if cmd.arg(0):
            self._elements.append(Feed(cmd.arg(0) * self.modes.line_spacing))

    def _on_esc_j(self, cmd: Command) -> None:
        self._print_line()
        if cmd.arg(0):
            self._elements.append(Feed(cmd.arg(0)))

    def _on_gs_k_2d(self, cmd: Command) -> None:
        """``GS ( k``: args are cn, fn, parameters."""
        cn, fn = cmd.arg(0), cmd.arg(1)
        if cn != QR_CODE_TYPE:
            if fn == 0x51:  # "print symbol" of another 2D code (PDF417, MaxiCode …)
                self._unknown.append(f"GS ( k cn={cn}")
            return
        m = self.modes
        if fn == 0x41:  # select model: 49 model 1, 50 model 2, 51 micro QR
            m.qr_model = cmd.arg(2, 50) - 48
        elif fn == 0x43:  # module size in dots
            m.qr_size = cmd.arg(2, 3)
        elif fn == 0x45:  # error correction level
            m.qr_ec = QR_EC_LEVELS.get(cmd.arg(2), "L")
        elif fn == 0x50:  # store data: m (always '0') then the data
            m.qr_data = bytes(cmd.args[3:])
        elif fn == 0x51:  # print the stored symbol
            self._print_line()
            self._elements.append(QrSymbol(
                payload=_decode_payload(m.qr_data, self.encoding),
                data=m.qr_data,
                module_size=m.qr_size,
                error_correction=m.qr_ec,
                model=m.qr_model,
                align=self._align,
            ))

    def _on_gs_v0(self, cmd: Command) -> None:
        """``GS v 0 m xL xH yL yH d…``: raster bit image, printed at once."""
        mode = cmd.arg(0)
        width_bytes = cmd.arg(1) | cmd.arg(2) << 8
        height = cmd.arg(3) | cmd.arg(4) << 8
        pixels = _unpack_rows(cmd.args[5:], width_bytes * 8, height, width_bytes * 8)
        scale_x, scale_y = (2 if mode & 1 else 1), (2 if mode & 2 else 1)
        self._add_image(BitImage(pixels, scale_x, scale_y, self._align, "GS v 0"))

    def _on_graphics(self, cmd: Command) -> None:
        """``GS ( L`` / ``GS 8 L``: fn 112 stores a raster graphic, fn 50 prints it."""
        fn = cmd.arg(1)
        if fn == 112:
            scale_x, scale_y = max(1, cmd.arg(3)), max(1, cmd.arg(4))
            width = cmd.arg(6) | cmd.arg(7) << 8
            height = cmd.arg(8) | cmd.arg(9) << 8
            row_bytes = (width + 7) // 8
            pixels = _unpack_rows(cmd.args[10:], row_bytes * 8, height, width)
            self.modes.graphics = BitImage(pixels, scale_x, scale_y, "left", cmd.name)
        elif fn == 50 and self.modes.graphics is not None:
            self._add_image(replace(self.modes.graphics, align=self._align))

    def _on_esc_star(self, cmd: Command) -> None:
        """``ESC * m nL nH d…``: one band of a column-format bit image, printed with the line."""
        mode = cmd.arg(0)
        columns = cmd.arg(1) | cmd.arg(2) << 8
        dots = 8 if mode in (0, 1) else 24
        data = np.frombuffer(cmd.args[3:], dtype=np.uint8).reshape(columns, dots // 8)
        pixels = np.unpackbits(data, axis=1).T.astype(bool)
        scale_x = 2 if mode in (0, 32) else 1
        scale_y = 3 if dots == 8 else 1  # 8-dot modes print at a third of the vertical density
        if self._line.align is None:
            self._line.align = self.modes.align
        self._line.band = BitImage(pixels, scale_x, scale_y, self._align, "ESC *")


def _setter(attr: str, convert: Callable[[int], object]) -> Callable[[PrinterModel, Command], None]:
    def handler(model: PrinterModel, cmd: Command) -> None:
        setattr(model.modes, attr, convert(cmd.arg(0)))

    return handler


def _double_byte(char: str, chinese: bool) -> bool:
    return chinese and ord(char) >= 0x80


def _decode_payload(data: bytes, fallback: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode(fallback, errors="replace")


def _unpack_rows(data: bytes, row_bits: int, height: int, width: int) -> np.ndarray:
    bits = np.unpackbits(np.frombuffer(data, dtype=np.uint8))
    return bits[: row_bits * height].reshape(height, row_bits)[:, :width].astype(bool)


_HANDLERS: dict[str, Callable[[PrinterModel, Command], None]] = {
    "TEXT": lambda model, cmd: model._text(cmd.args),
    "HT": lambda model, cmd: model._text(b"\t"),
    "LF": lambda model, cmd: model._print_line(feed_if_empty=True),
    "FF": lambda model, cmd: model._print_line(),
    "ESC @": PrinterModel._on_esc_at,
    "ESC !": PrinterModel._on_esc_bang,
    "ESC E": _setter("bold", lambda n: bool(n & 1)),
    "ESC G": _setter("double_strike", lambda n: bool(n & 1)),
    "ESC -": PrinterModel._on_esc_minus,
    "ESC a": PrinterModel._on_esc_a,
    "ESC t": _setter("codepage", int),
    "ESC 2": lambda model, cmd: setattr(model.modes, "line_spacing", DEFAULT_LINE_SPACING),
    "ESC 3": _setter("line_spacing", int),
    "ESC d": PrinterModel._on_esc_d,
    "ESC J": PrinterModel._on_esc_j,
    "ESC *": PrinterModel._on_esc_star,
    "GS !": PrinterModel._on_gs_bang,
    "GS B": _setter("invert", lambda n: bool(n & 1)),
    "GS ( k": PrinterModel._on_gs_k_2d,
    "GS v 0": PrinterModel._on_gs_v0,
    "GS ( L": PrinterModel._on_graphics,
    "GS 8 L": PrinterModel._on_graphics,
    "FS &": lambda model, cmd: setattr(model.modes, "chinese", True),
    "FS .": lambda model, cmd: setattr(model.modes, "chinese", False),
    "FS !": PrinterModel._on_fs_bang,
    "FS W": PrinterModel._on_fs_w,
}


def decode_escpos(data: bytes, *, chinese_mode: bool = True, encoding: str = "gb18030") -> list[PrintedTicket]:
    """Decode a captured ESC/POS stream (e.g. a python-escpos ``Dummy``'s output) into tickets."""
    model = PrinterModel(chinese_mode=chinese_mode, encoding=encoding)
    model.feed_bytes(data)
    return model.tickets
