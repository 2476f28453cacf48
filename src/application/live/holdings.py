"""What the exchange actually holds for a bot's spot exit (which sells what is held,
not what was bought)."""

from __future__ import annotations

from decimal import Decimal

from domain.bots.order_intent import OrderIntent
from domain.exchange.account import ExchangeAccount
from domain.exchange.errors import OrderRejected
from domain.exchange.market import MarketType
from domain.exchange.order import OrderSide
from domain.ports.exchange_gateway import ExchangeGateway


async def sellable_amount(
    exchange: ExchangeGateway, account: ExchangeAccount, intent: OrderIntent
) -> Decimal:
    """The amount to send for an intent. A spot exit sells what is actually held:
    exchanges that charge the buy's fee in the bought asset (Binance without BNB)
    leave slightly less than was bought."""
    if intent.market_type is not MarketType.SPOT or intent.side is not OrderSide.SELL:
        return intent.amount
    market = await exchange.fetch_market(intent.market_type, intent.symbol)
    held = market.round_amount(await exchange.fetch_spot_free(account, market.base))
    if held <= 0:
        raise OrderRejected(f"no {market.base} left to sell")
    return min(intent.amount, held)
