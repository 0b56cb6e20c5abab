"""The lead paragraphs of a release that only repeat its byline, place and time go to their
fields (authors, office, location), not to the start of its body."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from monitor.models import RawItem
from monitor.normalize import normalize
from monitor.normalize.text import clean_line
from monitor.sources.rss import RssOptions, RssSource
from tests.conftest import FIXTURES
from tests.corpus import corpus_files, documents, parse_feed


def _first(body: str) -> str:
    return body.split("\n\n", 1)[0]


def _state_2022() -> list[RawItem]:
    source = RssSource(RssOptions(id="s", type="rss", url="https://www.state.gov/rss-feed/"))
    return source.parse(
        (FIXTURES / "state/press-releases-2022.rss").read_bytes(), "https://www.state.gov/", None
    )


def test_byline_place_and_time_leave_the_body() -> None:
    briefing, readout, remarks = documents(_state_2022())
    assert briefing.body.startswith("MR PRICE: Good afternoon, everyone.")
    assert briefing.authors == ["Ned Price, Department Spokesperson"]
    assert briefing.location == "WASHINGTON, D.C."
    assert "2:17 p.m. EDT" not in briefing.body
    assert briefing.summary.startswith("MR PRICE: Good afternoon")
    assert readout.office == "Office of the Spokesperson" and readout.authors == []
    assert readout.body.startswith("The following is attributable to Spokesperson Ned Price:")
    assert remarks.body.startswith("SECRETARY BLINKEN: Good morning")
    assert remarks.location == "Washington, D.C."


@pytest.mark.parametrize(
    ("html", "body"),
    [
        # A heading after the byline that is a sentence stays.
        (
            "<p>Office of the Spokesperson</p><p>The United States condemns the launch.</p>",
            "The United States condemns the launch.",
        ),
        # Not the byline: nothing moves.
        (
            "<p>Washington, D.C.</p><p>The talks went well.</p>",
            "Washington, D.C.\n\nThe talks went well.",
        ),
        # A body that is only the byline keeps it rather than becoming empty.
        ("<p>Office of the Spokesperson</p>", "Office of the Spokesperson"),
        # A date line under the byline goes too.
        (
            "<p>Office of the Spokesperson</p><p>Via Teleconference</p><p>July 21, 2021</p>"
            "<p>MODERATOR: Thank you.</p>",
            "MODERATOR: Thank you.",
        ),
    ],
)
def test_lead_rules(html: str, body: str) -> None:
    raw = RawItem(url="https://e.org/a", title="t", content_html=html, office=None)
    raw.authors = ["Office of the Spokesperson"]
    doc = normalize(raw, source_id="s", fetched_at=datetime.now(UTC))
    assert doc.body == body


def test_location_from_the_page_is_kept() -> None:
    raw = RawItem(
        url="https://e.org/a",
        content_html="<p>Office of the Spokesperson</p><p>Seoul, Korea</p><p>Text here.</p>",
        authors=["Office of the Spokesperson"],
        location="Press Briefing Room, Washington, DC",
    )
    doc = normalize(raw, source_id="s", fetched_at=datetime.now(UTC))
    assert doc.location == "Press Briefing Room, Washington, DC"
    assert doc.body == "Text here."


def test_state_gov_bodies_no_longer_begin_with_the_byline() -> None:
    """The real state.gov feed (6 snapshots): before, nearly every body began with its
    byline; now none does, and the byline is in authors or office."""
    raws = [r for path in corpus_files("statedept-press-rss", "*.rss") for r in parse_feed(path)]
    docs = documents(raws)
    bylines = [clean_line(a) for r in raws for a in r.authors[:1]]
    assert len(docs) == len(bylines) >= 60
    starts = sum(_first(d.body) in b for d, b in zip(docs, bylines, strict=True))
    print(f"\nstate.gov bodies beginning with the byline: {starts}/{len(docs)} (60/60 before)")
    assert starts == 0
    # Several speakers joined into one feed author string are one author each again.
    assert all(
        b == d.office or (d.authors and all(a in b for a in d.authors))
        for d, b in zip(docs, bylines, strict=True)
    )
    datelines = [d for d in docs if _first(d.body) in {"Washington D.C.", "Washington, D.C."}]
    assert datelines == []
    located = [d.location for d in docs if d.location]
    assert len(located) >= 8, located
