"""`type: page`: an HTML listing page (items picked by CSS selectors) or a single page."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, Literal
from urllib.parse import urljoin

from pydantic import BaseModel, ConfigDict

from monitor.errors import ParseError
from monitor.models import RawItem
from monitor.normalize.text import clean_line
from monitor.sources.base import Source, SourceOptions, register

if TYPE_CHECKING:  # bs4 and readability load when a page is parsed, not when config is read
    from bs4 import Tag


class ListingSelectors(BaseModel):
    """CSS selectors of a listing page: `item` finds each entry, the rest apply inside it."""

    model_config = ConfigDict(extra="forbid")

    item: str
    link: str = "a[href]"
    title: str | None = None
    date: str | None = None
    kind: str | None = None
    summary: str | None = None


class PageOptions(SourceOptions):
    """Options of an HTML source; without `listing` the page itself is the release."""

    type: Literal["page"] = "page"
    listing: ListingSelectors | None = None


def _text(el: Tag | None) -> str:
    return clean_line(el.get_text(" ")) if el is not None else ""


@register
class PageSource(Source):
    """A listing page whose entries link to releases, or one page watched as a release."""

    type_name: ClassVar[str] = "page"
    Options: ClassVar[type[SourceOptions]] = PageOptions

    def parse(self, content: bytes, url: str, content_type: str | None) -> list[RawItem]:
        from monitor.sources.article import extract_releases, make_soup

        options = self.options
        assert isinstance(options, PageOptions)
        if options.listing is None:
            return extract_releases(content, url, options.article, content_type)
        listing = options.listing
        soup = make_soup(content, content_type)
        entries = soup.select(listing.item)
        if not entries:
            raise ParseError(f"listing selector '{listing.item}' matched nothing on the page")
        items: list[RawItem] = []
        for entry in entries:
            link_el = entry if entry.name == "a" else entry.select_one(listing.link)
            href = link_el.get("href") if link_el is not None else None
            if not href:
                continue
            title_el = entry.select_one(listing.title) if listing.title else link_el
            date_el = entry.select_one(listing.date) if listing.date else None
            date = str(date_el.get("datetime") or _text(date_el)) if date_el is not None else None
            try:
                link = urljoin(url, str(href))
            except ValueError:  # a malformed link: the pipeline reports it as an item error
                link = str(href)
            items.append(
                RawItem(
                    url=link,
                    title=_text(title_el),
                    summary_html=str(entry.select_one(listing.summary) or "")
                    if listing.summary
                    else "",
                    published=date or None,
                    kind=_text(entry.select_one(listing.kind)) or None if listing.kind else None,
                )
            )
        return items
