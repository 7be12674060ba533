"""Ratings (好差评), bad-rating follow-up (差评逐条核查) and complaints (投诉).

- An owner rates a visit once (the ``ratings.visit_id`` unique constraint), on the kiosk, on
  the phone (rating link / progress page) or at the pick-up window; 不满意 and 非常不满意 are
  bad ratings and each opens a case.
- A case (bad rating or complaint) has a deadline of ``feedback.case_deadline_working_days``
  working days (the station calendar's open days; Monday–Friday when no opening hours are set),
  an assignee, the call-back record, findings and an outcome; a dispute needs evidence.
  Overdue cases are escalated by a scheduled job (:func:`escalate_overdue`).
- Ratings are anonymous to staff: only the manager (and a case's assignee, who must call back)
  see which visit, plate and phone a rating belongs to. The HTTP layer enforces who sees what.
"""

from __future__ import annotations

import hashlib
import mimetypes
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from station import signals
from station.clock import Clock
from station.domain.journey import VisitState
from station.domain.masking import mask_phone, mask_plate
from station.domain.phone import validate_phone
from station.errors import Conflict, Forbidden, NotFound, ValidationError
from station.models import Appointment, CalendarException, OpeningHours, User, Visit
from station.models.feedback import (
    BAD_LEVELS,
    CASE_OUTCOME_LABELS,
    CASE_STATE_LABELS,
    COMPLAINT_CATEGORY_LABELS,
    DISPUTED_OUTCOMES,
    RATING_CHANNEL_LABELS,
    RATING_LEVEL_LABELS,
    CaseEvidence,
    CaseKind,
    CaseOutcome,
    CaseState,
    ComplaintCategory,
    FeedbackCase,
    Rating,
    RatingChannel,
    RatingLevel,
)

from . import audit, calendar, settings
from .actors import Actor

settings.register(
    settings.Setting("feedback.case_deadline_working_days", 5, "差评/投诉办结时限(工作日)",
                     "Deadline of a bad-rating case or complaint (working days)", 1, 30),
    settings.Setting("feedback.rating_window_days", 30, "检验后可评价天数",
                     "Days after a visit during which it can be rated", 1, 365),
    settings.Setting("feedback.evidence_max_mb", 10, "证据文件大小上限(MB)",
                     "Largest evidence file (MB)", 1, 100),
)

#: why an owner rated as they did (reason code → Chinese, English)
REASONS: dict[str, tuple[str, str]] = {
    "fast": ("办理快捷", "Quick service"),
    "friendly": ("服务热情", "Friendly staff"),
    "clear": ("流程清楚", "Clear process"),
    "wait_long": ("等候时间长", "Long wait"),
    "attitude": ("服务态度差", "Unfriendly staff"),
    "fee": ("收费不透明", "Unclear fees"),
    "process": ("流程繁琐", "Complicated process"),
    "scalper": ("遇到黄牛", "Approached by scalpers"),
    "facilities": ("环境设施差", "Poor facilities"),
    "result": ("对检验结果有异议", "Disagree with the result"),
}
#: a visit can be rated once the owner has been served (after the test, or refused)
RATEABLE_STATES: frozenset[VisitState] = frozenset({
    VisitState.TESTED, VisitState.PAPERS_PRINTED, VisitState.KEYS_RETURNED, VisitState.CLOSED,
    VisitState.REFUSED})
#: evidence files accepted (photos, scans, documents, call recordings)
EVIDENCE_TYPES = ("image/jpeg", "image/png", "image/webp", "application/pdf", "audio/mpeg",
                  "audio/mp4", "audio/x-m4a", "audio/wav", "audio/x-wav", "video/mp4", "text/plain")
COMMENT_MAX = 500
TEXT_MAX = 2000


def level_of(value: str | RatingLevel) -> RatingLevel:
    try:
        return RatingLevel(value)
    except ValueError:
        raise ValidationError("rating_level_invalid", "请选择评价等级",
                              "Choose a rating level", level=str(value)) from None


def is_bad(level: RatingLevel) -> bool:
    return level in BAD_LEVELS


def options() -> dict[str, Any]:
    """What a rating form offers (kiosk, phone, pick-up window)."""
    return {
        "levels": [{"value": lv.value, "label": zh, "label_en": en, "score": score,
                    "bad": lv in BAD_LEVELS}
                   for lv, (zh, en, score) in RATING_LEVEL_LABELS.items()],
        "reasons": [{"value": k, "label": zh, "label_en": en} for k, (zh, en) in REASONS.items()],
        "comment_max": COMMENT_MAX,
    }


def _clean(text: str | None, limit: int, what_zh: str, what_en: str) -> str:
    text = (text or "").strip()
    if len(text) > limit:
        raise ValidationError("text_too_long", f"{what_zh}不能超过{limit}字",
                              f"{what_en} must be at most {limit} characters", limit=limit)
    return text


# -- working days and deadlines -----------------------------------------------------------------

def is_working_day(session: Session, day: date) -> bool:
    """An open day of the station calendar; Monday–Friday when no opening hours are set."""
    if session.scalar(sa.select(sa.func.count()).select_from(OpeningHours)):
        return calendar.hours_on(session, day) is not None
    exception = session.scalar(sa.select(CalendarException).where(CalendarException.day == day))
    if exception is not None:
        return not exception.closed
    return day.weekday() < 5


def deadline(session: Session, clock: Clock, opened_at: datetime) -> datetime:
    """The end (local midnight) of the N-th working day after the day a case opened."""
    days = int(settings.get(session, "feedback.case_deadline_working_days"))
    day = clock.local(opened_at).date()
    counted = 0
    for _ in range(366):
        day += timedelta(days=1)
        if is_working_day(session, day):
            counted += 1
            if counted == days:
                break
    return calendar.local_instant(clock, day + timedelta(days=1), time(0))


# -- ratings ------------------------------------------------------------------------------------

def rating_for_visit(session: Session, visit_id: int) -> Rating | None:
    return session.scalar(sa.select(Rating).where(Rating.visit_id == visit_id))


def can_rate(session: Session, clock: Clock, visit: Visit) -> tuple[bool, str | None]:
    """Whether the visit can be rated now, and the reason code when it cannot."""
    if rating_for_visit(session, visit.id) is not None:
        return False, "rating_exists"
    if visit.state not in RATEABLE_STATES:
        return False, "rating_too_early"
    window = timedelta(days=int(settings.get(session, "feedback.rating_window_days")))
    if clock.now() - visit.state_changed_at > window and visit.state is VisitState.CLOSED:
        return False, "rating_window_over"
    return True, None


_CANNOT_RATE = {
    "rating_exists": (Conflict, "本次检验已评价过，感谢您的反馈", "This visit has already been rated"),
    "rating_too_early": (Conflict, "检验完成后才能评价", "A visit can be rated once it is tested"),
    "rating_window_over": (Conflict, "已超过评价期限", "The rating period is over"),
}


def rate(session: Session, clock: Clock, actor: Actor, visit: Visit, *, level: str | RatingLevel,
         channel: RatingChannel | str, reasons: Iterable[str] = (), comment: str | None = None,
         contact_phone: str | None = None) -> Rating:
    """Record the owner's rating of ``visit``; a bad rating opens a case."""
    lv = level_of(level)
    try:
        chan = RatingChannel(channel)
    except ValueError:
        raise ValidationError("rating_channel_invalid", "评价渠道无效", "Unknown rating channel") from None
    chosen = list(dict.fromkeys(r for r in reasons if r))
    unknown = [r for r in chosen if r not in REASONS]
    if unknown:
        raise ValidationError("rating_reason_invalid", "评价原因无效", "Unknown rating reason",
                              reasons=unknown)
    text = _clean(comment, COMMENT_MAX, "评价内容", "The comment")
    phone = validate_phone(contact_phone) if contact_phone and contact_phone.strip() else None
    ok, why = can_rate(session, clock, visit)
    if not ok:
        error, zh, en = _CANNOT_RATE[why or "rating_exists"]
        raise error(why, zh, en)
    rating = Rating(visit_id=visit.id, level=lv, bad=is_bad(lv), reasons=chosen,
                    comment=text or None, channel=chan, rated_at=clock.now())
    session.add(rating)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        # a second rating of the same visit at the same moment: the constraint decides
        raise Conflict("rating_exists", *_CANNOT_RATE["rating_exists"][1:]) from None
    # anonymous to staff: the audit entry names the channel, not the owner's details
    audit.record(session, clock, actor, "rating.recorded", entity=rating, level=lv.value,
                 channel=chan.value, bad=rating.bad)
    signals.send_after_commit(session, signals.feedback_changed, kind="rating", id=rating.id,
                              state=lv.value, at=rating.rated_at.isoformat())
    if rating.bad:
        open_rating_case(session, clock, actor, rating, visit, contact_phone=phone)
    return rating


def open_rating_case(session: Session, clock: Clock, actor: Actor, rating: Rating, visit: Visit,
                     *, contact_phone: str | None = None) -> FeedbackCase:
    booking = session.scalar(sa.select(Appointment).where(Appointment.visit_id == visit.id))
    phone = contact_phone or (booking.phone if booking is not None and booking.phone else None)
    now = clock.now()
    reasons = "、".join(REASONS[r][0] for r in rating.reasons)
    description = "；".join(x for x in (f"{RATING_LEVEL_LABELS[rating.level][0]}", reasons,
                                        rating.comment or "") if x)
    case = FeedbackCase(kind=CaseKind.BAD_RATING, rating_id=rating.id, visit_id=visit.id,
                        source="rating", description=description,
                        contact_name=booking.contact_name if booking is not None else None,
                        contact_phone=phone, plate=visit.vehicle.plate, state=CaseState.OPEN,
                        opened_at=now, due_at=deadline(session, clock, now))
    session.add(case)
    session.flush()
    audit.record(session, clock, actor, "case.opened", entity=case, kind=case.kind.value,
                 due_at=case.due_at.isoformat())
    _changed(session, case)
    return case


# -- complaints ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class ComplaintForm:
    category: str
    description: str
    contact_name: str | None = None
    contact_phone: str | None = None
    plate: str | None = None


def complain(session: Session, clock: Clock, actor: Actor, form: ComplaintForm, *,
             source: str, visit_id: int | None = None) -> FeedbackCase:
    """A complaint about scalpers, fees or service, from the public page or entered by staff."""
    try:
        category = ComplaintCategory(form.category)
    except ValueError:
        raise ValidationError("complaint_category_invalid", "请选择投诉类型",
                              "Choose what the complaint is about") from None
    description = _clean(form.description, TEXT_MAX, "投诉内容", "The description")
    if len(description) < 5:
        raise ValidationError("complaint_too_short", "请填写投诉内容（至少5个字）",
                              "Describe the complaint (at least 5 characters)")
    phone = validate_phone(form.contact_phone) if form.contact_phone and form.contact_phone.strip() \
        else None
    name = _clean(form.contact_name, 64, "联系人", "The name") or None
    plate = _clean(form.plate, 16, "号牌", "The plate").upper() or None
    if source not in ("public", "staff"):
        raise ValidationError("complaint_source_invalid", "来源无效", "Unknown source")
    now = clock.now()
    case = FeedbackCase(kind=CaseKind.COMPLAINT, category=category, source=source,
                        description=description, contact_name=name, contact_phone=phone,
                        plate=plate, visit_id=visit_id, state=CaseState.OPEN, opened_at=now,
                        due_at=deadline(session, clock, now))
    session.add(case)
    session.flush()
    audit.record(session, clock, actor, "case.opened", entity=case, kind=case.kind.value,
                 category=category.value, source=source, due_at=case.due_at.isoformat())
    _changed(session, case)
    return case


# -- the follow-up workflow ---------------------------------------------------------------------

def get_case(session: Session, case_id: int, *, for_update: bool = False) -> FeedbackCase:
    stmt = sa.select(FeedbackCase).where(FeedbackCase.id == case_id)
    if for_update:
        stmt = stmt.with_for_update()
    case = session.scalar(stmt)
    if case is None:
        raise NotFound("case_not_found", "未找到该案件", "Case not found", id=case_id)
    return case


def may_handle(case: FeedbackCase, actor: Actor, *, manager: bool) -> bool:
    return manager or (case.assignee_id is not None and case.assignee_id == actor.id)


def ensure_may_handle(case: FeedbackCase, actor: Actor, *, manager: bool) -> None:
    if not may_handle(case, actor, manager=manager):
        raise Forbidden("case_not_assigned", "该案件未分派给您", "This case is not assigned to you")


def _open(case: FeedbackCase) -> None:
    if case.state is CaseState.CLOSED:
        raise Conflict("case_closed", "该案件已办结", "This case is closed")


def assign(session: Session, clock: Clock, actor: Actor, case: FeedbackCase,
           assignee_id: int) -> FeedbackCase:
    _open(case)
    user = session.get(User, assignee_id)
    if user is None or not user.active:
        raise ValidationError("assignee_invalid", "请选择在职的工作人员", "Choose an active staff member")
    case.assignee_id = user.id
    audit.record(session, clock, actor, "case.assigned", entity=case, assignee=user.username)
    _changed(session, case)
    return case


def record_callback(session: Session, clock: Clock, actor: Actor, case: FeedbackCase, note: str,
                    *, at: datetime | None = None) -> FeedbackCase:
    """The call back to the owner (回访): when, by whom, what was said."""
    _open(case)
    text = _clean(note, TEXT_MAX, "回访记录", "The call-back note")
    if not text:
        raise ValidationError("callback_note_required", "请填写回访记录", "Write what the call was about")
    when = at or clock.now()
    if when > clock.now() + timedelta(minutes=5):
        raise ValidationError("callback_in_future", "回访时间不能晚于现在",
                              "The call-back cannot be in the future")
    case.callback_at, case.callback_by, case.callback_note = when, actor.name, text
    case.state = CaseState.IN_PROGRESS
    audit.record(session, clock, actor, "case.callback", entity=case, at=when.isoformat())
    _changed(session, case)
    return case


def add_evidence(session: Session, clock: Clock, actor: Actor, case: FeedbackCase, *,
                 filename: str, content_type: str | None, data: bytes,
                 folder: Path) -> CaseEvidence:
    """Keep an uploaded file for the case under ``folder`` (the instance's evidence folder)."""
    _open(case)
    name = re.sub(r"[^\w.\-\u4e00-\u9fff]+", "_", Path(filename or "").name)[:200] or "evidence"
    kind = (content_type or mimetypes.guess_type(name)[0] or "").split(";")[0].strip().lower()
    if kind not in EVIDENCE_TYPES:
        raise ValidationError("evidence_type_invalid", "不支持的文件类型（请上传图片、PDF、录音或视频）",
                              "Unsupported file type (upload an image, PDF, recording or video)",
                              content_type=kind)
    limit = int(settings.get(session, "feedback.evidence_max_mb")) * 1024 * 1024
    if not data:
        raise ValidationError("evidence_empty", "文件为空", "The file is empty")
    if len(data) > limit:
        raise ValidationError("evidence_too_large", "文件过大", "The file is too large",
                              limit_bytes=limit)
    digest = hashlib.sha256(data).hexdigest()
    suffix = Path(name).suffix.lower()[:10]
    stored_as = f"case_{case.id}/{digest}{suffix}"
    target = folder / stored_as
    target.parent.mkdir(parents=True, exist_ok=True)
    if not target.exists():
        target.write_bytes(data)
    evidence = CaseEvidence(case_id=case.id, filename=name, content_type=kind, size=len(data),
                            sha256=digest, stored_as=stored_as, uploaded_at=clock.now(),
                            uploaded_by=actor.name)
    session.add(evidence)
    case.evidence.append(evidence)
    session.flush()
    audit.record(session, clock, actor, "case.evidence_added", entity=case, sha256=digest,
                 filename=name, size=len(data))
    return evidence


def close(session: Session, clock: Clock, actor: Actor, case: FeedbackCase, *, findings: str,
          outcome: str | CaseOutcome) -> FeedbackCase:
    """Record the findings and the outcome (已整改 / 已解释 / 申诉: 误评, 恶意差评)."""
    _open(case)
    try:
        result = CaseOutcome(outcome)
    except ValueError:
        raise ValidationError("case_outcome_invalid", "请选择处理结果", "Choose an outcome") from None
    text = _clean(findings, 4000, "核查情况", "The findings")
    if not text:
        raise ValidationError("findings_required", "请填写核查情况", "Write down what was found")
    if case.contact_phone and case.callback_at is None:
        raise Conflict("callback_required", "请先回访并填写回访记录",
                       "Call the owner back and record it first")
    if result in DISPUTED_OUTCOMES and not case.evidence:
        raise Conflict("evidence_required", "申诉需上传证据材料", "A dispute needs evidence uploaded")
    now = clock.now()
    case.findings, case.outcome, case.state = text, result, CaseState.CLOSED
    case.closed_at, case.closed_by = now, actor.name
    audit.record(session, clock, actor, "case.closed", entity=case, outcome=result.value,
                 overdue=now > case.due_at)
    _changed(session, case)
    return case


def escalate_overdue(session: Session, clock: Clock) -> list[FeedbackCase]:
    """Mark open cases past their deadline as escalated and alert the manager (a scheduled
    job calls this); each case is escalated once."""
    now = clock.now()
    stmt = (sa.select(FeedbackCase)
            .where(FeedbackCase.state != CaseState.CLOSED, FeedbackCase.due_at <= now,
                   FeedbackCase.escalated_at.is_(None))
            .order_by(FeedbackCase.id).with_for_update(skip_locked=True))
    cases = list(session.scalars(stmt))
    system = Actor.system("feedback.escalate")
    for case in cases:
        case.escalated_at = now
        audit.record(session, clock, system, "case.escalated", entity=case,
                     due_at=case.due_at.isoformat(), assignee_id=case.assignee_id)
        signals.send_after_commit(session, signals.feedback_changed, kind="case", id=case.id,
                                  state="escalated", at=now.isoformat())
    return cases


def _changed(session: Session, case: FeedbackCase) -> None:
    signals.send_after_commit(session, signals.feedback_changed, kind="case", id=case.id,
                              state=case.state.value, at=(case.closed_at or case.opened_at).isoformat())


# -- reading ------------------------------------------------------------------------------------

def list_cases(session: Session, *, viewer_id: int | None, manager: bool,
               state: str | None = None, kind: str | None = None,
               limit: int = 200) -> list[FeedbackCase]:
    """The manager sees every case; other staff only the cases assigned to them."""
    stmt = sa.select(FeedbackCase).order_by(
        (FeedbackCase.state == CaseState.CLOSED).asc(), FeedbackCase.due_at.asc()).limit(limit)
    if not manager:
        stmt = stmt.where(FeedbackCase.assignee_id == viewer_id)
    if state == "overdue":
        stmt = stmt.where(FeedbackCase.escalated_at.is_not(None),
                          FeedbackCase.state != CaseState.CLOSED)
    elif state == "active":
        stmt = stmt.where(FeedbackCase.state != CaseState.CLOSED)
    elif state:
        stmt = stmt.where(FeedbackCase.state == CaseState(state))
    if kind:
        stmt = stmt.where(FeedbackCase.kind == CaseKind(kind))
    return list(session.scalars(stmt))


def escalated_open(session: Session) -> list[FeedbackCase]:
    return list(session.scalars(sa.select(FeedbackCase).where(
        FeedbackCase.escalated_at.is_not(None), FeedbackCase.state != CaseState.CLOSED)
        .order_by(FeedbackCase.due_at)))


def staff_choices(session: Session) -> list[User]:
    return list(session.scalars(sa.select(User).where(User.active.is_(True))
                                .order_by(User.display_name)))


def case_dict(session: Session, clock: Clock, case: FeedbackCase, *,
              show_contact: bool) -> dict[str, Any]:
    """A case for the screens and the API; contact details only for the manager/assignee."""
    assignee = session.get(User, case.assignee_id) if case.assignee_id else None
    rating = session.get(Rating, case.rating_id) if case.rating_id else None
    now = clock.now()
    return {
        "id": case.id, "kind": case.kind.value,
        "kind_label": "差评核查" if case.kind is CaseKind.BAD_RATING else "投诉",
        "category": case.category.value if case.category else None,
        "category_label": COMPLAINT_CATEGORY_LABELS[case.category][0] if case.category else None,
        "source": case.source, "description": case.description,
        "rating_level": rating.level.value if rating else None,
        "rating_label": RATING_LEVEL_LABELS[rating.level][0] if rating else None,
        "visit_id": case.visit_id if show_contact else None,
        "contact_name": case.contact_name if show_contact else None,
        "contact_phone": (case.contact_phone if show_contact else mask_phone(case.contact_phone))
        or None,
        "plate": (case.plate if show_contact else mask_plate(case.plate)) or None,
        "state": case.state.value, "state_label": CASE_STATE_LABELS[case.state][0],
        "opened_at": case.opened_at.isoformat(), "due_at": case.due_at.isoformat(),
        "overdue": case.state is not CaseState.CLOSED and now >= case.due_at,
        "escalated_at": case.escalated_at.isoformat() if case.escalated_at else None,
        "assignee_id": case.assignee_id,
        "assignee": assignee.display_name if assignee else None,
        "callback_at": case.callback_at.isoformat() if case.callback_at else None,
        "callback_by": case.callback_by, "callback_note": case.callback_note,
        "findings": case.findings,
        "outcome": case.outcome.value if case.outcome else None,
        "outcome_label": CASE_OUTCOME_LABELS[case.outcome][0] if case.outcome else None,
        "closed_at": case.closed_at.isoformat() if case.closed_at else None,
        "closed_by": case.closed_by,
        "evidence": [{"id": e.id, "filename": e.filename, "content_type": e.content_type,
                      "size": e.size, "sha256": e.sha256, "uploaded_at": e.uploaded_at.isoformat(),
                      "uploaded_by": e.uploaded_by} for e in case.evidence],
    }


def rating_dict(rating: Rating, *, manager: bool, visit: Visit | None = None) -> dict[str, Any]:
    """A rating; which visit it belongs to only for the manager (anonymous to other staff)."""
    zh, en, score = RATING_LEVEL_LABELS[rating.level]
    out: dict[str, Any] = {
        "id": rating.id, "level": rating.level.value, "label": zh, "label_en": en,
        "score": score, "bad": rating.bad, "reasons": list(rating.reasons),
        "reason_labels": [REASONS[r][0] for r in rating.reasons if r in REASONS],
        "comment": rating.comment, "channel": rating.channel.value,
        "channel_label": RATING_CHANNEL_LABELS[rating.channel][0],
        "rated_at": rating.rated_at.isoformat(),
    }
    if manager:
        out["visit_id"] = rating.visit_id
        out["plate"] = visit.vehicle.plate if visit is not None else None
    return out


def ratings_between(session: Session, start: datetime, end: datetime) -> list[Rating]:
    return list(session.scalars(sa.select(Rating).where(
        Rating.rated_at >= start, Rating.rated_at < end).order_by(Rating.rated_at)))
