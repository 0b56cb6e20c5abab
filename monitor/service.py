"""`monitor run`: the long-running service.

An APScheduler (asyncio) job per source, on its own `every`/`cron` schedule with jitter,
never running twice at once and coalescing missed runs; a delivery loop of its own (a poll
only writes outbox rows and wakes it, so a hung channel never holds up polling); a config
reload job (changed files are validated and the new config, rules and channels swapped in
as one value; an invalid change leaves the last good config in force, and a reload that
failed for another reason is tried again at the next check); `/healthz` and `/metrics` on
MONITOR_HTTP_PORT; SIGTERM/SIGINT stop taking work, let in-flight polls and sends finish
within a grace period, and exit cleanly.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import signal
import socket
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from apscheduler.events import EVENT_JOB_SUBMITTED, JobSubmissionEvent
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from monitor.alerts import Channel, build_channels
from monitor.alerts.worker import deliver_due
from monitor.config import Config, load_config
from monitor.errors import ConfigError, MonitorError, StoreError
from monitor.fetch import Fetcher
from monitor.health import health_alert, health_event
from monitor.metrics import Metrics
from monitor.models import PollResult
from monitor.pipeline import PollContext, run_source
from monitor.rules.learn import learned
from monitor.rules.matcher import RuleSet, word_frequencies
from monitor.settings import Settings, config_problems
from monitor.sources import SourceOptions
from monitor.store import SourceState, Store
from monitor.store.writer import PollWriter
from monitor.web import Live, create_app
from monitor.web.channels import channel_infos
from monitor.web.healthz import health
from monitor.web.serve import HttpServer

log = logging.getLogger("monitor.service")
DELIVERY_EVERY = 2.0
RELOAD_EVERY = 2.0
# Worker threads of the event loop's default executor. Email sends run in it, and so do
# the name lookups of every fetch: with the default (CPU count + 4) a few sends to a hung
# mail server took every thread and polls waited for them.
LOOP_THREADS = 128


def _trigger(source: SourceOptions) -> IntervalTrigger | CronTrigger:
    if source.cron:
        return CronTrigger.from_crontab(source.cron, timezone=UTC)
    seconds = source.interval_seconds or 600
    return IntervalTrigger(seconds=seconds, jitter=min(5, seconds // 10), timezone=UTC)


def _first_delay(source: SourceOptions) -> float:
    """Spread first polls over up to 10 s (stable per source), not all at the same instant."""
    spread = min(10.0, (source.interval_seconds or 600) / 2)
    digest = hashlib.sha256(source.id.encode()).digest()
    return 0.1 + spread * int.from_bytes(digest[:4], "big") / 2**32


def _config_stamp(directory: Path) -> tuple[tuple[str, float, int], ...]:
    files = sorted([*directory.glob("*.yaml"), *directory.glob("templates/*")])
    stamps = []
    for path in files:
        try:
            stat = path.stat()
        except FileNotFoundError:
            continue
        stamps.append((str(path), stat.st_mtime, stat.st_size))
    return tuple(stamps)


@dataclass(frozen=True)
class InForce:
    """The config in force and what is built from it: replaced only as a whole."""

    config: Config
    rules: RuleSet
    channels: dict[str, Channel]


class Service:
    """The scheduler, its jobs, the health/metrics endpoint and a clean shutdown."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._stamp = _config_stamp(settings.config_dir)
        config = load_config(settings.config_dir)  # invalid: never starts
        self._check_ops_channel(config)
        self.store = Store.open(settings.database_url)
        self.metrics = Metrics()
        self.scheduler = AsyncIOScheduler(timezone=UTC)
        self.fetcher: Fetcher | None = None
        self.writer: PollWriter | None = None  # the store's work, off the event loop
        self.in_force = self._build(config)
        self._in_flight: set[asyncio.Task[Any]] = set()
        self._stopping = asyncio.Event()
        self._deliver_soon = asyncio.Event()
        self._http: HttpServer | None = None
        self._polls = asyncio.Semaphore(settings.poll_concurrency)
        self.holder = f"{socket.gethostname()}-{os.getpid()}"

    # -- the config in force ----------------------------------------------------------------

    @property
    def config(self) -> Config:
        return self.in_force.config

    @property
    def rules(self) -> RuleSet:
        return self.in_force.rules

    @property
    def channels(self) -> dict[str, Channel]:
        return self.in_force.channels

    def _check_ops_channel(self, config: Config) -> None:
        # The same check as `monitor check`; on reload it keeps source-health alerts from
        # vanishing when channels.yaml renames or drops the ops channel.
        problems = config_problems(self.settings, config)
        if problems:
            raise ConfigError(problems)
        if config.off_warning():
            log.warning(config.off_warning())

    def _build(self, config: Config) -> InForce:
        """Everything a config puts in force; reads the database (word statistics)."""
        rules = config.rules.with_frequencies(word_frequencies(self.store.sample_documents()))
        rules, statuses = learned(rules, self.store)  # `learn: true`: train (cached by labels)
        for status in statuses:
            log.info(status.describe())
        return InForce(config, rules, build_channels(config.channels, self.settings))

    # -- jobs -----------------------------------------------------------------------------

    def _tracked(self, job: Callable[..., Awaitable[None]]) -> Callable[..., Awaitable[None]]:
        async def run(*args: Any) -> None:
            if self._stopping.is_set():
                return
            task = asyncio.current_task()
            assert task is not None
            self._in_flight.add(task)
            try:
                await job(*args)
            except asyncio.CancelledError:
                if not self._stopping.is_set():
                    raise
                # Shutdown cancelled it after the grace period: expected, so one line and
                # no traceback (a cancelled poll commits nothing).
                if getattr(job, "__name__", "") == "poll" and args:
                    log.warning(
                        "source %s: poll cancelled at shutdown (still running after the "
                        "grace period); nothing of it was stored",
                        args[0],
                        extra={"source": args[0]},
                    )
                else:
                    log.warning("%s cancelled at shutdown", getattr(job, "__name__", "job"))
            except Exception:
                name = getattr(job, "__name__", "job")
                extra = {"source": args[0]} if name == "poll" and args else {}
                log.exception("job %s failed", name, extra=extra)
            finally:
                self._in_flight.discard(task)

        return run

    async def poll(self, source_id: str, planned: float | None = None) -> None:
        in_force = self.in_force  # one config for the whole poll, even if a reload swaps it
        sources = in_force.config.sources.sources
        source = next((s for s in sources if s.id == source_id), None)
        if source is None or self.fetcher is None or self.writer is None:
            return
        gap = (source.interval_seconds or 60) * 0.5
        claim = self.store.claim_poll
        if not await self.writer.call(claim, source_id, self.holder, datetime.now(UTC), gap):
            log.debug(
                "source %s: polled by another replica this period",
                source_id,
                extra={"source": source_id},
            )
            return
        before = await self.writer.call(self.store.source_state, source_id)
        ctx = PollContext(
            fetcher=self.fetcher, store=self.store, rules=in_force.rules, writer=self.writer
        )
        async with self._polls:  # bounds memory and sockets when many sources are due
            result = await run_source(source, ctx)
        self._check_health(source, before, result)
        self.metrics.polls.labels(source_id, result.status).inc()
        self.metrics.poll_seconds.labels(source_id).observe(result.duration)
        if result.status == "error":
            self.metrics.poll_errors.labels(source_id).inc()
            log.warning(
                "source %s failed: %s", source_id, result.error, extra={"source": source_id}
            )
        for change in result.changes:
            self.metrics.documents.labels(source_id, change.change).inc()
            for match in change.matches:
                self.metrics.matches.labels(match.rule_id).inc()
        if result.status != "error":  # a failure was logged above, once
            changed = result.count("new") + result.count("updated")
            log.log(
                # A poll that found nothing new is the usual case: shown at DEBUG only.
                logging.INFO if changed or result.baseline else logging.DEBUG,
                "source %s: %s, %d items, %d new, %d updated%s",
                source_id,
                result.status.replace("_", " "),
                result.items,
                result.count("new"),
                result.count("updated"),
                f"; {result.baseline_note()}" if result.baseline else "",
                extra={"source": source_id},
            )
        if result.note:
            log.info("source %s: %s", source_id, result.note, extra={"source": source_id})
        if any(c.matches for c in result.changes):
            # Alerts go out now rather than at the next tick, but the poll does not wait for
            # them: a slow or hung channel must not hold up polling.
            self._deliver_soon.set()

    def _check_health(
        self, source: SourceOptions, before: SourceState | None, result: PollResult
    ) -> None:
        event = health_event(before, result, self.settings.source_failure_alert_after)
        if event is None:
            return
        log.log(
            logging.INFO if event.kind == "recovered" else logging.WARNING,
            "source %s %s: %s",
            source.id,
            event.kind,
            event.message,
            extra={"source": source.id, "health": event.kind},
        )
        channel = self.settings.ops_channel
        if channel and channel in self.channels:
            self.store.enqueue(
                [health_alert(source, event, channel, datetime.now(UTC))], datetime.now(UTC)
            )

    async def prune(self) -> None:
        cutoff = datetime.now(UTC) - timedelta(days=self.settings.retention_days)
        versions, alerts = self.store.prune(cutoff)
        log.info("retention: pruned %d old document versions and %d old alerts", versions, alerts)

    async def deliver(self) -> None:
        """One delivery run (only the delivery loop calls it: runs never overlap)."""
        in_force = self.in_force
        deliveries = await deliver_due(
            self.store, in_force.channels, self.settings, off=in_force.config.off
        )
        for d in deliveries:  # failures are logged by the worker, once each
            self.metrics.alerts.labels(d.channel, d.status).inc(len(d.alert_ids))
        self.metrics.outbox_unknown_channel.set(deliveries.waiting_for_unknown)
        try:
            self.metrics.outbox_depth.set(self.store.outbox.depth())
        except StoreError:
            pass  # the database is away: deliver_due has said so, once, for this run

    async def _delivery_loop(self) -> None:
        """Deliver every DELIVERY_EVERY seconds, or sooner when a poll queued alerts."""
        run = self._tracked(self.deliver)
        while not self._stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._deliver_soon.wait(), DELIVERY_EVERY)
            self._deliver_soon.clear()
            await run()

    async def reload(self) -> None:
        """Apply changed config files as one swap; the stamp is saved only once applied."""
        stamp = _config_stamp(self.settings.config_dir)
        if stamp == self._stamp:
            return
        try:
            config = load_config(self.settings.config_dir)
            self._check_ops_channel(config)
        except ConfigError as err:
            self._stamp = stamp  # the same files give the same errors: report them once
            self.metrics.reloads.labels("error").inc()
            log.error("config change rejected; the last good config stays in force:\n%s", err)
            return
        try:
            in_force = self._build(config)
        except Exception as err:  # noqa: BLE001 - e.g. the database is down: try again later
            self.metrics.reloads.labels("error").inc()
            log.error(
                "config change not applied yet (%s); the last good config stays in force "
                "and the change is tried again in %.0f s",
                err,
                RELOAD_EVERY,
            )
            return
        self.in_force = in_force
        if self.fetcher is not None:
            self.fetcher.set_hosts(config.sources.host_policies())
        self._schedule_sources()
        self._stamp = stamp
        self.metrics.reloads.labels("ok").inc()
        log.info(
            "config reloaded: %d sources, %d rules, %d channels",
            len(config.sources.sources),
            len(config.rules),
            len(config.channels),
        )

    def _observe_lag(self, event: JobSubmissionEvent) -> None:
        if event.job_id.startswith("source:") and event.scheduled_run_times:
            lag = (datetime.now(UTC) - event.scheduled_run_times[0]).total_seconds()
            self.metrics.schedule_lag.observe(max(0.0, lag))

    def _schedule_sources(self) -> None:
        wanted = {s.id: s for s in self.config.sources.sources}
        for job in self.scheduler.get_jobs():
            if job.id.startswith("source:") and job.id[7:] not in wanted:
                job.remove()
        for source_id, source in wanted.items():
            job_id = f"source:{source_id}"
            existing = self.scheduler.get_job(job_id)
            trigger = _trigger(source)
            if existing is None:
                self.scheduler.add_job(
                    self._tracked(self.poll),
                    trigger,
                    args=[source_id],
                    id=job_id,
                    max_instances=1,
                    coalesce=True,
                    misfire_grace_time=None,
                    next_run_time=datetime.now(UTC) + timedelta(seconds=_first_delay(source)),
                )
            elif str(existing.trigger) != str(trigger):
                existing.reschedule(trigger)

    # -- health and metrics ---------------------------------------------------------------

    def health(self) -> tuple[int, dict[str, Any]]:
        """(HTTP status, JSON body) for /healthz."""
        return health(self.store, self.live())

    def live(self) -> Live:
        """What the web pages show beyond the database: sources, scheduler, next polls."""
        running = self.scheduler.running
        planned = {}
        if running:
            for job in self.scheduler.get_jobs():
                if job.id.startswith("source:") and job.next_run_time is not None:
                    planned[job.id[7:]] = job.next_run_time
        return Live(
            sources=tuple(s.id for s in self.config.sources.sources),
            scheduler=running,
            next_polls=planned,
            rules=len(self.config.rules),
            channels=channel_infos(self.config.channels),
        )

    async def _start_http(self) -> None:
        """The web pages, /healthz and /metrics, served by uvicorn inside this loop."""
        app = create_app(self.settings, self.store, self.live, metrics=self.metrics.registry)
        self._http = HttpServer(app, self.settings)  # binds now: a port in use stops the start
        await self._http.start()

    # -- lifecycle --------------------------------------------------------------------------

    async def run(self, grace: float | None = None) -> None:
        grace = self.settings.shutdown_grace if grace is None else grace
        await self._start_http()  # first: a port in use stops the start before any work
        loop = asyncio.get_running_loop()
        loop.set_default_executor(ThreadPoolExecutor(LOOP_THREADS, thread_name_prefix="loop"))
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._stopping.set)
        self.fetcher = Fetcher(self.settings, hosts=self.config.sources.host_policies())
        self.writer = PollWriter(self.store)
        self.store.load_validators(s.url for s in self.config.sources.sources)
        self._schedule_sources()
        delivery = asyncio.create_task(self._delivery_loop(), name="delivery")
        self.scheduler.add_job(
            self._tracked(self.reload),
            IntervalTrigger(seconds=RELOAD_EVERY, timezone=UTC),
            id="reload",
            max_instances=1,
            coalesce=True,
        )
        self.scheduler.add_job(
            self._tracked(self.prune),
            IntervalTrigger(hours=6, timezone=UTC),
            id="retention",
            max_instances=1,
            coalesce=True,
        )
        self.scheduler.add_listener(self._observe_lag, EVENT_JOB_SUBMITTED)
        self.scheduler.start()
        log.info(
            "monitor running: %d sources, %d rules, %d channels; web pages, /healthz and "
            "/metrics on http://%s:%d",
            len(self.config.sources.sources),
            len(self.config.rules),
            len(self.config.channels),
            self.settings.http_host,
            self.settings.http_port,
        )
        await self._stopping.wait()
        log.info(
            "stopping: no new work; waiting up to %.0f s for %d running jobs",
            grace,
            len(self._in_flight),
        )
        self.scheduler.pause()
        deadline = time.monotonic() + grace
        while self._in_flight and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        for task in list(self._in_flight):
            # A cancelled poll commits nothing, unless its batch was already being written
            # (then all of it is committed: documents, seen entries and alerts together).
            task.cancel()
        delivery.cancel()  # waiting for its next tick, or cancelled just above
        with contextlib.suppress(asyncio.CancelledError):
            await delivery
        self.scheduler.shutdown(wait=False)
        if self._http is not None:
            await self._http.stop()
        await self.fetcher.aclose()
        await self.writer.aclose()
        self.store.close()
        log.info("stopped")


def run_service(settings: Settings) -> None:
    """Run until SIGTERM/SIGINT."""
    service = Service(settings)
    try:
        asyncio.run(service.run())
    except MonitorError:
        service.store.close()
        raise
