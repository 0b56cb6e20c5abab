"""Service benchmark: `monitor run` over 1,000 loopback sources and 10,000 rules.

Starts the feed servers of bench/ingest.py (1,000 feeds × 20 items on 100 loopback
addresses, 100 ms latency) in a child process, writes a config with one source per feed
(`every: 30s`) and 10,000 rules from bench/rules.py, runs `monitor run` as a subprocess
for a fixed time, and prints its steady-state RSS, CPU per poll cycle, and poll-schedule
lag (actual minus planned start of each poll, from /metrics). Targets (issue #5): RSS
≤ 150 MB, p95 lag ≤ 2 s.

    python bench/service.py [--feeds 1000] [--rules 10000] [--every 30] [--seconds 150]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
import ingest  # noqa: E402
import rules as rules_bench  # noqa: E402


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _lag_quantiles(metrics: str) -> tuple[int, dict[float, int]]:
    buckets: dict[float, int] = {}
    count = 0
    for line in metrics.splitlines():
        if line.startswith("monitor_schedule_lag_seconds_bucket"):
            bound = line.split('le="')[1].split('"')[0]
            buckets[float("inf") if bound == "+Inf" else float(bound)] = int(
                float(line.split()[-1])
            )
        elif line.startswith("monitor_schedule_lag_seconds_count"):
            count = int(float(line.split()[-1]))
    return count, buckets


def _quantile_bound(buckets: dict[float, int], count: int, q: float) -> float:
    for bound in sorted(buckets):
        if buckets[bound] >= q * count:
            return bound
    return float("inf")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--items", type=int, default=20)
    parser.add_argument("--hosts", type=int, default=100)
    parser.add_argument("--latency", type=float, default=0.1)
    parser.add_argument("--content-words", type=int, default=0)
    parser.add_argument("--rules", type=int, default=10000)
    parser.add_argument("--every", type=int, default=30, help="poll interval of each source, s")
    parser.add_argument("--seconds", type=float, default=150, help="how long to run")
    parser.add_argument("--warmup", type=float, default=60, help="first seconds not measured")
    args = parser.parse_args()
    parent, child = multiprocessing.Pipe()
    server = multiprocessing.get_context("spawn").Process(target=ingest.serve, args=(args, child))
    server.start()
    urls = parent.recv()
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "config"
        config.mkdir()
        (config / "sources.yaml").write_text(
            "sources:\n"
            + "".join(
                f"  - {{id: feed-{i}, type: rss, url: '{url}', every: {args.every}s}}\n"
                for i, url in enumerate(urls)
            )
        )
        entities = rules_bench.entity_names(random.Random(2026), 50000)
        lines = ["rules:"]
        for rule in rules_bench.make_rules(random.Random(args.rules), args.rules, entities):
            query = rule.query.replace("'", "''")
            lines.append(f"  - {{id: r{rule.id[1:]}, name: '{rule.name}', query: '{query}'}}")
        (config / "rules.yaml").write_text("\n".join(lines) + "\n")
        (config / "channels.yaml").write_text("channels: {}\n")
        port = _free_port()
        env = {
            **os.environ,
            "MONITOR_CONFIG_DIR": str(config),
            "MONITOR_HTTP_PORT": str(port),
            "MONITOR_DATABASE_URL": f"sqlite:///{tmp}/monitor.db",
        }
        log = (Path(tmp) / "service.log").open("w")
        process = subprocess.Popen(
            [sys.executable, "-m", "monitor", "run"], env=env, stdout=log, stderr=subprocess.STDOUT
        )
        try:
            started = time.monotonic()
            while True:
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(0.5)
            print(
                f"{args.feeds} sources every {args.every} s, {args.rules} rules; "
                f"service up after {time.monotonic() - started:.1f} s"
            )
            time.sleep(args.warmup)
            metrics0 = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
            cpu0, t0 = _cpu_seconds(process.pid), time.monotonic()
            rss = []
            while time.monotonic() - t0 < args.seconds - args.warmup:
                rss.append(_rss_mb(process.pid))
                time.sleep(2)
            metrics1 = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
            cpu, window = _cpu_seconds(process.pid) - cpu0, time.monotonic() - t0
            count0, b0 = _lag_quantiles(metrics0)
            count1, b1 = _lag_quantiles(metrics1)
            delta = {k: b1[k] - b0.get(k, 0) for k in b1}
            polls = count1 - count0
            cycles = window / args.every
            print(
                f"steady state over {window:.0f} s: {polls} polls ({polls / cycles:.0f} per cycle)"
            )
            print(f"RSS median {sorted(rss)[len(rss) // 2]:.0f} MB, max {max(rss):.0f} MB")
            print(f"CPU {cpu:.1f} s = {cpu / cycles:.2f} s per poll cycle of {args.feeds} sources")
            print(
                f"schedule lag: p50 ≤ {_quantile_bound(delta, polls, 0.5)} s, "
                f"p95 ≤ {_quantile_bound(delta, polls, 0.95)} s (histogram bucket bounds)"
            )
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=40)
            except subprocess.TimeoutExpired:
                process.kill()
            log.close()
            parent.send("done")
            server.join(timeout=30)


if __name__ == "__main__":
    main()
