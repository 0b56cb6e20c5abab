"""The OFAC SDN list in its XML form (sdn.xml, schema http://tempuri.org/sdnList.xsd).

```xml
<sdnList xmlns="http://tempuri.org/sdnList.xsd">
  <publshInformation><Publish_Date>12/10/2020</Publish_Date><Record_Count>2</Record_Count>
  </publshInformation>
  <sdnEntry><uid>36</uid><lastName>…</lastName><sdnType>Entity</sdnType>
    <programList><program>CUBA</program></programList>
    <akaList><aka><uid>12</uid><type>a.k.a.</type><category>strong</category>
      <lastName>…</lastName></aka></akaList>
    <addressList>…</addressList> <idList>…</idList> <vesselInfo>…</vesselInfo> …
  </sdnEntry>
</sdnList>
```
(`publshInformation` is spelled so by OFAC.) Elements are matched by local name, so a copy
without the namespace reads the same.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

from lxml import etree

from monitor.sources.sanctions.entries import ListEntry, ListHeader
from monitor.sources.sanctions.xml import children, local, stream, text

_ENTRY = "sdnEntry"
_HEADER = "publshInformation"


def _joined(el: etree._Element, names: tuple[str, ...], sep: str = ", ") -> str:
    parts = {local(c): text(c) for c in children(el)}
    return sep.join(parts[n] for n in names if parts.get(n))


def _name(el: etree._Element) -> str:
    """OFAC's own form: 'LAST, First' for people, the name alone for the rest."""
    return _joined(el, ("lastName", "firstName"))


def _alias(el: etree._Element) -> str:
    fields = {local(c): text(c) for c in children(el)}
    name = _name(el)
    label = fields.get("type") or "a.k.a."
    weak = " (weak)" if fields.get("category", "").lower() == "weak" else ""
    return f"{label} {name}{weak}" if name else ""


def _id(el: etree._Element) -> str:
    fields = {local(c): text(c) for c in children(el)}
    value = " ".join(v for v in (fields.get("idType"), fields.get("idNumber")) if v)
    extra = [fields[k] for k in ("idCountry",) if fields.get(k)]
    if fields.get("issueDate"):
        extra.append(f"issued {fields['issueDate']}")
    if fields.get("expirationDate"):
        extra.append(f"expires {fields['expirationDate']}")
    return f"{value} ({', '.join(extra)})" if extra and value else value


_VESSEL = (
    ("callSign", "Call sign"),
    ("vesselType", "Type"),
    ("vesselFlag", "Flag"),
    ("vesselOwner", "Owner"),
    ("tonnage", "Tonnage"),
    ("grossRegisteredTonnage", "GRT"),
)
_ADDRESS = ("address1", "address2", "address3", "city", "stateOrProvince", "postalCode", "country")
# (list element, what one item says, label) in the order documents show them.
_LISTS = (
    ("akaList", _alias, "Aliases"),
    ("addressList", lambda el: _joined(el, _ADDRESS), "Addresses"),
    ("idList", _id, "IDs"),
    ("nationalityList", lambda el: _joined(el, ("country",)), "Nationality"),
    ("citizenshipList", lambda el: _joined(el, ("country",)), "Citizenship"),
    ("dateOfBirthList", lambda el: _joined(el, ("dateOfBirth",)), "Date of birth"),
    ("placeOfBirthList", lambda el: _joined(el, ("placeOfBirth",)), "Place of birth"),
)


def entry(el: etree._Element) -> ListEntry:
    """One `sdnEntry` element as a ListEntry; raises ValueError when it has no uid."""
    fields: dict[str, etree._Element] = {local(c): c for c in children(el)}
    uid = text(fields["uid"]) if "uid" in fields else ""
    if not uid:
        raise ValueError("an sdnEntry has no uid")
    programs = tuple(
        p for p in (text(c) for c in children(fields["programList"])) if p
    ) if "programList" in fields else ()
    details: list[tuple[str, tuple[str, ...]]] = []
    if "title" in fields and text(fields["title"]):
        details.append(("Title", (text(fields["title"]),)))
    for element, describe, label in _LISTS:
        if element in fields:
            values = tuple(v for v in (describe(c) for c in children(fields[element])) if v)
            if values:
                details.append((label, values))
    if "vesselInfo" in fields:
        vessel = {local(c): text(c) for c in children(fields["vesselInfo"])}
        said = tuple(f"{label}: {vessel[k]}" for k, label in _VESSEL if vessel.get(k))
        if said:
            details.append(("Vessel", said))
    if "remarks" in fields and text(fields["remarks"]):
        details.append(("Remarks", (text(fields["remarks"]),)))
    return ListEntry(
        uid=uid,
        name=_name(el) or f"uid {uid}",
        type=text(fields["sdnType"]) if "sdnType" in fields else "Unknown",
        programs=programs,
        details=tuple(details),
    )


def _publish_date(value: str) -> datetime | None:
    """'12/10/2020' (month first, as OFAC prints it) → that day, 00:00 UTC."""
    try:
        return datetime.strptime(value.strip(), "%m/%d/%Y").replace(tzinfo=UTC)
    except ValueError:
        return None


class SdnFormat:
    """`format: ofac-sdn`: https://www.treasury.gov/ofac/downloads/sdn.xml"""

    list_name = "SDN"
    list_title = "Specially Designated Nationals and Blocked Persons List (SDN)"
    publisher = "OFAC"

    def entries(self, content: bytes, header: ListHeader) -> Iterator[ListEntry]:
        for el in stream(content, (_ENTRY, _HEADER), "sdnList", "OFAC SDN list"):
            if local(el) == _HEADER:
                info = {local(c): text(c) for c in children(el)}
                header.published = _publish_date(info.get("Publish_Date", ""))
                count = info.get("Record_Count", "")
                header.record_count = int(count) if count.isdigit() else None
                continue
            try:
                yield entry(el)
            except ValueError as err:
                header.errors.append(f"line {el.sourceline}: {err}")
