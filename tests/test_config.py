"""sources.yaml validation: every mistake named by file, line and source id."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.config import load_config
from monitor.errors import ConfigError
from monitor.hosts import HostPolicy
from monitor.sources.page import PageOptions
from monitor.sources.rss import RssOptions
from tests.conftest import CONFIG


def write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "sources.yaml").write_text(text, encoding="utf-8")
    return tmp_path


def errors_of(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text))
    return info.value.messages


def test_shipped_config_is_valid_and_typed() -> None:
    sources = load_config(CONFIG).sources.sources
    assert {s.id for s in sources} >= {"state-press-releases", "treasury-press-releases"}
    types = {type(s) for s in sources}
    assert types == {RssOptions, PageOptions}
    assert load_config(CONFIG).sources.get("state-press-releases").interval_seconds == 600


GOOD = """sources:
  - id: ok-feed
    type: rss
    url: https://example.org/feed
"""

BAD_CASES = [
    (
        "unknown-type",
        "  - id: x\n    type: rsss\n    url: https://e.org/\n",
        "sources.yaml:6: source 'x': unknown type 'rsss' (did you mean 'rss'?)",
    ),
    (
        "bad-interval",
        "  - id: x\n    type: rss\n    url: https://e.org/\n    every: 5s\n",
        "sources.yaml:8: source 'x': 'every': '5s' is below the floor of 10s",
    ),
    (
        "unknown-option",
        "  - id: x\n    type: rss\n    url: https://e.org/\n    folow_links: true\n",
        "sources.yaml:8: source 'x': unknown option 'folow_links' (did you mean 'follow_links'?)",
    ),
    (
        "bad-id",
        "  - id: Bad_Id\n    type: rss\n    url: https://e.org/\n",
        "sources.yaml:5: source 'Bad_Id': 'id': 'Bad_Id' is not a valid id: use lowercase letters",
    ),
    (
        "missing-url",
        "  - id: x\n    type: page\n",
        "sources.yaml:5: source 'x': missing required option 'url'",
    ),
    (
        "not-http",
        "  - id: x\n    type: rss\n    url: ftp://e.org/\n",
        "sources.yaml:7: source 'x': 'url': 'ftp://e.org/' is not an http(s) URL",
    ),
    (
        "bad-cron",
        "  - id: x\n    type: rss\n    url: https://e.org/\n    cron: '99 * * * *'\n",
        "sources.yaml:8: source 'x': 'cron': cron '99 * * * *' is invalid",
    ),
    (
        "duplicate",
        "  - id: ok-feed\n    type: rss\n    url: https://e.org/\n",
        "sources.yaml:5: source 'ok-feed': duplicate id (first defined on line 2)",
    ),
    (
        "bad-zone",
        "  - id: x\n    type: rss\n    url: https://e.org/\n    timezone: Mars/Base\n",
        "sources.yaml:8: source 'x': 'timezone': unknown time zone 'Mars/Base'",
    ),
    (
        "listing-typo",
        "  - id: x\n    type: page\n    url: https://e.org/\n    listing: {itm: li}\n",
        "sources.yaml:8: source 'x': ",
    ),
]


@pytest.mark.parametrize(("case", "extra", "expected"), BAD_CASES, ids=[c[0] for c in BAD_CASES])
def test_invalid_source_names_file_line_and_id(
    tmp_path: Path, case: str, extra: str, expected: str
) -> None:
    messages = errors_of(tmp_path, GOOD + extra)
    assert any(m.startswith(str(tmp_path / expected.split(":")[0])) for m in messages)
    assert any(expected.split("/", 1)[-1] in m for m in messages), messages


def test_every_error_is_reported_at_once(tmp_path: Path) -> None:
    text = GOOD + "  - id: a\n    type: nope\n    url: https://e.org/\n  - id: b\n    type: rss\n"
    assert len(errors_of(tmp_path, text)) == 2


def test_yaml_syntax_error_has_a_line(tmp_path: Path) -> None:
    [message] = errors_of(tmp_path, "sources:\n  - id: x\n   type: rss\n")
    assert message.startswith(f"{tmp_path}/sources.yaml:3: invalid YAML")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="sources.yaml: file not found"):
        load_config(tmp_path)


def test_wrong_top_level(tmp_path: Path) -> None:
    assert errors_of(tmp_path, "- id: x\n") == [
        f"{tmp_path}/sources.yaml:1: expected a top-level 'sources:' list"
    ]


def test_unknown_source_id_suggests_the_closest() -> None:
    with pytest.raises(ConfigError, match="No source with id 'state-press'.*did you mean"):
        load_config(CONFIG).sources.get("state-press")


# Ten lines, under 1 KB, that expand to 9**9 (387 million) scalars if every alias is
# followed: `monitor check` grew past 19 GB on it before the loader bounded expansion.
ALIAS_BOMB = "".join(
    [
        "a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n",
        *(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]\n" for i in range(1, 10)),
        "rules: []\n",
    ]
)


def test_alias_bomb_is_refused_with_the_file_named(tmp_path: Path) -> None:
    assert len(ALIAS_BOMB) < 1024
    write(tmp_path, GOOD)
    (tmp_path / "rules.yaml").write_text(ALIAS_BOMB)
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path)
    [message] = info.value.messages
    assert message.startswith(f"{tmp_path}/rules.yaml: too many YAML aliases")


def test_recursive_alias_is_refused(tmp_path: Path) -> None:
    write(tmp_path, GOOD)
    (tmp_path / "rules.yaml").write_text("loop: &loop [*loop]\nrules: []\n")
    with pytest.raises(ConfigError, match=r"rules.yaml:1: .*refers to itself"):
        load_config(tmp_path)


def test_oversized_config_file_is_refused(tmp_path: Path) -> None:
    write(tmp_path, GOOD + "#" + "x" * (1024 * 1024) + "\n")
    [message] = errors_of(tmp_path, (tmp_path / "sources.yaml").read_text())
    assert message.startswith(f"{tmp_path}/sources.yaml: file is larger than 1 MB")


def test_ordinary_anchors_and_merge_keys_still_load(tmp_path: Path) -> None:
    text = "x-page: &page {type: page, listing: {item: li, link: a}}\nsources:\n" + "".join(
        f"  - {{<<: *page, id: page-{i}, url: 'https://e.org/{i}'}}\n" for i in range(200)
    )
    sources = load_config(write(tmp_path, text)).sources.sources
    assert len(sources) == 200
    assert all(isinstance(s, PageOptions) and s.listing is not None for s in sources)


def test_hosts_section_sets_politeness_per_host(tmp_path: Path) -> None:
    config = load_config(
        write(
            tmp_path,
            "hosts:\n"
            "  WWW.State.gov: {concurrency: 2, delay: 1.5}\n"
            "  127.0.0.1:8080: {delay: 0}\n"
            "sources:\n"
            "  - {id: a, type: rss, url: 'https://www.state.gov/feed'}\n",
        )
    )
    assert config.sources.host_policies() == {
        "www.state.gov": HostPolicy(concurrency=2, delay=1.5),
        "127.0.0.1:8080": HostPolicy(concurrency=None, delay=0),
    }


def test_a_bad_hosts_entry_names_file_line_and_host(tmp_path: Path) -> None:
    errors = errors_of(
        tmp_path,
        "sources:\n"
        "  - {id: a, type: rss, url: 'https://www.state.gov/feed'}\n"
        "hosts:\n"
        "  www.state.gov: {concurrency: 0}\n"
        "  example.org: {pace: 3}\n",
    )
    assert len(errors) == 2
    assert errors[0].endswith(
        ":4: host 'www.state.gov': 'concurrency': Input should be greater than or equal to 1"
    )
    assert ":5: host 'example.org':" in errors[1] and "pace" in errors[1]
