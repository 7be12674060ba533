"""Evidence photos (检验过程照片): a lane camera's snapshot when a car arrives at or leaves a
station, kept with the visit for the retention period and then archived, never deleted."""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, IdMixin, str_enum


class EvidenceMoment(enum.StrEnum):
    ARRIVED = "arrived"  # the car reached the station (到位)
    LEFT = "left"        # the car left the station (离位)


EVIDENCE_MOMENT_LABELS: dict[EvidenceMoment, tuple[str, str]] = {
    EvidenceMoment.ARRIVED: ("到位", "Arrived"),
    EvidenceMoment.LEFT: ("离位", "Left"),
}


class EvidencePhoto(IdMixin, Base):
    """One photo file. The file's hash is stored, so a changed file is noticed when served."""

    __tablename__ = "evidence_photos"
    visit_id: Mapped[int] = mapped_column(sa.ForeignKey("visits.id"), index=True)
    station_id: Mapped[int | None] = mapped_column(sa.ForeignKey("lane_stations.id"))
    device_id: Mapped[int | None] = mapped_column(sa.ForeignKey("hardware_devices.id"))
    moment: Mapped[EvidenceMoment] = mapped_column(str_enum(EvidenceMoment, 16))
    #: the file, relative to the evidence directory (or to the archive once archived)
    path: Mapped[str] = mapped_column(sa.String(300))
    sha256: Mapped[str] = mapped_column(sa.String(64))
    size: Mapped[int]
    width: Mapped[int]
    height: Mapped[int]
    taken_at: Mapped[datetime] = mapped_column(index=True)
    #: when the file moved to the archive; the row stays
    archived_at: Mapped[datetime | None]
