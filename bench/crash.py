"""Crash loop: `monitor run` and `monitor once` killed with SIGKILL at random moments.

Evidence for "a crash loses nothing; a restart resumes" (DESIGN.md, outbox): a loopback
server publishes feeds whose items all mention Biegun, a little more at every restart; a
rule sends each release to a webhook channel and an email channel. The service is started
as a real subprocess and killed with `kill -9` at random moments — during start-up and
migrations, in a poll, in the middle of a delivery run (right after a message arrived) —
and `monitor once` runs are interleaved. At the end a last `monitor run` is left to finish
delivering. The webhook receiver (recording Idempotency-Key) and the aiosmtpd server
(recording Message-ID) must then hold every expected alert: 0 lost, and every duplicate
carries the key of the original (a receiver can drop it).

    python bench/crash.py [--kills 100] [--backend sqlite|postgresql] [--feeds 20]
                          [--items 15] [--seed N] [--keep]

tests/test_crash.py runs a reduced form of the same loop in CI.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

from monitor.fixture_server import FixtureServer, Route

ROOT = Path(__file__).resolve().parent.parent
PG_URL = os.environ.get("MONITOR_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
# Every release carries a token naming its feed and item, so the receivers' records can be
# compared with what was published without depending on how document ids are derived.
TOKEN = re.compile(r"\bF(\d+)N(\d+)\b")
CHANNELS = ("hook", "mail")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- receivers --------------------------------------------------------------------------


@dataclass
class Received:
    """What the receivers got: per channel, (release token, idempotency key) in order."""

    by_channel: dict[str, list[tuple[str, str]]] = field(
        default_factory=lambda: {c: [] for c in CHANNELS}
    )
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, channel: str, token: str, key: str) -> None:
        with self.lock:
            self.by_channel[channel].append((token, key))

    def count(self) -> int:
        with self.lock:
            return sum(len(v) for v in self.by_channel.values())

    def tokens(self, channel: str) -> set[str]:
        with self.lock:
            return {t for t, _ in self.by_channel[channel]}


def webhook_receiver(received: Received) -> Callable[[BaseHTTPRequestHandler], None]:
    """A fixture-server handler that records each complete alert POST, then answers 200."""

    def handle(req: BaseHTTPRequestHandler) -> None:
        body: bytes = getattr(req, "body", b"")
        try:
            payload = json.loads(body)
        except ValueError:
            payload = None  # a sender killed mid-request: nothing was delivered
        if isinstance(payload, dict):
            match = TOKEN.search(str(payload.get("document", {}).get("title", "")))
            key = req.headers.get("Idempotency-Key", "")
            if match:
                received.add("hook", match.group(0), key)
        try:
            req.send_response(200)
            req.send_header("Content-Length", "0")
            req.end_headers()
        except OSError:
            pass  # the sender died before reading the answer; it will resend (same key)

    return handle


class _Inbox:
    def __init__(self, received: Received) -> None:
        self.received = received

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        message = message_from_bytes(envelope.content, policy=policy.default)
        match = TOKEN.search(str(message.get("Subject", "")))
        if match:
            self.received.add("mail", match.group(0), str(message.get("Message-ID", "")))
        return "250 OK"


@contextmanager
def smtp_server(received: Received) -> Iterator[int]:
    port = free_port()
    controller = Controller(_Inbox(received), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


# -- feeds ------------------------------------------------------------------------------


def token(feed: int, item: int) -> str:
    return f"F{feed:02d}N{item:02d}"


def feed_xml(feed: int, count: int, base: datetime) -> bytes:
    """An RSS 2.0 feed holding the first `count` releases of `feed`, newest first."""
    items = []
    for n in reversed(range(count)):
        t = token(feed, n)
        when = format_datetime(base + timedelta(minutes=feed * 100 + n))
        items.append(
            f"<item><title>Envoy Biegun statement {t}</title>"
            f"<link>https://crash.example/feed{feed:02d}/{n:02d}</link>"
            f"<guid>https://crash.example/feed{feed:02d}/{n:02d}</guid>"
            f"<pubDate>{when}</pubDate>"
            f"<description>Special Representative Stephen Biegun met counterparts "
            f"about release {t}.</description></item>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
        f"<title>Crash feed {feed}</title><link>https://crash.example/</link>"
        f"<description>releases</description>{''.join(items)}</channel></rss>"
    ).encode()


class Feeds:
    """The loopback feeds; `publish(n)` makes the first n releases (round robin) visible."""

    def __init__(self, server: FixtureServer, feeds: int, items: int) -> None:
        self.server, self.feeds, self.items = server, feeds, items
        # Releases published in the last day and a half (feed f, item n: f·100 + n minutes
        # after the base): within a new source's alert_max_age (2 days), so the first poll's
        # baseline alerts on them, as it does on anything published while monitor was down.
        self.base = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(hours=36)
        self.visible = [0] * feeds
        self.publish(0)

    @property
    def total(self) -> int:
        return self.feeds * self.items

    def publish(self, count: int) -> None:
        count = min(count, self.total)
        visible = [
            count // self.feeds + (1 if f < count % self.feeds else 0) for f in range(self.feeds)
        ]
        for f, n in enumerate(visible):
            if n != self.visible[f] or f"/feed{f:02d}.rss" not in self.server.routes:
                self.server.routes[f"/feed{f:02d}.rss"] = Route(
                    body=feed_xml(f, n, self.base), content_type="application/rss+xml"
                )
        self.visible = visible

    def expected(self) -> set[str]:
        return {token(f, n) for f in range(self.feeds) for n in range(self.visible[f])}


def write_config(directory: Path, server: FixtureServer, feeds: int) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    sources = ["sources:"]
    for f in range(feeds):
        url = server.url(f"/feed{f:02d}.rss")
        # 10 s is the floor of `every`; restarts poll each source again within 5 s anyway.
        sources.append(f"  - {{id: feed-{f:02d}, type: rss, url: '{url}', every: 10s}}")
    (directory / "sources.yaml").write_text("\n".join(sources) + "\n")
    (directory / "rules.yaml").write_text(
        "terms:\n  biegun: [Biegun]\n"
        "rules:\n"
        "  - {id: biegun, name: Biegun mentioned, query: '@biegun', notify: [hook, mail]}\n"
    )
    (directory / "channels.yaml").write_text(
        "channels:\n"
        f"  hook: {{type: webhook, url: '{server.url('/hook')}'}}\n"
        "  mail: {type: email, to: [analysts@example.org]}\n"
    )


# -- databases --------------------------------------------------------------------------


@contextmanager
def database(backend: str, workdir: Path) -> Iterator[str]:
    """A fresh database URL: a SQLite file, or a new PostgreSQL schema dropped afterwards."""
    if backend == "sqlite":
        yield f"sqlite:///{workdir}/monitor.db"
        return
    import sqlalchemy

    schema = f"crash_{uuid.uuid4().hex[:10]}"
    admin = sqlalchemy.create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(sqlalchemy.text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{PG_URL}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            # Connections of killed processes may linger a moment; they hold no locks.
            conn.execute(sqlalchemy.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def outbox_states(url: str) -> dict[str, int]:
    """Outbox rows per status, read straight from the database."""
    import sqlalchemy

    engine = sqlalchemy.create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sqlalchemy.text("SELECT status, count(*) FROM outbox GROUP BY status")
            ).all()
    finally:
        engine.dispose()
    return {str(status): int(n) for status, n in rows}


# -- the loop ---------------------------------------------------------------------------


@dataclass
class Figures:
    """What the crash loop found."""

    backend: str
    kills: int
    runs: int
    onces: int
    onces_completed: int
    expected: int
    received: int
    duplicates: int
    lost: int
    new_key_duplicates: int
    lost_tokens: list[str]
    outbox: dict[str, int]
    seconds: float
    drain_seconds: float
    failures: list[str] = field(default_factory=list)  # processes that died on their own

    def report(self) -> str:
        return "\n".join(
            [
                f"crash loop on {self.backend}: {self.kills} kill -9 "
                f"({self.runs} `monitor run` started, {self.onces} `monitor once`, "
                f"{self.onces_completed} of them finished before their kill) "
                f"in {self.seconds:.0f} s (the last run drained in {self.drain_seconds:.0f} s)",
                f"expected    {self.expected} alerts ({self.expected // 2} releases × 2 channels)",
                f"received    {self.received}",
                f"duplicates  {self.duplicates} "
                f"({self.new_key_duplicates} under a new idempotency key / Message-ID)",
                f"lost        {self.lost}"
                + (f": {', '.join(self.lost_tokens[:20])}" if self.lost else ""),
                f"outbox      {', '.join(f'{k} {v}' for k, v in sorted(self.outbox.items()))}",
                *(f"note: {f}" for f in self.failures),
            ]
        )


def _env(config: Path, db_url: str, smtp_port: int, http_port: int) -> dict[str, str]:
    return {
        **os.environ,
        "MONITOR_CONFIG_DIR": str(config),
        "MONITOR_DATABASE_URL": db_url,
        "MONITOR_HTTP_PORT": str(http_port),
        "MONITOR_HOST_DELAY": "0",
        "MONITOR_SMTP_HOST": "127.0.0.1",
        "MONITOR_SMTP_PORT": str(smtp_port),
        "MONITOR_SMTP_FROM": "monitor@example.org",
        # Rows claimed by a killed process come back after 2 s, not 5 minutes.
        "MONITOR_DELIVERY_LEASE": "2",
        "MONITOR_DELIVERY_BACKOFF": "1",
        "MONITOR_DELIVERY_BACKOFF_MAX": "5",
        "MONITOR_FETCH_ATTEMPTS": "2",
        "MONITOR_FETCH_BACKOFF": "0.1",
        "MONITOR_LOG_FORMAT": "text",
    }


def _spawn(command: str, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "monitor", command],
            env=env,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: kill -9 reaches any child
        )


def _kill(process: subprocess.Popen[bytes]) -> bool:
    """SIGKILL the process group; True if the process was still running."""
    alive = process.poll() is None
    if alive:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            alive = False
    process.wait()
    return alive


def _tail(path: Path, lines: int = 15) -> str:
    text = path.read_text(errors="replace").splitlines()
    return "\n".join(text[-lines:])


def _wait(check: Callable[[], bool], timeout: float, step: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(step)
    return check()


def _live(
    process: subprocess.Popen[bytes],
    seconds: float,
    *,
    until: int | None = None,
    received: Received | None = None,
) -> None:
    """Let the process run for `seconds`, or until it exits or `until` messages arrived."""

    def over() -> bool:
        arrived = until is not None and received is not None and received.count() >= until
        return arrived or process.poll() is not None

    _wait(over, seconds, 0.01)


def crash_loop(
    *,
    kills: int,
    backend: str = "sqlite",
    feeds: int = 20,
    items: int = 15,
    seed: int | None = None,
    workdir: Path,
    drain_timeout: float = 120.0,
    max_life: float = 4.0,
    once_every: int = 4,
    echo: Callable[[str], None] = print,
) -> Figures:
    """Kill `monitor run`/`monitor once` `kills` times, let a last run drain, count alerts."""
    rng = random.Random(seed)
    started = time.monotonic()
    received = Received()
    logs = workdir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    failures: list[str] = []
    with (
        FixtureServer() as server,
        smtp_server(received) as smtp_port,
        database(backend, workdir) as db_url,
    ):
        server.routes["/hook"] = webhook_receiver(received)
        # A sender killed mid-request resets its connection: expected here, not worth the
        # traceback socketserver would print for each one.
        server._httpd.handle_error = lambda request, client_address: None  # type: ignore[method-assign]
        published = Feeds(server, feeds, items)
        write_config(workdir / "config", server, feeds)
        env = _env(workdir / "config", db_url, smtp_port, free_port())
        done = runs = onces = onces_completed = cycle = 0
        # Releases appear over the first 90 % of the kills, so polls keep finding new ones.
        per_cycle = max(1, -(-published.total // max(1, int(kills * 0.9))))
        while done < kills:
            cycle += 1
            published.publish(per_cycle * cycle)
            command = "once" if once_every and cycle % once_every == 0 else "run"
            log = logs / f"{cycle:03d}-{command}.log"
            process = _spawn(command, env, log)
            if command == "once":
                onces += 1
                _live(process, rng.uniform(0.3, max_life))
            elif rng.random() < 0.5:
                runs += 1  # killed anywhere: start-up, migration, first polls, deliveries
                _live(process, rng.uniform(0.2, max_life))
            else:
                runs += 1  # killed in the middle of a delivery run: just after a message
                _live(process, max_life + 4, until=received.count() + 1, received=received)
                time.sleep(rng.uniform(0.0, 0.3))
            if _kill(process):
                done += 1
            elif command == "once" and process.returncode == 0:
                onces_completed += 1
            else:
                failures.append(
                    f"`monitor {command}` #{cycle} exited with {process.returncode} "
                    f"before its kill:\n{_tail(log)}"
                )
            if done and done % 10 == 0 and command != "once":
                echo(f"  {done} kills, {received.count()} messages received")

        published.publish(published.total)
        expected = {(c, t) for c in CHANNELS for t in published.expected()}

        def complete() -> bool:
            return all(published.expected() <= received.tokens(c) for c in CHANNELS)

        log = logs / "final-run.log"
        drain_started = time.monotonic()
        process = _spawn("run", env, log)
        finished = _wait(lambda: complete() or process.poll() is not None, drain_timeout, 0.2)
        if process.poll() is None:
            # Let a resend that is already in flight land before counting.
            _wait(lambda: False, 2.5 if finished else 0, 0.1)
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                _kill(process)
                failures.append("the final `monitor run` did not stop within 30 s of SIGTERM")
        else:
            failures.append(
                f"the final `monitor run` exited with {process.returncode}:\n{_tail(log)}"
            )
        drain = time.monotonic() - drain_started
        try:
            states = outbox_states(db_url)
        except Exception as err:  # noqa: BLE001 - a figure we print, not one we assert
            states = {f"unreadable ({type(err).__name__})": 0}

    with received.lock:
        records = {c: list(v) for c, v in received.by_channel.items()}
    keys: dict[tuple[str, str], set[str]] = defaultdict(set)
    total = 0
    for channel, got in records.items():
        for tok, key in got:
            keys[(channel, tok)].add(key)
            total += 1
    unique = {k for k in keys if k in expected}
    lost = sorted(f"{c}:{t}" for c, t in expected - unique)
    new_key = sum(len(v) - 1 for v in keys.values())
    return Figures(
        backend=backend,
        kills=done,
        runs=runs,
        onces=onces,
        onces_completed=onces_completed,
        expected=len(expected),
        received=total,
        duplicates=total - len(keys),
        lost=len(lost),
        new_key_duplicates=new_key,
        lost_tokens=lost,
        outbox=states,
        seconds=time.monotonic() - started,
        drain_seconds=drain,
        failures=failures,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=100)
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--feeds", type=int, default=20)
    parser.add_argument("--items", type=int, default=15)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument(
        "--max-life", type=float, default=6.0, help="longest life before a kill (s)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the work directory (logs)")
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    workdir = Path(tempfile.mkdtemp(prefix="monitor-crash-"))
    print(
        f"crash loop: {args.kills} kills on {args.backend}, {args.feeds} feeds × {args.items} "
        f"releases, seed {seed}, work dir {workdir}"
    )
    figures = crash_loop(
        kills=args.kills,
        backend=args.backend,
        feeds=args.feeds,
        items=args.items,
        seed=seed,
        workdir=workdir,
        max_life=args.max_life,
    )
    print(figures.report())
    if not args.keep:
        import shutil

        shutil.rmtree(workdir, ignore_errors=True)
    ok = figures.lost == 0 and figures.new_key_duplicates == 0
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
