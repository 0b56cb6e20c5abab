"""Source types, one module each; importing this package registers them all."""

from monitor.sources import page, rss
from monitor.sources.base import REGISTRY, Source, SourceOptions, build, known_types

__all__ = ["REGISTRY", "Source", "SourceOptions", "build", "known_types", "page", "rss"]
