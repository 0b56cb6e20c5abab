"""Steady-state memory of `monitor run` over 1,000 sources and 10,000 rules (issue #13).

Serves peers.py's feeds (N RSS feeds × 20 items on one loopback host, 100 ms per response,
ETag/304) and starts `monitor run` on them with 10,000 generated rules (bench/rules.py's
desk-shaped rules) and every source polled every 10 s, 50 requests at once on the host.
Every `--change-every` seconds one new item appears in every feed (a cycle-3 change), so
the service keeps parsing, storing and matching. It samples the service's resident memory
(VmRSS) twice a second and prints: after start-up, the peak of the first minute (the first
cycle stores 20,000 documents), and the peak and the last figure of the rest (the steady
state). Target: peak RSS ≤ 100 MB.

    python bench/run_memory.py [--feeds 1000] [--rules 10000] [--seconds 180]
                               [--change-every 30]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import peers  # noqa: E402
from rules import entity_names, make_rules  # noqa: E402


def rss_mb(pid: int) -> float | None:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return None


def write_config(config: Path, port: int, feeds: int, rules: int) -> None:
    config.mkdir(parents=True)
    (config / "sources.yaml").write_text(
        "sources:\n"
        + "".join(
            f"  - {{id: feed-{i}, type: rss, every: 10s, "
            f"url: 'http://127.0.0.1:{port}/feed/{i}.xml'}}\n"
            for i in range(feeds)
        )
    )
    rng = random.Random(7)
    made = make_rules(rng, rules, entity_names(rng, 3000))
    (config / "rules.yaml").write_text(
        "rules:\n"
        + peers.RULES.split("rules:\n", 1)[1]
        + "".join(
            f"  - {{id: {r.id}, name: '{r.name}', query: '{quoted}'}}\n"
            for r in made
            if (quoted := r.query.replace("'", "''"))
        )
    )
    (config / "channels.yaml").write_text("channels: {}\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--rules", type=int, default=10000)
    parser.add_argument("--seconds", type=float, default=180)
    parser.add_argument("--change-every", type=float, default=30)
    args = parser.parse_args()
    parent, child = multiprocessing.Pipe()
    server = multiprocessing.get_context("spawn").Process(
        target=peers.serve, args=(args.feeds, 20, 0.1, child)
    )
    server.start()
    port = parent.recv()
    stop = threading.Event()

    def changes() -> None:
        version = 0
        while not stop.wait(args.change_every):
            version += 1
            peers.set_version(port, version)

    try:
        with tempfile.TemporaryDirectory() as name:
            work = Path(name)
            write_config(work / "config", port, args.feeds, args.rules)
            env = {
                **os.environ,
                "MONITOR_CONFIG_DIR": str(work / "config"),
                "MONITOR_DATABASE_URL": f"sqlite:///{work}/monitor.db",
                "MONITOR_HOST_CONCURRENCY": "50",
                "MONITOR_HOST_DELAY": "0",
                "MONITOR_HTTP_PORT": str(peers_free_port()),
            }
            log = (work / "run.log").open("wb")
            started = time.monotonic()
            process = subprocess.Popen(
                [sys.executable, "-m", "monitor", "run"], env=env, stdout=log, stderr=log
            )
            threading.Thread(target=changes, daemon=True).start()
            samples: list[tuple[float, float]] = []
            while time.monotonic() - started < args.seconds and process.poll() is None:
                value = rss_mb(process.pid)
                if value is not None:
                    samples.append((time.monotonic() - started, value))
                time.sleep(0.5)
            failed = process.poll()
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=60)
            stop.set()
            if failed is not None:
                tail = (work / "run.log").read_text()[-2000:]
                print(f"monitor run exited early ({failed}); log: {tail}")
                return
            first = [v for t, v in samples if t <= 60]
            rest = [v for t, v in samples if t > 60]
            print(
                f"monitor run: {args.feeds} sources every 10 s, {args.rules:,} rules (+5), "
                f"one new item per feed every {args.change_every:.0f} s, {args.seconds:.0f} s"
            )
            start_up = next(v for t, v in samples if t >= 5)
            print(f"  after start-up (first sample ≥ 5 s): {start_up:.0f} MB")
            documents = args.feeds * 20
            print(
                f"  peak, first 60 s (first cycle: {documents:,} new documents): "
                f"{max(first):.0f} MB"
            )
            if rest:
                print(f"  steady state after 60 s: peak {max(rest):.0f} MB, last {rest[-1]:.0f} MB")
            print("  target: ≤ 100 MB")
    finally:
        stop.set()
        parent.send("done")
        server.join(timeout=30)


def peers_free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


if __name__ == "__main__":
    main()
