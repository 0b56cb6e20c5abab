"""Config files (YAML) → validated models; every error names file, line and item id."""

from __future__ import annotations

import difflib
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from monitor.errors import ConfigError
from monitor.sources import SourceOptions, known_types
from monitor.sources.base import options_model

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


def load_yaml(file: Path) -> LoadedYaml:
    """Parse a YAML file, keeping line numbers; syntax errors become ConfigError."""
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{file}: file not found") from None
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"{file}: cannot read: {err}") from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(err, "problem", None) or str(err)
        raise ConfigError(f"{file}{line}: invalid YAML: {problem}") from None
    lines: dict[Path_, int] = {}
    if node is not None:
        _index_lines(node, (), lines)
    return LoadedYaml(file=file, data=data, lines=lines)


def _suggest(word: str, options: list[str]) -> str:
    close = difflib.get_close_matches(word, options, n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _fields_at(model: type[BaseModel], loc: list[str]) -> list[str]:
    """The option names valid at `loc` inside `model` (for did-you-mean hints)."""
    current: Any = model
    for part in loc:
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
    message = str(err["msg"]).removeprefix("Value error, ")
    return f"'{field}': {message}" if field else message


class SourcesConfig(BaseModel):
    """The validated content of sources.yaml."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    sources: list[SourceOptions]

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
    if errors:
        raise ConfigError(errors)
    return SourcesConfig(sources=sources)


@dataclass
class Config:
    """Everything in the config directory, validated."""

    directory: Path
    sources: SourcesConfig


def load_config(directory: Path) -> Config:
    """Load and validate the config directory; raises ConfigError listing every problem."""
    sources = parse_sources(load_yaml(directory / "sources.yaml"))
    return Config(directory=directory, sources=sources)
