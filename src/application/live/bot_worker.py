"""The bot worker: lease the bots that are due, evaluate each, give them back with
their next due time. Any number of workers may share one database."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from application.live.evaluate_bot import EvaluateBot, Evaluation
from application.orders.follow_manual_orders import FollowManualOrders
from domain.ports.bot_leases import BotLeases, BotRef
from domain.ports.clock import Clock

log = logging.getLogger(__name__)

# After an unexpected failure a bot is tried again this much later (market time).
RETRY_MS = 30_000
# How often the worker follows manual orders still resting (or left pending by a crash).
FOLLOW_ORDERS_EVERY = timedelta(seconds=10)


@dataclass(frozen=True, slots=True)
class WorkerSettings:
    owner: str
    lease_seconds: float = 30.0
    poll_seconds: float = 1.0
    concurrency: int = 8


class BotWorker:
    def __init__(
        self,
        leases: BotLeases,
        evaluate_bot: Callable[[], EvaluateBot],
        market_clock: Clock,
        wall_clock: Clock,
        settings: WorkerSettings,
        before_tick: Callable[[], Awaitable[None]] | None = None,
        follow_orders: Callable[[], FollowManualOrders] | None = None,
    ) -> None:
        self._leases = leases
        self._evaluate_bot = evaluate_bot
        self._market = market_clock
        self._wall = wall_clock
        self._settings = settings
        self._before_tick = before_tick
        self._follow_orders = follow_orders
        self._followed_at: datetime | None = None
        self._reconciled: set[BotRef] = set()
        self._held: set[BotRef] = set()
        self._stop = asyncio.Event()

    @property
    def owner(self) -> str:
        return self._settings.owner

    async def run(self, stop: asyncio.Event) -> None:
        """Tick until `stop` is set, then give every lease back."""
        log.info("bot worker %s started", self.owner)
        self._stop = stop
        renewer = asyncio.create_task(self._renew_forever())
        try:
            while not stop.is_set():
                try:
                    await self.tick()
                except Exception:
                    log.exception("bot worker tick failed; trying again")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self._settings.poll_seconds)
        finally:
            renewer.cancel()
            await self._leases.release_all(self.owner)
            log.info("bot worker %s stopped", self.owner)

    async def tick(self) -> int:
        """Evaluate every bot due now; returns how many were evaluated."""
        if self._before_tick is not None:
            await self._before_tick()
        await self._follow_manual_orders()
        evaluated = 0
        while not self._stop.is_set():
            now_ms = int(self._market.now().timestamp() * 1000)
            batch = await self._leases.claim_due(
                self.owner,
                now_ms,
                self._wall.now(),
                self._settings.lease_seconds,
                self._settings.concurrency,
            )
            if not batch:
                break
            self._held.update(batch)
            await asyncio.gather(*(self._evaluate(bot) for bot in batch))
            evaluated += len(batch)
        return evaluated

    async def _follow_manual_orders(self) -> None:
        now = self._wall.now()
        if self._follow_orders is None or (
            self._followed_at is not None and now - self._followed_at < FOLLOW_ORDERS_EVERY
        ):
            return
        self._followed_at = now
        try:
            await self._follow_orders().execute()
        except Exception:
            log.exception("following manual orders failed; trying again")

    async def _evaluate(self, bot: BotRef) -> None:
        next_due: int | None
        try:
            evaluation = await self._evaluate_bot().execute(
                bot.user_id, bot.bot_config_id, reconcile=bot not in self._reconciled
            )
            if evaluation is not None and evaluation.reconciled:
                self._reconciled.add(bot)
            next_due = evaluation.next_due_ms if evaluation is not None else None
            if evaluation is not None:
                _log_evaluation(self.owner, bot, evaluation)
        except Exception:
            log.exception("bot %s: evaluation failed", bot.bot_config_id)
            next_due = int(self._market.now().timestamp() * 1000) + RETRY_MS
        finally:
            self._held.discard(bot)
        await self._leases.release(self.owner, bot, next_due)

    async def _renew_forever(self) -> None:
        """Evaluations that outlast a third of the lease keep their bots."""
        while True:
            await asyncio.sleep(self._settings.lease_seconds / 3)
            try:
                await self._leases.renew(
                    self.owner, list(self._held), self._wall.now(), self._settings.lease_seconds
                )
            except Exception:
                log.exception("renewing leases failed")


def _log_evaluation(owner: str, bot: BotRef, evaluation: Evaluation) -> None:
    if evaluation.through_ms is not None and evaluation.through_ms != evaluation.after_ms:
        fields = {
            "bot": bot.bot_config_id,
            "after_ms": evaluation.after_ms,
            "through_ms": evaluation.through_ms,
            "decisions": evaluation.decisions,
            "filled": evaluation.orders_filled,
            "status": evaluation.status.value,
            "worker": owner,
        }
        log.info(
            "evaluated bot=%(bot)s candles=(%(after_ms)s,%(through_ms)s] decisions=%(decisions)s"
            " filled=%(filled)s status=%(status)s worker=%(worker)s",
            fields,
            extra={"evaluation": fields},
        )
