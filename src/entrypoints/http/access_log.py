"""Request ids and the audit log, around the whole app (unmatched routes included)."""

from __future__ import annotations

import logging
import re
import time
import uuid
from typing import Any

from litestar.enums import ScopeType
from litestar.types import ASGIApp, HTTPScope, Message, Receive, Scope, Send

from entrypoints.http.dependencies import USER_ID_STATE_KEY

logger = logging.getLogger("tradebot.access")

REQUEST_ID_HEADER = b"x-request-id"
_VALID_REQUEST_ID = re.compile(rb"^[A-Za-z0-9._:-]{1,128}$")


class AccessLogMiddleware:
    """Adds `X-Request-ID` (kept from the client when well-formed) and logs one line per
    request: user id, method, path, status, latency and client IP. Never bodies, query
    strings or headers, so tokens and passwords cannot reach the log."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, asgi_scope: Scope, receive: Receive, send: Send) -> None:
        if asgi_scope["type"] != ScopeType.HTTP:
            await self._app(asgi_scope, receive, send)
            return
        scope = asgi_scope
        started = time.perf_counter()
        request_id = _request_id(scope)
        state: dict[str, Any] = scope.setdefault("state", {})
        state["request_id"] = request_id.decode()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((REQUEST_ID_HEADER, request_id))
                message["headers"] = headers
            await send(message)

        try:
            await self._app(asgi_scope, receive, send_with_id)
        finally:
            client = scope.get("client")
            duration_ms = round((time.perf_counter() - started) * 1000, 2)
            user_id = state.get(USER_ID_STATE_KEY)
            ip = client[0] if client else None
            logger.info(
                "%s %s %s %.1fms user=%s ip=%s request_id=%s",
                scope["method"],
                scope["path"],
                status,
                duration_ms,
                user_id,
                ip,
                request_id.decode(),
                extra={
                    "request_id": request_id.decode(),
                    "user_id": user_id,
                    "method": scope["method"],
                    "path": scope["path"],
                    "status": status,
                    "duration_ms": duration_ms,
                    "client_ip": ip,
                },
            )


def _request_id(scope: HTTPScope) -> bytes:
    for name, value in scope.get("headers", []):
        if name == REQUEST_ID_HEADER and _VALID_REQUEST_ID.match(value):
            return bytes(value)
    return uuid.uuid4().hex.encode()
