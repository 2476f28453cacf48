"""order intents: decisions recorded before their orders are sent

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from adapters.persistence.types import Money, UTCDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "order_intents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("bot_config_id", sa.Integer(), nullable=False),
        sa.Column("client_order_id", sa.String(36), nullable=False),
        sa.Column("symbol", sa.String(32), nullable=False),
        sa.Column("market_type", sa.String(16), nullable=False),
        sa.Column("side", sa.String(8), nullable=False),
        sa.Column("amount", Money(), nullable=False),
        sa.Column("reduce_only", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("candle_open_ms", sa.BigInteger(), nullable=False),
        sa.Column("pnl", Money(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("exchange_order_id", sa.String(64), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_order_intents"),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="fk_order_intents_user_id_users", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["bot_config_id"],
            ["bot_configs.id"],
            name="fk_order_intents_bot_config_id_bot_configs",
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint("client_order_id", name="uq_order_intents_client_order_id"),
    )
    op.create_index("ix_order_intents_status", "order_intents", ["status", "bot_config_id"])


def downgrade() -> None:
    op.drop_index("ix_order_intents_status", table_name="order_intents")
    op.drop_table("order_intents")
