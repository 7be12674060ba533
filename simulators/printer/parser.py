"""Incremental ESC/POS tokenizer: a byte stream in, whole commands out.

Bytes may arrive in any chunking; a command whose parameters or data have not all arrived yet
stays buffered until they do. Command lengths follow the Epson ESC/POS reference for the
commands python-escpos and common receipt software send; an unknown ``ESC x`` / ``GS x`` /
``FS x`` is consumed as two bytes and marked ``known=False`` so the stream stays in step.
"""

from __future__ import annotations

from dataclasses import dataclass

DLE, EOT, ENQ, DC4 = 0x10, 0x04, 0x05, 0x14
ESC, FS, GS, NUL = 0x1B, 0x1C, 0x1D, 0x00
LF, CR, HT, FF, CAN = 0x0A, 0x0D, 0x09, 0x0C, 0x18

_CONTROL_NAMES = {LF: "LF", CR: "CR", HT: "HT", FF: "FF", CAN: "CAN"}

# number of parameter bytes after the two-byte prefix, for fixed-length commands
_ESC_FIXED = {
    **dict.fromkeys(b"@2<imSLv", 0),
    **dict.fromkeys(b"!EG-aM{tdJK3A+VrR %=UeTu?", 1),
    **dict.fromkeys(b"B$\\f", 2),
    ord("p"): 3,
    ord("W"): 8,
}
_GS_FIXED = {
    ord(":"): 0,
    **dict.fromkeys(b"!Bb|hwHfrIaETj/", 1),
    **dict.fromkeys(b"LWP\\$", 2),
    ord("^"): 3,
}
_FS_FIXED = {
    **dict.fromkeys(b"&.", 0),
    **dict.fromkeys(b"!-WC", 1),
    **dict.fromkeys(b"Sp?", 2),
}
# ESC c n takes one more byte than the table says (ESC c 3 n, ESC c 4 n, ESC c 5 n)
_ESC_C_EXTRA = 1
_FS_USER_KANJI_BYTES = 72  # FS 2 c1 c2 + 24x24 dots


@dataclass(frozen=True)
class Command:
    """One ESC/POS command (or a run of printable bytes, ``name == "TEXT"``).

    ``name`` reads like the manual (``"ESC a"``, ``"GS ( k"``, ``"DLE EOT"``); ``args`` are the
    bytes after the command's name bytes; ``raw`` is everything consumed.
    """

    name: str
    args: bytes
    raw: bytes
    known: bool = True

    @property
    def size(self) -> int:
        return len(self.raw)

    def arg(self, index: int, default: int = 0) -> int:
        return self.args[index] if index < len(self.args) else default


class EscPosParser:
    """Feed bytes, get complete commands; incomplete trailing bytes wait for the next feed."""

    def __init__(self) -> None:
        self._buf = bytearray()

    @property
    def pending(self) -> int:
        """Bytes of an incomplete command still waiting for the rest."""
        return len(self._buf)

    def feed(self, data: bytes) -> list[Command]:
        self._buf += data
        commands: list[Command] = []
        pos = 0
        buf = bytes(self._buf)
        while pos < len(buf):
            parsed = _parse_one(buf, pos)
            if parsed is None:
                break
            commands.append(parsed)
            pos += parsed.size
        del self._buf[:pos]
        return commands


def parse_all(data: bytes) -> list[Command]:
    """Every complete command of ``data`` (a trailing incomplete command is left out)."""
    return EscPosParser().feed(data)


def _u16(buf: bytes, pos: int) -> int:
    return buf[pos] | buf[pos + 1] << 8


def _cmd(name: str, buf: bytes, start: int, args_at: int, end: int, known: bool = True) -> Command | None:
    if end > len(buf):
        return None
    return Command(name, bytes(buf[args_at:end]), bytes(buf[start:end]), known)


def _parse_one(buf: bytes, pos: int) -> Command | None:
    byte = buf[pos]
    if byte >= 0x20:
        end = pos
        while end < len(buf) and buf[end] >= 0x20:
            end += 1
        return Command("TEXT", bytes(buf[pos:end]), bytes(buf[pos:end]))
    if byte in (ESC, GS, FS, DLE):
        if pos + 1 >= len(buf):
            return None
        return {ESC: _parse_esc, GS: _parse_gs, FS: _parse_fs, DLE: _parse_dle}[byte](buf, pos)
    name = _CONTROL_NAMES.get(byte, f"CTRL {byte:02X}")
    return Command(name, b"", bytes(buf[pos : pos + 1]), byte in _CONTROL_NAMES)


def _parse_esc(buf: bytes, pos: int) -> Command | None:
    code = buf[pos + 1]
    name = f"ESC {chr(code)}"
    start = pos + 2
    if code == ord("c"):
        return _cmd(name, buf, pos, start, start + 1 + _ESC_C_EXTRA)
    if code in _ESC_FIXED:
        return _cmd(name, buf, pos, start, start + _ESC_FIXED[code])
    if code == ord("*"):  # ESC * m nL nH d1..dk (k = n, or 3n for 24-dot modes)
        if start + 3 > len(buf):
            return None
        mode, columns = buf[start], _u16(buf, start + 1)
        return _cmd(name, buf, pos, start, start + 3 + columns * (1 if mode in (0, 1) else 3))
    if code == ord("D"):  # ESC D n1 … NUL
        end = buf.find(b"\x00", start)
        return None if end < 0 else _cmd(name, buf, pos, start, end + 1)
    if code == ord("("):  # ESC ( fn pL pH data
        if start + 3 > len(buf):
            return None
        name = f"ESC ( {chr(buf[start])}"
        return _cmd(name, buf, pos, start + 3, start + 3 + _u16(buf, start + 1))
    if code == ord("&"):  # ESC & y c1 c2 [x d1 … d(y*x)] for each character
        if start + 3 > len(buf):
            return None
        rows, first, last = buf[start], buf[start + 1], buf[start + 2]
        end = start + 3
        for _ in range(max(0, last - first + 1)):
            if end >= len(buf):
                return None
            end += 1 + rows * buf[end]
        return _cmd(name, buf, pos, start, end)
    return _cmd(name, buf, pos, start, start, known=False)


def _parse_gs(buf: bytes, pos: int) -> Command | None:
    code = buf[pos + 1]
    name = f"GS {chr(code)}"
    start = pos + 2
    if code in _GS_FIXED:
        return _cmd(name, buf, pos, start, start + _GS_FIXED[code])
    if code == ord("V"):  # GS V m, or GS V m n for the feed-and-cut variants
        if start >= len(buf):
            return None
        return _cmd(name, buf, pos, start, start + (1 if buf[start] in (0, 1, 48, 49) else 2))
    if code == ord("("):  # GS ( fn pL pH data
        if start + 3 > len(buf):
            return None
        name = f"GS ( {chr(buf[start])}"
        return _cmd(name, buf, pos, start + 3, start + 3 + _u16(buf, start + 1))
    if code == ord("8"):  # GS 8 fn p1 p2 p3 p4 data
        if start + 5 > len(buf):
            return None
        size = int.from_bytes(buf[start + 1 : start + 5], "little")
        name = f"GS 8 {chr(buf[start])}"
        return _cmd(name, buf, pos, start + 5, start + 5 + size)
    if code in (ord("v"), ord("Q")):  # GS v 0 m xL xH yL yH data (GS Q 0 alike)
        if start + 6 > len(buf):
            return None
        width_bytes, height = _u16(buf, start + 2), _u16(buf, start + 4)
        name = f"GS {chr(code)} {chr(buf[start])}"
        return _cmd(name, buf, pos, start + 1, start + 6 + width_bytes * height)
    if code == ord("k"):  # barcode: GS k m d1 … NUL (m ≤ 6) or GS k m n d1 … dn
        if start >= len(buf):
            return None
        if buf[start] <= 6:
            end = buf.find(b"\x00", start + 1)
            return None if end < 0 else _cmd(name, buf, pos, start, end + 1)
        if start + 1 >= len(buf):
            return None
        return _cmd(name, buf, pos, start, start + 2 + buf[start + 1])
    if code == ord("*"):  # GS * x y d1 … d(x*y*8)
        if start + 2 > len(buf):
            return None
        return _cmd(name, buf, pos, start, start + 2 + buf[start] * buf[start + 1] * 8)
    return _cmd(name, buf, pos, start, start, known=False)


def _parse_fs(buf: bytes, pos: int) -> Command | None:
    code = buf[pos + 1]
    name = f"FS {chr(code)}"
    start = pos + 2
    if code in _FS_FIXED:
        return _cmd(name, buf, pos, start, start + _FS_FIXED[code])
    if code == ord("2"):
        return _cmd(name, buf, pos, start, start + 2 + _FS_USER_KANJI_BYTES)
    if code == ord("("):
        if start + 3 > len(buf):
            return None
        return _cmd(f"FS ( {chr(buf[start])}", buf, pos, start + 3, start + 3 + _u16(buf, start + 1))
    # python-escpos sends a lone FS to select the slip station: keep the next byte for parsing
    return Command("FS", b"", bytes(buf[pos : pos + 1]), False)


def _parse_dle(buf: bytes, pos: int) -> Command | None:
    code = buf[pos + 1]
    start = pos + 2
    if code == EOT:
        return _cmd("DLE EOT", buf, pos, start, start + 1)
    if code == ENQ:
        return _cmd("DLE ENQ", buf, pos, start, start + 1)
    if code == DC4:  # DLE DC4 fn …: fn 8 (clear buffers) has 7 parameters, the others 2
        if start >= len(buf):
            return None
        return _cmd("DLE DC4", buf, pos, start, start + 1 + (7 if buf[start] == 8 else 2))
    return Command("DLE", b"", bytes(buf[pos : pos + 1]), False)
