"""One poll of one source: fetch → parse → follow links → normalise → store.

`run_source` never raises: whatever happens becomes a PollResult (status, error, changes),
and the source's state in the store says the same.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Executor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import urldefrag

from monitor.alerts.routing import alert_maker
from monitor.errors import FetchError, MonitorError, ParseError, TransientFetchError
from monitor.fetch import Fetcher, FetchResult, Permit, Validators
from monitor.models import Document, Match, PollResult, RawItem, StoredChange
from monitor.normalize import normalize
from monitor.normalize.urls import canonical_url, document_id
from monitor.rules import RuleSet
from monitor.snapshots import poll_snapshot
from monitor.sources import SnapshotSource, SourceOptions, build
from monitor.store import Store
from monitor.store.outbox import NewAlert
from monitor.store.polls import PollRecord
from monitor.store.store import AlertMaker, SeenItem
from monitor.store.writer import PollWriter

log = logging.getLogger(__name__)
T = TypeVar("T")
IN_PROCESS = 64  # polls fetching, parsing or awaiting their commit, at most (`run_sources`)


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
    # A new source's first poll stores what its feed already holds without alerting, except
    # items published within its alert_max_age (False: the first poll alerts like any other).
    baseline: bool = True
    # Polls in a row an article page may fail for now (5xx, timeout) before its entry is
    # stored with the feed's text; a later re-check still replaces that with the page's.
    follow_attempts: int = 10
    # Runs the store's reads and writes off the event loop, many polls per transaction
    # (`run_sources` starts one when none is given; without one, the store is called inline).
    writer: PollWriter | None = None
    # Results keep each document's identity, title, URL and dates but drop its text once
    # stored (a cycle's report needs no more): memory stays flat over thousands of sources.
    lean_results: bool = False
    # Polls between the sending of their request and their commit at once (`run_sources`
    # sets it; see fetch.Permit): bodies, entries and documents of at most this many polls
    # are in memory, and fetches do not run ahead of the parsing and storing.
    in_process: asyncio.Semaphore | None = None


async def _db(ctx: PollContext, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """A store call: in the writer's thread when there is one, else here."""
    if ctx.writer is None:
        return fn(*args, **kwargs)
    return await ctx.writer.call(fn, *args, **kwargs)


@dataclass
class _Entry:
    """One feed/listing entry of this poll, with the identity its document gets."""

    key: str
    fingerprint: str
    item: RawItem
    # Canonical URL without fragment: entries on one page share one fetch ("" for a known,
    # unchanged entry not followed: its URL is not canonicalised again).
    page: str
    fragment: str | None
    url_id: str  # the document id the entry's URL gives
    by_guid: bool = False  # shares its URL with another entry: told apart by its guid

    @property
    def seen(self) -> SeenItem:
        return SeenItem(self.fingerprint, self.url_id, self.by_guid)

    def identify(self, raw: RawItem) -> RawItem:
        """`raw` (the entry, or a release of its page) carrying the entry's identity."""
        if self.by_guid and self.item.guid and not raw.anchor:
            return replace(raw, anchor=f"guid:{self.item.guid}")
        return raw


@dataclass
class _Found:
    """A raw release to store, the entry it came from, and whether its text is the feed's."""

    key: str
    raw: RawItem
    partial: bool = False


@dataclass
class _Followed:
    found: list[_Found] = field(default_factory=list)
    seen: dict[str, SeenItem] = field(default_factory=dict)
    validators: dict[str, Validators] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    # An entry could not be followed yet (a transient failure, or beyond max_follow).
    pending: bool = False


def body_hash(content: bytes) -> str:
    return hashlib.blake2b(content, digest_size=16).hexdigest()


def item_key(item: RawItem) -> str:
    """Identity of a feed/listing entry within its source (releases of one page watched as
    a source are told apart by their anchors)."""
    key = item.guid or (f"{item.url}#{item.anchor}" if item.anchor else item.url)
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


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


def _entries(
    items: list[RawItem],
    errors: list[str],
    known: Mapping[str, SeenItem] | None = None,
    follow: bool = False,
) -> list[_Entry]:
    """The entries of a poll; one whose link is not a URL is an item error, not a failure.

    An entry stored before with the same fingerprint and its identity recorded keeps that
    identity as stored: its URL is not canonicalised again (most entries of a changed feed),
    unless its page is to be re-checked (`follow`).
    """
    entries = []
    for item in items:
        key, fingerprint = item_key(item), item_fingerprint(item)
        stored = known.get(key) if known else None
        if (
            stored is not None
            and stored.fingerprint == fingerprint
            and stored.url_id is not None
            and not (follow and not item.standalone)
        ):
            entries.append(_Entry(key, fingerprint, item, "", None, stored.url_id))
            continue
        try:
            canonical, fragment = canonical_url(item.url)
        except ParseError as err:
            errors.append(f"entry '{item.title or item.guid or item.url}': {err}")
            continue
        entries.append(
            _Entry(
                key=key,
                fingerprint=fingerprint,
                item=item,
                page=canonical,
                fragment=fragment,
                url_id=document_id(canonical, item.anchor or fragment),
            )
        )
    return entries


def _assign_identities(
    entries: list[_Entry], known: dict[str, SeenItem], claims: Callable[[list[str]], dict[str, str]]
) -> None:
    """Tell apart entries that share a URL by their guid, for good.

    An entry keeps the identity it was given when first seen. A new entry takes its URL's
    identity unless another entry of the feed (in this poll, or stored: `claims` maps URL
    ids to the key of the entry holding them) already has it; then its guid tells it apart.
    So ordinary entries keep the id of their URL, and the first of two sharing entries
    keeps its id when the second arrives or when either leaves the feed.
    """
    holders: dict[str, str] = {}
    for entry in entries:
        seen = known.get(entry.key)
        if seen is not None:
            entry.by_guid = seen.by_guid
            if not seen.by_guid:
                holders.setdefault(entry.url_id, entry.key)
    new = [e for e in entries if e.key not in known and e.item.guid]
    stored = claims([e.url_id for e in new]) if new else {}
    for entry in new:
        holder = holders.get(entry.url_id) or stored.get(entry.url_id)
        if holder is not None and holder != entry.key:
            entry.by_guid = True
        else:
            holders[entry.url_id] = entry.key


async def _follow(
    options: SourceOptions,
    fresh: list[_Entry],
    recheck: list[_Entry],
    known: dict[str, SeenItem],
    ctx: PollContext,
) -> _Followed:
    """Fetch the article page of each new or changed entry (each page once).

    An entry whose page could not be fetched yet (a transient failure, or beyond
    `max_follow`) is not marked seen and makes the result `pending`; one whose page failed
    for good, or for now in `ctx.follow_attempts` polls in a row, keeps the feed's text,
    marked partial.
    """
    out = _Followed()
    fresh_keys = {e.key for e in fresh}
    pages: dict[str, list[_Entry]] = {}
    for entry in (*fresh, *recheck):
        pages.setdefault(entry.page, []).append(entry)
    groups = list(pages.values())
    if any(e.key in fresh_keys for group in groups[options.max_follow :] for e in group):
        out.pending = True

    def keep_feed_text(group: list[_Entry]) -> None:
        out.found.extend(_Found(e.key, e.identify(e.item), partial=True) for e in group)
        out.seen.update({e.key: e.seen for e in group})

    def retry_later(url: str, err: MonitorError, group: list[_Entry]) -> None:
        waiting = [e for e in group if e.key in fresh_keys]
        before = {e.key: known.get(e.key) for e in waiting}
        failures = 1 + max((s.failures for s in before.values() if s), default=0)
        if waiting and failures >= ctx.follow_attempts:
            out.errors.append(f"{url}: {err} (failed in {failures} polls; kept the feed's text)")
            keep_feed_text(waiting)
            return
        out.errors.append(f"{url}: {err} (will retry next poll)")
        for e in waiting:
            # Counted, with the fingerprint last followed: the entry stays due for a retry.
            last = before[e.key]
            out.seen[e.key] = replace(
                e.seen, fingerprint=last.fingerprint if last else "", failures=failures
            )
        out.pending = out.pending or bool(waiting)

    async def one(group: list[_Entry]) -> None:
        # The address the feed gave is fetched (a site may answer its canonical form
        # differently); entries reaching one page through several addresses share a fetch.
        url = urldefrag(group[0].item.url).url
        # Entries this source followed before are re-fetched conditionally; new ones (and
        # ones only retried so far) in full, so a release first reported by another source
        # is still recognised as a sighting.
        revisit = all(e.key in known and known[e.key].fingerprint for e in group)
        validators = ctx.store.validators(url) if revisit else None
        try:
            fetched = await ctx.fetcher.fetch(url, validators, allow_private=options.allow_private)
            if fetched.not_modified:
                out.seen.update({e.key: e.seen for e in group})
                return
            # Imported here: feed-only configs never pay for bs4/readability (bench/startup.py).
            from monitor.sources.article import extract_releases

            releases = await _in_executor(
                ctx,
                extract_releases,
                fetched.content,
                fetched.url,
                options.article,
                fetched.content_type,
            )
        except TransientFetchError as err:
            retry_later(url, err, group)
            return
        except MonitorError as err:
            out.errors.append(f"{url}: {err} (kept the feed's text)")
            keep_feed_text(group)
            return
        if not releases:
            out.errors.append(f"{url}: no release found on the page (kept the feed's text)")
            keep_feed_text(group)
            return
        out.validators[url] = fetched.validators
        out.seen.update({e.key: e.seen for e in group})
        by_anchor = {r.anchor: r for r in releases if r.anchor}
        for e in group:
            if e.by_guid:
                # It shares the page with another entry, which the page speaks for: this
                # entry's own text is all that tells it apart.
                out.found.append(_Found(e.key, e.identify(e.item)))
            elif e.fragment and e.fragment in by_anchor:
                out.found.append(_Found(e.key, e.identify(merge(e.item, by_anchor[e.fragment]))))
            elif len(releases) == 1:
                out.found.append(_Found(e.key, e.identify(merge(e.item, releases[0]))))
            else:
                out.found.extend(_Found(e.key, e.identify(merge(e.item, r))) for r in releases)

    await asyncio.gather(*(one(group) for group in groups[: options.max_follow]))
    return out


def _normalize_all(
    options: SourceOptions,
    found: Iterable[_Found],
    now: datetime,
    seen: dict[str, SeenItem],
    errors: list[str],
) -> tuple[list[Document], set[str]]:
    """Documents, and the ids of those holding the feed's text; a bad entry is an item error
    and stays unseen, so it is tried again when the feed next changes."""
    docs, partial = [], set()
    for one in found:
        try:
            doc = normalize(
                one.raw,
                source_id=options.id,
                fetched_at=now,
                timezone=options.timezone,
                default_kind=options.kind,
                kinds=options.kinds,
                oldest=options.oldest_datetime,
            )
        except (MonitorError, ValueError, OverflowError) as err:
            errors.append(f"entry '{one.raw.title or one.raw.url}': {err}")
            seen.pop(one.key, None)
            continue
        docs.append(doc)
        if one.partial:
            partial.add(doc.id)
    return docs, partial


async def _poll(options: SourceOptions, ctx: PollContext, result: PollResult) -> None:
    permit = Permit(ctx.in_process) if ctx.in_process is not None else None
    try:
        await _fetch_and_process(options, ctx, result, permit)
    finally:
        if permit is not None:
            permit.give_back()
    if ctx.lean_results:
        for change in result.changes:
            change.document = _brief(change.document)


async def _fetch_and_process(
    options: SourceOptions, ctx: PollContext, result: PollResult, permit: Permit | None
) -> None:
    store, now = ctx.store, ctx.clock()
    last = store.validators(options.url)
    fetched: FetchResult = await ctx.fetcher.fetch(
        options.url,
        last,
        allow_private=options.allow_private,
        configured=True,
        max_bytes=options.max_bytes,
        permit=permit,
    )
    result.http_status = fetched.status
    unchanged = fetched.not_modified
    if not unchanged:
        fetched.validators.body_hash = body_hash(fetched.content)
        # The very bytes of the last poll stored in full (a server without validators, or
        # one that ignores them): nothing to parse, nothing new.
        unchanged = last is not None and last.body_hash == fetched.validators.body_hash
    if unchanged:
        result.status = "not_modified"
        if not ctx.dry_run:
            # Only the source's timestamps move: remembered here, written in batches.
            record = PollRecord(options.id, now, "not_modified", result.elapsed(), fetched.status)
            if ctx.writer is not None:
                ctx.writer.touch(record)
            else:
                store.record_poll(
                    options.id,
                    [],
                    now=now,
                    status="not_modified",
                    duration=record.duration,
                    http_status=fetched.status,
                )
        return
    await _process(options, ctx, result, fetched, now)


# The fields a lean result keeps (a cycle's report: what, where, when; never the text).
_BRIEF = {"id", "source_id", "url", "title", "kind", "published_at", "version"}


def _brief(doc: Document) -> Document:
    """The document without its text, hash or authors: ~0.7 KB instead of ~3 KB a document,
    so that a cycle's results over 20,000 new documents stay small."""
    return Document.model_construct(
        _fields_set=_BRIEF,  # shared, not copied per document
        id=doc.id,
        source_id=doc.source_id,
        url=doc.url,
        title=doc.title,
        kind=doc.kind,
        published_at=doc.published_at,
        content_hash="",
        fetched_at=doc.fetched_at,
        version=doc.version,
        # Every field given: pydantic would otherwise inspect the default factories'
        # signatures on each call (~0.5 ms a document).
        updated_at=None,
        authors=[],
        office=None,
        location=None,
        summary="",
        body="",
        language=None,
    )


async def _process(
    options: SourceOptions,
    ctx: PollContext,
    result: PollResult,
    fetched: FetchResult,
    now: datetime,
) -> None:
    """Parse, follow, normalise, match and store what a poll fetched."""
    store = ctx.store
    source = build(options)
    if isinstance(source, SnapshotSource):
        await poll_snapshot(source, fetched, ctx, result)
        return
    items = await _in_executor(
        ctx, _parse, options, fetched.content, fetched.url, fetched.content_type
    )
    result.items = len(items)
    # Known, unchanged entries are told by their stored fingerprint before any further work.
    known = await _db(ctx, store.seen_items, options.id, [item_key(i) for i in items])
    entries = _entries(items, result.item_errors, known, options.follow_links)
    new_ids = [e.url_id for e in entries if e.key not in known and e.item.guid]
    claimed = await _db(ctx, store.url_claims, options.id, new_ids) if new_ids else {}
    _assign_identities(entries, known, lambda ids: claimed)
    fresh = [e for e in entries if e.key not in known or known[e.key].fingerprint != e.fingerprint]
    validators: dict[str, Validators | None] = {options.url: fetched.validators}
    follow = [e for e in entries if options.follow_links and not e.item.standalone]
    followed_keys = {e.key for e in follow}
    found = [_Found(e.key, e.identify(e.item)) for e in fresh if e.key not in followed_keys]
    seen = {e.key: e.seen for e in fresh if e.key not in followed_keys}
    if follow:
        # The listing changed: re-check (conditionally) the pages of entries already seen too,
        # because sites edit articles without touching the feed entry.
        fresh_keys = {e.key for e in fresh}
        recheck = [e for e in follow if e.key not in fresh_keys]
        followed = await _follow(
            options, [e for e in follow if e.key in fresh_keys], recheck, known, ctx
        )
        found.extend(followed.found)
        seen.update(followed.seen)
        validators.update(followed.validators)
        result.item_errors.extend(followed.errors)
        if followed.pending:
            # Entries not followed yet stay unseen; forgetting the listing's validators makes
            # the next poll (after a restart too) read it in full and retry them.
            validators[options.url] = None
    # Entries stored before identities were recorded: record theirs now.
    for entry in entries:
        stored = known.get(entry.key)
        if stored is not None and stored.url_id is None and entry.key not in seen:
            seen[entry.key] = SeenItem(stored.fingerprint, entry.url_id, stored.by_guid)
    docs, partial = _normalize_all(options, found, now, seen, result.item_errors)
    alerts = alert_maker(ctx.rules) if ctx.rules is not None and ctx.alerts else None
    result.baseline = (
        ctx.baseline
        and not store.has_succeeded(options.id, ask=False)
        and not await _db(ctx, store.has_succeeded, options.id)
    )
    recent = _recent(now, options.alert_max_age_seconds)
    if result.baseline and alerts is not None:
        alerts = _only_recent(alerts, recent)
    poll: dict[str, Any] = {
        "now": now,
        "seen": seen,
        "validators": validators,
        "partial": partial,
        "item_count": len(items),
        "duration": result.elapsed(),
        "http_status": result.http_status,
        "dry_run": ctx.dry_run,
        "match": ctx.rules.match if ctx.rules is not None and len(ctx.rules) else None,
        "alerts": alerts,
    }
    if ctx.writer is None:
        result.changes = store.record_poll(options.id, docs, **poll)
    else:
        result.changes = await ctx.writer.record_poll(options.id, docs, **poll)
    if result.baseline:
        matched = [c.document for c in result.changes if c.matches]
        result.alerted = sum(1 for d in matched if recent(d))
        result.withheld = len(matched) - result.alerted


def _recent(now: datetime, max_age_seconds: int) -> Callable[[Document], bool]:
    cutoff = now - timedelta(seconds=max_age_seconds)
    # A document without a date was already in the feed as far as anyone can tell.
    return lambda doc: doc.published_at is not None and doc.published_at >= cutoff


def _only_recent(alerts: AlertMaker, recent: Callable[[Document], bool]) -> AlertMaker:
    """The alerts of recent documents only (a baseline poll)."""

    def maker(change: StoredChange, match: Match) -> list[NewAlert]:
        return alerts(change, match) if recent(change.document) else []

    return maker


async def run_source(options: SourceOptions, ctx: PollContext) -> PollResult:
    """Poll one source once; every failure is returned in the result, never raised."""
    started = time.perf_counter()
    result = PollResult(source_id=options.id, status="ok")
    try:
        await _poll(options, ctx, result)
    except (MonitorError, FetchError) as err:
        result.status, result.error = "error", str(err) or type(err).__name__
        result.http_status = getattr(err, "http_status", None) or result.http_status
    except Exception as err:  # noqa: BLE001 - a bug in one source must not stop the others
        log.exception(
            "unexpected error polling source %s", options.id, extra={"source": options.id}
        )
        result.status, result.error = "error", f"internal error: {type(err).__name__}: {err}"
    if result.status == "error" and not ctx.dry_run:
        try:
            await _db(
                ctx,
                ctx.store.record_failure,
                options.id,
                result.error or "",
                now=ctx.clock(),
                duration=result.elapsed(),
                http_status=result.http_status,
            )
        except MonitorError as err:
            log.error(
                "could not record failure of source %s: %s",
                options.id,
                err,
                extra={"source": options.id},
            )
    result.duration = time.perf_counter() - started
    return result


async def run_sources(
    sources: Iterable[SourceOptions],
    ctx: PollContext,
    on_result: Callable[[PollResult], None] | None = None,
) -> list[PollResult]:
    """Poll every source concurrently (the fetcher enforces per-host limits); the store's
    work goes to a writer thread (`PollWriter`) unless `ctx` has one already.
    `on_result` sees each poll's result as the poll ends."""
    sources = list(sources)
    ctx.store.load_validators([s.url for s in sources])  # one query, not one per poll
    ctx.store.load_succeeded([s.id for s in sources])
    own = ctx.writer is None
    if own:
        ctx = replace(ctx, writer=PollWriter(ctx.store))
    if ctx.in_process is None:
        ctx = replace(ctx, in_process=asyncio.Semaphore(IN_PROCESS))
    try:

        async def one(source: SourceOptions) -> PollResult:
            result = await run_source(source, ctx)
            if on_result is not None:
                on_result(result)
            return result

        results = list(await asyncio.gather(*(one(s) for s in sources)))
    finally:
        if own and ctx.writer is not None:
            await ctx.writer.aclose()
    ctx.store.flush()
    return results
