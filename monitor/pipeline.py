"""One poll of one source: fetch → parse → follow links → normalise → store.

`run_source` never raises: whatever happens becomes a PollResult (status, error, changes),
and the source's state in the store says the same.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Executor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from monitor.alerts.routing import alert_maker
from monitor.errors import FetchError, MonitorError, TransientFetchError
from monitor.fetch import Fetcher, FetchResult, Validators
from monitor.models import Document, PollResult, RawItem
from monitor.normalize import normalize
from monitor.normalize.urls import canonical_url
from monitor.rules import RuleSet
from monitor.sources import SourceOptions, build
from monitor.sources.article import extract_releases
from monitor.store import Store

log = logging.getLogger(__name__)


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class PollContext:
    """The outside world a poll uses, injected so tests can replace any of it."""

    fetcher: Fetcher
    store: Store
    clock: Callable[[], datetime] = utcnow
    dry_run: bool = False
    executor: Executor | None = None
    rules: RuleSet | None = None
    alerts: bool = True  # enqueue alerts for the rules' channels


@dataclass
class _Followed:
    raws: list[RawItem] = field(default_factory=list)
    seen: dict[str, str] = field(default_factory=dict)
    validators: dict[str, Validators] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


def item_key(item: RawItem) -> str:
    """Identity of a feed/listing entry within its source."""
    return hashlib.sha256((item.guid or item.url).encode("utf-8")).hexdigest()


def item_fingerprint(item: RawItem) -> str:
    """Changes when anything the entry says changes."""
    parts = (
        item.url,
        item.title,
        str(item.published),
        str(item.updated),
        item.summary_html,
        item.content_html,
    )
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()


def merge(item: RawItem, page: RawItem) -> RawItem:
    """A listing/feed entry completed by its article page (the page wins where it speaks)."""
    published = item.published if isinstance(item.published, datetime) else None
    return replace(
        page,
        title=page.title or item.title,
        summary_html=item.summary_html,
        content_html=page.content_html or item.content_html,
        published=published or page.published or item.published,
        updated=page.updated or item.updated,
        authors=page.authors or item.authors,
        kind=page.kind or item.kind,
        office=page.office or item.office,
        location=page.location or item.location,
        language=page.language or item.language,
        guid=item.guid,
    )


def _parse(
    options: SourceOptions, content: bytes, url: str, content_type: str | None
) -> list[RawItem]:
    return build(options).parse(content, url, content_type)


async def _in_executor(
    ctx: PollContext, fn: Callable[..., list[RawItem]], *args: object
) -> list[RawItem]:
    if ctx.executor is None:
        return fn(*args)
    return await asyncio.get_running_loop().run_in_executor(ctx.executor, fn, *args)


def _page_key(url: str) -> str:
    return canonical_url(url)[0]


async def _follow(
    options: SourceOptions,
    items: list[tuple[str, str, RawItem]],
    known: dict[str, str],
    ctx: PollContext,
) -> _Followed:
    """Fetch the article page of each new or changed entry (each page once)."""
    out = _Followed()
    pages: dict[str, list[tuple[str, str, RawItem]]] = {}
    for key, fingerprint, item in items:
        pages.setdefault(_page_key(item.url), []).append((key, fingerprint, item))

    async def one(page_url: str, group: list[tuple[str, str, RawItem]]) -> None:
        # Entries this source saw before are re-fetched conditionally; new ones in full, so
        # a release first reported by another source is still recognised as a sighting.
        revisit = all(key in known for key, _, _ in group)
        validators = ctx.store.validators(page_url) if revisit else None
        try:
            fetched = await ctx.fetcher.fetch(
                page_url, validators, allow_private=options.allow_private
            )
            if fetched.not_modified:
                out.seen.update({key: fp for key, fp, _ in group})
                return
            releases = await _in_executor(
                ctx,
                extract_releases,
                fetched.content,
                fetched.url,
                options.article,
                fetched.content_type,
            )
        except TransientFetchError as err:
            out.errors.append(f"{page_url}: {err} (will retry next poll)")
            return
        except MonitorError as err:
            out.errors.append(f"{page_url}: {err} (kept the feed's text)")
            out.raws.extend(item for _, _, item in group)
            out.seen.update({key: fp for key, fp, _ in group})
            return
        out.validators[page_url] = fetched.validators
        out.seen.update({key: fp for key, fp, _ in group})
        by_anchor = {r.anchor: r for r in releases if r.anchor}
        for _, _, item in group:
            fragment = canonical_url(item.url)[1]
            if fragment and fragment in by_anchor:
                out.raws.append(merge(item, by_anchor[fragment]))
            elif len(releases) == 1:
                out.raws.append(merge(item, releases[0]))
            else:
                out.raws.extend(merge(item, r) for r in releases)

    groups = list(pages.items())[: options.max_follow]
    await asyncio.gather(*(one(url, group) for url, group in groups))
    return out


def _normalize_all(
    options: SourceOptions, raws: Iterable[RawItem], now: datetime
) -> list[Document]:
    return [
        normalize(
            raw,
            source_id=options.id,
            fetched_at=now,
            timezone=options.timezone,
            default_kind=options.kind,
        )
        for raw in raws
    ]


async def _poll(options: SourceOptions, ctx: PollContext, result: PollResult) -> None:
    store, now = ctx.store, ctx.clock()
    fetched: FetchResult = await ctx.fetcher.fetch(
        options.url,
        store.validators(options.url),
        allow_private=options.allow_private,
        configured=True,
    )
    if fetched.not_modified:
        result.status = "not_modified"
        if not ctx.dry_run:
            store.record_poll(options.id, [], now=now, status="not_modified")
        return
    items = await _in_executor(
        ctx, _parse, options, fetched.content, fetched.url, fetched.content_type
    )
    result.items = len(items)
    keyed = [(item_key(i), item_fingerprint(i), i) for i in items]
    known = store.fingerprints(options.id, (k for k, _, _ in keyed))
    fresh = [(k, fp, i) for k, fp, i in keyed if known.get(k) != fp]
    validators = {options.url: fetched.validators}
    if options.follow_links:
        # The listing changed: re-check (conditionally) the pages of entries already seen too,
        # because sites edit articles without touching the feed entry.
        recheck = [(k, fp, i) for k, fp, i in keyed if known.get(k) == fp]
        followed = await _follow(options, fresh + recheck, known, ctx)
        raws, seen = followed.raws, followed.seen
        validators.update(followed.validators)
        result.item_errors.extend(followed.errors)
    else:
        raws, seen = [i for _, _, i in fresh], {k: fp for k, fp, _ in fresh}
    docs = _normalize_all(options, raws, now)
    result.changes = store.record_poll(
        options.id,
        docs,
        now=now,
        seen=seen,
        validators=validators,
        item_count=len(items),
        dry_run=ctx.dry_run,
        match=ctx.rules.match if ctx.rules is not None and len(ctx.rules) else None,
        alerts=alert_maker(ctx.rules) if ctx.rules is not None and ctx.alerts else None,
    )


async def run_source(options: SourceOptions, ctx: PollContext) -> PollResult:
    """Poll one source once; every failure is returned in the result, never raised."""
    started = time.perf_counter()
    result = PollResult(source_id=options.id, status="ok")
    try:
        await _poll(options, ctx, result)
    except (MonitorError, FetchError) as err:
        result.status, result.error = "error", str(err) or type(err).__name__
    except Exception as err:  # noqa: BLE001 - a bug in one source must not stop the others
        log.exception("unexpected error polling source %s", options.id)
        result.status, result.error = "error", f"internal error: {type(err).__name__}: {err}"
    if result.status == "error" and not ctx.dry_run:
        try:
            ctx.store.record_failure(options.id, result.error or "", now=ctx.clock())
        except MonitorError as err:
            log.error("could not record failure of source %s: %s", options.id, err)
    result.duration = time.perf_counter() - started
    return result


async def run_sources(sources: Iterable[SourceOptions], ctx: PollContext) -> list[PollResult]:
    """Poll every source concurrently (the fetcher enforces per-host limits)."""
    results = list(await asyncio.gather(*(run_source(s, ctx) for s in sources)))
    ctx.store.flush()
    return results
