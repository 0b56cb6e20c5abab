"""The kind of a release comes from where the source says it: the feed, the article page
(state.gov prints it above the title), or a per-source title/URL mapping in sources.yaml."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest

from monitor.config import load_yaml, parse_sources
from monitor.errors import ConfigError
from monitor.fetch import Fetcher
from monitor.fixture_server import FixtureServer, Route
from monitor.normalize import normalize
from monitor.pipeline import PollContext, run_source
from monitor.settings import Settings
from monitor.sources import SourceOptions
from monitor.sources.article import extract_releases
from monitor.sources.base import ArticleSelectors
from monitor.sources.rss import RssSource
from monitor.store import Store
from tests.conftest import CONFIG, FIXTURES
from tests.corpus import corpus_files


def _shipped(source_id: str) -> SourceOptions:
    return parse_sources(load_yaml(CONFIG / "sources.yaml")).get(source_id)


def _kinds(options: SourceOptions, path: Path) -> list[str | None]:
    raws = RssSource(options).parse(path.read_bytes(), options.url, None)
    now = datetime.now(UTC)
    return [
        normalize(
            r, source_id=options.id, fetched_at=now, default_kind=options.kind, kinds=options.kinds
        ).kind
        for r in raws
    ]


def test_article_page_says_the_kind_above_the_title() -> None:
    [release] = extract_releases(
        (FIXTURES / "state/readout-2022.html").read_bytes(),
        "https://www.state.gov/secretary-blinkens-call-with-republic-of-korea-foreign-minister-park/",
        ArticleSelectors(),
    )
    assert release.kind == "Readout"
    assert release.title == "Secretary Blinken’s Call with Republic of Korea Foreign Minister Park"


def test_shipped_state_feed_maps_titles_and_urls_to_kinds() -> None:
    options = _shipped("state-press-releases")
    assert _kinds(options, FIXTURES / "state/press-releases-2022.rss") == [
        "Department Press Briefing",
        "Readout",
        "Remarks",
    ]
    # The feed's own category wins over the mapping (the recorded 2018 feed states it).
    assert _kinds(options, FIXTURES / "state/press-releases.rss") == ["Media Note", "Remarks"]


def test_real_state_feed_gets_kinds_from_the_mapping() -> None:
    """The real feed's categories are empty for every item: without the mapping no item has
    a kind; with it, the briefings, readouts, remarks and travel notes have theirs."""
    options = _shipped("state-press-releases")
    bare = options.model_copy(update={"kinds": []})
    files = corpus_files("statedept-press-rss", "*.rss")
    before = [k for path in files for k in _kinds(bare, path)]
    after = [k for path in files for k in _kinds(options, path)]
    print(
        f"\nstate.gov items with a kind: {sum(map(bool, before))}/{len(before)} without "
        f"the mapping, {sum(map(bool, after))}/{len(after)} with it"
    )
    assert len(after) >= 60 and not any(before)
    assert sum(map(bool, after)) >= 0.6 * len(after)
    assert after.count("Department Press Briefing") >= 4
    assert after.count("Readout") >= 10


def _sources(tmp_path: Path, text: str) -> SourceOptions:
    (tmp_path / "sources.yaml").write_text(text)
    return parse_sources(load_yaml(tmp_path / "sources.yaml")).sources[0]


def test_kinds_mapping_is_validated_with_file_and_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        _sources(
            tmp_path,
            "sources:\n"
            "  - id: s\n"
            "    type: rss\n"
            "    url: https://e.org/f\n"
            "    kinds:\n"
            "      - {title: 'Call with', kind: Readout}\n"
            "      - {title: '(unclosed', kind: Remarks}\n"
            "      - {kind: Media Note}\n"
            "      - {titel: 'x', kind: Y}\n",
        )
    text = str(err.value)
    assert "sources.yaml:7: source 's': 'kinds.1.title': '(unclosed' is not a valid pattern" in text
    assert "sources.yaml:8: source 's': 'kinds.2': kind 'Media Note': give a 'title'" in text
    assert (
        "sources.yaml:9: source 's': unknown option 'kinds.3.titel' (did you mean 'title'?)" in text
    )


def test_kind_rule_needs_every_pattern_it_gives(tmp_path: Path) -> None:
    options = _sources(
        tmp_path,
        "sources:\n"
        "  - id: s\n    type: rss\n    url: https://e.org/f\n    kind: Press Statement\n"
        "    kinds:\n"
        "      - {title: '^Department Press Briefing', url: '/briefings/', kind: Briefing}\n",
    )
    rule = options.kinds[0]
    assert rule.matches("Department Press Briefing – June 2", "https://e.org/briefings/x/")
    assert rule.matches("department press briefing", "https://e.org/BRIEFINGS/x/")
    assert not rule.matches("Department Press Briefing", "https://e.org/x/")


def test_followed_page_gives_the_kind_the_feed_lacks(tmp_path: Path) -> None:
    page = "/secretary-blinkens-call-with-republic-of-korea-foreign-minister-park/"
    feed = (FIXTURES / "state/press-releases-2022.rss").read_text()
    with FixtureServer() as server:
        feed = feed.replace("https://www.state.gov/", server.url("/"))
        server.routes["/feed"] = Route(body=feed.encode(), content_type="application/rss+xml")
        server.routes[page] = Route(
            body=(FIXTURES / "state/readout-2022.html").read_bytes(), content_type="text/html"
        )
        options = _sources(
            tmp_path,
            f"sources:\n  - {{id: state, type: rss, url: '{server.url('/feed')}', "
            "follow_links: true, allow_private: true}\n",
        )
        settings = Settings(database_url=f"sqlite:///{tmp_path}/m.db", host_delay=0.0)
        store = Store.open(settings.database_url)

        async def poll() -> list[str | None]:
            async with Fetcher(settings) as fetcher:
                result = await run_source(options, PollContext(fetcher=fetcher, store=store))
            assert result.status == "ok", result.error
            return [c.document.kind for c in result.changes if c.document.url.endswith(page)]

        assert asyncio.run(poll()) == ["Readout"]
        store.close()
