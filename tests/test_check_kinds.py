"""`monitor check` warns when a rule filters on kinds that a source it watches never yields."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.test_cli import monitor

SOURCES = """\
sources:
  - {id: state, type: rss, url: 'https://www.state.gov/rss-feed/press-releases/feed/'}
  - id: state-mapped
    type: rss
    url: 'https://www.state.gov/rss-feed/press-releases/feed/'
    kinds: [{title: "'s Call with", kind: Readout}]
  - {id: treasury, type: page, url: 'https://home.treasury.gov/news/press-releases',
     listing: {item: li}, kind: Press Release}
  - {id: news, type: rss, url: 'https://example.org/feed', kind_from_category: true}
"""
RULES = """\
rules:
  - {id: readouts, name: Readouts, query: Korea, sources: [state], kinds: [Readout]}
  - {id: mapped, name: Mapped, query: Korea, sources: ['state-mapped'], kinds: [readout]}
  - {id: notes, name: Notes, query: Korea, sources: [news], kinds: [Media Note]}
  - {id: any-press, name: Press, query: Korea, kinds: ['Press*']}
  - {id: nowhere, name: Nowhere, query: Korea, sources: ['state*', treasury],
     kinds: [Readout]}
"""


@pytest.mark.slow
def test_check_warns_about_kinds_sources_never_yield(tmp_path: Path) -> None:
    (tmp_path / "sources.yaml").write_text(SOURCES)
    (tmp_path / "rules.yaml").write_text(RULES)
    result = monitor("check", env={"MONITOR_CONFIG_DIR": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    assert "OK: 4 sources, 5 rules" in result.stdout
    warnings = [line for line in result.stderr.splitlines() if "filters on kinds" in line]
    rules = str(tmp_path / "rules.yaml")
    # 'notes' asks for a kind no source names at all: that warning comes first, alone.
    assert f"{rules}:4: warning: rule 'notes': no source sets kind 'Media Note'" in result.stderr
    assert warnings == [
        f"{rules}:2: warning: rule 'readouts' filters on kinds 'Readout', which source 'state'"
        " never yields (it yields no kind; map titles or URLs to kinds with 'kinds:' in"
        " sources.yaml)",
        f"{rules}:6: warning: rule 'nowhere' filters on kinds 'Readout', which source 'state'"
        " never yields (it yields no kind; map titles or URLs to kinds with 'kinds:' in"
        " sources.yaml)",
        f"{rules}:6: warning: rule 'nowhere' filters on kinds 'Readout', which source"
        " 'treasury' never yields (it yields 'Press Release'; map titles or URLs to kinds"
        " with 'kinds:' in sources.yaml)",
    ]


@pytest.mark.slow
def test_shipped_config_checks_without_warnings() -> None:
    result = monitor("check")
    assert result.returncode == 0 and "warning:" not in result.stderr
