"""Byte-level model of LED displays on one RS-485 bus, speaking the ``AA addr BB … xor FF`` protocol.

Written independently of ``drivers.led`` on purpose: the driver's tests run against this model,
so sharing the encoder would let one misreading of the protocol pass both sides.

Framing (see docs/devices/led.md): the header sits at fixed positions; a show frame's text runs
to the first FF after the header (GBK never contains FF). That FF is the terminator unless the
XOR byte itself is FF, which the XOR over the data area tells apart: it is 00 up to the
terminator and FF up to an XOR byte of FF. With the "length" variant the ``valid`` byte gives
the text length instead.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import reduce
from operator import xor

START = 0xAA
SEPARATOR = 0xBB
END = 0xFF
CMD_SHOW = 0x51
CMD_POWER = 0x4F
CMD_PROBE = 0x55
SHOW_KINDS = {0x54: "show", 0x44: "show_save"}
POWER_KINDS = {0x41: "on", 0x46: "off"}
PROBE_REPLY = 0x1B
#: bytes before the text of a show frame: AA addr BB 51 lo mode speed dwell colour valid
SHOW_HEADER = 10
PROBE_FRAME = 6  # AA addr BB 55 xor FF
POWER_FRAME = 7  # AA addr BB 4F lo xor FF

#: the vendor example's modes, by number, with the names a technician would use
MODE_NAMES = {
    1: "左移",
    2: "右移",
    3: "上移",
    4: "下移",
    5: "向右展开",
    6: "向左展开",
    7: "向下展开",
    8: "向上展开",
    9: "中间向两边展开",
    10: "闪烁",
    11: "立即显示",
}
COLOUR_NAMES = {0: "红", 1: "绿", 2: "黄"}
MAX_SPEED = 7
MAX_DWELL = 99

FAULTS = ("no_answer", "garbage", "noise", "power_off")
#: what a display with the "garbage" fault answers: neither a probe reply nor a usual ACK
GARBAGE = bytes((0x3F, 0x00, 0xE5, 0x5A))
VALID_VARIANTS = ("flag", "length")


def checksum(data: bytes) -> int:
    return reduce(xor, data, 0)


@dataclass(frozen=True)
class ShownText:
    """What one display shows (or keeps in flash)."""

    text: str
    mode: int
    speed: int
    dwell: int
    colour: int
    #: came from a show-and-save command (or was restored from flash at power-up)
    saved: bool

    @property
    def mode_name(self) -> str:
        return MODE_NAMES[self.mode]

    @property
    def colour_name(self) -> str:
        return COLOUR_NAMES[self.colour]


@dataclass(frozen=True)
class SimDisplay:
    """Snapshot of one simulated display."""

    address: int
    powered: bool
    screen_on: bool
    ram: ShownText | None
    saved: ShownText | None


@dataclass(frozen=True)
class FrameRecord:
    """One frame as the bus saw it, accepted or not."""

    raw: bytes
    address: int | None
    #: show, show_save, on, off, probe, or "?" when the command could not be read
    command: str
    accepted: bool
    #: why it was not accepted: bad_xor, bad_terminator, no_terminator, unknown_command,
    #: bad_field, bad_text, other_address, no_answer, power_off
    reason: str | None = None
    content: ShownText | None = None
    answer: bytes = b""

    def describe(self) -> str:
        where = f"#{self.address}" if self.address is not None else "#?"
        head = f"{where} {self.command}"
        if self.content is not None:
            c = self.content
            head += f" {c.mode_name} {c.colour_name} 速度{c.speed} 停留{c.dwell}: {c.text!r}"
        if not self.accepted:
            head += f" — dropped ({self.reason})"
        if self.answer:
            head += f" → {self.answer.hex(' ').upper()}"
        return f"{head}  [{self.raw.hex(' ').upper()}]"


@dataclass
class _State:
    powered: bool = True
    screen_on: bool = True
    ram: ShownText | None = None
    saved: ShownText | None = None
    faults: set[str] = field(default_factory=set)


class FrameParser:
    """Splits one byte stream into frames. Keeps partial frames across ``feed`` calls."""

    def __init__(self, *, valid: str, max_text_bytes: int) -> None:
        self.valid = valid
        self.max_text_bytes = max_text_bytes
        self.buffer = bytearray()
        #: bytes skipped while hunting for a frame start
        self.discarded = 0

    def feed(self, data: bytes) -> list[tuple[bytes, str | None]]:
        """Add bytes; return complete frames as ``(raw, framing_error)``."""
        self.buffer += data
        frames: list[tuple[bytes, str | None]] = []
        while True:
            start = self.buffer.find(START)
            if start < 0:
                self.discarded += len(self.buffer)
                self.buffer.clear()
                break
            self.discarded += start
            del self.buffer[:start]
            found = self._frame_length()
            if found is None:
                break  # incomplete: wait for more bytes
            length, error = found
            if error is None:
                frames.append((bytes(self.buffer[:length]), None))
                del self.buffer[:length]
                continue
            if error != "bad_header":
                frames.append((bytes(self.buffer[:length]), error))
            # The AA that looked like a start was not one (or the frame broke): hunt again
            # from the next byte, so a good frame hiding behind it is not lost.
            self.discarded += 1
            del self.buffer[:1]
        return frames

    def _frame_length(self) -> tuple[int, str | None] | None:
        buf = self.buffer
        if len(buf) < 4:
            return None
        if buf[2] != SEPARATOR:
            return 1, "bad_header"
        command = buf[3]
        if command == CMD_PROBE:
            return self._fixed(PROBE_FRAME)
        if command == CMD_POWER:
            return self._fixed(POWER_FRAME)
        if command != CMD_SHOW:
            return 4, "unknown_command"
        if len(buf) < SHOW_HEADER:
            return None
        if self.valid == "length":
            return self._fixed(SHOW_HEADER + buf[SHOW_HEADER - 1] + 2)
        longest = SHOW_HEADER + self.max_text_bytes + 2
        end = buf.find(END, SHOW_HEADER, longest)
        if end < 0:
            return (longest, "no_terminator") if len(buf) >= longest else None
        running = checksum(buf[3:end])
        if end > SHOW_HEADER and running == 0:
            return end + 1, None  # buf[end - 1] is the XOR byte, buf[end] the terminator
        if running == END:
            # Either the XOR byte is FF and the terminator follows, or the frame is bad.
            if len(buf) < end + 2:
                return None
            if buf[end + 1] == END:
                return end + 2, None
        return end + 1, None  # delimited, but the checksum will not match: reported as bad_xor

    def _fixed(self, length: int) -> tuple[int, str | None] | None:
        if len(self.buffer) < length:
            return None
        if self.buffer[length - 1] != END:
            return length, "bad_terminator"
        return length, None


Listener = Callable[[FrameRecord], None]


class LedBusSimulator:
    """Displays at ``addresses`` on one bus.

    ``ack``: the byte a display answers to an accepted show/on/off (None: answers nothing, like
    most boards). ``valid``: "flag" or "length", as configured on the driver. Thread-safe; every
    transport (pty, TCP, ``ledsim://``) feeds bytes in through a :class:`SimLink`.
    """

    def __init__(
        self,
        addresses: Iterable[int] = (1,),
        *,
        ack: int | None = None,
        valid: str = "flag",
        max_text_bytes: int = 255,
    ) -> None:
        addresses = list(addresses)
        if not addresses or any(not 0 <= a <= 0xFF for a in addresses):
            raise ValueError(f"addresses must be a non-empty list of bytes, not {addresses!r}")
        if valid not in VALID_VARIANTS:
            raise ValueError(f"valid must be one of {VALID_VARIANTS}, not {valid!r}")
        if ack is not None and not 0 <= ack <= 0xFF:
            raise ValueError(f"ack must be a byte or None, not {ack!r}")
        self.ack = ack
        self.valid = valid
        self.max_text_bytes = max_text_bytes
        self._condition = threading.Condition()
        self._displays = {address: _State() for address in addresses}
        self._bus_faults: set[str] = set()
        self._frames: list[FrameRecord] = []
        self._bad_xor = 0
        self._listeners: list[Listener] = []

    # -- observation ----------------------------------------------------------------------------

    @property
    def addresses(self) -> list[int]:
        return list(self._displays)

    def shown(self, address: int) -> ShownText | None:
        """What the display at ``address`` visibly shows (None: dark, off, blank or unpowered)."""
        with self._condition:
            return self._shown(address)

    def state(self, address: int) -> SimDisplay:
        with self._condition:
            s = self._state(address)
            return SimDisplay(address, s.powered, s.screen_on, s.ram, s.saved)

    @property
    def frames(self) -> list[FrameRecord]:
        """Every frame received so far, oldest first."""
        with self._condition:
            return list(self._frames)

    @property
    def bad_xor_count(self) -> int:
        """Frames dropped because their XOR did not match."""
        with self._condition:
            return self._bad_xor

    def wait_for(self, address: int, text: str, timeout: float) -> ShownText | None:
        """Wait until ``address`` shows ``text``; the shown text, or None on timeout."""

        def showing() -> ShownText | None:
            shown = self._shown(address)
            return shown if shown is not None and shown.text == text else None

        with self._condition:
            return self._condition.wait_for(showing, timeout)

    def wait_for_frames(self, count: int, timeout: float) -> bool:
        """Wait until at least ``count`` frames were received."""
        with self._condition:
            return self._condition.wait_for(lambda: len(self._frames) >= count, timeout)

    def add_listener(self, listener: Listener) -> None:
        """Call ``listener(record)`` for every frame (on the transport's thread, outside locks)."""
        with self._condition:
            self._listeners.append(listener)

    def remove_listener(self, listener: Listener) -> None:
        with self._condition:
            self._listeners.remove(listener)

    # -- fault switches -------------------------------------------------------------------------

    def set_fault(self, name: str, on: bool = True, *, address: int | None = None) -> None:
        """Switch a fault for one display or (address None) the whole bus.

        no_answer: frames are ignored. garbage: answers are replaced by junk. noise: frames arrive
        with a corrupted byte and are dropped for their bad XOR. power_off: the display is dead;
        its RAM text is lost, and when power returns it shows its saved text.
        """
        if name not in FAULTS:
            raise ValueError(f"unknown fault {name!r}; known: {', '.join(FAULTS)}")
        with self._condition:
            powered_before = {a: self._powered(a) for a in self._displays}
            faults = self._bus_faults if address is None else self._state(address).faults
            if on:
                faults.add(name)
            else:
                faults.discard(name)
            for a, before in powered_before.items():
                if before != self._powered(a):
                    self._set_power_supply(a, self._powered(a))
            self._condition.notify_all()

    def clear_faults(self) -> None:
        for name in FAULTS:
            self.set_fault(name, False)
            for address in self._displays:
                self.set_fault(name, False, address=address)

    def faults(self, address: int | None = None) -> frozenset[str]:
        """Faults in effect for ``address`` (bus-wide ones included), or the bus-wide ones."""
        with self._condition:
            if address is None:
                return frozenset(self._bus_faults)
            return frozenset(self._bus_faults | self._state(address).faults)

    def power_cycle(self, address: int | None = None) -> None:
        """A short power cut: RAM text lost, saved text back, too quick for anyone to notice."""
        with self._condition:
            for a in self._displays if address is None else [address]:
                if self._powered(a):
                    self._set_power_supply(a, False)
                    self._set_power_supply(a, True)
            self._condition.notify_all()

    # -- byte input -----------------------------------------------------------------------------

    def connect(self) -> SimLink:
        """A byte stream into the bus (one per pty, TCP client or ``ledsim://`` port)."""
        return SimLink(self)

    def _receive(self, frames: list[tuple[bytes, str | None]]) -> bytes:
        answers = bytearray()
        records = []
        with self._condition:
            for raw, framing_error in frames:
                record = self._handle(raw, framing_error)
                self._frames.append(record)
                records.append(record)
                answers += record.answer
            listeners = list(self._listeners)
            self._condition.notify_all()
        for record in records:
            for listener in listeners:
                listener(record)
        return bytes(answers)

    def _handle(self, raw: bytes, framing_error: str | None) -> FrameRecord:
        address = raw[1] if len(raw) > 1 else None
        command = _command_name(raw)
        if framing_error is not None:
            return FrameRecord(raw, address, command, False, framing_error)
        if address not in self._displays:
            return FrameRecord(raw, address, command, False, "other_address")
        faults = self._bus_faults | self._displays[address].faults
        for fault in ("power_off", "no_answer"):
            if fault in faults:
                return FrameRecord(raw, address, command, False, fault)
        data, xor_byte = raw[3:-2], raw[-2]
        if "noise" in faults:
            xor_byte ^= 0x01  # a flipped bit on the line
        if checksum(data) != xor_byte:
            self._bad_xor += 1
            return FrameRecord(raw, address, command, False, "bad_xor")
        record = self._execute(raw, address, command, data)
        if "garbage" in faults:
            return FrameRecord(
                raw, address, command, record.accepted, record.reason, record.content, GARBAGE
            )
        return record

    def _execute(self, raw: bytes, address: int, command: str, data: bytes) -> FrameRecord:
        state = self._displays[address]
        ack = b"" if self.ack is None else bytes((self.ack,))
        if command == "probe" and len(data) == 1:
            return FrameRecord(raw, address, command, True, answer=bytes((PROBE_REPLY,)))
        if command in ("on", "off") and len(data) == 2:
            state.screen_on = command == "on"
            return FrameRecord(raw, address, command, True, answer=ack)
        if command not in ("show", "show_save"):
            return FrameRecord(raw, address, command, False, "unknown_command")
        if len(data) < SHOW_HEADER - 3:
            return FrameRecord(raw, address, command, False, "bad_field")
        mode, speed, dwell, colour, valid = data[2:7]
        text_bytes = data[7:]
        expected_valid = (1 if text_bytes else 0) if self.valid == "flag" else len(text_bytes)
        if (
            mode not in MODE_NAMES
            or speed > MAX_SPEED
            or dwell > MAX_DWELL
            or colour not in COLOUR_NAMES
            or valid != expected_valid
            or len(text_bytes) > self.max_text_bytes
        ):
            return FrameRecord(raw, address, command, False, "bad_field")
        try:
            text = text_bytes.decode("gbk")
        except UnicodeDecodeError:
            return FrameRecord(raw, address, command, False, "bad_text")
        save = command == "show_save"
        content = ShownText(text, mode, speed, dwell, colour, save)
        state.ram = content
        if save:
            state.saved = content
        return FrameRecord(raw, address, command, True, content=content, answer=ack)

    # -- internals ------------------------------------------------------------------------------

    def _state(self, address: int) -> _State:
        try:
            return self._displays[address]
        except KeyError:
            raise KeyError(f"no simulated display at address {address}") from None

    def _powered(self, address: int) -> bool:
        return "power_off" not in (self._bus_faults | self._displays[address].faults)

    def _set_power_supply(self, address: int, powered: bool) -> None:
        state = self._displays[address]
        state.powered = powered
        if powered:
            # Boards boot with the screen on, showing what they keep in flash.
            state.screen_on = True
            state.ram = state.saved
        else:
            state.ram = None

    def _shown(self, address: int) -> ShownText | None:
        state = self._state(address)
        if not (state.powered and state.screen_on) or state.ram is None or not state.ram.text:
            return None
        return state.ram


class SimLink:
    """One byte stream into a :class:`LedBusSimulator`, with its own frame parser."""

    def __init__(self, simulator: LedBusSimulator) -> None:
        self.simulator = simulator
        self.parser = FrameParser(valid=simulator.valid, max_text_bytes=simulator.max_text_bytes)
        self._lock = threading.Lock()

    def feed(self, data: bytes) -> bytes:
        """Bytes from the host in; the displays' answers out."""
        with self._lock:
            frames = self.parser.feed(data)
            return self.simulator._receive(frames) if frames else b""


def _command_name(raw: bytes) -> str:
    if len(raw) < 5:
        return "probe" if len(raw) >= 4 and raw[3] == CMD_PROBE else "?"
    if raw[3] == CMD_PROBE:
        return "probe"
    if raw[3] == CMD_POWER:
        return POWER_KINDS.get(raw[4], "?")
    if raw[3] == CMD_SHOW:
        return SHOW_KINDS.get(raw[4], "?")
    return "?"
