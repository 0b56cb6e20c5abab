"""Serving the app with uvicorn inside an asyncio loop already running (the service's),
and `monitor web`: the pages alone against the configured database."""

from __future__ import annotations

import asyncio
import errno
import logging
import signal
import socket
from contextlib import suppress

import uvicorn
from starlette.types import ASGIApp

from monitor.errors import ConfigError, MonitorError
from monitor.settings import Settings
from monitor.store import Store
from monitor.web.app import create_app
from monitor.web.auth import check_exposure
from monitor.web.channels import channel_infos
from monitor.web.state import Live

log = logging.getLogger("monitor.web")


def bind(host: str, port: int) -> socket.socket:
    """A listening socket, or a MonitorError that names the setting."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        sock = socket.socket(family, kind, proto)
    except OSError as err:
        raise MonitorError(
            f"MONITOR_HTTP_HOST/MONITOR_HTTP_PORT: cannot listen on {host}:{port}: "
            f"{err.strerror or err}"
        ) from None
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
        sock.setblocking(False)
    except OSError as err:
        sock.close()
        if err.errno == errno.EADDRINUSE:
            raise MonitorError(
                f"MONITOR_HTTP_PORT: port {port} on {host} is already in use (another "
                "`monitor run`?); stop it or choose another port"
            ) from None
        raise MonitorError(
            f"MONITOR_HTTP_HOST/MONITOR_HTTP_PORT: cannot listen on {host}:{port}: "
            f"{err.strerror or err}"
        ) from None
    return sock


class HttpServer:
    """uvicorn serving `app` on a socket bound up front (so a bind failure is ours to word)."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        check_exposure(settings)
        self.sock = bind(settings.http_host, settings.http_port)
        config = uvicorn.Config(
            app,
            host=settings.http_host,
            port=settings.http_port,
            lifespan="off",
            log_config=None,  # our logging stays as configured
            log_level="warning",
            access_log=False,
            server_header=False,
            timeout_graceful_shutdown=5,  # a long request does not hold up the service's exit
        )
        self.server = uvicorn.Server(config)
        self._task: asyncio.Task[None] | None = None

    @property
    def port(self) -> int:
        return int(self.sock.getsockname()[1])

    async def start(self) -> None:
        # Server.serve() would take over SIGINT/SIGTERM, which the service handles itself.
        config = self.server.config
        if not config.loaded:
            config.load()
        self.server.lifespan = config.lifespan_class(config)
        await self.server.startup(sockets=[self.sock])
        self._task = asyncio.create_task(self.server.main_loop(), name="http")

    async def stop(self) -> None:
        self.server.should_exit = True
        if self._task is not None:
            with suppress(asyncio.CancelledError):
                await self._task
            await self.server.shutdown(sockets=[self.sock])
        self.sock.close()


def _configured(settings: Settings) -> Live:
    from monitor.config import load_config

    try:
        config = load_config(settings.config_dir)
    except ConfigError as err:
        log.warning(
            "config in %s not read (%s); showing the sources found in the database",
            settings.config_dir,
            str(err).splitlines()[0],
        )
        return Live()
    return Live(
        sources=tuple(s.id for s in config.sources.sources),
        rules=len(config.rules),
        channels=channel_infos(config.channels),
    )


def run_web(settings: Settings) -> None:
    """`monitor web`: serve the pages against the database until SIGTERM/SIGINT (no polling)."""
    check_exposure(settings)
    store = Store.open(settings.database_url)
    live = _configured(settings)
    try:
        asyncio.run(_serve(create_app(settings, store, lambda: live), settings))
    finally:
        store.close()


async def _serve(app: ASGIApp, settings: Settings) -> None:
    http = HttpServer(app, settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await http.start()
    log.info("web pages on http://%s:%d (no polling)", settings.http_host, http.port)
    await stop.wait()
    await http.stop()
