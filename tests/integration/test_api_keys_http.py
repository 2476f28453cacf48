"""API key routes over HTTP on the paper exchange, on SQLite and PostgreSQL."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import httpx
import msgspec
import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select

from adapters.persistence.tables import api_keys
from adapters.rate_limit.limits_rate_limiter import DisabledRateLimiter
from adapters.security.argon2_hasher import fast_test_hasher
from adapters.vault.fernet_vault import FernetVault
from entrypoints.container import Container, build_container, close_container
from entrypoints.http.app import create_app
from entrypoints.settings import Settings
from tests.support.fakes import OutboxMailer
from tests.support.servers import free_port

PASSWORD = "Correct-Horse-9-Battery"
PAPER_KEY = "PaperKey0123456789abcdef"
PAPER_SECRET = "PaperSecret0123456789abcdefXYZ"


def paper_container(settings: Settings, **changes: object) -> Container:
    container = build_container(msgspec.structs.replace(settings, exchange="paper", **changes))
    container.password_hasher.override(fast_test_hasher())
    container.rate_limiter.override(DisabledRateLimiter())
    container.mailer.override(OutboxMailer())
    return container


async def open_client(container: Container) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=create_app(container), client=("127.0.0.1", 50000))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


async def sign_up(client: httpx.AsyncClient, email: str) -> dict[str, str]:
    await client.post("/api/v1/auth/register", json={"email": email, "password": PASSWORD})
    login = await client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    return {"Authorization": f"Bearer {login.json()['access_token']}"}


@pytest.fixture
async def paper(settings: Settings) -> AsyncIterator[tuple[httpx.AsyncClient, Container]]:
    container = paper_container(settings)
    async with await open_client(container) as client:
        yield client, container
    await close_container(container)


def assert_envelope(response: httpx.Response, status: int) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error", "code", "details"}
    assert body["code"] == status
    return body


async def add_key(
    client: httpx.AsyncClient, headers: dict[str, str], **body: str
) -> httpx.Response:
    payload = {"api_key": PAPER_KEY, "secret_key": PAPER_SECRET, "label": "main", **body}
    return await client.post("/api/v1/api-keys/", json=payload, headers=headers)


async def test_a_key_is_stored_encrypted_and_shown_masked(
    paper: tuple[httpx.AsyncClient, Container], caplog: pytest.LogCaptureFixture
) -> None:
    client, container = paper
    headers = await sign_up(client, "keys@example.com")
    with caplog.at_level(logging.DEBUG):
        created = await add_key(client, headers)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["api_key_masked"] == "Pape****cdef"
    assert set(body) == {"id", "label", "api_key_masked", "is_valid", "created_at", "updated_at"}
    assert PAPER_SECRET not in created.text and PAPER_KEY not in created.text

    async with container.engine().connect() as connection:
        row = (await connection.execute(select(api_keys))).one()
    raw = " ".join(str(value) for value in row)
    assert PAPER_KEY not in raw and PAPER_SECRET not in raw
    vault = container.vault()
    assert vault.decrypt(row.encrypted_secret) == PAPER_SECRET

    logged = "\n".join(r.getMessage() + str(r.__dict__) for r in caplog.records)
    assert PAPER_SECRET not in logged and PAPER_KEY not in logged

    me = await client.get("/api/v1/api-keys/me", headers=headers)
    assert me.status_code == 200
    assert me.json() == body


async def test_one_key_per_user_and_bad_credentials_are_400(
    paper: tuple[httpx.AsyncClient, Container],
) -> None:
    client, _ = paper
    headers = await sign_up(client, "keys@example.com")
    bad = assert_envelope(await add_key(client, headers, secret_key="short"), 400)
    assert bad["error"] == "Invalid API credentials"
    assert (await add_key(client, headers)).status_code == 201
    again = assert_envelope(await add_key(client, headers), 400)
    assert again["error"] == "API key already exists"
    unknown = await client.post(
        "/api/v1/api-keys/",
        json={"api_key": PAPER_KEY, "secret_key": PAPER_SECRET, "passphrase": "x"},
        headers=headers,
    )
    assert_envelope(unknown, 400)


async def test_another_users_key_is_invisible_and_routes_need_a_token(
    paper: tuple[httpx.AsyncClient, Container],
) -> None:
    client, _ = paper
    alice = await sign_up(client, "alice@example.com")
    bob = await sign_up(client, "bob@example.com")
    assert (await add_key(client, alice)).status_code == 201
    assert_envelope(await client.get("/api/v1/api-keys/me", headers=bob), 404)
    assert_envelope(await client.delete("/api/v1/api-keys/me", headers=bob), 404)
    assert_envelope(await client.get("/api/v1/api-keys/balance", headers=bob), 404)
    for method, path in [
        ("GET", "/api/v1/api-keys/me"),
        ("DELETE", "/api/v1/api-keys/me"),
        ("GET", "/api/v1/api-keys/balance"),
        ("POST", "/api/v1/api-keys/"),
    ]:
        assert_envelope(await client.request(method, path), 401)
    assert (await client.get("/api/v1/api-keys/me", headers=alice)).status_code == 200


async def test_paper_balance_starts_at_ten_thousand_usdt_as_json_numbers(
    paper: tuple[httpx.AsyncClient, Container],
) -> None:
    client, _ = paper
    headers = await sign_up(client, "keys@example.com")
    await add_key(client, headers)
    response = await client.get("/api/v1/api-keys/balance", headers=headers)
    assert response.status_code == 200, response.text
    assert response.json() == {
        "spot_balance": 10000,
        "futures_balance": 0,
        "total_balance": 10000,
        "currency": "USDT",
    }
    assert '"spot_balance":10000' in response.text.replace(" ", "")


async def test_deleting_the_key_removes_it(paper: tuple[httpx.AsyncClient, Container]) -> None:
    client, _ = paper
    headers = await sign_up(client, "keys@example.com")
    await add_key(client, headers)
    deleted = await client.delete("/api/v1/api-keys/me", headers=headers)
    assert deleted.status_code == 204
    assert deleted.content == b""
    assert_envelope(await client.get("/api/v1/api-keys/me", headers=headers), 404)
    assert_envelope(await client.delete("/api/v1/api-keys/me", headers=headers), 404)
    assert (await add_key(client, headers)).status_code == 201


async def test_an_unreachable_exchange_is_a_503_envelope_not_a_500(settings: Settings) -> None:
    container = build_container(
        msgspec.structs.replace(
            settings,
            exchange="binance",
            binance_base_url=f"http://127.0.0.1:{free_port()}",
            exchange_timeout_seconds=1.0,
        )
    )
    container.password_hasher.override(fast_test_hasher())
    container.rate_limiter.override(DisabledRateLimiter())
    async with await open_client(container) as client:
        headers = await sign_up(client, "keys@example.com")
        body = assert_envelope(await add_key(client, headers), 503)
        assert body["error"] == "Exchange unavailable"
        assert_envelope(await client.get("/api/v1/api-keys/me", headers=headers), 404)
    await close_container(container)


async def test_rotation_leaves_every_secret_readable_with_only_the_new_key(
    settings: Settings,
) -> None:
    old_key = settings.fernet_keys[0]
    new_key = Fernet.generate_key().decode()
    container = paper_container(settings)
    async with await open_client(container) as client:
        for n in range(3):
            headers = await sign_up(client, f"user{n}@example.com")
            assert (await add_key(client, headers)).status_code == 201
    await close_container(container)

    rotating = paper_container(settings, fernet_keys=(new_key, old_key))
    assert await rotating.rotate_vault_keys().execute(batch_size=2) == 3
    async with rotating.engine().connect() as connection:
        rows = (await connection.execute(select(api_keys))).all()
    await close_container(rotating)
    only_new = FernetVault([new_key])
    assert [only_new.decrypt(row.encrypted_secret) for row in rows] == [PAPER_SECRET] * 3
    assert {only_new.decrypt(row.encrypted_api_key) for row in rows} == {PAPER_KEY}
