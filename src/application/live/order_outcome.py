"""What the exchange did with one intent's order, as the live bot acts on it."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from domain.bots.execution import Execution
from domain.errors import DomainError
from domain.exchange.order import Order, OrderStatus


class OutcomeKind(StrEnum):
    FILLED = "filled"  # the whole order
    PARTIAL = "partial"  # part of it, and the exchange will fill no more
    NOTHING = "nothing"  # done on the exchange with nothing filled (expired, cancelled)
    REJECTED = "rejected"  # refused when sent: never placed
    EXPIRED = "expired"  # never sent within one candle of its decision (or withdrawn)
    UNKNOWN = "unknown"  # not known yet: asked for again by client order id


@dataclass(frozen=True, slots=True)
class Outcome:
    kind: OutcomeKind
    order: Order | None = None
    execution: Execution | None = None
    reason: str = ""
    error: DomainError | None = None

    @property
    def known(self) -> bool:
        return self.kind is not OutcomeKind.UNKNOWN

    @property
    def closes_position(self) -> bool:
        """An exit the exchange filled completely: what is left is dust."""
        return self.order is not None and self.order.status is OrderStatus.FILLED

    @classmethod
    def unknown(cls, reason: str) -> Outcome:
        return cls(OutcomeKind.UNKNOWN, reason=reason)
