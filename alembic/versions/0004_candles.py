"""candles and the ranges of them that were downloaded or imported

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def _key_columns() -> list[sa.Column[str]]:
    return [
        sa.Column("exchange", sa.String(32), nullable=False),
        sa.Column("market_type", sa.String(16), nullable=False),
        sa.Column("symbol", sa.String(32), nullable=False),
        sa.Column("interval", sa.String(8), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "candles",
        *_key_columns(),
        sa.Column("open_time_ms", sa.BigInteger(), nullable=False),
        sa.Column("open", sa.Float(), nullable=False),
        sa.Column("high", sa.Float(), nullable=False),
        sa.Column("low", sa.Float(), nullable=False),
        sa.Column("close", sa.Float(), nullable=False),
        sa.Column("volume", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint(
            "exchange", "market_type", "symbol", "interval", "open_time_ms", name="pk_candles"
        ),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "candle_coverage",
        *_key_columns(),
        sa.Column("start_ms", sa.BigInteger(), nullable=False),
        sa.Column("end_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "exchange", "market_type", "symbol", "interval", "start_ms", name="pk_candle_coverage"
        ),
    )


def downgrade() -> None:
    op.drop_table("candle_coverage")
    op.drop_table("candles")
