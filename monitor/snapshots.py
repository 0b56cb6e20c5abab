"""One poll of a list source (a sanctions list): the news is what changed since the last.

`pipeline._poll` hands a fetched list here. The whole list is read in a worker thread
(or the poll's executor) against the snapshot in the store — every entry's fingerprint —
and the source makes one item per addition, removal and change; they are normalised,
matched and stored with the new snapshot in one `record_poll` transaction.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from monitor.alerts.routing import alert_maker
from monitor.errors import MonitorError, ParseError
from monitor.fetch import FetchResult
from monitor.models import Document, PollResult
from monitor.normalize import normalize
from monitor.sources import Snapshot, SnapshotSource, SourceOptions, build
from monitor.store.store import SeenItem

if TYPE_CHECKING:
    from monitor.pipeline import PollContext

# A list losing more than this share of its entries at once (and more than a few) is taken
# for a wrong or partial file, not news: the poll fails and the snapshot stays.
MAX_REMOVED_SHARE = 0.5


def _read_snapshot(
    options: SourceOptions,
    content: bytes,
    url: str,
    content_type: str | None,
    known: dict[str, str],
) -> Snapshot:
    source = build(options)
    assert isinstance(source, SnapshotSource)
    return source.read(content, url, content_type, known)


async def poll_snapshot(
    source: SnapshotSource, fetched: FetchResult, ctx: PollContext, result: PollResult
) -> None:
    """Diff a whole list against the snapshot in the store; each change is a Document.

    The first poll (no snapshot yet) is a baseline: the snapshot is stored, no Documents
    are made. Additions, changes and removals, and the new snapshot, are recorded in one
    transaction, so a failed poll (a list that cannot be read) changes nothing.
    """
    options, store, now = source.options, ctx.store, ctx.clock()
    known = store.snapshot(options.id)
    snapshot = await asyncio.get_running_loop().run_in_executor(
        ctx.executor,
        _read_snapshot,
        options,
        fetched.content,
        fetched.url,
        fetched.content_type,
        known,
    )
    result.items = len(snapshot.fingerprints)
    result.item_errors.extend(snapshot.errors)
    removed = [key for key in known if key not in snapshot.fingerprints]
    if known and not snapshot.fingerprints:
        raise ParseError("the list holds no entries (kept the last snapshot)")
    if len(removed) > 10 and len(removed) > MAX_REMOVED_SHARE * len(known):
        raise ParseError(
            f"{len(removed)} of {len(known)} entries would be removed at once; taken for a "
            "wrong or partial list (kept the last snapshot)"
        )
    seen = {
        key: SeenItem(snapshot.fingerprints[key], data=data) for key, data in snapshot.data.items()
    }
    docs: list[Document] = []
    if not known:
        result.note = (
            f"baseline: {len(seen)} entries recorded, no documents "
            "(changes are reported from the next poll)"
        )
    else:
        changed = [key for key in snapshot.data if key in known]
        previous = store.seen_data(options.id, [*changed, *removed])
        raws = source.changes(snapshot, known, previous, fetched.url)
        for raw in raws:
            try:
                doc = normalize(raw, source_id=options.id, fetched_at=now)
            except (MonitorError, ValueError, OverflowError) as err:
                result.item_errors.append(f"entry '{raw.title}': {err}")
                # Left as it was in the snapshot, so the next poll reports the change again.
                key = (raw.guid or "").split(":", 1)[0]
                seen.pop(key, None)
                removed = [k for k in removed if k != key]
                continue
            # The document points at the entry: the list's address with the entry's anchor.
            docs.append(doc.model_copy(update={"url": raw.url}))
    result.changes = store.record_poll(
        options.id,
        docs,
        now=now,
        seen=seen,
        forget=removed,
        validators={options.url: fetched.validators},
        item_count=len(snapshot.fingerprints),
        duration=result.elapsed(),
        http_status=result.http_status,
        dry_run=ctx.dry_run,
        match=ctx.rules.match if ctx.rules is not None and len(ctx.rules) else None,
        alerts=alert_maker(ctx.rules) if ctx.rules is not None and ctx.alerts else None,
    )
