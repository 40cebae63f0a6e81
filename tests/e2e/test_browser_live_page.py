"""The live page in a real headless Chromium, served by the API on the embedded stack.

Scored articles keep arriving while the page is open (a feeder thread writes them through
storage's writers, as the stream worker does). The test sees every chart draw data, the alerts
timeline highlight the open alert, the ticker view answer a search, and a new headline appear
without a reload; it saves the screenshot the README shows (docs/screenshots/live.png).

Needs Debian's ``chromium`` (/usr/bin/chromium) and the python ``playwright`` package (no
``playwright install``: the system browser is used). Outside CI a missing browser skips with the
reason; in CI (``CI=true``) it fails.
"""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from sqlalchemy import Engine

from finsent.core.settings import Settings
from finsent.dashboards.api import create_app
from tests.support.dashboards_seed import (
    API_TOKEN,
    MODEL_VERSION,
    ScoredArticle,
    insert_alert,
    insert_scored,
    register_model,
    seed_demo,
)

pytestmark = pytest.mark.slow

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "screenshots" / "live.png"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def _browser_or_fail() -> Any:
    """The playwright module; fails (never skips) naming what is missing."""
    missing = []
    if not CHROMIUM.exists():
        missing.append(f"{CHROMIUM} (apt-get install chromium)")
    try:
        import playwright.sync_api as sync_api
    except ImportError:
        sync_api = None
        missing.append("python package playwright (pip install -e '.[dev]')")
    if missing:
        pytest.fail("browser test needs " + " and ".join(missing) + " -- `make test` installs both")
    return sync_api


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def live_server(db_engine: Engine, settings_factory: Callable[..., Settings]) -> Iterator[str]:
    """The API + live page served by uvicorn on a free localhost port."""
    app = create_app(settings_factory(api={"token": API_TOKEN}), db_engine)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, name="live-page-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


class Feeder:
    """Writes one scored article every ``every_s`` seconds until stopped (at most ``limit``)."""

    def __init__(self, engine: Engine, every_s: float = 0.7, limit: int = 200) -> None:
        self.engine, self.every_s, self.limit = engine, every_s, limit
        self.written: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="feeder", daemon=True)

    def _run(self) -> None:
        topics, sentiments = (5, 6, 13, 19, 1), ("positive", "negative", "neutral")
        while not self._stop.is_set() and len(self.written) < self.limit:
            i = len(self.written)
            item = ScoredArticle(
                f"Live wire {i}: markets move on fresh data",
                datetime.now(UTC),
                topic=topics[i % 5],
                sentiment=sentiments[i % 3],
                tickers=["AAPL"],
            )
            self.written += insert_scored(self.engine, [item])
            self._stop.wait(self.every_s)

    def __enter__(self) -> Feeder:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


def test_live_page_draws_data_and_updates_without_reload(
    live_server: str, db_engine: Engine, tmp_path: Path
) -> None:
    sync_api = _browser_or_fail()
    register_model(db_engine, MODEL_VERSION, tmp_path / "model", status="production")
    seed_demo(db_engine, minutes=120, per_minute=2)
    now = datetime.now(UTC)
    insert_alert(db_engine, rule_id="negative-surge", scope_value="6", severity="critical")
    insert_alert(
        db_engine,
        rule_id="volume-spike",
        scope_kind="entity",
        scope_value="TSLA",
        status="resolved",
        opened_at=now - timedelta(hours=3),
        resolved_at=now - timedelta(hours=2),
        severity="warning",
    )
    with Feeder(db_engine) as feeder, sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(f"{live_server}/?refresh=1", wait_until="domcontentloaded")
            _check_page(page, feeder, db_engine)
            SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOT), full_page=True)
            assert errors == []
        finally:
            browser.close()
    assert SCREENSHOT.stat().st_size > 20_000


def _check_page(page: Any, feeder: Feeder, engine: Engine) -> None:
    for chart in ("chart-sentiment", "chart-volume", "chart-negative", "chart-ticker"):
        page.wait_for_function(
            f"Number(document.getElementById('{chart}').dataset.points) > 10", timeout=20_000
        )
        assert page.locator(f"#{chart} canvas").count() == 1, chart
    series = int(page.get_attribute("#chart-sentiment", "data-series") or 0)
    assert series >= 4, "all topics + the busiest topics"
    assert page.locator(".tl-bar.open").count() == 1
    assert page.locator(".tl-bar.resolved").count() == 1
    assert "OPEN" in page.inner_text("#alerts-timeline")

    # A new headline appears in the live table without a reload.
    page.evaluate("window.__sameDocument = 'yes'")
    headline = f"Breaking {uuid.uuid4().hex[:8]}: central bank surprises markets"
    insert_scored(engine, [ScoredArticle(headline, datetime.now(UTC), topic=1, sentiment="negative")])
    page.wait_for_selector(f"#headlines tr:has-text('{headline}')", timeout=15_000)
    assert page.evaluate("window.__sameDocument") == "yes", "the page was not reloaded"
    row = page.locator(f"#headlines tr:has-text('{headline}')")
    assert "negative" in row.inner_text()
    assert row.locator("a").get_attribute("href", timeout=2_000).startswith("https://news.example.com/")
    assert len(feeder.written) >= 2, "data kept flowing while the page was open"

    # The ticker view answers a search.
    page.fill("#ticker-input", "tsla")
    page.click("#ticker-form button")
    page.wait_for_function("document.getElementById('ticker-summary').textContent.startsWith('TSLA:')")
    assert "articles" in page.inner_text("#ticker-summary")
    page.wait_for_function("document.querySelectorAll('#ticker-articles li').length > 0")
    assert "TSLA" in page.inner_text("#ticker-articles")
