"""A user's portfolio: what the wallets hold, what the bots hold at the latest price, and
the profit already realised over the usual windows."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from domain.bots.bot_config import BotConfig
from domain.bots.bot_state import BotState
from domain.errors import InvalidInput
from domain.exchange.balance import AccountBalance
from domain.exchange.market import MarketType
from domain.exchange.position import PositionSide


def _positive(value: Decimal | None) -> bool:
    return value is not None and value.is_finite() and value > 0


@dataclass(frozen=True, slots=True)
class OpenPosition:
    """A bot's open position as its state records it, priced at `last_price` when the
    exchange has a price for the market."""

    bot_config_id: int
    name: str
    symbol: str
    market_type: MarketType
    side: PositionSide
    quantity: Decimal
    entry_price: Decimal
    leverage: int | None = None  # futures only
    last_price: Decimal | None = None

    def __post_init__(self) -> None:
        problems: dict[str, list[str]] = {}
        for name in ("quantity", "entry_price"):
            if not _positive(getattr(self, name)):
                problems[name] = ["a positive amount"]
        if self.last_price is not None and not _positive(self.last_price):
            problems["last_price"] = ["a positive amount"]
        if problems:
            raise InvalidInput("Validation failed", details=problems)

    @classmethod
    def of(cls, config: BotConfig, state: BotState) -> OpenPosition | None:
        """The bot's open position, or None when its state holds none (an operator's
        correction may leave `in_position` without a usable size or price)."""
        quantity, entry_price = state.current_position_size_coins, state.entry_price
        if not state.in_position or quantity is None or entry_price is None:
            return None
        if not (_positive(quantity) and _positive(entry_price)):
            return None
        assert config.id is not None
        futures = config.market_type is MarketType.FUTURES
        return cls(
            bot_config_id=config.id,
            name=config.name,
            symbol=config.symbol,
            market_type=config.market_type,
            # Only futures go short; a position without a side is a spot holding (or an
            # operator's correction of one).
            side=PositionSide.SHORT if state.position_side == "short" else PositionSide.LONG,
            quantity=quantity,
            entry_price=entry_price,
            leverage=config.leverage if futures else None,
        )

    @property
    def market(self) -> tuple[MarketType, str]:
        """What the position is priced by: one ticker per market, however many bots."""
        return self.market_type, self.symbol

    def priced(self, last_price: Decimal | None) -> OpenPosition:
        return replace(self, last_price=last_price)

    @property
    def unrealized_pnl(self) -> Decimal | None:
        """(last - entry) * quantity for a long, the opposite for a short; None unpriced."""
        if self.last_price is None:
            return None
        gain = (self.last_price - self.entry_price) * self.quantity
        return gain if self.side is PositionSide.LONG else -gain


@dataclass(frozen=True, slots=True)
class PnlWindows:
    """Where the realised-PnL windows start: 00:00 UTC today, and 7 and 30 days (of 24
    hours) before now."""

    today: datetime
    last_7_days: datetime
    last_30_days: datetime

    @classmethod
    def ending_at(cls, now: datetime) -> PnlWindows:
        if now.tzinfo is None:
            raise ValueError("now needs a UTC offset")
        now = now.astimezone(UTC)
        return cls(
            today=now.replace(hour=0, minute=0, second=0, microsecond=0),
            last_7_days=now - timedelta(days=7),
            last_30_days=now - timedelta(days=30),
        )


@dataclass(frozen=True, slots=True)
class RealizedPnl:
    """The realised PnL of the user's trades in each window, and over all time."""

    today: Decimal
    last_7_days: Decimal
    last_30_days: Decimal
    all_time: Decimal


@dataclass(frozen=True, slots=True)
class Portfolio:
    balance: AccountBalance
    positions: tuple[OpenPosition, ...]
    realized_pnl: RealizedPnl
