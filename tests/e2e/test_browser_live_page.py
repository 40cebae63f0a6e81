"""The live page in a real headless Chromium.

Two tests. The first serves the API over seeded rows while a feeder thread keeps writing scored
articles (through storage's writers, as the stream worker does): every chart draws data inside
the selected range, the alerts timeline shows full rule names and hover details, clicking an
alert lists its window's articles, the ticker view answers a search, and a new headline appears
without a reload. The second starts a fresh `finsent run` (its own data dir, embedded
PostgreSQL and broker, demo feed with the planted ACMR burst): within 6 minutes the page shows
the burst's alert, clicking it lists ACMR's articles (one expands to its sentence scores), every
chart's x scale lies inside the selected range (read from uPlot), and the screenshots the README
shows are taken from that run (docs/screenshots/live.png at 1400 px, live-390.png at 390 px).

Needs Debian's ``chromium`` (/usr/bin/chromium) and the python ``playwright`` package (no
``playwright install``: the system browser is used); a missing one fails the test, naming it.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import Engine

from finsent.core.settings import Settings
from finsent.dashboards.api import create_app
from finsent.runtime.processes import free_port
from finsent.runtime.supervisor import finsent_argv
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
SCREENSHOT_NARROW = SCREENSHOT.with_name("live-390.png")
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
            assert_axes_inside_range(page)
            _check_alert_click(page)
            assert errors == []
        finally:
            browser.close()


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
    timeline = page.inner_text("#alerts-timeline")
    assert "OPEN" in timeline
    # Full rule names, scopes and severities, not truncated.
    assert "negative-surge" in timeline and "volume-spike" in timeline and "entity TSLA" in timeline
    assert "critical" in timeline and "warning" in timeline

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
    assert "relevance 100" in page.inner_text("#ticker-articles")


def _check_alert_click(page: Any) -> None:
    """Clicking the open topic alert lists its window's articles, each of that topic."""
    page.click(".tl-row.open .tl-label")
    page.wait_for_selector("#alert-detail[data-loaded='1']", timeout=15_000)
    assert "negative-surge" in page.inner_text("#alert-detail-title")
    items = page.locator("#alert-articles li.article")
    assert items.count() > 0, page.inner_text("#alert-detail")
    # Hovering the bar shows the alert's details.
    page.hover(".tl-row.open .tl-bar")
    tip = page.locator(".tip")
    assert tip.is_visible() and "baseline" in tip.inner_text()


def assert_axes_inside_range(page: Any) -> None:
    """Every chart's x scale and its ticks lie inside the selected range (from uPlot itself)."""
    lo = float(page.get_attribute("body", "data-range-start") or "nan")
    hi = float(page.get_attribute("body", "data-range-end") or "nan")
    scales = page.evaluate("FinsentCharts.scales()")
    assert set(scales) >= {"chart-sentiment", "chart-volume", "chart-negative", "chart-ticker"}, scales
    slack = 30.0  # a refresh may have moved the window on by a poll interval since body was stamped
    for chart, scale in scales.items():
        assert lo - slack <= scale["min"] < scale["max"] <= hi + slack, (chart, scale, lo, hi)
        assert scale["max"] - scale["min"] == pytest.approx(hi - lo, abs=1.0), (chart, scale)
        ticks = scale["ticks"]
        assert ticks and all(scale["min"] <= t <= scale["max"] for t in ticks), (chart, scale)


# --- from a fresh `finsent run` -----------------------------------------------------------------

RUN_DEADLINE_S = 360.0  # acceptance: the planted burst's alert is on the page within 6 minutes
BURST_TICKER = "ACMR"  # `finsent run`'s default planted event: ACMR,+0s,8m,negative,20


@dataclass
class FinsentRun:
    """A running `finsent run`: the page's URL, when it was started, the process and its logs."""

    url: str
    started: float
    proc: subprocess.Popen[bytes]
    data_dir: Path
    log: Path

    def elapsed(self) -> float:
        """Seconds since `finsent run` was started."""
        return time.monotonic() - self.started

    def logs(self) -> str:
        """The tail of the run's output and of every service log (for failure messages)."""
        parts = [self.log, *sorted((self.data_dir / "logs").glob("*.log"))]
        return "\n".join(
            f"== {p.name}\n" + p.read_text(errors="replace")[-1500:] for p in parts if p.exists()
        )


@pytest.fixture
def finsent_run(tmp_path: Path) -> Iterator[FinsentRun]:
    """A fresh `finsent run`: its own data dir, embedded PostgreSQL and broker, the demo feed."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("FINSENT_")}
    env.update(
        FINSENT_DATA_DIR=str(tmp_path / "data"),
        FINSENT_API__HOST="127.0.0.1",
        FINSENT_API__PORT=str(port),
        FINSENT_STREAM__METRICS_PORT="0",
        FINSENT_INGEST__METRICS_PORT="0",
    )
    log = tmp_path / "run.log"
    with log.open("wb") as out:
        started = time.monotonic()
        proc = subprocess.Popen(
            finsent_argv("run", "--duration", "15m"), env=env, stdout=out, stderr=subprocess.STDOUT
        )
        try:
            yield FinsentRun(f"http://127.0.0.1:{port}", started, proc, tmp_path / "data", log)
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
            subprocess.run(finsent_argv("down"), env=env, capture_output=True, timeout=120, check=False)


def _wait_for_page(run: FinsentRun) -> None:
    while run.elapsed() < RUN_DEADLINE_S:
        assert run.proc.poll() is None, f"`finsent run` exited ({run.proc.returncode})\n{run.logs()}"
        try:
            if httpx.get(run.url, timeout=2.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(1.0)
    pytest.fail(f"{run.url} did not answer within {RUN_DEADLINE_S:.0f}s of `finsent run`\n{run.logs()}")


def test_fresh_finsent_run_shows_the_burst_alert_and_its_articles(finsent_run: FinsentRun) -> None:
    sync_api = _browser_or_fail()
    _wait_for_page(finsent_run)
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(f"{finsent_run.url}/?refresh=2", wait_until="domcontentloaded")
            alert_row = f".tl-row[data-scope='entity:{BURST_TICKER}']"
            left_ms = (RUN_DEADLINE_S - finsent_run.elapsed()) * 1000
            try:
                page.wait_for_selector(alert_row, timeout=max(1000.0, left_ms))
            except sync_api.TimeoutError:
                pytest.fail(
                    f"no {BURST_TICKER} alert on the page within {RUN_DEADLINE_S:.0f}s\n{finsent_run.logs()}"
                )
            print(f"burst alert on the page {finsent_run.elapsed():.0f}s after `finsent run` started")
            _open_burst_alert(page, alert_row)
            page.wait_for_function("Number(document.getElementById('chart-volume').dataset.points) > 0")
            assert_axes_inside_range(page)
            _screenshots(page)
            assert errors == []
        finally:
            browser.close()


def _open_burst_alert(page: Any, alert_row: str) -> None:
    """Click the burst's alert: its window lists ACMR's articles; one expands to its sentences."""
    assert BURST_TICKER in page.inner_text(alert_row)
    page.click(f"{alert_row} .tl-label")
    page.wait_for_selector("#alert-detail[data-loaded='1']", timeout=30_000)
    items = page.locator("#alert-articles li.article")
    assert items.count() > 0, page.inner_text("#alert-detail")
    for i in range(items.count()):
        chips = items.nth(i).locator(".chip").all_inner_texts()
        assert BURST_TICKER in chips, (i, chips)
    assert "relevance" in items.first.inner_text()
    page.wait_for_function(f"document.getElementById('entity').dataset.ticker === '{BURST_TICKER}'")
    items.first.locator(".row-toggle").click()
    explain = items.first.locator(".explain")
    # The first explanation loads the model in the API process: allow for that.
    page.wait_for_function("el => el.dataset.loaded", arg=explain.element_handle(), timeout=120_000)
    assert explain.get_attribute("data-loaded") == "1", explain.inner_text()
    assert explain.locator(".sent").count() > 0


def _screenshots(page: Any) -> None:
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    page.mouse.move(0, 0)
    page.screenshot(path=str(SCREENSHOT), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.wait_for_timeout(2500)  # a refresh at the new width (charts resize with their boxes)
    assert_axes_inside_range(page)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page scrolls sideways at 390 px ({width} px wide)"
    page.screenshot(path=str(SCREENSHOT_NARROW), full_page=True)
    for path in (SCREENSHOT, SCREENSHOT_NARROW):
        assert path.stat().st_size > 20_000, path
