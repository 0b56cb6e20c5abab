"""rules.yaml validation: a broken rule names file, line, rule and the column in its query."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from monitor.config import load_config
from monitor.errors import ConfigError
from tests.conftest import CONFIG


def config_with(tmp_path: Path, rules_yaml: str) -> Path:
    shutil.copy(CONFIG / "sources.yaml", tmp_path / "sources.yaml")
    (tmp_path / "rules.yaml").write_text(rules_yaml, encoding="utf-8")
    return tmp_path


def errors(tmp_path: Path, rules_yaml: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_config(config_with(tmp_path, rules_yaml))
    return info.value.messages


RULES = """terms:
  sanctions: [sanction*, embargo]
rules:
  - id: ok
    name: OK
    query: '@sanctions'
"""


def test_shipped_rules_load() -> None:
    rules = load_config(CONFIG).rules
    assert [r.id for r in rules.rules] == [
        "biegun",
        "sanctions-change",
        "dprk-weapons-test",
        "us-rok-alliance",
        "ofac-designations",
    ]
    assert rules.get("biegun").notify == ("policy-email",)  # type: ignore[union-attr]


def test_query_error_points_at_the_column(tmp_path: Path) -> None:
    [message] = errors(
        tmp_path, RULES + "  - id: bad\n    name: Bad\n    query: 'sanction* NEAR/8 (impos* OR'\n"
    )
    assert message == (
        f"{tmp_path}/rules.yaml:9: rule 'bad': query: missing ')' at column 28\n"
        "    sanction* NEAR/8 (impos* OR\n"
        "                               ^"
    )


def test_unknown_term_list_suggests_the_closest(tmp_path: Path) -> None:
    [message] = errors(tmp_path, RULES + "  - id: typo\n    name: Typo\n    query: '@sanctons'\n")
    assert message.startswith(
        f"{tmp_path}/rules.yaml:9: rule 'typo': query: unknown term list '@sanctons' "
        "(did you mean '@sanctions'?) at column 1"
    )


def test_bad_term_list_entry(tmp_path: Path) -> None:
    [message] = errors(tmp_path, "terms:\n  x: [ok, 'sa*']\nrules: []\n")
    assert message.startswith(f"{tmp_path}/rules.yaml:2: term list 'x': 'sa*': truncation")


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ("  - id: x\n    name: X\n", "rule 'x': missing required option 'query'"),
        (
            "  - id: x\n    name: X\n    query: a\n    notfiy: [a]\n",
            "rule 'x': unknown option 'notfiy' (did you mean 'notify'?)",
        ),
        (
            "  - id: x\n    name: X\n    query: a\n    on_update: sometimes\n",
            "rule 'x': 'on_update': Input should be 'new-match', 'always' or 'never'",
        ),
        (
            "  - id: x\n    name: X\n    query: a\n    exclude: [questions, negatd]\n",
            "rule 'x': 'exclude.1': unknown mood 'negatd' (did you mean 'negated'?; "
            "moods: questions, negated, conditional)",
        ),
        (
            "  - id: ok\n    name: again\n    query: a\n",
            "rule 'ok': duplicate id (first on line 4)",
        ),
    ],
)
def test_rule_option_errors(tmp_path: Path, entry: str, expected: str) -> None:
    [message] = errors(tmp_path, RULES + entry)
    assert message.split(": ", 1)[1] == expected


def test_sources_and_rules_errors_are_reported_together(tmp_path: Path) -> None:
    config_with(tmp_path, RULES + "  - id: bad\n    name: B\n    query: '('\n")
    (tmp_path / "sources.yaml").write_text(
        "sources:\n  - id: x\n    type: nope\n    url: https://e.org/\n"
    )
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path)
    assert [m.split(":")[0].rsplit("/", 1)[1] for m in info.value.messages] == [
        "sources.yaml",
        "rules.yaml",
    ]


def test_rules_file_is_optional(tmp_path: Path) -> None:
    shutil.copy(CONFIG / "sources.yaml", tmp_path / "sources.yaml")
    assert len(load_config(tmp_path).rules) == 0


def test_exclude_error_names_the_line_of_the_mood(tmp_path: Path) -> None:
    entry = "  - id: x\n    name: X\n    query: a\n    exclude:\n      - questions\n      - maybe\n"
    [message] = errors(tmp_path, RULES + entry)
    assert message.startswith(f"{tmp_path / 'rules.yaml'}:12: rule 'x': 'exclude.1': unknown mood")


def test_exclude_reaches_the_rule(tmp_path: Path) -> None:
    entry = "  - id: x\n    name: X\n    query: a\n    exclude: [questions, conditional]\n"
    config = load_config(config_with(tmp_path, RULES + entry))
    rule = config.rules.get("x")
    assert rule is not None and rule.exclude == {"questions", "conditional"}
