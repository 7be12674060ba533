"""Taking the fee (收费): the interface of a payment provider, and what its answers mean.

The counter records one payment per visit. Cash is counted by staff and needs no provider;
WeChat Pay, Alipay and UnionPay go through a :class:`PaymentGateway` (the station's acquiring
bank or aggregator). Each answer carries the provider's transaction reference, printed on the
receipt and needed for a refund. ``simulators/payment_gateway.py`` is a fake with fault
switches; a real provider's adapter implements the same two calls.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from station.errors import Conflict


class PaymentDeclined(Conflict):
    """The provider refused the payment (insufficient funds, cancelled by the payer …)."""

    def __init__(self, reason: str) -> None:
        super().__init__("payment_declined", f"支付未成功：{reason}",
                         f"The payment was declined: {reason}", reason=reason)


class PaymentUnavailable(Conflict):
    """The provider did not answer: nothing was charged; try again or take cash."""

    def __init__(self, reason: str) -> None:
        super().__init__("payment_unavailable", f"支付通道暂不可用：{reason}，请重试或改用现金",
                         f"The payment provider is unavailable: {reason}; retry or take cash",
                         reason=reason)


@dataclass(frozen=True)
class Charge:
    """A payment the provider accepted."""

    reference: str
    amount_fen: int
    method: str


class PaymentGateway(Protocol):
    def charge(self, method: str, amount_fen: int, order_no: str, payer_code: str | None
               ) -> Charge:
        """Take ``amount_fen`` for ``order_no`` (the receipt number; the provider refuses a
        second charge of the same order). ``payer_code``: the code scanned from the payer's
        phone or card, if the method uses one. Raises PaymentDeclined or PaymentUnavailable."""

    def refund(self, reference: str, amount_fen: int, reason: str) -> str:
        """Give back a charge; returns the refund's reference. Raises the same errors."""
