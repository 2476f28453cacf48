"""The portfolio body (GET /api/v1/portfolio)."""

from __future__ import annotations

import msgspec

from domain.exchange.market import MarketType
from domain.exchange.position import PositionSide
from domain.portfolio.portfolio import OpenPosition, Portfolio
from entrypoints.http.api_key_schemas import BalanceResponse
from entrypoints.http.json_response import Money


class PositionResponse(msgspec.Struct):
    """A bot's open position. `last_price` is the market's latest price and
    `unrealized_pnl` = (last_price - entry_price) * quantity, negated for a short; both
    are null when the exchange has no price for the market. `leverage` is null on spot."""

    bot_config_id: int
    name: str
    symbol: str
    market_type: MarketType
    side: PositionSide
    quantity: Money
    entry_price: Money
    last_price: Money | None
    unrealized_pnl: Money | None
    leverage: int | None


class RealizedPnlResponse(msgspec.Struct):
    """The realised PnL of the user's trades: since 00:00 UTC today, over the last 7 and
    30 days (of 24 hours, up to now), and over all time."""

    today: Money
    last_7_days: Money
    last_30_days: Money
    all_time: Money


class PortfolioResponse(msgspec.Struct):
    """Balances (as GET /api/v1/api-keys/balance), open positions per bot, realised PnL."""

    balances: BalanceResponse
    positions: list[PositionResponse]
    realized_pnl: RealizedPnlResponse


def _position_response(position: OpenPosition) -> PositionResponse:
    return PositionResponse(
        bot_config_id=position.bot_config_id,
        name=position.name,
        symbol=position.symbol,
        market_type=position.market_type,
        side=position.side,
        quantity=position.quantity,
        entry_price=position.entry_price,
        last_price=position.last_price,
        unrealized_pnl=position.unrealized_pnl,
        leverage=position.leverage,
    )


def portfolio_response(portfolio: Portfolio) -> PortfolioResponse:
    balance, realized = portfolio.balance, portfolio.realized_pnl
    return PortfolioResponse(
        balances=BalanceResponse(
            spot_balance=balance.spot,
            futures_balance=balance.futures,
            total_balance=balance.total,
            currency=balance.currency,
        ),
        positions=[_position_response(p) for p in portfolio.positions],
        realized_pnl=RealizedPnlResponse(
            today=realized.today,
            last_7_days=realized.last_7_days,
            last_30_days=realized.last_30_days,
            all_time=realized.all_time,
        ),
    )
