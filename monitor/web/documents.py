"""The documents page (`/documents`: search and filters), one document's page
(`/documents/{id}`: fields, body, sightings, versions and their word diff), and their JSON."""

from __future__ import annotations

from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from monitor.alerts.base import safe_link
from monitor.models import Document
from monitor.rules import Rule, parse_query
from monitor.rules.query import QuerySyntaxError
from monitor.store.browse import DocumentFilter
from monitor.web import diff
from monitor.web.params import PER_PAGE, day, page_number, pager, text
from monitor.web.render import iso, page
from monitor.web.rulefile import current_rules
from monitor.web.search import SearchResult, budget_of, search

# Fields compared between versions besides the title, summary and body (word diffs).
FIELDS = ("url", "kind", "published_at", "updated_at", "authors", "office", "location")


def compile_query(request: Request, query: str, rule_id: str = "query") -> Rule:
    """A query typed on a page as a rule (rules.yaml's term lists are known)."""
    lists = current_rules(request.app.state.settings.config_dir).rules.lists
    return Rule(id=rule_id, name=rule_id, query=query, ast=parse_query(query, lists))


def query_error(err: QuerySyntaxError) -> dict[str, Any]:
    return {"error": str(err), "message": err.message, "column": err.column}


def _filter(request: Request) -> DocumentFilter:
    zone = request.app.state.settings.timezone
    return DocumentFilter(
        source=text(request, "source"),
        kind=text(request, "kind"),
        since=day(request, "since", zone),
        until=day(request, "until", zone, end=True),
    )


def _listing(request: Request) -> dict[str, Any]:
    """What both the page and the JSON show: rows (with a match when searching)."""
    store = request.app.state.store
    chosen = _filter(request)
    number = page_number(request)
    query = text(request, "q")
    offset = (number - 1) * PER_PAGE
    found: SearchResult | None = None
    if query is None:
        rows, total = store.browse.documents(chosen, offset, PER_PAGE)
        items = [{"row": r, "match": None} for r in rows]
    else:
        rule = compile_query(request, query)  # QuerySyntaxError: the caller's to show
        found = search(
            store,
            [rule],
            chosen,
            limit=PER_PAGE,
            offset=offset,
            budget=budget_of(request.app.state),
        )
        total = len(found.found(rule.id))
        items = [{"row": h.document, "match": h.match} for h in found.hits]
    return {
        "items": items,
        "query": query,
        "filter": chosen,
        "pager": pager(request, number, total),
        "search": found,
    }


def documents(request: Request) -> Response:
    store = request.app.state.store
    kinds, sources = store.browse.kinds_and_sources()
    context: dict[str, Any] = {
        "section": "documents",
        "kinds": kinds,
        "sources": sources,
        "form": {k: request.query_params.get(k, "") for k in ("q", "since", "until")},
        "error": None,
    }
    try:
        context.update(_listing(request))
    except QuerySyntaxError as err:
        context.update(error=str(err), items=[], search=None, pager=None, filter=_filter(request))
        return page(request, "documents.html", context, status_code=400)
    return page(request, "documents.html", context)


def _row_json(row: Any) -> dict[str, Any]:
    dated = getattr(row, "published_at", None)
    return {
        "id": row.id,
        "source_id": row.source_id,
        "title": row.title,
        "kind": row.kind,
        "url": row.url,
        "published_at": iso(dated),
        "version": row.version,
    }


def api_documents(request: Request) -> JSONResponse:
    try:
        listing = _listing(request)
    except QuerySyntaxError as err:
        return JSONResponse(query_error(err), status_code=400)
    found: SearchResult | None = listing["search"]
    out: dict[str, Any] = {
        "documents": [
            {
                **_row_json(item["row"]),
                "match": None
                if item["match"] is None
                else {
                    "field": item["match"].field,
                    "terms": item["match"].terms,
                    "snippet": item["match"].snippet,
                    "highlights": [list(h) for h in item["match"].highlights],
                },
            }
            for item in listing["items"]
        ],
        "total": listing["pager"].total,
        "page": listing["pager"].page,
        "per_page": PER_PAGE,
    }
    if found is not None:
        out.update(searched=found.searched, stored=found.total, complete=found.complete)
    return JSONResponse(out)


# -- one document ---------------------------------------------------------------------------


def _version_param(request: Request, name: str, numbers: list[int], default: int) -> int:
    value = request.query_params.get(name, "").strip()
    if not value:
        return default
    if not value.isdigit() or int(value) not in numbers:
        shown = ", ".join(str(n) for n in numbers)
        raise HTTPException(404, f"'{name}': no version '{value[:20]}' (versions kept: {shown})")
    return int(value)


def _field_text(doc: Document, name: str) -> str:
    value = getattr(doc, name)
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return (iso(value) or "") if name.endswith("_at") else str(value)


def _document(request: Request) -> dict[str, Any]:
    doc_id = request.path_params["doc_id"]
    store = request.app.state.store
    row = store.browse.document_row(doc_id)
    versions: list[Document] = store.versions(doc_id) if row is not None else []
    if row is None or not versions:
        raise HTTPException(404, f"No document with id '{doc_id}'")
    numbers = [v.version for v in versions]
    latest = versions[-1]
    b = _version_param(request, "b", numbers, latest.version)
    a = _version_param(request, "a", numbers, numbers[-2] if len(numbers) > 1 else b)
    by_number = {v.version: v for v in versions}
    old, new = by_number[a], by_number[b]
    title = diff.word_diff(old.title, new.title)
    summary = diff.word_diff(old.summary, new.summary)
    body = diff.word_diff(old.body, new.body)
    fields = [
        (name, _field_text(old, name), _field_text(new, name))
        for name in FIELDS
        if _field_text(old, name) != _field_text(new, name)
    ]
    return {
        "row": row,
        "document": latest,
        "versions": versions,
        "a": a,
        "b": b,
        "title_diff": title,
        "summary_diff": summary,
        "body_diff": body,
        "fields_changed": fields,
        "sightings": store.browse.sightings(doc_id),
        "matches": store.matches(document_id=doc_id, limit=20),
    }


def document(request: Request) -> Response:
    found = _document(request)
    only_changes = request.query_params.get("view") == "changes"
    inserted, deleted = diff.counts(found["title_diff"] + found["body_diff"])
    summary = found["summary_diff"]
    context = {
        "section": "documents",
        **found,
        "link": safe_link(found["document"].url),
        "only_changes": only_changes,
        "inserted": inserted,
        "deleted": deleted,
        "title_html": diff.render(found["title_diff"]),
        "body_html": diff.render(found["body_diff"]),
        "hunks": [diff.render(h) for h in diff.hunks(found["body_diff"])],
        "title_changed": diff.changed(found["title_diff"]),
        "summary_html": diff.render(summary) if diff.changed(summary) else None,
    }
    return page(request, "document.html", context)


def _pieces_json(pieces: list[diff.Piece]) -> list[dict[str, str]]:
    return [{"op": p.kind, "text": p.text} for p in diff.runs(pieces)]


def api_document(request: Request) -> JSONResponse:
    found = _document(request)
    doc: Document = found["document"]
    row = found["row"]
    inserted, deleted = diff.counts(found["title_diff"] + found["body_diff"])
    return JSONResponse(
        {
            **doc.model_dump(mode="json"),
            "first_seen_at": iso(row.first_seen_at),
            "last_seen_at": iso(row.last_seen_at),
            "partial": bool(row.partial),
            "versions": [
                {"version": v.version, "fetched_at": iso(v.fetched_at), "hash": v.content_hash}
                for v in found["versions"]
            ],
            "sightings": [
                {
                    "source_id": s.source_id,
                    "url": s.url,
                    "first_seen_at": iso(s.first_seen_at),
                    "last_seen_at": iso(s.last_seen_at),
                }
                for s in found["sightings"]
            ],
            "diff": {
                "a": found["a"],
                "b": found["b"],
                "inserted": inserted,
                "deleted": deleted,
                "title": _pieces_json(found["title_diff"]),
                "summary": _pieces_json(found["summary_diff"]),
                "body": _pieces_json(found["body_diff"]),
                "fields": [
                    {"field": n, "a": old, "b": new} for n, old, new in found["fields_changed"]
                ],
            },
        }
    )
