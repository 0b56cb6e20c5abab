"""Feedback: staff votes on alerts ("useful" / "not useful"), one row per vote.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from monitor.store.tables import UTCDateTime

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "feedback",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("alert_key", sa.String(64), nullable=False),
        sa.Column("rule_id", sa.String(100), nullable=False),
        sa.Column("document_id", sa.String(64), nullable=False),
        sa.Column("verdict", sa.String(20), nullable=False),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.Column("via", sa.String(20), nullable=False),
        sa.Column("link", sa.String(64)),
        sa.UniqueConstraint("link", name="uq_feedback_link"),
    )
    op.create_index("ix_feedback_alert_key", "feedback", ["alert_key"])
    op.create_index("ix_feedback_rule_id", "feedback", ["rule_id"])


def downgrade() -> None:
    op.drop_index("ix_feedback_rule_id", "feedback")
    op.drop_index("ix_feedback_alert_key", "feedback")
    op.drop_table("feedback")
