"""Matches: which rule matched which document version, with the evidence.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from monitor.store.tables import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "matches",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("rule_id", sa.String(100), nullable=False, index=True),
        sa.Column(
            "document_id",
            sa.String(64),
            sa.ForeignKey("documents.id"),
            nullable=False,
            index=True,
        ),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("field", sa.String(20), nullable=False),
        sa.Column("terms", sa.JSON, nullable=False),
        sa.Column("snippet", sa.Text, nullable=False),
        sa.Column("highlights", sa.JSON, nullable=False),
        sa.Column("positions", sa.JSON, nullable=False),
        sa.Column("rule_name", sa.Text, nullable=False),
        sa.Column("matched_at", UTCDateTime, nullable=False, index=True),
        sa.UniqueConstraint(
            "rule_id", "document_id", "version", name="uq_matches_rule_document_version"
        ),
    )


def downgrade() -> None:
    op.drop_table("matches")
