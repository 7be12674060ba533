"""Byte-exact checks of the ticket layout on python-escpos's in-memory ``Dummy`` printer."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from escpos.printer import Dummy, File

from drivers.printer import TicketLayout, TicketPrinter, render_ticket
from simulators.printer import decode_escpos

ESC, GS, FS = b"\x1b", b"\x1d", b"\x1c"
PROFILE = "NT-80-V-UL"


def render(ticket, **layout) -> bytes:
    dummy = Dummy(profile=PROFILE)
    render_ticket(dummy, ticket, TicketLayout(**layout))
    return dummy.output


def test_chinese_line_is_sent_as_raw_gb18030(ticket):
    out = render(ticket)
    expected = "车牌号码：浙D·1**45".encode("gb18030") + b"\n"
    assert expected == b"\xb3\xb5\xc5\xc6\xba\xc5\xc2\xeb\xa3\xba\xd5\xe3D\xa1\xa41**45\n"
    assert expected in out
    assert ESC + b"t" not in out, "native layout never switches single-byte code pages"


@pytest.mark.parametrize("line", ["【】", "——————"])
def test_punctuation_only_lines_are_gb18030_not_a_code_page(make_ticket, line):
    # python-escpos's own text() sends such a line through a single-byte code page:
    # '【】' becomes '??', '——' becomes cp1257 bytes that a Chinese-mode printer misreads
    plain = Dummy(profile=PROFILE)
    plain.text(line)
    assert line.encode("gb18030") not in plain.output

    out = render(make_ticket(footer_lines=(line,)))
    assert line.encode("gb18030") + b"\n" in out
    (printed,) = decode_escpos(out)
    assert printed.lines[-1].text == line


def test_ticket_number_is_printed_large_and_bold(ticket):
    out = render(ticket)
    # GS ! 0x11 = double width and double height ("quad"), then bold on, then the number
    assert GS + b"!\x11" + ESC + b"E\x01" + b"A012\n" + GS + b"!\x00" in out

    bigger = render(ticket, number_scale=4)
    assert GS + b"!\x33" + ESC + b"E\x01" + b"A012\n" in bigger


def test_station_name_is_centred_bold_and_tall(ticket):
    out = render(ticket)
    name = "杭州市西湖机动车检测站".encode("gb18030") + b"\n"
    assert GS + b"!\x01" + ESC + b"E\x01" + ESC + b"a\x01" + name in out


def test_native_qr_commands_carry_the_progress_url(ticket):
    out = render(ticket)
    url = ticket.progress_url.encode()
    store = GS + b"(k" + (len(url) + 3).to_bytes(2, "little") + b"1P0" + url
    assert GS + b"(k\x04\x001A2\x00" in out  # model 2
    assert GS + b"(k\x03\x001C\x06" in out  # module size 6 dots
    assert GS + b"(k\x03\x001E1" in out  # error correction M
    assert store in out
    assert out.index(store) < out.index(GS + b"(k\x03\x001Q0")  # stored, then printed


def test_qr_as_image_sends_a_raster_image_that_decodes_to_the_url(ticket):
    out = render(ticket, qr_native=False)
    assert GS + b"(k" not in out
    assert GS + b"v0" in out
    (printed,) = decode_escpos(out)
    assert printed.image_qr_payloads == [ticket.progress_url]


def test_ticket_starts_with_init_and_chinese_mode_and_ends_with_a_cut(ticket):
    out = render(ticket)
    assert out.startswith(ESC + b"@" + FS + b"&")
    assert out.endswith(ESC + b"d\x06" + GS + b"V\x00")

    partial = render(ticket, cut_mode="PART", chinese_mode=False)
    assert partial.startswith(ESC + b"@" + GS)
    assert FS + b"&" not in partial
    assert partial.endswith(GS + b"V\x01")


def test_lines_come_out_in_ticket_order_with_their_attributes(ticket):
    (printed,) = decode_escpos(render(ticket))
    texts = [line.text for line in printed.lines]
    assert texts == [
        "杭州市西湖机动车检测站",
        "预约",
        "A012",
        "车牌号码：浙D·1**45",
        "取号时间：2024-05-06 08:12",
        "前面等候：3 人",
        "预计等候：约 15 分钟",
        "请到交钥匙区交车",
        "扫码查看办理进度",
        "监督电话：0571-88886666",
        "——————",
        "请妥善保管此票",
    ]
    assert printed.largest_line.text == "A012"
    assert printed.find_line("车牌号码").align == "left"
    assert printed.find_line("请到交钥匙区交车").bold
    assert printed.native_qr_payloads == [ticket.progress_url]


def test_time_is_printed_in_the_zone_it_carries(make_ticket):
    local = make_ticket()
    same_instant_utc = make_ticket(issued_at=local.issued_at.astimezone(UTC))
    assert "取号时间：2024-05-06 08:12".encode("gb18030") in render(local)
    assert "取号时间：2024-05-06 00:12".encode("gb18030") in render(same_instant_utc)


def test_naive_time_and_negative_counts_are_rejected(make_ticket):
    with pytest.raises(ValueError, match="timezone-aware"):
        make_ticket(issued_at=datetime(2024, 5, 6, 8, 12))
    with pytest.raises(ValueError, match="negative"):
        make_ticket(people_ahead=-1)


def test_optional_lines_are_left_out(make_ticket):
    (printed,) = decode_escpos(render(make_ticket(plate="", window_hint="", footer_lines=(),
                                                  people_ahead=0, estimated_wait_min=0)))
    assert printed.find_line("车牌号码") is None
    assert printed.find_line("请到交钥匙区交车") is None
    assert printed.find_line("预计等候").text == "预计等候：无需等候"
    assert printed.lines[-1].text == "监督电话：0571-88886666"


def test_render_works_on_a_file_connection_byte_for_byte(ticket, tmp_path):
    target = tmp_path / "lp0"
    printer = File(str(target), profile=PROFILE)
    printer.open()
    render_ticket(printer, ticket)
    printer.close()
    assert target.read_bytes() == render(ticket)


def test_ticket_printer_on_dummy_prints_without_status(ticket):
    printer = TicketPrinter.from_config({"connection": "dummy"})
    printer.open()
    result = printer.print_ticket(ticket)
    assert printer.connection.output == printer.render(ticket)
    assert result.bytes_sent == len(printer.connection.output)
    assert not result.verified
    assert result.status_before.condition.value == "unknown"
    printer.close()
    assert not printer.is_open
