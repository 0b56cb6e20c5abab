"""The database schema (SQLAlchemy Core); Alembic migrations in migrations/ create it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend (SQLite keeps no zone of its own)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


metadata = MetaData()

documents = Table(
    "documents",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("source_id", String(100), nullable=False, index=True),
    Column("url", Text, nullable=False),
    Column("title", Text, nullable=False),
    Column("kind", String(200)),
    Column("published_at", UTCDateTime, index=True),
    Column("version", Integer, nullable=False),
    Column("content_hash", String(64), nullable=False),
    Column("first_seen_at", UTCDateTime, nullable=False, index=True),
    Column("last_seen_at", UTCDateTime, nullable=False),
    # The stored text is the feed's, kept because the article page could not be read.
    Column("partial", Boolean, nullable=False, server_default=false()),
)

document_versions = Table(
    "document_versions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("document_id", String(64), ForeignKey("documents.id"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("content_hash", String(64), nullable=False),
    Column("fetched_at", UTCDateTime, nullable=False),
    Column("data", JSON, nullable=False),
    UniqueConstraint("document_id", "version", name="uq_document_versions_document_version"),
)

sightings = Table(
    "sightings",
    metadata,
    Column("document_id", String(64), ForeignKey("documents.id"), primary_key=True),
    Column("source_id", String(100), primary_key=True),
    Column("url", Text, nullable=False),
    Column("first_seen_at", UTCDateTime, nullable=False),
    Column("last_seen_at", UTCDateTime, nullable=False),
)

seen_items = Table(
    "seen_items",
    metadata,
    Column("source_id", String(100), primary_key=True),
    Column("item_key", String(64), primary_key=True),
    Column("fingerprint", String(64), nullable=False),
    Column("seen_at", UTCDateTime, nullable=False),
    # The document id the entry's URL gives, and whether the entry is told apart from
    # others sharing that URL by its guid (NULL: stored before identities were recorded).
    Column("url_id", String(64)),
    Column("by_guid", Boolean, nullable=False, server_default=false()),
    # Polls in a row whose follow-up of the entry's link failed for now (it is retried).
    Column("follow_failures", Integer, nullable=False, server_default="0"),
    # What a list source (a sanctions list) stored of the entry, so that its later change
    # or removal can say what it was (NULL for feed and page entries).
    Column("data", JSON),
    Index("ix_seen_items_source_url_id", "source_id", "url_id"),
)

http_cache = Table(
    "http_cache",
    metadata,
    Column("url_hash", String(64), primary_key=True),
    Column("url", Text, nullable=False),
    Column("etag", Text),
    Column("last_modified", Text),
    Column("updated_at", UTCDateTime, nullable=False),
)

source_state = Table(
    "source_state",
    metadata,
    Column("source_id", String(100), primary_key=True),
    Column("last_polled_at", UTCDateTime),
    Column("last_success_at", UTCDateTime),
    Column("last_status", String(20)),
    Column("consecutive_failures", Integer, nullable=False, default=0),
    Column("last_error", Text),
    Column("last_item_count", Integer),
)

matches = Table(
    "matches",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("rule_id", String(100), nullable=False, index=True),
    Column("document_id", String(64), ForeignKey("documents.id"), nullable=False, index=True),
    Column("version", Integer, nullable=False),
    Column("field", String(20), nullable=False),
    Column("terms", JSON, nullable=False),
    Column("snippet", Text, nullable=False),
    Column("highlights", JSON, nullable=False),
    Column("positions", JSON, nullable=False),
    Column("rule_name", Text, nullable=False),
    Column("matched_at", UTCDateTime, nullable=False, index=True),
    UniqueConstraint("rule_id", "document_id", "version", name="uq_matches_rule_document_version"),
)

outbox = Table(
    "outbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("idempotency_key", String(64), nullable=False),
    Column("channel", String(100), nullable=False),
    Column("rule_id", String(100), nullable=False),
    Column("document_id", String(64), nullable=False),
    Column("version", Integer, nullable=False),
    Column("payload", JSON, nullable=False),
    Column("status", String(20), nullable=False),  # pending | delivered | dead
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", UTCDateTime, nullable=False),
    Column("claimed_until", UTCDateTime),
    Column("claim_token", String(40)),
    Column("last_error", Text),
    Column("created_at", UTCDateTime, nullable=False),
    Column("delivered_at", UTCDateTime),
    Column("requeued_at", UTCDateTime),  # `alerts retry`: the give-up age counts from here
    UniqueConstraint("idempotency_key", name="uq_outbox_idempotency_key"),
)

source_leases = Table(
    "source_leases",
    metadata,
    Column("source_id", String(100), primary_key=True),
    Column("holder", String(100)),
    Column("last_started_at", UTCDateTime),
)

# Staff votes on alerts ("useful" / "not useful"), one row per vote: an alert's verdict is
# its latest row. `link` is the id of the signed link that cast it (NULL from the CLI): a
# link works once, and the unique constraint makes that hold under concurrent clicks.
feedback = Table(
    "feedback",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("alert_key", String(64), nullable=False, index=True),
    Column("rule_id", String(100), nullable=False, index=True),
    Column("document_id", String(64), nullable=False),
    Column("verdict", String(20), nullable=False),  # useful | not_useful
    Column("at", UTCDateTime, nullable=False),
    Column("via", String(20), nullable=False),  # email | webhook | web | cli
    Column("link", String(64)),
    UniqueConstraint("link", name="uq_feedback_link"),
)

# One row per poll (the last POLLS_KEPT per source are kept): the source page's history.
source_polls = Table(
    "source_polls",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("source_id", String(100), nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("duration", Float),  # seconds; NULL when the poller did not say
    Column("status", String(20), nullable=False),  # ok | not_modified | error
    Column("http_status", Integer),
    Column("new", Integer, nullable=False, server_default="0"),
    Column("updated", Integer, nullable=False, server_default="0"),
    Column("unchanged", Integer, nullable=False, server_default="0"),
    Column("item_count", Integer),
    Column("error", Text),
    Index("ix_source_polls_source_id_id", "source_id", "id"),
)

# One row per delivery attempt of an outbox alert (the alerts page shows them); pruned
# with the alert.
alert_attempts = Table(
    "alert_attempts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("alert_id", Integer, nullable=False),
    Column("attempted_at", UTCDateTime, nullable=False),
    Column("result", String(20), nullable=False),  # delivered | failed | dead
    Column("error", Text),
    Index("ix_alert_attempts_alert_id", "alert_id"),
)
