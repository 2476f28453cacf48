"""Read an optimisation job; fail the jobs a previous process left unfinished."""

from __future__ import annotations

from domain.backtesting.optimization import (
    INTERRUPTED,
    OptimizationJob,
    OptimizationJobNotFound,
)
from domain.events import optimization_completed
from domain.ports.clock import Clock
from domain.ports.event_bus import EventBus
from domain.ports.unit_of_work import UnitOfWork


class GetOptimization:
    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    async def execute(self, user_id: int, job_id: int) -> OptimizationJob:
        """The user's job; another user's id is not found, like a missing one."""
        async with self._uow:
            job = await self._uow.optimization_jobs.get(user_id, job_id)
        if job is None:
            raise OptimizationJobNotFound()
        return job


class FailInterruptedOptimizations:
    """On start: jobs run inside the API process that started them, so a job still
    queued or running now lost its process. It fails as "interrupted", never stays stuck."""

    def __init__(self, uow: UnitOfWork, events: EventBus, clock: Clock) -> None:
        self._uow = uow
        self._events = events
        self._clock = clock

    async def execute(self) -> int:
        """How many jobs were failed."""
        now = self._clock.now()
        async with self._uow:
            jobs = await self._uow.optimization_jobs.unfinished()
            failed = []
            for job in jobs:
                job.fail(INTERRUPTED, now)
                if await self._uow.optimization_jobs.update(job):
                    failed.append(job)
            await self._uow.commit()
        for job in failed:
            assert job.id is not None
            await self._events.publish(
                optimization_completed(job.user_id, job.id, job.status.value)
            )
        return len(failed)
