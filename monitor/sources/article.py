"""Article pages → releases: configured CSS selectors first, page heuristics after.

One page may print several releases (the State Department archive puts a Media Note and
Remarks to the Press on one page): with `article.release` set, each matching element is
one release, and its `id` attribute (without one: a hash of its title and date) becomes
the release's anchor.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from bs4 import BeautifulSoup, Tag

from monitor.errors import ParseError
from monitor.models import RawItem
from monitor.normalize.dates import split_updated
from monitor.normalize.text import clean_line
from monitor.normalize.urls import canonical_url
from monitor.sources.base import ArticleSelectors

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
    return BeautifulSoup(content, "lxml", from_encoding=charset_of(content_type))


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


def _default_title(soup: BeautifulSoup) -> str:
    og = _meta(soup, ({"property": "og:title"},))
    h1 = _text(soup.find("h1"))
    if h1:
        return h1
    if og:
        return og
    title = _text(soup.find("title"))
    return re.split(r"\s+[|–—]\s+", title)[0] if title else ""


_MIN_BLOCK = 200


def _largest_text_block(scope: Tag) -> Tag:
    """The element whose direct <p> children hold the most text: usually the story."""
    best, best_len = scope, _MIN_BLOCK - 1
    for el in scope.find_all(["div", "section", "article", "main", "td"]):
        length = sum(len(p.get_text()) for p in el.find_all("p", recursive=False))
        if length > best_len:
            best, best_len = el, length
    return best


def _default_body(scope: Tag) -> Tag:
    marked = scope.select_one('[itemprop="articleBody"]')
    if isinstance(marked, Tag):
        return marked
    container = scope.find("article") or scope.find("main") or scope
    assert isinstance(container, Tag)
    return _largest_text_block(container)


def _date_text(scope: Tag, soup: BeautifulSoup, selector: str | None) -> tuple[str, str | None]:
    if selector:
        el = scope.select_one(selector)
        if el is not None:
            return split_updated(str(el.get("datetime") or _text(el)))
        return "", None
    meta = _meta(soup, _DATE_META)
    if meta:
        return meta, _meta(soup, _UPDATED_META) or None
    time_el = scope.find("time")
    if isinstance(time_el, Tag):
        return split_updated(str(time_el.get("datetime") or _text(time_el)))
    for el in scope.find_all(class_=_DATE_CLASS):
        text = _text(el)
        if text and any(ch.isdigit() for ch in text) and len(text) < 120:
            return split_updated(text)
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
        title = _select_text(scope, selectors.title) or ("" if split else _default_title(soup))
        if split and not title:
            heading = scope.find(["h1", "h2", "h3"])
            title = _text(heading if isinstance(heading, Tag) else None)
        body_el = scope.select_one(selectors.body) if selectors.body else None
        if body_el is None:
            body_el = _default_body(scope)
        published, updated = _date_text(scope, soup, selectors.date)
        if selectors.speakers:
            authors = [_text(el) for el in scope.select(selectors.speakers) if _text(el)]
        else:
            authors = _default_authors(scope, soup)
        items.append(
            RawItem(
                url=page_url,
                title=title,
                content_html=str(body_el),
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
