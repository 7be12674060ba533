"""Ratings, the bad-rating follow-up with its working-day deadline, escalation by the job."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from station import signals
from station.errors import Conflict, ValidationError
from station.jobs import feedback as feedback_jobs
from station.models import AuditEntry, Role
from station.models.feedback import CaseOutcome, CaseState, FeedbackCase, Rating, RatingLevel
from station.services import calendar, feedback, visits
from station.services.actors import Actor

from .feedback_helpers import ACTOR, S, served_visit

SH = ZoneInfo("Asia/Shanghai")


def _rate(db, clock, visit_id, level, **kw):
    with db.write() as s:
        return feedback.rate(s, clock, ACTOR, visits.get(s, visit_id), level=level,
                             channel=kw.pop("channel", "kiosk"), **kw)


def test_one_rating_per_visit_and_only_after_the_test(db, clock):
    early, _ = served_visit(db, clock, "浙A10001", until=S.ON_LANE)
    with pytest.raises(Conflict) as err:
        _rate(db, clock, early, "satisfied")
    assert err.value.code == "rating_too_early"
    visit_id, _ = served_visit(db, clock, "浙A10002")
    rating = _rate(db, clock, visit_id, "very_satisfied", reasons=["fast", "friendly"],
                   comment="很快")
    assert not rating.bad
    with pytest.raises(Conflict) as err:
        _rate(db, clock, visit_id, "dissatisfied")
    assert err.value.code == "rating_exists"
    with pytest.raises(ValidationError):
        _rate(db, clock, early, "great")
    with db.read() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Rating)) == 1
        assert s.scalar(sa.select(sa.func.count()).select_from(FeedbackCase)) == 0


def test_the_database_refuses_a_second_rating_of_a_visit(db, clock):
    visit_id, _ = served_visit(db, clock, "浙A10003")
    _rate(db, clock, visit_id, "satisfied")
    with pytest.raises(sa.exc.IntegrityError), db.write() as s:
        s.add(Rating(visit_id=visit_id, level=RatingLevel.SATISFIED, bad=False, reasons=[],
                     channel="kiosk", rated_at=clock.now()))
        s.flush()


def test_bad_rating_opens_a_case_due_in_five_working_days_mon_to_fri(db, clock):
    visit_id, _ = served_visit(db, clock, "浙A10004", phone="13900001111")
    _rate(db, clock, visit_id, "very_dissatisfied", reasons=["wait_long"], comment="等了很久")
    with db.read() as s:
        case = s.scalars(sa.select(FeedbackCase)).one()
        assert case.state is CaseState.OPEN and case.contact_phone == "13900001111"
        # opened Monday 23 Nov: Tue–Fri and Mon 30 Nov are the five working days
        assert case.due_at == datetime(2026, 12, 1, 0, 0, tzinfo=SH)
        assert "非常不满意" in case.description and "等候时间长" in case.description


def test_the_deadline_follows_the_station_calendar(db, clock, demo_station):
    with db.write() as s:  # the demo works Saturdays; make Thursday 26 Nov a holiday
        calendar.set_exception(s, clock, ACTOR, datetime(2026, 11, 26).date(), closed=True,
                               reason="检修")
    visit_id, _ = served_visit(db, clock, "浙A10005")
    _rate(db, clock, visit_id, "dissatisfied")
    with db.read() as s:
        case = s.scalars(sa.select(FeedbackCase)).one()
        # Tue 24, Wed 25, Fri 27, Sat 28, Mon 30 (Sunday closed, Thursday a holiday)
        assert case.due_at == datetime(2026, 12, 1, 0, 0, tzinfo=SH)


def test_follow_up_workflow_callback_evidence_and_outcome(db, clock, create_user, tmp_path):
    handler = create_user(Role.COUNTER)
    visit_id, _ = served_visit(db, clock, "浙A10006")
    _rate(db, clock, visit_id, "dissatisfied", reasons=["scalper"])
    with db.read() as s:
        case_id = s.scalars(sa.select(FeedbackCase.id)).one()
    me = Actor.user(handler)
    with db.write() as s:
        case = feedback.get_case(s, case_id)
        with pytest.raises(Exception) as err:
            feedback.ensure_may_handle(case, me, manager=False)
        assert err.value.code == "case_not_assigned"
        feedback.assign(s, clock, ACTOR, case, handler.id)
        feedback.ensure_may_handle(case, me, manager=False)
    with pytest.raises(Conflict) as err, db.write() as s:  # no call back yet
        feedback.close(s, clock, me, feedback.get_case(s, case_id), findings="查看监控",
                       outcome="explained")
    assert err.value.code == "callback_required"
    clock.advance(hours=2)
    with db.write() as s:
        feedback.record_callback(s, clock, me, feedback.get_case(s, case_id),
                                 "车主称在停车场被人搭讪代办，已解释本站不收代办费")
    with pytest.raises(Conflict) as err, db.write() as s:
        feedback.close(s, clock, me, feedback.get_case(s, case_id), findings="监控显示系误评",
                       outcome="disputed_mistaken")
    assert err.value.code == "evidence_required"
    with pytest.raises(ValidationError), db.write() as s:
        feedback.add_evidence(s, clock, me, feedback.get_case(s, case_id), filename="x.exe",
                              content_type="application/x-msdownload", data=b"MZ",
                              folder=tmp_path)
    with db.write() as s:
        ev = feedback.add_evidence(s, clock, me, feedback.get_case(s, case_id),
                                   filename="监控截图.png", content_type="image/png",
                                   data=b"\x89PNG fake image", folder=tmp_path)
        assert (tmp_path / ev.stored_as).read_bytes() == b"\x89PNG fake image"
    with db.write() as s:
        feedback.close(s, clock, me, feedback.get_case(s, case_id), findings="监控显示系误评",
                       outcome="disputed_mistaken")
    with db.read() as s:
        case = feedback.get_case(s, case_id)
        assert case.state is CaseState.CLOSED and case.outcome is CaseOutcome.DISPUTED_MISTAKEN
        assert case.closed_by == handler.username and len(case.evidence) == 1
        actions = list(s.scalars(sa.select(AuditEntry.action).order_by(AuditEntry.id)))
        assert [a for a in actions if a.startswith("case.")] == [
            "case.opened", "case.assigned", "case.callback", "case.evidence_added", "case.closed"]
        with pytest.raises(Conflict):
            feedback.record_callback(s, clock, me, case, "again")


def test_overdue_cases_escalate_once_through_the_job(db, clock, tmp_path):
    visit_id, _ = served_visit(db, clock, "浙A10007")
    _rate(db, clock, visit_id, "dissatisfied")
    other, _ = served_visit(db, clock, "浙A10008")
    _rate(db, clock, other, "very_dissatisfied")
    with db.write() as s:  # the second one is handled in time
        case = s.scalars(sa.select(FeedbackCase).where(FeedbackCase.visit_id == other)).one()
        feedback.record_callback(s, clock, ACTOR, case, "已回访")
        feedback.close(s, clock, ACTOR, case, findings="已整改", outcome="fixed")
    received = []

    def listen(sender, **payload):
        received.append(payload)

    signals.feedback_changed.connect(listen, sender=db)
    [escalate, archive] = feedback_jobs.jobs(db, clock, tmp_path)
    assert (escalate.id, archive.id) == ("feedback.escalate", "records.archive")
    try:
        clock.set(datetime(2026, 11, 30, 23, 59, tzinfo=SH))  # not yet due
        escalate.func()
        with db.read() as s:
            assert s.scalars(sa.select(FeedbackCase.escalated_at)).all() == [None, None]
        clock.set(datetime(2026, 12, 1, 0, 15, tzinfo=SH))
        escalate.func()
        escalate.func()  # a second run changes nothing
    finally:
        signals.feedback_changed.disconnect(listen, sender=db)
    with db.read() as s:
        overdue = s.scalars(sa.select(FeedbackCase).where(
            FeedbackCase.escalated_at.is_not(None))).all()
        assert [c.visit_id for c in overdue] == [visit_id]
        assert [c.visit_id for c in feedback.escalated_open(s)] == [visit_id]
        assert s.scalar(sa.select(sa.func.count()).select_from(AuditEntry).where(
            AuditEntry.action == "case.escalated")) == 1
    assert [p for p in received if p["state"] == "escalated"] == [
        {"kind": "case", "id": overdue[0].id, "state": "escalated",
         "at": clock.now().isoformat()}]


def test_complaints_are_tracked_like_cases(db, clock):
    with db.write() as s:
        case = feedback.complain(s, clock, Actor.owner(), feedback.ComplaintForm(
            category="scalper", description="门口有人收费代检，声称可以包过",
            contact_phone="138 1234 5678"), source="public")
        assert case.kind.value == "complaint" and case.contact_phone == "13812345678"
        assert case.due_at == datetime(2026, 12, 1, 0, 0, tzinfo=SH)
    for bad in (feedback.ComplaintForm(category="x", description="门口有人收费代检"),
                feedback.ComplaintForm(category="fee", description="短"),
                feedback.ComplaintForm(category="fee", description="收费太贵了吧",
                                       contact_phone="123")):
        with pytest.raises(ValidationError), db.write() as s:
            feedback.complain(s, clock, Actor.owner(), bad, source="public")
    with db.read() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(FeedbackCase)) == 1
        assert feedback.list_cases(s, viewer_id=None, manager=True)[0].id == case.id
        assert feedback.list_cases(s, viewer_id=99, manager=False) == []


def test_working_day_counting_without_a_calendar_skips_weekends(db, clock):
    with db.read() as s:
        friday = datetime(2026, 11, 27, 16, 0, tzinfo=SH)
        assert feedback.deadline(s, clock, friday) == datetime(2026, 12, 5, 0, 0, tzinfo=SH)
        assert [feedback.is_working_day(s, (friday + timedelta(days=n)).date())
                for n in range(3)] == [True, False, False]
