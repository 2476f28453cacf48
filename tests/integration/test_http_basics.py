"""HTTP conventions: envelope, request ids, CORS, audit log, health, OpenAPI."""

from __future__ import annotations

import logging

import httpx
import msgspec
import pytest
from dependency_injector import providers

from entrypoints.container import Container, build_container, close_container
from entrypoints.http.app import create_app
from entrypoints.settings import Settings
from tests.support.servers import free_port

PASSWORD = "Correct-Horse-9-Battery"


def assert_envelope(response: httpx.Response, status: int) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error", "code", "details"} and body["code"] == status
    return body


async def client_for(container: Container) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=create_app(container), client=("127.0.0.1", 50000))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


async def test_health_answers_the_seed_body(client: httpx.AsyncClient) -> None:
    response = await client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "healthy", "service": "tradebot-backend"}


async def test_framework_errors_use_the_error_envelope(client: httpx.AsyncClient) -> None:
    assert_envelope(await client.get("/api/v1/does-not-exist"), 404)
    assert_envelope(await client.delete("/health"), 405)
    malformed = await client.post(
        "/api/v1/auth/login", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert_envelope(malformed, 400)
    missing = assert_envelope(
        await client.post("/api/v1/auth/login", json={"email": "a@b.io"}), 400
    )
    assert "password" in missing["details"]
    wrong_type = assert_envelope(
        await client.post("/api/v1/auth/login", json={"email": 1, "password": PASSWORD}), 400
    )
    assert "email" in wrong_type["details"]


async def test_an_unexpected_failure_is_a_bare_500_envelope(
    client: httpx.AsyncClient, container: Container, caplog: pytest.LogCaptureFixture
) -> None:
    class Exploding:
        async def execute(self, command: object) -> None:
            raise RuntimeError("SELECT secret FROM internals")

    container.register_user.override(providers.Object(Exploding()))
    with caplog.at_level(logging.ERROR):
        response = await client.post(
            "/api/v1/auth/register", json={"email": "a@example.com", "password": PASSWORD}
        )
    body = assert_envelope(response, 500)
    assert body == {"error": "Internal server error", "code": 500, "details": None}
    assert "SELECT" not in response.text and "Traceback" not in response.text
    assert any("RuntimeError" in record.getMessage() for record in caplog.records)


async def test_every_response_carries_a_request_id(client: httpx.AsyncClient) -> None:
    generated = await client.get("/health")
    assert len(generated.headers["x-request-id"]) >= 16
    assert (await client.get("/nope")).headers["x-request-id"]
    kept = await client.get("/health", headers={"X-Request-ID": "abc-123"})
    assert kept.headers["x-request-id"] == "abc-123"
    replaced = await client.get("/health", headers={"X-Request-ID": "bad id\twith junk"})
    assert replaced.headers["x-request-id"] != "bad id\twith junk"


async def test_audit_log_has_one_line_per_request_without_secrets(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        await client.post(
            "/api/v1/auth/register", json={"email": "audit@example.com", "password": PASSWORD}
        )
        login = await client.post(
            "/api/v1/auth/login", json={"email": "audit@example.com", "password": PASSWORD}
        )
        token = login.json()["access_token"]
        me = await client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    access = [r for r in caplog.records if r.name == "tradebot.access"]
    assert [(r.method, r.path, r.status) for r in access] == [
        ("POST", "/api/v1/auth/register", 201),
        ("POST", "/api/v1/auth/login", 200),
        ("GET", "/api/v1/auth/me", 200),
    ]
    assert access[-1].user_id == me.json()["id"]
    assert access[-1].client_ip == "127.0.0.1"
    assert all(r.duration_ms >= 0 for r in access)
    everything = "\n".join(r.getMessage() + str(r.__dict__) for r in caplog.records)
    assert PASSWORD not in everything
    assert token not in everything
    assert token.split(".")[2] not in everything


async def test_cors_allows_only_the_configured_origins(settings: Settings) -> None:
    container = build_container(
        msgspec.structs.replace(settings, cors_origins=("https://app.example.com",))
    )
    async with await client_for(container) as client:
        allowed = await client.options(
            "/api/v1/auth/login",
            headers={
                "Origin": "https://app.example.com",
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "content-type",
            },
        )
        assert allowed.headers.get("access-control-allow-origin") == "https://app.example.com"
        other = await client.get("/health", headers={"Origin": "https://evil.example.com"})
        assert "access-control-allow-origin" not in other.headers
    await close_container(container)


async def test_readiness_reports_ok_when_the_database_answers(client: httpx.AsyncClient) -> None:
    response = await client.get("/health/ready")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "checks": {"database": "ok", "exchange": "ok"}}


async def test_readiness_is_503_naming_each_unreachable_dependency(settings: Settings) -> None:
    closed_port = free_port()
    broken = msgspec.structs.replace(
        settings,
        database_url=f"postgresql+asyncpg://nobody@127.0.0.1:{closed_port}/none",
        redis_url=f"redis://127.0.0.1:{free_port()}/0",
        binance_base_url=f"http://127.0.0.1:{free_port()}",
        exchange_timeout_seconds=1.0,
    )
    container = build_container(broken)
    async with await client_for(container) as client:
        response = await client.get("/health/ready")
    await close_container(container)
    body = assert_envelope(response, 503)
    assert set(body["details"]) == {"database", "redis", "exchange"}
    assert all(state != "ok" for state in body["details"].values())


async def test_openapi_documents_every_route_with_its_errors(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/schema/openapi.json")).json()
    assert schema["openapi"].startswith("3.1")
    paths = schema["paths"]
    expected = {
        ("/api/v1/auth/register", "post"): {"201", "400", "409"},
        ("/api/v1/auth/login", "post"): {"200", "400", "401", "429"},
        ("/api/v1/auth/me", "get"): {"200", "401"},
        ("/api/v1/auth/forgot-password", "post"): {"200", "400", "429"},
        ("/api/v1/auth/reset-password", "post"): {"200", "400", "429"},
        ("/health", "get"): {"200"},
        ("/health/ready", "get"): {"200", "503"},
    }
    for (path, method), statuses in expected.items():
        responses = paths[path][method]["responses"]
        assert statuses <= set(responses), (path, responses.keys())
        for status in statuses - {"200", "201"}:
            ref = responses[status]["content"]["application/json"]["schema"]["$ref"]
            assert ref.endswith("/ErrorBody"), (path, status, ref)
    assert paths["/api/v1/auth/me"]["get"]["security"] == [{"BearerToken": []}]
    assert "BearerToken" in schema["components"]["securitySchemes"]
    swagger = await client.get("/schema/swagger")
    assert swagger.status_code == 200 and "swagger" in swagger.text.lower()
