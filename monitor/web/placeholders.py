"""Pages still to come (Alerts, Documents, Try a rule): their routes answer 404 for now.

The engineer building them replaces these endpoints in app.py's route table.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from monitor.web.render import page

SECTIONS = {"/alerts": "alerts", "/documents": "documents", "/try": "try"}


def coming(request: Request) -> Response:
    path = request.url.path
    section = next((s for p, s in SECTIONS.items() if path.startswith(p)), "overview")
    return page(request, "placeholder.html", {"section": section}, status_code=404)
