"""Shared steps of the bot and trade HTTP tests: sign up, store an exchange key, create a bot."""

from __future__ import annotations

from typing import Any

import httpx

from tests.support.fakes import FakeExchange

PASSWORD = "Correct-Horse-9-Battery"
EXCHANGE_KEY = "LiveKey0123456789abcdef"
EXCHANGE_SECRET = "LiveSecret0123456789abcdefXYZ"
BOT_CONFIGS = "/api/v1/bot-configs/"
BOT_STATES = "/api/v1/bot-states/"
TRADES = "/api/v1/trades/"


async def sign_up(client: httpx.AsyncClient, email: str) -> dict[str, str]:
    await client.post("/api/v1/auth/register", json={"email": email, "password": PASSWORD})
    login = await client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert login.status_code == 200, login.text
    return {"Authorization": f"Bearer {login.json()['access_token']}"}


async def add_api_key(
    client: httpx.AsyncClient, exchange: FakeExchange, headers: dict[str, str]
) -> int:
    """Store credentials the fake exchange accepts; returns the key's id."""
    exchange.valid_credentials.add((EXCHANGE_KEY, EXCHANGE_SECRET))
    response = await client.post(
        "/api/v1/api-keys/",
        json={"api_key": EXCHANGE_KEY, "secret_key": EXCHANGE_SECRET},
        headers=headers,
    )
    assert response.status_code == 201, response.text
    key_id: int = response.json()["id"]
    return key_id


async def create_bot(
    client: httpx.AsyncClient, headers: dict[str, str], **fields: Any
) -> dict[str, Any]:
    body = {"name": "BTC bot", "symbol": "BTCUSDT", **fields}
    response = await client.post(BOT_CONFIGS, json=body, headers=headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def trade_body(bot_config_id: int) -> dict[str, Any]:
    """A valid fill of the bot `bot_config_id` for POST /api/v1/trades/."""
    return {
        "bot_config_id": bot_config_id,
        "symbol": "BTCUSDT",
        "side": "BUY",
        "order_type": "MARKET",
        "price": 42000.5,
        "quantity_filled": 0.001,
        "quote_quantity_filled": 42.0005,
        "timestamp": "2024-01-20T12:00:00Z",
    }


def assert_envelope(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert set(body) == {"error", "code", "details"}
    assert body["code"] == status
    return body
