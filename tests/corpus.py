"""The real-world corpus (`../shared/corpus` or $MONITOR_CORPUS): files nobody here wrote.

Tests that read it skip with a message when it is absent (a user's clone has none).
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

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


def parse_feed(path: Path, **options: object) -> list[RawItem]:
    """A corpus feed through the real `type: rss` parser (no Content-Type known)."""
    options_ = RssOptions(id="corpus", type="rss", url="https://example.org/feed", **options)  # type: ignore[arg-type]
    return RssSource(options_).parse(path.read_bytes(), "https://example.org/feed", None)


def documents(raws: list[RawItem], **options: object) -> list[Document]:
    now = datetime.now(UTC)
    return [normalize(r, source_id="corpus", fetched_at=now, **options) for r in raws]  # type: ignore[arg-type]
