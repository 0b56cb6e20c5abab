"""What kinds of release a source can yield, known before it is polled (`monitor check`).

Rules filter on `kinds`; a source that never yields those kinds makes such a rule silently
match nothing (the real state.gov feed gives no category at all). A source's kinds are
known from its config (`kind`, the `kinds:` mapping) or only after polling (feed
categories, listing or article pages): then the check says it *may* never yield them.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from monitor.sources.base import SourceOptions

if TYPE_CHECKING:
    from monitor.rules.matcher import Rule


@dataclass
class SourceKinds:
    """The kinds a source's config names, and where else kinds may come from."""

    known: set[str] = field(default_factory=set)
    unknown: list[str] = field(default_factory=list)  # "feed categories", "article pages"


def source_kinds(options: SourceOptions) -> SourceKinds:
    """What kinds `options` can give its documents, as far as its config tells."""
    found = SourceKinds()
    if options.kind:
        found.known.add(options.kind)
    found.known.update(rule.kind for rule in options.kinds)
    if getattr(options, "kind_from_category", False):
        found.unknown.append("feed categories")
    listing = getattr(options, "listing", None)
    if listing is not None and getattr(listing, "kind", None):
        found.unknown.append("the listing page")
    if options.follow_links or (options.type == "page" and listing is None):
        found.unknown.append("article pages")
    return found


def _yields(kinds: SourceKinds, patterns: Sequence[str]) -> bool:
    return any(fnmatch.fnmatchcase(k.lower(), p.lower()) for k in kinds.known for p in patterns)


def _named(kinds: SourceKinds) -> str:
    return ", ".join(f"'{k}'" for k in sorted(kinds.known)) or "no kind"


def kind_warnings(
    sources: Sequence[SourceOptions], rules: Sequence[Rule], rules_file: Path
) -> list[str]:
    """One warning per rule whose `kinds` filter a source it watches never yields."""
    warnings: list[str] = []
    for rule in rules:
        if not rule.kinds:
            continue
        watched = [
            s
            for s in sources
            if not rule.sources or any(fnmatch.fnmatchcase(s.id, g) for g in rule.sources)
        ]
        wanted = ", ".join(f"'{k}'" for k in rule.kinds)
        where = f"{rules_file}:{rule.line}: warning: rule '{rule.id}' filters on kinds {wanted}"
        verdicts = [(s, source_kinds(s)) for s in watched]
        missing = [(s, k) for s, k in verdicts if not _yields(k, rule.kinds)]
        if not rule.sources and len(missing) < len(verdicts):
            continue  # watching every source: enough that one of them yields the kinds
        for source, kinds in missing:
            if kinds.unknown:
                warnings.append(
                    f"{where}, which source '{source.id}' may never yield (its config names "
                    f"{_named(kinds)}; other kinds can only come from "
                    f"{' and '.join(kinds.unknown)})"
                )
            else:
                warnings.append(
                    f"{where}, which source '{source.id}' never yields (it yields "
                    f"{_named(kinds)}; map titles or URLs to kinds with 'kinds:' in "
                    "sources.yaml)"
                )
    return warnings
