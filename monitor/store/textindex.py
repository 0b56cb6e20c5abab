"""A full-text index of stored documents' words: the pre-filter of a backtest.

`monitor rules test RULE` over 100,000 stored documents reads only those that hold the words
the rule needs (`rules.prefilter.required`); the matcher decides on those. The index holds
each document's latest version, as the matcher's tokens (`tokens.words`: folded, accents and
punctuation gone), field by field, so that the index and the matcher see the same words:

- SQLite: an FTS5 table (`document_text_fts`, no positions) over `document_text`, kept in
  step by triggers. Its `ascii` tokenizer splits at ASCII punctuation and spaces only (every
  other character belongs to a word) and folds only ASCII case, so the words stored, space
  separated, are exactly the matcher's: no tokenizer of its own splits or folds them.
- PostgreSQL: a tsvector per document (`array_to_tsvector` of the words, no parser; title,
  body and author weighted A, B, C) with a GIN index.

`index_documents` is called in the transaction that writes the documents.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, String, TextualSelect, select, text

from monitor.models import Document
from monitor.rules.prefilter import AllOf, Condition, Term
from monitor.rules.tokens import words

FIELDS = ("title", "body", "author")
_WEIGHTS = {"title": "A", "body": "B", "author": "C"}
# PostgreSQL refuses a lexeme over 2,047 bytes and a tsvector over 1 MB: longer words are
# cut to their first _MAX_WORD characters (which still start as they did; a query for a
# longer word reads every document), and a document past the limit is indexed as `_ALL`,
# which every query also asks for.
_MAX_WORD = 500  # characters: at most 2,000 bytes of UTF-8
_MAX_TSVECTOR_BYTES = 900_000
_ALL = "*"  # never a word: words are letters and digits


def field_words(document: Document) -> dict[str, list[str]]:
    """The words of a document's fields, as the matcher reads them."""
    return {
        "title": words(document.title),
        "body": words(document.body),
        "author": words(" ; ".join(document.authors)),
    }


def index_documents(conn: Connection, documents: Sequence[Document]) -> None:
    """Index (or re-index) these documents' text, in the caller's transaction."""
    if not documents:
        return
    dialect = conn.dialect.name
    if dialect == "sqlite":
        rows: list[dict[str, Any]] = [
            {
                "document_id": d.id,
                **{f: " ".join(ws) for f, ws in field_words(d).items()},
            }
            for d in documents
        ]
        conn.execute(
            text(
                "INSERT INTO document_text (document_id, title, body, author) "
                "VALUES (:document_id, :title, :body, :author) "
                "ON CONFLICT (document_id) DO UPDATE SET "
                "title = excluded.title, body = excluded.body, author = excluded.author"
            ),
            rows,
        )
    elif dialect == "postgresql":
        conn.execute(
            text(
                "INSERT INTO document_text (document_id, words) VALUES (:document_id, "
                "setweight(array_to_tsvector(CAST(:title AS text[])), 'A') || "
                "setweight(array_to_tsvector(CAST(:body AS text[])), 'B') || "
                "setweight(array_to_tsvector(CAST(:author AS text[])), 'C')) "
                "ON CONFLICT (document_id) DO UPDATE SET words = excluded.words"
            ),
            [{"document_id": d.id, **_lexemes(d)} for d in documents],
        )


def _lexemes(document: Document) -> dict[str, list[str]]:
    fields = {f: sorted({w[:_MAX_WORD] for w in ws}) for f, ws in field_words(document).items()}
    size = sum(len(w.encode()) + 8 for ws in fields.values() for w in ws)
    if size > _MAX_TSVECTOR_BYTES:
        return {f: [_ALL] for f in FIELDS}
    return fields


def candidate_ids(conn: Connection, condition: Condition | None) -> list[str] | None:
    """Ids of the documents that may satisfy `condition`, sorted; None: read them all
    (no condition, or no index on this database)."""
    if condition is None:
        return None
    query = candidates(conn.dialect.name, condition)
    if query is None:
        return None
    found = query.subquery()
    return list(conn.execute(select(found.c.document_id).order_by(found.c.document_id)).scalars())


def candidates(dialect: str, condition: Condition) -> TextualSelect | None:
    """The ids (`document_id`) of the documents that may satisfy `condition`, unsorted, as
    a query to use in another (a subquery to join: the web search's); None: read them all
    (no index on this database, or a word too long for it)."""
    if dialect == "sqlite":
        sql = (
            "SELECT t.document_id FROM document_text_fts f "
            "JOIN document_text t ON t.id = f.rowid "
            "WHERE document_text_fts MATCH :index_query"
        )
        query = fts5_query(condition)
    elif dialect == "postgresql":
        if _too_long(condition):
            return None
        sql = "SELECT document_id FROM document_text WHERE words @@ CAST(:index_query AS tsquery)"
        query = f"{tsquery(condition)} | '{_ALL}'"
    else:  # pragma: no cover - the store supports only these two
        return None
    return text(sql).bindparams(index_query=query).columns(document_id=String)


def fts5_query(condition: Condition) -> str:
    """The condition in SQLite FTS5's query syntax."""
    if isinstance(condition, Term):
        columns = " ".join(condition.fields)
        star = "*" if condition.prefix else ""
        return f'({{{columns}}} : "{condition.text}"{star})'
    joiner = " AND " if isinstance(condition, AllOf) else " OR "
    return "(" + joiner.join(fts5_query(c) for c in condition.children) + ")"


def tsquery(condition: Condition) -> str:
    """The condition as a PostgreSQL tsquery (lexemes quoted: no parser, no stemming)."""
    if isinstance(condition, Term):
        weights = "".join(_WEIGHTS[f] for f in condition.fields)
        return f"'{condition.text}':{'*' if condition.prefix else ''}{weights}"
    joiner = " & " if isinstance(condition, AllOf) else " | "
    return "(" + joiner.join(tsquery(c) for c in condition.children) + ")"


def _too_long(condition: Condition) -> bool:
    if isinstance(condition, Term):
        return len(condition.text) > _MAX_WORD
    return any(_too_long(c) for c in condition.children)


def rebuild(conn: Connection, documents: Iterable[Document], batch: int = 500) -> None:
    """Index every given document (the migration fills the index with this)."""
    chunk: list[Document] = []
    for document in documents:
        chunk.append(document)
        if len(chunk) >= batch:
            index_documents(conn, chunk)
            chunk = []
    index_documents(conn, chunk)
