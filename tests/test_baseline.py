"""A new source does not flood: its first poll stores what the feed already holds and
alerts only on items published within the source's `alert_max_age`."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from monitor.config import load_yaml, parse_sources
from monitor.fetch import Fetcher
from monitor.fixture_server import FixtureServer, Route
from monitor.models import PollResult
from monitor.pipeline import PollContext, run_source
from monitor.report import summary_table
from monitor.rules import Rule, RuleSet, parse_query
from monitor.settings import Settings
from monitor.sources import SourceOptions
from monitor.store import Store
from tests.conftest import FIXTURES
from tests.corpus import corpus_files
from tests.test_cli import monitor

# The recorded 2018 feed: "U.S.-ROK Working Group" (2018-11-20 21:06 UTC, mentions
# Biegun) and "Remarks to the Press" (19:52 UTC, mentions Special Representative Biegun).
AFTER_RELEASES = datetime(2018, 11, 21, 12, 0, tzinfo=UTC)


def _rules(query: str = "Biegun") -> RuleSet:
    return RuleSet([Rule("biegun", "Biegun", query, parse_query(query), notify=("desk",))])


def _source(url: str, tmp_path: Path, extra: str = "") -> SourceOptions:
    (tmp_path / "sources.yaml").write_text(
        f"sources:\n  - {{id: state, type: rss, url: '{url}'{extra}}}\n"
    )
    return parse_sources(load_yaml(tmp_path / "sources.yaml")).sources[0]


def _poll(
    source: SourceOptions, store: Store, now: datetime, *, baseline: bool = True
) -> PollResult:
    settings = Settings(database_url="sqlite://", host_delay=0.0)

    async def run() -> PollResult:
        async with Fetcher(settings) as fetcher:
            ctx = PollContext(
                fetcher=fetcher,
                store=store,
                clock=lambda: now,
                rules=_rules(),
                baseline=baseline,
            )
            return await run_source(source, ctx)

    return asyncio.run(run())


@pytest.fixture
def feed_server() -> Iterator[FixtureServer]:
    with FixtureServer() as server:
        server.routes["/feed"] = Route(
            body=(FIXTURES / "state/press-releases.rss").read_bytes(),
            content_type="application/rss+xml",
        )
        yield server


def test_first_poll_stores_without_alerting_old_items(
    feed_server: FixtureServer, tmp_path: Path
) -> None:
    store = Store.open(f"sqlite:///{tmp_path}/m.db")
    source = _source(feed_server.url("/feed"), tmp_path)
    first = _poll(source, store, datetime(2026, 11, 23, tzinfo=UTC))
    assert first.status == "ok" and first.baseline
    assert first.count("new") == 2 and all(c.matches for c in first.changes)
    assert (first.alerted, first.withheld) == (0, 2)
    assert store.outbox.depth() == 0
    assert "baseline: 2 stored, 0 alerted (2 older matching not alerted)" in summary_table([first])
    # Later polls are no baseline: a release added to the feed alerts as always.
    feed = (FIXTURES / "state/press-releases.rss").read_text()
    added = feed.replace("<item>", _NEW_ITEM + "<item>", 1)
    feed_server.routes["/feed"] = Route(body=added.encode(), content_type="application/rss+xml")
    second = _poll(source, store, datetime(2026, 11, 23, 1, tzinfo=UTC))
    assert not second.baseline and second.count("new") == 1
    assert second.baseline_note() is None
    assert store.outbox.depth() == 1
    store.close()


_NEW_ITEM = """<item>
		<title>Special Representative Biegun Travels to Seoul</title>
		<link>https://www.state.gov/special-representative-biegun-travels-to-seoul/</link>
		<pubDate>Wed, 21 Nov 2018 15:00:00 +0000</pubDate>
		<guid isPermaLink="false">https://www.state.gov/?p=112300</guid>
		<description><![CDATA[Stephen Biegun will travel to Seoul.]]></description>
	</item>
	"""


@pytest.mark.parametrize(("max_age", "alerted"), [("2d", 2), ("1h", 0), ("30d", 2)])
def test_baseline_alerts_items_within_alert_max_age(
    feed_server: FixtureServer, tmp_path: Path, max_age: str, alerted: int
) -> None:
    store = Store.open(f"sqlite:///{tmp_path}/m.db")
    source = _source(feed_server.url("/feed"), tmp_path, f", alert_max_age: {max_age}")
    result = _poll(source, store, AFTER_RELEASES)
    assert result.baseline and result.alerted == alerted
    assert store.outbox.depth() == alerted
    store.close()


def test_a_source_that_failed_before_still_gets_its_baseline(
    feed_server: FixtureServer, tmp_path: Path
) -> None:
    store = Store.open(f"sqlite:///{tmp_path}/m.db")
    missing = _source(feed_server.url("/missing"), tmp_path)
    assert _poll(missing, store, AFTER_RELEASES).status == "error"
    result = _poll(_source(feed_server.url("/feed"), tmp_path), store, datetime.now(UTC))
    assert result.baseline and store.outbox.depth() == 0
    store.close()


def test_first_poll_can_be_no_baseline(feed_server: FixtureServer, tmp_path: Path) -> None:
    store = Store.open(f"sqlite:///{tmp_path}/m.db")
    result = _poll(
        _source(feed_server.url("/feed"), tmp_path), store, datetime.now(UTC), baseline=False
    )
    assert not result.baseline and store.outbox.depth() == 2
    store.close()


def test_alert_max_age_is_validated(tmp_path: Path) -> None:
    from monitor.errors import ConfigError

    with pytest.raises(
        ConfigError,
        match=r"sources.yaml:2: source 'state': 'alert_max_age': "
        r"'two days' is not an age",
    ):
        _source("https://e.org/f", tmp_path, ", alert_max_age: two days")


def test_real_state_feed_added_as_a_source_does_not_flood(tmp_path: Path) -> None:
    """A real state.gov snapshot (2021) polled today by a new source: every item stored,
    none alerted, though the rule matches; the next snapshot's new items do alert."""
    first, later = corpus_files("statedept-press-rss", "*.rss")[:2]
    store = Store.open(f"sqlite:///{tmp_path}/m.db")
    with FixtureServer() as server:
        server.routes["/feed"] = Route(body=first.read_bytes(), content_type="application/rss+xml")
        source = _source(server.url("/feed"), tmp_path)
        settings = Settings(database_url="sqlite://", host_delay=0.0)

        async def run(now: datetime) -> PollResult:
            async with Fetcher(settings) as fetcher:
                ctx = PollContext(
                    fetcher=fetcher, store=store, clock=lambda: now, rules=_rules("Secretary")
                )
                return await run_source(source, ctx)

        result = asyncio.run(run(datetime(2026, 11, 23, tzinfo=UTC)))
        assert result.baseline and result.count("new") == 10
        assert result.withheld >= 5 and result.alerted == 0 and store.outbox.depth() == 0
        server.routes["/feed"] = Route(body=later.read_bytes(), content_type="application/rss+xml")
        after = asyncio.run(run(datetime(2026, 11, 23, 1, tzinfo=UTC)))
        assert not after.baseline and after.count("new") == 10
        assert store.outbox.depth() == sum(1 for c in after.changes if c.matches) > 0
    store.close()


@pytest.mark.slow
def test_once_shows_the_baseline(tmp_path: Path, feed_server: FixtureServer) -> None:
    (tmp_path / "sources.yaml").write_text(
        f"sources:\n  - {{id: state, type: rss, url: '{feed_server.url('/feed')}'}}\n"
    )
    (tmp_path / "rules.yaml").write_text(
        "rules:\n  - {id: biegun, name: Biegun, query: Biegun, notify: [desk]}\n"
    )
    (tmp_path / "channels.yaml").write_text(
        f"channels:\n  desk: {{type: webhook, url: '{feed_server.url('/hook')}'}}\n"
    )
    env = {
        "MONITOR_CONFIG_DIR": str(tmp_path),
        "MONITOR_DATABASE_URL": f"sqlite:///{tmp_path}/m.db",
        "MONITOR_HOST_DELAY": "0",
    }
    once = monitor("once", env=env)
    assert once.returncode == 0, once.stderr
    assert "baseline: 2 stored, 0 alerted (2 older matching not alerted)" in once.stdout
    assert "Nothing to deliver." in once.stdout or "CHANNEL" not in once.stdout
    again = monitor("once", env=env)
    assert "baseline" not in again.stdout
