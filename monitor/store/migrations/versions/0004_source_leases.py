"""Source leases: which replica polls a source in a period.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from monitor.store.tables import UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "source_leases",
        sa.Column("source_id", sa.String(100), primary_key=True),
        sa.Column("holder", sa.String(100)),
        sa.Column("last_started_at", UTCDateTime),
    )


def downgrade() -> None:
    op.drop_table("source_leases")
