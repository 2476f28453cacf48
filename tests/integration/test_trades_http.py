"""Trade routes over HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import httpx

from tests.integration.bots_api import TRADES, assert_envelope, create_bot, sign_up

HISTORY = "/api/v1/trades/history"


def fill(bot_id: int, **changes: Any) -> dict[str, Any]:
    return {
        "bot_config_id": bot_id,
        "symbol": "BTCUSDT",
        "side": "BUY",
        "order_type": "MARKET",
        "price": 65000.5,
        "quantity_filled": 0.0015,
        "quote_quantity_filled": 97.50075,
        "timestamp": "2026-01-01T12:00:00Z",
        **changes,
    }


async def record(client: httpx.AsyncClient, headers: dict[str, str], **body: Any) -> int:
    response = await client.post(TRADES, json=body, headers=headers)
    assert response.status_code == 201, response.text
    trade_id: int = response.json()["id"]
    return trade_id


async def test_every_field_of_a_trade_round_trips(client: httpx.AsyncClient) -> None:
    headers = await sign_up(client, "alice@example.com")
    bot = await create_bot(client, headers)
    body = fill(
        bot["id"],
        binance_order_id="123456789",
        side="SELL",
        order_type="LIMIT",
        commission_amount=0.0975,
        commission_asset="USDT",
        pnl=-1.25,
        realized_pnl=3.5,
        timestamp="2026-01-02T08:30:15.250000Z",
    )

    created = await client.post(TRADES, json=body, headers=headers)

    assert created.status_code == 201, created.text
    trade = created.json()
    me = (await client.get("/api/v1/auth/me", headers=headers)).json()
    assert trade == {**body, "id": trade["id"], "user_id": me["id"]}
    assert '"price":65000.5' in created.text
    fetched = await client.get(f"{TRADES}{trade['id']}", headers=headers)
    assert fetched.status_code == 200
    assert fetched.json() == trade


async def test_optional_fields_default_and_the_symbol_is_normalised(
    client: httpx.AsyncClient,
) -> None:
    headers = await sign_up(client, "alice@example.com")
    bot = await create_bot(client, headers)

    response = await client.post(TRADES, json=fill(bot["id"], symbol="btc/usdt"), headers=headers)

    trade = response.json()
    assert trade["symbol"] == "BTCUSDT"
    assert trade["commission_amount"] == 0
    assert trade["binance_order_id"] is None
    assert trade["commission_asset"] is None
    assert trade["pnl"] is None
    assert trade["realized_pnl"] is None


async def test_a_trade_needs_a_bot_of_ones_own(client: httpx.AsyncClient) -> None:
    alice = await sign_up(client, "alice@example.com")
    bob = await sign_up(client, "bob@example.com")
    alices_bot = await create_bot(client, alice)

    theirs = await client.post(TRADES, json=fill(alices_bot["id"]), headers=bob)
    missing = await client.post(TRADES, json=fill(987654), headers=bob)

    assert assert_envelope(theirs, 404)["error"] == "Bot configuration not found"
    assert theirs.json() == missing.json()
    assert (await client.get(TRADES, headers=alice)).json() == []


async def test_invalid_trades_are_400s_naming_the_field(client: httpx.AsyncClient) -> None:
    headers = await sign_up(client, "alice@example.com")
    bot = await create_bot(client, headers)
    wrong: list[str] = []
    for changes, field in [
        ({"side": "HOLD"}, "side"),
        ({"timestamp": "2026-01-01T12:00:00"}, "timestamp"),
        ({"timestamp": "yesterday"}, "timestamp"),
        ({"price": "cheap"}, "price"),
        ({"price": "NaN"}, "price"),
        ({"quantity_filled": 1e25}, "quantity_filled"),
        ({"commission_amount": None}, "commission_amount"),
        ({"order_type": ""}, "order_type"),
        ({"symbol": "B"}, "symbol"),
        ({"bot_config_id": "first"}, "bot_config_id"),
        ({"fee": 1}, "fee"),
    ]:
        response = await client.post(TRADES, json=fill(bot["id"], **changes), headers=headers)
        details = response.json().get("details")
        if response.status_code != 400 or not isinstance(details, dict) or field not in details:
            wrong.append(f"{changes} -> {response.status_code} {response.text}")
    missing = await client.post(TRADES, json={"bot_config_id": bot["id"]}, headers=headers)
    assert_envelope(missing, 400)
    assert wrong == []


async def test_the_list_is_newest_first_and_paginated(client: httpx.AsyncClient) -> None:
    headers = await sign_up(client, "alice@example.com")
    bot = await create_bot(client, headers)
    older = await record(client, headers, **fill(bot["id"], timestamp="2026-01-01T10:00:00Z"))
    newest = await record(client, headers, **fill(bot["id"], timestamp="2026-01-03T10:00:00Z"))
    middle = await record(client, headers, **fill(bot["id"], timestamp="2026-01-02T10:00:00Z"))
    same_time = await record(client, headers, **fill(bot["id"], timestamp="2026-01-02T10:00:00Z"))

    everything = await client.get(TRADES, headers=headers)
    first = await client.get(TRADES, params={"limit": 3}, headers=headers)
    rest = await client.get(TRADES, params={"limit": 3, "offset": 3}, headers=headers)

    assert [t["id"] for t in everything.json()] == [newest, same_time, middle, older]
    assert [t["id"] for t in first.json()] == [newest, same_time, middle]
    assert [t["id"] for t in rest.json()] == [older]
    assert everything.headers["X-Total-Count"] == first.headers["X-Total-Count"] == "4"
    assert_envelope(await client.get(TRADES, params={"limit": 501}, headers=headers), 400)


async def test_history_filters_by_bot_symbol_side_and_time(client: httpx.AsyncClient) -> None:
    headers = await sign_up(client, "alice@example.com")
    one = (await create_bot(client, headers))["id"]
    two = (await create_bot(client, headers, name="Second"))["id"]
    a = await record(client, headers, **fill(one, side="BUY", timestamp="2026-01-01T00:00:00Z"))
    b = await record(client, headers, **fill(one, side="SELL", timestamp="2026-01-02T00:00:00Z"))
    c = await record(client, headers, **fill(two, side="BUY", timestamp="2026-01-03T00:00:00Z"))
    d = await record(
        client,
        headers,
        **fill(two, symbol="ETHUSDT", side="SELL", timestamp="2026-01-04T00:00:00Z"),
    )

    async def history(**params: Any) -> list[int]:
        response = await client.get(HISTORY, params=params, headers=headers)
        assert response.status_code == 200, response.text
        ids = [t["id"] for t in response.json()]
        assert response.headers["X-Total-Count"] == str(len(ids))
        return ids

    assert await history() == [d, c, b, a]
    assert await history(bot_config_id=one) == [b, a]
    assert await history(symbol="ETHUSDT") == [d]
    assert await history(symbol="btcusdt") == [c, b, a]
    assert await history(side="SELL") == [d, b]
    assert await history(start="2026-01-02T00:00:00Z") == [d, c, b]
    assert await history(end="2026-01-02T00:00:00Z") == [b, a]
    assert await history(start="2026-01-02T00:00:00", end="2026-01-03T00:00:00Z") == [c, b]
    assert await history(start="2026-01-02T01:00:00+01:00", end="2026-01-02T00:00:00Z") == [b]
    assert await history(bot_config_id=two, side="BUY") == [c]
    assert await history(bot_config_id=987654) == []
    assert await history(bot_config_id=2**40) == []
    paged = await client.get(
        HISTORY, params={"limit": 1, "offset": 1, "side": "BUY"}, headers=headers
    )
    assert [t["id"] for t in paged.json()] == [a]
    assert paged.headers["X-Total-Count"] == "2"
    for params in ({"side": "HOLD"}, {"start": "soon"}, {"limit": 0}, {"offset": -1}):
        response = await client.get(HISTORY, params=params, headers=headers)
        assert set(params) <= set(assert_envelope(response, 400)["details"])


async def test_another_users_trades_are_invisible(client: httpx.AsyncClient) -> None:
    alice = await sign_up(client, "alice@example.com")
    bob = await sign_up(client, "bob@example.com")
    bot = await create_bot(client, alice)
    trade_id = await record(client, alice, **fill(bot["id"]))

    theirs = await client.get(f"{TRADES}{trade_id}", headers=bob)
    missing = await client.get(f"{TRADES}987654", headers=bob)
    huge = await client.get(f"{TRADES}{2**40}", headers=bob)

    assert assert_envelope(theirs, 404)["error"] == "Trade not found"
    assert theirs.json() == missing.json() == huge.json()
    for path in (TRADES, HISTORY):
        listed = await client.get(path, headers=bob)
        assert listed.json() == []
        assert listed.headers["X-Total-Count"] == "0"
    bobs_filter = await client.get(HISTORY, params={"bot_config_id": bot["id"]}, headers=bob)
    assert bobs_filter.json() == []


async def test_every_trade_route_needs_a_token(client: httpx.AsyncClient) -> None:
    for method, path in [
        ("POST", TRADES),
        ("GET", TRADES),
        ("GET", HISTORY),
        ("GET", f"{TRADES}1"),
    ]:
        body = {} if method == "POST" else None
        assert_envelope(await client.request(method, path, json=body), 401)


async def test_the_openapi_document_describes_the_trade_routes(client: httpx.AsyncClient) -> None:
    paths = (await client.get("/schema/openapi.json")).json()["paths"]

    history = paths["/api/v1/trades/history"]["get"]
    assert {p["name"] for p in history["parameters"]} >= {
        "bot_config_id",
        "symbol",
        "side",
        "start",
        "end",
        "limit",
        "offset",
    }
    assert "X-Total-Count" in history["responses"]["200"]["headers"]
    assert "404" in paths["/api/v1/trades/{trade_id}"]["get"]["responses"]
    assert "404" in paths["/api/v1/trades"]["post"]["responses"]


async def test_amounts_sent_as_strings_keep_every_decimal(client: httpx.AsyncClient) -> None:
    # JSON numbers pass through a float on the way in; strings are exact.
    headers = await sign_up(client, "alice@example.com")
    bot = await create_bot(client, headers)
    body = fill(bot["id"], quantity_filled="0.123456789012345678", price="99999999999999.25")

    created = await client.post(TRADES, json=body, headers=headers)
    fetched = await client.get(f"{TRADES}{created.json()['id']}", headers=headers)

    assert '"quantity_filled":0.123456789012345678' in fetched.text
    assert '"price":99999999999999.25' in fetched.text
