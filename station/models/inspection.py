"""Inspection results (检验结果): one row per inspection item of a visit, written by the lane
terminal or a device, read by the pick-up window, the lobby and the reports.

The item catalogue (codes, names, which station kind tests them, when an item applies) belongs
to lane tracking; a row keeps the item's name as it was when recorded.
"""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, IdMixin, str_enum
from .station import StationKind


class ItemOutcome(enum.StrEnum):
    PASS = "pass"
    FAIL = "fail"
    #: not applicable to this vehicle (the rule is in ``reason``), or not retested
    SKIPPED = "skipped"


class VisitResult(enum.StrEnum):
    """A visit's overall result (检验结论), set when the last station is done."""

    PASS = "pass"
    FAIL = "fail"


ITEM_OUTCOME_LABELS: dict[ItemOutcome, tuple[str, str]] = {
    ItemOutcome.PASS: ("合格", "Pass"),
    ItemOutcome.FAIL: ("不合格", "Fail"),
    ItemOutcome.SKIPPED: ("不适用", "Not applicable"),
}
VISIT_RESULT_LABELS: dict[VisitResult, tuple[str, str]] = {
    VisitResult.PASS: ("合格", "Passed"),
    VisitResult.FAIL: ("不合格", "Failed"),
}


class InspectionItemResult(IdMixin, Base):
    """The outcome of one inspection item (检验项目) of a visit. A correction is a new row for
    the same item; the newest row of an item counts."""

    __tablename__ = "inspection_item_results"
    visit_id: Mapped[int] = mapped_column(sa.ForeignKey("visits.id"), index=True)
    #: the lane station where it was tested (None for items decided at the desk)
    station_id: Mapped[int | None] = mapped_column(sa.ForeignKey("lane_stations.id"))
    #: the kind of station that tests the item; emission failures lead to an M-station referral
    group: Mapped[StationKind] = mapped_column(str_enum(StationKind))
    item_code: Mapped[str] = mapped_column(sa.String(32))
    item_name_zh: Mapped[str] = mapped_column(sa.String(64))
    item_name_en: Mapped[str] = mapped_column(sa.String(64))
    outcome: Mapped[ItemOutcome] = mapped_column(str_enum(ItemOutcome, 16))
    #: why it failed, or the rule that made it not applicable
    reason: Mapped[str | None] = mapped_column(sa.String(500))
    #: a measured value where there is one (e.g. "k=0.82 m⁻¹"), as shown on the report
    measured: Mapped[str | None] = mapped_column(sa.String(100))
    at: Mapped[datetime]
    inspector_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
