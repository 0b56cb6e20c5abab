""" "Try a rule" (`/try`, `GET /api/rules/try`): run a query, or an existing rule with
edits, over the stored documents, or over one pasted text or fetched page. Writes nothing;
shows the YAML to paste into config/rules.yaml.

GET runs the query over stored documents (a plain form: works without JavaScript); POST
(with the CSRF token) tests a pasted text or a URL, fetched through monitor's Fetcher with
its size cap, and no private or loopback addresses (the address is the visitor's, not the
operator's).
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import yaml
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from monitor.errors import MonitorError
from monitor.fetch import Fetcher
from monitor.fetch.addresses import PRIVATE_ADVICE
from monitor.models import Document, Match, RawItem
from monitor.normalize import normalize
from monitor.rules import Rule, RuleSet
from monitor.rules.query import QuerySyntaxError
from monitor.sources.article import extract_releases
from monitor.sources.base import ArticleSelectors
from monitor.sources.rss import RssOptions, RssSource
from monitor.store.browse import DocumentFilter
from monitor.web.documents import compile_query, query_error
from monitor.web.params import day, text
from monitor.web.render import iso, page
from monitor.web.rulefile import current_rules
from monitor.web.search import Found, SearchResult, budget_of, search

SHOWN = 50  # matching documents listed (all are counted)
COMPARED = 50  # newly / no longer matching documents listed
MAX_PASTE = 1_000_000  # characters of pasted text
TRY_PRIVATE_ADVICE = (
    "this page fetches public addresses only: paste the page's text instead (a source in "
    "sources.yaml may reach it with allow_private: true)"
)
EDITED = "\x00edited"  # the edited query's id inside a search: no rule id has a NUL


def _rules(request: Request) -> tuple[list[Rule], str | None]:
    loaded = current_rules(request.app.state.settings.config_dir)
    return list(loaded.rules.rules), loaded.error


def _base_rule(request: Request, rule_id: str | None) -> Rule | None:
    if not rule_id:
        return None
    found = next((r for r in _rules(request)[0] if r.id == rule_id), None)
    if found is None:
        raise HTTPException(404, f"No rule with id '{rule_id}' in rules.yaml")
    return found


def _edited(request: Request, query: str, base: Rule | None) -> Rule:
    """The query as a rule; started from a rule, it keeps that rule's filters."""
    rule = compile_query(request, query, EDITED)
    if base is None:
        return rule
    return replace(base, id=EDITED, query=query, ast=rule.ast)


def yaml_for(query: str, base: Rule | None) -> str:
    """The rules.yaml entry to paste (the rule's own settings kept when started from one)."""
    entry: dict[str, Any] = {
        "id": base.id if base else "my-rule",
        "name": base.name if base else "My rule",
        "query": " ".join(query.split()),
    }
    if base is not None:
        for key, value in (
            ("sources", list(base.sources)),
            ("kinds", list(base.kinds)),
            ("notify", list(base.notify)),
            ("exclude", sorted(base.exclude)),
        ):
            if value:
                entry[key] = value
        if base.on_update != "new-match":
            entry["on_update"] = base.on_update
    else:
        entry["notify"] = ["CHANNEL"]
    return str(yaml.safe_dump([entry], sort_keys=False, allow_unicode=True, width=88))


def _found_json(found: Found) -> dict[str, Any]:
    return {
        "id": found.id,
        "title": found.title,
        "source_id": found.source_id,
        "kind": found.kind,
        "date": iso(found.dated),
    }


def _match_json(document: Document, match: Match) -> dict[str, Any]:
    return {
        "id": document.id,
        "title": document.title,
        "source_id": document.source_id,
        "kind": document.kind,
        "url": document.url,
        "published_at": iso(document.published_at),
        "field": match.field,
        "terms": match.terms,
        "snippet": match.snippet,
        "highlights": [list(h) for h in match.highlights],
    }


def _run(request: Request) -> dict[str, Any]:
    """Run the form's query over the stored documents (QuerySyntaxError for a typo)."""
    zone = request.app.state.settings.timezone
    base = _base_rule(request, text(request, "rule"))
    query = text(request, "q") or (base.query if base else None)
    context: dict[str, Any] = {"base": base, "query": query, "result": None}
    if query is None:
        return context
    edited = _edited(request, query, base)
    compare = base is not None and " ".join(query.split()) != " ".join(base.query.split())
    filters = DocumentFilter(
        source=text(request, "source"),
        kind=text(request, "kind"),
        since=day(request, "since", zone),
        until=day(request, "until", zone, end=True),
    )
    rules = [edited, base] if compare and base is not None else [edited]
    result = search(
        request.app.state.store,
        rules,
        filters,
        limit=SHOWN,
        budget=budget_of(request.app.state),
    )
    context.update(result=result, yaml=yaml_for(query, base), filters=filters)
    if compare and base is not None:
        before = {f.id for f in result.found(base.id)}
        after = {f.id for f in result.found(EDITED)}
        context["newly"] = [f for f in result.found(EDITED) if f.id not in before]
        context["stopped"] = [f for f in result.found(base.id) if f.id not in after]
    return context


def _page_context(request: Request) -> dict[str, Any]:
    rules, rules_error = _rules(request)
    return {
        "section": "try",
        "rules": rules,
        "rules_error": rules_error,
        "form": {
            k: request.query_params.get(k, "")
            for k in ("q", "rule", "source", "kind", "since", "until", "url")
        },
        "error": None,
        "base": None,
        "query": None,
        "result": None,
        "newly": None,
        "stopped": None,
        "yaml": None,
        "tested": None,
        "pasted": "",
        "fetch_error": None,
        "filters": None,
        "shown": SHOWN,
        "compared": COMPARED,
        "edited_id": EDITED,
    }


async def try_page(request: Request) -> Response:
    """GET: search the stored documents; POST: test a pasted text or a URL."""
    context = _page_context(request)
    if request.method == "POST":
        return await _try_one(request, context)
    try:
        context.update(await run_in_threadpool(_run, request))
    except QuerySyntaxError as err:
        context.update(error=str(err))
        return page(request, "try.html", context, status_code=400)
    return page(request, "try.html", context)


def api_try(request: Request) -> JSONResponse:
    try:
        found = _run(request)
    except QuerySyntaxError as err:
        return JSONResponse(query_error(err), status_code=400)
    result: SearchResult | None = found["result"]
    if result is None:
        return JSONResponse({"error": "give a query: ?q=… (or ?rule=ID)"}, status_code=400)
    out: dict[str, Any] = {
        "query": found["query"],
        "rule": found["base"].id if found["base"] else None,
        "matches": [_match_json(h.document, h.match) for h in result.hits],
        "total": len(result.found(EDITED)),
        "searched": result.searched,
        "stored": result.total,
        "complete": result.complete,
        "seconds": round(result.elapsed, 3),
        "by_source": dict(result.by_source(EDITED)),
        "by_kind": dict(result.by_kind(EDITED)),
        "by_week": dict(result.by_week(EDITED)),
        "yaml": found["yaml"],
    }
    if "newly" in found:
        out["newly_matched"] = [_found_json(f) for f in found["newly"]]
        out["no_longer_matched"] = [_found_json(f) for f in found["stopped"]]
    return JSONResponse(out)


# -- one text or page -------------------------------------------------------------------


def _pasted(body: str) -> Document:
    title, _, rest = body.strip().partition("\n")
    now = datetime.now(UTC)
    return Document(
        id="pasted",
        source_id="pasted",
        url="",
        title=title.strip()[:500],
        body=rest.strip() or title.strip(),
        content_hash=hashlib.sha256(body.encode()).hexdigest(),
        fetched_at=now,
    )


def documents_of_page(content: bytes, content_type: str | None, url: str) -> list[Document]:
    """A fetched page as Documents: a feed's entries, or the page's release(s)."""
    kind = (content_type or "").lower()
    head = content[:512].lstrip().lower()
    raws: list[RawItem]
    if "xml" in kind or "rss" in kind or "atom" in kind or head.startswith((b"<?xml", b"<rss")):
        raws = RssSource(RssOptions(id="url", type="rss", url=url)).parse(content, url, None)
    elif "text/plain" in kind:
        return [_pasted(content.decode("utf-8", errors="replace"))]
    else:
        raws = extract_releases(content, url, ArticleSelectors())
    now = datetime.now(UTC)
    return [normalize(raw, source_id="url", fetched_at=now) for raw in raws]


def _match_each(ruleset: RuleSet, docs: list[Document]) -> list[tuple[Document, Match | None]]:
    results: list[tuple[Document, Match | None]] = []
    for doc in docs:
        found = ruleset.match(doc)
        results.append((doc, found[0] if found else None))
    return results


async def _fetch(request: Request, url: str) -> list[Document]:
    settings = request.app.state.settings
    transport = getattr(request.app.state, "fetch_transport", None)
    async with Fetcher(settings, transport=transport) as fetcher:
        fetched = await fetcher.fetch(url, allow_private=False)
    return await run_in_threadpool(
        documents_of_page, fetched.content, fetched.content_type, fetched.url
    )


async def _try_one(request: Request, context: dict[str, Any]) -> Response:
    form = await request.form()
    query = str(form.get("q") or "").strip()
    rule_id = str(form.get("rule") or "").strip() or None
    pasted = str(form.get("text") or "")
    url = str(form.get("url") or "").strip()
    context["form"].update(q=query, rule=rule_id or "", url=url)
    context["pasted"] = pasted
    try:
        base = _base_rule(request, rule_id)
        query = query or (base.query if base else "")
        edited = _edited(request, query, base)
    except QuerySyntaxError as err:
        context.update(error=str(err))
        return page(request, "try.html", context, status_code=400)
    context.update(base=base, query=query, yaml=yaml_for(query, base))
    if len(pasted) > MAX_PASTE:
        raise HTTPException(413, f"The pasted text is too long (at most {MAX_PASTE:,} characters)")
    try:
        if url:
            docs = await _fetch(request, url)
            where = url
        elif pasted.strip():
            docs, where = [_pasted(pasted)], "the pasted text"
        else:
            raise MonitorError("paste a text or give a web address to test the query on")
    except MonitorError as err:
        # A page given here has no source to set allow_private on: say what to do instead.
        message = str(err).splitlines()[0].replace(PRIVATE_ADVICE, TRY_PRIVATE_ADVICE)
        context.update(fetch_error=message)
        return page(request, "try.html", context, status_code=400)
    # The query alone: a pasted text or a page has no source or kind for filters to see.
    ruleset = RuleSet([replace(edited, sources=(), kinds=())])
    # Off the event loop: a long pasted text must not hold up the service's polling.
    results = await run_in_threadpool(_match_each, ruleset, docs)
    context["tested"] = {"where": where, "results": results}
    return page(request, "try.html", context)
