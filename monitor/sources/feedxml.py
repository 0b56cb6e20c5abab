"""The fast feed path: RSS 0.9x/2.0, RSS 1.0 (RDF) and Atom read with lxml, as feedparser would.

feedparser costs ~18 ms of CPU for a 20-item feed and 0.6–1.2 GB for 100,000 items; this
reader streams the feed through lxml's `iterparse`, drops each entry once read, and gives
what `RssSource` takes from feedparser (title, link, id, summary, contents, dates, authors,
tags, the feed's home link and language) with feedparser's own rules: its encoding choice
(`convert_to_utf8`), its date parser, its URL joining and `xml:base` handling, its
element names (namespaces mapped, names lowercased) and its text clean-ups.

It handles the common shape only and raises `Declined` (with the reason) for anything
else, so that the caller falls back to feedparser: XML that is not well-formed, a DOCTYPE
(entities: feedparser's sanitised path), an encoding feedparser has to guess, a second
title/link/id/summary/date in one entry (feedparser's order rules), elements whose
meaning feedparser maps onto these fields (`media:title`, `itunes:summary`, `source`…),
markup inside a text element, base64 content, or an entry where a feed does not put it.

Nothing here is HTML-sanitised: summaries and contents are HTML for the normaliser,
which keeps text only (scripts, styles and event handlers never reach a Document).
"""

from __future__ import annotations

import functools
import io
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from xml.sax.saxutils import escape

import lxml.etree as etree
from feedparser.datetimes import _parse_date
from feedparser.encodings import convert_to_utf8
from feedparser.exceptions import NonXMLContentType
from feedparser.html import _cp1252
from feedparser.mixin import _FeedParserMixin
from feedparser.urls import _urljoin, make_safe_absolute_uri


class Declined(Exception):
    """The fast path does not read this feed as feedparser would: use feedparser."""


@dataclass(slots=True)
class FeedEntry:
    """One entry as `RssSource` reads it, from either parser."""

    title: str = ""
    link: str = ""
    guid: str | None = None
    summary: str = ""
    content: str = ""  # the longest content body
    published: str | None = None
    published_parsed: time.struct_time | None = None
    updated: str | None = None
    updated_parsed: time.struct_time | None = None
    authors: list[str] = field(default_factory=list)
    author: str | None = None  # feedparser's `author`, when no author has a name
    tags: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Feed:
    entries: list[FeedEntry]
    link: str
    language: str | None


_NAMESPACES = {uri.lower(): prefix for uri, prefix in _FeedParserMixin.namespaces.items()}
_ATOM = "http://www.w3.org/2005/Atom"
_RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
_RSS1 = ("http://purl.org/rss/1.0/", "http://my.netscape.com/rdf/simple/0.9/")
_ENTRY_TAGS = frozenset({"item", f"{{{_RSS1[0]}}}item", f"{{{_RSS1[1]}}}item", f"{{{_ATOM}}}entry"})
_XML_BASE = "{http://www.w3.org/XML/1998/namespace}base"
_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"

_TITLE = frozenset({"title", "dc:title"})
_SUMMARY = frozenset({"description", "summary", "dc:description", "abstract"})
_CONTENT = frozenset({"content", "content:encoded"})
_PUBLISHED = frozenset({"pubdate", "published", "issued", "dcterms:issued"})
_UPDATED = frozenset({"updated", "modified", "dc:date", "dcterms:modified"})
_AUTHOR = frozenset({"author", "dc:creator", "dc:author"})
_CATEGORY = frozenset({"category", "dc:subject"})
_ONCE = {"title": _TITLE, "summary": _SUMMARY, "published": _PUBLISHED, "updated": _UPDATED}
_ONCE_GROUP = {name: group for group, names in _ONCE.items() for name in names}
_READ = (
    _TITLE
    | _SUMMARY
    | _CONTENT
    | _PUBLISHED
    | _UPDATED
    | _AUTHOR
    | _CATEGORY
    | {
        "link",
        "guid",
        "id",
    }
)
# Elements feedparser handles without touching what we read (links lists, media, ratings).
_HARMLESS = frozenset(
    {
        "enclosure",
        "contributor",
        "media:content",
        "media:thumbnail",
        "created",
        "expirationdate",
        "rights",
        "dc:rights",
        "dc:publisher",
        "georss:point",
        "itunes:image",
        "itunes:explicit",
        "itunes:block",
        "itunes:duration",
        "psc:chapters",
        "comments",
        "slash:comments",
    }
)
# Names feedparser gives meaning inside an entry: one nested where we do not read it (a
# <title> inside an unknown element) changes feedparser's entry, so the fast path declines.
_FIELDS = _READ | {
    "item", "entry", "source", "image", "textinput", "channel", "feed", "media:title",
    "media:group", "media:description", "itunes:summary", "itunes:author", "itunes:subtitle",
    "itunes:keywords", "itunes:category", "media:keywords", "media:category", "keywords",
    "tags", "body", "xhtml:body", "fullitem", "lastbuilddate", "managingeditor", "webmaster",
    "language", "dc:language", "name", "email", "uri", "url", "homepage",
}  # fmt: skip
_HANDLERS = frozenset(n for n in dir(_FeedParserMixin) if n.startswith(("_start_", "_end_")))
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
_PARSER_OPTIONS = {
    "resolve_entities": False,
    "no_network": True,
    "load_dtd": False,
    "remove_comments": True,
    "remove_pis": True,
    "huge_tree": False,
}


def is_plain_url(link: str) -> bool:
    """True if `urljoin(base, link) == link` for every http(s) base (so joining can be skipped)."""
    return _PLAIN_URL.fullmatch(link) is not None


# Names of tags seen, by tag (those whose name does not depend on the document's prefix).
_NAMES: dict[str, str] = {}


def _name(el: etree._Element) -> str:
    """feedparser's name for an element: known namespaces mapped to its prefixes, lowercased."""
    tag = el.tag
    try:
        return _NAMES[tag]
    except (KeyError, TypeError):
        pass
    if not isinstance(tag, str):
        return ""
    if tag[0] != "{":
        name = tag.lower()
    else:
        uri, local = tag[1:].split("}", 1)
        lowered = uri.lower()
        if "backend.userland.com/rss" in lowered:
            lowered = "http://backend.userland.com/rss"
        prefix = _NAMESPACES.get(lowered)
        if prefix is None:  # unknown namespace: the document's own prefix, as feedparser
            given = el.prefix
            return f"{given.lower()}:{local.lower()}" if given else local.lower()
        name = f"{prefix.lower()}:{local.lower()}" if prefix else local.lower()
    if len(_NAMES) < 4096:  # bounded: a hostile feed may invent any number of tags
        _NAMES[tag] = name
    return name


@functools.lru_cache(maxsize=1024)
def _known_to_feedparser(name: str) -> bool:
    key = name.replace(":", "_")
    return f"_start_{key}" in _HANDLERS or f"_end_{key}" in _HANDLERS


def _attr(el: etree._Element, name: str) -> str | None:
    """An attribute by its lowercased local name, in any namespace (as feedparser looks)."""
    for key, value in el.attrib.items():
        local = key.rsplit("}", 1)[-1]
        if local.lower() == name:
            return str(value)
    return None


class _Reader:
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
        given = el.get(_XML_BASE) or el.get("base")
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
            raise Declined(f"markup inside <{_name(el)}>")
        return self.clean((el.text or "").strip())

    def body(self, el: etree._Element, default_type: str) -> tuple[str, str]:
        """A text construct's value and content type (text, HTML, or XHTML serialised)."""
        declared = el.get("type") or default_type
        kind = _TYPES.get(declared.lower(), declared.lower())
        if el.get("mode") is not None or kind not in _TEXTUAL:
            raise Declined(f"<{_name(el)}> of type {declared!r}")
        if kind != _XHTML:
            return self.text(el), kind
        children = list(el)
        if (
            len(children) == 1
            and _name(children[0]).rsplit(":", 1)[-1] == "div"
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


_PERSON = frozenset({"name", "email", "uri", "url", "homepage"})


def _check_nested(el: etree._Element, allowed: frozenset[str]) -> None:
    for inner in el.iterdescendants():
        name = _name(inner)
        if name in _FIELDS and name not in allowed:
            raise Declined(f"<{name}> inside <{_name(el)}>")


def _entry(el: etree._Element, reader: _Reader) -> FeedEntry:
    """One item/entry, feedparser's way, or Declined."""
    entry = FeedEntry()
    seen: set[str] = set()
    link: str | None = None
    rdf_about = el.get(f"{{{_RDF}}}about")
    if rdf_about:
        entry.guid = rdf_about
    text_link = href_link = False
    contents: list[str] = []
    summary: str | None = None
    for child in el:
        name = _name(child)
        if not name:
            continue
        group = _ONCE_GROUP.get(name)
        if group is not None:
            if group in seen:
                raise Declined(f"a second {group} in one entry")
            seen.add(group)
        if name in _TITLE:
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
            is_link = (_attr(child, "ispermalink") or "true") == "true"
            value = reader.clean((child.text or "").strip()) if not len(child) else ""
            if len(child):
                raise Declined(f"markup inside <{name}>")
            if is_link and value:
                value = reader.link(value, child)
            entry.guid = value
            if is_link and link is None:
                link = value
        elif name in _SUMMARY:
            default = "text/html" if name in ("description", "dc:description") else "text/plain"
            summary = reader.body(child, default)[0]
        elif name in _CONTENT:
            if child.get("src") is not None:
                raise Declined("out-of-line content")
            value, kind = reader.body(child, "text/plain" if name == "content" else "text/html")
            contents.append(value)
            if summary is None and kind in _TEXTUAL:
                summary = value
        elif name in _PUBLISHED:
            entry.published = reader.text(child)
            entry.published_parsed = _parse_date(entry.published)
        elif name in _UPDATED:
            entry.updated = reader.text(child)
            entry.updated_parsed = _parse_date(entry.updated)
        elif name in _AUTHOR:
            _author(child, entry, reader)
        elif name in _CATEGORY:
            _category(child, entry, reader)
        elif name == "source":
            # Where an aggregated entry came from (Planet feeds): feedparser keeps its
            # title, links and authors apart from the entry's, and so do we (not read).
            continue
        elif name in _HARMLESS or not _known_to_feedparser(name):
            if name in _FIELDS:
                raise Declined(f"<{name}> in an entry")
            _check_nested(child, _PERSON if name == "contributor" else frozenset())
        else:
            raise Declined(f"<{name}> in an entry")
    if text_link and href_link:
        raise Declined("both a text <link> and an href link in one entry")
    entry.link = link or ""
    entry.summary = summary or ""
    bodies = [c for c in contents if c]
    entry.content = max(bodies, key=len) if bodies else ""
    return entry


def _author(el: etree._Element, entry: FeedEntry, reader: _Reader) -> None:
    if len(el):  # an Atom person: <name>, <email>, <uri>
        name = email = ""
        for child in el:
            part = _name(child)
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


def _category(el: etree._Element, entry: FeedEntry, reader: _Reader) -> None:
    term = el.get("term")
    value = reader.text(el)
    if term:
        entry.tags.append(term)
    elif value:
        entry.tags.append(value)


def _channel(el: etree._Element, reader: _Reader, language: str | None) -> tuple[str, str | None]:
    """The feed's home link and language, from its channel/feed element's children."""
    home: str | None = None
    for child in el:
        name = _name(child)
        if name in ("id", "guid") and home is None and not len(child):
            # feedparser: an id that may be a permalink is the feed's link until one is given
            if (_attr(child, "ispermalink") or "true") == "true":
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


def _layout(root: etree._Element) -> tuple[str, str]:
    """The entry element's name and its parent's, by the root element; Declined otherwise."""
    name = _name(root)
    if name == "rss":
        return "item", "channel"
    if root.tag == f"{{{_RDF}}}RDF":
        return "item", "rdf:rdf"
    if root.tag == f"{{{_ATOM}}}feed":
        return "entry", "feed"
    raise Declined(f"root element <{name}> is not RSS 0.9x/1.0/2.0 or Atom 1.0")


_DECLARED = re.compile(rb"<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9._-]+)", re.I)
_CHARSET = re.compile(r"charset\s*=", re.I)
# Encodings in which ASCII bytes read as ASCII (feedparser's candidates all agree then).
_ASCII_SAFE = frozenset({"utf-8", "utf8", "us-ascii", "ascii", "iso-8859-1", "latin-1", "latin1",
                         "windows-1252", "cp1252", "iso-8859-15"})  # fmt: skip


def _as_is(content: bytes, content_type: str | None) -> bool:
    """True where feedparser would decode the bytes as lxml does, so no conversion is needed.

    That is ASCII bytes declared (if at all) in an ASCII-compatible encoding, or bytes
    declared UTF-8 without a BOM, served without a charset or a text/* type (RFC 3023:
    text/* means US-ASCII to feedparser). Invalid UTF-8 then fails lxml's parse, and
    feedparser reads the feed. Spares `convert_to_utf8`'s decode/encode copies.
    """
    if content_type:
        if _CHARSET.search(content_type) or content_type.strip().lower().startswith("text/"):
            return False
    if content.startswith((b"\xef\xbb\xbf", b"\xfe\xff", b"\xff\xfe")) or b"\x00" in content[:4]:
        return False
    declared = _DECLARED.match(content[:200].lstrip())
    encoding = declared.group(1).decode().lower() if declared else None
    if encoding in ("utf-8", "utf8"):
        return True
    return content.isascii() and (encoding is None or encoding in _ASCII_SAFE)


def _to_utf8(content: bytes, url: str, content_type: str | None) -> bytes:
    """The document in UTF-8 as feedparser decodes it (RFC 3023 rules), or Declined."""
    headers = {"content-location": url}
    if content_type:
        headers["content-type"] = content_type
    result: dict[str, object] = {}
    try:
        data = convert_to_utf8(headers, content, result)
    except Exception as err:  # noqa: BLE001 - feedparser's own bugs on hostile bytes
        raise Declined(f"encoding: {str(err)[:200]}") from None
    complaint = result.get("bozo_exception")
    # A missing or non-XML Content-Type is no reason (feedparser reads such feeds the same).
    if (complaint and not isinstance(complaint, NonXMLContentType)) or not result.get("encoding"):
        raise Declined(f"encoding: {complaint or 'unknown'}")
    return bytes(data)


def parse(content: bytes, url: str, content_type: str | None) -> Feed:
    """The feed's entries, home link and language, read as feedparser would; or Declined."""
    head = content[:4096]
    if b"<!DOCTYPE" in head.upper():
        raise Declined("a DOCTYPE (entities are feedparser's to handle)")
    data = content if _as_is(content, content_type) else _to_utf8(content, url, content_type)
    reader = _Reader(url, data)
    try:
        return _read(data, reader)
    except etree.XMLSyntaxError as err:
        raise Declined(f"not well-formed XML: {str(err)[:200]}") from None


def _read(data: bytes, reader: _Reader) -> Feed:
    events: Iterator[tuple[str, etree._Element]] = etree.iterparse(
        io.BytesIO(data), events=("end",), **_PARSER_OPTIONS
    )
    root: etree._Element | None = None
    entry_name = parent_name = ""
    entries: list[FeedEntry] = []
    done: etree._Element | None = None
    for _, el in events:
        if root is None:
            root = el.getroottree().getroot()
            entry_name, parent_name = _layout(root)
        tag = el.tag
        if tag not in _ENTRY_TAGS and not (
            isinstance(tag, str) and tag.lower().endswith(("item", "entry"))
        ):
            continue
        if _name(el) not in ("item", "entry"):
            continue
        parent = el.getparent()
        if _name(el) != entry_name or parent is None or _name(parent) != parent_name:
            raise Declined(f"<{_name(el)}> where the feed does not keep its entries")
        entries.append(_entry(el, reader))
        # Read: free it, and drop the entry read before it, so memory stays flat.
        el.clear(keep_tail=True)
        if done is not None and done.getparent() is parent:
            parent.remove(done)
        done = el
    assert root is not None
    language = None
    if entry_name == "entry" or _name(root) == "rss":  # not rdf:RDF (feedparser's test misses it)
        language = root.get(_XML_LANG) or root.get("lang") or None
        language = language.replace("_", "-") if language else None
    channel = root if entry_name == "entry" else None
    for child in root:
        if _name(child) == "channel":
            channel = child
    home, language = _channel(channel, reader, language) if channel is not None else ("", language)
    if not entries:
        raise Declined("no entries (feedparser tells an empty feed from a broken one)")
    return Feed(entries=entries, link=home, language=language)
