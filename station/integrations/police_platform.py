"""The online query of the police platform (联网查询): a vehicle's record before registration.

The platform answers with the vehicle's status codes (机动车状态, combined like "AG"), its
inspection valid-until date and its compulsory insurance (交强险) end date. This module holds
the interface, an HTTP adapter, and what each finding means for the counter: what staff tell
the owner and whether the vehicle may be tested now.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from datetime import date
from typing import Protocol

from station.errors import Conflict, ValidationError


class QueryUnavailable(Conflict):
    """The platform did not answer: the counter may retry or register by hand."""

    def __init__(self, reason: str) -> None:
        super().__init__("police_query_unavailable", f"联网查询暂不可用：{reason}",
                         f"The online query is unavailable: {reason}")


@dataclass(frozen=True)
class VehicleRecord:
    plate_type: str
    plate: str
    status_codes: str               # e.g. "A", "AG", "GQ"
    inspection_valid_until: date | None
    insurance_until: date | None    # 交强险 end date; None: no policy found
    vin: str | None = None
    vehicle_type: str | None = None
    use_nature: str | None = None
    fuel: str | None = None


class VehicleQuery(Protocol):
    def query(self, plate_type: str, plate: str) -> VehicleRecord | None:
        """The platform's record, None when the vehicle is unknown; raises QueryUnavailable."""


@dataclass(frozen=True)
class StatusMeaning:
    zh: str
    en: str
    #: what staff tell the owner
    action_zh: str
    action_en: str
    #: True: the vehicle may not be tested until it is resolved
    blocks_test: bool


#: 机动车状态 codes (GA 24.5) the counter acts on; combined codes are read one by one
STATUS_CODES: dict[str, StatusMeaning] = {
    "A": StatusMeaning("正常", "Normal", "可以办理检验", "May be inspected", False),
    "G": StatusMeaning("违法未处理", "Unprocessed traffic violations",
                       "须先处理交通违法（交管12123或违法处理窗口），再办理检验",
                       "Clear the traffic violations first (12123 app or a violations office)", True),
    "I": StatusMeaning("事故未处理", "Unprocessed accident",
                       "须先到交警部门处理交通事故，再办理检验",
                       "The accident must be settled with the traffic police first", True),
    "C": StatusMeaning("被盗抢", "Reported stolen", "不予受理，立即报告公安机关",
                       "Refuse and report to the police at once", True),
    "E": StatusMeaning("注销", "Deregistered", "车辆已注销，不予检验", "Deregistered: no inspection", True),
    "P": StatusMeaning("达到报废标准", "Due for scrapping",
                       "车辆已达报废标准，不予检验，请办理报废", "Due for scrapping: no inspection", True),
    "O": StatusMeaning("锁定", "Locked", "车辆被锁定，请联系车辆管理所",
                       "Locked: the owner must contact the vehicle administration office", True),
    "Q": StatusMeaning("逾期未检验", "Inspection overdue",
                       "可以检验；逾期上道路行驶可能被处罚", "May be inspected; driving while overdue may be fined",
                       False),
}


@dataclass(frozen=True)
class Finding:
    code: str
    meaning: StatusMeaning


@dataclass(frozen=True)
class Assessment:
    record: VehicleRecord
    findings: list[Finding]
    insurance_valid: bool

    @property
    def may_test(self) -> bool:
        return not any(f.meaning.blocks_test for f in self.findings)

    @property
    def insurance_note_zh(self) -> str:
        if self.insurance_valid:
            return f"交强险有效至{self.record.insurance_until:%Y年%m月%d日}"
        return "未查到有效交强险：可先检测，核保后再打印检验合格标志（可提供代办服务）"


def assess(record: VehicleRecord, on: date) -> Assessment:
    """What the record means at the counter on day ``on``."""
    codes = record.status_codes.strip().upper()
    unknown = [c for c in codes if c not in STATUS_CODES]
    if not codes or unknown:
        raise ValidationError("status_code_unknown", f"未知的机动车状态代码：{''.join(unknown) or '空'}",
                              f"Unknown vehicle status code: {''.join(unknown) or 'empty'}")
    findings = [Finding(c, STATUS_CODES[c]) for c in dict.fromkeys(codes)]
    insured = record.insurance_until is not None and record.insurance_until >= on
    return Assessment(record, findings, insured)


class HttpPolicePlatform:
    """The platform's query over HTTP: ``GET {url}?plate_type=02&plate=浙A12345`` with a bearer
    token, answering JSON (404 for an unknown vehicle)."""

    def __init__(self, url: str, token: str, *, timeout_s: float = 5.0) -> None:
        self.url, self.token, self.timeout_s = url, token, timeout_s

    def query(self, plate_type: str, plate: str) -> VehicleRecord | None:
        query = urllib.parse.urlencode({"plate_type": plate_type, "plate": plate})
        request = urllib.request.Request(f"{self.url}?{query}",
                                         headers={"Authorization": f"Bearer {self.token}"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                body = json.loads(response.read().decode())
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                return None
            raise QueryUnavailable(f"HTTP {exc.code}") from exc
        except (urllib.error.URLError, TimeoutError, OSError, ValueError) as exc:
            raise QueryUnavailable(str(getattr(exc, "reason", exc))) from exc
        return record_from_json(body)


def record_from_json(body: dict[str, object]) -> VehicleRecord:
    def day(key: str) -> date | None:
        value = body.get(key)
        return date.fromisoformat(str(value)) if value else None

    try:
        return VehicleRecord(
            plate_type=str(body["plate_type"]), plate=str(body["plate"]),
            status_codes=str(body["status_codes"]), inspection_valid_until=day("inspection_valid_until"),
            insurance_until=day("insurance_until"), vin=_opt(body, "vin"),
            vehicle_type=_opt(body, "vehicle_type"), use_nature=_opt(body, "use_nature"),
            fuel=_opt(body, "fuel"))
    except (KeyError, ValueError) as exc:
        raise QueryUnavailable(f"malformed answer ({exc})") from exc


def _opt(body: dict[str, object], key: str) -> str | None:
    value = body.get(key)
    return None if value in (None, "") else str(value)
