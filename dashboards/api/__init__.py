"""finsent's HTTP API and live page (FastAPI): ``create_app(settings, engine)``."""

from finsent.dashboards.api.app import WEB_DIR, create_app

__all__ = ["WEB_DIR", "create_app"]
