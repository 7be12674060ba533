"""Exports of visits, ratings and cases for a date range (CSV for any tool, XLSX for Excel /
WPS), for the manager. Times are written in the station's zone; plates and phones in full
(the export is a manager's record, not a public screen)."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from openpyxl import Workbook
from openpyxl.styles import Font
from sqlalchemy.orm import Session

from station.clock import Clock
from station.domain.journey import LABELS as STATE_LABELS
from station.errors import ValidationError
from station.models import VISIT_RESULT_LABELS, Visit
from station.models.feedback import (
    CASE_OUTCOME_LABELS,
    CASE_STATE_LABELS,
    COMPLAINT_CATEGORY_LABELS,
    RATING_CHANNEL_LABELS,
    RATING_LEVEL_LABELS,
    CaseKind,
    FeedbackCase,
    Rating,
)

from .feedback import REASONS

DATASETS = ("visits", "ratings", "cases")
DATASET_TITLES = {"visits": "检验业务", "ratings": "评价", "cases": "差评核查与投诉"}
FORMATS = ("csv", "xlsx")
#: the longest range one export may cover (days)
MAX_DAYS = 400

Table = tuple[list[str], list[list[Any]]]


def check_range(first: date, last: date) -> None:
    if last < first:
        raise ValidationError("range_invalid", "结束日期不能早于开始日期",
                              "The end date is before the start date")
    if (last - first).days + 1 > MAX_DAYS:
        raise ValidationError("range_too_long", f"一次最多导出{MAX_DAYS}天",
                              f"At most {MAX_DAYS} days per export", max_days=MAX_DAYS)


def _t(clock: Clock, at: datetime | None) -> str:
    return clock.local(at).strftime("%Y-%m-%d %H:%M:%S") if at else ""


def visits_table(session: Session, clock: Clock, first: date, last: date) -> Table:
    start, _ = clock.day_bounds(first)
    _, end = clock.day_bounds(last)
    ratings = {r.visit_id: r for r in session.scalars(
        sa.select(Rating).join(Visit, Rating.visit_id == Visit.id)
        .where(Visit.arrived_at >= start, Visit.arrived_at < end))}
    header = ["业务ID", "检验流水号", "次数", "号牌种类", "号牌号码", "类别", "状态", "到站时间",
              "检验结论", "结论时间", "评价"]
    rows = []
    for v in session.scalars(sa.select(Visit).where(Visit.arrived_at >= start, Visit.arrived_at < end)
                             .order_by(Visit.arrived_at, Visit.id)):
        r = ratings.get(v.id)
        rows.append([v.id, v.inspection_serial, v.attempt, v.vehicle.plate_type, v.vehicle.plate,
                     v.category.value, STATE_LABELS[v.state][0], _t(clock, v.arrived_at),
                     VISIT_RESULT_LABELS[v.result][0] if v.result else "", _t(clock, v.result_at),
                     RATING_LEVEL_LABELS[r.level][0] if r else ""])
    return header, rows


def ratings_table(session: Session, clock: Clock, first: date, last: date) -> Table:
    start, _ = clock.day_bounds(first)
    _, end = clock.day_bounds(last)
    header = ["评价ID", "业务ID", "号牌号码", "评价时间", "等级", "分值", "差评", "原因", "意见",
              "渠道"]
    rows = []
    for r, visit in session.execute(
            sa.select(Rating, Visit).join(Visit, Rating.visit_id == Visit.id)
            .where(Rating.rated_at >= start, Rating.rated_at < end).order_by(Rating.rated_at)):
        zh, _, score = RATING_LEVEL_LABELS[r.level]
        rows.append([r.id, r.visit_id, visit.vehicle.plate, _t(clock, r.rated_at), zh, score,
                     "是" if r.bad else "否", "、".join(REASONS[x][0] for x in r.reasons
                                                       if x in REASONS),
                     r.comment or "", RATING_CHANNEL_LABELS[r.channel][0]])
    return header, rows


def cases_table(session: Session, clock: Clock, first: date, last: date) -> Table:
    start, _ = clock.day_bounds(first)
    _, end = clock.day_bounds(last)
    header = ["案件ID", "类型", "投诉类别", "来源", "内容", "联系人", "联系电话", "号牌", "状态",
              "受理时间", "办结时限", "回访时间", "回访记录", "核查情况", "处理结果", "办结时间",
              "已升级", "证据数"]
    rows = []
    for c in session.scalars(sa.select(FeedbackCase).where(
            FeedbackCase.opened_at >= start, FeedbackCase.opened_at < end)
            .order_by(FeedbackCase.opened_at)):
        rows.append([c.id, "差评核查" if c.kind is CaseKind.BAD_RATING else "投诉",
                     COMPLAINT_CATEGORY_LABELS[c.category][0] if c.category else "", c.source,
                     c.description, c.contact_name or "", c.contact_phone or "", c.plate or "",
                     CASE_STATE_LABELS[c.state][0], _t(clock, c.opened_at), _t(clock, c.due_at),
                     _t(clock, c.callback_at), c.callback_note or "", c.findings or "",
                     CASE_OUTCOME_LABELS[c.outcome][0] if c.outcome else "",
                     _t(clock, c.closed_at), "是" if c.escalated_at else "否", len(c.evidence)])
    return header, rows


TABLES: dict[str, Callable[[Session, Clock, date, date], Table]] = {
    "visits": visits_table, "ratings": ratings_table, "cases": cases_table}


def _safe_cell(value: Any) -> Any:
    """Neutralise text a spreadsheet would run as a formula (CSV/formula injection)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def to_csv(table: Table) -> bytes:
    """UTF-8 with a byte-order mark, so Excel opens the Chinese text correctly."""
    header, rows = table
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows([[_safe_cell(v) for v in row] for row in rows])
    return out.getvalue().encode("utf-8-sig")


def to_xlsx(tables: dict[str, Table]) -> bytes:
    book = Workbook()
    book.remove(book.active)
    for name, (header, rows) in tables.items():
        sheet = book.create_sheet(DATASET_TITLES.get(name, name))
        sheet.append(header)
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for row in rows:
            sheet.append([_safe_cell(v) for v in row])
        for column, title in zip(sheet.columns, header, strict=False):
            width = max([len(str(title)) * 2, *[len(str(c.value or "")) for c in column][:200]])
            sheet.column_dimensions[column[0].column_letter].width = min(max(width + 2, 8), 60)
        sheet.freeze_panes = "A2"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def export(session: Session, clock: Clock, dataset: str, fmt: str, first: date,
           last: date) -> tuple[bytes, str, str]:
    """(content, mimetype, file name). ``dataset`` "all" gives one workbook with every sheet
    (XLSX only)."""
    check_range(first, last)
    if fmt not in FORMATS:
        raise ValidationError("format_invalid", "导出格式无效", "Unknown export format")
    names = DATASETS if dataset == "all" else (dataset,)
    if any(n not in DATASETS for n in names):
        raise ValidationError("dataset_invalid", "导出内容无效", "Unknown dataset")
    if fmt == "csv" and len(names) > 1:
        raise ValidationError("csv_one_dataset", "CSV 每次只能导出一类数据",
                              "A CSV export holds one dataset")
    stem = f"{dataset}_{first:%Y%m%d}-{last:%Y%m%d}"
    if fmt == "csv":
        return to_csv(TABLES[names[0]](session, clock, first, last)), "text/csv", f"{stem}.csv"
    tables = {n: TABLES[n](session, clock, first, last) for n in names}
    return (to_xlsx(tables),
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", f"{stem}.xlsx")
