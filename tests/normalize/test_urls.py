from __future__ import annotations

import re

import pytest

from monitor.errors import ParseError
from monitor.normalize.urls import canonical_url, document_id


def test_tracking_parameters_and_fragment_are_dropped() -> None:
    url = "https://www.theepochtimes.com/pence_2441222.html?utm_source=rss&utm_medium=feed#top"
    assert canonical_url(url) == ("https://www.theepochtimes.com/pence_2441222.html", "top")


def test_meaningful_query_is_kept_and_host_lowercased() -> None:
    assert canonical_url("HTTPS://Home.Treasury.gov:443/news?page=2&fbclid=x")[0] == (
        "https://home.treasury.gov/news?page=2"
    )


def test_relative_links_resolve_against_the_page() -> None:
    assert canonical_url("/news/press-releases/sm0297", "https://home.treasury.gov/news/")[0] == (
        "https://home.treasury.gov/news/press-releases/sm0297"
    )


def test_id_is_stable_and_anchor_distinguishes_releases_on_one_page() -> None:
    page = "https://2017-2021.state.gov/briefings-statements/2018-11-20/"
    assert document_id(page, "media-note") == document_id(page, "media-note")
    assert document_id(page, "media-note") != document_id(page, "remarks-to-the-press")
    assert document_id(page) != document_id(page, "media-note")


def test_ipv6_hosts_keep_their_brackets() -> None:
    assert canonical_url("http://[::1]:8080/a")[0] == "http://[::1]:8080/a"
    assert canonical_url("http://[2001:DB8::1]/a")[0] == "http://[2001:db8::1]/a"


def test_blank_parameters_stay_as_written() -> None:
    assert canonical_url("https://e.org/a?print")[0] == "https://e.org/a?print"
    assert canonical_url("https://e.org/a?print&utm_source=x&b=")[0] == "https://e.org/a?print&b="
    assert canonical_url("https://e.org/a?q=a%20b&page=2")[0] == "https://e.org/a?q=a+b&page=2"


@pytest.mark.parametrize(
    "url", ["http://x:99999/", "http://x:port/", "http://[::1/a", "http://[zz]/a"]
)
def test_a_malformed_url_is_a_parse_error_naming_it(url: str) -> None:
    with pytest.raises(ParseError, match=re.escape(url)):
        canonical_url(url)
