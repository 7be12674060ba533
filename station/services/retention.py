"""Keeping records (记录保存): closed records are kept at least ``records.retention_years``
(≥ 6 years, DOMAIN.md §13) and then archived — written to compressed JSON-lines files under
the archive folder (``STATION_ARCHIVE_PATH``) and marked as archived in ``archived_records`` — never deleted by a job.

A manager may delete a live rating or case only after it was archived *and* its retention
period is over (:func:`delete_record`, audited); anything younger is refused. Visits and their
transitions belong to other modules and are archived (copied and marked), never deleted here.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from station.clock import Clock
from station.db import after_commit
from station.domain.journey import TERMINAL
from station.errors import Conflict, NotFound, ValidationError
from station.models import Visit, VisitTransition
from station.models.feedback import (
    ArchivedRecord,
    CaseState,
    FeedbackCase,
    Rating,
)

from . import audit, settings
from .actors import Actor

#: records archived per run (the job runs again for the rest)
BATCH = 500
DELETABLE = ("rating", "case")


@dataclass
class ArchiveRun:
    file: str | None = None
    sha256: str | None = None
    counts: dict[str, int] = field(default_factory=dict)


def cutoff(session: Session, clock: Clock) -> date:
    """Records whose date is before this day are past the retention period."""
    years = int(settings.get(session, "records.retention_years"))
    today = clock.today()
    try:
        return today.replace(year=today.year - years)
    except ValueError:  # 29 February
        return today.replace(year=today.year - years, day=28)


def _json(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if hasattr(value, "value"):
        return value.value
    return value


def _row(obj: Any) -> dict[str, Any]:
    return {c.key: _json(getattr(obj, c.key)) for c in sa.inspect(obj).mapper.column_attrs}


def _archived_ids(session: Session, entity_type: str) -> sa.Select[Any]:
    return sa.select(ArchivedRecord.entity_id).where(ArchivedRecord.entity_type == entity_type)


def archive_old(session: Session, clock: Clock, folder: Path) -> ArchiveRun:
    """Write closed visits (with their transitions, rating and cases) and closed complaints
    older than the retention period to one archive file and mark them archived."""
    limit_day = cutoff(session, clock)
    before, _ = clock.day_bounds(limit_day)
    visits = list(session.scalars(
        sa.select(Visit).where(Visit.state.in_(sorted(TERMINAL)), Visit.state_changed_at < before,
                               Visit.id.not_in(_archived_ids(session, "visit")))
        .order_by(Visit.id).limit(BATCH)))
    cases = list(session.scalars(
        sa.select(FeedbackCase).where(FeedbackCase.state == CaseState.CLOSED,
                                      FeedbackCase.closed_at < before,
                                      FeedbackCase.id.not_in(_archived_ids(session, "case")))
        .order_by(FeedbackCase.id).limit(BATCH)))
    # a case of a visit that is not old enough waits for its visit
    visit_ids = {v.id for v in visits}
    cases = [c for c in cases if c.visit_id is None or c.visit_id in visit_ids
             or c.visit_id in set(session.scalars(_archived_ids(session, "visit")))]
    run = ArchiveRun()
    if not visits and not cases:
        return run
    ratings = {r.visit_id: r for r in session.scalars(
        sa.select(Rating).where(Rating.visit_id.in_(visit_ids),
                                Rating.id.not_in(_archived_ids(session, "rating"))))}
    transitions: dict[int, list[VisitTransition]] = {}
    for t in session.scalars(sa.select(VisitTransition).where(
            VisitTransition.visit_id.in_(visit_ids)).order_by(VisitTransition.id)):
        transitions.setdefault(t.visit_id, []).append(t)
    records: list[tuple[str, int, datetime, dict[str, Any]]] = []
    for v in visits:
        body = _row(v) | {"plate": v.vehicle.plate, "plate_type": v.vehicle.plate_type,
                          "transitions": [_row(t) for t in transitions.get(v.id, [])]}
        records.append(("visit", v.id, v.state_changed_at, body))
        if v.id in ratings:
            records.append(("rating", ratings[v.id].id, ratings[v.id].rated_at,
                            _row(ratings[v.id])))
    for c in cases:
        body = _row(c) | {"evidence": [_row(e) for e in c.evidence]}
        records.append(("case", c.id, c.closed_at or c.opened_at, body))
    now = clock.now()
    local = clock.local(now)
    relative = f"records/{local:%Y}/records_{local:%Y%m%d_%H%M%S}_{visits[0].id if visits else 0}" \
               f"_{cases[0].id if cases else 0}.jsonl.gz"
    target = folder / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    payload = "".join(json.dumps({"type": kind, "id": ident, "record": body}, ensure_ascii=False)
                      + "\n" for kind, ident, _, body in records).encode()
    tmp = target.with_suffix(".tmp")
    with gzip.open(tmp, "wb") as out:
        out.write(payload)
    os.replace(tmp, target)
    digest = hashlib.sha256(target.read_bytes()).hexdigest()
    for kind, ident, record_date, _ in records:
        session.add(ArchivedRecord(entity_type=kind, entity_id=ident, archived_at=now,
                                   record_date=record_date, archive_file=relative,
                                   archive_sha256=digest, details={}))
        run.counts[kind] = run.counts.get(kind, 0) + 1
    for r in ratings.values():
        r.archived_at = now
    for c in cases:
        c.archived_at = now
    run.file, run.sha256 = relative, digest
    audit.record(session, clock, Actor.system("records.archive"), "records.archived",
                 entity_type="archive_file", entity_id=relative, sha256=digest, **run.counts)
    return run


def read_archive(folder: Path, relative: str) -> list[dict[str, Any]]:
    with gzip.open(folder / relative, "rb") as f:
        return [json.loads(line) for line in f.read().decode().splitlines() if line]


def status(session: Session, clock: Clock) -> dict[str, Any]:
    counts = dict(session.execute(sa.select(ArchivedRecord.entity_type, sa.func.count())
                                  .group_by(ArchivedRecord.entity_type)).all())
    deleted = session.scalar(sa.select(sa.func.count()).select_from(ArchivedRecord)
                             .where(ArchivedRecord.deleted_at.is_not(None)))
    return {"retention_years": int(settings.get(session, "records.retention_years")),
            "cutoff": cutoff(session, clock).isoformat(), "archived": counts,
            "deleted": deleted or 0}


def delete_record(session: Session, clock: Clock, actor: Actor, entity_type: str,
                  entity_id: int, *, reason: str, folder: Path) -> ArchivedRecord:
    """Delete a live rating or case (manager only; the HTTP layer checks the role). Refused
    unless it was archived and its retention period is over. The archive copy stays."""
    if entity_type not in DELETABLE:
        raise ValidationError("record_type_invalid", "该类记录不能删除",
                              "Records of this type cannot be deleted", entity_type=entity_type)
    reason = (reason or "").strip()
    if len(reason) < 4:
        raise ValidationError("reason_required", "请填写删除依据（法律依据或书面要求）",
                              "Give the legal ground for the deletion")
    model = Rating if entity_type == "rating" else FeedbackCase
    row = session.get(model, entity_id)
    if row is None:
        raise NotFound("record_not_found", "未找到该记录", "Record not found")
    archived = session.scalar(sa.select(ArchivedRecord).where(
        ArchivedRecord.entity_type == entity_type, ArchivedRecord.entity_id == entity_id))
    limit_day = cutoff(session, clock)
    record_date = archived.record_date if archived else (
        row.rated_at if isinstance(row, Rating) else (row.closed_at or row.opened_at))
    if clock.local(record_date).date() >= limit_day:
        raise Conflict("retention_period", "该记录仍在保存期限内，不能删除",
                       "The record is within its retention period and cannot be deleted",
                       keep_until=clock.local(record_date).date().replace(
                           year=clock.local(record_date).year
                           + int(settings.get(session, "records.retention_years"))).isoformat())
    if archived is None:
        raise Conflict("not_archived", "该记录尚未归档，不能删除",
                       "The record has not been archived yet")
    if isinstance(row, Rating) and session.scalar(
            sa.select(FeedbackCase.id).where(FeedbackCase.rating_id == row.id)):
        raise Conflict("rating_has_case", "请先删除该评价的核查案件",
                       "Delete the rating's case first")
    if isinstance(row, FeedbackCase):
        for evidence in list(row.evidence):
            path = folder / evidence.stored_as
            session.delete(evidence)
            # the file goes only once the deletion is committed
            after_commit(session, lambda p=path: p.unlink(missing_ok=True))
        row.evidence.clear()
        session.flush()
    session.delete(row)
    archived.deleted_at = clock.now()
    audit.record(session, clock, actor, "record.deleted", entity_type=entity_type,
                 entity_id=entity_id, reason=reason, archive_file=archived.archive_file,
                 archive_sha256=archived.archive_sha256)
    return archived


