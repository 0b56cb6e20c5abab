"""Element names as feedparser sees them, and what each name means to it."""

from __future__ import annotations

import functools

import lxml.etree as etree
from feedparser.mixin import _FeedParserMixin

NAMESPACES = {uri.lower(): prefix for uri, prefix in _FeedParserMixin.namespaces.items()}
ATOM = "http://www.w3.org/2005/Atom"
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
RSS1 = ("http://purl.org/rss/1.0/", "http://my.netscape.com/rdf/simple/0.9/")
ENTRY_TAGS = frozenset({"item", f"{{{RSS1[0]}}}item", f"{{{RSS1[1]}}}item", f"{{{ATOM}}}entry"})
XML_BASE = "{http://www.w3.org/XML/1998/namespace}base"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"

TITLE = frozenset({"title", "dc:title"})
SUMMARY = frozenset({"description", "summary", "dc:description", "abstract"})
CONTENT = frozenset({"content", "content:encoded"})
PUBLISHED = frozenset({"pubdate", "published", "issued", "dcterms:issued"})
UPDATED = frozenset({"updated", "modified", "dc:date", "dcterms:modified"})
AUTHOR = frozenset({"author", "dc:creator", "dc:author"})
CATEGORY = frozenset({"category", "dc:subject"})
ONCE = {"title": TITLE, "summary": SUMMARY, "published": PUBLISHED, "updated": UPDATED}
ONCE_GROUP = {name: group for group, names in ONCE.items() for name in names}
READ = (
    TITLE
    | SUMMARY
    | CONTENT
    | PUBLISHED
    | UPDATED
    | AUTHOR
    | CATEGORY
    | {
        "link",
        "guid",
        "id",
    }
)
# Elements feedparser handles without touching what we read (links lists, media, ratings).
HARMLESS = frozenset(
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
FIELDS = READ | {
    "item", "entry", "source", "image", "textinput", "channel", "feed", "media:title",
    "media:group", "media:description", "itunes:summary", "itunes:author", "itunes:subtitle",
    "itunes:keywords", "itunes:category", "media:keywords", "media:category", "keywords",
    "tags", "body", "xhtml:body", "fullitem", "lastbuilddate", "managingeditor", "webmaster",
    "language", "dc:language", "name", "email", "uri", "url", "homepage",
}  # fmt: skip
HANDLERS = frozenset(n for n in dir(_FeedParserMixin) if n.startswith(("_start_", "_end_")))
PERSON = frozenset({"name", "email", "uri", "url", "homepage"})


# Names of tags seen, by tag (those whose name does not depend on the document's prefix).
_NAMES: dict[str, str] = {}


def tag_name(el: etree._Element) -> str:
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
        prefix = NAMESPACES.get(lowered)
        if prefix is None:  # unknown namespace: the document's own prefix, as feedparser
            given = el.prefix
            return f"{given.lower()}:{local.lower()}" if given else local.lower()
        name = f"{prefix.lower()}:{local.lower()}" if prefix else local.lower()
    if len(_NAMES) < 4096:  # bounded: a hostile feed may invent any number of tags
        _NAMES[tag] = name
    return name


@functools.lru_cache(maxsize=1024)
def known_to_feedparser(name: str) -> bool:
    key = name.replace(":", "_")
    return f"_start_{key}" in HANDLERS or f"_end_{key}" in HANDLERS


def attribute(el: etree._Element, name: str) -> str | None:
    """An attribute by its lowercased local name, in any namespace (as feedparser looks)."""
    for key, value in el.attrib.items():
        local = key.rsplit("}", 1)[-1]
        if local.lower() == name:
            return str(value)
    return None
