"""One payment per visit (一次收费) from the published price list (明码标价).

The items due follow from the vehicle: safety always; the emission method by fuel (none for
battery electric); performance grading (综检) for commercial vehicles; a retest (复检) pays
only for the groups that failed, free within ``retest.free_days`` of the failed result.
Paying moves the visit from registered to queued for a lane (:func:`hand_off_to_lanes`).
Void and refund are a manager's, with a reason, audited.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from station import signals
from station.clock import Clock
from station.domain.journey import VisitState
from station.domain.vehicle_codes import DIESEL_FUELS, NO_EMISSION_FUELS, Fuel, is_commercial
from station.errors import Conflict, NotFound, ValidationError
from station.integrations.payments import PaymentGateway
from station.models import (
    Counter,
    InspectionItemResult,
    ItemOutcome,
    StationKind,
    Ticket,
    Visit,
    VisitCategory,
)
from station.models.window import (
    PAYMENT_METHOD_LABELS,
    DocumentKind,
    Payment,
    PaymentMethod,
    PaymentState,
)

from . import audit, calling, prices, sequences, settings, visits
from .actors import Actor

settings.register(
    settings.Setting("window.gasoline_emission_item", "emission_transient",
                     "汽油车排放检验收费项目", "Price item of gasoline emission tests",
                     pattern=r"emission_(transient|idle)"),
    settings.Setting("window.receipt_prefix", "R", "收据号前缀", "Receipt number prefix",
                     pattern=r"[A-Z]{1,3}"),
)

EMISSION_GROUPS = frozenset({StationKind.EMISSION_GASOLINE, StationKind.EMISSION_DIESEL})


@dataclass(frozen=True)
class DueItem:
    code: str
    name_zh: str
    name_en: str
    amount_fen: int
    note: str = ""


@dataclass(frozen=True)
class Due:
    items: list[DueItem]
    price_list_version: int

    @property
    def total_fen(self) -> int:
        return sum(i.amount_fen for i in self.items)

    def as_dict(self) -> dict[str, Any]:
        return {"items": [asdict(i) for i in self.items], "total_fen": self.total_fen,
                "price_list_version": self.price_list_version}


def emission_code(fuel: Fuel | None, session: Session) -> str | None:
    """The price item of the vehicle's emission test, None when it has none."""
    if fuel in NO_EMISSION_FUELS:
        return None
    if fuel is None:
        raise ValidationError("fuel_missing", "请先登记燃料种类（决定排放检验方法）",
                              "Register the fuel first (it decides the emission method)")
    if fuel in DIESEL_FUELS:
        return "emission_diesel"
    return str(settings.get(session, "window.gasoline_emission_item"))


def inspection_codes(session: Session, visit: Visit) -> list[str]:
    """The inspections a first attempt needs: 三检合一 (safety, emission, grading)."""
    vehicle = visit.vehicle
    codes = ["safety"]
    emission = emission_code(vehicle.fuel, session)
    if emission:
        codes.append(emission)
    if vehicle.use_nature and is_commercial(vehicle.use_nature):
        codes.append("grading")
    return codes


def failed_groups(session: Session, visit_id: int) -> set[StationKind]:
    """The station kinds with a failed item in a visit (newest row per item counts)."""
    rows = session.execute(sa.select(InspectionItemResult.item_code, InspectionItemResult.group,
                                     InspectionItemResult.outcome)
                           .where(InspectionItemResult.visit_id == visit_id)
                           .order_by(InspectionItemResult.at, InspectionItemResult.id)).all()
    newest = {code: (group, outcome) for code, group, outcome in rows}
    return {group for group, outcome in newest.values() if outcome is ItemOutcome.FAIL}


def _previous_attempt(session: Session, visit: Visit) -> Visit | None:
    return session.scalar(sa.select(Visit).where(Visit.inspection_serial == visit.inspection_serial,
                                                 Visit.attempt == visit.attempt - 1))


def items_due(session: Session, clock: Clock, visit: Visit) -> Due:
    """What the visit pays, priced from the price list in force now."""
    price_list = prices.current(session, clock)
    if price_list is None:
        raise Conflict("no_price_list", "尚未发布价目表，不能收费", "No price list is published")
    by_code = {item.code: item for item in price_list.items}

    def item(code: str, note: str = "", free: bool = False) -> DueItem:
        if code not in by_code:
            raise Conflict("price_item_missing", f"价目表（第{price_list.version}版）缺少项目“{code}”",
                           f"The price list (version {price_list.version}) has no item {code}")
        p = by_code[code]
        return DueItem(code, p.name_zh, p.name_en, 0 if free else p.amount_fen, note)

    previous = _previous_attempt(session, visit) if visit.category is VisitCategory.RETEST else None
    if previous is None:
        return Due([item(code) for code in inspection_codes(session, visit)], price_list.version)
    groups = failed_groups(session, previous.id)
    codes = ["safety"] if groups - EMISSION_GROUPS else []
    if groups & EMISSION_GROUPS:
        codes.append(emission_code(visit.vehicle.fuel, session) or "safety")
    free_days = int(settings.get(session, "retest.free_days"))
    failed_on = clock.local(previous.result_at).date() if previous.result_at else clock.today()
    free = clock.today() <= failed_on + timedelta(days=free_days)
    note = (f"复检：{failed_on:%Y-%m-%d}不合格，{free_days}日内免费" if free
            else f"复检：已超过{free_days}日免费期")
    return Due([item(code, note, free) for code in dict.fromkeys(codes or ["safety"])],
               price_list.version)


def get_payment(session: Session, payment_id: int) -> Payment:
    payment = session.get(Payment, payment_id)
    if payment is None:
        raise NotFound("payment_not_found", "未找到该缴费记录", "No such payment", id=payment_id)
    return payment


def paid_payment(session: Session, visit_id: int) -> Payment | None:
    return session.scalar(sa.select(Payment).where(Payment.visit_id == visit_id,
                                                   Payment.state == PaymentState.PAID))


def hand_off_to_lanes(session: Session, clock: Clock, actor: Actor, visit: Visit) -> None:
    """Paid: the visit waits for a lane (REGISTERED → QUEUED_FOR_LANE) and is assigned the lane
    that can test it with the shortest expected wait (派线), in the same transaction. No lane
    able to test it: it waits unassigned, with the reason, until one opens."""
    from . import assignment

    visits.transition(session, clock, actor, visit, VisitState.QUEUED_FOR_LANE, reason="已缴费，待检")
    assignment.assign(session, clock, actor, visit)


def fen(amount: int) -> str:
    return f"{amount // 100}.{amount % 100:02d}"


def pay(session: Session, clock: Clock, actor: Actor, visit_id: int, method: PaymentMethod | str,
        gateway: PaymentGateway | None, *, payer_code: str | None = None,
        counter: Counter | None = None, expected_total_fen: int | None = None) -> Payment:
    """Take the visit's one payment and hand it to the lanes, in one transaction.

    Refused: a visit that is not registered (wrong state), one already paid, a total that
    differs from what the screen showed (the price list changed meanwhile), a declined or
    unavailable provider (nothing is recorded then).
    """
    visit = visits.get(session, visit_id, for_update=True)
    if paid_payment(session, visit.id) is not None:
        raise Conflict("already_paid", "该车辆已缴费，不能重复收费", "This visit is already paid")
    if visit.state is not VisitState.REGISTERED:
        raise Conflict("payment_wrong_state", "该车辆当前状态不能收费（须先登记）",
                       "This visit cannot be paid in its state (register it first)",
                       state=visit.state.value)
    due = items_due(session, clock, visit)
    if expected_total_fen is not None and expected_total_fen != due.total_fen:
        raise Conflict("total_changed", f"应收金额已变为{fen(due.total_fen)}元，请核对后再收",
                       f"The amount due is now {fen(due.total_fen)} yuan: check and retry",
                       total_fen=due.total_fen)
    method = PaymentMethod(method)
    if due.total_fen == 0:
        method = PaymentMethod.FREE
    elif method is PaymentMethod.FREE:
        raise ValidationError("payment_not_free", "本次检验需收费，请选择支付方式",
                              "This visit is not free: choose a payment method")
    prefix = settings.get(session, "window.receipt_prefix")
    receipt_no = f"{prefix}{clock.today():%Y%m%d}-{sequences.next_value(session, 'receipt', clock.today()):04d}"
    if method not in (PaymentMethod.CASH, PaymentMethod.FREE) and gateway is None:
        raise Conflict("payment_gateway_missing", "未配置电子支付通道，请收现金",
                       "No payment provider is configured: take cash")
    payment = Payment(visit_id=visit.id, receipt_no=receipt_no, state=PaymentState.PAID,
                      method=method, reference=receipt_no, amount_fen=due.total_fen,
                      price_list_version=due.price_list_version,
                      items=[asdict(i) for i in due.items], paid_at=clock.now(), paid_by=actor.id,
                      counter_id=counter.id if counter else None)
    session.add(payment)
    try:  # the database refuses a second live payment before any money moves
        session.flush()
    except IntegrityError:
        raise Conflict("already_paid", "该车辆已缴费，不能重复收费", "This visit is already paid") from None
    if method not in (PaymentMethod.CASH, PaymentMethod.FREE):
        assert gateway is not None
        # a refusal raises here and the whole transaction, payment row included, rolls back
        payment.reference = gateway.charge(method.value, due.total_fen, receipt_no,
                                           payer_code).reference
    hand_off_to_lanes(session, clock, actor, visit)
    _finish_ticket(session, clock, actor, visit)
    audit.record(session, clock, actor, "payment.paid", entity=payment, visit_id=visit.id,
                 amount_fen=payment.amount_fen, method=method.value, reference=payment.reference,
                 price_list_version=due.price_list_version)
    _documents().add_document(session, clock, visit, DocumentKind.RECEIPT,
                              counter.id if counter else None, receipt_lines(clock, visit, payment))
    _signal(session, clock, payment)
    return payment


def _documents() -> Any:
    from . import pickup  # the printed papers live with the pick-up window

    return pickup


def _finish_ticket(session: Session, clock: Clock, actor: Actor, visit: Visit) -> None:
    """The counter is done with the ticket once the visit is paid."""
    ticket = session.scalar(sa.select(Ticket).where(Ticket.visit_id == visit.id))
    if ticket is not None and ticket.counter_id is not None and ticket.call_state.value == "called":
        calling.finish(session, clock, actor, calling.get_counter(session, ticket.counter_id))


def receipt_lines(clock: Clock, visit: Visit, payment: Payment) -> list[str]:
    lines = [f"收据号：{payment.receipt_no}", f"检验流水号：{visit.inspection_serial}-{visit.attempt}",
             f"号牌号码：{visit.vehicle.plate}",
             f"收费时间：{clock.local(payment.paid_at):%Y-%m-%d %H:%M}", "-" * 24]
    lines += [f"{i['name_zh']}  {fen(i['amount_fen'])}元" for i in payment.items]
    lines += ["-" * 24, f"合计：{fen(payment.amount_fen)}元",
              f"支付方式：{PAYMENT_METHOD_LABELS[payment.method][0]}",
              f"交易号：{payment.reference}", f"价目表版本：{payment.price_list_version}"]
    return lines


def _signal(session: Session, clock: Clock, payment: Payment) -> None:
    signals.send_after_commit(session, signals.payment_changed, visit_id=payment.visit_id,
                              payment_id=payment.id, state=payment.state.value,
                              amount_fen=payment.amount_fen, at=clock.now().isoformat())


def cancel(session: Session, clock: Clock, actor: Actor, payment_id: int, *, refund: bool,
           reason: str, gateway: PaymentGateway | None) -> Payment:
    """Void (作废, the same station day) or refund (退款) a payment — a manager's decision
    (the HTTP layer checks the role), with a reason. The visit, still waiting for a lane, is
    cancelled; a visit already on a lane or tested keeps its payment."""
    reason = (reason or "").strip()
    if len(reason) < 2:
        raise ValidationError("reason_required", "请填写作废或退款的原因", "Give the reason")
    payment = get_payment(session, payment_id)
    if payment.state is not PaymentState.PAID:
        raise Conflict("payment_not_paid", "该缴费已作废或已退款", "This payment is already voided or refunded")
    visit = visits.get(session, payment.visit_id, for_update=True)
    if visit.state not in (VisitState.QUEUED_FOR_LANE, VisitState.CANCELLED, VisitState.REFUSED):
        raise Conflict("payment_in_use", "车辆已上线检测或已检测，不能作废或退款",
                       "The vehicle is on a lane or tested: the payment stands")
    if not refund and clock.local(payment.paid_at).date() != clock.today():
        raise Conflict("void_same_day_only", "只能作废当日的缴费，请改为退款",
                       "Only today's payments can be voided: refund it instead")
    refund_reference = None
    if payment.method not in (PaymentMethod.CASH, PaymentMethod.FREE) and payment.amount_fen:
        if gateway is None:
            raise Conflict("payment_gateway_missing", "未配置电子支付通道，不能退回电子支付",
                           "No payment provider is configured to give the money back")
        refund_reference = gateway.refund(payment.reference, payment.amount_fen, reason)
    payment.state = PaymentState.REFUNDED if refund else PaymentState.VOIDED
    payment.cancelled_at, payment.cancelled_by = clock.now(), actor.id
    payment.cancel_reason, payment.refund_reference = reason, refund_reference
    if visit.state is VisitState.QUEUED_FOR_LANE:
        visits.transition(session, clock, actor, visit, VisitState.CANCELLED,
                          reason=f"{'退款' if refund else '作废'}：{reason}")
    audit.record(session, clock, actor, "payment.refunded" if refund else "payment.voided",
                 entity=payment, visit_id=visit.id, amount_fen=payment.amount_fen, reason=reason,
                 refund_reference=refund_reference)
    _signal(session, clock, payment)
    return payment


def payment_dict(payment: Payment) -> dict[str, Any]:
    return {"id": payment.id, "visit_id": payment.visit_id, "receipt_no": payment.receipt_no,
            "state": payment.state.value, "method": payment.method.value,
            "method_zh": PAYMENT_METHOD_LABELS[payment.method][0], "reference": payment.reference,
            "amount_fen": payment.amount_fen, "items": payment.items,
            "price_list_version": payment.price_list_version, "paid_at": payment.paid_at.isoformat(),
            "cancel_reason": payment.cancel_reason}
