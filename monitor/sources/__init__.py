"""Source types, one module each; importing this package registers them all."""

from monitor.sources import page, rss, sanctions
from monitor.sources.base import (
    REGISTRY,
    Snapshot,
    SnapshotSource,
    Source,
    SourceOptions,
    build,
    known_types,
)

__all__ = [
    "REGISTRY",
    "Snapshot",
    "SnapshotSource",
    "Source",
    "SourceOptions",
    "build",
    "known_types",
    "page",
    "rss",
    "sanctions",
]
