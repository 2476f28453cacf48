"""Stored optimisation jobs: the request and the ranked results as JSON, converted to and
from domain objects here."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any, cast

from sqlalchemy import CursorResult, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from adapters.persistence.tables import optimization_jobs, users
from adapters.persistence.types import is_storable_id
from domain.backtesting.optimization import (
    ACTIVE_STATUSES,
    OptimizationJob,
    OptimizationMetric,
    OptimizationStatus,
    RankedSet,
    SetScore,
)
from domain.ports.optimization_job_repository import OptimizationJobRepository

_ACTIVE = sorted(status.value for status in ACTIVE_STATUSES)
_jobs = optimization_jobs.c


class SqlOptimizationJobRepository(OptimizationJobRepository):
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, job: OptimizationJob, active_limit: int) -> OptimizationJob | None:
        await self._serialise_users_jobs(job.user_id)
        if await self.count_active(job.user_id) >= active_limit:
            return None
        result = await self._session.execute(
            insert(optimization_jobs).values(**_values(job)).returning(_jobs.id)
        )
        job.id = result.scalar_one()
        return job

    async def _serialise_users_jobs(self, user_id: int) -> None:
        """Until this transaction ends, another one adding a job of this user waits here,
        so that both cannot count the same free slot."""
        if self._session.get_bind().dialect.name == "postgresql":
            await self._session.execute(
                select(users.c.id).where(users.c.id == user_id).with_for_update()
            )
        else:
            # SQLite has one writer at a time: a write (that changes nothing) takes the
            # database's write lock before the count reads.
            await self._session.execute(
                update(optimization_jobs)
                .where(_jobs.user_id == user_id, _jobs.status.in_(_ACTIVE))
                .values(status=_jobs.status)
            )

    async def get(self, user_id: int, job_id: int) -> OptimizationJob | None:
        if not is_storable_id(job_id):
            return None
        row = (
            await self._session.execute(
                select(optimization_jobs).where(_jobs.id == job_id, _jobs.user_id == user_id)
            )
        ).first()
        return _to_job(row) if row else None

    async def count_active(self, user_id: int) -> int:
        total = await self._session.scalar(
            select(func.count())
            .select_from(optimization_jobs)
            .where(_jobs.user_id == user_id, _jobs.status.in_(_ACTIVE))
        )
        return int(total or 0)

    async def unfinished(self) -> list[OptimizationJob]:
        rows = await self._session.execute(
            select(optimization_jobs).where(_jobs.status.in_(_ACTIVE)).order_by(_jobs.id)
        )
        return [_to_job(row) for row in rows]

    async def update(self, job: OptimizationJob) -> bool:
        values = _values(job)
        for fixed in ("user_id", "request", "metric", "top_n", "total_sets", "created_at"):
            values.pop(fixed)
        result = await self._session.execute(
            update(optimization_jobs)
            .where(_jobs.id == job.id, _jobs.status.in_(_ACTIVE))
            .values(**values)
        )
        return cast("CursorResult[Any]", result).rowcount > 0


def _values(job: OptimizationJob) -> dict[str, Any]:
    return {
        "user_id": job.user_id,
        "status": job.status.value,
        "request": job.request,
        "metric": job.metric.value,
        "top_n": job.top_n,
        "total_sets": job.total_sets,
        "done_sets": job.done_sets,
        "results": None if job.results is None else [_ranked_json(r) for r in job.results],
        "error": job.error,
        "created_at": job.created_at,
        "started_at": job.started_at,
        "finished_at": job.finished_at,
    }


def _ranked_json(ranked: RankedSet) -> dict[str, Any]:
    return {
        "rank": ranked.rank,
        "index": ranked.index,
        "parameters": ranked.parameters,
        **asdict(ranked.score),
    }


def _to_job(row: Any) -> OptimizationJob:
    return OptimizationJob(
        id=row.id,
        user_id=row.user_id,
        status=OptimizationStatus(row.status),
        request=dict(row.request),
        metric=OptimizationMetric(row.metric),
        top_n=row.top_n,
        total_sets=row.total_sets,
        done_sets=row.done_sets,
        results=None if row.results is None else [_ranked(r) for r in row.results],
        error=row.error,
        created_at=row.created_at,
        started_at=row.started_at,
        finished_at=row.finished_at,
    )


def _ranked(stored: dict[str, Any]) -> RankedSet:
    return RankedSet(
        rank=int(stored["rank"]),
        index=int(stored["index"]),
        parameters=dict(stored["parameters"]),
        score=SetScore(
            final_capital=float(stored["final_capital"]),
            total_return=float(stored["total_return"]),
            total_trades=int(stored["total_trades"]),
            winning_trades=int(stored["winning_trades"]),
            losing_trades=int(stored["losing_trades"]),
            win_rate=float(stored["win_rate"]),
        ),
    )
