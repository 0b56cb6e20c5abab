"""The rules of config/rules.yaml as the pages see them (term lists for queries, rules to
start "try a rule" from), read again only when the file changes."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

from monitor.config import load_yaml, parse_rules
from monitor.errors import ConfigError
from monitor.rules import RuleSet


@dataclass(frozen=True)
class Rules:
    rules: RuleSet
    error: str | None = None  # why rules.yaml could not be read (the pages still work)


_lock = threading.Lock()
_cache: dict[Path, tuple[float, Rules]] = {}


def current_rules(config_dir: Path) -> Rules:
    """rules.yaml's rules and term lists (none, with the reason, if it does not load)."""
    file = config_dir / "rules.yaml"
    try:
        mtime = file.stat().st_mtime
    except OSError:
        return Rules(RuleSet([]))
    with _lock:
        cached = _cache.get(file)
        if cached and cached[0] == mtime:
            return cached[1]
    try:
        loaded = Rules(parse_rules(load_yaml(file)))
    except ConfigError as err:
        first = str(err).splitlines()[0] if str(err) else "invalid"
        loaded = Rules(RuleSet([]), f"{file.name} could not be read: {first}")
    with _lock:
        _cache[file] = (mtime, loaded)
    return loaded
