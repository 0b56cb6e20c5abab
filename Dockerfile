# The monitor service: `docker compose up` (see docker-compose.yml), or on its own:
#   docker build -t monitor .
#   docker run -e MONITOR_WEB_TOKEN=… -v "$PWD/config:/app/config:ro" -v monitor-data:/app/data \
#     -p 127.0.0.1:8080:8080 monitor
# (MONITOR_WEB_TOKEN: 16+ random characters, the web pages' login; required in the image.)

# --- build: install monitor and its dependencies into a venv, with the PostgreSQL driver
# and scikit-learn for rules with `learn: true` (the `postgres` and `learn` extras)
FROM python:3.11-slim AS build

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH

WORKDIR /src
COPY pyproject.toml README.md ./
COPY monitor ./monitor
RUN pip install ".[postgres,learn]"

# --- runtime: the venv, the shipped config as a default, its labelled sets, nothing else
FROM python:3.11-slim

# MONITOR_HTTP_HOST=0.0.0.0: the web pages then need MONITOR_WEB_TOKEN (monitor refuses to
# start without it), which docker compose passes from .env.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    MONITOR_CONFIG_DIR=/app/config \
    MONITOR_DATABASE_URL=sqlite:////app/data/monitor.db \
    MONITOR_HTTP_HOST=0.0.0.0 \
    MONITOR_HTTP_PORT=8080

RUN groupadd --system --gid 10001 monitor \
    && useradd --system --uid 10001 --gid monitor --home-dir /app --no-create-home \
       --shell /usr/sbin/nologin monitor

COPY --from=build /opt/venv /opt/venv

WORKDIR /app
# The shipped config is only a default: mount your own read-only over /app/config.
COPY config /app/config
# The labelled sets config/rules.yaml names under `labelled:` (../fixtures/rules/…), for
# `monitor rules test RULE --labels` and `learn: true` rules.
COPY fixtures/rules /app/fixtures/rules
RUN mkdir -p /app/data && chown monitor:monitor /app/data

# The SQLite file (when no PostgreSQL URL is given) and other state live here.
VOLUME ["/app/data"]

USER monitor:monitor

EXPOSE 8080

# The port comes from MONITOR_HTTP_PORT at run time (the service listens on all interfaces
# of the container: MONITOR_HTTP_HOST=0.0.0.0 above).
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('MONITOR_HTTP_PORT', '8080'), timeout=4)"]

CMD ["monitor", "run"]
