"""Every auth route through Litestar's test client, on SQLite and on PostgreSQL."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import httpx
import jwt
import pytest
from dependency_injector import providers

from application.users.manage_users import SetUserActiveCommand
from entrypoints.container import Container
from tests.integration.conftest import TEST_JWT_SECRET
from tests.support.fakes import FakeClock, OutboxMailer

PASSWORD = "Correct-Horse-9-Battery"
Client = httpx.AsyncClient


async def register(client: Client, email: str = "trader@example.com", password: str = PASSWORD):
    return await client.post("/api/v1/auth/register", json={"email": email, "password": password})


async def login(
    client: Client, email: str = "trader@example.com", password: str = PASSWORD, **extra
):
    return await client.post(
        "/api/v1/auth/login", json={"email": email, "password": password, **extra}
    )


async def token_for(client: Client, email: str = "trader@example.com") -> str:
    await register(client, email)
    response = await login(client, email)
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_envelope(response, status: int) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error", "code", "details"}
    assert body["code"] == status
    assert isinstance(body["error"], str) and body["error"]
    return body


async def test_register_creates_an_active_account_with_a_normalised_email(client: Client) -> None:
    response = await register(client, "  Trader@Example.COM ")
    assert response.status_code == 201
    body = response.json()
    assert body == {"id": body["id"], "email": "trader@example.com", "is_active": True}
    assert "password" not in response.text and "hash" not in response.text


async def test_register_refuses_an_email_already_taken_in_another_case(client: Client) -> None:
    await register(client, "trader@example.com")
    body = assert_envelope(await register(client, "TRADER@example.com"), 409)
    assert body["error"] == "Email already registered"


@pytest.mark.parametrize(
    ("password", "broken"),
    [
        ("Sh0rt-pass", ["at least 12"]),
        ("alllowercase-123", ["uppercase"]),
        ("ALLUPPERCASE-123", ["lowercase"]),
        ("No-Digits-Anywhere", ["digit"]),
        ("NoSpecial12345", ["special"]),
        ("short", ["at least 12", "uppercase", "digit", "special"]),
    ],
)
async def test_register_names_every_unmet_password_rule(
    client: Client, password: str, broken: list[str]
) -> None:
    body = assert_envelope(await register(client, password=password), 400)
    messages = body["details"]["password"]
    assert len(messages) == len(broken)
    for fragment, message in zip(broken, messages, strict=True):
        assert fragment in message


async def test_register_rejects_a_malformed_email_and_unknown_fields(client: Client) -> None:
    body = assert_envelope(await register(client, "not-an-email"), 400)
    assert "email" in body["details"]
    response = await client.post(
        "/api/v1/auth/register",
        json={"email": "a@example.com", "password": PASSWORD, "is_admin": True},
    )
    body = assert_envelope(response, 400)
    assert "is_admin" in body["details"]


async def test_login_returns_a_seven_day_bearer_token_and_the_user(client: Client) -> None:
    await register(client)
    response = await login(client, "TRADER@example.com")
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["user"]["email"] == "trader@example.com"
    claims = jwt.decode(body["access_token"], TEST_JWT_SECRET, algorithms=["HS256"])
    assert {"sub", "iat", "exp"} <= set(claims)
    assert claims["exp"] - claims["iat"] == int(timedelta(days=7).total_seconds())


async def test_login_with_remember_me_returns_a_thirty_day_token(client: Client) -> None:
    await register(client)
    body = (await login(client, remember_me=True)).json()
    claims = jwt.decode(body["access_token"], TEST_JWT_SECRET, algorithms=["HS256"])
    assert claims["exp"] - claims["iat"] == int(timedelta(days=30).total_seconds())


async def test_login_answers_wrong_password_and_unknown_email_identically(client: Client) -> None:
    await register(client)
    wrong = assert_envelope(await login(client, password="Wrong-Password-123"), 401)
    unknown = assert_envelope(await login(client, "nobody@example.com"), 401)
    assert wrong == unknown
    assert wrong["error"] == "Incorrect email or password"


async def test_login_of_an_inactive_user_is_refused_with_400(
    client: Client, container: Container
) -> None:
    await register(client)
    await container.set_user_active().execute(
        SetUserActiveCommand(email="trader@example.com", active=False)
    )
    body = assert_envelope(await login(client), 400)
    assert body["error"] == "Inactive user"


async def test_me_returns_the_profile_of_the_token_owner(client: Client) -> None:
    token = await token_for(client)
    response = await client.get("/api/v1/auth/me", headers=bearer(token))
    assert response.status_code == 200
    assert response.json()["email"] == "trader@example.com"


def _unsigned(payload: dict, header: dict) -> str:
    def part(data: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    return f"{part(header)}.{part(payload)}."


async def test_me_refuses_missing_forged_and_expired_tokens_with_401(client: Client) -> None:
    token = await token_for(client)
    claims = jwt.decode(token, TEST_JWT_SECRET, algorithms=["HS256"])
    now = int(datetime.now(UTC).timestamp())
    header, payload, signature = token.split(".")
    tampered_payload = base64.urlsafe_b64encode(
        json.dumps({**claims, "sub": "999"}).encode()
    ).rstrip(b"=")
    bad_tokens = {
        "alg none": _unsigned(claims, {"alg": "none", "typ": "JWT"}),
        "alg None": _unsigned(claims, {"alg": "None", "typ": "JWT"}),
        "HS512": jwt.encode(claims, TEST_JWT_SECRET, algorithm="HS512"),
        "other secret": jwt.encode(claims, "another-secret-" + "y" * 32, algorithm="HS256"),
        "expired": jwt.encode(
            {**claims, "iat": now - 100, "exp": now - 10}, TEST_JWT_SECRET, algorithm="HS256"
        ),
        "tampered": f"{header}.{tampered_payload.decode()}.{signature}",
        "no signature": f"{header}.{payload}.",
        "garbage": "not-a-token",
        "no exp": jwt.encode(
            {k: v for k, v in claims.items() if k != "exp"}, TEST_JWT_SECRET, algorithm="HS256"
        ),
    }
    for name, bad in bad_tokens.items():
        response = await client.get("/api/v1/auth/me", headers=bearer(bad))
        assert_envelope(response, 401)
        assert response.headers.get("www-authenticate") == "Bearer", name
    for headers in ({}, {"Authorization": token}, {"Authorization": f"Basic {token}"}):
        assert_envelope(await client.get("/api/v1/auth/me", headers=headers), 401)


async def test_tokens_of_a_deactivated_user_stop_working(
    client: Client, container: Container
) -> None:
    token = await token_for(client)
    await container.set_user_active().execute(
        SetUserActiveCommand(email="trader@example.com", active=False)
    )
    assert_envelope(await client.get("/api/v1/auth/me", headers=bearer(token)), 401)


async def test_forgot_password_answers_the_same_for_known_and_unknown_emails(
    client: Client, outbox: OutboxMailer
) -> None:
    await register(client)
    known = await client.post("/api/v1/auth/forgot-password", json={"email": "Trader@example.com"})
    unknown = await client.post("/api/v1/auth/forgot-password", json={"email": "x@example.com"})
    assert known.status_code == unknown.status_code == 200
    assert known.json() == unknown.json()
    assert [mail.to for mail in outbox.outbox] == ["trader@example.com"]


def _reset_token(outbox: OutboxMailer) -> str:
    body = outbox.outbox[-1].body
    return body.split("reset-password?token=", 1)[1].split()[0]


async def test_password_reset_is_single_use_and_revokes_older_tokens(
    client: Client, outbox: OutboxMailer
) -> None:
    old_token = await token_for(client)
    await client.post("/api/v1/auth/forgot-password", json={"email": "trader@example.com"})
    reset_token = _reset_token(outbox)
    new_password = "Brand-New-Secret-42"
    response = await client.post(
        "/api/v1/auth/reset-password", json={"token": reset_token, "new_password": new_password}
    )
    assert response.status_code == 200, response.text

    assert_envelope(await client.get("/api/v1/auth/me", headers=bearer(old_token)), 401)
    assert_envelope(await login(client), 401)
    fresh = (await login(client, password=new_password)).json()["access_token"]
    assert (await client.get("/api/v1/auth/me", headers=bearer(fresh))).status_code == 200

    again = await client.post(
        "/api/v1/auth/reset-password",
        json={"token": reset_token, "new_password": "Another-Secret-43"},
    )
    assert assert_envelope(again, 400)["error"] == "Invalid or expired reset token"


async def test_a_reset_token_expires_after_one_hour(
    client: Client, container: Container, outbox: OutboxMailer
) -> None:
    clock = FakeClock(datetime.now(UTC))
    container.clock.override(providers.Object(clock))
    await register(client)
    await client.post("/api/v1/auth/forgot-password", json={"email": "trader@example.com"})
    clock.advance(timedelta(hours=1, seconds=1))
    response = await client.post(
        "/api/v1/auth/reset-password",
        json={"token": _reset_token(outbox), "new_password": "Brand-New-Secret-42"},
    )
    assert_envelope(response, 400)
    assert (await login(client)).status_code == 200


async def test_reset_with_a_weak_password_keeps_the_token_usable(
    client: Client, outbox: OutboxMailer
) -> None:
    await register(client)
    await client.post("/api/v1/auth/forgot-password", json={"email": "trader@example.com"})
    token = _reset_token(outbox)
    weak = await client.post(
        "/api/v1/auth/reset-password", json={"token": token, "new_password": "weak"}
    )
    assert "password" in assert_envelope(weak, 400)["details"]
    strong = await client.post(
        "/api/v1/auth/reset-password", json={"token": token, "new_password": "Brand-New-Secret-42"}
    )
    assert strong.status_code == 200


async def test_reset_with_an_unknown_token_is_refused(client: Client) -> None:
    response = await client.post(
        "/api/v1/auth/reset-password",
        json={"token": "made-up-token", "new_password": "Brand-New-Secret-42"},
    )
    assert_envelope(response, 400)
