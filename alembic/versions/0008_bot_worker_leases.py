"""bot worker: optimistic version, due time and lease on bot states; paper replay anchor

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from adapters.persistence.types import UTCDateTime

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("bot_states") as table:
        table.add_column(sa.Column("version", sa.Integer(), nullable=False, server_default="0"))
        table.add_column(sa.Column("due_ms", sa.BigInteger(), nullable=True))
        table.add_column(sa.Column("lease_owner", sa.String(64), nullable=True))
        table.add_column(sa.Column("lease_expires_at", UTCDateTime(), nullable=True))
    op.create_index("ix_bot_states_status_due_ms", "bot_states", ["status", "due_ms"])
    op.create_table(
        "paper_replay",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("replay_start_ms", sa.BigInteger(), nullable=False),
        sa.Column("wall_start", UTCDateTime(), nullable=False),
        sa.Column("speed", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_paper_replay"),
    )


def downgrade() -> None:
    op.drop_table("paper_replay")
    op.drop_index("ix_bot_states_status_due_ms", table_name="bot_states")
    with op.batch_alter_table("bot_states") as table:
        table.drop_column("lease_expires_at")
        table.drop_column("lease_owner")
        table.drop_column("due_ms")
        table.drop_column("version")
