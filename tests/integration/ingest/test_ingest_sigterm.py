"""`finsent crawl` as a real process: SIGTERM stops it gracefully with the outbox drained."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from finsent.storage.schema import Article

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _count(engine: Engine, *where: Any) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(Article).where(*where)).scalar_one())


def test_sigterm_stops_the_crawler_gracefully(tmp_path: Path, embedded_stack: Any, db_engine: Engine) -> None:
    env = {
        **os.environ,
        "FINSENT_DATABASE_URL": embedded_stack.database_url,
        "FINSENT_KAFKA_BOOTSTRAP": embedded_stack.kafka_bootstrap,
        "FINSENT_KAFKA__TOPIC_PREFIX": f"t{time.monotonic_ns()}",
        "FINSENT_KAFKA__TOPIC_PARTITIONS": "1",
        "FINSENT_DATA_DIR": str(tmp_path / "data"),
    }
    finsent = shutil.which("finsent") or str(Path(sys.executable).with_name("finsent"))
    log = tmp_path / "crawl.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [finsent, "crawl", "--demo", "--demo-rate", "600", "--event", "ACMR,+0s,5m,negative"],
            cwd=tmp_path,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            # Stop mid-stream, once the planted ACMR event has produced tagged articles (stopping at
            # the very first article left none now and then: a race, not a crawler fault).
            deadline = time.monotonic() + 90
            acmr = Article.tickers.any("ACMR")
            while _count(db_engine, acmr) == 0 and time.monotonic() < deadline and proc.poll() is None:
                time.sleep(0.3)
            assert _count(db_engine, acmr) > 0, log.read_text()
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=60) == 0, log.read_text()
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    text = log.read_text()
    assert "stopping: waiting for running polls" in text and "final outbox drain" in text
    assert _count(db_engine, Article.emitted_at.is_(None)) == 0  # everything stored was published
