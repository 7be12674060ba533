"""PrinterConfig from plain dicts, connection objects, and unreachable printers."""

from __future__ import annotations

import socket

import pytest
from escpos.printer import Dummy, File, Network, Usb

from drivers.errors import DeviceNotFound
from drivers.printer import PrinterConfig, TicketPrinter
from drivers.printer.connection import UrlSerial, build_connection


def test_defaults():
    config = PrinterConfig.from_dict({})
    assert (config.connection, config.host, config.port) == ("network", "127.0.0.1", 9100)
    assert config.qr_native is True
    assert config.encoding == "gb18030"
    assert config.status_timeout <= config.timeout <= 5, "a dead printer never blocks for long"


def test_url_alias_hex_ids_and_case():
    config = PrinterConfig.from_dict(
        {"connection": "usb", "vendor_id": "0x0416", "product_id": "0x5011", "cut_mode": "part",
         "qr_error_correction": "h"}
    )
    assert (config.vendor_id, config.product_id) == (0x0416, 0x5011)
    assert config.cut_mode == "PART" and config.qr_error_correction == "H"
    assert PrinterConfig.from_dict({"url": "socket://127.0.0.1:7000"}).device == "socket://127.0.0.1:7000"


@pytest.mark.parametrize(
    ("cfg", "message"),
    [
        ({"prot": 9100}, "unknown setting"),
        ({"device": "/dev/ttyS0", "url": "/dev/ttyS1"}, "either"),
        ({"connection": "bluetooth"}, "connection must be"),
        ({"connection": "usb"}, "vendor_id"),
        ({"number_scale": 9}, "number_scale"),
        ({"qr_size": 0}, "qr_size"),
        ({"status_timeout": 0}, "positive"),
        ({"flow_control": "magic"}, "flow_control"),
    ],
)
def test_invalid_config_is_rejected(cfg, message):
    with pytest.raises(ValueError, match=message):
        PrinterConfig.from_dict(cfg)


def test_unknown_encoding_is_rejected():
    with pytest.raises(LookupError):
        PrinterConfig.from_dict({"encoding": "no-such-codec"})


def test_build_connection_per_kind(tmp_path):
    net = build_connection(PrinterConfig(host="10.0.0.9", port=9101, timeout=2.5))
    assert isinstance(net, Network)
    assert (net.host, net.port, net.timeout) == ("10.0.0.9", 9101, 2.5)
    assert net.profile.profile_data["media"]["width"]["pixels"] == 576

    ser = build_connection(PrinterConfig(connection="serial", device="loop://", baudrate=19200,
                                         flow_control="rtscts"))
    assert isinstance(ser, UrlSerial)
    assert (ser.devfile, ser.baudrate, ser.rtscts, ser.dsrdtr) == ("loop://", 19200, True, False)

    usb_config = PrinterConfig(connection="usb", vendor_id=0x0416, product_id=0x5011)
    if Usb.is_usable():
        usb = build_connection(usb_config)
        assert isinstance(usb, Usb)
        assert usb.usb_args == {"idVendor": 0x0416, "idProduct": 0x5011}
    else:
        with pytest.raises(DeviceNotFound, match="pyusb"):
            build_connection(usb_config)

    assert isinstance(build_connection(PrinterConfig(connection="file", device=str(tmp_path / "lp"))), File)
    assert isinstance(build_connection(PrinterConfig(connection="dummy")), Dummy)


def test_serial_url_opens_through_serial_for_url():
    printer = UrlSerial("loop://", baudrate=9600, timeout=1)
    printer.open()
    try:
        printer._raw(b"\x10\x04\x01")
        assert printer.device.read(3) == b"\x10\x04\x01"  # loop:// echoes what was written
    finally:
        printer.close()


def test_unreachable_network_printer_is_not_found():
    # a bound socket that never listens: connecting to it is refused, and the port stays ours
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        port = blocker.getsockname()[1]
        printer = TicketPrinter.from_config({"port": port, "timeout": 2.0})
        with pytest.raises(DeviceNotFound) as caught:
            printer.status()
    assert caught.value.code == "not_found"
    assert caught.value.device == "ticket_printer"
    assert not printer.is_open


def test_missing_serial_port_and_file_are_not_found(tmp_path):
    serial_printer = TicketPrinter.from_config(
        {"connection": "serial", "device": str(tmp_path / "ttyUSB9"), "name": "kiosk-2"}
    )
    with pytest.raises(DeviceNotFound, match="kiosk-2"):
        serial_printer.status()
    file_printer = TicketPrinter.from_config({"connection": "file", "device": str(tmp_path / "no" / "lp0")})
    with pytest.raises(DeviceNotFound):
        file_printer.open()


def test_usb_printer_that_cannot_be_opened_is_not_found():
    printer = TicketPrinter.from_config({"connection": "usb", "vendor_id": 0xFFFE, "product_id": 0xFFFE})
    with pytest.raises(DeviceNotFound):
        printer.open()
