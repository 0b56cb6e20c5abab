"""Alert delivery: channels (one module each), the outbox worker, templates."""

from monitor.alerts import email, webhook
from monitor.alerts.base import REGISTRY, Channel, ChannelOptions, OutboxAlert
from monitor.settings import Settings

__all__ = ["REGISTRY", "Channel", "ChannelOptions", "OutboxAlert", "email", "webhook"]


def build_channels(
    options: dict[str, ChannelOptions], settings: Settings, **overrides: object
) -> dict[str, Channel]:
    """The Channel objects for validated options (overrides: per-type keyword arguments)."""
    channels: dict[str, Channel] = {}
    for name, opts in options.items():
        cls = REGISTRY[opts.type]
        extra = overrides.get(opts.type, {})
        channels[name] = cls(name, opts, settings, **extra)  # type: ignore[arg-type, call-arg]
    return channels
