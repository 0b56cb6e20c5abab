"""The web pages for staff and ops (an ASGI app; `create_app` builds it).

`monitor run` serves it inside the service's event loop beside /healthz and /metrics;
`monitor web` serves it alone against the configured database.
"""

from __future__ import annotations

from monitor.web.app import create_app
from monitor.web.state import Live

__all__ = ["Live", "create_app"]
