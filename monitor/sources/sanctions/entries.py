"""Sanctions list entries, format-neutral: what a parser yields and what a change says.

A parser (ofac.py, un.py) turns a list into `ListEntry`s; everything else — fingerprints,
what the store keeps of an entry, and the RawItem that announces a designation, a delisting
or an amendment — is the same for every list.
"""

from __future__ import annotations

import hashlib
import html
import json
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from lxml import etree

from monitor.models import RawItem

# OFAC program tags and UN regimes named by a country, so that a rule about that country
# (`"North Korea" OR DPRK`) finds the change: "DPRK3" alone is not the word "DPRK".
_PROGRAM_COUNTRIES = (
    ("DPRK", "North Korea"),
    ("KP", "North Korea"),
    ("IRAN", "Iran"),
    ("IRGC", "Iran"),
    ("IFSR", "Iran"),
    ("SYRIA", "Syria"),
    ("CUBA", "Cuba"),
    ("VENEZUELA", "Venezuela"),
    ("RUSSIA", "Russia"),
    ("UKRAINE", "Russia/Ukraine"),
    ("BELARUS", "Belarus"),
    ("BURMA", "Burma"),
    ("LIBYA", "Libya"),
    ("IRAQ", "Iraq"),
    ("SOMALIA", "Somalia"),
    ("SUDAN", "Sudan"),
    ("SOUTH SUDAN", "South Sudan"),
    ("YEMEN", "Yemen"),
    ("LEBANON", "Lebanon"),
    ("CAR", "Central African Republic"),
    ("DRCONGO", "Democratic Republic of the Congo"),
    ("MALI", "Mali"),
    ("NICARAGUA", "Nicaragua"),
    ("ZIMBABWE", "Zimbabwe"),
    ("BALKANS", "Western Balkans"),
)


@dataclass(frozen=True)
class ListEntry:
    """One designation on a list: who, under which programs, and what the list says of it.

    `details` holds labelled values in display order ("Aliases", "Addresses", "IDs", …);
    a label with no values is left out, so two parsers of one list agree on equality.
    """

    uid: str
    name: str
    type: str
    programs: tuple[str, ...] = ()
    details: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def to_data(self) -> dict[str, Any]:
        """What the store keeps of the entry (JSON), so a later delisting can name it."""
        return {
            "uid": self.uid,
            "name": self.name,
            "type": self.type,
            "programs": list(self.programs),
            "details": [[label, list(values)] for label, values in self.details],
        }

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> ListEntry:
        return cls(
            uid=str(data["uid"]),
            name=str(data["name"]),
            type=str(data["type"]),
            programs=tuple(data.get("programs", ())),
            details=tuple((label, tuple(values)) for label, values in data.get("details", ())),
        )

    def fingerprint(self) -> str:
        """Changes when anything the list says of the entry changes."""
        text = json.dumps(self.to_data(), ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def detail(self, label: str) -> tuple[str, ...]:
        return next((values for name, values in self.details if name == label), ())


@dataclass
class ListHeader:
    """What a list says about itself, and the entries it could not read."""

    published: datetime | None = None
    record_count: int | None = None
    errors: list[str] = field(default_factory=list)


class ListFormat(ABC):
    """A list's machine-readable format: a streaming parser and how to name the list.

    `elements` streams the list's entry elements; `uid` and `entry` read one of them, and
    are valid only until the stream moves on (each element is freed then).
    """

    list_name: ClassVar[str]  # "SDN": the list's short name, in document titles
    list_title: ClassVar[str]  # its full name, in the documents' first sentence
    publisher: ClassVar[str]  # "OFAC": who publishes it

    @abstractmethod
    def elements(self, content: bytes, header: ListHeader) -> Iterator[etree._Element]:
        """The entry elements, one at a time; fills `header` as the list states it; raises
        ParseError when the list cannot be read."""

    @abstractmethod
    def uid(self, el: etree._Element) -> str:
        """The entry's key ('' when it has none)."""

    @abstractmethod
    def entry(self, el: etree._Element) -> ListEntry:
        """The entry in full; raises ValueError when it cannot be read."""

    def entries(self, content: bytes, header: ListHeader) -> Iterator[ListEntry]:
        """Every readable entry (the others are noted in `header.errors`)."""
        for el in self.elements(content, header):
            try:
                yield self.entry(el)
            except ValueError as err:
                header.errors.append(f"line {el.sourceline}: {err}")


def markup_fingerprint(el: etree._Element) -> str:
    """A hash of an entry's markup: equal markup, equal entry — read without Python work.

    Different markup may still say the same (whitespace, renumbered sub-ids): the entry is
    then read and compared field by field before anything is called a change.
    """
    return hashlib.sha256(etree.tostring(el, with_tail=False)).hexdigest()


def gloss(program: str) -> str:
    """A program tag with the country it concerns: 'DPRK3' → 'DPRK3 (North Korea)'."""
    tag = program.upper()
    for prefix, country in _PROGRAM_COUNTRIES:
        if tag.startswith(prefix) and (len(tag) == len(prefix) or not tag[len(prefix)].isalpha()):
            return f"{program} ({country})"
    return program


def _programs(programs: tuple[str, ...], glossed: bool = False) -> str:
    return ", ".join(gloss(p) if glossed else p for p in programs) or "none stated"


def _paragraphs(lines: list[str]) -> str:
    return "".join(f"<p>{html.escape(line)}</p>" for line in lines if line)


def _description(entry: ListEntry) -> list[str]:
    lines = [
        f"Type: {entry.type}",
        f"Programs: {_programs(entry.programs, glossed=True)}",
    ]
    lines += [f"{label}: {'; '.join(values)}" for label, values in entry.details if values]
    return lines


def _changes(before: ListEntry, after: ListEntry) -> list[tuple[str, str]]:
    """(field, line) for each field that changed: what was added and what is no longer listed."""
    lines = []
    if before.name != after.name:
        lines.append(("name", f"Name: {before.name} → {after.name}"))
    if before.type != after.type:
        lines.append(("type", f"Type: {before.type} → {after.type}"))
    fields = [("Programs", before.programs, after.programs)]
    labels = list(dict.fromkeys([label for label, _ in (*before.details, *after.details)]))
    fields += [(label, before.detail(label), after.detail(label)) for label in labels]
    for label, old, new in fields:
        added = [v for v in new if v not in old]
        gone = [v for v in old if v not in new]
        shown = gloss if label == "Programs" else str
        if added:
            lines.append((label, f"{label} added: {'; '.join(shown(v) for v in added)}"))
        if gone:
            lines.append((label, f"{label} no longer listed: {'; '.join(shown(v) for v in gone)}"))
        if not added and not gone and old != new:
            lines.append((label, f"{label} reordered: {'; '.join(new)}"))
    return lines


def designation(fmt: ListFormat, entry: ListEntry, url: str, published: datetime | None) -> RawItem:
    """The item announcing that `entry` was added to the list."""
    lead = (
        f"{fmt.publisher} designated {entry.name} ({entry.type.lower()}): added to the "
        f"{fmt.list_title} under {_programs(entry.programs, glossed=True)}."
    )
    return _item(
        "Designation",
        f"Designation: {entry.name} added to {fmt.list_name}, programs {_programs(entry.programs)}",
        [lead, *_description(entry)],
        entry,
        url,
        published,
        "",
    )


def delisting(fmt: ListFormat, entry: ListEntry, url: str, published: datetime | None) -> RawItem:
    """The item announcing that `entry` left the list (described as it was last listed)."""
    lead = (
        f"{fmt.publisher} removed {entry.name} ({entry.type.lower()}) from the "
        f"{fmt.list_title}; it was listed under {_programs(entry.programs, glossed=True)}."
    )
    return _item(
        "Delisting",
        f"Delisting: {entry.name} removed from {fmt.list_name}, "
        f"programs {_programs(entry.programs)}",
        [lead, "As last listed:", *_description(entry)],
        entry,
        url,
        published,
        entry.fingerprint(),
    )


def amendment(
    fmt: ListFormat, before: ListEntry, after: ListEntry, url: str, published: datetime | None
) -> RawItem:
    """The item announcing that the list changed what it says of an entry."""
    changed = _changes(before, after)
    what = ", ".join(dict.fromkeys(label.lower() for label, _ in changed)) or "details"
    lead = (
        f"{fmt.publisher} amended the entry of {after.name} ({after.type.lower()}) on the "
        f"{fmt.list_title}, listed under {_programs(after.programs, glossed=True)}."
    )
    return _item(
        "Amendment",
        f"Amendment: {after.name} on {fmt.list_name} ({what} changed), "
        f"programs {_programs(after.programs)}",
        [lead, *(line for _, line in changed), "Now listed:", *_description(after)],
        after,
        url,
        published,
        before.fingerprint(),
    )


def _item(
    kind: str,
    title: str,
    lines: list[str],
    entry: ListEntry,
    url: str,
    published: datetime | None,
    before: str,
) -> RawItem:
    # Each change is its own document: the anchor says which entry, which change, and the
    # entry's state before and after, so a later change of the same entry is news again.
    after = "" if kind == "Delisting" else entry.fingerprint()
    change = hashlib.sha256(f"{kind}\x1f{before}\x1f{after}\x1f{published}".encode()).hexdigest()
    base = url.split("#", 1)[0]
    return RawItem(
        url=f"{base}#{entry.uid}",
        title=title,
        content_html=_paragraphs(lines),
        published=published,
        kind=kind,
        guid=f"{entry.uid}:{kind.lower()}:{change[:16]}",
        anchor=f"{entry.uid}-{kind.lower()}-{change[:16]}",
        standalone=True,
    )
