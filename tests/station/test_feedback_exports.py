"""Exports open in a spreadsheet library; the printable daily report; retention: archive,
refuse deletion inside the period, audited deletion after it."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from station.errors import Conflict, ValidationError
from station.models import AuditEntry, Role
from station.models.feedback import ArchivedRecord, FeedbackCase, Rating
from station.services import feedback, retention, visits
from station.services.actors import Actor

from .feedback_helpers import ACTOR, S, served_visit


def _day_of_ratings(db, clock):
    a, _ = served_visit(db, clock, "浙A40001", until=S.CLOSED)
    b, _ = served_visit(db, clock, "浙A40002", until=S.CLOSED)
    with db.write() as s:
        feedback.rate(s, clock, ACTOR, visits.get(s, a), level="very_satisfied", channel="kiosk",
                      comment="=HYPERLINK(\"x\")")
        feedback.rate(s, clock, ACTOR, visits.get(s, b), level="dissatisfied",
                      channel="pickup_window", reasons=["wait_long"])
    return a, b


def test_csv_and_xlsx_exports_open(client, db, clock, login, demo_station):
    _day_of_ratings(db, clock)
    login(Role.MANAGER)
    got = client.get("/feedback/export?dataset=ratings&format=csv&from=2026-11-23&to=2026-11-23")
    assert got.status_code == 200 and got.mimetype == "text/csv"
    assert 'filename="ratings_20261123-20261123.csv"' in got.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(got.data.decode("utf-8-sig"))))
    assert rows[0][:5] == ["评价ID", "业务ID", "号牌号码", "评价时间", "等级"]
    assert [(r[2], r[4], r[6], r[9]) for r in rows[1:]] == [
        ("浙A40001", "非常满意", "否", "自助机"), ("浙A40002", "不满意", "是", "取件窗口")]
    assert rows[1][8] == "'=HYPERLINK(\"x\")"  # no formula injection
    got = client.get("/feedback/export?dataset=all&format=xlsx&from=2026-11-23&to=2026-11-23")
    assert got.status_code == 200
    book = load_workbook(io.BytesIO(got.data))
    assert book.sheetnames == ["检验业务", "评价", "差评核查与投诉"]
    visits_sheet = [list(r) for r in book["检验业务"].iter_rows(values_only=True)]
    assert [r[4] for r in visits_sheet[1:]] == ["浙A40001", "浙A40002"]
    assert [r[10] for r in visits_sheet[1:]] == ["非常满意", "不满意"]
    cases = [list(r) for r in book["差评核查与投诉"].iter_rows(values_only=True)]
    assert len(cases) == 2 and cases[1][1] == "差评核查" and cases[1][8] == "待处理"
    refused = client.get("/feedback/export?dataset=all&format=csv")
    assert refused.status_code == 302  # flashed back to the scorecard


def test_export_range_is_checked(db, clock):
    from datetime import date

    from station.services import exports

    with db.read() as s, pytest.raises(ValidationError):
        exports.export(s, clock, "visits", "csv", date(2026, 11, 23), date(2026, 11, 1))


def test_daily_report_is_printable(client, db, clock, login, demo_station):
    _day_of_ratings(db, clock)
    login(Role.MANAGER)
    page = client.get("/feedback/report/daily?day=2026-11-23").get_data(as_text=True)
    assert "服务日报" in page and "print.css" in page and "50.0%" in page
    assert "站长签字" in page


def test_archive_then_delete_only_after_the_retention_period(db, clock, tmp_path):
    a, b = _day_of_ratings(db, clock)
    with db.write() as s:
        case = s.scalars(sa.select(FeedbackCase)).one()
        feedback.record_callback(s, clock, ACTOR, case, "已回访")
        feedback.close(s, clock, ACTOR, case, findings="已解释", outcome="explained")
        case_id, bad_rating_id = case.id, case.rating_id
    manager = Actor.system("manager")
    with db.write() as s:  # nothing is old enough yet
        assert retention.archive_old(s, clock, tmp_path).file is None
    with pytest.raises(Conflict) as err, db.write() as s:
        retention.delete_record(s, clock, manager, "case", case_id, reason="当事人申请删除",
                                folder=tmp_path)
    assert err.value.code == "retention_period"
    clock.advance(days=365 * 6 + 3)  # past six years
    with db.write() as s:
        run = retention.archive_old(s, clock, tmp_path)
    assert run.counts == {"visit": 2, "rating": 2, "case": 1}
    records = retention.read_archive(tmp_path, run.file)
    assert {(r["type"], r["id"]) for r in records} >= {("visit", a), ("visit", b),
                                                       ("case", case_id)}
    visit_record = next(r for r in records if r["type"] == "visit" and r["id"] == a)
    assert visit_record["record"]["plate"] == "浙A40001"
    assert [t["to_state"] for t in visit_record["record"]["transitions"]][-1] == "closed"
    with db.write() as s:  # a second run archives nothing twice
        assert retention.archive_old(s, clock, tmp_path).file is None
    with pytest.raises(Conflict) as err, db.write() as s:
        retention.delete_record(s, clock, manager, "rating", bad_rating_id,
                                reason="当事人申请删除", folder=tmp_path)
    assert err.value.code == "rating_has_case"
    with db.write() as s:
        retention.delete_record(s, clock, manager, "case", case_id, reason="当事人申请删除",
                                folder=tmp_path)
    with db.read() as s:
        assert s.get(FeedbackCase, case_id) is None
        row = s.scalar(sa.select(ArchivedRecord).where(ArchivedRecord.entity_type == "case"))
        assert row.deleted_at is not None
        assert s.scalar(sa.select(AuditEntry).where(AuditEntry.action == "record.deleted")
                        ).details["reason"] == "当事人申请删除"
        assert visits.get(s, a) is not None  # visits are archived, never deleted
    assert (tmp_path / run.file).exists()


def test_records_api_is_manager_only_and_refuses_young_records(client, db, clock, login,
                                                               demo_station):
    a, _ = _day_of_ratings(db, clock)
    with db.read() as s:
        rating_id = s.scalar(sa.select(Rating.id).where(Rating.visit_id == a))
    h = {"X-CSRFToken": login(Role.COUNTER)}
    assert client.delete(f"/api/v1/feedback/records/rating/{rating_id}", headers=h,
                         json={"reason": "申请删除"}).status_code == 403
    client.post("/logout", data={"csrf_token": h["X-CSRFToken"]})
    h = {"X-CSRFToken": login(Role.MANAGER)}
    refused = client.delete(f"/api/v1/feedback/records/rating/{rating_id}", headers=h,
                            json={"reason": "申请删除"})
    assert refused.status_code == 409 and refused.get_json()["code"] == "retention_period"
    assert client.get("/api/v1/feedback/records").get_json()["retention_years"] == 6
    assert "保存年限" in client.get("/feedback/records").get_data(as_text=True)
    clock.advance(timedelta(days=7))
    assert client.post("/api/v1/feedback/records/archive", headers=h).get_json()["file"] is None
