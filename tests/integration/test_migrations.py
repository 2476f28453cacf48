"""Alembic is the only thing that creates the schema: a stairway over every revision."""

from __future__ import annotations

import asyncio
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from adapters.persistence.engine import create_engine
from adapters.persistence.tables import metadata
from entrypoints.migrations import alembic_config, current, downgrade, upgrade


def revisions_oldest_first() -> list[str]:
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    return [rev.revision for rev in reversed(list(script.walk_revisions()))]


async def run_sync(database_url: str, function: Any) -> Any:
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(function)
    finally:
        await engine.dispose()


def table_names(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names()) - {"alembic_version"}


def schema_differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, metadata))


async def test_every_revision_upgrades_downgrades_and_upgrades_again(database_url: str) -> None:
    # Alembic's env.py runs its own event loop, so it runs in a thread here.
    for revision in revisions_oldest_first():
        await asyncio.to_thread(upgrade, database_url, revision)
        await asyncio.to_thread(downgrade, database_url, "-1")
        await asyncio.to_thread(upgrade, database_url, revision)
    assert (await asyncio.to_thread(current, database_url)).endswith("(head)")
    await asyncio.to_thread(downgrade, database_url, "base")
    assert await run_sync(database_url, table_names) == set()
    await asyncio.to_thread(upgrade, database_url)
    assert await run_sync(database_url, table_names) == set(metadata.tables)


async def test_migrated_schema_matches_the_table_definitions(migrated_database_url: str) -> None:
    assert await run_sync(migrated_database_url, schema_differences) == []
