"""Service settings from the environment (prefix MONITOR_, `.env` supported)."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Everything ops set through MONITOR_* variables; config files hold the rest."""

    model_config = SettingsConfigDict(env_prefix="MONITOR_", env_file=".env", extra="ignore")

    config_dir: Path = Path("config")
    database_url: str = "sqlite:///data/monitor.db"
    timezone: str = "UTC"
    log_format: str = "text"
    http_port: int = 8080

    user_agent: str = "monitor/0.1 (release watcher; +https://github.com/monitor-project/monitor)"
    fetch_connect_timeout: float = 10.0
    fetch_read_timeout: float = 30.0
    fetch_deadline: float = 120.0
    fetch_max_bytes: int = 10 * 1024 * 1024
    fetch_max_redirects: int = 5
    fetch_attempts: int = 3
    fetch_backoff: float = 1.0
    fetch_max_retry_after: float = 60.0
    host_concurrency: int = 4
    host_delay: float = 0.1
    max_connections: int = 100
    parse_workers: int = Field(default=0, ge=0)
    poll_concurrency: int = Field(default=64, ge=1)  # sources polled at once by `run`

    smtp_host: str = "localhost"
    smtp_port: int = 25
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = False
    smtp_tls: bool = False  # implicit TLS (port 465)
    smtp_ca_file: Path | None = None  # PEM CA bundle trusted instead of the system's (private CA)
    smtp_from: str = "monitor@localhost"
    webhook_secret: SecretStr | None = None

    delivery_backoff: float = 30.0  # first retry after this many seconds, then doubling…
    delivery_backoff_max: float = 3600.0  # …up to this…
    delivery_give_up_after: float = 86400.0  # …until the alert is this old: then dead
    delivery_lease: float = 300.0  # a claimed alert is retried after this if not marked
    delivery_timeout: float = Field(default=60.0, gt=0)  # one send; then retried later

    ops_channel: str | None = None  # channel (channels.yaml) for source-health alerts
    source_failure_alert_after: int = 5  # failed polls in a row before an ops alert
    retention_days: float = 180.0  # older document versions and sent alerts are pruned

    @field_validator("smtp_ca_file", mode="before")
    @classmethod
    def _unset_when_empty(cls, value: object) -> object:
        # `MONITOR_SMTP_CA_FILE=` (as in .env.example) means no file, not the directory ".".
        return None if value == "" else value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        # Checked at start: an unknown zone would otherwise fail every email until dead.
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone '{value}'") from None
        return value
