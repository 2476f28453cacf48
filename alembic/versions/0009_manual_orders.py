"""manual orders: recorded before sending, one per (user, idempotency key); manual fills
are trades of no bot

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from adapters.persistence.types import Money, UTCDateTime

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "manual_orders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("idempotency_key", sa.String(128), nullable=True),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("client_order_id", sa.String(36), nullable=False),
        sa.Column("symbol", sa.String(32), nullable=False),
        sa.Column("market_type", sa.String(16), nullable=False),
        sa.Column("side", sa.String(8), nullable=False),
        sa.Column("type", sa.String(8), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("lease_until", UTCDateTime(), nullable=True),
        sa.Column("exchange_order_id", sa.String(64), nullable=True),
        sa.Column("amount", Money(), nullable=True),
        sa.Column("filled", Money(), nullable=True),
        sa.Column("price", Money(), nullable=True),
        sa.Column("average_price", Money(), nullable=True),
        sa.Column("fee", Money(), nullable=True),
        sa.Column("fee_asset", sa.String(32), nullable=True),
        sa.Column("requested_at", UTCDateTime(), nullable=False),
        sa.Column("placed_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_manual_orders"),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="fk_manual_orders_user_id_users", ondelete="CASCADE"
        ),
        sa.UniqueConstraint("user_id", "idempotency_key", name="uq_manual_orders_idempotency_key"),
    )
    with op.batch_alter_table("trades") as table:
        table.alter_column("bot_config_id", existing_type=sa.Integer(), nullable=True)


def downgrade() -> None:
    # Before 0009 every trade belongs to a bot: manual fills have nowhere to go.
    op.execute(sa.text("DELETE FROM trades WHERE bot_config_id IS NULL"))
    with op.batch_alter_table("trades") as table:
        table.alter_column("bot_config_id", existing_type=sa.Integer(), nullable=False)
    op.drop_table("manual_orders")
