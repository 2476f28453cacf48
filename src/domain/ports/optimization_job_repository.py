from __future__ import annotations

from typing import Protocol

from domain.backtesting.optimization import OptimizationJob


class OptimizationJobRepository(Protocol):
    """Optimisation jobs, scoped to their owner."""

    async def add(self, job: OptimizationJob, active_limit: int) -> OptimizationJob | None:
        """Persist a new job unless its user already has `active_limit` queued or running
        ones (None then). Two requests of one user racing cannot both take the last slot."""
        ...

    async def get(self, user_id: int, job_id: int) -> OptimizationJob | None: ...

    async def count_active(self, user_id: int) -> int:
        """The user's queued and running jobs."""
        ...

    async def unfinished(self) -> list[OptimizationJob]:
        """Every user's queued and running jobs."""
        ...

    async def update(self, job: OptimizationJob) -> bool:
        """Store the job's progress, status and results; False (nothing stored) when the
        stored job is no longer queued or running: it was failed or deleted meanwhile."""
        ...
