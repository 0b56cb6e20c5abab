"""Config files (YAML) → validated models; every error names file, line and item id."""

from __future__ import annotations

import difflib
import fnmatch
import glob
import re
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from monitor.alerts import REGISTRY as CHANNEL_TYPES
from monitor.alerts import ChannelOptions
from monitor.errors import ConfigError
from monitor.hosts import HostPolicy
from monitor.rules.learn import INSTALL_HINT, sklearn_missing
from monitor.rules.matcher import OnUpdate, Rule, RuleSet
from monitor.rules.mood import MOODS
from monitor.rules.query import Node, Or, QuerySyntaxError, parse_query
from monitor.settings import env_value
from monitor.sources import SourceOptions, known_types
from monitor.sources.base import options_model
from monitor.sources.kinds import kind_warnings, source_kinds

Path_ = tuple[str | int, ...]


@dataclass
class LoadedYaml:
    """A YAML document with the line of every node, for error messages."""

    file: Path
    data: Any
    lines: dict[Path_, int]

    def line_of(self, path: Path_) -> int:
        """The line of the deepest node on `path` that exists (1-based)."""
        for end in range(len(path), -1, -1):
            if path[:end] in self.lines:
                return self.lines[path[:end]]
        return 1


def _index_lines(node: yaml.Node, path: Path_, lines: dict[Path_, int]) -> None:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            _index_lines(value, (*path, str(key.value)), lines)
            lines[(*path, str(key.value))] = key.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _index_lines(item, (*path, index), lines)


MAX_FILE_BYTES = 1024 * 1024
# Nodes that aliases may add when expanded. Anchors shared by a few hundred sources stay
# far below it; a "billion laughs" file (ten lines of nested aliases) is refused at once
# instead of growing to gigabytes when its lines are indexed or its data walked.
MAX_ALIAS_NODES = 100_000


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [child for pair in node.value for child in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _check_aliases(root: yaml.Node, file: Path) -> None:
    """Refuse a document whose aliases expand past MAX_ALIAS_NODES, or that contains itself.

    The composed graph shares each anchored node; the size it would have with every alias
    written out is counted once per distinct node, so the check costs the file's size.
    """
    expanded: dict[int, int] = {}
    distinct = 0
    # An explicit stack (node, children counted yet?) so deep nesting cannot overflow.
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    open_nodes: set[int] = set()
    while stack:
        node, done = stack.pop()
        key = id(node)
        if done:
            open_nodes.discard(key)
            expanded[key] = 1 + sum(expanded[id(child)] for child in _children(node))
            if expanded[key] - distinct > MAX_ALIAS_NODES:
                raise ConfigError(
                    f"{file}: too many YAML aliases (they expand to more than "
                    f"{MAX_ALIAS_NODES:,} values); write the repeated parts out or use "
                    "fewer anchors"
                )
            continue
        if key in expanded:
            continue
        if key in open_nodes:
            raise ConfigError(
                f"{file}:{node.start_mark.line + 1}: a YAML alias refers to itself "
                "(a recursive anchor); config values must be finite"
            )
        open_nodes.add(key)
        distinct += 1
        stack.append((node, True))
        stack.extend((child, False) for child in reversed(_children(node)))


def _read_config_text(file: Path) -> str:
    try:
        with file.open("rb") as handle:
            raw = handle.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        raise ConfigError(f"{file}: file not found") from None
    except OSError as err:
        raise ConfigError(f"{file}: cannot read: {err}") from None
    if len(raw) > MAX_FILE_BYTES:
        raise ConfigError(
            f"{file}: file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB; "
            "config files are short (split sources or rules across fewer, simpler entries)"
        )
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise ConfigError(f"{file}: cannot read: {err}") from None


def load_yaml(file: Path) -> LoadedYaml:
    """Parse a YAML file, keeping line numbers; syntax errors become ConfigError.

    Files over MAX_FILE_BYTES and aliases that expand past MAX_ALIAS_NODES are refused
    before anything walks the document.
    """
    text = _read_config_text(file)
    # libyaml when present: ~10× faster on a sources.yaml of 1,000 sources.
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)(text)
    try:
        node = loader.get_single_node()
        lines: dict[Path_, int] = {}
        if node is not None:
            _check_aliases(node, file)
            _index_lines(node, (), lines)  # before construction, which merges `<<:` keys
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(err, "problem", None) or str(err)
        raise ConfigError(f"{file}{line}: invalid YAML: {problem}") from None
    except RecursionError:
        raise ConfigError(f"{file}: invalid YAML: nested too deeply") from None
    finally:
        loader.dispose()
    return LoadedYaml(file=file, data=data, lines=lines)


def _suggest(word: str, options: list[str]) -> str:
    close = difflib.get_close_matches(word, options, n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


ID_CHARACTERS = "use lowercase letters, digits and '-'"


def _fields_at(model: type[BaseModel], loc: list[str]) -> list[str]:
    """The option names valid at `loc` inside `model` (for did-you-mean hints)."""
    current: Any = model
    for part in loc:
        if part.isdigit():  # an index into a list of models: the list's item model
            continue
        field = current.model_fields.get(part) if current is not None else None
        if field is None:
            return []
        candidates = [field.annotation, *typing.get_args(field.annotation)]
        current = next(
            (c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)), None
        )
        if current is None:
            return []
    return list(current.model_fields)


def _describe(err: Any, model: type[BaseModel]) -> str:
    loc = [str(part) for part in err["loc"]]
    field = ".".join(loc)
    if err["type"] == "extra_forbidden":
        return f"unknown option '{field}'{_suggest(loc[-1], _fields_at(model, loc[:-1]))}"
    if err["type"] == "missing":
        return f"missing required option '{field}'"
    if err["type"] == "string_pattern_mismatch" and loc[-1:] == ["id"]:
        return f"'{field}': '{err['input']}' is not a valid id: {ID_CHARACTERS}"
    message = str(err["msg"]).removeprefix("Value error, ")
    return f"'{field}': {message}" if field else message


class HostOptions(BaseModel):
    """Politeness towards one host (`hosts:` in sources.yaml); unset: the MONITOR_HOST_* value."""

    model_config = ConfigDict(extra="forbid")

    concurrency: int | None = Field(default=None, ge=1)  # requests at once
    delay: float | None = Field(default=None, ge=0)  # seconds between request starts

    def policy(self) -> HostPolicy:
        return HostPolicy(self.concurrency, self.delay)


class SourcesConfig(BaseModel):
    """The validated content of sources.yaml."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    sources: list[SourceOptions]
    hosts: dict[str, HostOptions] = Field(default_factory=dict)

    def host_policies(self) -> dict[str, HostPolicy]:
        return {host: options.policy() for host, options in self.hosts.items()}

    def get(self, source_id: str) -> SourceOptions:
        for source in self.sources:
            if source.id == source_id:
                return source
        ids = [s.id for s in self.sources]
        raise ConfigError(f"No source with id '{source_id}'{_suggest(source_id, ids)}")


def parse_sources(loaded: LoadedYaml) -> SourcesConfig:
    """Validate sources.yaml; collect every error before raising one ConfigError."""
    file, data = loaded.file, loaded.data
    if not isinstance(data, dict) or not isinstance(data.get("sources"), list):
        raise ConfigError(f"{file}:1: expected a top-level 'sources:' list")
    errors: list[str] = []
    sources: list[SourceOptions] = []
    seen: dict[str, int] = {}
    for index, entry in enumerate(data["sources"]):
        path: Path_ = ("sources", index)
        line = loaded.line_of(path)
        if not isinstance(entry, dict):
            errors.append(f"{file}:{line}: source #{index + 1}: expected a mapping of options")
            continue
        label = f"source '{entry['id']}'" if entry.get("id") else f"source #{index + 1}"
        type_name = str(entry.get("type", ""))
        model = options_model(type_name)
        if model is None:
            hint = _suggest(type_name, known_types()) or f" (known: {', '.join(known_types())})"
            errors.append(
                f"{file}:{loaded.line_of((*path, 'type'))}: {label}: "
                f"unknown type '{type_name}'{hint}"
            )
            continue
        try:
            source = model.model_validate(entry)
        except ValidationError as err:
            for item in err.errors():
                where = loaded.line_of((*path, *item["loc"]))
                errors.append(f"{file}:{where}: {label}: {_describe(item, model)}")
            continue
        if source.id in seen:
            errors.append(
                f"{file}:{line}: {label}: duplicate id (first defined on line {seen[source.id]})"
            )
            continue
        seen[source.id] = line
        sources.append(source)
    hosts = _parse_hosts(loaded, errors)
    if errors:
        raise ConfigError(errors)
    return SourcesConfig(sources=sources, hosts=hosts)


def _parse_hosts(loaded: LoadedYaml, errors: list[str]) -> dict[str, HostOptions]:
    """`hosts:` — per-host politeness, e.g. `www.state.gov: {concurrency: 2, delay: 1}`."""
    file, data = loaded.file, loaded.data.get("hosts")
    if data is None:
        return {}
    if not isinstance(data, dict):
        errors.append(
            f"{file}:{loaded.line_of(('hosts',))}: 'hosts' must map host names to "
            "{concurrency: N, delay: SECONDS}"
        )
        return {}
    hosts: dict[str, HostOptions] = {}
    for name, entry in data.items():
        host = str(name).strip().lower()
        where = f"{file}:{loaded.line_of(('hosts', name))}: host '{name}'"
        if not host or "/" in host or " " in host:
            errors.append(f"{where}: expected a host name (with ':port' if not the default)")
            continue
        try:
            hosts[host] = HostOptions.model_validate(entry or {})
        except ValidationError as err:
            for item in err.errors():
                errors.append(f"{where}: {_describe(item, HostOptions)}")
    return hosts


class RuleSpec(BaseModel):
    """One entry of rules.yaml, before its query is parsed."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    name: str
    query: str
    sources: list[str] = Field(default_factory=list)
    kinds: list[str] = Field(default_factory=list)
    notify: list[str] = Field(default_factory=list)
    on_update: OnUpdate = "new-match"
    exclude: list[str] = Field(default_factory=list)  # moods, checked by _unknown_moods
    learn: bool = False  # a classifier trained on the rule's labels (monitor.rules.learn)


def _unknown_moods(moods: list[str]) -> list[tuple[int, str]]:
    """(index, message) of each mood `exclude:` does not know, so errors name its line."""
    known = ", ".join(MOODS)
    out = []
    for index, mood in enumerate(moods):
        if mood not in MOODS:
            close = difflib.get_close_matches(mood, MOODS, n=1)
            hint = f"did you mean '{close[0]}'?; " if close else ""
            out.append((index, f"unknown mood '{mood}' ({hint}moods: {known})"))
    return out


def _query_error(err: QuerySyntaxError) -> str:
    where = f" at column {err.column}" if err.column else ""
    return f"{err.message}{where}\n{err.caret()}"


def _parse_terms(loaded: LoadedYaml, errors: list[str]) -> dict[str, Node]:
    file, terms = loaded.file, loaded.data.get("terms") or {}
    if not isinstance(terms, dict):
        errors.append(f"{file}:{loaded.line_of(('terms',))}: 'terms' must map names to lists")
        return {}
    lists: dict[str, Node] = {}
    for name, entries in terms.items():
        line = loaded.line_of(("terms", str(name)))
        if not isinstance(entries, list) or not entries:
            errors.append(f"{file}:{line}: term list '{name}': expected a non-empty list")
            continue
        nodes: list[Node] = []
        for index, entry in enumerate(entries):
            try:
                if "@" in str(entry):
                    raise QuerySyntaxError("term lists cannot refer to other lists", str(entry))
                nodes.append(parse_query(str(entry)))
            except QuerySyntaxError as err:
                where = loaded.line_of(("terms", str(name), index))
                errors.append(f"{file}:{where}: term list '{name}': {_query_error(err)}")
        if nodes:
            lists[str(name)] = nodes[0] if len(nodes) == 1 else Or(tuple(nodes))
    return lists


def _labelled_sets(loaded: LoadedYaml, errors: list[str]) -> tuple[list[Path], list[Path]]:
    """(tuning sets, held-out sets) named by `labelled:`: files or globs relative to
    rules.yaml. A file named heldout*.yaml is held out: never trained or tuned on."""
    file, value = loaded.file, loaded.data.get("labelled")
    where = f"{file}:{loaded.line_of(('labelled',))}"
    if value is None:
        return [], []
    patterns = [value] if isinstance(value, str) else value
    if not isinstance(patterns, list) or not all(isinstance(p, str) for p in patterns):
        errors.append(f"{where}: 'labelled' must be a list of files or globs (relative to {file})")
        return [], []
    tuning: list[Path] = []
    heldout: list[Path] = []
    for pattern in patterns:
        full = str(file.parent / pattern)
        if _is_glob(pattern):
            found = [Path(p) for p in sorted(glob.glob(full)) if Path(p).is_file()]
        elif Path(full).is_file():
            found = [Path(full)]
        else:
            errors.append(f"{where}: labelled set '{pattern}' not found ({full})")
            continue
        for path in found:
            target = heldout if path.name.startswith("heldout") else tuning
            if path not in target:
                target.append(path)
    return tuning, heldout


def _empty_labelled_globs(loaded: LoadedYaml) -> list[str]:
    """The globs under `labelled:` that match no file (a missing file is an error instead)."""
    value = loaded.data.get("labelled") if isinstance(loaded.data, dict) else None
    patterns = [value] if isinstance(value, str) else value
    if not isinstance(patterns, list):
        return []
    return [
        p
        for p in patterns
        if isinstance(p, str)
        and _is_glob(p)
        and not any(Path(f).is_file() for f in glob.glob(str(loaded.file.parent / p)))
    ]


def parse_rules(loaded: LoadedYaml) -> RuleSet:
    """Validate rules.yaml: term lists, then each rule and its query."""
    file, data = loaded.file, loaded.data
    if data is None:
        return RuleSet([])
    if not isinstance(data, dict) or not isinstance(data.get("rules", []), list):
        raise ConfigError(f"{file}:1: expected 'terms:' (optional) and a 'rules:' list")
    errors: list[str] = []
    lists = _parse_terms(loaded, errors)
    rules: list[Rule] = []
    seen: dict[str, int] = {}
    for index, entry in enumerate(data.get("rules") or []):
        path: Path_ = ("rules", index)
        line = loaded.line_of(path)
        if not isinstance(entry, dict):
            errors.append(f"{file}:{line}: rule #{index + 1}: expected a mapping")
            continue
        label = f"rule '{entry['id']}'" if entry.get("id") else f"rule #{index + 1}"
        try:
            spec = RuleSpec.model_validate(entry)
        except ValidationError as err:
            for item in err.errors():
                where = loaded.line_of((*path, *item["loc"]))
                errors.append(f"{file}:{where}: {label}: {_describe(item, RuleSpec)}")
            continue
        bad_moods = _unknown_moods(spec.exclude)
        for position, message in bad_moods:
            where = loaded.line_of((*path, "exclude", position))
            errors.append(f"{file}:{where}: {label}: 'exclude.{position}': {message}")
        if bad_moods:
            continue
        if spec.learn and sklearn_missing():
            where = loaded.line_of((*path, "learn"))
            errors.append(
                f"{file}:{where}: {label}: 'learn: true' needs scikit-learn, which is not "
                f"installed: {INSTALL_HINT}"
            )
            continue
        try:
            ast = parse_query(spec.query, lists)
        except QuerySyntaxError as err:
            where = loaded.line_of((*path, "query"))
            errors.append(f"{file}:{where}: {label}: query: {_query_error(err)}")
            continue
        if spec.id in seen:
            errors.append(f"{file}:{line}: {label}: duplicate id (first on line {seen[spec.id]})")
            continue
        seen[spec.id] = line
        rules.append(
            Rule(
                id=spec.id,
                name=spec.name,
                query=spec.query,
                ast=ast,
                sources=tuple(spec.sources),
                kinds=tuple(spec.kinds),
                notify=tuple(spec.notify),
                on_update=spec.on_update,
                line=line,
                exclude=frozenset(spec.exclude),
                learn=spec.learn,
            )
        )
    tuning, heldout = _labelled_sets(loaded, errors)
    if errors:
        raise ConfigError(errors)
    ruleset = RuleSet(rules, lists)
    ruleset.labelled, ruleset.heldout = tuple(tuning), tuple(heldout)
    return ruleset


_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def _expand(
    value: Any,
    path: Path_,
    missing: list[tuple[Path_, str]],
    *,
    optional: bool = False,
    examples: bool = False,
) -> Any:
    """${VAR} and ${VAR:-default} in every string, from the environment or `.env`.

    In an optional channel a variable that is unset or empty is `missing` (the channel is
    off) even when it has a default: that default is only the example `monitor demo` uses
    (`examples`).
    """
    if isinstance(value, str):

        def replace(m: re.Match[str]) -> str:
            found = env_value(m.group(1))
            if optional and not found:
                if examples and m.group(2) is not None:
                    return m.group(2)
                missing.append((path, m.group(1)))
                return ""
            if found is None:
                if m.group(2) is not None:
                    return m.group(2)
                missing.append((path, m.group(1)))
                return ""
            return found

        return _VARIABLE.sub(replace, value)
    if isinstance(value, dict):
        return {
            k: _expand(v, (*path, str(k)), missing, optional=optional, examples=examples)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [
            _expand(v, (*path, i), missing, optional=optional, examples=examples)
            for i, v in enumerate(value)
        ]
    return value


def parse_channels(
    loaded: LoadedYaml, off: dict[str, list[str]] | None = None, *, examples: bool = False
) -> dict[str, ChannelOptions]:
    """Validate channels.yaml (after expanding ${VAR} from the environment or `.env`).

    A channel with `optional: true` whose variables are unset is left out and recorded in
    `off` (name → the variables to set), so its alerts are not queued to an address that
    does not exist; with `examples` (the demo) their `:-default` examples are used instead.
    """
    file, data = loaded.file, loaded.data
    off = {} if off is None else off
    if data is None:
        return {}
    if not isinstance(data, dict) or not isinstance(data.get("channels"), dict):
        raise ConfigError(f"{file}:1: expected a top-level 'channels:' mapping of names")
    errors: list[str] = []
    channels: dict[str, ChannelOptions] = {}
    for name, entry in data["channels"].items():
        path: Path_ = ("channels", str(name))
        label = f"channel '{name}'"
        if not re.fullmatch(r"[a-z0-9][a-z0-9-]*", str(name)):
            errors.append(f"{file}:{loaded.line_of(path)}: {label}: names use a-z, 0-9 and '-'")
            continue
        if not isinstance(entry, dict):
            errors.append(f"{file}:{loaded.line_of(path)}: {label}: expected a mapping")
            continue
        missing: list[tuple[Path_, str]] = []
        entry = dict(entry)
        optional = entry.pop("optional", False)
        if not isinstance(optional, bool):
            where = loaded.line_of((*path, "optional"))
            errors.append(f"{file}:{where}: {label}: 'optional' must be true or false")
            continue
        entry = _expand(entry, path, missing, optional=optional, examples=examples)
        if optional and missing:
            off[str(name)] = sorted({variable for _, variable in missing})
            continue
        for var_path, variable in missing:
            errors.append(
                f"{file}:{loaded.line_of(var_path)}: {label}: environment variable "
                f"{variable} is not set"
            )
        if missing:
            continue
        type_name = str(entry.get("type", ""))
        model = CHANNEL_TYPES[type_name].Options if type_name in CHANNEL_TYPES else None
        if model is None:
            known = sorted(CHANNEL_TYPES)
            hint = _suggest(type_name, known) or f" (known: {', '.join(known)})"
            errors.append(
                f"{file}:{loaded.line_of((*path, 'type'))}: {label}: "
                f"unknown type '{type_name}'{hint}"
            )
            continue
        try:
            channels[str(name)] = model.model_validate(entry)
        except ValidationError as err:
            for item in err.errors():
                where = loaded.line_of((*path, *item["loc"]))
                errors.append(f"{file}:{where}: {label}: {_describe(item, model)}")
    if errors:
        raise ConfigError(errors)
    return channels


@dataclass
class Config:
    """Everything in the config directory, validated (with warnings that do not stop it)."""

    directory: Path
    sources: SourcesConfig
    rules: RuleSet
    channels: dict[str, ChannelOptions] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    off: dict[str, list[str]] = field(default_factory=dict)  # channel → variables to set
    labelled_empty: list[str] = field(default_factory=list)  # `labelled:` globs, no file

    def labelled_empty_note(self) -> str:
        """Why `labelled:` names sets yet none is loaded: its globs match no file."""
        globs = ", ".join(f"'{g}'" for g in self.labelled_empty)
        return (
            f"the labelled sets named under 'labelled:' ({globs}) in {self.directory}/rules.yaml "
            f"match no file (relative to {self.directory.resolve()})"
        )

    def off_warning(self) -> str | None:
        """One line saying which optional channels are off and what to set, if any."""
        if not self.off:
            return None
        parts = [f"{name} (set {' and '.join(names)})" for name, names in sorted(self.off.items())]
        return (
            f"channels off until their variables are set, in the environment or .env: "
            f"{', '.join(parts)}; alerts for them are not queued"
        )


def _is_glob(pattern: str) -> bool:
    return any(char in pattern for char in "*?[")


def _named(label: str, names: list[str], none: str) -> str:
    """' (label: a, b, c)', the fallback when no name is close enough for a did-you-mean."""
    if not names:
        return f" ({none})"
    shown = ", ".join(names[:12]) + (", …" if len(names) > 12 else "")
    return f" ({label}: {shown})"


def _check_rule_references(
    loaded: LoadedYaml,
    rules: RuleSet,
    sources: SourcesConfig,
    channels: dict[str, ChannelOptions],
    channels_file: Path,
    known_kinds: Iterable[str],
    off: Mapping[str, list[str]],
) -> tuple[list[str], list[str]]:
    """(errors, warnings) for rules that can never fire as written.

    An unknown channel or source id is an error (nothing would ever reach it); a source
    glob that matches no source, a kind no source sets and no stored document has, and an
    empty `notify` are warnings (the rule is valid, but likely not what was meant).
    """
    file = loaded.file
    errors: list[str] = []
    warnings: list[str] = []
    entries = (loaded.data.get("rules") or []) if isinstance(loaded.data, dict) else []
    index_of: dict[str, int] = {}
    for index, entry in enumerate(entries):
        if isinstance(entry, dict) and str(entry.get("id")) not in index_of:
            index_of[str(entry.get("id"))] = index
    source_ids = sorted(s.id for s in sources.sources)
    channel_names = sorted(channels)
    # Shown in hints: an optional channel that is off still exists in channels.yaml.
    listed = sorted([*channels, *(f"{name} (off)" for name in off)])
    kinds = {k.lower(): k for k in known_kinds}
    for source in sources.sources:
        kinds.update({k.lower(): k for k in source_kinds(source).known})
    flagged: set[str] = set()  # rules already warned about an unknown kind
    for rule in rules.rules:
        path: Path_ = ("rules", index_of.get(rule.id, -1))

        def where(*parts: str | int, path: Path_ = path) -> str:
            return f"{file}:{loaded.line_of((*path, *parts))}"

        label = f"rule '{rule.id}'"
        for number, name in enumerate(rule.notify):
            if not channels_file.exists():
                break  # said once, below
            if name not in channels and name not in off:  # an optional channel that is off
                hint = _suggest(name, [*channel_names, *off]) or _named(
                    "channels", listed, f"{channels_file.name} defines none"
                )
                errors.append(f"{where('notify', number)}: {label}: unknown channel '{name}'{hint}")
        if not rule.notify:
            hint = _named("channels", listed, f"{channels_file.name} defines none")
            warnings.append(
                f"{where('notify')}: warning: {label}: 'notify' is empty, so its matches "
                f"never alert anyone{hint}"
            )
        for number, pattern in enumerate(rule.sources):
            if _is_glob(pattern):
                if not any(fnmatch.fnmatchcase(i, pattern) for i in source_ids):
                    hint = _named("sources", source_ids, "sources.yaml defines none")
                    warnings.append(
                        f"{where('sources', number)}: warning: {label}: '{pattern}' matches "
                        f"no source in sources.yaml{hint}"
                    )
            elif pattern not in source_ids:
                hint = _suggest(pattern, source_ids) or _named(
                    "sources", source_ids, "sources.yaml defines none"
                )
                errors.append(
                    f"{where('sources', number)}: {label}: unknown source '{pattern}'{hint}"
                )
        for number, pattern in enumerate(rule.kinds):
            if any(fnmatch.fnmatchcase(k, pattern.lower()) for k in kinds):
                continue
            close = difflib.get_close_matches(pattern.lower(), list(kinds), n=1)
            hint = (
                f" (did you mean '{kinds[close[0]]}'?)"
                if close
                else _named("kinds known", sorted(kinds.values()), "none known yet")
            )
            flagged.add(rule.id)
            warnings.append(
                f"{where('kinds', number)}: warning: {label}: no source sets kind '{pattern}' "
                f"and no stored document has it{hint}"
            )
    notified = sorted({name for rule in rules.rules for name in rule.notify})
    if notified and not channels_file.exists():
        errors.append(
            f"{channels_file}: file not found, but rules in {file.name} notify "
            f"{', '.join(notified)}: create it (the shipped config/channels.yaml is an example)"
        )
    # Kinds that exist, but not in the sources a rule watches.
    others = [r for r in rules.rules if r.id not in flagged]
    warnings.extend(kind_warnings(sources.sources, others, loaded.file))
    return errors, warnings


def load_config(
    directory: Path, known_kinds: Iterable[str] = (), *, examples: bool = False
) -> Config:
    """Load and validate the config directory; raises ConfigError listing every problem.

    `rules.yaml` is optional (no rules: documents are stored, nothing matches).
    `known_kinds` (the kinds of stored documents) sharpen the warnings about rules'
    `kinds:` filters; the sources' own `kind` options are always known. With `examples`
    (`monitor demo`), optional channels use their example values when unset.
    """
    errors: list[str] = []
    warnings: list[str] = []
    sources: SourcesConfig | None = None
    rules = RuleSet([])
    rules_yaml: LoadedYaml | None = None
    try:
        sources = parse_sources(load_yaml(directory / "sources.yaml"))
    except ConfigError as err:
        errors += err.messages
    if (directory / "rules.yaml").exists():
        try:
            rules_yaml = load_yaml(directory / "rules.yaml")
            rules = parse_rules(rules_yaml)
        except ConfigError as err:
            errors += err.messages
    channels: dict[str, ChannelOptions] = {}
    off: dict[str, list[str]] = {}
    channels_file = directory / "channels.yaml"
    if channels_file.exists():
        try:
            channels = parse_channels(load_yaml(channels_file), off, examples=examples)
        except ConfigError as err:
            errors += err.messages
    if not errors and sources is not None and rules_yaml is not None:
        errors, warnings = _check_rule_references(
            rules_yaml, rules, sources, channels, channels_file, known_kinds, off
        )
    if errors or sources is None:
        raise ConfigError(errors)
    empty = _empty_labelled_globs(rules_yaml) if rules_yaml is not None else []
    if rules_yaml is not None and empty:
        line = rules_yaml.line_of(("labelled",))
        warnings.extend(
            f"{rules_yaml.file}:{line}: warning: labelled set '{pattern}' matches no file "
            f"(looked in {rules_yaml.file.parent.resolve()})"
            for pattern in empty
        )
    rules.channels_off = frozenset(off)
    return Config(
        directory=directory,
        sources=sources,
        rules=rules,
        channels=channels,
        warnings=warnings,
        off=off,
        labelled_empty=empty,
    )
