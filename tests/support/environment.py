from __future__ import annotations

import os

import pytest


def services_required() -> bool:
    """In CI (and under `make test`) a missing server fails the run instead of skipping."""
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"} or (
        os.environ.get("TRADEBOT_REQUIRE_SERVICES", "") == "1"
    )


def unavailable(reason: str) -> None:
    if services_required():
        pytest.fail(f"{reason}; CI must run this test against the real server", pytrace=False)
    pytest.skip(reason)
