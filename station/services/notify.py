"""Messages to owners (reminders …) through a notifier.

Every message is first written to the ``outbox_messages`` table in the transaction that
decided to send it; a notifier then delivers pending messages. The default notifier only
keeps them in the outbox, which the manager screen shows (a station without an SMS contract
still sees what would have been sent); :class:`SmsGatewayNotifier` posts them to an HTTP SMS
gateway. Both sit behind the same :class:`Notifier` interface.
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from datetime import datetime, time, timedelta
from typing import Protocol

import sqlalchemy as sa
from sqlalchemy.orm import Session

from station.clock import Clock
from station.models import Appointment, AppointmentStatus, OutboxMessage, OutboxStatus

from . import settings

log = logging.getLogger(__name__)
#: delivery attempts before a message is marked failed
MAX_ATTEMPTS = 3


class DeliveryError(Exception):
    """A message could not be handed over (the gateway refused it or did not answer)."""


class Notifier(Protocol):
    """Delivers one message; raises :class:`DeliveryError` when it could not."""

    #: False: messages stay in the outbox as the record of what was (to be) sent
    delivers: bool

    def deliver(self, phone: str, body: str) -> None: ...


class OutboxOnlyNotifier:
    """The default: nothing leaves the station; the outbox is the record."""

    delivers = False

    def deliver(self, phone: str, body: str) -> None:
        raise DeliveryError("no delivery configured")


class SmsGatewayNotifier:
    """POSTs ``{"phone": …, "text": …}`` as JSON to an SMS gateway URL with a bearer token."""

    delivers = True

    def __init__(self, url: str, token: str, *, timeout_s: float = 5.0) -> None:
        self.url, self.token, self.timeout_s = url, token, timeout_s

    def deliver(self, phone: str, body: str) -> None:
        data = json.dumps({"phone": phone, "text": body}, ensure_ascii=False).encode()
        request = urllib.request.Request(self.url, data=data, method="POST", headers={
            "Content-Type": "application/json; charset=utf-8",
            "Authorization": f"Bearer {self.token}"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                if response.status >= 300:
                    raise DeliveryError(f"gateway answered {response.status}")
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            raise DeliveryError(str(exc)) from exc


def enqueue(session: Session, clock: Clock, *, kind: str, phone: str, body: str,
            appointment_id: int | None = None) -> OutboxMessage:
    message = OutboxMessage(kind=kind, phone=phone, body=body, appointment_id=appointment_id,
                            status=OutboxStatus.PENDING, created_at=clock.now())
    session.add(message)
    return message


def deliver_pending(session: Session, clock: Clock, notifier: Notifier, *,
                    limit: int = 100) -> int:
    """Try to deliver pending messages; returns how many were sent."""
    if not notifier.delivers:
        return 0
    sent = 0
    pending = session.scalars(sa.select(OutboxMessage).where(
        OutboxMessage.status == OutboxStatus.PENDING).order_by(OutboxMessage.id).limit(limit))
    for message in pending:
        message.attempts += 1
        try:
            notifier.deliver(message.phone, message.body)
        except DeliveryError as exc:
            message.last_error = str(exc)[:200]
            if message.attempts >= MAX_ATTEMPTS:
                message.status = OutboxStatus.FAILED
            log.warning("message %s not delivered: %s", message.id, exc)
            continue
        message.status, message.sent_at = OutboxStatus.SENT, clock.now()
        sent += 1
    return sent


def _station_name(session: Session) -> str:
    return str(settings.get(session, "station.name"))


def queue_day_before_reminders(session: Session, clock: Clock) -> int:
    """After the configured time of day, remind tomorrow's bookings (once each)."""
    hh, mm = (int(x) for x in str(settings.get(session, "reminders.day_before_at")).split(":"))
    local_now = clock.local()
    if local_now.time() < time(hh, mm):
        return 0
    tomorrow = local_now.date() + timedelta(days=1)
    due = list(session.scalars(sa.select(Appointment).where(
        Appointment.day == tomorrow, Appointment.status == AppointmentStatus.ACTIVE,
        Appointment.reminded_day_before_at.is_(None))))
    name = _station_name(session)
    for a in due:
        enqueue(session, clock, kind="reminder_day_before", phone=a.phone, appointment_id=a.id,
                body=f"【{name}】您预约了明天{a.slot_starts_at:%H:%M}检验（号牌{a.plate}），"
                     f"预约号{a.code}。请携带行驶证按时到站，如需取消请提前办理。")
        a.reminded_day_before_at = clock.now()
    return len(due)


def queue_soon_reminders(session: Session, clock: Clock) -> int:
    """Remind bookings whose slot starts within ``reminders.soon_minutes`` (once each)."""
    now = clock.now()
    soon = now + timedelta(minutes=int(settings.get(session, "reminders.soon_minutes")))
    due = list(session.scalars(sa.select(Appointment).where(
        Appointment.status == AppointmentStatus.ACTIVE, Appointment.slot_start > now,
        Appointment.slot_start <= soon, Appointment.reminded_soon_at.is_(None))))
    name = _station_name(session)
    for a in due:
        minutes = max(1, int((a.slot_start - now) / timedelta(minutes=1)))
        enqueue(session, clock, kind="reminder_soon", phone=a.phone, appointment_id=a.id,
                body=f"【{name}】您的检验预约将于{minutes}分钟后（{a.slot_starts_at:%H:%M}）开始，"
                     f"到站后请在自助取号机输入预约号{a.code}签到。")
        a.reminded_soon_at = clock.now()
    return len(due)


def outbox(session: Session, *, limit: int = 200) -> list[OutboxMessage]:
    return list(session.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id.desc())
                                .limit(limit)))


def sent_since(session: Session, since: datetime) -> int:
    return int(session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage).where(
        OutboxMessage.status == OutboxStatus.SENT, OutboxMessage.sent_at >= since)) or 0)
