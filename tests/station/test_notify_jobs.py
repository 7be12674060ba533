"""Reminders through the outbox, the SMS gateway adapter, and jobs run by the real scheduler."""

from __future__ import annotations

import json
import threading
import time as wall
from datetime import date, datetime, time, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import ClassVar

import pytest
import sqlalchemy as sa

from station.devices import DeviceManager
from station.jobs import build_scheduler, station_jobs
from station.models import Appointment, AppointmentStatus, Channel, OutboxMessage, OutboxStatus
from station.services import appointments, evidence, notify
from station.services.actors import Actor

ACTOR = Actor.system("test")


@pytest.fixture(autouse=True)
def station(demo_station):
    return demo_station


def _book(db, clock, day=date(2026, 11, 24), at=time(9, 0), plate="浙A12345"):
    with db.write() as s:
        return appointments.book(s, clock, ACTOR, appointments.BookingRequest(
            plate_type="02", plate=plate, contact_name="张三", phone="13812345678", day=day,
            starts_at=at, channel=Channel.WEB))


def _outbox(db):
    with db.read() as s:
        return [(m.kind, m.status, m.body) for m in
                s.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id))]


def test_day_before_reminder_after_the_configured_time_once(db, clock):
    a = _book(db, clock)
    with db.write() as s:
        assert notify.queue_day_before_reminders(s, clock) == 0  # 09:00: too early in the day
    clock.set(datetime(2026, 11, 23, 18, 0, tzinfo=clock.tz))
    for _ in range(2):
        with db.write() as s:
            notify.queue_day_before_reminders(s, clock)
    [(kind, status, body)] = _outbox(db)
    assert kind == "reminder_day_before" and status is OutboxStatus.PENDING
    assert a.code in body and "明天09:00" in body


def test_soon_reminder(db, clock):
    a = _book(db, clock, day=date(2026, 11, 23), at=time(10, 0))
    clock.set(a.slot_start - timedelta(minutes=31))
    with db.write() as s:
        assert notify.queue_soon_reminders(s, clock) == 0
    clock.advance(minutes=2)
    with db.write() as s:
        assert notify.queue_soon_reminders(s, clock) == 1
        assert notify.queue_soon_reminders(s, clock) == 0
    assert "29分钟后" in _outbox(db)[0][2]


class _Gateway(BaseHTTPRequestHandler):
    received: ClassVar[list[dict]] = []
    fail = False

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        _Gateway.received.append({"auth": self.headers["Authorization"], **body})
        self.send_response(500 if _Gateway.fail else 200)
        self.end_headers()

    def log_message(self, *args):
        return None


@pytest.fixture
def gateway():
    server = HTTPServer(("127.0.0.1", 0), _Gateway)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Gateway.received, _Gateway.fail = [], False
    yield f"http://127.0.0.1:{server.server_port}/sms"
    server.shutdown()
    server.server_close()


def test_sms_gateway_delivers_and_retries(db, clock, gateway):
    with db.write() as s:
        notify.enqueue(s, clock, kind="test", phone="13812345678", body="您好")
    notifier = notify.SmsGatewayNotifier(gateway, "tok")
    _Gateway.fail = True
    for _ in range(notify.MAX_ATTEMPTS - 1):
        with db.write() as s:
            assert notify.deliver_pending(s, clock, notifier) == 0
    assert _outbox(db)[0][1] is OutboxStatus.PENDING
    _Gateway.fail = False
    with db.write() as s:
        assert notify.deliver_pending(s, clock, notifier) == 1
    assert _outbox(db)[0][1] is OutboxStatus.SENT
    assert _Gateway.received[-1] == {"auth": "Bearer tok", "phone": "13812345678", "text": "您好"}


def test_unreachable_gateway_fails_after_the_attempts(db, clock):
    with db.write() as s:
        notify.enqueue(s, clock, kind="test", phone="13812345678", body="x")
    notifier = notify.SmsGatewayNotifier("http://127.0.0.1:9/none", "t", timeout_s=1)
    for _ in range(notify.MAX_ATTEMPTS):
        with db.write() as s:
            notify.deliver_pending(s, clock, notifier)
    assert _outbox(db)[0][1] is OutboxStatus.FAILED


def test_outbox_only_notifier_keeps_messages(db, clock):
    with db.write() as s:
        notify.enqueue(s, clock, kind="test", phone="13812345678", body="x")
        assert notify.deliver_pending(s, clock, notify.OutboxOnlyNotifier()) == 0
    assert _outbox(db)[0][1] is OutboxStatus.PENDING


def test_scheduler_marks_a_no_show(db, clock, tmp_path):
    """The real APScheduler runs the no-show job; the booking lapses without a person."""
    a = _book(db, clock, day=date(2026, 11, 23), at=time(10, 0))
    clock.set(a.slot_start + timedelta(hours=2))
    store = evidence.EvidenceStore.under(tmp_path)
    scheduler = build_scheduler(station_jobs(db, clock, DeviceManager(db, clock, {}),
                                             notify.OutboxOnlyNotifier(), store), clock)
    scheduler.start()
    try:
        scheduler.get_job("appointments.no_shows").modify(next_run_time=datetime.now(clock.tz))
        deadline = wall.monotonic() + 15
        status = None
        while wall.monotonic() < deadline:
            with db.read() as s:
                status = s.scalar(sa.select(Appointment.status).where(Appointment.id == a.id))
            if status is AppointmentStatus.NO_SHOW:
                break
            wall.sleep(0.05)
        assert status is AppointmentStatus.NO_SHOW
    finally:
        scheduler.shutdown(wait=True)
