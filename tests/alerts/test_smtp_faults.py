"""An SMTP server that drops the connection after DATA: the alert is retried, not lost or
dead, and the resend carries the Message-ID of the copy the first server may have kept."""

from __future__ import annotations

import socket
import threading
import time
from email import message_from_bytes, policy
from pathlib import Path

from monitor.fixture_server import FixtureServer
from tests.alerts.conftest import SmtpServer, email_options, make_desk

BOUND = 15.0  # seconds for a delivery run against the dropping server (takes well under 1 s)


class DroppingSmtpServer:
    """Speaks SMTP up to the end of DATA, keeps the message, then hangs up without the
    final 250: the client cannot know whether the message was accepted."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0), backlog=64)
        self.port = int(self._listener.getsockname()[1])
        self.messages: list[bytes] = []
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._accepter = threading.Thread(target=self._accept, daemon=True)
        self._accepter.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:  # closed by stop()
                return
            thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _serve(self, conn: socket.socket) -> None:
        conn.settimeout(10)
        with conn, conn.makefile("rb") as reader:
            conn.sendall(b"220 127.0.0.1 dropping ESMTP\r\n")
            for line in reader:
                verb = line.strip().split(b" ", 1)[0].upper()
                if verb in (b"EHLO", b"HELO"):
                    conn.sendall(b"250 127.0.0.1\r\n")
                elif verb in (b"MAIL", b"RCPT", b"RSET", b"NOOP"):
                    conn.sendall(b"250 OK\r\n")
                elif verb == b"DATA":
                    conn.sendall(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                    data = bytearray()
                    for body_line in reader:
                        if body_line == b".\r\n":
                            break
                        # Undo the client's dot-stuffing.
                        data += body_line[1:] if body_line.startswith(b".") else body_line
                    with self._lock:
                        self.messages.append(bytes(data))
                    return  # hang up: no "250 queued"
                else:
                    conn.sendall(b"221 Bye\r\n")
                    return

    def stop(self) -> None:
        # shutdown() wakes the blocked accept(); close() alone would leave the port bound.
        self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()
        self._accepter.join(timeout=5)
        for thread in self._threads:
            thread.join(timeout=5)


def test_smtp_drop_after_data_is_retried_then_delivered_once_with_the_same_message_id(
    tmp_path: Path, production_server: FixtureServer
) -> None:
    dropping = DroppingSmtpServer()
    desk = make_desk(
        tmp_path,
        production_server,
        {"policy-email": email_options()},
        settings_overrides={"smtp_host": "127.0.0.1", "smtp_port": dropping.port},
    )
    try:
        started = time.monotonic()
        first = desk.deliver()
        elapsed = time.monotonic() - started
    finally:
        dropping.stop()
    print(f"delivery run against the dropping server: {elapsed:.3f} s")
    assert elapsed < BOUND, f"a delivery run against a dropping server took {elapsed:.1f} s"
    assert len(first) == 2 and {d.status for d in first} == {"pending"}  # a retry: not dead
    for delivery in first:
        error = delivery.outcome.error  # type: ignore[union-attr]
        assert f"127.0.0.1:{dropping.port}" in error and "closed the connection" in error
        assert "unreachable" not in error  # it was reached, and may have kept the message
    rows = desk.store.outbox.rows()
    assert {(r.status, r.attempts) for r in rows} == {("pending", 1)}
    dropped_ids = {
        message_from_bytes(raw, policy=policy.default)["Message-ID"] for raw in dropping.messages
    }
    assert len(dropping.messages) == 2 and len(dropped_ids) == 2

    smtp = SmtpServer()
    smtp.port = dropping.port  # the server comes back, healthy, at the same address
    smtp.start()
    try:
        desk.clock.advance(10)
        assert desk.deliver() == []  # backing off
        desk.clock.advance(60)
        assert {d.status for d in desk.deliver()} == {"delivered"}
        desk.clock.advance(3600)
        assert desk.deliver() == []
    finally:
        smtp.stop()
    received = [m["Message-ID"] for _, m in smtp.inbox.messages]
    assert len(received) == 2 and set(received) == dropped_ids  # each once, same Message-ID
    assert {r.status for r in desk.store.outbox.rows()} == {"delivered"}
