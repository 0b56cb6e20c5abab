"""The real-world corpus (`../shared/corpus` or $MONITOR_CORPUS): files nobody here wrote.

Tests that read it skip with a message when it is absent (a user's clone has none).
"""

from __future__ import annotations

import functools
import os
import warnings
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import feedparser
import pytest

from monitor.models import Document, RawItem
from monitor.normalize import normalize
from monitor.sources.rss import RssOptions, RssSource

ROOT = Path(__file__).resolve().parent.parent


def corpus_dir() -> Path:
    """The corpus folder, or skip the calling test."""
    found = Path(os.environ.get("MONITOR_CORPUS") or ROOT.parent / "shared" / "corpus")
    if not (found / "README.md").is_file():
        pytest.skip(f"real-world corpus not found at {found} (set MONITOR_CORPUS to use it)")
    return found


def corpus_files(folder: str, pattern: str = "*") -> list[Path]:
    """Files of one corpus folder, sorted; skips when the folder is missing."""
    files = sorted(p for p in (corpus_dir() / folder).glob(pattern) if p.is_file())
    if not files:
        pytest.skip(f"corpus folder {folder} has no {pattern} files")
    return files


@functools.cache
def _raw_feedparser(path: Path) -> tuple[Any, tuple[warnings.WarningMessage, ...]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        parsed = feedparser.parse(path.read_bytes())
    return parsed, tuple(caught)


def raw_feedparser(path: Path) -> Any:
    """Raw feedparser's reading of a corpus file (`feedparser.parse(its bytes)`), parsed once
    per process: tests/test_corpus.py and tests/sources/test_linkless_corpus.py (one worker:
    their `xdist_group`) read the same ~800 files. The warnings it gave are given again at
    every call, as if it had parsed again. Read it, never change it."""
    parsed, caught = _raw_feedparser(path)
    for warning in caught:
        warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)
    return parsed


def parse_feed(path: Path, **options: object) -> list[RawItem]:
    """A corpus feed through the real `type: rss` parser (no Content-Type known)."""
    options_ = RssOptions(id="corpus", type="rss", url="https://example.org/feed", **options)  # type: ignore[arg-type]
    return RssSource(options_).parse(path.read_bytes(), "https://example.org/feed", None)


def documents(raws: list[RawItem], **options: object) -> list[Document]:
    now = datetime.now(UTC)
    return [normalize(r, source_id="corpus", fetched_at=now, **options) for r in raws]  # type: ignore[arg-type]
