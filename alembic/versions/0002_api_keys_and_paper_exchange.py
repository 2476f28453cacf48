"""api keys and the paper exchange's books

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from adapters.persistence.types import Money, UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _user_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["user_id"], ["users.id"], name=f"fk_{table}_user_id_users", ondelete="CASCADE"
    )


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(100), nullable=False),
        sa.Column("api_key_masked", sa.String(16), nullable=False),
        sa.Column("encrypted_api_key", sa.Text(), nullable=False),
        sa.Column("encrypted_secret", sa.Text(), nullable=False),
        sa.Column("is_valid", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_api_keys"),
        _user_fk("api_keys"),
        sa.UniqueConstraint("user_id", name="uq_api_keys_user_id"),
    )
    op.create_table(
        "paper_balances",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("wallet", sa.String(16), nullable=False),
        sa.Column("asset", sa.String(32), nullable=False),
        sa.Column("amount", Money(), nullable=False),
        sa.PrimaryKeyConstraint("user_id", "wallet", "asset", name="pk_paper_balances"),
        _user_fk("paper_balances"),
    )
    op.create_table(
        "paper_orders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("market_type", sa.String(16), nullable=False),
        sa.Column("client_order_id", sa.String(36), nullable=False),
        sa.Column("symbol", sa.String(32), nullable=False),
        sa.Column("side", sa.String(8), nullable=False),
        sa.Column("type", sa.String(8), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("amount", Money(), nullable=False),
        sa.Column("filled", Money(), nullable=False),
        sa.Column("price", Money(), nullable=True),
        sa.Column("average_price", Money(), nullable=True),
        sa.Column("fee", Money(), nullable=False),
        sa.Column("fee_asset", sa.String(32), nullable=False),
        sa.Column("reduce_only", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_paper_orders"),
        _user_fk("paper_orders"),
        sa.UniqueConstraint(
            "user_id", "market_type", "client_order_id", name="uq_paper_orders_client_id"
        ),
    )
    op.create_index("ix_paper_orders_open", "paper_orders", ["user_id", "status"])
    op.create_table(
        "paper_positions",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("symbol", sa.String(32), nullable=False),
        sa.Column("side", sa.String(8), nullable=False),
        sa.Column("amount", Money(), nullable=False),
        sa.Column("entry_price", Money(), nullable=False),
        sa.Column("margin", Money(), nullable=False),
        sa.Column("leverage", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("user_id", "symbol", name="pk_paper_positions"),
        _user_fk("paper_positions"),
    )
    op.create_table(
        "paper_leverage",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("symbol", sa.String(32), nullable=False),
        sa.Column("leverage", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("user_id", "symbol", name="pk_paper_leverage"),
        _user_fk("paper_leverage"),
    )


def downgrade() -> None:
    op.drop_table("paper_leverage")
    op.drop_table("paper_positions")
    op.drop_index("ix_paper_orders_open", table_name="paper_orders")
    op.drop_table("paper_orders")
    op.drop_table("paper_balances")
    op.drop_table("api_keys")
