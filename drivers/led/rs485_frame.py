"""Adapter for the documented RS-485 example protocol of LED strip / window displays.

Frame (all frames, see docs/devices/led.md for the reasoning behind each choice)::

    AA <addr> BB <data area …> <XOR of data area> FF

The *data area* is every byte after ``BB`` up to the XOR byte: the command and, for a show
command, its parameters and text::

    show:   51 54|51 44  <mode> <speed 0-7> <dwell 0-99> <colour> <valid> <text …>
    on/off: 4F 41|4F 46
    probe:  55                      (the display answers the single byte 1B)

The protocol has no escaping. The frame is still unambiguous: the header fields sit at fixed
positions, GBK/GB2312 never produce the byte FF (lead bytes 81–FE, trail bytes 40–FE, ASCII
00–7F), and so the first FF after the header is either the terminator or an XOR byte that
happens to be FF, which the receiver tells apart by the checksum. ``AA`` inside the text (a GBK
trail byte, e.g. 元 = D4 AA) is just data.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import reduce
from operator import xor
from types import MappingProxyType

from drivers.errors import ProtocolError
from drivers.led.bus import Bus
from drivers.led.display import Colour, Display, Effect, UnencodableText

START = 0xAA
SEPARATOR = 0xBB
END = 0xFF

CMD_SHOW = b"\x51\x54"  # "QT": show text in RAM only
CMD_SHOW_SAVE = b"\x51\x44"  # "QD": show and store in flash
CMD_ON = b"\x4f\x41"  # "OA"
CMD_OFF = b"\x4f\x46"  # "OF"
CMD_PROBE = b"\x55"
PROBE_ANSWER = 0x1B
#: ASCII ACK, what boards that acknowledge at all usually send
DEFAULT_ACK_BYTE = 0x06

BYTE_VALUES = range(0x00, 0x100)
ADDRESSES = BYTE_VALUES
SPEEDS = range(0, 8)
DWELLS = range(0, 100)

#: The vendor example's mode numbering. Only 1 (scroll left), 10 (flash) and 11 (instant) are
#: named in the example; 2–9 follow the usual order of such boards. A board that numbers them
#: differently gets its own table through configuration ("modes").
VENDOR_MODES: Mapping[Effect, int] = MappingProxyType(
    {
        Effect.SCROLL_LEFT: 1,
        Effect.SCROLL_RIGHT: 2,
        Effect.SCROLL_UP: 3,
        Effect.SCROLL_DOWN: 4,
        Effect.WIPE_RIGHT: 5,
        Effect.WIPE_LEFT: 6,
        Effect.WIPE_DOWN: 7,
        Effect.WIPE_UP: 8,
        Effect.CURTAIN_OPEN: 9,
        Effect.FLASH: 10,
        Effect.INSTANT: 11,
    }
)
VENDOR_COLOURS: Mapping[Colour, int] = MappingProxyType(
    {Colour.RED: 0, Colour.GREEN: 1, Colour.YELLOW: 2}
)

#: What the ``valid`` byte carries: "flag" = 01 when the frame carries text, 00 when it does not
#: (clears the display); "length" = the number of text bytes.
VALID_VARIANTS = ("flag", "length")
#: Character sets of the boards' font ROMs. GB18030 is deliberately absent: its extra
#: characters are not in the fonts and would come out as garbage.
ENCODINGS = ("gbk", "gb2312")
UNENCODABLE_POLICIES = ("error", "replace")


def checksum(data: bytes) -> int:
    """XOR of all bytes of ``data`` (0 for no bytes)."""
    return reduce(xor, data, 0)


def build_frame(address: int, data: bytes) -> bytes:
    """Wrap a data area into ``AA addr BB data xor FF``."""
    if address not in ADDRESSES:
        raise ValueError(f"address must be 0..255, not {address!r}")
    return bytes((START, address, SEPARATOR)) + data + bytes((checksum(data), END))


def encode_show(
    address: int,
    text: bytes,
    *,
    mode: int,
    speed: int,
    dwell: int,
    colour: int,
    save: bool = False,
    valid: str = "flag",
) -> bytes:
    """A show frame carrying already-encoded ``text``."""
    if END in text:
        raise ValueError("text bytes must not contain FF (the frame terminator)")
    if speed not in SPEEDS:
        raise ValueError(f"speed must be 0..7, not {speed!r}")
    if dwell not in DWELLS:
        raise ValueError(f"dwell must be 0..99, not {dwell!r}")
    if not (0 <= mode <= 0xFF and 0 <= colour <= 0xFF):
        raise ValueError("mode and colour must be single bytes")
    if valid == "flag":
        valid_byte = 1 if text else 0
    elif valid == "length":
        if len(text) > 0xFF:
            raise ValueError("the 'length' variant carries at most 255 text bytes")
        valid_byte = len(text)
    else:
        raise ValueError(f"valid must be one of {VALID_VARIANTS}, not {valid!r}")
    command = CMD_SHOW_SAVE if save else CMD_SHOW
    return build_frame(address, command + bytes((mode, speed, dwell, colour, valid_byte)) + text)


def encode_power(address: int, on: bool) -> bytes:
    return build_frame(address, CMD_ON if on else CMD_OFF)


def encode_probe(address: int) -> bytes:
    return build_frame(address, CMD_PROBE)


def encode_text(
    text: str, encoding: str = "gbk", *, on_unencodable: str = "error", replacement: str = "?"
) -> bytes:
    """Encode display text, refusing control characters and characters outside ``encoding``."""
    if not isinstance(text, str):
        raise TypeError(f"text must be str, not {type(text).__name__}")
    for position, character in enumerate(text):
        if unicodedata.category(character) == "Cc":
            raise ValueError(
                f"control character U+{ord(character):04X} at position {position} cannot be shown"
            )
    try:
        return text.encode(encoding)
    except UnicodeEncodeError as exc:
        if on_unencodable == "error":
            raise UnencodableText(text, exc.start, encoding) from None
    out = bytearray()
    for character in text:
        try:
            out += character.encode(encoding)
        except UnicodeEncodeError:
            out += replacement.encode(encoding)
    return bytes(out)


def _mode_table() -> Mapping[Effect, int]:
    return VENDOR_MODES


def _colour_table() -> Mapping[Colour, int]:
    return VENDOR_COLOURS


@dataclass(frozen=True)
class Rs485FrameOptions:
    """Per-display settings of the RS-485 frame protocol (the bus has its own settings)."""

    address: int
    #: wait for ``ack_byte`` after show/on/off; many boards answer nothing, hence off by default
    ack: bool = False
    ack_byte: int = DEFAULT_ACK_BYTE
    #: meaning of the ``valid`` byte, see VALID_VARIANTS
    valid: str = "flag"
    encoding: str = "gbk"
    #: "error" refuses text with characters outside ``encoding``; "replace" shows ``replacement``
    on_unencodable: str = "error"
    replacement: str = "?"
    #: the board's text buffer
    max_text_bytes: int = 255
    #: defaults for show() calls that give no speed / dwell
    speed: int = 3
    dwell: int = 5
    modes: Mapping[Effect, int] = field(default_factory=_mode_table)
    colours: Mapping[Colour, int] = field(default_factory=_colour_table)
    name: str | None = None

    def __post_init__(self) -> None:
        if self.address not in ADDRESSES:
            raise ValueError(f"address must be 0..255, not {self.address!r}")
        if self.ack_byte not in BYTE_VALUES:
            raise ValueError(f"ack_byte must be a byte, not {self.ack_byte!r}")
        if self.valid not in VALID_VARIANTS:
            raise ValueError(f"valid must be one of {VALID_VARIANTS}, not {self.valid!r}")
        if self.encoding not in ENCODINGS:
            raise ValueError(f"encoding must be one of {ENCODINGS}, not {self.encoding!r}")
        if self.on_unencodable not in UNENCODABLE_POLICIES:
            raise ValueError(
                f"on_unencodable must be one of {UNENCODABLE_POLICIES}, not {self.on_unencodable!r}"
            )
        encode_text(self.replacement, self.encoding)  # the replacement itself must be showable
        limit = 0xFF if self.valid == "length" else None
        if self.max_text_bytes < 1 or (limit is not None and self.max_text_bytes > limit):
            raise ValueError(f"max_text_bytes out of range for the {self.valid!r} variant")
        if self.speed not in SPEEDS or self.dwell not in DWELLS:
            raise ValueError("default speed must be 0..7 and dwell 0..99")
        for table in (self.modes, self.colours):
            for value in table.values():
                if value not in BYTE_VALUES:
                    raise ValueError(f"mode/colour codes must be single bytes, not {value!r}")
        object.__setattr__(self, "modes", MappingProxyType(dict(self.modes)))
        object.__setattr__(self, "colours", MappingProxyType(dict(self.colours)))


class Rs485FrameDisplay(Display):
    """A display speaking the RS-485 example protocol, at one address on a :class:`Bus`."""

    def __init__(self, bus: Bus, options: Rs485FrameOptions) -> None:
        self.bus = bus
        self.options = options
        self._open = False

    @property
    def address(self) -> int:
        return self.options.address

    @property
    def name(self) -> str:
        return self.options.name or f"{self.bus.url}#{self.address}"

    @property
    def confirms_writes(self) -> bool:
        return self.options.ack

    def open(self) -> None:
        if not self._open:
            self.bus.open()
            self._open = True

    def close(self) -> None:
        if self._open:
            self._open = False
            self.bus.close()

    def encode_show(
        self,
        text: str,
        *,
        line: int = 0,
        effect: Effect = Effect.INSTANT,
        speed: int | None = None,
        dwell: int | None = None,
        colour: Colour = Colour.RED,
        save: bool = False,
    ) -> bytes:
        """The exact frame :meth:`show` sends; raises ``ValueError`` for what the board cannot take."""
        opts = self.options
        if line != 0:
            raise ValueError(
                "this protocol has no line addressing; give each line of a multi-line screen "
                "its own address and configure it as its own display"
            )
        if effect not in opts.modes:
            raise ValueError(f"{self.name} has no mode for effect {effect.value!r}")
        if colour not in opts.colours:
            raise ValueError(f"{self.name} has no colour code for {colour.value!r}")
        payload = encode_text(
            text, opts.encoding, on_unencodable=opts.on_unencodable, replacement=opts.replacement
        )
        if len(payload) > opts.max_text_bytes:
            raise ValueError(
                f"text is {len(payload)} bytes in {opts.encoding.upper()}, "
                f"the display takes at most {opts.max_text_bytes}"
            )
        return encode_show(
            self.address,
            payload,
            mode=opts.modes[effect],
            speed=opts.speed if speed is None else speed,
            dwell=opts.dwell if dwell is None else dwell,
            colour=opts.colours[colour],
            save=save,
            valid=opts.valid,
        )

    def show(
        self,
        text: str,
        *,
        line: int = 0,
        effect: Effect = Effect.INSTANT,
        speed: int | None = None,
        dwell: int | None = None,
        colour: Colour = Colour.RED,
        save: bool = False,
    ) -> None:
        frame = self.encode_show(
            text, line=line, effect=effect, speed=speed, dwell=dwell, colour=colour, save=save
        )
        self._command(frame, "show")

    def power(self, on: bool) -> None:
        self._command(encode_power(self.address, on), "power on" if on else "power off")

    def check(self) -> None:
        answer = self.bus.exchange(encode_probe(self.address), answer=1, device=self.name)
        self._expect(answer, PROBE_ANSWER, "probe")

    def _command(self, frame: bytes, what: str) -> None:
        answer = self.bus.exchange(frame, answer=1 if self.options.ack else 0, device=self.name)
        if self.options.ack:
            self._expect(answer, self.options.ack_byte, what)

    def _expect(self, answer: bytes, expected: int, what: str) -> None:
        if answer != bytes((expected,)):
            raise ProtocolError(
                f"{what}: expected answer {expected:02X}, got {answer.hex(' ').upper()}",
                device=self.name,
            )
