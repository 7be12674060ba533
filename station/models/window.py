"""The single window (一窗通办): registration with the online query, insurance, the one payment, receipts, pick-up and retests."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, IdMixin, str_enum


class InsuranceState(enum.StrEnum):
    """The compulsory insurance (交强险) of a visit's vehicle."""

    VERIFIED = "verified"   # found in force online (or verified later)
    MISSING = "missing"     # not found: may be tested first, papers held
    AGENCY = "agency"       # not found; the owner took the station's agency service (代办)


INSURANCE_LABELS: dict[InsuranceState, tuple[str, str]] = {
    InsuranceState.VERIFIED: ("交强险已核实", "Insurance verified"),
    InsuranceState.MISSING: ("未查到交强险，先检后核", "No insurance found: test first"),
    InsuranceState.AGENCY: ("代办交强险中，先检后核", "Insurance by agency: test first"),
}


class Registration(IdMixin, Base):
    """What the counter recorded for a visit (受理登记): the licence fields as checked, the
    online query's answer, and the insurance."""

    __tablename__ = "window_registrations"
    visit_id: Mapped[int] = mapped_column(sa.ForeignKey("visits.id"), unique=True)
    counter_id: Mapped[int | None] = mapped_column(sa.ForeignKey("counters.id"))
    #: the platform's status codes (e.g. "A", "AG"); None when registered without the query
    status_codes: Mapped[str | None] = mapped_column(sa.String(8))
    queried_at: Mapped[datetime | None]
    #: the VIN's check digit was wrong and staff confirmed it against the vehicle
    vin_warning_confirmed: Mapped[bool] = mapped_column(default=False)
    insurance_state: Mapped[InsuranceState] = mapped_column(str_enum(InsuranceState, 16))
    insurance_until: Mapped[date | None]
    insurance_verified_at: Mapped[datetime | None]
    insurance_note: Mapped[str | None] = mapped_column(sa.String(200))
    registered_at: Mapped[datetime]
    registered_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))


class PaymentState(enum.StrEnum):
    PAID = "paid"
    VOIDED = "voided"      # cancelled the same day before the test (作废)
    REFUNDED = "refunded"  # money given back (退款)


class PaymentMethod(enum.StrEnum):
    CASH = "cash"
    WECHAT = "wechat"
    ALIPAY = "alipay"
    UNIONPAY = "unionpay"  # bank card / UnionPay QR
    FREE = "free"          # nothing due (a free retest)


PAYMENT_METHOD_LABELS: dict[PaymentMethod, tuple[str, str]] = {
    PaymentMethod.CASH: ("现金", "Cash"),
    PaymentMethod.WECHAT: ("微信支付", "WeChat Pay"),
    PaymentMethod.ALIPAY: ("支付宝", "Alipay"),
    PaymentMethod.UNIONPAY: ("银联/银行卡", "UnionPay / bank card"),
    PaymentMethod.FREE: ("免费", "Free"),
}

_PAID = "state = 'paid'"


class Payment(IdMixin, Base):
    """The one payment of a visit (一次收费): items and amounts as priced at the time."""

    __tablename__ = "window_payments"
    __table_args__ = (
        # a visit is paid at most once: the database refuses a second live payment
        sa.Index("uq_window_payments_visit_paid", "visit_id", unique=True,
                 sqlite_where=sa.text(_PAID), postgresql_where=sa.text(_PAID)),
    )
    visit_id: Mapped[int] = mapped_column(sa.ForeignKey("visits.id"), index=True)
    #: printed on the receipt, e.g. "R20261123-0007"
    receipt_no: Mapped[str] = mapped_column(sa.String(24), unique=True)
    state: Mapped[PaymentState] = mapped_column(str_enum(PaymentState, 16))
    method: Mapped[PaymentMethod] = mapped_column(str_enum(PaymentMethod, 16))
    #: the payment provider's transaction reference (cash: the receipt number)
    reference: Mapped[str] = mapped_column(sa.String(64))
    amount_fen: Mapped[int]
    price_list_version: Mapped[int | None]
    #: [{"code", "name_zh", "name_en", "amount_fen", "note"}] as charged
    items: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON)
    paid_at: Mapped[datetime]
    paid_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    counter_id: Mapped[int | None] = mapped_column(sa.ForeignKey("counters.id"))
    cancelled_at: Mapped[datetime | None]
    cancelled_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    cancel_reason: Mapped[str | None] = mapped_column(sa.String(200))
    refund_reference: Mapped[str | None] = mapped_column(sa.String(64))


class DocumentKind(enum.StrEnum):
    RECEIPT = "receipt"   # 缴费收据
    REPORT = "report"     # 检验报告
    RETEST = "retest"     # 复检通知单


DOCUMENT_LABELS: dict[DocumentKind, tuple[str, str]] = {
    DocumentKind.RECEIPT: ("缴费收据", "Receipt"),
    DocumentKind.REPORT: ("检验报告", "Inspection report"),
    DocumentKind.RETEST: ("复检通知单", "Retest notice"),
}


class DocumentPrintState(enum.StrEnum):
    PENDING = "pending"
    PRINTED = "printed"
    FAILED = "failed"


class PrintedDocument(IdMixin, Base):
    """A paper the counter printer prints after commit (receipt, report, retest notice).

    Its lines are composed when it is created; printing follows in the runtime's print worker,
    so a printer failure never undoes what the paper records.
    """

    __tablename__ = "window_documents"
    kind: Mapped[DocumentKind] = mapped_column(str_enum(DocumentKind, 16))
    visit_id: Mapped[int] = mapped_column(sa.ForeignKey("visits.id"), index=True)
    counter_id: Mapped[int | None] = mapped_column(sa.ForeignKey("counters.id"))
    title: Mapped[str] = mapped_column(sa.String(64))
    lines: Mapped[list[str]] = mapped_column(sa.JSON)
    state: Mapped[DocumentPrintState] = mapped_column(str_enum(DocumentPrintState, 16), index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(sa.String(200))
    created_at: Mapped[datetime]
    printed_at: Mapped[datetime | None]


class RetestBooking(IdMixin, Base):
    """A retest (复检) booked for a failed visit: same serial, attempt + 1, free until a day."""

    __tablename__ = "window_retests"
    failed_visit_id: Mapped[int] = mapped_column(sa.ForeignKey("visits.id"), unique=True)
    retest_visit_id: Mapped[int] = mapped_column(sa.ForeignKey("visits.id"), unique=True)
    free_until: Mapped[date]
    #: [{"group", "item_code", "name_zh", "name_en", "reason"}] of the failed visit
    failed_items: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON)
    #: the repair (M) stations suggested for an emission failure, as listed then
    repair_stations: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON)
    created_at: Mapped[datetime]
    created_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
