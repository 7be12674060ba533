"""The pick-up window (取件区): the result with failed items, the papers, the retest.

"Test first, verify insurance later, print last" (先检测、再核保、后打证): the inspection
report is printed only when the visit passed *and* its compulsory insurance is verified. A
failed visit gets a retest booking (复检): a new visit with the same inspection serial and
attempt + 1, free within ``retest.free_days``, and for an emission failure the list of repair
(M) stations. Every paper is a :class:`PrintedDocument` printed after commit by the runtime's
print worker, so a printer fault never undoes what the paper records.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from station import signals
from station.clock import Clock
from station.domain.journey import VisitState
from station.domain.journey import label as state_label
from station.errors import Conflict, NotFound
from station.models import (
    ITEM_OUTCOME_LABELS,
    VISIT_RESULT_LABELS,
    InspectionItemResult,
    ItemOutcome,
    Ticket,
    Vehicle,
    Visit,
    VisitCategory,
    VisitResult,
)
from station.models.window import (
    DOCUMENT_LABELS,
    INSURANCE_LABELS,
    DocumentKind,
    DocumentPrintState,
    InsuranceState,
    PrintedDocument,
    RetestBooking,
)

from . import audit, feedback, payments, registration, settings, visits
from .actors import Actor

settings.register(
    settings.Setting("window.repair_stations",
                     "示范汽车维修M站|城东路88号|0571-88880001;示范机动车排放维修中心|城西路66号|0571-88880002",
                     "排放维修站(M站)列表：名称|地址|电话，用分号分隔",
                     "Repair (M) stations: name|address|phone, separated by semicolons"),
)

#: states in which the result can be handed out (after the test)
AFTER_TEST = frozenset({VisitState.TESTED, VisitState.PAPERS_PRINTED, VisitState.KEYS_RETURNED,
                        VisitState.CLOSED})


def repair_stations(session: Session) -> list[dict[str, str]]:
    """The configured M stations (I/M system) an emission failure is referred to."""
    out = []
    for entry in str(settings.get(session, "window.repair_stations")).split(";"):
        parts = [p.strip() for p in entry.split("|")]
        if parts and parts[0]:
            out.append({"name": parts[0], "address": parts[1] if len(parts) > 1 else "",
                        "phone": parts[2] if len(parts) > 2 else ""})
    return out


def item_results(session: Session, visit_id: int) -> list[InspectionItemResult]:
    """Each item's newest row (a correction is a new row)."""
    rows = session.scalars(sa.select(InspectionItemResult)
                           .where(InspectionItemResult.visit_id == visit_id)
                           .order_by(InspectionItemResult.at, InspectionItemResult.id)).all()
    return list({row.item_code: row for row in rows}.values())


def find_visit(session: Session, clock: Clock, query: str) -> Visit:
    """The visit of today's ticket number, or the latest visit of a plate."""
    text = (query or "").strip().upper()
    visit = session.scalar(sa.select(Visit).join(Ticket, Ticket.visit_id == Visit.id)
                           .where(Ticket.day == clock.today(), Ticket.label == text))
    if visit is None:
        visit = session.scalar(sa.select(Visit).join(Vehicle, Vehicle.id == Visit.vehicle_id)
                               .where(Vehicle.plate == text.replace("·", ""))
                               .order_by(Visit.id.desc()).limit(1))
    if visit is None:
        raise NotFound("visit_not_found", f"未找到号码或号牌“{query}”的检验业务",
                       f"No visit for ticket or plate {query}")
    return visit


def papers_blockers(visit: Visit, reg: Any) -> list[tuple[str, str]]:
    """Why the papers cannot be printed now (Chinese, English); empty when they can."""
    out = []
    if visit.result is None or visit.state not in AFTER_TEST:
        out.append(("检测结果尚未出具", "The result is not in yet"))
    elif visit.result is VisitResult.FAIL:
        out.append(("检验不合格：须复检合格后才能出具合格证明", "Failed: the retest must pass first"))
    if reg is None or reg.insurance_state is not InsuranceState.VERIFIED:
        out.append(("交强险未核实：先检后核，核保后才能打印", "Insurance not verified: papers held"))
    if visit.state in (VisitState.PAPERS_PRINTED, VisitState.CLOSED):
        out.append(("检验报告已打印", "The papers are already printed"))
    return out


def visit_card(session: Session, clock: Clock, visit: Visit) -> dict[str, Any]:
    """Everything the counter shows about a visit, computed here, displayed by the screen."""
    vehicle = visit.vehicle
    reg = registration.get_registration(session, visit.id)
    payment = payments.paid_payment(session, visit.id)
    retest = session.scalar(sa.select(RetestBooking).where(RetestBooking.failed_visit_id == visit.id))
    items = item_results(session, visit.id)
    ticket = session.scalar(sa.select(Ticket).where(Ticket.visit_id == visit.id))
    blockers = papers_blockers(visit, reg)
    due = None
    if visit.state is VisitState.REGISTERED:
        due = payments.items_due(session, clock, visit).as_dict()
    emission_failed = any(i.outcome is ItemOutcome.FAIL and i.group in payments.EMISSION_GROUPS
                          for i in items)
    return {
        "id": visit.id, "serial": visit.inspection_serial, "attempt": visit.attempt,
        "category": visit.category.value, "state": visit.state.value,
        "state_zh": state_label(visit.state), "ticket": ticket.label if ticket else None,
        "vehicle": {"plate_type": vehicle.plate_type, "plate": vehicle.plate, "vin": vehicle.vin,
                    "vehicle_type": vehicle.vehicle_type, "use_nature": vehicle.use_nature,
                    "fuel": vehicle.fuel.value if vehicle.fuel else None, "seats": vehicle.seats,
                    "make_model": vehicle.make_model},
        "registration": None if reg is None else {
            "status_codes": reg.status_codes, "insurance_state": reg.insurance_state.value,
            "insurance_zh": INSURANCE_LABELS[reg.insurance_state][0],
            "insurance_until": reg.insurance_until.isoformat() if reg.insurance_until else None,
            "vin_warning_confirmed": reg.vin_warning_confirmed, "note": reg.insurance_note},
        "due": due,
        "payment": payments.payment_dict(payment) if payment else None,
        "result": visit.result.value if visit.result else None,
        "result_zh": VISIT_RESULT_LABELS[visit.result][0] if visit.result else None,
        "items": [{"group": i.group.value, "item_code": i.item_code, "name_zh": i.item_name_zh,
                   "name_en": i.item_name_en, "outcome": i.outcome.value,
                   "outcome_zh": ITEM_OUTCOME_LABELS[i.outcome][0], "reason": i.reason,
                   "measured": i.measured} for i in items],
        "papers_ready": not blockers,
        # whether the owner has rated the visit (好差评, once per visit); the level stays
        # anonymous to the counter
        "rated": feedback.rating_for_visit(session, visit.id) is not None,
        "papers_blockers": [zh for zh, _ in blockers],
        "can_book_retest": (visit.result is VisitResult.FAIL and retest is None
                            and visit.state in (VisitState.KEYS_RETURNED, VisitState.PAPERS_PRINTED)),
        "retest": None if retest is None else {
            "visit_id": retest.retest_visit_id, "free_until": retest.free_until.isoformat(),
            "repair_stations": retest.repair_stations},
        "repair_stations": repair_stations(session) if emission_failed else [],
        "documents": [{"id": d.id, "kind": d.kind.value, "title": d.title, "state": d.state.value,
                       "error": d.error}
                      for d in session.scalars(sa.select(PrintedDocument)
                                               .where(PrintedDocument.visit_id == visit.id)
                                               .order_by(PrintedDocument.id))],
    }


def add_document(session: Session, clock: Clock, visit: Visit, kind: DocumentKind,
                 counter_id: int | None, lines: list[str]) -> PrintedDocument:
    """Queue a paper for the counter's printer (printed after commit)."""
    doc = PrintedDocument(kind=kind, visit_id=visit.id, counter_id=counter_id,
                          title=DOCUMENT_LABELS[kind][0], lines=lines,
                          state=DocumentPrintState.PENDING, created_at=clock.now())
    session.add(doc)
    session.flush()
    signals.send_after_commit(session, signals.document_queued, document_id=doc.id,
                              counter_id=counter_id)
    return doc


def print_papers(session: Session, clock: Clock, actor: Actor, visit_id: int,
                 counter_id: int | None) -> PrintedDocument:
    """Print the inspection report: only a passed result with verified insurance."""
    visit = visits.get(session, visit_id, for_update=True)
    reg = registration.get_registration(session, visit.id)
    blockers = papers_blockers(visit, reg)
    if blockers:
        raise Conflict("papers_held", "；".join(zh for zh, _ in blockers),
                       "; ".join(en for _, en in blockers))
    visits.transition(session, clock, actor, visit, VisitState.PAPERS_PRINTED, reason="打印检验报告")
    lines = [f"检验流水号：{visit.inspection_serial}-{visit.attempt}",
             f"号牌号码：{visit.vehicle.plate}（{visit.vehicle.plate_type}）",
             f"车辆识别代号：{visit.vehicle.vin or ''}",
             f"检验结论：{VISIT_RESULT_LABELS[VisitResult.PASS][0]}",
             f"出具时间：{clock.local():%Y-%m-%d %H:%M}", "-" * 24]
    lines += [f"{i.item_name_zh}：{ITEM_OUTCOME_LABELS[i.outcome][0]}"
              + (f"（{i.measured}）" if i.measured else "") for i in item_results(session, visit.id)]
    lines += ["-" * 24, "检验合格标志由公安交管平台电子核发"]
    doc = add_document(session, clock, visit, DocumentKind.REPORT, counter_id, lines)
    audit.record(session, clock, actor, "papers.printed", entity=visit, document_id=doc.id)
    return doc


def book_retest(session: Session, clock: Clock, actor: Actor, visit_id: int,
                counter_id: int | None) -> RetestBooking:
    """Book the retest of a failed visit whose owner has the car back: the failed visit is
    closed and a new one opened (same serial, attempt + 1, category retest, booked)."""
    visit = visits.get(session, visit_id, for_update=True)
    if visit.result is not VisitResult.FAIL:
        raise Conflict("not_failed", "该车辆未判定不合格，无需复检", "This visit did not fail")
    if session.scalar(sa.select(RetestBooking.id).where(RetestBooking.failed_visit_id == visit.id)):
        raise Conflict("retest_already_booked", "已为该车辆预约复检", "The retest is already booked")
    if visit.state not in (VisitState.KEYS_RETURNED, VisitState.PAPERS_PRINTED):
        raise Conflict("retest_keys_not_returned", "车辆钥匙尚未交还车主，交还后再预约复检",
                       "Return the keys to the owner first, then book the retest",
                       state=visit.state.value)
    failed = [i for i in item_results(session, visit.id) if i.outcome is ItemOutcome.FAIL]
    free_days = int(settings.get(session, "retest.free_days"))
    failed_on = clock.local(visit.result_at).date() if visit.result_at else clock.today()
    free_until = failed_on + timedelta(days=free_days)
    emission = any(i.group in payments.EMISSION_GROUPS for i in failed)
    stations = repair_stations(session) if emission else []
    visits.transition(session, clock, actor, visit, VisitState.CLOSED, reason="不合格，已预约复检")
    now = clock.now()
    retest = Visit(inspection_serial=visit.inspection_serial, attempt=visit.attempt + 1,
                   vehicle=visit.vehicle, category=VisitCategory.RETEST, state=VisitState.BOOKED,
                   state_changed_at=now, created_at=now)
    session.add(retest)
    session.flush()
    visits._record(session, clock, actor, retest, None, VisitState.BOOKED,
                   f"复检预约：{free_until:%Y-%m-%d}前免费")
    booking = RetestBooking(
        failed_visit_id=visit.id, retest_visit_id=retest.id, free_until=free_until,
        failed_items=[{"group": i.group.value, "item_code": i.item_code, "name_zh": i.item_name_zh,
                       "name_en": i.item_name_en, "reason": i.reason} for i in failed],
        repair_stations=stations, created_at=now, created_by=actor.id)
    session.add(booking)
    lines = [f"检验流水号：{visit.inspection_serial}（第{retest.attempt}次检验）",
             f"号牌号码：{visit.vehicle.plate}", "不合格项目："]
    lines += [f"· {i.item_name_zh}：{i.reason or '不合格'}" for i in failed]
    lines += [f"请修复后于{free_until:%Y年%m月%d日}前复检，期内复检免费"]
    if stations:
        lines += ["排放不合格，请到以下维修站(M站)维修："]
        lines += [f"· {s['name']} {s['address']} {s['phone']}" for s in stations]
    add_document(session, clock, visit, DocumentKind.RETEST, counter_id, lines)
    audit.record(session, clock, actor, "retest.booked", entity=visit, retest_visit_id=retest.id,
                 free_until=free_until.isoformat(), failed=[i.item_code for i in failed])
    session.flush()
    return booking


def reprint(session: Session, clock: Clock, actor: Actor, document_id: int) -> PrintedDocument:
    """Queue a paper again (after a printer fault, or a lost copy); the same content."""
    doc = session.get(PrintedDocument, document_id)
    if doc is None:
        raise NotFound("document_not_found", "未找到该单据", "No such paper", id=document_id)
    if doc.state is DocumentPrintState.PENDING:
        raise Conflict("document_pending", "该单据正在等待打印", "This paper is already waiting to print")
    doc.state, doc.error = DocumentPrintState.PENDING, None
    audit.record(session, clock, actor, "document.reprint", entity=doc, kind=doc.kind.value)
    signals.send_after_commit(session, signals.document_queued, document_id=doc.id,
                              counter_id=doc.counter_id)
    return doc


def seed_demo(session: Session, clock: Clock) -> None:
    """Demo station: a simulated receipt/report printer at every counter window."""
    from station.models import Counter, DeviceKind, HardwareDevice

    for counter in session.scalars(sa.select(Counter).order_by(Counter.number)):
        session.add(HardwareDevice(kind=DeviceKind.TICKET_PRINTER, name=f"{counter.name}打印机",
                                   simulated=True, config={"connection": "network"},
                                   counter_id=counter.id, created_at=clock.now()))
    session.flush()
