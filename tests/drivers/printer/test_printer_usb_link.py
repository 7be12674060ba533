"""Status over USB, with a stand-in for the pyusb device behind escpos's ``Usb`` class."""

from __future__ import annotations

import errno
from array import array

import pytest
from escpos.printer import Usb

from drivers.errors import DeviceNotFound
from drivers.printer import PrinterCondition, PrinterConfig, TicketPrinter
from simulators.printer import EscPosParser, Faults, decode_escpos


class UsbTimeout(OSError):
    """What pyusb's USBTimeoutError looks like to the driver: an error with errno ETIMEDOUT."""

    def __init__(self) -> None:
        super().__init__(errno.ETIMEDOUT, "Operation timed out")


class FakeUsbDevice:
    """Bulk endpoints of a USB printer: answers DLE EOT from ``faults`` on the in endpoint."""

    def __init__(self, faults: Faults, *, answer: bool = True, timeout_error: type[Exception] = UsbTimeout):
        self.faults = faults
        self.answer = answer
        self.timeout_error = timeout_error
        self.parser = EscPosParser()
        self.written = bytearray()
        self.in_buffer = bytearray()
        self.broken = False

    def write(self, endpoint: int, data: bytes, timeout: int) -> int:
        assert endpoint == 0x01 and timeout > 0
        self.written += data
        for cmd in self.parser.feed(bytes(data)):
            if cmd.name == "DLE EOT" and self.answer:
                self.in_buffer.append(self.faults.status_byte(cmd.arg(0)))
        return len(data)

    def read(self, endpoint: int, size: int, timeout: int) -> array:
        assert endpoint == 0x82
        if self.broken:
            raise OSError(errno.ENODEV, "No such device (it may have been disconnected)")
        if not self.in_buffer:
            raise self.timeout_error()
        chunk = bytes(self.in_buffer[:size])
        del self.in_buffer[:size]
        return array("B", chunk)


class FakeUsbPrinter(Usb):
    """escpos's Usb class with the pyusb device swapped for :class:`FakeUsbDevice`."""

    def __init__(self, device: FakeUsbDevice) -> None:
        super().__init__(0x0416, 0x5011, timeout=1000, profile="NT-80-V-UL")
        self._device = device

    def open(self, raise_not_found: bool = True) -> None:
        raise AssertionError("a borrowed connection is never opened by the driver")

    def close(self) -> None:
        self._device = False


def usb_printer(device: FakeUsbDevice) -> TicketPrinter:
    config = PrinterConfig(connection="usb", vendor_id=0x0416, product_id=0x5011, status_timeout=0.2)
    return TicketPrinter(config, connection=FakeUsbPrinter(device))


def test_usb_status_and_print(ticket):
    device = FakeUsbDevice(Faults(paper_near_end=True))
    device.in_buffer += b"\x7f"  # a stale byte from an earlier, abandoned query
    printer = usb_printer(device)
    status = printer.status()
    assert status.condition is PrinterCondition.PAPER_NEAR_END
    assert status.raw == bytes((0x12, 0x12, 0x12, 0x1E))

    result = printer.print_ticket(ticket)
    assert result.verified and result.warnings == (PrinterCondition.PAPER_NEAR_END,)
    (printed,) = decode_escpos(bytes(device.written))
    assert printed.largest_line.text == "A012"


@pytest.mark.parametrize("timeout_error", [UsbTimeout, TimeoutError])
def test_usb_printer_that_does_not_answer_is_offline(timeout_error):
    printer = usb_printer(FakeUsbDevice(Faults(), answer=False, timeout_error=timeout_error))
    assert printer.status().condition is PrinterCondition.NO_ANSWER


def test_usb_printer_unplugged_is_not_found():
    device = FakeUsbDevice(Faults())
    device.broken = True
    with pytest.raises(DeviceNotFound, match="connection lost"):
        usb_printer(device).status()
