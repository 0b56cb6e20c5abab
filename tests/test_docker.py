"""The Docker files hold together: compose file, Dockerfile and .env.example.

No Docker engine and no network: docker-compose.yml is validated against the Compose
Specification JSON Schema shipped in fixtures/compose/ (provenance in fixtures/README.md),
and the Dockerfile is read instruction by instruction.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from typing import Any

import jsonschema
import pytest
import yaml
from jsonschema.protocols import Validator

from monitor.fixture_server import FixtureServer, Route
from monitor.settings import Settings
from tests.alerts.conftest import free_port
from tests.conftest import FIXTURES, ROOT

COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
ENV_EXAMPLE = ROOT / ".env.example"
DOCKERIGNORE = ROOT / ".dockerignore"
SCHEMA_FILE = FIXTURES / "compose" / "compose-spec.json"

# Variables that config/channels.yaml reads from the environment.
CHANNEL_VARIABLES = ["OPS_WEBHOOK_URL", "POLICY_EMAIL_TO"]


# -- helpers --------------------------------------------------------------------------------


def _compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    assert isinstance(data, dict), "docker-compose.yml is not a mapping"
    return data


def _service(name: str) -> dict[str, Any]:
    services = _compose().get("services") or {}
    assert name in services, f"docker-compose.yml has no service {name!r}"
    service = services[name]
    assert isinstance(service, dict)
    return service


def _environment(service: dict[str, Any]) -> dict[str, str | None]:
    """A service's `environment:` in either form; None for a variable passed through."""
    env = service.get("environment") or {}
    if isinstance(env, dict):
        return {str(k): None if v is None else str(v) for k, v in env.items()}
    result: dict[str, str | None] = {}
    for entry in env:
        name, sep, value = str(entry).partition("=")
        result[name] = value if sep else None
    return result


def _mounts(service: dict[str, Any]) -> list[tuple[str, str, bool]]:
    """(source, target, read_only) for each of a service's volumes, in either syntax."""
    mounts = []
    for entry in service.get("volumes") or []:
        if isinstance(entry, dict):
            read_only = bool(entry.get("read_only", False))
            mounts.append((str(entry.get("source", "")), str(entry["target"]), read_only))
            continue
        parts = str(entry).split(":")
        if len(parts) == 1:  # an anonymous volume: only the target
            mounts.append(("", parts[0], False))
            continue
        options = parts[2].split(",") if len(parts) > 2 else []
        mounts.append((parts[0], parts[1], "ro" in options))
    return mounts


_INTERPOLATION = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def _with_defaults(text: str) -> str:
    """A compose value as it is with nothing set in .env: ${VAR:-default} → default."""
    return _INTERPOLATION.sub(lambda m: m.group(2) or "", text)


def _published_ports(service: dict[str, Any]) -> set[tuple[str, str, str]]:
    """(host address, published, target) of a service's `ports:`, with default values."""
    pairs = set()
    for entry in service.get("ports") or []:
        if isinstance(entry, dict):
            published = str(entry.get("published", ""))
            pairs.add((str(entry.get("host_ip", "")), published, str(entry["target"])))
            continue
        text = _with_defaults(str(entry)).split("/", 1)[0]
        parts = text.split(":")
        target = parts[-1]
        published = parts[-2] if len(parts) >= 2 else ""
        host = parts[-3] if len(parts) >= 3 else ""
        pairs.add((host, published, target))
    return pairs


def _validator_class(schema: dict[str, Any]) -> type[Validator]:
    """jsonschema's validator for the draft named by the schema's `$schema`.

    The compose schema writes `http://json-schema.org/draft/2019-09/schema#`, which
    `validator_for` does not recognise (the draft's own id is `https://…/schema`), so
    compare the URIs without scheme and trailing `#` as well.
    """
    declared = schema.get("$schema")
    assert isinstance(declared, str), "the schema does not name its draft in $schema"
    found = jsonschema.validators.validator_for(schema, default=None)
    if found is not None:
        return found  # type: ignore[no-any-return]

    def key(uri: str) -> str:
        return re.sub(r"^https?://", "", uri).rstrip("#")

    drafts: list[type[Validator]] = [
        jsonschema.Draft202012Validator,
        jsonschema.Draft201909Validator,
        jsonschema.Draft7Validator,
        jsonschema.Draft6Validator,
        jsonschema.Draft4Validator,
        jsonschema.Draft3Validator,
    ]
    for draft in drafts:
        meta_id = draft.META_SCHEMA.get("$id", draft.META_SCHEMA.get("id", ""))
        if key(str(meta_id)) == key(declared):
            return draft
    raise AssertionError(f"jsonschema has no validator for $schema {declared!r}")


def _describe(error: jsonschema.ValidationError) -> str:
    where = error.json_path
    lines = [f"{where}: {error.message}"]
    for sub in sorted(error.context or [], key=lambda e: list(e.absolute_path)):
        lines.append(f"    ({sub.json_path}: {sub.message})")
    return "\n".join(lines)


def _dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Dockerfile, continuation lines joined."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for raw in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line = pending + line
        pending = ""
        keyword, _, arguments = line.partition(" ")
        instructions.append((keyword.upper(), arguments.strip()))
    assert not pending, "the Dockerfile ends in a line continuation"
    return instructions


def _final_stage() -> list[tuple[str, str]]:
    instructions = _dockerfile_instructions()
    starts = [i for i, (keyword, _) in enumerate(instructions) if keyword == "FROM"]
    assert starts, "the Dockerfile has no FROM"
    return instructions[starts[-1] :]


def _last(keyword: str) -> str:
    found = [args for kw, args in _final_stage() if kw == keyword]
    assert found, f"the Dockerfile's final stage has no {keyword}"
    return found[-1]


def _ignore_pattern(pattern: str) -> re.Pattern[str]:
    """A .dockerignore pattern as a regex: `**` spans directories, `*` and `?` do not."""
    out = ""
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif pattern.startswith("**", i):
            out, i = out + ".*", i + 2
        elif pattern[i] == "*":
            out, i = out + "[^/]*", i + 1
        elif pattern[i] == "?":
            out, i = out + "[^/]", i + 1
        elif pattern[i] == "[":
            end = pattern.index("]", i)
            out, i = out + pattern[i : end + 1], end + 1
        else:
            out, i = out + re.escape(pattern[i]), i + 1
    return re.compile(out + r"\Z")


def _dockerignored(path: str) -> bool:
    """Whether .dockerignore keeps `path` (relative to the build context) out of it: the
    last pattern matching the path or a parent of it wins, and `!` lets it back in."""
    parts = path.split("/")
    prefixes = ["/".join(parts[:n]) for n in range(1, len(parts) + 1)]
    excluded = False
    for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines():
        pattern = line.strip()
        if not pattern or pattern.startswith("#"):
            continue
        negated = pattern.startswith("!")
        regex = _ignore_pattern(pattern.lstrip("!").strip("/"))
        if any(regex.match(prefix) for prefix in prefixes):
            excluded = not negated
    return excluded


def _env_example() -> dict[str, str]:
    values: dict[str, str] = {}
    for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        match = re.match(r"([A-Z][A-Z0-9_]*)=(.*)$", line)
        if match:
            values[match.group(1)] = match.group(2)
    return values


# -- docker-compose.yml -----------------------------------------------------------------------


def test_compose_file_is_valid_against_the_compose_specification_schema() -> None:
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    validator_class = _validator_class(schema)
    assert validator_class is jsonschema.Draft201909Validator  # what the fixture declares
    validator_class.check_schema(schema)
    errors = sorted(
        validator_class(schema).iter_errors(_compose()), key=lambda e: list(e.absolute_path)
    )
    assert not errors, "docker-compose.yml does not match the Compose schema:\n" + "\n".join(
        _describe(e) for e in errors
    )


def test_the_schema_check_catches_a_broken_compose_file() -> None:
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    broken = _compose()
    broken["services"]["monitor"]["depends_on"] = {"postgres": {"condition": "healthy"}}
    broken["services"]["postgres"]["healtcheck"] = broken["services"]["postgres"]["healthcheck"]
    errors = list(_validator_class(schema)(schema).iter_errors(broken))
    assert len(errors) == 2


def test_compose_has_the_three_services() -> None:
    assert {"monitor", "postgres", "mailpit"} <= set(_compose()["services"])


def test_postgres_has_a_healthcheck_and_a_named_volume() -> None:
    postgres = _service("postgres")
    assert str(postgres["image"]).startswith("postgres:16")
    test = postgres["healthcheck"]["test"]
    assert "pg_isready" in (test if isinstance(test, str) else " ".join(test))
    env = {k: _with_defaults(v or "") for k, v in _environment(postgres).items()}
    assert env["POSTGRES_USER"] == env["POSTGRES_PASSWORD"] == env["POSTGRES_DB"] == "monitor"
    for name in ("POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_DB"):  # from .env
        assert _environment(postgres)[name] == f"${{{name}:-monitor}}"
    named = set(_compose().get("volumes") or {})
    assert ("postgres-data", "/var/lib/postgresql/data", False) in _mounts(postgres)
    assert "postgres-data" in named


def test_monitor_waits_for_a_healthy_postgres() -> None:
    depends_on = _service("monitor")["depends_on"]
    assert isinstance(depends_on, dict), "depends_on needs the long form to name a condition"
    assert depends_on["postgres"]["condition"] == "service_healthy"


def test_monitor_is_built_here_and_mounts_config_read_only_and_data_in_a_named_volume() -> None:
    monitor = _service("monitor")
    build = monitor["build"]
    assert (build if isinstance(build, str) else build.get("context")) == "."
    mounts = _mounts(monitor)
    assert ("./config", "/app/config", True) in mounts
    assert ("monitor-data", "/app/data", False) in mounts
    assert "monitor-data" in (_compose().get("volumes") or {})


def test_monitor_exposes_8080_and_mailpit_its_web_ui_and_smtp_on_loopback_only() -> None:
    assert _published_ports(_service("monitor")) == {("127.0.0.1", "8080", "8080")}
    mailpit = _service("mailpit")
    assert str(mailpit["image"]).startswith("axllent/mailpit")
    targets = {target for _, _, target in _published_ports(mailpit)}
    assert {"8025", "1025"} <= targets
    assert {host for host, _, _ in _published_ports(mailpit)} == {"127.0.0.1"}


def test_the_published_port_follows_monitor_http_port() -> None:
    monitor = _service("monitor")
    [port] = monitor["ports"]
    assert str(port).startswith("127.0.0.1:${MONITOR_HTTP_PORT:-8080}:${MONITOR_HTTP_PORT:-8080}")
    env = _environment(monitor)
    assert env["MONITOR_HTTP_PORT"] == "${MONITOR_HTTP_PORT:-8080}"
    assert env["MONITOR_HTTP_HOST"] == "0.0.0.0"  # inside the container


def test_monitor_uses_postgres_and_mailpit_by_default() -> None:
    env = {k: _with_defaults(v) if v else v for k, v in _environment(_service("monitor")).items()}
    assert env["MONITOR_DATABASE_URL"] == (
        "postgresql+psycopg://monitor:monitor@postgres:5432/monitor"
    )
    assert env["MONITOR_SMTP_HOST"] == "mailpit"
    assert env["MONITOR_SMTP_PORT"] == "1025"


def test_monitor_takes_smtp_and_database_credentials_from_dot_env() -> None:
    env = _environment(_service("monitor"))
    assert env["MONITOR_SMTP_HOST"] == "${MONITOR_SMTP_HOST:-mailpit}"
    assert env["MONITOR_SMTP_PORT"] == "${MONITOR_SMTP_PORT:-1025}"
    url = env["MONITOR_DATABASE_URL"] or ""
    assert "${POSTGRES_USER:-monitor}:${POSTGRES_PASSWORD:-monitor}@" in url
    assert url.endswith("/${POSTGRES_DB:-monitor}")


def test_monitor_passes_every_other_setting_through_from_the_environment() -> None:
    env = _environment(_service("monitor"))
    expected = {f"MONITOR_{name.upper()}" for name in Settings.model_fields}
    missing = sorted((expected | set(CHANNEL_VARIABLES)) - set(env))
    assert not missing, f"docker-compose.yml does not pass these to monitor: {missing}"


def test_monitor_gets_all_of_dot_env_for_the_variables_channels_yaml_may_use() -> None:
    # A ${VAR} added to channels.yaml (README: `secret_env: OPS_HOOK_SECRET`) is set in .env
    # only: the container must see it without a line in docker-compose.yml.
    monitor = _service("monitor")
    env_file = monitor.get("env_file")
    files = [env_file] if isinstance(env_file, str) else list(env_file or [])
    assert ".env" in [f if isinstance(f, str) else f.get("path") for f in files]
    # .env's own MONITOR_CONFIG_DIR (`config`, for running from a checkout) must not move
    # the container off the mounted /app/config: the compose file's value wins over .env.
    assert _environment(monitor)["MONITOR_CONFIG_DIR"] == "/app/config"


def test_compose_requires_a_web_token_from_dot_env() -> None:
    # The container listens on 0.0.0.0, where monitor refuses to serve its pages without a
    # login: compose stops at once with this message rather than restarting in a loop.
    env = _environment(_service("monitor"))
    assert (env["MONITOR_WEB_TOKEN"] or "").startswith("${MONITOR_WEB_TOKEN:?set MONITOR_WEB_TOKEN")


def test_every_variable_compose_reads_is_in_env_example() -> None:
    used = set(_INTERPOLATION.findall(json.dumps(_compose())))  # values, not comments
    names = {name for name, _ in used}
    assert names, "docker-compose.yml reads no variables"
    missing = sorted(names - set(_env_example()))
    assert not missing, f".env.example does not list {missing}"


# -- Dockerfile -------------------------------------------------------------------------------


def test_dockerfile_starts_from_slim_python_311() -> None:
    assert _last("FROM").split()[0] == "python:3.11-slim"


def test_dockerfile_runs_monitor_run() -> None:
    assert json.loads(_last("CMD")) == ["monitor", "run"]


def test_dockerfile_runs_as_a_user_who_is_not_root() -> None:
    user = _last("USER").split(":", 1)[0]
    assert user not in {"", "root", "0"}


def test_dockerfile_healthcheck_asks_healthz_with_python_on_the_configured_port() -> None:
    healthcheck = _last("HEALTHCHECK")
    assert not healthcheck.upper().startswith("NONE")
    command = healthcheck.split("CMD", 1)[1].strip()
    argv = json.loads(command) if command.startswith("[") else shlex.split(command)
    assert argv[:2] == ["python", "-c"] and "urllib" in argv[2]
    assert "curl" not in healthcheck
    # Run as the image runs it: against a /healthz on the port MONITOR_HTTP_PORT names.
    with FixtureServer({"/healthz": Route(body=b'{"status": "ok"}')}) as server:
        port = server.base_url.rsplit(":", 1)[1].strip("/")
        env = {**os.environ, "MONITOR_HTTP_PORT": port}
        assert subprocess.run([sys.executable, "-c", argv[2]], env=env).returncode == 0
        env["MONITOR_HTTP_PORT"] = str(free_port())  # nothing listens there
        failed = subprocess.run([sys.executable, "-c", argv[2]], env=env, capture_output=True)
        assert failed.returncode != 0
    env = " ".join(args for kw, args in _final_stage() if kw == "ENV")
    assert re.search(r"(^|\s)MONITOR_HTTP_HOST=0\.0\.0\.0(\s|$)", env)


def test_dockerfile_declares_the_data_volume_and_the_config_dir() -> None:
    volume = _last("VOLUME")
    paths = json.loads(volume) if volume.startswith("[") else volume.split()
    assert "/app/data" in paths
    env = " ".join(args for kw, args in _final_stage() if kw == "ENV")
    assert re.search(r"(^|\s)MONITOR_CONFIG_DIR=/app/config(\s|$)", env)


def test_the_image_installs_the_postgres_and_learn_extras() -> None:
    # `learn: true` rules need scikit-learn (the `learn` extra), as README says.
    installs = [args for kw, args in _dockerfile_instructions() if kw == "RUN" and "pip" in args]
    extras = re.findall(r"\.\[([a-z,]+)\]", " ".join(installs))
    assert extras, "the Dockerfile does not pip install monitor with extras"
    assert {"postgres", "learn"} <= set(",".join(extras).split(","))


def test_the_image_holds_the_labelled_sets_rules_yaml_names() -> None:
    # config/rules.yaml is /app/config/rules.yaml in the image; its `labelled:` globs are
    # relative to it, so the files must be copied to where those globs point.
    rules = yaml.safe_load((ROOT / "config" / "rules.yaml").read_text(encoding="utf-8"))
    globs = rules["labelled"]
    assert globs
    copies = [args.split() for kw, args in _final_stage() if kw == "COPY"]
    for pattern in globs:
        in_image = os.path.normpath(f"/app/config/{pattern}")
        placed = [
            (source, in_image[len(target.rstrip("/")) :].lstrip("/"))
            for *flags, source, target in copies
            if not any(f.startswith("--from") for f in flags)
            and in_image.startswith(target.rstrip("/") + "/")
        ]
        assert placed, f"nothing is copied to {in_image} (labelled: {pattern!r})"
        [(source, rest)] = placed
        files = sorted((ROOT / source).glob(rest))
        assert files, f"{source}/{rest} matches no file in this repository"
        for file in files:
            relative = file.relative_to(ROOT).as_posix()
            assert not _dockerignored(relative), f".dockerignore leaves out {relative}"


def test_dockerignore_leaves_out_the_other_fixtures_and_the_tests() -> None:
    assert _dockerignored("fixtures/compose/compose-spec.json")
    assert _dockerignored("fixtures/urls.yaml")
    assert _dockerignored("tests/test_docker.py")
    assert _dockerignored("fixtures/rules/__pycache__/x.pyc")
    assert not _dockerignored("fixtures/rules/labelled.yaml")
    assert not _dockerignored("monitor/cli/__init__.py")


# -- .env.example -----------------------------------------------------------------------------


@pytest.mark.parametrize("field", sorted(Settings.model_fields))
def test_env_example_lists_every_setting(field: str) -> None:
    name = f"MONITOR_{field.upper()}"
    assert name in _env_example(), f".env.example has no line {name}="


def test_env_example_lists_the_variables_channels_yaml_uses() -> None:
    channels = yaml.safe_load((ROOT / "config" / "channels.yaml").read_text(encoding="utf-8"))
    used = set(re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)", json.dumps(channels)))  # not comments
    assert used <= set(CHANNEL_VARIABLES)
    assert set(CHANNEL_VARIABLES) <= set(_env_example())


def test_env_example_writes_whole_numbers_as_people_do() -> None:
    floats = [f"{k}={v}" for k, v in _env_example().items() if re.fullmatch(r"\d+\.0", v)]
    assert not floats, f".env.example: {floats}"


def test_the_header_comments_name_the_required_web_token() -> None:
    # The image listens on 0.0.0.0, where monitor refuses to start without a login token.
    dockerfile = DOCKERFILE.read_text(encoding="utf-8")
    header = dockerfile.split("\nFROM", 1)[0].replace("\\\n#", " ")
    [run] = [line for line in header.splitlines() if "docker run" in line]
    assert "-e MONITOR_WEB_TOKEN=" in run
    compose_header = COMPOSE_FILE.read_text(encoding="utf-8").split("\nservices:", 1)[0]
    assert "set MONITOR_WEB_TOKEN" in compose_header


def test_env_example_explains_each_variable_in_a_comment_line() -> None:
    lines = ENV_EXAMPLE.read_text(encoding="utf-8").splitlines()
    for i, line in enumerate(lines):
        if re.match(r"[A-Z][A-Z0-9_]*=", line):
            assert i > 0 and lines[i - 1].startswith("# "), f"no comment above {line!r}"


def test_env_example_values_are_the_defaults_and_secrets_are_empty(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in _env_example():
        monkeypatch.delenv(name, raising=False)
    empty = {name for name, value in _env_example().items() if value == ""}
    defaults = Settings(_env_file=None)  # type: ignore[call-arg]
    example = Settings(_env_file=ENV_EXAMPLE)  # type: ignore[call-arg]
    for field in Settings.model_fields:  # an empty value means the default too
        assert getattr(example, field) == getattr(defaults, field), field
    secrets = {
        "MONITOR_SMTP_PASSWORD",
        "MONITOR_WEBHOOK_SECRET",
        "MONITOR_WEB_TOKEN",
        "MONITOR_FEEDBACK_SECRET",
        "POSTGRES_PASSWORD",
    }
    assert secrets <= empty
    # The channels of the shipped config stay off until their addresses are set.
    assert {"POLICY_EMAIL_TO", "OPS_WEBHOOK_URL"} <= empty
