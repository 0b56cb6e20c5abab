"""Prometheus metrics of the service (one registry per Service)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class Metrics:
    """Counters ops watch: polls, documents, matches, alerts, outbox depth, reloads."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.polls = Counter(
            "monitor_polls_total", "Source polls by outcome", ["source", "status"], registry=r
        )
        self.poll_errors = Counter(
            "monitor_poll_errors_total", "Failed source polls", ["source"], registry=r
        )
        self.poll_seconds = Histogram(
            "monitor_poll_duration_seconds", "Poll duration", ["source"], registry=r
        )
        self.documents = Counter(
            "monitor_documents_total",
            "Documents stored by change",
            ["source", "change"],
            registry=r,
        )
        self.matches = Counter("monitor_matches_total", "Rule matches", ["rule"], registry=r)
        self.alerts = Counter(
            "monitor_alerts_total",
            "Alert sends by result: delivered, pending (retried later), dead, deferred (a send "
            "to the channel timed out), lost (the lease expired and another worker took over), "
            "error (the result could not be recorded)",
            ["channel", "status"],
            registry=r,
        )
        self.outbox_depth = Gauge(
            "monitor_outbox_depth", "Alerts waiting to be delivered", registry=r
        )
        self.outbox_unknown_channel = Gauge(
            "monitor_outbox_unknown_channel_alerts",
            "Alerts waiting for a channel this replica's channels.yaml does not define "
            "(left for a replica that knows it, e.g. during a rolling deploy)",
            registry=r,
        )
        self.reloads = Counter(
            "monitor_config_reloads_total", "Config reloads by result", ["result"], registry=r
        )
        self.schedule_lag = Histogram(
            "monitor_schedule_lag_seconds",
            "Actual minus planned start of a poll",
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30),
            registry=r,
        )
