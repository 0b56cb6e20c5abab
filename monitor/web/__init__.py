"""The web pages (Starlette + Jinja2)."""
