"""the live bot's engine state on bot_states

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("bot_states") as batch:
        batch.add_column(sa.Column("engine", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("series_start_ms", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("last_candle_ms", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("bot_states") as batch:
        batch.drop_column("last_candle_ms")
        batch.drop_column("series_start_ms")
        batch.drop_column("engine")
