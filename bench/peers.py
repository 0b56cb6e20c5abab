"""Peers benchmark: `monitor once` beside urlwatch 2.29, same server, same run.

A child process serves N RSS feeds × M items from ONE loopback host (asyncio, HTTP/1.1
keep-alive, a fixed latency per response, ETag → 304). Each tool runs three cycles as a
fresh process, the way a user runs it from cron:

    cycle 1: every feed is new          (monitor: 20,000 documents normalised, stored, matched)
    cycle 2: nothing changed            (every answer a 304)
    cycle 3: one new item in every feed

For each cycle it prints wall time, CPU (user + sys of the tool's process tree, from
wait4) and peak RSS (the largest process of the tree), then the ratios monitor / urlwatch.
Configurations: urlwatch with 50 workers and monitor with MONITOR_HOST_CONCURRENCY=50
MONITOR_HOST_DELAY=0 (the same politeness), and monitor with its defaults (4 per host,
0.1 s apart). urlwatch is installed into a temporary virtualenv with pip; when that
fails, its rows are skipped with a message. Targets (issue #13, 50 concurrent): cycle 1
CPU ≤ 10 s, wall ≤ 6 s; cycle 2 CPU ≤ 1 s, wall ≤ 2.5 s; cycle 3 CPU ≤ 3 s, wall ≤ 3 s;
peak RSS ≤ 100 MB.

    python bench/peers.py [--feeds 1000] [--items 20] [--latency 0.1] [--concurrency 50]
                          [--no-urlwatch] [--no-defaults] [--urlwatch-venv DIR]
                          [--profile DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from multiprocessing.connection import Connection
from pathlib import Path

URLWATCH = "urlwatch==2.29"
WORDS = (
    "the secretary met special representative sanctions alliance talks ministry statement "
    "security council nuclear missile envoy regime pressure agreement cooperation summit "
    "officials said on tuesday delegation peninsula denuclearization economic measures"
).split()
# Watch rules as staff write them: most documents match none; 3.5% match one (summit).
RULES = """rules:
  - {id: biegun, name: Biegun, query: 'Biegun OR "Stephen Biegun"'}
  - {id: sanctions, name: Sanctions eased, query: 'sanction* NEAR/3 (lift* OR eas*)'}
  - {id: pyongyang, name: Pyongyang missiles, query: 'Pyongyang AND missile*'}
  - {id: envoy, name: Envoy, query: 'title:envoy AND title:peninsula'}
  - {id: summit, name: Summit, query: 'title:summit AND title:regime'}
"""


def _sentence(seed: int, words: int) -> str:
    return " ".join(WORDS[(seed * 7 + i * 13) % len(WORDS)] for i in range(words)).capitalize()


def make_feed(feed: int, items: int, newest: int) -> bytes:
    """RSS 2.0 feed `feed` holding items newest-items+1 … newest (newest first)."""
    base = datetime(2026, 11, 20, 12, tzinfo=UTC)
    entries = []
    for i in range(newest, newest - items, -1):
        seed = feed * 1000 + i
        entries.append(
            f"<item><title>Release {feed}-{i}: {_sentence(seed, 8)}</title>"
            f"<link>https://news{feed % 97}.example.org/{feed}/{i}/?utm_source=rss</link>"
            f'<guid isPermaLink="false">feed-{feed}-item-{i}</guid>'
            f"<pubDate>{format_datetime(base + timedelta(minutes=i))}</pubDate>"
            f"<category>World</category><dc:creator>Staff Writer</dc:creator>"
            f"<description>{_sentence(seed, 45)}.</description></item>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/"><channel>'
        f"<title>Feed {feed}</title><link>https://news.example.org/</link>"
        f"<description>Generated feed {feed}</description>{''.join(entries)}</channel></rss>"
    ).encode()


# -- the server (child process) --------------------------------------------------------


class FeedServer:
    """Feeds on one loopback host; GET /_version/N makes every feed hold N new items."""

    def __init__(self, feeds: int, items: int, latency: float) -> None:
        self.feeds, self.items, self.latency = feeds, items, latency
        self.version = 0
        self._cache: dict[tuple[int, int], tuple[bytes, bytes]] = {}

    def body(self, feed: int) -> tuple[bytes, bytes]:
        key = (feed, self.version)
        if key not in self._cache:
            body = make_feed(feed, self.items, self.items - 1 + self.version)
            etag = b'"' + hashlib.sha256(body).hexdigest()[:20].encode() + b'"'
            self._cache[key] = (body, etag)
        return self._cache[key]

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                line = await reader.readline()
                if not line:
                    break
                headers: dict[bytes, bytes] = {}
                while True:
                    header = await reader.readline()
                    if header in (b"\r\n", b"\n", b""):
                        break
                    name, _, value = header.partition(b":")
                    headers[name.strip().lower()] = value.strip()
                target = line.split()[1].decode()
                writer.write(await self.answer(target, headers))
                await writer.drain()
                if headers.get(b"connection", b"").lower() == b"close":
                    break
        except (ConnectionError, IndexError):
            pass
        finally:
            writer.close()

    async def answer(self, target: str, headers: dict[bytes, bytes]) -> bytes:
        if target.startswith("/_version/"):
            self.version = int(target.rsplit("/", 1)[1])
            self._cache.clear()
            return b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
        await asyncio.sleep(self.latency)
        try:
            feed = int(target.removeprefix("/feed/").removesuffix(".xml"))
        except ValueError:
            return b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"
        body, etag = self.body(feed)
        if headers.get(b"if-none-match") == etag:
            return b"HTTP/1.1 304 Not Modified\r\nETag: " + etag + b"\r\n\r\n"
        return (
            b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml; charset=utf-8\r\n"
            b"ETag: " + etag + b"\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n"
        ) + body


def serve(feeds: int, items: int, latency: float, pipe: Connection) -> None:
    async def main() -> None:
        server = FeedServer(feeds, items, latency)
        listener = await asyncio.start_server(server.handle, "127.0.0.1", 0, backlog=1024)
        pipe.send(listener.sockets[0].getsockname()[1])
        await asyncio.get_running_loop().run_in_executor(None, pipe.recv)
        listener.close()

    asyncio.run(main())


# -- running a tool --------------------------------------------------------------------


@dataclass
class Cycle:
    wall: float
    cpu: float
    rss_mb: float
    ok: bool


def run_measured(argv: list[str], env: dict[str, str], log: Path) -> Cycle:
    """Run a command; its wall time, its process tree's CPU and its largest process's RSS."""
    with log.open("ab") as out:
        started = time.perf_counter()
        process = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
    return Cycle(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, status == 0)


def set_version(port: int, version: int) -> None:
    urllib.request.urlopen(f"http://127.0.0.1:{port}/_version/{version}", timeout=10).read()


PROFILE: Path | None = None  # --profile: pyinstrument reports of monitor's cycles go here


def monitor_cycles(
    port: int, feeds: int, tmp: Path, name: str, extra_env: dict[str, str]
) -> list[Cycle]:
    work = tmp / name
    config = work / "config"
    config.mkdir(parents=True)
    (config / "sources.yaml").write_text(
        "sources:\n"
        + "".join(
            f"  - {{id: feed-{i}, type: rss, url: 'http://127.0.0.1:{port}/feed/{i}.xml'}}\n"
            for i in range(feeds)
        )
    )
    (config / "rules.yaml").write_text(RULES)
    (config / "channels.yaml").write_text("channels: {}\n")
    env = {
        **os.environ,
        "MONITOR_CONFIG_DIR": str(config),
        "MONITOR_DATABASE_URL": f"sqlite:///{work}/monitor.db",
        **extra_env,
    }
    # The schema is created before timing: a first `monitor once` migrates the database.
    subprocess.run(
        [sys.executable, "-m", "monitor", "db", "upgrade"], env=env, check=True, capture_output=True
    )
    cycles = []
    for number, version in enumerate((0, 0, 1), 1):
        set_version(port, version)
        argv = [sys.executable, "-m", "monitor", "once"]
        if PROFILE is not None:
            report = PROFILE / f"{name}-cycle{number}.txt"
            argv[1:2] = ["-m", "pyinstrument", "-r", "text", "-o", str(report), "-m"]
        cycles.append(run_measured(argv, env, work / "once.log"))
    set_version(port, 0)
    return cycles


URLWATCH_MAIN = (
    "import sys, urlwatch.worker as w; w.MAX_WORKERS = int(sys.argv.pop(1)); "
    "from urlwatch.cli import main; main()"
)


def install_urlwatch(venv: Path) -> Path | None:
    """A virtualenv with urlwatch 2.29; None (and a message) when it cannot be installed."""
    python = venv / "bin" / "python"
    if python.exists():
        return python
    try:
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", URLWATCH],
            check=True,
            capture_output=True,
            timeout=600,
        )
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as err:
        output = getattr(err, "stderr", b"") or b""
        print(f"urlwatch skipped: cannot install {URLWATCH}: {output.decode()[-300:]}")
        return None
    return python


def urlwatch_cycles(python: Path, port: int, feeds: int, tmp: Path, workers: int) -> list[Cycle]:
    work = tmp / f"urlwatch-{workers}"
    work.mkdir()
    (work / "urls.yaml").write_text(
        "---\n".join(f"url: http://127.0.0.1:{port}/feed/{i}.xml\n" for i in range(feeds))
    )
    (work / "config.yaml").write_text("report:\n  stdout:\n    enabled: true\n    color: false\n")
    (work / "hooks.py").write_text("")
    env = {**os.environ, "HOME": str(work)}
    argv = [
        str(python),
        "-c",
        URLWATCH_MAIN,
        str(workers),
        "--urls",
        str(work / "urls.yaml"),
        "--config",
        str(work / "config.yaml"),
        "--hooks",
        str(work / "hooks.py"),
        "--cache",
        str(work / "cache.db"),
    ]
    cycles = []
    for version in (0, 0, 1):
        set_version(port, version)
        cycles.append(run_measured(argv, env, work / "urlwatch.log"))
    set_version(port, 0)
    return cycles


# -- report ----------------------------------------------------------------------------


def row(label: str, cycles: list[Cycle]) -> str:
    cells = [
        f"{c.wall:6.2f} s / {c.cpu:6.2f} s / {c.rss_mb:4.0f} MB{'' if c.ok else ' (FAILED)'}"
        for c in cycles
    ]
    return f"{label:<34} | " + " | ".join(cells)


def ratios(label: str, ours: list[Cycle], theirs: list[Cycle]) -> str:
    cells = [
        f"{a.wall / b.wall:5.2f}× / {a.cpu / b.cpu:5.2f}× / {a.rss_mb / b.rss_mb:4.2f}×"
        for a, b in zip(ours, theirs, strict=True)
    ]
    return f"{label:<34} | " + " | ".join(f"{c:<30}" for c in cells)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--items", type=int, default=20)
    parser.add_argument("--latency", type=float, default=0.1, help="seconds per response")
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--no-urlwatch", action="store_true")
    parser.add_argument("--no-defaults", action="store_true", help="skip monitor's defaults")
    parser.add_argument(
        "--urlwatch-venv", type=Path, help="reuse (or create) urlwatch's virtualenv here"
    )
    parser.add_argument(
        "--profile", type=Path, metavar="DIR", help="profile monitor's cycles (pyinstrument)"
    )
    args = parser.parse_args()
    global PROFILE
    PROFILE = args.profile
    parent, child = multiprocessing.Pipe()
    server = multiprocessing.get_context("spawn").Process(
        target=serve, args=(args.feeds, args.items, args.latency, child)
    )
    server.start()
    port = parent.recv()
    n = args.concurrency
    print(
        f"{args.feeds} feeds × {args.items} items on one loopback host, "
        f"{args.latency * 1000:.0f} ms per response, ETag/304; each cycle a fresh process"
    )
    print(f"{'':<34} | {'cycle 1 (all new)':<30} | {'cycle 2 (304)':<30} | cycle 3 (1 new/feed)")
    print(f"{'':<34} | {'wall / CPU / peak RSS':<30} |", flush=True)
    table: dict[str, list[Cycle]] = {}

    def add(label: str, cycles: list[Cycle]) -> None:
        table[label] = cycles
        print(row(label, cycles), flush=True)

    theirs_label, ours_label = f"urlwatch 2.29 ({n} workers)", f"monitor ({n}/host, no delay)"
    try:
        with tempfile.TemporaryDirectory() as name:
            tmp = Path(name)
            python = None
            if not args.no_urlwatch:
                python = install_urlwatch(args.urlwatch_venv or tmp / "urlwatch-venv")
            if python is not None:
                add(theirs_label, urlwatch_cycles(python, port, args.feeds, tmp, n))
            env = {"MONITOR_HOST_CONCURRENCY": str(n), "MONITOR_HOST_DELAY": "0"}
            add(ours_label, monitor_cycles(port, args.feeds, tmp, f"monitor-{n}", env))
            if theirs_label in table:
                print(ratios(f"monitor / urlwatch ({n})", table[ours_label], table[theirs_label]))
            if not args.no_defaults:
                add("monitor (defaults)", monitor_cycles(port, args.feeds, tmp, "defaults", {}))
    finally:
        parent.send("done")
        server.join(timeout=30)


if __name__ == "__main__":
    main()
