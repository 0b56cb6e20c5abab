"""The UN Security Council consolidated list in its XML form (consolidated.xml).

```xml
<CONSOLIDATED_LIST dateGenerated="2020-12-10T14:03:02.587-05:00">
  <INDIVIDUALS><INDIVIDUAL><DATAID>6908555</DATAID><VERSIONNUM>1</VERSIONNUM>
    <FIRST_NAME>RI</FIRST_NAME><SECOND_NAME>WON HO</SECOND_NAME>
    <UN_LIST_TYPE>DPRK</UN_LIST_TYPE><REFERENCE_NUMBER>KPi.016</REFERENCE_NUMBER>
    <LISTED_ON>2016-03-02</LISTED_ON><COMMENTS1>…</COMMENTS1>
    <INDIVIDUAL_ALIAS><QUALITY>Good</QUALITY><ALIAS_NAME>…</ALIAS_NAME></INDIVIDUAL_ALIAS>
    <INDIVIDUAL_DOCUMENT><TYPE_OF_DOCUMENT>Passport</TYPE_OF_DOCUMENT><NUMBER>…</NUMBER>
    </INDIVIDUAL_DOCUMENT> …</INDIVIDUAL></INDIVIDUALS>
  <ENTITIES><ENTITY><DATAID>110414</DATAID><FIRST_NAME>…</FIRST_NAME> … </ENTITY></ENTITIES>
</CONSOLIDATED_LIST>
```
VERSIONNUM and LAST_DAY_UPDATED are bookkeeping: an entry changes when what it says does.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

from lxml import etree

from monitor.sources.sanctions.entries import ListEntry, ListFormat, ListHeader
from monitor.sources.sanctions.xml import children, local, stream, text

_NAMES = ("FIRST_NAME", "SECOND_NAME", "THIRD_NAME", "FOURTH_NAME")


def _values(el: etree._Element) -> tuple[str, ...]:
    """<DESIGNATION><VALUE>a</VALUE><VALUE>b</VALUE></DESIGNATION> → ('a', 'b')."""
    return tuple(v for v in (text(c) for c in children(el)) if v)


def _joined(el: etree._Element, names: tuple[str, ...], sep: str = ", ") -> str:
    parts = {local(c): text(c) for c in children(el)}
    return sep.join(parts[n] for n in names if parts.get(n))


def _alias(el: etree._Element) -> str:
    fields = {local(c): text(c) for c in children(el)}
    name = fields.get("ALIAS_NAME", "")
    quality = fields.get("QUALITY", "")
    return f"{name} ({quality.lower()})" if name and quality else name


def _date(el: etree._Element) -> str:
    fields = {local(c): text(c) for c in children(el)}
    if fields.get("DATE"):
        return fields["DATE"]
    if fields.get("FROM_YEAR") and fields.get("TO_YEAR"):
        return f"{fields['FROM_YEAR']}–{fields['TO_YEAR']}"
    return fields.get("YEAR", "")


def _document(el: etree._Element) -> str:
    fields = {local(c): text(c) for c in children(el)}
    value = " ".join(v for v in (fields.get("TYPE_OF_DOCUMENT"), fields.get("NUMBER")) if v)
    extra = [fields[k] for k in ("ISSUING_COUNTRY", "DATE_OF_ISSUE", "NOTE") if fields.get(k)]
    return f"{value} ({', '.join(extra)})" if extra and value else value


_ADDRESS = ("STREET", "CITY", "STATE_PROVINCE", "ZIP_CODE", "COUNTRY", "NOTE")
_PLACE = ("CITY", "STATE_PROVINCE", "COUNTRY")
# (element suffix after INDIVIDUAL_/ENTITY_, what one says, label), in display order.
_REPEATED = (
    ("ALIAS", _alias, "Aliases"),
    ("ADDRESS", lambda el: _joined(el, _ADDRESS), "Addresses"),
    ("DOCUMENT", _document, "IDs"),
    ("DATE_OF_BIRTH", _date, "Date of birth"),
    ("PLACE_OF_BIRTH", lambda el: _joined(el, _PLACE), "Place of birth"),
)
_LABELLED = (
    ("REFERENCE_NUMBER", "Reference"),
    ("LISTED_ON", "Listed on"),
    ("NAME_ORIGINAL_SCRIPT", "Name in original script"),
)
_VALUE_LISTS = (("TITLE", "Title"), ("DESIGNATION", "Designation"), ("NATIONALITY", "Nationality"))


def entry(el: etree._Element) -> ListEntry:
    """One INDIVIDUAL or ENTITY element as a ListEntry; raises ValueError without DATAID."""
    kind = local(el)
    singles = {local(c): text(c) for c in children(el)}
    uid = singles.get("DATAID", "")
    if not uid:
        raise ValueError(f"an {kind} has no DATAID")
    found: dict[str, list[str]] = {}
    prefix = f"{kind}_"
    describers = {suffix: (describe, label) for suffix, describe, label in _REPEATED}
    lists = dict(_VALUE_LISTS)
    for child in children(el):
        name = local(child)
        if name.startswith(prefix) and name[len(prefix) :] in describers:
            describe, label = describers[name[len(prefix) :]]
            value = describe(child)
        elif name in lists:
            label, values = lists[name], _values(child)
            found.setdefault(label, []).extend(values)
            continue
        else:
            continue
        if value:
            found.setdefault(label, []).append(value)
    details: list[tuple[str, tuple[str, ...]]] = [
        (label, (singles[key],)) for key, label in _LABELLED if singles.get(key)
    ]
    order = [label for _, label in _VALUE_LISTS] + [label for _, _, label in _REPEATED]
    details += [(label, tuple(found[label])) for label in order if found.get(label)]
    comments = singles.get("COMMENTS1", "")
    if comments:
        details.append(("Remarks", (comments,)))
    name = " ".join(singles[n] for n in _NAMES if singles.get(n))
    program = singles.get("UN_LIST_TYPE", "")
    return ListEntry(
        uid=uid,
        name=name or f"DATAID {uid}",
        type="Individual" if kind == "INDIVIDUAL" else "Entity",
        programs=(program,) if program else (),
        details=tuple(details),
    )


def _generated(value: str | None) -> datetime | None:
    """dateGenerated ('2020-12-10T14:03:02.587-05:00') in UTC."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


class UnFormat(ListFormat):
    """`format: un-consolidated`: https://scsanctions.un.org/resources/xml/en/consolidated.xml"""

    list_name = "UN consolidated list"
    list_title = "UN Security Council Consolidated List"
    publisher = "The UN Security Council"

    def elements(self, content: bytes, header: ListHeader) -> Iterator[etree._Element]:
        what = "UN consolidated list"
        for el in stream(content, ("INDIVIDUAL", "ENTITY"), "CONSOLIDATED_LIST", what):
            if header.published is None:
                root = el.getroottree().getroot()
                header.published = _generated(root.get("dateGenerated"))
            yield el

    def uid(self, el: etree._Element) -> str:
        return (el.findtext("DATAID") or "").strip()

    def entry(self, el: etree._Element) -> ListEntry:
        return entry(el)
