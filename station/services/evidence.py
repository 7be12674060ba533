"""Evidence photos (检验过程照片): recorded with the visit, served to staff, archived after the
retention period — never deleted.

Files live under ``<instance>/evidence/<YYYY-MM>/`` (the month the photo was taken); after
``records.retention_years`` they move to ``<archive>/evidence/<YYYY-MM>/`` and the row records
when. A file is served only if its bytes still hash to what was stored.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import Session

from drivers.camera.snapshot import Snapshot
from station.clock import Clock
from station.errors import NotFound
from station.models import LaneStation
from station.models.evidence import EVIDENCE_MOMENT_LABELS, EvidenceMoment, EvidencePhoto

from . import audit, settings
from .actors import Actor

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EvidenceStore:
    """Where the files are: the working directory and the archive."""

    root: Path
    archive: Path

    @classmethod
    def under(cls, instance_path: Path, archive_path: Path | None = None) -> EvidenceStore:
        return cls(Path(instance_path) / "evidence",
                   Path(archive_path or Path(instance_path) / "archive") / "evidence")

    def month_dir(self, taken_at: datetime) -> Path:
        return self.root / f"{taken_at:%Y-%m}"

    def file_of(self, photo: EvidencePhoto) -> Path:
        base = self.archive if photo.archived_at is not None else self.root
        path = (base / photo.path).resolve()
        if not path.is_relative_to(base.resolve()):  # a row never points outside its store
            raise NotFound("evidence_missing", "照片文件不存在", "The photo file is missing")
        return path


def record(session: Session, store: EvidenceStore, snapshot: Snapshot, *, visit_id: int,
           station_id: int | None, device_id: int | None,
           moment: EvidenceMoment) -> EvidencePhoto:
    """The row for a photo file that ``take_snapshot`` wrote under ``store.root``."""
    photo = EvidencePhoto(
        visit_id=visit_id, station_id=station_id, device_id=device_id, moment=moment,
        path=snapshot.path.resolve().relative_to(store.root.resolve()).as_posix(),
        sha256=snapshot.sha256, size=snapshot.size, width=snapshot.width,
        height=snapshot.height, taken_at=snapshot.taken_at)
    session.add(photo)
    session.flush()
    return photo


def for_visit(session: Session, visit_id: int) -> list[EvidencePhoto]:
    return list(session.scalars(sa.select(EvidencePhoto).where(EvidencePhoto.visit_id == visit_id)
                                .order_by(EvidencePhoto.taken_at, EvidencePhoto.id)))


def photo_dict(photo: EvidencePhoto, station_name: str | None = None) -> dict[str, object]:
    zh, en = EVIDENCE_MOMENT_LABELS[photo.moment]
    return {"id": photo.id, "visit_id": photo.visit_id, "station_id": photo.station_id,
            "station_name": station_name, "device_id": photo.device_id,
            "moment": photo.moment.value, "moment_label": zh, "moment_label_en": en,
            "taken_at": photo.taken_at, "width": photo.width, "height": photo.height,
            "size": photo.size, "archived": photo.archived_at is not None}


def photos_of_visit(session: Session, visit_id: int) -> list[dict[str, object]]:
    """The visit's photos in the order taken, with the names of their stations."""
    rows = session.execute(
        sa.select(EvidencePhoto, LaneStation.name)
        .outerjoin(LaneStation, LaneStation.id == EvidencePhoto.station_id)
        .where(EvidencePhoto.visit_id == visit_id)
        .order_by(EvidencePhoto.taken_at, EvidencePhoto.id))
    return [photo_dict(photo, name) for photo, name in rows]


def read_verified(session: Session, store: EvidenceStore, photo_id: int) -> tuple[EvidencePhoto, bytes]:
    """The photo's bytes, refused if the file is gone or no longer what was recorded."""
    photo = session.get(EvidencePhoto, photo_id)
    if photo is None:
        raise NotFound("evidence_not_found", "未找到该照片", "Photo not found", id=photo_id)
    path = store.file_of(photo)
    try:
        data = path.read_bytes()
    except OSError:
        raise NotFound("evidence_missing", "照片文件不存在", "The photo file is missing",
                       id=photo_id) from None
    if hashlib.sha256(data).hexdigest() != photo.sha256:
        raise NotFound("evidence_altered", "照片文件与记录不符", "The photo file does not match its record",
                       id=photo_id)
    return photo, data


def archive_due(session: Session, clock: Clock, store: EvidenceStore, *, limit: int = 500) -> int:
    """Move photos older than the retention period to the archive (a scheduled job). The file
    is copied and synced before the original goes; the row stays, with ``archived_at``."""
    years = int(settings.get(session, "records.retention_years"))
    now = clock.now()
    try:
        cutoff = now.replace(year=now.year - years)
    except ValueError:  # 29 February
        cutoff = now.replace(year=now.year - years, day=28)
    due = list(session.scalars(sa.select(EvidencePhoto).where(
        EvidencePhoto.archived_at.is_(None), EvidencePhoto.taken_at < cutoff)
        .order_by(EvidencePhoto.id).limit(limit)))
    moved = 0
    for photo in due:
        source = store.root / photo.path
        target = store.archive / photo.path
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            if not target.exists():
                shutil.copy2(source, target)
                with open(target, "rb") as f:
                    os.fsync(f.fileno())
            if hashlib.sha256(target.read_bytes()).hexdigest() != photo.sha256:
                log.error("archive copy of evidence %s does not match its record", photo.id)
                continue
            source.unlink(missing_ok=True)
        except OSError as exc:
            log.error("evidence %s could not be archived: %s", photo.id, exc)
            continue
        photo.archived_at = now
        moved += 1
    if moved:
        audit.record(session, clock, Actor.system("evidence archive"), "evidence.archived",
                     entity_type="evidence_photos", entity_id=None, count=moved,
                     before=cutoff.isoformat())
    return moved
