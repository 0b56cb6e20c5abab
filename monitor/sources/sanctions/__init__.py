"""`type: sanctions-list`: a sanctions list from its source of record, watched for changes.

Each poll reads the whole list (OFAC's SDN XML, or the UN Security Council consolidated
list) one entry at a time, and the pipeline compares it with the snapshot it stored: an
entry that appears is a *Designation*, one that goes is a *Delisting*, one whose programs,
aliases, addresses, ids or remarks changed is an *Amendment* — each a Document. The first
poll of a list stores the snapshot only (a baseline: thousands of standing designations are
not news).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Literal

from pydantic import Field

from monitor.errors import ParseError
from monitor.models import RawItem
from monitor.sources.base import Snapshot, SnapshotSource, SourceOptions, register
from monitor.sources.sanctions.entries import (
    ListEntry,
    ListFormat,
    ListHeader,
    amendment,
    delisting,
    designation,
    markup_fingerprint,
)
from monitor.sources.sanctions.ofac import SdnFormat
from monitor.sources.sanctions.un import UnFormat

FORMATS: dict[str, ListFormat] = {"ofac-sdn": SdnFormat(), "un-consolidated": UnFormat()}
# The SDN list is over 10 MB (the default cap for feeds and pages).
DEFAULT_MAX_BYTES = 100 * 1024 * 1024


class SanctionsOptions(SourceOptions):
    """Options of a sanctions list source."""

    type: Literal["sanctions-list"] = "sanctions-list"
    format: Literal["ofac-sdn", "un-consolidated"] = "ofac-sdn"
    max_bytes: int | None = Field(default=DEFAULT_MAX_BYTES, ge=1)


@register
class SanctionsSource(SnapshotSource):
    """A sanctions list: designations, delistings and amendments since the last snapshot."""

    type_name: ClassVar[str] = "sanctions-list"
    Options: ClassVar[type[SourceOptions]] = SanctionsOptions

    @property
    def format(self) -> ListFormat:
        options = self.options
        assert isinstance(options, SanctionsOptions)
        return FORMATS[options.format]

    def read(
        self, content: bytes, url: str, content_type: str | None, known: Mapping[str, str]
    ) -> Snapshot:
        header = ListHeader()
        fmt = self.format
        fingerprints: dict[str, str] = {}
        data: dict[str, dict[str, Any]] = {}
        count = 0
        for el in fmt.elements(content, header):
            count += 1
            uid = fmt.uid(el)
            if not uid:
                header.errors.append(f"line {el.sourceline}: an entry has no uid")
                continue
            if uid in fingerprints:
                header.errors.append(f"uid {uid} is listed twice (the first kept)")
                continue
            fingerprint = markup_fingerprint(el)
            fingerprints[uid] = fingerprint
            if known.get(uid) == fingerprint:
                continue  # the same markup as in the snapshot: nothing to read
            try:
                data[uid] = fmt.entry(el).to_data()
            except ValueError as err:
                header.errors.append(f"uid {uid}: {err}")
                # Unread, it stays as the snapshot had it (not taken for a removal).
                fingerprints[uid] = known.get(uid, "")
        if header.record_count is not None and count != header.record_count:
            # A list cut short would read as a mass delisting.
            raise ParseError(
                f"the {fmt.list_name} list says it holds {header.record_count} "
                f"entries but {count} were found (incomplete download?)"
            )
        return Snapshot(fingerprints, data, header.published, header.errors)

    def changes(
        self,
        snapshot: Snapshot,
        known: Mapping[str, str],
        previous: Mapping[str, Mapping[str, Any]],
        url: str,
    ) -> list[RawItem]:
        fmt, when = self.format, snapshot.published
        items = []
        for uid, data in snapshot.data.items():
            entry = ListEntry.from_data(data)
            before = previous.get(uid)
            if uid not in known:
                items.append(designation(fmt, entry, url, when))
            elif before is not None:
                earlier = ListEntry.from_data(before)
                if earlier != entry:  # else only the markup changed: not news
                    items.append(amendment(fmt, earlier, entry, url, when))
            else:
                # Stored without its data (it should not happen): describe it as it is now.
                items.append(amendment(fmt, entry, entry, url, when))
        for uid in known:
            if uid not in snapshot.fingerprints:
                gone = previous.get(uid)
                entry = ListEntry.from_data(gone) if gone else ListEntry(uid, f"uid {uid}", "Entry")
                items.append(delisting(fmt, entry, url, when))
        return items
