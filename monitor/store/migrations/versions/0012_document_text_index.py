"""A full-text index of documents' words, the pre-filter of `monitor rules test` (textindex).

SQLite: `document_text` (the matcher's words of each document's latest version) and the
FTS5 table `document_text_fts` over it, kept in step by triggers. PostgreSQL: a tsvector
per document with a GIN index. Existing documents are indexed here.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import sqlalchemy as sa
from alembic import op

from monitor.models import Document
from monitor.store.textindex import rebuild

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

_SQLITE = [
    """CREATE TABLE document_text (
        id INTEGER PRIMARY KEY,
        document_id VARCHAR(64) NOT NULL UNIQUE,
        title TEXT NOT NULL,
        body TEXT NOT NULL,
        author TEXT NOT NULL
    )""",
    # No positions (detail=column): the index answers which words are in which field;
    # phrases and NEAR are the matcher's.
    """CREATE VIRTUAL TABLE document_text_fts USING fts5(
        title, body, author, content='document_text', content_rowid='id',
        tokenize='ascii', detail='column'
    )""",
    """CREATE TRIGGER document_text_insert AFTER INSERT ON document_text BEGIN
        INSERT INTO document_text_fts (rowid, title, body, author)
        VALUES (new.id, new.title, new.body, new.author);
    END""",
    """CREATE TRIGGER document_text_delete AFTER DELETE ON document_text BEGIN
        INSERT INTO document_text_fts (document_text_fts, rowid, title, body, author)
        VALUES ('delete', old.id, old.title, old.body, old.author);
    END""",
    """CREATE TRIGGER document_text_update AFTER UPDATE ON document_text BEGIN
        INSERT INTO document_text_fts (document_text_fts, rowid, title, body, author)
        VALUES ('delete', old.id, old.title, old.body, old.author);
        INSERT INTO document_text_fts (rowid, title, body, author)
        VALUES (new.id, new.title, new.body, new.author);
    END""",
]
_POSTGRESQL = [
    """CREATE TABLE document_text (
        document_id VARCHAR(64) PRIMARY KEY,
        words TSVECTOR NOT NULL
    )""",
    "CREATE INDEX ix_document_text_words ON document_text USING GIN (words)",
]


def upgrade() -> None:
    conn = op.get_bind()
    statements = _SQLITE if conn.dialect.name == "sqlite" else _POSTGRESQL
    for statement in statements:
        op.execute(statement)
    rebuild(conn, _latest_versions(conn))


def _latest_versions(conn: sa.Connection) -> Iterator[Document]:
    """Every document's latest version, read 500 at a time."""
    page = sa.text(
        "SELECT d.id, v.data FROM documents d JOIN document_versions v "
        "ON v.document_id = d.id AND v.version = d.version "
        "WHERE d.id > :last ORDER BY d.id LIMIT 500"
    )
    last = ""
    while rows := conn.execute(page, {"last": last}).all():
        for row in rows:
            data = json.loads(row[1]) if isinstance(row[1], str) else row[1]
            yield Document.model_validate(data)
        last = rows[-1][0]


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TABLE document_text_fts")
    op.execute("DROP TABLE document_text")
