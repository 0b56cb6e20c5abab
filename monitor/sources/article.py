"""Article pages → releases: configured CSS selectors first, then readability-lxml.

One page may print several releases (the State Department archive puts a Media Note and
Remarks to the Press on one page): with `article.release` set, each matching element is
one release, and its `id` attribute (without one: a hash of its title and date) becomes
the release's anchor.

Without a configured body selector the main content is chosen by readability-lxml (a port
of Mozilla Readability's scoring: text and link density, paragraphs, class names); our own
largest-text-block heuristic only runs when it finds nothing. Measured on Readability's
test pages in `bench/extract.py`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Iterator
from typing import Any

import lxml.etree
from bs4 import BeautifulSoup, Tag, UnicodeDammit
from readability import Document as ReadableDocument
from readability.readability import Unparseable

from monitor.errors import ParseError
from monitor.models import RawItem
from monitor.normalize.dates import looks_like_date, split_updated
from monitor.normalize.text import clean_line, html_to_text
from monitor.normalize.urls import canonical_url
from monitor.sources.base import ArticleSelectors

# readability-lxml logs a traceback before raising on a page it cannot parse; we handle
# that failure (our own heuristic takes over), so the traceback is only noise in our logs.
logging.getLogger("readability.readability").setLevel(logging.CRITICAL)

_DATE_CLASS = re.compile(r"date|time|publish|posted|dateline", re.I)
_AUTHOR_CLASS = re.compile(r"byline|author", re.I)
_BY = re.compile(r"^\s*by\s+", re.I)
# Where a page prints what the release is, above its title: state.gov's
# `<p class="article-meta doctype-meta">Readout</p>`, and the same idea on other CMSes.
_KIND_CLASS = re.compile(
    r"^(?:doctype-meta|doctype|doc-type|document-type|article-type|release-type|post-type)$",
    re.I,
)
MAX_KIND = 60
_DATE_META: tuple[dict[str, Any], ...] = (
    {"property": "article:published_time"},
    {"name": "article:published_time"},
    {"itemprop": "datePublished"},
    {"name": "date"},
    {"name": "pubdate"},
    {"name": "DC.date.issued"},
    {"name": "dcterms.date"},
    {"name": "parsely-pub-date"},
)
_UPDATED_META: tuple[dict[str, Any], ...] = (
    {"property": "article:modified_time"},
    {"itemprop": "dateModified"},
)


def charset_of(content_type: str | None) -> str | None:
    """The charset parameter of a Content-Type header, if any."""
    if not content_type:
        return None
    match = re.search(r"charset=[\"']?([\w.:-]+)", content_type, re.I)
    return match.group(1) if match else None


def make_soup(content: bytes | str, content_type: str | None = None) -> BeautifulSoup:
    """Parse HTML with lxml, honouring the HTTP charset before the page's own."""
    if isinstance(content, str):
        return BeautifulSoup(content, "lxml")
    charset = charset_of(content_type)
    soup = BeautifulSoup(content, "lxml", from_encoding=charset)
    if not soup.contents and content.strip():
        # lxml gives up on a page whose bytes contradict its <meta charset> (UTF-8 bytes
        # declared gb2312) and leaves an empty tree: decode by the bytes instead.
        dammit = UnicodeDammit(content, [charset] if charset else [], is_html=True)
        soup = BeautifulSoup(dammit.unicode_markup or "", "lxml")
    return soup


def _text(el: Tag | None) -> str:
    return clean_line(el.get_text(" ")) if el is not None else ""


def _select_text(scope: Tag, selector: str | None) -> str:
    return _text(scope.select_one(selector)) if selector else ""


def _meta(soup: Tag, attrs_options: tuple[dict[str, Any], ...]) -> str:
    for attrs in attrs_options:
        el = soup.find("meta", attrs=attrs)
        if isinstance(el, Tag) and el.get("content"):
            return str(el["content"]).strip()
    return ""


_TITLE_META: tuple[dict[str, Any], ...] = (
    {"property": "og:title"},
    {"name": "og:title"},
    {"name": "twitter:title"},
    {"property": "twitter:title"},
    {"name": re.compile(r"^(?:dc|dcterms)\.title$", re.I)},
    {"name": "parsely-title"},
)
# JSON-LD types whose `name` is the article's title (an Organization's name is not).
_ARTICLE_TYPE = re.compile(r"article|posting|report|release|webpage|blog|news", re.I)


def _json_ld(soup: BeautifulSoup) -> list[dict[str, Any]]:
    """Every object of the page's JSON-LD blocks (lists and `@graph` flattened)."""
    found: list[dict[str, Any]] = []
    for script in soup.find_all("script", type="application/ld+json"):
        try:
            data = json.loads(script.get_text())
        except ValueError:  # broken JSON-LD is common; the page's other metadata still counts
            continue
        stack = data if isinstance(data, list) else [data]
        while stack:
            obj = stack.pop(0)
            if isinstance(obj, dict):
                found.append(obj)
                graph = obj.get("@graph")
                stack.extend(graph if isinstance(graph, list) else [])
            elif isinstance(obj, list):
                stack.extend(obj)
    return found


def _is_article(obj: dict[str, Any]) -> bool:
    kinds = obj.get("@type")
    names = kinds if isinstance(kinds, list) else [kinds]
    return any(isinstance(k, str) and _ARTICLE_TYPE.search(k) for k in names)


def _json_ld_value(objects: list[dict[str, Any]], key: str) -> str:
    for obj in objects:
        value = obj.get(key)
        if isinstance(value, str) and value.strip() and (key != "name" or _is_article(obj)):
            return clean_line(value)
    return ""


def _readable(html: str, url: str) -> ReadableDocument:
    # Links in the summary are made absolute against the page's address.
    return ReadableDocument(html, url=url)


def _readable_title(doc: ReadableDocument | None) -> str:
    if doc is None:
        return ""
    try:
        return clean_line(doc.short_title())
    except (Unparseable, lxml.etree.LxmlError, ValueError):
        return ""


_SITE_SEPARATOR = re.compile(r"\s*[-|–—:·»]\s*")


def _without_site_name(title: str, heading: str) -> str:
    """`heading` where `title` is it plus the site's name ("Call with … - U.S. Department
    of State", "Site | Call with …"), else `title`."""
    if not heading or heading == title or len(heading) < 10:
        return title
    if title.startswith(heading) and _SITE_SEPARATOR.match(title[len(heading) :]):
        return heading
    if title.endswith(heading) and _SITE_SEPARATOR.fullmatch(
        title[: -len(heading)].rsplit(" ", 1)[-1] or " "
    ):
        return heading
    return title


def _default_title(soup: BeautifulSoup, doc: ReadableDocument | None) -> str:
    """The page's own metadata first: <h1> is often the site's name or a teaser's title."""
    objects = _json_ld(soup)
    heading = _text(soup.find("h1"))
    title = (
        _json_ld_value(objects, "headline")
        or _json_ld_value(objects, "name")
        or clean_line(_meta(soup, _TITLE_META))
        or _readable_title(doc)
        or heading
    )
    return _without_site_name(title, heading)


_MIN_BLOCK = 200


def _largest_text_block(scope: Tag) -> Tag:
    """The element whose direct <p> children hold the most text: usually the story."""
    best, best_len = scope, _MIN_BLOCK - 1
    for el in scope.find_all(["div", "section", "article", "main", "td"]):
        length = sum(len(p.get_text()) for p in el.find_all("p", recursive=False))
        if length > best_len:
            best, best_len = el, length
    return best


def _fallback_body(scope: Tag) -> Tag:
    """Our own heuristic, for pages readability-lxml finds nothing on.

    The whole scope is searched: the page's first <article> is often a teaser card, and
    a <meta itemprop="articleBody"> holds a summary at most.
    """
    marked = scope.select_one('[itemprop="articleBody"]:not(meta)')
    if isinstance(marked, Tag) and len(marked.get_text(strip=True)) >= _MIN_BLOCK:
        return marked
    return _largest_text_block(scope)


def _default_body(scope: Tag, doc: ReadableDocument | None) -> str:
    """The scope's main content as HTML: readability-lxml's choice, else our heuristic."""
    try:
        summary = str(doc.summary(html_partial=True)) if doc is not None else ""
    except (Unparseable, lxml.etree.LxmlError, ValueError):
        summary = ""
    if html_to_text(summary).strip():
        return summary
    return str(_fallback_body(scope))


def _date_candidates(scope: Tag, soup: BeautifulSoup, selector: str | None) -> Iterator[str]:
    """Texts that may hold the publication date, date-shaped fields first."""
    if selector:
        for el in scope.select(selector):
            yield str(el.get("datetime") or _text(el))
        return
    for attrs in _DATE_META:
        value = _meta(soup, (attrs,))
        if value:
            yield value
    yield _json_ld_value(_json_ld(soup), "datePublished")
    for el in scope.find_all("time"):
        yield str(el.get("datetime") or _text(el))
    for el in scope.find_all(class_=_DATE_CLASS):
        text = _text(el)
        if len(text) < 120:
            yield text


def _date_text(scope: Tag, soup: BeautifulSoup, selector: str | None) -> tuple[str, str | None]:
    """(published, updated) as printed: the first candidate that reads as a date.

    Free text near a date ("Today 7:30AM", "Posted 3 hours ago", "Clicker 1.1") is
    skipped, and the search goes on to the next candidate.
    """
    for text in _date_candidates(scope, soup, selector):
        published, updated = split_updated(text)
        if not looks_like_date(published):
            continue
        if updated is None and not selector:
            modified = _meta(soup, _UPDATED_META) or _json_ld_value(_json_ld(soup), "dateModified")
            updated = modified if modified and looks_like_date(modified) else None
        return published, updated
    return "", None


def _default_authors(scope: Tag, soup: BeautifulSoup) -> list[str]:
    meta = _meta(soup, ({"name": "author"}, {"property": "article:author"}))
    if meta and not meta.startswith("http"):
        return [meta]
    for el in scope.select('[rel="author"]'):
        if _text(el):
            return [_text(el)]
    for el in scope.find_all(class_=_AUTHOR_CLASS):
        text = _BY.sub("", _text(el)).split(",")[0].strip()
        if text and len(text) < 80:
            return [text]
    return []


def _default_kind(scope: Tag) -> str:
    """The release's kind when the page labels it (state.gov prints it above the title)."""
    for el in scope.find_all(class_=_KIND_CLASS, limit=3):
        text = _text(el)
        if text and len(text) <= MAX_KIND and not text.endswith((".", ":")):
            return text
    return ""


def _anchor(el: Tag, title: str, date: str, taken: set[str]) -> str:
    """The release's anchor: its element id, else a hash of its title and date.

    Never its position: a release added at the top of the page would shift every other
    release's identity onto its neighbour's. Two releases with one title and date are told
    apart by the start of their text.
    """
    if el.get("id"):
        return str(el["id"])
    heading = f"{title}\x1f{date}" if title or date else _text(el)[:300]
    anchor = "release-" + hashlib.sha256(heading.encode("utf-8")).hexdigest()[:16]
    if anchor in taken:
        heading = f"{heading}\x1f{_text(el)[:300]}"
        anchor = "release-" + hashlib.sha256(heading.encode("utf-8")).hexdigest()[:16]
    taken.add(anchor)
    return anchor


def _page_url(soup: BeautifulSoup, url: str) -> str:
    """The page's canonical link when it stays on the same host; else the fetched URL."""
    link = soup.find("link", rel="canonical")
    if isinstance(link, Tag) and link.get("href"):
        try:
            canonical, _ = canonical_url(str(link["href"]), base=url)
            fetched, _ = canonical_url(url)
        except ParseError:  # a broken canonical link is the page's problem, not the release's
            return url
        if canonical.split("/")[2:3] == fetched.split("/")[2:3]:
            return canonical
    return url


def extract_releases(
    content: bytes | str, url: str, selectors: ArticleSelectors, content_type: str | None = None
) -> list[RawItem]:
    """Every release on an article page, as raw items (one unless `release` splits it)."""
    soup = make_soup(content, content_type)
    for selector in selectors.drop:
        for el in soup.select(selector):
            el.decompose()
    html_tag = soup.find("html")
    language = (
        str(html_tag.get("lang")) if isinstance(html_tag, Tag) and html_tag.get("lang") else None
    )
    page_url = _page_url(soup, url)
    split = bool(selectors.release)
    scopes: list[Tag] = list(soup.select(selectors.release)) if selectors.release else [soup]
    items: list[RawItem] = []
    anchors: set[str] = set()
    for scope in scopes:
        body_el = scope.select_one(selectors.body) if selectors.body else None
        title = _select_text(scope, selectors.title)
        doc: ReadableDocument | None = None
        if body_el is None or not (title or split):
            doc = _readable(str(scope), page_url)
        if not title and split:
            heading = scope.find(["h1", "h2", "h3"])
            title = _text(heading if isinstance(heading, Tag) else None)
        elif not title:
            title = _default_title(soup, doc)
        body_html = str(body_el) if body_el is not None else _default_body(scope, doc)
        published, updated = _date_text(scope, soup, selectors.date)
        if selectors.speakers:
            authors = [_text(el) for el in scope.select(selectors.speakers) if _text(el)]
        else:
            authors = _default_authors(scope, soup)
        items.append(
            RawItem(
                url=page_url,
                title=title,
                content_html=body_html,
                published=published or None,
                updated=updated,
                authors=authors,
                kind=(
                    _select_text(scope, selectors.kind) if selectors.kind else _default_kind(scope)
                )
                or None,
                office=_select_text(scope, selectors.office) or None,
                location=_select_text(scope, selectors.location) or None,
                language=language,
                anchor=_anchor(scope, title, published, anchors) if split else None,
            )
        )
    return items
