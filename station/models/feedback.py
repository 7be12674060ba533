"""Ratings (好差评), bad-rating cases, complaints and the station's scorecard.

- ``Rating``: the owner's rating of one visit (one per visit, a unique constraint), five
  levels from 非常满意 to 非常不满意 with optional reasons and a comment.
- ``FeedbackCase``: what staff check one by one (逐条核查) — every bad rating opens one, and a
  complaint (投诉: scalpers 黄牛, fees, service) is one. A deadline in working days, an
  assignee, the call-back record, findings, an outcome, escalation when overdue.
- ``CaseEvidence``: files uploaded to a case (e.g. proof that a bad rating was malicious).
- ``ArchivedRecord``: which closed records were written to an archive file (never deleted).
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, IdMixin, str_enum


class RatingLevel(enum.StrEnum):
    VERY_SATISFIED = "very_satisfied"        # 非常满意
    SATISFIED = "satisfied"                  # 满意
    BASICALLY_SATISFIED = "basically_satisfied"  # 基本满意
    DISSATISFIED = "dissatisfied"            # 不满意
    VERY_DISSATISFIED = "very_dissatisfied"  # 非常不满意


#: level → (Chinese, English, score 5..1)
RATING_LEVEL_LABELS: dict[RatingLevel, tuple[str, str, int]] = {
    RatingLevel.VERY_SATISFIED: ("非常满意", "Very satisfied", 5),
    RatingLevel.SATISFIED: ("满意", "Satisfied", 4),
    RatingLevel.BASICALLY_SATISFIED: ("基本满意", "Basically satisfied", 3),
    RatingLevel.DISSATISFIED: ("不满意", "Dissatisfied", 2),
    RatingLevel.VERY_DISSATISFIED: ("非常不满意", "Very dissatisfied", 1),
}
#: the two levels that count as a bad rating (差评) and open a case
BAD_LEVELS: frozenset[RatingLevel] = frozenset({RatingLevel.DISSATISFIED,
                                                RatingLevel.VERY_DISSATISFIED})


class RatingChannel(enum.StrEnum):
    KIOSK = "kiosk"                  # 自助取号机
    PROGRESS_PAGE = "progress_page"  # the owner's phone (progress page / rating link)
    PICKUP_WINDOW = "pickup_window"  # 取件窗口 (the owner taps on the window's screen)


RATING_CHANNEL_LABELS: dict[RatingChannel, tuple[str, str]] = {
    RatingChannel.KIOSK: ("自助机", "Kiosk"),
    RatingChannel.PROGRESS_PAGE: ("手机", "Phone"),
    RatingChannel.PICKUP_WINDOW: ("取件窗口", "Pick-up window"),
}


class Rating(IdMixin, Base):
    __tablename__ = "ratings"
    __table_args__ = (sa.UniqueConstraint("visit_id"),)
    visit_id: Mapped[int] = mapped_column(sa.ForeignKey("visits.id"))
    level: Mapped[RatingLevel] = mapped_column(str_enum(RatingLevel, 24))
    bad: Mapped[bool] = mapped_column(index=True)
    #: reason codes chosen from the list (``services.feedback.REASONS``)
    reasons: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    comment: Mapped[str | None] = mapped_column(sa.String(500))
    channel: Mapped[RatingChannel] = mapped_column(str_enum(RatingChannel, 16))
    rated_at: Mapped[datetime] = mapped_column(index=True)
    archived_at: Mapped[datetime | None]


class CaseKind(enum.StrEnum):
    BAD_RATING = "bad_rating"  # 差评核查
    COMPLAINT = "complaint"    # 投诉


class ComplaintCategory(enum.StrEnum):
    SCALPER = "scalper"   # 黄牛/非法中介
    FEE = "fee"           # 收费
    SERVICE = "service"   # 服务
    OTHER = "other"


COMPLAINT_CATEGORY_LABELS: dict[ComplaintCategory, tuple[str, str]] = {
    ComplaintCategory.SCALPER: ("黄牛/非法中介", "Scalpers / illegal agents"),
    ComplaintCategory.FEE: ("收费问题", "Fees"),
    ComplaintCategory.SERVICE: ("服务问题", "Service"),
    ComplaintCategory.OTHER: ("其他", "Other"),
}


class CaseState(enum.StrEnum):
    OPEN = "open"              # waiting for the assignee
    IN_PROGRESS = "in_progress"  # called back / being checked
    CLOSED = "closed"          # outcome recorded


CASE_STATE_LABELS: dict[CaseState, tuple[str, str]] = {
    CaseState.OPEN: ("待处理", "Open"),
    CaseState.IN_PROGRESS: ("处理中", "In progress"),
    CaseState.CLOSED: ("已办结", "Closed"),
}


class CaseOutcome(enum.StrEnum):
    FIXED = "fixed"                            # 已整改
    EXPLAINED = "explained"                    # 已解释说明
    DISPUTED_MISTAKEN = "disputed_mistaken"    # 申诉：误评
    DISPUTED_MALICIOUS = "disputed_malicious"  # 申诉：恶意差评


CASE_OUTCOME_LABELS: dict[CaseOutcome, tuple[str, str]] = {
    CaseOutcome.FIXED: ("已整改", "Fixed"),
    CaseOutcome.EXPLAINED: ("已解释说明", "Explained"),
    CaseOutcome.DISPUTED_MISTAKEN: ("申诉：误评", "Disputed: rated by mistake"),
    CaseOutcome.DISPUTED_MALICIOUS: ("申诉：恶意差评", "Disputed: malicious"),
}
#: outcomes that need uploaded evidence before the case can close
DISPUTED_OUTCOMES: frozenset[CaseOutcome] = frozenset({CaseOutcome.DISPUTED_MISTAKEN,
                                                       CaseOutcome.DISPUTED_MALICIOUS})


class FeedbackCase(IdMixin, Base):
    __tablename__ = "feedback_cases"
    __table_args__ = (sa.UniqueConstraint("rating_id"),)
    kind: Mapped[CaseKind] = mapped_column(str_enum(CaseKind, 16), index=True)
    #: the bad rating that opened it (one case per rating)
    rating_id: Mapped[int | None] = mapped_column(sa.ForeignKey("ratings.id"))
    visit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("visits.id"), index=True)
    category: Mapped[ComplaintCategory | None] = mapped_column(str_enum(ComplaintCategory, 16))
    #: how it came in: "rating", "public" (the complaint page), "staff" (entered by staff)
    source: Mapped[str] = mapped_column(sa.String(16))
    description: Mapped[str] = mapped_column(sa.String(2000), default="")
    #: whom to call back (personal information: manager and assignee only)
    contact_name: Mapped[str | None] = mapped_column(sa.String(64))
    contact_phone: Mapped[str | None] = mapped_column(sa.String(20))
    plate: Mapped[str | None] = mapped_column(sa.String(16))
    state: Mapped[CaseState] = mapped_column(str_enum(CaseState, 16), index=True)
    opened_at: Mapped[datetime] = mapped_column(index=True)
    due_at: Mapped[datetime] = mapped_column(index=True)
    assignee_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), index=True)
    callback_at: Mapped[datetime | None]
    callback_by: Mapped[str | None] = mapped_column(sa.String(64))
    callback_note: Mapped[str | None] = mapped_column(sa.String(2000))
    findings: Mapped[str | None] = mapped_column(sa.String(4000))
    outcome: Mapped[CaseOutcome | None] = mapped_column(str_enum(CaseOutcome, 24))
    closed_at: Mapped[datetime | None]
    closed_by: Mapped[str | None] = mapped_column(sa.String(64))
    escalated_at: Mapped[datetime | None]
    archived_at: Mapped[datetime | None]
    evidence: Mapped[list[CaseEvidence]] = relationship(
        order_by="CaseEvidence.id", lazy="selectin", cascade="save-update, merge",
        passive_deletes="all")


class CaseEvidence(IdMixin, Base):
    """A file kept for a case (stored under the instance folder; the row says where)."""

    __tablename__ = "case_evidence"
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("feedback_cases.id"), index=True)
    filename: Mapped[str] = mapped_column(sa.String(200))
    content_type: Mapped[str] = mapped_column(sa.String(100))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(sa.String(64))
    #: path relative to the evidence folder
    stored_as: Mapped[str] = mapped_column(sa.String(300))
    uploaded_at: Mapped[datetime]
    uploaded_by: Mapped[str] = mapped_column(sa.String(64))


class ArchivedRecord(IdMixin, Base):
    """One record written to an archive file by the retention job. Records are archived, never
    deleted by the job; the row says which file holds the copy and its checksum."""

    __tablename__ = "archived_records"
    __table_args__ = (sa.UniqueConstraint("entity_type", "entity_id"),)
    entity_type: Mapped[str] = mapped_column(sa.String(32))
    entity_id: Mapped[int]
    archived_at: Mapped[datetime]
    #: the record's own date that made it old enough (visit closed, case closed …)
    record_date: Mapped[datetime]
    archive_file: Mapped[str] = mapped_column(sa.String(300))
    archive_sha256: Mapped[str] = mapped_column(sa.String(64))
    #: set when a manager deleted the live record after the retention period (audited)
    deleted_at: Mapped[datetime | None]
    details: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
