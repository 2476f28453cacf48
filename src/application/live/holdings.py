"""What the exchange actually holds for a bot: for reconciliation after a restart, and
for spot exits (which sell what is held, not what was bought)."""

from __future__ import annotations

from decimal import Decimal

from domain.bots.bot_config import BotConfig
from domain.bots.order_intent import OrderIntent
from domain.exchange.account import ExchangeAccount
from domain.exchange.errors import OrderRejected
from domain.exchange.market import MarketType
from domain.exchange.order import OrderSide
from domain.ports.exchange_gateway import ExchangeGateway

# Exchange amounts are rounded to the market's step and spot buys may pay their fee in
# the coin bought: a holding within this relative difference is the bot's position.
QUANTITY_TOLERANCE = Decimal("0.01")


async def position_mismatch(
    exchange: ExchangeGateway,
    account: ExchangeAccount,
    config: BotConfig,
    side: str,
    quantity: Decimal,
) -> str | None:
    """None when the exchange holds the bot's position (`side` "long" or "short" of
    `quantity`); otherwise what it holds instead. Spot: at least that much of the base
    asset (the user may hold more); futures: a position of that side and size."""
    tolerance = quantity * QUANTITY_TOLERANCE
    if config.market_type is MarketType.SPOT:
        market = await exchange.fetch_market(config.market_type, config.symbol)
        free = await exchange.fetch_spot_free(account, market.base)
        return None if free >= quantity - tolerance else f"{free} {market.base}"
    positions = await exchange.fetch_positions(account)
    held = next((p for p in positions if p.symbol == config.symbol and p.amount > 0), None)
    if held is None:
        return "no position"
    if held.side.value == side and abs(held.amount - quantity) <= tolerance:
        return None
    return f"{held.side.value} {held.amount}"


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
