"""`monitor rules test RULE --why`: hits the rule's `exclude:` ignores, with the reason."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from tests.conftest import CONFIG
from tests.inprocess import run_monitor

RULES = """rules:
  - id: relief
    name: Sanctions relief
    query: 'sanction* NEAR/6 (relief OR lift* OR designat*)'
    exclude: [questions, negated, conditional]
"""


def rules_test(tmp_path: Path, text: str, *options: str) -> subprocess.CompletedProcess[str]:
    shutil.copy(CONFIG / "sources.yaml", tmp_path / "sources.yaml")
    (tmp_path / "rules.yaml").write_text(RULES, encoding="utf-8")
    (tmp_path / "briefing.txt").write_text(text, encoding="utf-8")
    return run_monitor(
        "--config-dir",
        str(tmp_path),
        "rules",
        "test",
        "relief",
        "--file",
        str(tmp_path / "briefing.txt"),
        *options,
    )


BRIEFING = (
    "Department Press Briefing\n\n"
    "QUESTION: Will there be any sanctions relief for the North?\n\n"
    "MR. PRICE: We have nothing to announce today.\n"
)


def test_why_shows_the_excluded_hits_and_the_reason(tmp_path: Path) -> None:
    result = rules_test(tmp_path, BRIEFING, "--why")
    assert result.returncode == 1, result.stderr  # nothing counted
    assert "not matched: every hit is excluded" in result.stdout
    assert (
        "excluded: body: sanction*, relief in a question (a reporter's turn, 'QUESTION:'): "
        "QUESTION: Will there be any sanctions relief for the North?"
    ) in result.stdout


def test_without_why_excluded_documents_are_not_shown(tmp_path: Path) -> None:
    result = rules_test(tmp_path, BRIEFING)
    assert result.returncode == 1, result.stderr
    assert "excluded:" not in result.stdout and "0 matching documents" in result.stdout


def test_a_match_that_counts_lists_the_hits_that_did_not(tmp_path: Path) -> None:
    text = BRIEFING + "\nMR. PRICE: Treasury designated two banks under North Korea sanctions.\n"
    result = rules_test(tmp_path, text, "--why")
    assert result.returncode == 0, result.stderr
    assert "**designated** two banks under North Korea **sanctions**" in result.stdout
    assert "excluded: body: sanction*, relief in a question" in result.stdout
