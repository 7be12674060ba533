"""The incremental ESC/POS tokenizer of the printer simulator."""

from __future__ import annotations

import itertools

from escpos.printer import Dummy
from hypothesis import given, settings
from hypothesis import strategies as st

from simulators.printer import EscPosParser
from simulators.printer.parser import parse_all


def sample_stream() -> bytes:
    d = Dummy(profile="NT-80-V-UL")
    d.hw("INIT")
    d._raw(b"\x1c&")
    d.set(align="center", bold=True, custom_size=True, width=2, height=2)
    d._raw("杭州检测站\n".encode("gb18030"))
    d.set_with_default()
    d.textln("plain ascii")
    d.qr("https://station.example.cn/p/1", native=True, size=4)
    d.qr("https://station.example.cn/p/2", native=False, size=3)
    d._raw(b"\x10\x04\x01")
    d.barcode("4006381333931", "EAN13")
    d.cut()
    return d.output


def normalise(commands):
    """Merge consecutive TEXT commands (a chunk boundary may split a run of text)."""
    out: list[tuple[str, bytes]] = []
    for cmd in commands:
        if cmd.name == "TEXT" and out and out[-1][0] == "TEXT":
            out[-1] = ("TEXT", out[-1][1] + cmd.args)
        else:
            out.append((cmd.name, cmd.args))
    return out


STREAM = sample_stream()
WHOLE = parse_all(STREAM)


def test_whole_stream_parses_completely_into_known_commands():
    assert b"".join(cmd.raw for cmd in WHOLE) == STREAM
    assert all(cmd.known for cmd in WHOLE), [cmd for cmd in WHOLE if not cmd.known]
    names = [cmd.name for cmd in WHOLE]
    assert names[:2] == ["ESC @", "FS &"]
    assert names[-1] == "GS V"
    assert "GS v 0" in names and "GS ( k" in names and "DLE EOT" in names and "GS k" in names


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=len(STREAM)), max_size=30))
def test_any_chunking_gives_the_same_commands(cuts):
    parser = EscPosParser()
    commands = []
    bounds = [0, *sorted(cuts), len(STREAM)]
    for start, end in itertools.pairwise(bounds):
        commands += parser.feed(STREAM[start:end])
    assert parser.pending == 0
    assert normalise(commands) == normalise(WHOLE)


def test_incomplete_command_waits_for_the_rest():
    parser = EscPosParser()
    header = b"\x1dv0\x00\x02\x00\x02\x00"  # 2 bytes wide, 2 rows: 4 data bytes follow
    assert parser.feed(header + b"\xff\xff") == []
    assert parser.pending == len(header) + 2
    (image,) = parser.feed(b"\x00\x00")
    assert image.name == "GS v 0" and image.size == len(header) + 4
    assert parser.pending == 0


def test_command_lengths():
    cases = {
        b"\x1dV\x00": "GS V",
        b"\x1dVB\x00": "GS V",  # feed-and-cut variant carries one more byte
        b"\x1b*\x21\x02\x00" + bytes(6): "ESC *",  # 24-dot: 3 bytes per column
        b"\x1bD\x08\x10\x00": "ESC D",
        b"\x1dk\x04ABC\x00": "GS k",
        b"\x1dkE\x03ABC": "GS k",
        b"\x1d(k\x03\x001C\x06": "GS ( k",
        b"\x1d8L\x02\x00\x00\x0002": "GS 8 L",
        b"\x1b@": "ESC @",
        b"\x10\x04\x04": "DLE EOT",
        b"\x1c&": "FS &",
    }
    for data, name in cases.items():
        (cmd,) = parse_all(data + b"\x1b@")[:1]
        assert (cmd.name, cmd.raw) == (name, data), data.hex(" ")


def test_unknown_commands_are_skipped_without_losing_step():
    commands = parse_all(b"\x1b\x01AB\n\x1d\x02\x1cZ")
    assert [(c.name, c.known) for c in commands] == [
        ("ESC \x01", False), ("TEXT", True), ("LF", True), ("GS \x02", False), ("FS", False), ("TEXT", True)
    ]
    assert commands[1].args == b"AB"
