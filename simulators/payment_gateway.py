"""A payment provider simulator (收款通道模拟器) for the counter's fee.

Implements ``station.integrations.payments.PaymentGateway`` in memory, with a ledger a test
can read and fault switches: ``decline`` (the payer's side refuses), ``down`` (no answer),
``slow`` (seconds before answering). Like a real provider it refuses a second charge of the
same order number and a refund of more than was charged.
"""

from __future__ import annotations

import itertools
import threading
import time
from dataclasses import dataclass, field

from station.integrations.payments import Charge, PaymentDeclined, PaymentUnavailable


@dataclass
class Faults:
    decline: str | None = None   # a reason: every charge is declined with it
    down: bool = False
    slow: float = 0.0


@dataclass
class PaymentGatewaySimulator:
    faults: Faults = field(default_factory=Faults)
    #: reference → (order_no, method, amount_fen)
    charges: dict[str, tuple[str, str, int]] = field(default_factory=dict)
    #: refund reference → (charge reference, amount_fen, reason)
    refunds: dict[str, tuple[str, int, str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def _gate(self) -> None:
        if self.faults.slow:
            time.sleep(self.faults.slow)
        if self.faults.down:
            raise PaymentUnavailable("通道无响应")

    def charge(self, method: str, amount_fen: int, order_no: str, payer_code: str | None
               ) -> Charge:
        self._gate()
        if self.faults.decline:
            raise PaymentDeclined(self.faults.decline)
        if amount_fen <= 0:
            raise PaymentDeclined("金额无效")
        with self._lock:
            if any(order == order_no for order, _, _ in self.charges.values()):
                raise PaymentDeclined("订单已支付")
            reference = f"SIM{method[:2].upper()}{next(self._ids):08d}"
            self.charges[reference] = (order_no, method, amount_fen)
        return Charge(reference, amount_fen, method)

    def refund(self, reference: str, amount_fen: int, reason: str) -> str:
        self._gate()
        with self._lock:
            charged = self.charges.get(reference)
            if charged is None or amount_fen > charged[2]:
                raise PaymentDeclined("无此交易或退款金额超出")
            if any(ref == reference for ref, _, _ in self.refunds.values()):
                raise PaymentDeclined("该交易已退款")
            refund_ref = f"SIMRF{next(self._ids):08d}"
            self.refunds[refund_ref] = (reference, amount_fen, reason)
        return refund_ref
