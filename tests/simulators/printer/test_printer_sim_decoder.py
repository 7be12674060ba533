"""Decoding ESC/POS streams into printed tickets, and drawing them."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from escpos.printer import Dummy

from simulators.printer import BitImage, EscPosParser, PrinterModel, QrSymbol, decode_escpos
from simulators.printer.render import PAPER_WIDTH_DOTS, TicketFont, find_cjk_font

URL = "https://station.example.cn/p/5d1e"


def dummy() -> Dummy:
    return Dummy(profile="NT-80-V-UL")


def gb(text: str) -> bytes:
    return text.encode("gb18030")


def test_attributes_of_each_line():
    d = dummy()
    d.set(align="center", bold=True, custom_size=True, width=3, height=2)
    d._raw(gb("大字\n"))
    d.set_with_default()
    d.set(underline=1, invert=True, align="right")
    d.textln("flagged")
    d.set_with_default()
    d.textln("plain")
    d.cut()
    (ticket,) = decode_escpos(d.output)
    big, flagged, plain = ticket.lines
    assert (big.text, big.align, big.width, big.height, big.bold) == ("大字", "center", 3, 2, True)
    assert (flagged.align, flagged.underline, flagged.invert, flagged.bold) == ("right", 1, True, False)
    assert (plain.align, plain.width, plain.height, plain.underline) == ("left", 1, 1, 0)
    assert big.describe() == "[center 3x2 bold] 大字"


def test_esc_bang_enlarges_only_single_byte_characters_in_chinese_mode():
    d = dummy()
    d.set(double_width=True, double_height=True)  # python-escpos uses ESC ! for this
    d._raw(gb("A号\n"))
    d._raw(b"\x1c!\x0c")  # FS ! : double width and height for Chinese characters
    d._raw(gb("号\n"))
    d.cut()
    (ticket,) = decode_escpos(d.output)
    ascii_run, chinese_run = ticket.lines[0].runs
    assert (ascii_run.text, ascii_run.width, ascii_run.height) == ("A", 2, 2)
    assert (chinese_run.text, chinese_run.width, chinese_run.height) == ("号", 1, 1)
    assert (ticket.lines[1].width, ticket.lines[1].height) == (2, 2)


def test_leaving_chinese_mode_decodes_through_the_selected_code_page():
    d = dummy()
    d._raw(b"\x1c.")  # FS . : cancel Chinese character mode
    d.textln("café")  # python-escpos picks a single-byte code page with ESC t
    d.cut()
    assert decode_escpos(d.output)[0].lines[0].text == "café"
    # a printer left in Chinese mode reads the same bytes as GB18030, not as 'é'
    chinese = dummy()
    chinese.textln("café")
    chinese.cut()
    assert decode_escpos(chinese.output)[0].lines[0].text != "café"


def test_alignment_counts_only_at_the_start_of_a_line():
    stream = b"left " + b"\x1ba\x01" + b"still left\n" + b"centred\n" + b"\x1dV\x00"
    first, second = decode_escpos(stream)[0].lines
    assert (first.text, first.align) == ("left still left", "left")
    assert second.align == "center"


def test_esc_at_discards_the_unprinted_line():
    (ticket,) = decode_escpos(b"lost\x1b@kept\n\x1dV\x01")
    assert ticket.text == "kept"
    assert ticket.cut == "partial"


def test_jobs_are_split_at_each_cut_and_an_uncut_tail_is_not_a_ticket():
    model = PrinterModel()
    model.feed_bytes(b"one\n\x1dV\x00two\n\x1dVB\x10three\n")
    assert [t.text for t in model.tickets] == ["one", "two"]
    assert [t.index for t in model.tickets] == [1, 2]
    assert model.job_in_progress
    assert model.tickets[1].raw == b"two\n\x1dVB\x10"


def test_chinese_character_split_between_two_chunks():
    data = gb("检测站\n") + b"\x1dV\x00"
    model = PrinterModel()
    parser = EscPosParser()
    model.feed_bytes(data[:3], parser)  # cuts the second character in half
    model.feed_bytes(data[3:], parser)
    assert model.tickets[0].text == "检测站"


def test_native_qr_symbol():
    d = dummy()
    d.set(align="center")
    d.qr(URL, native=True, size=5, ec=2)
    d.cut()
    (ticket,) = decode_escpos(d.output)
    (symbol,) = [e for e in ticket.elements if isinstance(e, QrSymbol)]
    assert (symbol.payload, symbol.module_size, symbol.error_correction, symbol.model, symbol.align) == (
        URL, 5, "Q", 2, "center"
    )
    assert ticket.qr_payloads == [URL]


@pytest.mark.parametrize(("impl", "command"), [
    ("bitImageRaster", "GS v 0"),
    ("graphics", "GS ( L"),
    ("bitImageColumn", "ESC *"),
])
def test_qr_printed_as_an_image_is_read_back_with_opencv(impl, command):
    d = dummy()
    d.qr(URL, native=False, size=4, image_arguments={"impl": impl, "center": False})
    d.cut()
    (ticket,) = decode_escpos(d.output)
    (image,) = ticket.images
    assert isinstance(image, BitImage) and image.command == command
    assert ticket.native_qr_payloads == []
    assert ticket.image_qr_payloads == [URL]


def test_an_image_without_a_qr_code_yields_no_payload():
    d = dummy()
    d._raw(b"\x1dv0\x00\x02\x00\x02\x00\xf0\x0f\x0f\xf0")
    d.cut()
    assert decode_escpos(d.output)[0].image_qr_payloads == []


def test_describe_lists_lines_and_qr():
    d = dummy()
    d._raw(gb("取号\n"))
    d.qr(URL, native=True)
    d.cut()
    text = decode_escpos(d.output)[0].describe()
    assert "[left] 取号" in text
    assert f"] {URL}" in text


def test_png_shows_the_qr_code_and_the_text():
    d = dummy()
    d.set(align="center", custom_size=True, width=2, height=2)
    d._raw(gb("A012\n"))
    d.qr(URL, native=True, size=6)
    d.cut()
    (ticket,) = decode_escpos(d.output)
    image = ticket.render_png()
    assert image.width > PAPER_WIDTH_DOTS
    pixels = np.array(image)
    text, _points, _code = cv2.QRCodeDetector().detectAndDecode(pixels)
    assert text == URL
    assert (pixels[: image.height // 4] < 128).any(), "the number is drawn above the QR code"


def test_font_without_chinese_glyphs_draws_boxes():
    latin = TicketFont(search=False)
    assert not latin.has_cjk
    assert "boxes" in latin.description
    assert latin.has_glyph("A") and not latin.has_glyph("检")
    (ticket,) = decode_escpos(gb("检测站\n") + b"\x1dV\x00")
    boxed = np.array(ticket.render_png(font=latin))
    assert (boxed < 128).any()


def test_cjk_font_is_used_when_the_machine_has_one():
    path = find_cjk_font()
    font = TicketFont(path) if path else TicketFont(search=False)
    assert font.has_cjk == bool(path)
    assert font.has_glyph("检") == bool(path)
