"""One entry (and the channel's link and language) read as feedparser reads them."""

from __future__ import annotations

import re
from xml.sax.saxutils import escape

import lxml.etree as etree
from feedparser.datetimes import _parse_date
from feedparser.html import _cp1252
from feedparser.urls import _urljoin, make_safe_absolute_uri

from monitor.sources.feedxml.model import Declined, FeedEntry
from monitor.sources.feedxml.names import (
    AUTHOR,
    CATEGORY,
    CONTENT,
    FIELDS,
    HARMLESS,
    ONCE_GROUP,
    PERSON,
    PUBLISHED,
    RDF,
    SUMMARY,
    TITLE,
    UPDATED,
    XML_BASE,
    attribute,
    known_to_feedparser,
    tag_name,
)

_TYPES = {"text": "text/plain", "plain": "text/plain", "html": "text/html",
          "xhtml": "application/xhtml+xml"}  # fmt: skip
_XHTML = "application/xhtml+xml"
_TEXTUAL = frozenset({"text/plain", "text/html", _XHTML})
_EMAIL = re.compile(
    r"(([a-zA-Z0-9\_\-\.\+]+)@((\[[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.)|(([a-zA-Z0-9\-]+\.)+))"
    r"([a-zA-Z]{2,4}|[0-9]{1,3})(\]?))(\?subject=\S+)?"
)
_C1 = re.compile("[\x80-\x9f]")
_C1_UTF8 = re.compile(rb"\xc2[\x80-\x9f]")
_C1_REFERENCE = re.compile(rb"&#(?:[xX]0*[89][0-9a-fA-F]|0*1(?:2[89]|[3-5][0-9]));")
_QUERY_ENTITY = re.compile("&([A-Za-z0-9_]+);")
# An absolute http(s) URL that urljoin gives back unchanged against any base: printable
# ASCII, a host (no IPv6 brackets: urljoin may refuse them), no `;` parameters, no empty
# `?` or `#` (urljoin drops those), no backslash. Joining costs ~25 µs; most feed links
# are of this shape.
_PLAIN_URL = re.compile(
    r"https?://[^\x00-\x20\x7f-\U0010ffff/?#;\\\[\]]+(?:/[^\x00-\x20\x7f-\U0010ffff?#;\\]*)?"
    r"(?:\?[^\x00-\x20\x7f-\U0010ffff#\\]+)?(?:#[^\x00-\x20\x7f-\U0010ffff\\]+)?"
)


def is_plain_url(link: str) -> bool:
    """True if `urljoin(base, link) == link` for every http(s) base (so joining can be skipped)."""
    return _PLAIN_URL.fullmatch(link) is not None


class Reader:
    """feedparser's readings of element values, for one document."""

    def __init__(self, url: str, data: bytes) -> None:
        self.url = url
        # Whether any text can hold a C1 control (U+0080–U+009F) for the cp1252 map: one
        # scan of the UTF-8 bytes instead of one per value (~0.8 ms on a state.gov feed).
        self.c1 = bool(_C1_UTF8.search(data) or (b"&#" in data and _C1_REFERENCE.search(data)))

    def base(self, el: etree._Element | None) -> str:
        """The base URI in force inside `el` (xml:base, else a `base` attribute, else inherited)."""
        if el is None:
            return self.url
        inherited = self.base(el.getparent())
        given = el.get(XML_BASE) or el.get("base")
        if not given:
            return inherited
        if inherited:
            return make_safe_absolute_uri(inherited, given) or inherited
        return _urljoin(inherited, given)

    def clean(self, text: str) -> str:
        """feedparser's last steps on every value: UTF-8 read as Latin-1 repaired, cp1252."""
        if not text.isascii():
            try:
                text = text.encode("iso-8859-1").decode("utf-8")
            except (UnicodeEncodeError, UnicodeDecodeError):
                pass
            if self.c1 and _C1.search(text):  # translate() costs ~1 µs a character
                text = text.translate(_cp1252)
        return text

    def text(self, el: etree._Element) -> str:
        """A plain element's text; markup inside it is feedparser's business."""
        if len(el):
            raise Declined(f"markup inside <{tag_name(el)}>")
        return self.clean((el.text or "").strip())

    def body(self, el: etree._Element, default_type: str) -> tuple[str, str]:
        """A text construct's value and content type (text, HTML, or XHTML serialised)."""
        declared = el.get("type") or default_type
        kind = _TYPES.get(declared.lower(), declared.lower())
        if el.get("mode") is not None or kind not in _TEXTUAL:
            raise Declined(f"<{tag_name(el)}> of type {declared!r}")
        if kind != _XHTML:
            return self.text(el), kind
        children = list(el)
        if (
            len(children) == 1
            and tag_name(children[0]).rsplit(":", 1)[-1] == "div"
            and not (el.text or "").strip()
            and not (children[0].tail or "").strip()
        ):
            inner = _markup_inside(children[0])
        else:
            inner = _markup_inside(el)
        return self.clean(inner.strip()), kind

    def link(self, value: str, el: etree._Element) -> str:
        if not value or is_plain_url(value):
            return value
        return _urljoin(self.base(el), value)


def _markup_inside(el: etree._Element) -> str:
    """An XHTML element's content as feedparser writes it: local tag names, text escaped."""
    parts = [escape(el.text or "")]
    for child in el:
        if isinstance(child.tag, str):
            tag = etree.QName(child).localname
            if tag in ("svg", "math"):
                raise Declined(f"<{tag}> in XHTML content (feedparser keeps its namespace)")
            attrs = "".join(
                f' {etree.QName(k).localname.lower()}="{escape(str(v), {chr(34): "&quot;"})}"'
                for k, v in child.attrib.items()
            )
            parts.append(f"<{tag}{attrs}>{_markup_inside(child)}</{tag}>")
        parts.append(escape(child.tail or ""))
    return "".join(parts)


def _check_nested(el: etree._Element, allowed: frozenset[str]) -> None:
    for inner in el.iterdescendants():
        name = tag_name(inner)
        if name in FIELDS and name not in allowed:
            raise Declined(f"<{name}> inside <{tag_name(el)}>")


def read_entry(el: etree._Element, reader: Reader) -> FeedEntry:
    """One item/entry, feedparser's way, or Declined."""
    entry = FeedEntry()
    seen: set[str] = set()
    link: str | None = None
    rdf_about = el.get(f"{{{RDF}}}about")
    if rdf_about:
        entry.guid = rdf_about
    text_link = href_link = False
    contents: list[str] = []
    summary: str | None = None
    for child in el:
        name = tag_name(child)
        if not name:
            continue
        group = ONCE_GROUP.get(name)
        if group is not None:
            if group in seen:
                raise Declined(f"a second {group} in one entry")
            seen.add(group)
        if name in TITLE:
            entry.title = reader.body(child, "text/plain")[0]
        elif name == "link":
            href = child.get("href") or child.get("uri") or child.get("url")
            if href is None:
                if text_link:
                    raise Declined("two <link> elements in one entry")
                text_link = True
                if len(child):
                    raise Declined("markup inside <link>")
                value = reader.link(reader.clean((child.text or "").strip()), child)
                link = _QUERY_ENTITY.sub(r"&\g<1>", value.replace("&amp;", "&"))
            else:
                href_link = True
                rel = (child.get("rel") or "alternate").lower()
                kind = (child.get("type") or ("application/atom+xml" if rel == "self" else
                                              "text/html")).lower()  # fmt: skip
                if rel == "alternate" and _TYPES.get(kind, kind) in ("text/html", _XHTML):
                    link = reader.link(href, child)
        elif name in ("guid", "id"):
            if "id" in seen:
                raise Declined("a second id in one entry")
            seen.add("id")
            is_link = (attribute(child, "ispermalink") or "true") == "true"
            value = reader.clean((child.text or "").strip()) if not len(child) else ""
            if len(child):
                raise Declined(f"markup inside <{name}>")
            if is_link and value:
                value = reader.link(value, child)
            entry.guid = value
            if is_link and link is None:
                link = value
        elif name in SUMMARY:
            default = "text/html" if name in ("description", "dc:description") else "text/plain"
            summary = reader.body(child, default)[0]
        elif name in CONTENT:
            if child.get("src") is not None:
                raise Declined("out-of-line content")
            value, kind = reader.body(child, "text/plain" if name == "content" else "text/html")
            contents.append(value)
            if summary is None and kind in _TEXTUAL:
                summary = value
        elif name in PUBLISHED:
            entry.published = reader.text(child)
            entry.published_parsed = _parse_date(entry.published)
        elif name in UPDATED:
            entry.updated = reader.text(child)
            entry.updated_parsed = _parse_date(entry.updated)
        elif name in AUTHOR:
            _author(child, entry, reader)
        elif name in CATEGORY:
            _category(child, entry, reader)
        elif name == "source":
            # Where an aggregated entry came from (Planet feeds): feedparser keeps its
            # title, links and authors apart from the entry's, and so do we (not read).
            continue
        elif name in HARMLESS or not known_to_feedparser(name):
            if name in FIELDS:
                raise Declined(f"<{name}> in an entry")
            _check_nested(child, PERSON if name == "contributor" else frozenset())
        else:
            raise Declined(f"<{name}> in an entry")
    if text_link and href_link:
        raise Declined("both a text <link> and an href link in one entry")
    entry.link = link or ""
    entry.summary = summary or ""
    bodies = [c for c in contents if c]
    entry.content = max(bodies, key=len) if bodies else ""
    return entry


def _author(el: etree._Element, entry: FeedEntry, reader: Reader) -> None:
    if len(el):  # an Atom person: <name>, <email>, <uri>
        name = email = ""
        for child in el:
            part = tag_name(child)
            if part == "name":
                name = reader.text(child)
            elif part == "email":
                email = reader.text(child)
            elif part not in ("uri", "url", "homepage"):
                raise Declined(f"<{part}> in an author")
        if name:
            entry.authors.append(name)
        # feedparser's `author`: the last author element's, "" (so None) when it has neither
        entry.author = (f"{name} ({email})" if name and email else name or email) or None
        return
    raw = reader.text(el)
    author = raw
    match = _EMAIL.search(author)
    if match:
        author = author.replace(match.group(0), "").replace("()", "").replace("<>", "")
        author = author.replace("&lt;&gt;", "").strip()
        if author.startswith("("):
            author = author[1:]
        if author.endswith(")"):
            author = author[:-1]
        author = author.strip()
    if author:
        entry.authors.append(author)
    entry.author = raw or None


def _category(el: etree._Element, entry: FeedEntry, reader: Reader) -> None:
    term = el.get("term")
    value = reader.text(el)
    if term:
        entry.tags.append(term)
    elif value:
        entry.tags.append(value)


def read_channel(
    el: etree._Element, reader: Reader, language: str | None
) -> tuple[str, str | None]:
    """The feed's home link and language, from its channel/feed element's children."""
    home: str | None = None
    for child in el:
        name = tag_name(child)
        if name in ("id", "guid") and home is None and not len(child):
            # feedparser: an id that may be a permalink is the feed's link until one is given
            if (attribute(child, "ispermalink") or "true") == "true":
                home = reader.link(reader.clean((child.text or "").strip()), child)
        elif name == "link":
            href = child.get("href") or child.get("uri") or child.get("url")
            if href is None:
                value = reader.link(reader.clean((child.text or "").strip()), child)
                home = _QUERY_ENTITY.sub(r"&\g<1>", value)
            else:
                rel = (child.get("rel") or "alternate").lower()
                kind = (child.get("type") or "text/html").lower()
                if rel == "alternate" and _TYPES.get(kind, kind) in ("text/html", _XHTML):
                    home = reader.link(href, child)
        elif name in ("language", "dc:language"):
            language = reader.clean((child.text or "").strip()) if not len(child) else language
    return home or "", language
