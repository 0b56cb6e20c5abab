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

from collections.abc import Callable, Iterator
from datetime import UTC, datetime

from lxml import etree

from monitor.sources.sanctions.entries import ListEntry, ListFormat, ListHeader
from monitor.sources.sanctions.xml import children, fields, local, stream, text

_ENTRY = "sdnEntry"
_HEADER = "publshInformation"


def _joined(values: dict[str, str], names: tuple[str, ...]) -> str:
    return ", ".join(values[n] for n in names if values.get(n))


def _name(values: dict[str, str]) -> str:
    """OFAC's own form: 'LAST, First' for people, the name alone for the rest."""
    return _joined(values, ("lastName", "firstName"))


def _alias(values: dict[str, str]) -> str:
    name = _name(values)
    label = values.get("type") or "a.k.a."
    weak = " (weak)" if values.get("category", "").lower() == "weak" else ""
    return f"{label} {name}{weak}" if name else ""


def _id(values: dict[str, str]) -> str:
    value = " ".join(v for v in (values.get("idType"), values.get("idNumber")) if v)
    extra = [values["idCountry"]] if values.get("idCountry") else []
    if values.get("issueDate"):
        extra.append(f"issued {values['issueDate']}")
    if values.get("expirationDate"):
        extra.append(f"expires {values['expirationDate']}")
    return f"{value} ({', '.join(extra)})" if extra and value else value


def _place(key: str) -> Callable[[dict[str, str]], str]:
    return lambda values: values.get(key, "")


_VESSEL = (
    ("callSign", "Call sign"),
    ("vesselType", "Type"),
    ("vesselFlag", "Flag"),
    ("vesselOwner", "Owner"),
    ("tonnage", "Tonnage"),
    ("grossRegisteredTonnage", "GRT"),
)
_ADDRESS = ("address1", "address2", "address3", "city", "stateOrProvince", "postalCode", "country")
# list element → (what one item of it says, label); documents show them in this order.
_LISTS: dict[str, tuple[Callable[[dict[str, str]], str], str]] = {
    "akaList": (_alias, "Aliases"),
    "addressList": (lambda values: _joined(values, _ADDRESS), "Addresses"),
    "idList": (_id, "IDs"),
    "nationalityList": (_place("country"), "Nationality"),
    "citizenshipList": (_place("country"), "Citizenship"),
    "dateOfBirthList": (_place("dateOfBirth"), "Date of birth"),
    "placeOfBirthList": (_place("placeOfBirth"), "Place of birth"),
}
_ORDER = ["Title", *(label for _, label in _LISTS.values()), "Vessel", "Remarks"]


def entry(el: etree._Element) -> ListEntry:
    """One `sdnEntry` element as a ListEntry; raises ValueError when it has no uid."""
    values: dict[str, str] = {}
    programs: list[str] = []
    found: dict[str, tuple[str, ...]] = {}
    for child in children(el):
        name = local(child)
        if name == "programList":
            programs = [p for p in (text(c) for c in children(child)) if p]
        elif name in _LISTS:
            describe, label = _LISTS[name]
            said = tuple(v for v in (describe(fields(c)) for c in children(child)) if v)
            if said:
                found[label] = said
        elif name == "vesselInfo":
            vessel = fields(child)
            said = tuple(f"{label}: {vessel[k]}" for k, label in _VESSEL if vessel.get(k))
            if said:
                found["Vessel"] = said
        else:
            values[name] = text(child)
    uid = values.get("uid", "")
    if not uid:
        raise ValueError("an sdnEntry has no uid")
    for key, label in (("title", "Title"), ("remarks", "Remarks")):
        if values.get(key):
            found[label] = (values[key],)
    return ListEntry(
        uid=uid,
        name=_name(values) or f"uid {uid}",
        type=values.get("sdnType") or "Unknown",
        programs=tuple(programs),
        details=tuple((label, found[label]) for label in _ORDER if label in found),
    )


def _publish_date(value: str) -> datetime | None:
    """'12/10/2020' (month first, as OFAC prints it) → that day, 00:00 UTC."""
    try:
        return datetime.strptime(value.strip(), "%m/%d/%Y").replace(tzinfo=UTC)
    except ValueError:
        return None


class SdnFormat(ListFormat):
    """`format: ofac-sdn`: https://www.treasury.gov/ofac/downloads/sdn.xml"""

    list_name = "SDN"
    list_title = "Specially Designated Nationals and Blocked Persons List (SDN)"
    publisher = "OFAC"

    def elements(self, content: bytes, header: ListHeader) -> Iterator[etree._Element]:
        for el in stream(content, (_ENTRY, _HEADER), "sdnList", "OFAC SDN list"):
            if local(el) == _HEADER:
                info = fields(el)
                header.published = _publish_date(info.get("Publish_Date", ""))
                count = info.get("Record_Count", "")
                header.record_count = int(count) if count.isdigit() else None
                continue
            yield el

    def uid(self, el: etree._Element) -> str:
        return (el.findtext("{*}uid") or "").strip()

    def entry(self, el: etree._Element) -> ListEntry:
        return entry(el)
