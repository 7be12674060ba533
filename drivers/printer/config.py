"""Configuration of one ticket printer (取号票打印机), built from a plain dict.

Every setting has its default here, and only here; ``docs/devices/printer.md`` lists them.
"""

from __future__ import annotations

import codecs
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

CONNECTIONS = ("network", "serial", "usb", "file", "dummy")
FLOW_CONTROLS = ("none", "dsrdtr", "rtscts", "xonxoff")
CUT_MODES = ("FULL", "PART")
QR_EC_LEVELS = ("L", "M", "Q", "H")


@dataclass(frozen=True)
class PrinterConfig:
    """Settings of one ticket printer. Build it with :meth:`from_dict`."""

    #: name used in logs and error messages
    name: str = "ticket_printer"
    #: how the printer is reached: network (TCP, raw port 9100), serial, usb, file, dummy
    connection: str = "network"
    host: str = "127.0.0.1"
    port: int = 9100
    #: seconds allowed to connect and to hand a job to the printer
    timeout: float = 3.0
    #: seconds to wait for each ``DLE EOT`` reply before calling the printer unresponsive
    status_timeout: float = 1.0
    #: serial: a pyserial URL (``/dev/ttyUSB0``, ``socket://host:port``, ``rfc2217://…``);
    #: file: the device file (``/dev/usb/lp0``)
    device: str = "/dev/ttyUSB0"
    baudrate: int = 9600
    flow_control: str = "dsrdtr"
    vendor_id: int | None = None
    product_id: int | None = None
    usb_in_ep: int = 0x82
    usb_out_ep: int = 0x01
    #: python-escpos capability profile (paper width, cutter, QR support)
    profile: str = "NT-80-V-UL"
    #: ask the printer for its status before and after every job (needs a two-way link)
    check_status: bool = True
    #: reject status bytes whose fixed bits are wrong (a clone that ignores the spec may need False)
    check_fixed_bits: bool = True
    #: text encoding of the printer's Chinese mode: gb18030, or gbk / gb2312 for older firmware
    encoding: str = "gb18030"
    #: send ``FS &`` (select Chinese character mode) at the start of every ticket
    chinese_mode: bool = True
    #: print the QR code with the printer's own QR engine (``GS ( k``); False sends an image
    qr_native: bool = True
    #: QR module size in dots (1-16)
    qr_size: int = 6
    qr_error_correction: str = "M"
    #: character size multiplier (1-8) of the ticket number; 2 is ESC/POS "quad" size
    number_scale: int = 2
    cut_mode: str = "FULL"

    @classmethod
    def from_dict(cls, cfg: Mapping[str, Any] | None) -> PrinterConfig:
        """Build from a plain dict; unknown keys are rejected so that typos do not pass silently.

        ``url`` is accepted as another name for ``device``; USB ids may be ints or hex strings.
        """
        data = dict(cfg or {})
        if "url" in data:
            if "device" in data:
                raise ValueError("printer config: give either 'device' or 'url', not both")
            data["device"] = data.pop("url")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"printer config: unknown setting(s) {', '.join(unknown)}")
        for key in ("vendor_id", "product_id", "usb_in_ep", "usb_out_ep"):
            if isinstance(data.get(key), str):
                data[key] = int(data[key], 0)
        for key in ("port", "baudrate", "qr_size", "number_scale"):
            if key in data:
                data[key] = int(data[key])
        for key in ("timeout", "status_timeout"):
            if key in data:
                data[key] = float(data[key])
        if "cut_mode" in data:
            data["cut_mode"] = str(data["cut_mode"]).upper()
        if "qr_error_correction" in data:
            data["qr_error_correction"] = str(data["qr_error_correction"]).upper()
        config = cls(**data)
        config.validate()
        return config

    def validate(self) -> None:
        if self.connection not in CONNECTIONS:
            raise ValueError(f"printer config: connection must be one of {CONNECTIONS}")
        if self.flow_control not in FLOW_CONTROLS:
            raise ValueError(f"printer config: flow_control must be one of {FLOW_CONTROLS}")
        if self.cut_mode not in CUT_MODES:
            raise ValueError(f"printer config: cut_mode must be one of {CUT_MODES}")
        if self.qr_error_correction not in QR_EC_LEVELS:
            raise ValueError(f"printer config: qr_error_correction must be one of {QR_EC_LEVELS}")
        if not 1 <= self.qr_size <= 16:
            raise ValueError("printer config: qr_size must be 1-16")
        if not 1 <= self.number_scale <= 8:
            raise ValueError("printer config: number_scale must be 1-8")
        if self.timeout <= 0 or self.status_timeout <= 0:
            raise ValueError("printer config: timeouts must be positive")
        if self.connection == "usb" and (self.vendor_id is None or self.product_id is None):
            raise ValueError("printer config: usb needs vendor_id and product_id")
        codecs.lookup(self.encoding)  # raises LookupError for an unknown encoding
