"""Draw a :class:`PrintedTicket` as a PNG the way a 203 dpi thermal printer would print it.

Character cells follow ESC/POS font A: 12x24 dots for single-byte characters, 24x24 for
Chinese characters, multiplied by the character size. Chinese needs a CJK font: one is looked
for among the usual system fonts (Noto/Source Han, WenQuanYi, AR PL, Droid Sans Fallback,
and whatever ``fc-list :lang=zh`` reports); without one every character the font lacks is
drawn as a box, so the layout stays readable.
"""

from __future__ import annotations

import shutil
import subprocess
from functools import lru_cache
from pathlib import Path

import qrcode
from PIL import Image, ImageDraw, ImageFont

from simulators.printer.decoder import BitImage, Feed, PrintedTicket, QrSymbol, TextLine, TextRun

#: printable width of 80 mm paper at 203 dpi
PAPER_WIDTH_DOTS = 576
CELL_HEIGHT = 24
ANK_CELL_WIDTH = 12
KANJI_CELL_WIDTH = 24
FONT_PIXELS = 22
MARGIN = 16
LINE_GAP = 6  # dots between text rows (default line spacing minus the 24-dot cell)

CJK_FONT_CANDIDATES = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/source-han-sans/SourceHanSansSC-Regular.otf",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/wenquanyi/wqy-microhei/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
    "/System/Library/Fonts/PingFang.ttc",
    "/System/Library/Fonts/STHeiti Light.ttc",
    "C:/Windows/Fonts/msyh.ttc",
    "C:/Windows/Fonts/simsun.ttc",
)
LATIN_FONT_CANDIDATES = ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",)
_PROBE_CHAR = "检"
_MISSING_PROBE = "\U0010fffd"  # a private-use code point no font draws: its mask is the .notdef


def find_cjk_font() -> str | None:
    """Path of a font with Chinese glyphs on this machine, or None."""
    for candidate in CJK_FONT_CANDIDATES:
        if Path(candidate).is_file():
            return candidate
    if shutil.which("fc-list"):
        try:
            listed = subprocess.run(
                ["fc-list", ":lang=zh", "file"], capture_output=True, text=True, timeout=10, check=False
            ).stdout
        except (OSError, subprocess.SubprocessError):
            return None
        files = sorted(line.split(":")[0].strip() for line in listed.splitlines() if line.strip())
        return next((f for f in files if Path(f).is_file()), None)
    return None


class TicketFont:
    """The font used for drawing, and which characters it can draw."""

    def __init__(self, path: str | None = None, *, search: bool = True) -> None:
        """``path`` forces a font; otherwise a CJK font is searched for (unless ``search`` is
        False), then a Latin font, then Pillow's built-in font."""
        chosen = path or (find_cjk_font() if search else None)
        if chosen is None:
            chosen = next((c for c in LATIN_FONT_CANDIDATES if Path(c).is_file()), None)
        if chosen is not None:
            self.font: ImageFont.FreeTypeFont | ImageFont.ImageFont = ImageFont.truetype(chosen, FONT_PIXELS)
            self.path: str | None = chosen
        else:
            self.font = ImageFont.load_default(FONT_PIXELS)
            self.path = None
        self._glyphs: dict[str, bool] = {}
        self._missing_mask = self._mask(_MISSING_PROBE)
        self.has_cjk = self.has_glyph(_PROBE_CHAR)

    @property
    def description(self) -> str:
        name = self.path or "Pillow built-in font"
        if self.has_cjk:
            return name
        return f"{name} (no Chinese glyphs: Chinese characters drawn as boxes)"

    def _mask(self, char: str) -> bytes:
        mask = self.font.getmask(char)
        return bytes(mask.size) + bytes(mask)

    def has_glyph(self, char: str) -> bool:
        known = self._glyphs.get(char)
        if known is None:
            known = char.isspace() or 0x20 <= ord(char) < 0x7F or self._mask(char) != self._missing_mask
            self._glyphs[char] = known
        return known


@lru_cache(maxsize=4)
def default_font(path: str | None = None) -> TicketFont:
    return TicketFont(path)


def _cell(font: TicketFont, char: str, double_byte: bool, width: int, height: int, bold: bool) -> Image.Image:
    base_w = KANJI_CELL_WIDTH if double_byte else ANK_CELL_WIDTH
    if char.isspace():
        return Image.new("L", (base_w * width, CELL_HEIGHT * height), 255)
    cell = Image.new("L", (base_w, CELL_HEIGHT), 255)
    draw = ImageDraw.Draw(cell)
    if font.has_glyph(char):
        draw.text(
            (base_w / 2, CELL_HEIGHT / 2), char, font=font.font, fill=0, anchor="mm",
            stroke_width=1 if bold else 0, stroke_fill=0,
        )
    else:
        draw.rectangle((2, 2, base_w - 3, CELL_HEIGHT - 3), outline=0, width=2 if bold else 1)
    if (width, height) != (1, 1):
        cell = cell.resize((base_w * width, CELL_HEIGHT * height), Image.Resampling.NEAREST)
    return cell


def _draw_text_line(line: TextLine, font: TicketFont, paper_width: int) -> Image.Image:
    """The line's rows (wrapped at the paper width, as the printer wraps), aligned."""
    rows: list[list[Image.Image]] = [[]]
    used = 0
    for run in line.runs:
        for char in run.text:
            cell = _styled_cell(font, char, run)
            if used + cell.width > paper_width and rows[-1]:
                rows.append([])
                used = 0
            rows[-1].append(cell)
            used += cell.width
    images = []
    for cells in rows:
        row_w = sum(c.width for c in cells)
        row_h = max((c.height for c in cells), default=CELL_HEIGHT)
        row = Image.new("L", (paper_width, row_h + LINE_GAP), 255)
        x = _offset(line.align, row_w, paper_width)
        for c in cells:
            row.paste(c, (x, row_h - c.height))  # characters share the baseline
            x += c.width
        images.append(row)
    return _stack(images, paper_width)


def _styled_cell(font: TicketFont, char: str, run: TextRun) -> Image.Image:
    cell = _cell(font, char, run.double_byte, run.width, run.height, run.bold)
    if run.underline:
        draw = ImageDraw.Draw(cell)
        thickness = run.underline
        draw.rectangle((0, cell.height - thickness, cell.width, cell.height), fill=0)
    if run.invert:
        cell = Image.eval(cell, lambda v: 255 - v)
    return cell


def _offset(align: str, width: int, paper_width: int) -> int:
    if align == "center":
        return max(0, (paper_width - width) // 2)
    if align == "right":
        return max(0, paper_width - width)
    return 0


def _bitmap(pixels, align: str, paper_width: int) -> Image.Image:
    image = Image.fromarray(((~pixels) * 255).astype("uint8"), mode="L")
    canvas = Image.new("L", (paper_width, image.height), 255)
    canvas.paste(image.crop((0, 0, min(image.width, paper_width), image.height)),
                 (_offset(align, image.width, paper_width), 0))
    return canvas


def _qr(symbol: QrSymbol, paper_width: int) -> Image.Image:
    levels = {
        "L": qrcode.constants.ERROR_CORRECT_L,
        "M": qrcode.constants.ERROR_CORRECT_M,
        "Q": qrcode.constants.ERROR_CORRECT_Q,
        "H": qrcode.constants.ERROR_CORRECT_H,
    }
    code = qrcode.QRCode(box_size=max(1, symbol.module_size), border=2,
                         error_correction=levels[symbol.error_correction])
    code.add_data(symbol.data)
    code.make(fit=True)
    image = code.make_image().get_image().convert("L")
    canvas = Image.new("L", (paper_width, image.height), 255)
    canvas.paste(image, (_offset(symbol.align, image.width, paper_width), 0))
    return canvas


def _stack(images: list[Image.Image], paper_width: int) -> Image.Image:
    height = sum(i.height for i in images)
    out = Image.new("L", (paper_width, max(1, height)), 255)
    y = 0
    for image in images:
        out.paste(image, (0, y))
        y += image.height
    return out


def render_ticket_image(
    ticket: PrintedTicket,
    *,
    font: TicketFont | str | None = None,
    paper_width: int = PAPER_WIDTH_DOTS,
) -> Image.Image:
    """A grayscale image of the ticket: white paper, black print, a dashed line at the cut."""
    if not isinstance(font, TicketFont):
        font = default_font(font)
    parts: list[Image.Image] = []
    for element in ticket.elements:
        if isinstance(element, TextLine):
            parts.append(_draw_text_line(element, font, paper_width))
        elif isinstance(element, Feed):
            parts.append(Image.new("L", (paper_width, max(1, element.dots)), 255))
        elif isinstance(element, QrSymbol):
            parts.append(_qr(element, paper_width))
        elif isinstance(element, BitImage):
            parts.append(_bitmap(element.scaled(), element.align, paper_width))
    body = _stack(parts, paper_width)
    page = Image.new("L", (paper_width + 2 * MARGIN, body.height + 2 * MARGIN + 2), 255)
    page.paste(body, (MARGIN, MARGIN))
    draw = ImageDraw.Draw(page)
    y = page.height - 2
    dash = 8
    for x in range(0, page.width, 2 * dash):
        draw.line((x, y, x + dash, y), fill=0, width=1)
    return page
