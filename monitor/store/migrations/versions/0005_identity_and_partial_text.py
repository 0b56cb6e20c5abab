"""Feed entries remember the identity they were given; documents whose text is the feed's.

`seen_items.url_id` / `by_guid`: entries of one feed that share a URL are told apart by
their guid, and keep that identity when the other entry leaves the feed.
`seen_items.follow_failures`: an entry whose article page failed for now is retried on
later polls, and given up on (keeping the feed's text) after several.
`documents.partial`: the stored text is the feed's fallback (the article page could not
be read), so a later fallback never replaces a full text.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("seen_items") as batch:
        batch.add_column(sa.Column("url_id", sa.String(64)))
        batch.add_column(
            sa.Column("by_guid", sa.Boolean, nullable=False, server_default=sa.false())
        )
        batch.add_column(
            sa.Column("follow_failures", sa.Integer, nullable=False, server_default="0")
        )
        batch.create_index("ix_seen_items_source_url_id", ["source_id", "url_id"])
    with op.batch_alter_table("documents") as batch:
        batch.add_column(
            sa.Column("partial", sa.Boolean, nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("documents") as batch:
        batch.drop_column("partial")
    with op.batch_alter_table("seen_items") as batch:
        batch.drop_index("ix_seen_items_source_url_id")
        batch.drop_column("follow_failures")
        batch.drop_column("by_guid")
        batch.drop_column("url_id")
