"""Ratings, cases, complaints, scorecard, records.

- Owners rate through the public endpoints keyed by the ticket's progress token
  (``/rate/<token>``); the kiosk posts to ``/ratings`` with its device token and the token
  read from the ticket's QR code; staff at the pick-up window post to ``/ratings`` with the
  visit id.
- Ratings are anonymous to staff: only the manager lists them with their visit; a case's
  contact details are shown to the manager and the case's assignee only.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from flask import request
from flask_login import current_user
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from station.auth import current_device, public_limit, rate_limit, require_device, require_roles
from station.context import get_clock, get_config, get_db
from station.domain.masking import mask_plate
from station.errors import ValidationError as DomainValidationError
from station.models import ClientKind, Role
from station.models.feedback import RatingChannel
from station.services import feedback, retention, scorecard, settings, tickets, visits
from station.services.actors import Actor

from .common import Blueprint, current_actor

blp = Blueprint("feedback", __name__, url_prefix="/api/v1/feedback",
                description="Ratings (好差评), cases, complaints, scorecard, records")

TOKEN_IN_URL = re.compile(r"/p/([A-Za-z0-9_\-]+)/?$")


def evidence_folder() -> Any:
    return get_config().instance_path / "feedback" / "evidence"


def _is_manager() -> bool:
    return bool(current_user.is_authenticated and current_user.has_role(Role.MANAGER))


# -- schemas ------------------------------------------------------------------------------------

class RatingInSchema(Schema):
    level = fields.Str(required=True, metadata={"description": "very_satisfied … very_dissatisfied"})
    reasons = fields.List(fields.Str(), load_default=list)
    comment = fields.Str(load_default=None, allow_none=True)
    contact_phone = fields.Str(load_default=None, allow_none=True,
                               metadata={"description": "for the call-back after a bad rating"})


class StationRatingInSchema(RatingInSchema):
    token = fields.Str(load_default=None, allow_none=True,
                       metadata={"description": "progress token or the ticket QR's URL (kiosk)"})
    visit_id = fields.Int(load_default=None, allow_none=True,
                          metadata={"description": "the visit (staff at the pick-up window)"})

    @validates_schema
    def _one_of(self, data: dict[str, Any], **_: Any) -> None:
        if not data.get("token") and not data.get("visit_id"):
            raise ValidationError("token or visit_id is required", "token")


class RatingOutSchema(Schema):
    id = fields.Int()
    level = fields.Str()
    label = fields.Str()
    label_en = fields.Str()
    score = fields.Int()
    bad = fields.Bool()
    reasons = fields.List(fields.Str())
    reason_labels = fields.List(fields.Str())
    comment = fields.Str(allow_none=True)
    channel = fields.Str()
    channel_label = fields.Str()
    rated_at = fields.Str()
    visit_id = fields.Int(metadata={"description": "manager only"})
    plate = fields.Str(allow_none=True, metadata={"description": "manager only"})
    case_opened = fields.Bool()


class RateStatusSchema(Schema):
    can_rate = fields.Bool()
    reason = fields.Str(allow_none=True)
    ticket = fields.Str()
    plate = fields.Str(metadata={"description": "masked"})
    station_name = fields.Str()
    hotline = fields.Str()
    options = fields.Dict()


class ComplaintInSchema(Schema):
    category = fields.Str(required=True, validate=validate.OneOf(
        ["scalper", "fee", "service", "other"]))
    description = fields.Str(required=True)
    contact_name = fields.Str(load_default=None, allow_none=True)
    contact_phone = fields.Str(load_default=None, allow_none=True)
    plate = fields.Str(load_default=None, allow_none=True)


class ComplaintReceiptSchema(Schema):
    id = fields.Int()
    due_at = fields.Str()
    hotline = fields.Str()


class EvidenceSchema(Schema):
    id = fields.Int()
    filename = fields.Str()
    content_type = fields.Str()
    size = fields.Int()
    sha256 = fields.Str()
    uploaded_at = fields.Str()
    uploaded_by = fields.Str()


class CaseSchema(Schema):
    id = fields.Int()
    kind = fields.Str()
    kind_label = fields.Str()
    category = fields.Str(allow_none=True)
    category_label = fields.Str(allow_none=True)
    source = fields.Str()
    description = fields.Str()
    rating_level = fields.Str(allow_none=True)
    rating_label = fields.Str(allow_none=True)
    visit_id = fields.Int(allow_none=True)
    contact_name = fields.Str(allow_none=True)
    contact_phone = fields.Str(allow_none=True)
    plate = fields.Str(allow_none=True)
    state = fields.Str()
    state_label = fields.Str()
    opened_at = fields.Str()
    due_at = fields.Str()
    overdue = fields.Bool()
    escalated_at = fields.Str(allow_none=True)
    assignee_id = fields.Int(allow_none=True)
    assignee = fields.Str(allow_none=True)
    callback_at = fields.Str(allow_none=True)
    callback_by = fields.Str(allow_none=True)
    callback_note = fields.Str(allow_none=True)
    findings = fields.Str(allow_none=True)
    outcome = fields.Str(allow_none=True)
    outcome_label = fields.Str(allow_none=True)
    closed_at = fields.Str(allow_none=True)
    closed_by = fields.Str(allow_none=True)
    evidence = fields.List(fields.Nested(EvidenceSchema))


class CaseQuerySchema(Schema):
    state = fields.Str(load_default=None, validate=validate.OneOf(
        ["open", "in_progress", "closed", "active", "overdue"]))
    kind = fields.Str(load_default=None, validate=validate.OneOf(["bad_rating", "complaint"]))


class AssignSchema(Schema):
    assignee_id = fields.Int(required=True)


class CallbackSchema(Schema):
    note = fields.Str(required=True)


class CloseSchema(Schema):
    findings = fields.Str(required=True)
    outcome = fields.Str(required=True, validate=validate.OneOf(
        ["fixed", "explained", "disputed_mistaken", "disputed_malicious"]))


class RangeSchema(Schema):
    first = fields.Date(load_default=None, data_key="from")
    last = fields.Date(load_default=None, data_key="to")


class ScorecardQuerySchema(Schema):
    period = fields.Str(load_default="day", validate=validate.OneOf(list(scorecard.GRANULARITIES)))
    last_day = fields.Date(load_default=None)
    count = fields.Int(load_default=None, validate=validate.Range(1, 60))


class DeleteSchema(Schema):
    reason = fields.Str(required=True, metadata={"description": "the legal ground"})


# -- ratings ------------------------------------------------------------------------------------

def _rate(visit: Any, data: dict[str, Any], channel: RatingChannel, actor: Actor, s: Any,
          *, manager: bool = False) -> dict[str, Any]:
    rating = feedback.rate(s, get_clock(), actor, visit, level=data["level"], channel=channel,
                           reasons=data.get("reasons") or (), comment=data.get("comment"),
                           contact_phone=data.get("contact_phone"))
    return feedback.rating_dict(rating, manager=manager, visit=visit) | {"case_opened": rating.bad}


@blp.route("/options")
@blp.response(200)
def rating_options() -> dict[str, Any]:
    """The rating levels and reasons a rating form offers (public)."""
    return feedback.options()


@blp.route("/rate/<token>")
@rate_limit(public_limit)
@blp.response(200, RateStatusSchema)
def rate_status(token: str) -> dict[str, Any]:
    """Whether the visit of this ticket can be rated (public; the token is the ticket's QR)."""
    clock = get_clock()
    with get_db().read() as s:
        ticket = tickets.by_token(s, token)
        ok, why = feedback.can_rate(s, clock, ticket.visit)
        return {"can_rate": ok, "reason": why, "ticket": ticket.label,
                "plate": mask_plate(ticket.visit.vehicle.plate),
                "station_name": settings.get(s, "station.name"),
                "hotline": settings.get(s, "station.hotline"), "options": feedback.options()}


@blp.route("/rate/<token>", methods=["POST"])
@rate_limit(public_limit)
@blp.arguments(RatingInSchema)
@blp.response(201, RatingOutSchema)
def rate_by_owner(data: dict[str, Any], token: str) -> dict[str, Any]:
    """The owner rates the visit on their phone (public, rate-limited, CSRF token required)."""
    with get_db().write() as s:
        return _rate(tickets.by_token(s, token).visit, data, RatingChannel.PROGRESS_PAGE,
                     Actor.owner(), s)


@blp.route("/ratings", methods=["POST"])
@require_device(ClientKind.KIOSK, staff=(Role.COUNTER, Role.MANAGER))
@blp.arguments(StationRatingInSchema)
@blp.response(201, RatingOutSchema)
def rate_at_station(data: dict[str, Any]) -> dict[str, Any]:
    """A rating on the kiosk (device token; the ticket's QR token) or on the pick-up window's
    screen (staff; the visit id)."""
    device = current_device()
    with get_db().write() as s:
        if data.get("token"):
            raw = data["token"].strip()
            match = TOKEN_IN_URL.search(raw)
            visit = tickets.by_token(s, match.group(1) if match else raw).visit
        elif device is not None:
            raise DomainValidationError("token_required", "请扫描排队小票上的二维码",
                                        "Scan the ticket's QR code")
        else:
            visit = visits.get(s, data["visit_id"])
        channel = RatingChannel.KIOSK if device is not None else RatingChannel.PICKUP_WINDOW
        return _rate(visit, data, channel, current_actor(), s)


@blp.route("/ratings")
@require_roles(Role.MANAGER)
@blp.arguments(RangeSchema, location="query")
@blp.response(200, RatingOutSchema(many=True))
def list_ratings(args: dict[str, Any]) -> list[dict[str, Any]]:
    """Ratings of a date range with their visits (manager only: anonymous to other staff)."""
    clock = get_clock()
    last = args.get("last") or clock.today()
    first = args.get("first") or last - timedelta(days=6)
    start, _ = clock.day_bounds(first)
    _, end = clock.day_bounds(last)
    with get_db().read() as s:
        return [feedback.rating_dict(r, manager=True, visit=visits.get(s, r.visit_id))
                for r in feedback.ratings_between(s, start, end)]


# -- complaints and cases -----------------------------------------------------------------------

@blp.route("/complaints", methods=["POST"])
@rate_limit(public_limit)
@blp.arguments(ComplaintInSchema)
@blp.response(201, ComplaintReceiptSchema)
def complain(data: dict[str, Any]) -> dict[str, Any]:
    """A complaint (scalpers, fees, service): public (rate-limited) or entered by staff."""
    staff = current_user.is_authenticated
    with get_db().write() as s:
        case = feedback.complain(s, get_clock(), current_actor() if staff else Actor.owner(),
                                 feedback.ComplaintForm(**data),
                                 source="staff" if staff else "public")
        return {"id": case.id, "due_at": case.due_at.isoformat(),
                "hotline": settings.get(s, "station.hotline")}


@blp.route("/cases")
@require_roles()
@blp.arguments(CaseQuerySchema, location="query")
@blp.response(200, CaseSchema(many=True))
def list_cases(args: dict[str, Any]) -> list[dict[str, Any]]:
    """The manager sees every case; other staff the cases assigned to them."""
    clock = get_clock()
    with get_db().read() as s:
        return [feedback.case_dict(s, clock, c, show_contact=True)
                for c in feedback.list_cases(s, viewer_id=current_user.id,
                                             manager=_is_manager(), **args)]


def _case_action(case_id: int, work: Any) -> dict[str, Any]:
    clock, actor = get_clock(), current_actor()
    with get_db().write() as s:
        case = feedback.get_case(s, case_id, for_update=True)
        feedback.ensure_may_handle(case, actor, manager=_is_manager())
        work(s, clock, actor, case)
        return feedback.case_dict(s, clock, case, show_contact=True)


@blp.route("/cases/<int:case_id>")
@require_roles()
@blp.response(200, CaseSchema)
def get_case(case_id: int) -> dict[str, Any]:
    clock = get_clock()
    with get_db().read() as s:
        case = feedback.get_case(s, case_id)
        feedback.ensure_may_handle(case, current_actor(), manager=_is_manager())
        return feedback.case_dict(s, clock, case, show_contact=True)


@blp.route("/cases/<int:case_id>/assign", methods=["POST"])
@require_roles(Role.MANAGER)
@blp.arguments(AssignSchema)
@blp.response(200, CaseSchema)
def assign_case(data: dict[str, Any], case_id: int) -> dict[str, Any]:
    return _case_action(case_id, lambda s, c, a, case: feedback.assign(
        s, c, a, case, data["assignee_id"]))


@blp.route("/cases/<int:case_id>/callback", methods=["POST"])
@require_roles()
@blp.arguments(CallbackSchema)
@blp.response(200, CaseSchema)
def callback(data: dict[str, Any], case_id: int) -> dict[str, Any]:
    """Record the call back to the owner (回访)."""
    return _case_action(case_id, lambda s, c, a, case: feedback.record_callback(
        s, c, a, case, data["note"]))


@blp.route("/cases/<int:case_id>/evidence", methods=["POST"])
@require_roles()
@blp.response(201, EvidenceSchema)
def upload_evidence(case_id: int) -> dict[str, Any]:
    """Upload evidence (multipart form field ``file``)."""
    upload = request.files.get("file")
    if upload is None:
        raise DomainValidationError("file_required", "请选择文件", "Choose a file")
    data = upload.read()
    clock, actor = get_clock(), current_actor()
    with get_db().write() as s:
        case = feedback.get_case(s, case_id, for_update=True)
        feedback.ensure_may_handle(case, actor, manager=_is_manager())
        ev = feedback.add_evidence(s, clock, actor, case, filename=upload.filename or "",
                                   content_type=upload.mimetype, data=data,
                                   folder=evidence_folder())
        return {"id": ev.id, "filename": ev.filename, "content_type": ev.content_type,
                "size": ev.size, "sha256": ev.sha256, "uploaded_at": ev.uploaded_at.isoformat(),
                "uploaded_by": ev.uploaded_by}


@blp.route("/cases/<int:case_id>/close", methods=["POST"])
@require_roles()
@blp.arguments(CloseSchema)
@blp.response(200, CaseSchema)
def close_case(data: dict[str, Any], case_id: int) -> dict[str, Any]:
    """Findings and outcome; a dispute (误评/恶意差评) needs evidence uploaded first."""
    return _case_action(case_id, lambda s, c, a, case: feedback.close(
        s, c, a, case, findings=data["findings"], outcome=data["outcome"]))


# -- scorecard and records ----------------------------------------------------------------------

@blp.route("/scorecard")
@require_roles(Role.MANAGER)
@blp.arguments(ScorecardQuerySchema, location="query")
@blp.response(200)
def get_scorecard(args: dict[str, Any]) -> dict[str, Any]:
    """Daily, weekly or monthly figures and the seed's assessment points."""
    with get_db().read() as s:
        return scorecard.scorecard(s, get_clock(), args["period"], last_day=args["last_day"],
                                   count=args["count"])


@blp.route("/records")
@require_roles(Role.MANAGER)
@blp.response(200)
def records_status() -> dict[str, Any]:
    """Retention period, cutoff day and what was archived."""
    with get_db().read() as s:
        return retention.status(s, get_clock())


@blp.route("/records/archive", methods=["POST"])
@require_roles(Role.MANAGER)
@blp.response(200)
def archive_now() -> dict[str, Any]:
    """Run the archive job now (it also runs nightly)."""
    with get_db().write() as s:
        run = retention.archive_old(s, get_clock(), get_config().archive_path)
        return {"file": run.file, "sha256": run.sha256, "counts": run.counts}


@blp.route("/records/<entity_type>/<int:entity_id>", methods=["DELETE"])
@require_roles(Role.MANAGER)
@blp.arguments(DeleteSchema)
@blp.response(200)
def delete_record(data: dict[str, Any], entity_type: str, entity_id: int) -> dict[str, Any]:
    """Delete an archived rating or case after its retention period (audited); refused inside
    the period."""
    with get_db().write() as s:
        row = retention.delete_record(s, get_clock(), current_actor(), entity_type, entity_id,
                                      reason=data["reason"], folder=evidence_folder())
        return {"entity_type": row.entity_type, "entity_id": row.entity_id,
                "archive_file": row.archive_file, "deleted_at": row.deleted_at.isoformat()
                if row.deleted_at else None}
