"""Delivery attempts: one row per attempt to send an outbox alert (the alerts page).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from monitor.store.tables import UTCDateTime

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "alert_attempts",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("alert_id", sa.Integer, nullable=False),
        sa.Column("attempted_at", UTCDateTime, nullable=False),
        sa.Column("result", sa.String(20), nullable=False),
        sa.Column("error", sa.Text),
    )
    op.create_index("ix_alert_attempts_alert_id", "alert_attempts", ["alert_id"])


def downgrade() -> None:
    op.drop_index("ix_alert_attempts_alert_id", "alert_attempts")
    op.drop_table("alert_attempts")
