"""Several `monitor run` replicas on one PostgreSQL database share the work.

Three real processes poll the same sources (served on loopback) and send to one webhook
receiver; one is killed mid-run; every alert still arrives exactly once.
"""

from __future__ import annotations

import os
import signal
import subprocess
import uuid
from collections import Counter
from pathlib import Path

import pytest
import sqlalchemy

from monitor.fixture_server import FixtureServer, Route
from tests.alerts.conftest import Hook, free_port
from tests.conftest import FIXTURES, PG_URL, ROOT, _pg_available
from tests.inprocess import run_monitor
from tests.test_service import monitor_run, wait_for

FEEDS = {
    "state": ("state/press-releases.rss", 2),
    "yonhap": ("news/yonhap-nk.rss", 3),
    "atom": ("feeds/atom.xml", 3),
    "rdf": ("feeds/rdf.xml", 3),
}


@pytest.mark.slow
@pytest.mark.skipif(not _pg_available(), reason=f"PostgreSQL not reachable at {PG_URL}")
def test_three_replicas_one_killed_every_alert_exactly_once(
    server: FixtureServer, tmp_path: Path
) -> None:
    schema = f"replicas_{uuid.uuid4().hex[:10]}"
    admin = sqlalchemy.create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(sqlalchemy.text(f'CREATE SCHEMA "{schema}"'))
    database_url = f"{PG_URL}?options=-csearch_path%3D{schema}"
    hook = Hook()
    server.routes["/hook"] = hook
    bodies = {}
    for name, (path, _) in FEEDS.items():
        bodies[name] = (FIXTURES / path).read_bytes()
        server.routes[f"/{name}"] = Route(body=bodies[name], content_type="application/xml")
    config = tmp_path / "config"
    config.mkdir()
    (config / "sources.yaml").write_text(
        "sources:\n"
        + "".join(
            # alert_max_age: the 2018 fixtures alert on the first poll (no baseline flood guard)
            f"  - {{id: {n}, type: rss, url: '{server.url('/' + n)}', every: 2s, "
            "alert_max_age: 36500d}\n"
            for n in FEEDS
        )
    )
    (config / "rules.yaml").write_text(
        "rules:\n  - {id: everything, name: Everything, query: 'NOT qqqzzz', notify: [hook]}\n"
    )
    (config / "channels.yaml").write_text(
        f"channels:\n  hook: {{type: webhook, url: '{server.url('/hook')}'}}\n"
    )
    env = {
        **os.environ,
        "MONITOR_CONFIG_DIR": str(config),
        "MONITOR_DATABASE_URL": database_url,
        "MONITOR_HOST_DELAY": "0",
    }
    upgraded = run_monitor("db", "upgrade", env=env)
    assert upgraded.returncode == 0, upgraded.stderr
    replicas = []
    logs = []
    for index in range(3):
        log = (tmp_path / f"replica{index}.log").open("w")
        logs.append(log)
        replicas.append(
            subprocess.Popen(
                # Polls every 2 s (the floor of `every` lowered in these processes): the
                # survivors pick up the late releases within seconds.
                monitor_run(floor=2),
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**env, "MONITOR_HTTP_PORT": str(free_port())},
            )
        )
    try:

        def undelivered() -> int:
            with admin.begin() as conn:
                return int(
                    conn.execute(
                        sqlalchemy.text(
                            f"SELECT count(*) FROM \"{schema}\".outbox WHERE status <> 'delivered'"
                        )
                    ).scalar_one()
                )

        expected = sum(count for _, count in FEEDS.values())
        wait_for(lambda: len(hook.received) >= expected, 45, f"{expected} first alerts")
        # Killed only once its sends are recorded: a replica killed between a send and its
        # mark holds that claim for MONITOR_DELIVERY_LEASE (5 min), then the alert goes out
        # again under the same key (at least once) — tests/test_crash.py covers that case.
        wait_for(lambda: undelivered() == 0, 30, "the first alerts marked delivered")
        replicas[0].send_signal(signal.SIGKILL)
        replicas[0].wait(timeout=10)
        # New releases after the kill: the survivors must pick up the dead replica's share.
        late = ["state", "yonhap", "atom"]  # (the RDF feed stays as it was)
        for name in late:
            extra = (
                f"<item><title>Late release {name}</title>"
                f"<link>https://example.org/{name}/late</link>"
                f"<description>Published after a replica died.</description></item>"
            )
            body = bodies[name]
            if b"<item>" in body:
                body = body.replace(b"<item>", extra.encode() + b"<item>", 1)
            else:  # Atom
                body = body.replace(
                    b"<entry>",
                    (
                        f"<entry><title>Late release {name}</title><id>urn:late:{name}</id>"
                        f'<link href="https://example.org/{name}/late"/>'
                        "<updated>2018-11-22T00:00:00Z</updated>"
                        "<summary>Published after a replica died.</summary></entry><entry>"
                    ).encode(),
                    1,
                )
            server.routes[f"/{name}"] = Route(body=body, content_type="application/xml")
        expected += len(late)
        wait_for(lambda: len(hook.received) >= expected, 40, f"{expected} alerts in all")

        wait_for(lambda: undelivered() == 0, 30, "every queued alert marked delivered")
        for replica in replicas[1:]:
            replica.send_signal(signal.SIGTERM)
        assert [r.wait(timeout=30) for r in replicas[1:]] == [0, 0]
        # Every replica has stopped: nothing more can be sent, so a duplicate would be here.
        keys = Counter(headers["Idempotency-Key"] for headers, _ in hook.received)
        assert len(keys) == expected
        assert [k for k, n in keys.items() if n > 1] == []
    finally:
        for replica in replicas:
            if replica.poll() is None:
                replica.kill()
                replica.wait(timeout=10)
        for log in logs:
            log.close()
        with admin.begin() as conn:
            conn.execute(sqlalchemy.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
