"""live execution on the exchange's truth: indicator state, the filled position,
reconciliation time, once-per-start transfer, exit retries; when an intent was sent and
how much of it filled; the key a manual order was sent with

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from adapters.persistence.types import Money, UTCDateTime

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("bot_states") as batch:
        batch.add_column(sa.Column("signals", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("filled_position", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("reconciled_at", UTCDateTime(), nullable=True))
        batch.add_column(
            sa.Column("funds_transferred", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(sa.Column("exit_retry_reason", sa.String(32), nullable=True))
        batch.add_column(
            sa.Column("exit_attempts", sa.Integer(), nullable=False, server_default="0")
        )
    with op.batch_alter_table("order_intents") as batch:
        batch.add_column(sa.Column("sent_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("filled_amount", Money(), nullable=True))
    with op.batch_alter_table("manual_orders") as batch:
        batch.add_column(sa.Column("api_key_id", sa.Integer(), nullable=True))
    op.create_index("ix_manual_orders_status", "manual_orders", ["status"])


def downgrade() -> None:
    op.drop_index("ix_manual_orders_status", table_name="manual_orders")
    with op.batch_alter_table("manual_orders") as batch:
        batch.drop_column("api_key_id")
    with op.batch_alter_table("order_intents") as batch:
        batch.drop_column("filled_amount")
        batch.drop_column("sent_at")
    with op.batch_alter_table("bot_states") as batch:
        batch.drop_column("exit_attempts")
        batch.drop_column("exit_retry_reason")
        batch.drop_column("funds_transferred")
        batch.drop_column("reconciled_at")
        batch.drop_column("filled_position")
        batch.drop_column("signals")
