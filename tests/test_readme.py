"""The README's commands and examples are true."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from monitor.config import load_config
from monitor.errors import ConfigError
from tests.conftest import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")


def _blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README, flags=re.S)


def _setup_commands() -> list[str]:
    section = README.split("## Set up", 1)[1].split("\n## ", 1)[0]
    return [b.strip() for b in re.findall(r"```sh\n(.*?)```", section, flags=re.S)]


def test_readme_has_exactly_two_setup_commands_and_ci_runs_the_test_one() -> None:
    demo, tests = _setup_commands()
    assert demo.endswith("monitor demo")
    assert tests.endswith("pytest")
    ci_lines = (ROOT / ".ci/run").read_text().splitlines()
    runs = [line.replace("-q ", "") for line in ci_lines if not line.startswith("#")]
    assert tests.replace("-q ", "") in runs


def test_readme_sources_example_is_valid(tmp_path: Path) -> None:
    [example] = [b for b in _blocks("yaml") if b.startswith("sources:")]
    (tmp_path / "sources.yaml").write_text(example)
    ids = [s.id for s in load_config(tmp_path).sources.sources]
    assert ids == ["state-press-releases", "treasury-press-releases"]


def test_readme_check_output_is_what_check_prints(tmp_path: Path) -> None:
    section = README.split("monitor check\n```", 1)[1]
    shown = re.search(r"```\n(.*?)```", section, flags=re.S)
    assert shown is not None
    for line in shown.group(1).strip().splitlines():
        message = line.split(":", 2)[2]
        source_id = re.search(r"source '([^']+)'", message).group(1)  # type: ignore[union-attr]
        option = "every: 5s" if "every" in message else "folow_links: true"
        (tmp_path / "sources.yaml").write_text(
            f"sources:\n  - id: {source_id}\n    type: rss\n    url: https://e.org/\n    {option}\n"
        )
        with pytest.raises(ConfigError) as info:
            load_config(tmp_path)
        assert [m.split(":", 2)[2] for m in info.value.messages] == [message]


def test_readme_rules_example_is_valid(tmp_path: Path) -> None:
    [example] = [b for b in _blocks("yaml") if b.startswith("terms:")]
    (tmp_path / "sources.yaml").write_text((ROOT / "config/sources.yaml").read_text())
    (tmp_path / "rules.yaml").write_text(example)
    (tmp_path / "channels.yaml").write_text((ROOT / "config/channels.yaml").read_text())
    rules = load_config(tmp_path).rules
    assert [r.id for r in rules.rules] == ["biegun", "sanctions-lifted"]


def test_readme_query_table_examples_parse() -> None:
    from monitor.rules import parse_query
    from monitor.rules.query import Pattern

    section = README.split("The query language is the one of Factiva", 1)[1].split("\n\n", 2)[1]
    examples = re.findall(r"^\| `([^`]+)`", section, flags=re.M)
    assert len(examples) >= 7
    for example in examples:
        parse_query(example, {"biegun": Pattern((("biegun", False),))})


def test_readme_channels_example_is_valid(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    [example] = [b for b in _blocks("yaml") if b.startswith("channels:")]
    monkeypatch.setenv("OPS_WEBHOOK_URL", "https://hooks.example.org/T1")
    monkeypatch.setenv("OPS_HOOK_SECRET", "s3cret")  # secret_env must name a set variable
    monkeypatch.setenv("POLICY_EMAIL_TO", "desk@example.org")  # optional: off while unset
    (tmp_path / "sources.yaml").write_text((ROOT / "config/sources.yaml").read_text())
    (tmp_path / "channels.yaml").write_text(example)
    assert set(load_config(tmp_path).channels) == {"policy-email", "ops-webhook"}


def test_readme_run_command_is_the_image_command() -> None:
    section = README.split("### Running the service", 1)[1]
    [command] = re.findall(r"```sh\n(.*?)```", section, flags=re.S)[:1]
    dockerfile = (ROOT / "Dockerfile").read_text()
    cmd = re.findall(r"^CMD (\[.*\])$", dockerfile, flags=re.M)[-1]
    assert " ".join(json.loads(cmd)) == command.strip() == "monitor run"


def test_readme_learning_rule_example_is_valid(tmp_path: Path) -> None:
    pytest.importorskip("sklearn", reason="scikit-learn is not installed (the learn extra)")
    [example] = [b for b in _blocks("yaml") if b.startswith("labelled:")]
    config = tmp_path / "config"
    config.mkdir()
    (config / "sources.yaml").write_text((ROOT / "config/sources.yaml").read_text())
    (config / "channels.yaml").write_text((ROOT / "config/channels.yaml").read_text())
    (config / "rules.yaml").write_text(example)
    shutil.copytree(ROOT / "fixtures/rules", tmp_path / "fixtures/rules")
    rules = load_config(config).rules
    assert [r.id for r in rules.rules if r.learn] == ["sanctions-change"]
    assert [p.name for p in rules.labelled] == ["labelled.yaml"]
    assert [p.name for p in rules.heldout] == ["heldout.yaml"]
