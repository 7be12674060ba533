"""Screens: the owner's rating page and complaint form (public, phone-first), the cases of
the bad-rating follow-up, and the manager's scorecard, ratings, daily report, exports and
records.

Public pages: ``/feedback/rate/<token>`` (the ticket's progress token, unguessable) and
``/feedback/complain``; both rate-limited like the booking pages, with CSRF-protected forms
that work without scripts.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_login import current_user

from station.api.feedback import evidence_folder
from station.auth import public_limit, rate_limit, require_roles
from station.context import get_clock, get_config, get_db
from station.domain.masking import mask_plate
from station.errors import DomainError, NotFound
from station.models import Role
from station.models.feedback import (
    CASE_OUTCOME_LABELS,
    COMPLAINT_CATEGORY_LABELS,
    RATING_LEVEL_LABELS,
    CaseEvidence,
    RatingChannel,
)
from station.services import exports, feedback, retention, scorecard, settings, tickets, visits
from station.services.actors import Actor

bp = Blueprint("feedback_screens", __name__, url_prefix="/feedback", template_folder="templates")


@bp.app_template_filter("fbtime")
def _fbtime(value: str | None) -> str:
    """An ISO instant (as in the case and rating dicts) in the station's zone, to the minute."""
    if not value:
        return ""
    return get_clock().local(datetime.fromisoformat(value)).strftime("%Y-%m-%d %H:%M")


@bp.app_template_filter("fbdue")
def _fbdue(value: str | None) -> str:
    """A deadline (midnight after the last working day) as that last day."""
    if not value:
        return ""
    return (get_clock().local(datetime.fromisoformat(value)) - timedelta(seconds=1)).strftime(
        "%Y-%m-%d")


def _is_manager() -> bool:
    return bool(current_user.is_authenticated and current_user.has_role(Role.MANAGER))


def _day(value: str | None, default: date) -> date:
    if not value:
        return default
    try:
        return date.fromisoformat(value)
    except ValueError:
        abort(400)


# -- the owner's pages (public) -----------------------------------------------------------------

def _rate_page(token: str, form: dict[str, Any], error: DomainError | None,
               status: int = 200) -> tuple[str, int]:
    clock = get_clock()
    with get_db().read() as s:
        ticket = tickets.by_token(s, token)
        ok, why = feedback.can_rate(s, clock, ticket.visit)
        rating = feedback.rating_for_visit(s, ticket.visit.id)
        data = {"ticket": ticket.label, "plate": mask_plate(ticket.visit.vehicle.plate),
                "station_name": settings.get(s, "station.name"),
                "hotline": settings.get(s, "station.hotline"),
                "can_rate": ok, "why": why,
                "rated": RATING_LEVEL_LABELS[rating.level][0] if rating else None}
    return render_template("feedback/rate.html", p=data, token=token, form=form, error=error,
                           hotline=data["hotline"],
                           options=feedback.options()), status


@bp.route("/rate/<token>", methods=["GET", "POST"])
@rate_limit(public_limit)
def rate(token: str) -> Any:
    """The owner's rating page (from the progress page, the ticket QR or an SMS link)."""
    if request.method == "GET":
        return _rate_page(token, {}, None)
    form = request.form
    values = {"level": form.get("level", ""), "reasons": form.getlist("reasons"),
              "comment": form.get("comment", ""), "contact_phone": form.get("contact_phone", "")}
    try:
        with get_db().write() as s:
            visit = tickets.by_token(s, token).visit
            rating = feedback.rate(s, get_clock(), Actor.owner(), visit, level=values["level"],
                                   channel=RatingChannel.PROGRESS_PAGE, reasons=values["reasons"],
                                   comment=values["comment"],
                                   contact_phone=values["contact_phone"])
            bad = rating.bad
    except NotFound:
        raise
    except DomainError as err:
        return _rate_page(token, values, err, err.status)
    return redirect(url_for("feedback_screens.rate_done", token=token, bad=int(bad)))


@bp.route("/rate/<token>/done")
@rate_limit(public_limit)
def rate_done(token: str) -> str:
    with get_db().read() as s:
        tickets.by_token(s, token)
        hotline = settings.get(s, "station.hotline")
    return render_template("feedback/rate_done.html", bad=request.args.get("bad") == "1",
                           hotline=hotline, token=token)


@bp.route("/complain", methods=["GET", "POST"])
@rate_limit(public_limit, methods=["POST"])
def complain() -> Any:
    """The public complaint form: scalpers (黄牛), fees, service."""
    with get_db().read() as s:
        hotline = settings.get(s, "station.hotline")
        station_name = settings.get(s, "station.name")
    categories = [(c.value, zh) for c, (zh, _) in COMPLAINT_CATEGORY_LABELS.items()]
    if request.method == "GET":
        return render_template("feedback/complain.html", form={}, error=None, hotline=hotline,
                               station_name=station_name, categories=categories)
    values = {k: request.form.get(k, "") for k in ("category", "description", "contact_name",
                                                     "contact_phone", "plate")}
    try:
        with get_db().write() as s:
            case = feedback.complain(s, get_clock(), Actor.owner(),
                                     feedback.ComplaintForm(**values), source="public")
            number, due = case.id, get_clock().local(case.due_at) - timedelta(seconds=1)
    except DomainError as err:
        return render_template("feedback/complain.html", form=values, error=err, hotline=hotline,
                               station_name=station_name, categories=categories), err.status
    return render_template("feedback/complain_done.html", number=number, due=due,
                           hotline=hotline, station_name=station_name)


# -- cases (staff) ------------------------------------------------------------------------------

@bp.route("/cases")
@require_roles()
def cases() -> str:
    state = request.args.get("state") or "active"
    if state not in ("active", "open", "in_progress", "closed", "overdue", "all"):
        abort(400)
    clock = get_clock()
    with get_db().read() as s:
        rows = [feedback.case_dict(s, clock, c, show_contact=True)
                for c in feedback.list_cases(s, viewer_id=current_user.id,
                                             manager=_is_manager(),
                                             state=None if state == "all" else state)]
        escalated = len(feedback.escalated_open(s)) if _is_manager() else 0
    return render_template("feedback/cases.html", cases=rows, state=state, escalated=escalated,
                           categories=[(c.value, zh) for c, (zh, _) in
                                       COMPLAINT_CATEGORY_LABELS.items()])


@bp.route("/cases/new", methods=["POST"])
@require_roles()
def new_complaint() -> Any:
    """A complaint entered by staff (phone call, walk-up, letter)."""
    values = {k: request.form.get(k, "") for k in ("category", "description", "contact_name",
                                                     "contact_phone", "plate")}
    try:
        with get_db().write() as s:
            case = feedback.complain(s, get_clock(), Actor.user(current_user),
                                     feedback.ComplaintForm(**values), source="staff")
            case_id = case.id
    except DomainError as err:
        flash(err.message_zh, "error")
        return redirect(url_for("feedback_screens.cases"))
    flash(f"已登记投诉 #{case_id}", "info")
    return redirect(url_for("feedback_screens.case", case_id=case_id))


@bp.route("/cases/<int:case_id>", methods=["GET", "POST"])
@require_roles()
def case(case_id: int) -> Any:
    clock, actor, manager = get_clock(), Actor.user(current_user), _is_manager()
    if request.method == "POST":
        action = request.form.get("action")
        try:
            with get_db().write() as s:
                row = feedback.get_case(s, case_id, for_update=True)
                feedback.ensure_may_handle(row, actor, manager=manager)
                if action == "assign" and manager:
                    feedback.assign(s, clock, actor, row, int(request.form["assignee_id"]))
                elif action == "callback":
                    feedback.record_callback(s, clock, actor, row, request.form.get("note", ""))
                elif action == "evidence":
                    upload = request.files.get("file")
                    feedback.add_evidence(
                        s, clock, actor, row, filename=upload.filename if upload else "",
                        content_type=upload.mimetype if upload else None,
                        data=upload.read() if upload else b"", folder=evidence_folder())
                elif action == "close":
                    feedback.close(s, clock, actor, row, findings=request.form.get("findings", ""),
                                   outcome=request.form.get("outcome", ""))
                else:
                    raise DomainError("action_unknown", "未知操作", "Unknown action")
        except DomainError as err:
            flash(err.message_zh, "error")
        except (KeyError, ValueError):
            flash("输入的数据有误", "error")
        else:
            flash("已保存", "info")
        return redirect(url_for("feedback_screens.case", case_id=case_id))
    with get_db().read() as s:
        row = feedback.get_case(s, case_id)
        feedback.ensure_may_handle(row, actor, manager=manager)
        data = feedback.case_dict(s, clock, row, show_contact=True)
        staff = [(u.id, u.display_name) for u in feedback.staff_choices(s)] if manager else []
    return render_template("feedback/case.html", c=data, staff=staff, manager=manager,
                           outcomes=[(o.value, zh) for o, (zh, _) in CASE_OUTCOME_LABELS.items()])


@bp.route("/cases/<int:case_id>/evidence/<int:evidence_id>")
@require_roles()
def evidence(case_id: int, evidence_id: int) -> Any:
    with get_db().read() as s:
        row = feedback.get_case(s, case_id)
        feedback.ensure_may_handle(row, Actor.user(current_user), manager=_is_manager())
        ev = s.get(CaseEvidence, evidence_id)
        if ev is None or ev.case_id != case_id:
            abort(404)
        path, name, kind = evidence_folder() / ev.stored_as, ev.filename, ev.content_type
    if not path.exists():
        abort(404)
    return send_file(path, mimetype=kind, download_name=name, as_attachment=True)


# -- the manager's screens ----------------------------------------------------------------------

@bp.route("/scorecard")
@require_roles(Role.MANAGER)
def scorecard_page() -> str:
    granularity = request.args.get("period", "day")
    if granularity not in scorecard.GRANULARITIES:
        abort(400)
    clock = get_clock()
    with get_db().read() as s:
        data = scorecard.scorecard(s, clock, granularity)
        escalated = [feedback.case_dict(s, clock, c, show_contact=False)
                     for c in feedback.escalated_open(s)]
    today = clock.today()
    return render_template("feedback/scorecard.html", data=data, period=granularity,
                           escalated=escalated, today=today,
                           month_start=today.replace(day=1))


@bp.route("/ratings")
@require_roles(Role.MANAGER)
def ratings() -> str:
    clock = get_clock()
    last = _day(request.args.get("to"), clock.today())
    first = _day(request.args.get("from"), last - timedelta(days=6))
    start, _ = clock.day_bounds(first)
    _, end = clock.day_bounds(last)
    with get_db().read() as s:
        rows = [feedback.rating_dict(r, manager=True, visit=visits.get(s, r.visit_id))
                for r in feedback.ratings_between(s, start, end)]
    return render_template("feedback/ratings.html", ratings=rows, first=first, last=last)


@bp.route("/report/daily")
@require_roles(Role.MANAGER)
def daily_report() -> str:
    """A printable report of one day (打印日报)."""
    clock = get_clock()
    day = _day(request.args.get("day"), clock.today())
    start, end = clock.day_bounds(day)
    with get_db().read() as s:
        figures = scorecard.period(s, clock, day, day, label=day.isoformat()).as_dict()
        rows = [feedback.rating_dict(r, manager=True) for r in feedback.ratings_between(s, start, end)]
        cases = [feedback.case_dict(s, clock, c, show_contact=False)
                 for c in feedback.list_cases(s, viewer_id=None, manager=True, state="active")]
        station_name = settings.get(s, "station.name")
    return render_template("feedback/report_daily.html", day=day, f=figures, ratings=rows,
                           cases=cases, station_name=station_name,
                           printed_at=clock.local().strftime("%Y-%m-%d %H:%M"))


@bp.route("/export")
@require_roles(Role.MANAGER)
def export() -> Response:
    clock = get_clock()
    last = _day(request.args.get("to"), clock.today())
    first = _day(request.args.get("from"), last.replace(day=1))
    try:
        with get_db().read() as s:
            content, mimetype, name = exports.export(
                s, clock, request.args.get("dataset", "visits"), request.args.get("format", "xlsx"),
                first, last)
    except DomainError as err:
        flash(err.message_zh, "error")
        return redirect(url_for("feedback_screens.scorecard_page"))  # type: ignore[return-value]
    response = Response(content, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@bp.route("/records", methods=["GET", "POST"])
@require_roles(Role.MANAGER)
def records() -> Any:
    """Retention: status, archive now, delete after the retention period (audited)."""
    clock = get_clock()
    if request.method == "POST":
        action = request.form.get("action")
        try:
            with get_db().write() as s:
                if action == "archive":
                    run = retention.archive_old(s, clock, get_config().archive_path)
                    message = (f"已归档：{run.counts}，文件 {run.file}" if run.file
                               else "没有到期需要归档的记录")
                elif action == "delete":
                    retention.delete_record(s, clock, Actor.user(current_user),
                                            request.form.get("entity_type", ""),
                                            int(request.form.get("entity_id", "0")),
                                            reason=request.form.get("reason", ""),
                                            folder=evidence_folder())
                    message = "已删除（归档副本保留）"
                else:
                    raise DomainError("action_unknown", "未知操作", "Unknown action")
        except DomainError as err:
            flash(err.message_zh, "error")
        except ValueError:
            flash("输入的数据有误", "error")
        else:
            flash(message, "info")
        return redirect(url_for("feedback_screens.records"))
    with get_db().read() as s:
        status = retention.status(s, clock)
    return render_template("feedback/records.html", status=status)
