"""`type: email`: multipart text + HTML over SMTP, one alert or a digest per message."""

from __future__ import annotations

import asyncio
import re
import smtplib
import ssl
from collections.abc import Callable
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, parseaddr
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal
from zoneinfo import ZoneInfo

from pydantic import Field, field_validator

from monitor.alerts.base import (
    Channel,
    ChannelOptions,
    Dead,
    OutboxAlert,
    Outcome,
    Retry,
    Sent,
    batch_key,
    one_line,
    printable,
    register,
    safe_link,
)
from monitor.alerts.feedback import feedback_links
from monitor.models import segments
from monitor.settings import Settings
from monitor.sources.base import parse_interval

if TYPE_CHECKING:  # jinja2 is imported where emails are rendered: `check` does without it
    import jinja2

MAX_SUBJECT = 200
_ADDRESS = re.compile(r"^[^@\s<>,;]+@[^@\s<>,;]+$")

Sender = Callable[[EmailMessage], None]


class EmailOptions(ChannelOptions):
    type: Literal["email"] = "email"
    to: list[str] = Field(min_length=1)
    cc: list[str] = Field(default_factory=list)
    digest: str | None = None

    @field_validator("to", "cc")
    @classmethod
    def _addresses(cls, values: list[str]) -> list[str]:
        for value in values:
            if not _ADDRESS.match(value):
                raise ValueError(f"'{value}' is not an email address")
        return values

    @field_validator("digest")
    @classmethod
    def _interval(cls, value: str | None) -> str | None:
        if value is not None:
            parse_interval(value)
        return value


def clean_header(text: str, limit: int = MAX_SUBJECT) -> str:
    """One safe header line: control characters (CR, LF, …) become spaces; length capped."""
    text = one_line(text)
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _cleaned(fields: dict[str, Any]) -> dict[str, Any]:
    """A payload mapping with every text (and list of texts) on one line."""
    out: dict[str, Any] = {}
    for key, value in fields.items():
        if isinstance(value, str):
            value = one_line(value)
        elif isinstance(value, list):
            value = [one_line(v) if isinstance(v, str) else v for v in value]
        out[key] = value
    return out


def _environment(config_dir: Path | None) -> jinja2.Environment:
    import jinja2

    loaders: list[jinja2.BaseLoader] = []
    if config_dir is not None and (config_dir / "templates").is_dir():
        loaders.append(jinja2.FileSystemLoader(config_dir / "templates"))
    loaders.append(jinja2.PackageLoader("monitor.alerts", "templates"))
    return jinja2.Environment(
        loader=jinja2.ChoiceLoader(loaders),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default=False),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


class TlsSetupError(Exception):
    """The TLS settings cannot be used (an unreadable MONITOR_SMTP_CA_FILE)."""


def tls_context(settings: Settings) -> ssl.SSLContext:
    """A client context that verifies the server's certificate chain and host name."""
    ca_file = settings.smtp_ca_file
    try:
        # With a CA file, that file is the whole trust store: a private CA, not the public ones.
        return ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
    except (OSError, ValueError) as err:
        reason = getattr(err, "strerror", None) or str(err)
        raise TlsSetupError(f"MONITOR_SMTP_CA_FILE {ca_file}: cannot load it: {reason}") from None


def smtp_send(settings: Settings) -> Sender:
    """A sender that speaks SMTP with the MONITOR_SMTP_* settings."""

    def send(message: EmailMessage) -> None:
        host, port = settings.smtp_host, settings.smtp_port
        context: ssl.SSLContext | None = None
        if settings.smtp_tls:
            context = tls_context(settings)
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(host, port, timeout=30, context=context)
        else:
            context = tls_context(settings) if settings.smtp_starttls else None
            smtp = smtplib.SMTP(host, port, timeout=30)
        with smtp:
            if context is not None and not settings.smtp_tls:
                smtp.starttls(context=context)
            if settings.smtp_username and settings.smtp_password:
                smtp.login(settings.smtp_username, settings.smtp_password.get_secret_value())
            smtp.send_message(message)

    return send


@register
class EmailChannel(Channel):
    type_name: ClassVar[str] = "email"
    Options: ClassVar[type[ChannelOptions]] = EmailOptions

    def __init__(
        self, name: str, options: ChannelOptions, settings: Settings, sender: Sender | None = None
    ) -> None:
        super().__init__(name, options, settings)
        self._send = sender or smtp_send(settings)
        self._templates = _environment(settings.config_dir)

    @property
    def digest_seconds(self) -> int | None:
        options = self.options
        assert isinstance(options, EmailOptions)
        return parse_interval(options.digest) if options.digest else None

    def _published(self, published: object) -> str:
        """The published time in MONITOR_TIMEZONE; in UTC (or as given) when it cannot be."""
        if not published or not isinstance(published, str):
            return "-"
        try:
            moment = datetime.fromisoformat(published.replace("Z", "+00:00"))
        except ValueError:
            return one_line(published)
        try:
            moment = moment.astimezone(ZoneInfo(self.settings.timezone))
        except (OverflowError, ValueError):
            pass  # year 9999 in a zone east of UTC is past the calendar's end: keep UTC
        return moment.strftime("%d %B %Y %H:%M %Z")

    def _context(self, alert: OutboxAlert) -> dict[str, Any]:
        p = alert.payload
        match = p["matches"][0]
        document = _cleaned(p["document"])
        # Only an http(s) link is ever shown: feed links are third-party text.
        document["url"] = safe_link(p["document"].get("url")) or ""
        snippet = printable(match["snippet"])
        return {
            "rule": _cleaned(p["rule"]),
            "document": document,
            "match": {**match, "snippet": snippet},
            "published": self._published(p["document"].get("published_at")),
            "segments": segments(snippet, match.get("highlights", [])),
            "update": p.get("update", False),
            # Signed "useful / not useful" links, or None (no MONITOR_PUBLIC_URL).
            "feedback": feedback_links(self.settings, p, "email"),
        }

    def render(self, alerts: list[OutboxAlert]) -> EmailMessage:
        """The message for one alert, or a digest with a table of contents."""
        options = self.options
        assert isinstance(options, EmailOptions)
        items = [self._context(a) for a in alerts]
        if len(alerts) == 1:
            item = items[0]
            subject = f"[monitor] {item['rule']['name']}: {item['document']['title']}"
            text = self._templates.get_template("alert.txt").render(**item)
            html = self._templates.get_template("alert.html").render(**item)
        else:
            rules = sorted({i["rule"]["name"] for i in items})
            subject = f"[monitor] {len(items)} alerts: {', '.join(rules)}"
            text = self._templates.get_template("digest.txt").render(items=items)
            html = self._templates.get_template("digest.html").render(items=items)
        name, address = parseaddr(one_line(self.settings.smtp_from))
        message = EmailMessage()
        message["Subject"] = clean_header(subject)
        message["From"] = formataddr((name, address)) if name else address
        message["To"] = ", ".join(options.to)
        if options.cc:
            message["Cc"] = ", ".join(options.cc)
        domain = re.sub(r"[^A-Za-z0-9.-]", "", address.rpartition("@")[2]) or "monitor.invalid"
        # From the content, never random: a message resent after a crash has the same id.
        message["Message-ID"] = f"<{batch_key(a.key for a in alerts)}@{domain}>"
        message["Date"] = format_datetime(datetime.now(UTC))
        message.set_content(text)
        message.add_alternative(html, subtype="html")
        return message

    async def send(self, alerts: list[OutboxAlert]) -> Outcome:
        import jinja2  # loaded with the templates in __init__; named for the except below

        try:
            message = self.render(alerts)
            await asyncio.to_thread(self._send, message)
        except TlsSetupError as err:
            return Retry(str(err))
        except ssl.SSLCertVerificationError as err:
            # An operator can fix this (a renewed certificate, MONITOR_SMTP_CA_FILE): retry.
            where = f"{self.settings.smtp_host}:{self.settings.smtp_port}"
            return Retry(
                f"SMTP server {where}: certificate verification failed: "
                f"{err.verify_message or err.reason} (set MONITOR_SMTP_CA_FILE to trust "
                "a private CA)"
            )
        except smtplib.SMTPRecipientsRefused as err:
            return Dead(f"SMTP refused every recipient: {', '.join(err.recipients)}")
        except smtplib.SMTPResponseException as err:
            text = err.smtp_error
            text = text.decode(errors="replace") if isinstance(text, bytes) else str(text)
            reason = f"SMTP {err.smtp_code}: {text[:200]}"
            return Dead(reason) if 500 <= err.smtp_code < 600 else Retry(reason)
        except smtplib.SMTPServerDisconnected:
            # It was reached and may have kept the message (a drop after DATA): "unreachable"
            # would mislead; the resend carries the same Message-ID for de-duplication.
            where = f"{self.settings.smtp_host}:{self.settings.smtp_port}"
            return Retry(f"SMTP server {where} closed the connection before confirming the message")
        except (smtplib.SMTPException, OSError) as err:
            where = f"{self.settings.smtp_host}:{self.settings.smtp_port}"
            reason = str(err)[:200] or type(err).__name__
            return Retry(f"SMTP server {where} unreachable: {reason}")
        except jinja2.TemplateError as err:
            return Dead(f"email template error: {err}")
        return Sent(f"to {', '.join(message['To'].split(', '))}")
