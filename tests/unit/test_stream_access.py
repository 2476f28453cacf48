"""Opening an event stream: bearer token or one-time ticket; never a JWT in a URL."""

from __future__ import annotations

from datetime import timedelta

import pytest

from adapters.streams.ticket_store import MemoryStreamTickets
from application.auth.stream_access import AuthenticateStream, StreamAuthenticationFailed
from tests.support.fakes import FakeClock

JWT_LIKE = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl"


async def test_a_ticket_is_redeemed_once_for_its_user() -> None:
    tickets = MemoryStreamTickets(FakeClock())
    ticket = await tickets.issue(7)
    assert len(ticket) >= 40
    assert await tickets.redeem(ticket) == 7
    assert await tickets.redeem(ticket) is None
    assert await tickets.redeem("never-issued") is None


async def test_a_ticket_expires_after_thirty_seconds() -> None:
    clock = FakeClock()
    tickets = MemoryStreamTickets(clock)
    early, late = await tickets.issue(1), await tickets.issue(2)
    clock.advance(timedelta(seconds=29))
    assert await tickets.redeem(early) == 1
    clock.advance(timedelta(seconds=2))
    assert await tickets.redeem(late) is None


async def test_only_a_hash_of_each_ticket_is_kept() -> None:
    tickets = MemoryStreamTickets(FakeClock())
    ticket = await tickets.issue(3)
    assert ticket not in repr(tickets._tickets)


@pytest.mark.parametrize(
    ("ticket", "parameters"),
    [(None, {"access_token"}), (None, {"token", "ticket"}), (JWT_LIKE, {"ticket"})],
)
async def test_a_jwt_in_the_url_is_refused_before_anything_else(
    ticket: str | None, parameters: set[str]
) -> None:
    access = AuthenticateStream(None, None, MemoryStreamTickets(FakeClock()))  # type: ignore[arg-type]
    with pytest.raises(StreamAuthenticationFailed, match="Tokens in URLs are refused"):
        await access.execute("Bearer x.y.z", ticket, parameters)


async def test_without_a_header_or_a_ticket_the_stream_is_refused() -> None:
    access = AuthenticateStream(None, None, MemoryStreamTickets(FakeClock()))  # type: ignore[arg-type]
    with pytest.raises(StreamAuthenticationFailed):
        await access.execute(None, None, set())
    with pytest.raises(StreamAuthenticationFailed):
        await access.execute("Basic abc", None, set())
    with pytest.raises(StreamAuthenticationFailed, match="Invalid, used or expired"):
        await access.execute(None, "unknown-ticket", {"ticket"})
