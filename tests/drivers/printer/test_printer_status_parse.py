"""Parsing of DLE EOT 1..4 replies into a PrinterStatus (no I/O)."""

from __future__ import annotations

import json

import pytest

from drivers.errors import ProtocolError
from drivers.printer import PaperState, PrinterCondition, PrinterStatus
from drivers.printer.status import status_query

READY = bytes((0x12, 0x12, 0x12, 0x12))


def test_status_query_bytes():
    assert status_query(1) == b"\x10\x04\x01"
    assert status_query(4) == b"\x10\x04\x04"
    with pytest.raises(ValueError):
        status_query(5)


def test_ready_printer():
    status = PrinterStatus.from_replies(READY)
    assert status.online is True
    assert status.paper is PaperState.OK
    assert status.conditions == (PrinterCondition.READY,)
    assert status.description == "打印机正常"
    assert status.can_print and status.answered and not status.warnings


def test_paper_near_end_is_a_warning_not_a_refusal():
    status = PrinterStatus.from_replies(bytes((0x12, 0x12, 0x12, 0x1E)))
    assert status.paper is PaperState.NEAR_END
    assert status.condition is PrinterCondition.PAPER_NEAR_END
    assert status.description == "纸将尽"
    assert status.can_print
    assert status.warnings == (PrinterCondition.PAPER_NEAR_END,)


def test_paper_out():
    # offline; offline cause: stopped by paper end; paper sensor: near end and end
    status = PrinterStatus.from_replies(bytes((0x1A, 0x32, 0x12, 0x7E)))
    assert status.online is False
    assert status.paper is PaperState.OUT
    assert status.condition is PrinterCondition.PAPER_OUT
    assert status.description == "打印机缺纸"
    assert not status.can_print


def test_paper_end_reported_by_one_sensor_bit_only_still_counts():
    status = PrinterStatus.from_replies(bytes((0x1A, 0x12, 0x12, 0x32)))
    assert status.paper is PaperState.OUT


def test_cover_open():
    status = PrinterStatus.from_replies(bytes((0x1A, 0x16, 0x12, 0x12)))
    assert status.cover_open is True
    assert status.conditions == (PrinterCondition.COVER_OPEN,)
    assert status.description == "打印机盖未关"


def test_cover_open_and_paper_out_lists_both_most_severe_first():
    status = PrinterStatus.from_replies(bytes((0x1A, 0x36, 0x12, 0x7E)))
    assert status.conditions == (PrinterCondition.PAPER_OUT, PrinterCondition.COVER_OPEN)
    assert status.description == "打印机缺纸；打印机盖未关"


def test_cutter_error():
    status = PrinterStatus.from_replies(bytes((0x1A, 0x52, 0x1A, 0x12)))
    assert status.error is True
    assert status.condition is PrinterCondition.CUTTER_ERROR
    assert not status.can_print


def test_unrecoverable_error_and_bare_offline():
    assert PrinterStatus.from_replies(bytes((0x1A, 0x52, 0x32, 0x12))).condition is PrinterCondition.ERROR
    offline = PrinterStatus.from_replies(bytes((0x1A, 0x12, 0x12, 0x12)))
    assert offline.conditions == (PrinterCondition.OFFLINE,)
    assert offline.description == "打印机离线"


def test_bytes_with_wrong_fixed_bits_are_a_protocol_error():
    with pytest.raises(ProtocolError, match="fixed bits"):
        PrinterStatus.from_replies(bytes((0x00, 0x12, 0x12, 0x12)))
    lenient = PrinterStatus.from_replies(bytes((0x00, 0x12, 0x12, 0x12)), check_fixed_bits=False)
    assert lenient.condition is PrinterCondition.READY
    with pytest.raises(ProtocolError, match="expected 4"):
        PrinterStatus.from_replies(b"\x12")


def test_no_answer_is_offline_and_unknown_does_not_block():
    silent = PrinterStatus.no_answer()
    assert silent.online is False and not silent.answered
    assert silent.description == "打印机无响应"
    assert not silent.can_print
    unknown = PrinterStatus.unknown()
    assert unknown.online is None and unknown.can_print
    assert unknown.paper is PaperState.UNKNOWN


def test_to_dict_is_json_ready():
    data = PrinterStatus.from_replies(bytes((0x1A, 0x32, 0x12, 0x7E))).to_dict()
    assert json.loads(json.dumps(data, ensure_ascii=False)) == {
        "condition": "paper_out",
        "conditions": ["paper_out"],
        "description": "打印机缺纸",
        "online": False,
        "paper": "out",
        "cover_open": False,
        "error": False,
        "raw": "1a32127e",
    }
