"""Service settings from the environment (prefix MONITOR_, `.env` supported)."""

from __future__ import annotations

import ipaddress
import logging
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dotenv import dotenv_values
from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

if TYPE_CHECKING:
    from monitor.config import Config

ENV_FILE = ".env"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
LOG_FORMATS = ("text", "json")
# sqlite:///relative.db or sqlite:////absolute.db: plain enough to read without SQLAlchemy,
# whose import costs every command a third of a second (issue #13).
_PLAIN_SQLITE = re.compile(r"sqlite(\+pysqlite)?:///(?P<path>[^?%#]+)")


def plain_sqlite_path(database_url: str) -> str | None:
    """The file a plain SQLite URL names (':memory:' too), or None for any other URL."""
    plain = _PLAIN_SQLITE.fullmatch(database_url)
    return plain["path"] if plain else None


class Settings(BaseSettings):
    """Everything ops set through MONITOR_* variables; config files hold the rest."""

    # An empty value (`MONITOR_SMTP_HOST=` in .env) means "the default", as for Compose.
    model_config = SettingsConfigDict(
        env_prefix="MONITOR_", env_file=ENV_FILE, extra="ignore", env_ignore_empty=True
    )

    config_dir: Path = Path("config")
    database_url: str = "sqlite:///data/monitor.db"
    timezone: str = "UTC"
    log_format: str = "text"
    log_level: str = "INFO"
    http_host: str = "127.0.0.1"  # the image sets 0.0.0.0: inside a container, all is local
    http_port: int = Field(default=8080, ge=1, le=65535)
    # The web pages' login: when set, pages and /api need it (never logged or shown).
    # Required to listen on anything but loopback.
    web_token: SecretStr | None = None

    user_agent: str = "monitor/0.1 (release watcher; +https://github.com/monitor-project/monitor)"
    fetch_connect_timeout: float = Field(default=10.0, gt=0)
    fetch_read_timeout: float = Field(default=30.0, gt=0)
    fetch_deadline: float = Field(default=120.0, gt=0)
    fetch_max_bytes: int = Field(default=10 * 1024 * 1024, ge=1)
    fetch_max_redirects: int = Field(default=5, ge=0)
    fetch_attempts: int = Field(default=3, ge=1)
    fetch_backoff: float = Field(default=1.0, ge=0)
    fetch_max_retry_after: float = Field(default=60.0, ge=0)
    host_concurrency: int = Field(default=4, ge=1)  # 0 would never start a request
    host_delay: float = Field(default=0.1, ge=0)
    max_connections: int = Field(default=100, ge=1)
    parse_workers: int = Field(default=0, ge=0)
    poll_concurrency: int = Field(default=64, ge=1)  # sources polled at once by `run`
    shutdown_grace: float = Field(default=20.0, ge=0)  # `run` lets work finish this long

    smtp_host: str = "localhost"
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = False
    smtp_tls: bool = False  # implicit TLS (port 465)
    smtp_ca_file: Path | None = None  # PEM CA bundle trusted instead of the system's (private CA)
    smtp_from: str = "monitor@localhost"
    webhook_secret: SecretStr | None = None
    # Base URL of the web pages (https://monitor.agency.example): alerts then carry signed
    # "useful / not useful" links to /feedback/…; unset, they carry none.
    public_url: str | None = None
    # Signs those links (else a key derived from MONITOR_WEBHOOK_SECRET does). Never logged.
    feedback_secret: SecretStr | None = None

    # Delivery retries: the first after `delivery_backoff` seconds, then doubling up to
    # `delivery_backoff_max`, until the alert is `delivery_give_up_after` old: then dead.
    # A claimed alert not marked within `delivery_lease` is claimed again.
    delivery_backoff: float = Field(default=30.0, gt=0)
    delivery_backoff_max: float = Field(default=3600.0, gt=0)
    delivery_give_up_after: float = Field(default=86400.0, gt=0)
    delivery_lease: float = Field(default=300.0, gt=0)
    delivery_timeout: float = Field(default=60.0, gt=0)  # one send; then retried later

    ops_channel: str | None = None  # channel (channels.yaml) for source-health alerts
    # Failed polls in a row before an ops alert; days after which superseded document
    # versions and sent or dead alerts are pruned.
    source_failure_alert_after: int = Field(default=5, ge=1)
    retention_days: float = Field(default=180.0, gt=0)

    @field_validator("smtp_ca_file", mode="before")
    @classmethod
    def _unset_when_empty(cls, value: object) -> object:
        # `MONITOR_SMTP_CA_FILE=` (as in .env.example) means no file, not the directory ".".
        return None if value == "" else value

    @field_validator("smtp_ca_file")
    @classmethod
    def _readable_file(cls, value: Path | None) -> Path | None:
        # Found at start, not when the first alert email fails.
        if value is not None and not value.is_file():
            raise ValueError(f"no such file: {value}")
        return value

    @field_validator("public_url")
    @classmethod
    def _base_url(cls, value: str | None) -> str | None:
        # Checked at start: every alert's links are built on it.
        if value is None:
            return None
        parts = urlsplit(value.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"'{value}' is not an http(s) URL (e.g. https://monitor.example.org)")
        if parts.query or parts.fragment:
            raise ValueError(f"'{value}' must be a base URL, without '?' or '#'")
        return value.strip().rstrip("/")

    @field_validator("feedback_secret")
    @classmethod
    def _long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 16:
            raise ValueError("too short: use at least 16 random characters")
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        # Checked at start: an unknown zone would otherwise fail every email until dead.
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone '{value}'") from None
        return value

    @field_validator("log_format")
    @classmethod
    def _known_format(cls, value: str) -> str:
        # A typo must not silently give text logs to a collector that expects JSON.
        if value.lower() not in LOG_FORMATS:
            raise ValueError(f"unknown log format '{value}' (use {' or '.join(LOG_FORMATS)})")
        return value.lower()

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        if value.upper() not in LOG_LEVELS:
            raise ValueError(f"unknown log level '{value}' (use {', '.join(LOG_LEVELS)})")
        return value.upper()

    @field_validator("database_url")
    @classmethod
    def _usable_database(cls, value: str) -> str:
        # Checked at start, so `monitor check` refuses what `monitor run` could not open.
        if plain_sqlite_path(value):
            return value  # the standard library's sqlite3 opens it
        from sqlalchemy.engine import make_url

        scheme = value.split("://", 1)[0].lower() if "://" in value else ""
        if scheme in ("postgres", "postgresql", "postgresql+psycopg2"):
            # Heroku-style and SQLAlchemy's default driver: monitor installs psycopg 3.
            raise ValueError(
                f"'{scheme}://' URLs are not supported: write postgresql+psycopg://"
                "user:password@host:5432/db (the driver the postgres extra installs)"
            )
        try:
            url = make_url(value)
            dialect = url.get_dialect()
        except Exception:  # noqa: BLE001 - SQLAlchemy raises several types here
            raise ValueError(
                "not a database URL (sqlite:///path/to/file.db or "
                "postgresql+psycopg://user:password@host:5432/db)"
            ) from None
        try:
            dialect.import_dbapi()
        except ImportError:
            if url.get_backend_name() == "postgresql":
                raise ValueError(
                    "the PostgreSQL driver is not installed: pip install -e '.[postgres]' "
                    "(or pip install 'monitor[postgres]')"
                ) from None
            raise ValueError(f"the database driver '{url.drivername}' is not installed") from None
        return value

    @property
    def log_level_number(self) -> int:
        return logging.getLevelName(self.log_level)  # type: ignore[no-any-return]


MIN_WEB_TOKEN = 16


def is_loopback(host: str) -> bool:
    """Only this machine can reach `host` (127.0.0.0/8, ::1, localhost)."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip().strip("[]")).is_loopback
    except ValueError:
        return False


def exposure_problem(settings: Settings) -> str | None:
    """Why the web pages may not be served as set: open beyond this machine, or a weak
    login (None: they may)."""
    token = settings.web_token.get_secret_value() if settings.web_token else ""
    if settings.web_token is not None and len(token) < MIN_WEB_TOKEN:
        return (
            f"MONITOR_WEB_TOKEN: too short ({len(token)} characters; at least "
            f"{MIN_WEB_TOKEN}); make one with: "
            "python3 -c 'import secrets; print(secrets.token_urlsafe())'"
        )
    if not token and not is_loopback(settings.http_host):
        return (
            f"MONITOR_HTTP_HOST is {settings.http_host}, which other machines may reach, and "
            "MONITOR_WEB_TOKEN is not set: set MONITOR_WEB_TOKEN (the web pages' login) or "
            "listen on 127.0.0.1"
        )
    return None


def config_problems(settings: Settings, config: Config) -> list[str]:
    """Settings that do not fit the config; `monitor check` and `monitor run` both refuse them."""
    problems = []
    exposure = exposure_problem(settings)  # `run` serves the web pages
    if exposure:
        problems.append(exposure)
    channel = settings.ops_channel
    if channel and channel in config.off:
        problems.append(
            f"MONITOR_OPS_CHANNEL names '{channel}', which is off until "
            f"{' and '.join(config.off[channel])} is set (source-health alerts would be lost)"
        )
    elif channel and channel not in config.channels:
        names = [*config.channels, *(f"{name} (off)" for name in config.off)]
        known = ", ".join(sorted(names)) or "none"
        problems.append(
            f"MONITOR_OPS_CHANNEL names '{channel}', which {config.directory / 'channels.yaml'} "
            f"does not define (channels: {known})"
        )
    return problems


def env_file_problems(path: str = ENV_FILE) -> list[str]:
    """One line per line of `.env` that cannot be read as NAME=value.

    python-dotenv skips such a line with a warning that names no file, so a value put there
    (a quote left open, a missing '=') would be silently ignored.
    """
    from dotenv.parser import parse_stream

    file = Path(path)
    if not file.is_file():
        return []
    try:
        with file.open(encoding="utf-8") as stream:
            bindings = list(parse_stream(stream))
    except (OSError, UnicodeDecodeError) as err:
        return [f"{path}: cannot be read: {err}"]
    return [
        f"{path}:{b.original.line}: cannot read this line; write NAME=value "
        f"(it starts: {b.original.string.strip()[:40]!r})"
        for b in bindings
        if b.error
    ]


def env_value(name: str) -> str | None:
    """A variable from the environment, else from `.env` (as the MONITOR_* settings are read).

    ${VAR} in channels.yaml and a webhook's `secret_env` are looked up here, so a value put
    in `.env` (as .env.example suggests) works for them too; the environment wins.
    """
    found = os.environ.get(name)
    if found is not None:
        return found
    try:
        values = dotenv_values(ENV_FILE) if Path(ENV_FILE).is_file() else {}
    except OSError:
        return None
    return values.get(name)
