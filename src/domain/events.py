"""What the product tells a user as it happens: typed events, one stream per user."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class DomainEvent:
    """An event for one user. `type` names it on the wire; `data` is JSON-ready."""

    user_id: int
    type: str
    data: dict[str, Any] = field(default_factory=dict)


def bot_state_changed(user_id: int, bot_config_id: int, status: str, **extra: Any) -> DomainEvent:
    return DomainEvent(
        user_id, "bot_state_changed", {"bot_config_id": bot_config_id, "status": status, **extra}
    )


def trade_filled(user_id: int, bot_config_id: int | None, trade: dict[str, Any]) -> DomainEvent:
    """A fill of a bot, or of a manual order (`bot_config_id` None)."""
    return DomainEvent(user_id, "trade_filled", {"bot_config_id": bot_config_id, **trade})


def bot_error(user_id: int, bot_config_id: int, message: str) -> DomainEvent:
    return DomainEvent(user_id, "bot_error", {"bot_config_id": bot_config_id, "message": message})


def backtest_progress(user_id: int, stage: str, fraction: float) -> DomainEvent:
    return DomainEvent(user_id, "backtest_progress", {"stage": stage, "fraction": fraction})


def backtest_completed(user_id: int, backtest_id: int) -> DomainEvent:
    return DomainEvent(user_id, "backtest_completed", {"backtest_id": backtest_id})


def optimization_progress(user_id: int, job_id: int, done: int, total: int) -> DomainEvent:
    """An optimisation job has backtested `done` of its `total` parameter sets."""
    return DomainEvent(
        user_id, "optimization_progress", {"job_id": job_id, "done": done, "total": total}
    )


def optimization_completed(user_id: int, job_id: int, status: str) -> DomainEvent:
    """An optimisation job has ended: `completed` or `failed`."""
    return DomainEvent(user_id, "optimization_completed", {"job_id": job_id, "status": status})


@dataclass(frozen=True, slots=True)
class DeliveredEvent:
    """An event as a subscriber sees it: with the user's monotonically increasing id."""

    id: int
    type: str
    data: dict[str, Any]
    at: datetime
