"""Streaming XML for list parsers: elements one at a time, freed as soon as they are read.

A 15 MB list is never held as a tree: lxml's iterparse hands over each wanted element when
it ends, and the element (with the siblings before it) is cleared once the parser has
turned it into an entry, so memory stays at about one entry plus the input bytes.
"""

from __future__ import annotations

from collections.abc import Iterator
from io import BytesIO

from lxml import etree

from monitor.errors import ParseError

# Tag → local name: lists repeat a few dozen tags hundreds of thousands of times.
_LOCAL: dict[str, str] = {}


def _local(tag: str) -> str:
    name = _LOCAL.get(tag)
    if name is None:
        name = _LOCAL[tag] = tag.rpartition("}")[2]
    return name


def local(el: etree._Element) -> str:
    """An element's name without its namespace."""
    return _local(el.tag)  # type: ignore[arg-type]


def text(el: etree._Element) -> str:
    """An element's own text, whitespace collapsed."""
    value = el.text
    return " ".join(value.split()) if value else ""


def children(el: etree._Element) -> Iterator[etree._Element]:
    """Child elements (comments and processing instructions skipped)."""
    return (c for c in el if isinstance(c.tag, str))


def fields(el: etree._Element) -> dict[str, str]:
    """An element's children as local name → text (the last wins when one repeats)."""
    out = {}
    for child in el:
        tag = child.tag
        if isinstance(tag, str):
            value = child.text
            out[_local(tag)] = " ".join(value.split()) if value else ""
    return out


def parse_error(message: str) -> ParseError:
    return ParseError(message[:300])


def stream(
    content: bytes, names: tuple[str, ...], root: str, what: str
) -> Iterator[etree._Element]:
    """The elements named `names` (in any namespace or none), in document order.

    Raises ParseError when the document is not well-formed XML or its root is not `root`
    (`what` names the list in the message). Entities are not resolved and nothing is
    fetched from the network.
    """
    events = etree.iterparse(
        BytesIO(content),
        events=("end",),
        tag=[f"{{*}}{name}" for name in names],
        resolve_entities=False,
        no_network=True,
        remove_comments=True,
        remove_pis=True,
    )

    def check_root(found: etree._Element | None) -> None:
        if found is None or local(found) != root:
            shown = f"<{local(found)}>" if found is not None else "empty"
            raise parse_error(f"expected <{root}> ({what}) but the document is {shown}")

    checked = False
    try:
        for _, el in events:
            if not checked:
                check_root(el.getroottree().getroot())
                checked = True
            yield el
            el.clear(keep_tail=False)
            parent = el.getparent()
            while parent is not None and el.getprevious() is not None:
                del parent[0]
    except etree.XMLSyntaxError as err:
        raise parse_error(f"not a readable {what}: {err}") from None
    if not checked:
        check_root(events.root)
