"""Fixtures shared by the exchange contract and fault suites.

Test modules import the fixtures they use (``from tests.integration.exchange_fixtures
import gateway``); nothing here is a plugin. The stub runs per test so every test starts
from the same funded account and an empty request log.

The ``gateway`` fixture is the point of the contract suite: it yields the ccxt adapter
talking to the Binance stub, or the paper exchange whose prices and markets come from a
ccxt adapter talking to the same stub, with one set of credentials valid for both.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.exchange.ccxt_gateway import CcxtExchangeGateway, CcxtSettings
from adapters.exchange.paper.paper_exchange import PaperExchange, PaperSettings
from adapters.persistence.engine import create_engine, create_session_factory
from adapters.persistence.tables import paper_orders, users
from adapters.system_clock import SystemClock
from domain.exchange.account import ExchangeAccount
from domain.ports.exchange_gateway import ExchangeGateway
from entrypoints.migrations import upgrade
from tests.integration.binance_stub import BinanceStub, StubAccount

# 16-128 ASCII letters and digits: valid paper credentials, and registered in the stub.
KEY = "ContractKey0123456789abcdef"
SECRET = "ContractSecret0123456789abcdefXYZ"
STARTING_SPOT = Decimal(10_000)
STARTING_FUTURES = Decimal(0)
# No faults are injected in the contract suite: the timeout only bounds a hung stub.
CONTRACT_TIMEOUT_SECONDS = 2.0
# The fault suite's timeout: well below the stub's delay, well above a loopback answer.
FAULT_TIMEOUT_SECONDS = 0.5
READ_ATTEMPTS = 2
RETRY_BACKOFF_SECONDS = 0.01


def stub_settings(
    stub: BinanceStub,
    timeout_seconds: float = CONTRACT_TIMEOUT_SECONDS,
    **changes: Any,
) -> CcxtSettings:
    """ccxt pointed at the stub, with small timeouts and one quick retry of reads."""
    values: dict[str, Any] = {
        "base_url": stub.base_url,
        "timeout_seconds": timeout_seconds,
        "read_attempts": READ_ATTEMPTS,
        "retry_backoff_seconds": RETRY_BACKOFF_SECONDS,
        **changes,
    }
    return CcxtSettings(**values)


@pytest.fixture
def binance_stub() -> Iterator[BinanceStub]:
    with BinanceStub() as stub:
        yield stub


@pytest.fixture
def funded_account(binance_stub: BinanceStub) -> StubAccount:
    """The stub account behind KEY/SECRET: 10,000 USDT spot, an empty futures wallet."""
    return binance_stub.add_account(
        KEY, SECRET, spot={"USDT": str(STARTING_SPOT)}, futures={"USDT": str(STARTING_FUTURES)}
    )


@dataclass
class GatewayUnderTest:
    """One adapter behind the ExchangeGateway port, with an account that works on it."""

    name: str  # "ccxt" or "paper"
    gateway: ExchangeGateway
    account: ExchangeAccount
    stub: BinanceStub
    engine: AsyncEngine | None = None

    async def orders_placed(self) -> int:
        """How many orders the account has on the exchange, whatever their status."""
        if self.engine is None:
            return len(self.stub.orders(self.account.api_key))
        async with self.engine.connect() as connection:
            count = await connection.scalar(
                select(func.count())
                .select_from(paper_orders)
                .where(paper_orders.c.user_id == self.account.user_id)
            )
        return int(count or 0)


async def insert_user(engine: AsyncEngine, email: str) -> int:
    """The users row the paper books hang from (paper_* tables reference users.id)."""
    now = datetime.now(UTC)
    async with engine.begin() as connection:
        user_id = await connection.scalar(
            insert(users)
            .values(
                email=email,
                password_hash="not-a-real-hash",
                is_active=True,
                token_version=0,
                created_at=now,
                updated_at=now,
            )
            .returning(users.c.id)
        )
    assert user_id is not None
    return int(user_id)


def migrated_sqlite_url(directory: Path) -> str:
    """What the conftest's `migrated_database_url` gives for its sqlite parameter."""
    url = f"sqlite+aiosqlite:///{directory}/paper.db"
    upgrade(url)
    return url


@pytest.fixture(params=["ccxt", "paper"])
async def gateway(
    request: pytest.FixtureRequest,
    binance_stub: BinanceStub,
    funded_account: StubAccount,
    tmp_path: Path,
) -> AsyncIterator[GatewayUnderTest]:
    """The same port on both adapters; the paper books live in a migrated SQLite database.

    (PostgreSQL is left to the paper exchange's own tests: its books are the only part
    that touches the database, and a database per contract test would double the run.)
    """
    market_data = CcxtExchangeGateway(stub_settings(binance_stub))
    if request.param == "ccxt":
        subject = GatewayUnderTest(
            "ccxt", market_data, ExchangeAccount(1, KEY, SECRET), binance_stub
        )
        yield subject
        await market_data.close()
        return
    engine = create_engine(migrated_sqlite_url(tmp_path))
    user_id = await insert_user(engine, "paper-trader@example.com")
    paper = PaperExchange(
        market_data=market_data,
        session_factory=create_session_factory(engine),
        clock=SystemClock(),
        settings=PaperSettings(starting_spot=STARTING_SPOT, starting_futures=STARTING_FUTURES),
    )
    yield GatewayUnderTest(
        "paper", paper, ExchangeAccount(user_id, KEY, SECRET), binance_stub, engine
    )
    await paper.close()
    await engine.dispose()


@pytest.fixture
async def ccxt_gateway(binance_stub: BinanceStub) -> AsyncIterator[CcxtExchangeGateway]:
    """The ccxt adapter alone, for the fault suite (which sets its own timeouts)."""
    gateway = CcxtExchangeGateway(
        stub_settings(binance_stub, timeout_seconds=FAULT_TIMEOUT_SECONDS)
    )
    yield gateway
    await gateway.close()
