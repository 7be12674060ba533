"""The station manager's screens: booking calendar, capacity, figures, phone blocks, outbox."""

from __future__ import annotations

from datetime import date, time, timedelta
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from station.auth import require_roles
from station.context import get_clock, get_db
from station.errors import DomainError
from station.models import OpeningHours, PhoneBlock, Role
from station.services import appointments, calendar, figures, notify, settings
from station.services.actors import Actor

bp = Blueprint("manager", __name__, url_prefix="/manager", template_folder="templates")

#: the booking rules shown for editing on the screen, in this order
BOOKING_SETTINGS = ("booking.slot_minutes", "booking.capacity.small", "booking.capacity.large",
                    "booking.days_ahead", "booking.min_lead_minutes",
                    "booking.max_per_phone_per_day", "booking.cancel_cutoff_hours",
                    "booking.no_show_grace_minutes", "booking.no_show_limit",
                    "booking.block_months", "checkin.early_minutes", "checkin.late_minutes",
                    "queue.max_wait_minutes", "reminders.day_before_at", "reminders.soon_minutes")


def _time(value: str | None) -> time | None:
    return time.fromisoformat(value) if value else None


@bp.route("/bookings")
@require_roles(Role.MANAGER)
def bookings() -> str:
    clock = get_clock()
    today = clock.today()
    with get_db().read() as s:
        hours = {h.weekday: h for h in s.scalars(sa.select(OpeningHours))}
        data: dict[str, Any] = {
            "figures": figures.figures(s, clock, today - timedelta(days=6), today),
            "hours": [(n, calendar.WEEKDAYS_ZH[n], hours.get(n)) for n in range(7)],
            "exceptions": calendar.upcoming_exceptions(s, today),
            "settings": [(key, settings.SETTINGS[key], settings.get(s, key)) for key in BOOKING_SETTINGS],
            "blocks": list(s.scalars(sa.select(PhoneBlock).where(
                PhoneBlock.lifted_at.is_(None), PhoneBlock.blocked_until > clock.now()))),
            "outbox": notify.outbox(s, limit=50),
            "today_slots": calendar.slots(s, clock, today, "small"),
        }
    return render_template("manager/bookings.html", today=today, targets=(
        figures.TARGET_APPOINTMENT_RATE, figures.TARGET_ONLINE_RATE), **data)


@bp.route("/bookings", methods=["POST"])
@require_roles(Role.MANAGER)
def bookings_change() -> Any:
    form = request.form
    action = form.get("action")
    clock = get_clock()
    actor = Actor.user(current_user)
    try:
        with get_db().write() as s:
            if action == "hours":
                calendar.set_hours(s, clock, actor, int(form["weekday"]),
                                   closed=form.get("closed") == "1",
                                   opens_at=_time(form.get("opens_at")),
                                   closes_at=_time(form.get("closes_at")),
                                   lunch_from=_time(form.get("lunch_from")),
                                   lunch_until=_time(form.get("lunch_until")))
            elif action == "exception":
                weekday = form.get("hours_of_weekday")
                calendar.set_exception(s, clock, actor, date.fromisoformat(form["day"]),
                                       closed=form.get("closed") == "1", reason=form.get("reason", ""),
                                       hours_of_weekday=int(weekday) if weekday else None)
            elif action == "capacity":
                calendar.set_capacity(s, clock, actor, date.fromisoformat(form["day"]),
                                      time.fromisoformat(form["starts_at"]), form["vehicle_class"],
                                      int(form["capacity"]))
            elif action == "setting":
                settings.put(s, clock, actor, form["key"], form.get("value", ""))
            elif action == "import":
                upload = request.files.get("file")
                records = appointments.parse_import_file(upload.read() if upload else b"")
                result = appointments.import_bookings(s, clock, actor, records)
                flash(f"导入完成：成功{len(result.booked)}条，跳过重复{len(result.skipped)}条，"
                      f"未通过{len(result.refused)}条" + "".join(
                          f"；第{r['index'] + 2}行：{r['message']}" for r in result.refused[:10]),
                      "info" if not result.refused else "error")
            elif action == "lift":
                appointments.lift_block(s, clock, actor, int(form["block_id"]), form.get("reason", ""))
            else:
                raise DomainError("action_unknown", "未知操作", "Unknown action")
    except DomainError as err:
        flash(err.message_zh, "error")
    except (KeyError, ValueError):
        flash("输入的数据有误，请检查日期、时间和数字", "error")
    else:
        if action != "import":
            flash("已保存", "info")
    return redirect(url_for("manager.bookings"))
