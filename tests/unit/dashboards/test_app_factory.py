"""The API factory and its small helpers, without a database."""

from __future__ import annotations

import socket
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import create_engine

from finsent.core.errors import ConfigError
from finsent.core.settings import Settings
from finsent.dashboards.api import create_app
from finsent.dashboards.api.health import CachedProbe, tcp_probe


@pytest.mark.parametrize("token", [None, "", "   "])
def test_app_refuses_to_start_without_a_token(token: Any) -> None:
    settings = Settings(_env_file=None, api={"token": None if token is None else SecretStr(token)})  # type: ignore[call-arg]
    with pytest.raises(ConfigError, match="FINSENT_API__TOKEN"):
        create_app(settings, create_engine("postgresql+psycopg://u@127.0.0.1:1/x"))


def test_cached_probe_asks_again_only_after_the_ttl(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    clock = [100.0]
    monkeypatch.setattr("finsent.dashboards.api.health.time.monotonic", lambda: clock[0])
    probe = CachedProbe(lambda b: calls.append(b) or len(calls) % 2 == 1, ttl_s=10)
    assert probe("k:1") is True and probe("k:1") is True
    clock[0] += 11
    assert probe("k:1") is False
    assert probe("other:2") is True, "another address is probed at once"
    assert calls == ["k:1", "k:1", "other:2"]


def test_tcp_probe_tells_a_listening_port_from_a_closed_one() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        assert tcp_probe(f"127.0.0.1:{port}", timeout_s=1)
        assert tcp_probe(f"127.0.0.1:1,127.0.0.1:{port}", timeout_s=1), "any server of the list"
    assert not tcp_probe(f"127.0.0.1:{port}", timeout_s=1)
    assert not tcp_probe("not-a-bootstrap", timeout_s=1)


@pytest.mark.parametrize(
    ("literal", "whitelist"),
    [
        (
            "finsent.dashboards.api.routes_articles.ArticleSort",
            "finsent.storage.article_queries.ARTICLE_SORTS",
        ),
        ("finsent.dashboards.api.routes_alerts.AlertSort", "finsent.storage.alerts_repo.ALERT_SORTS"),
    ],
)
def test_sort_parameters_accept_exactly_the_storage_whitelist(literal: str, whitelist: str) -> None:
    import importlib
    from typing import get_args

    module, name = literal.rsplit(".", 1)
    accepted = get_args(getattr(importlib.import_module(module), name))
    store_module, store_name = whitelist.rsplit(".", 1)
    assert sorted(accepted) == sorted(getattr(importlib.import_module(store_module), store_name))


def test_cli_api_exits_2_naming_the_missing_token(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    from typer.testing import CliRunner

    from finsent.cli import app

    monkeypatch.chdir(tmp_path)  # no .env / finsent.toml from the checkout
    monkeypatch.delenv("FINSENT_API__TOKEN", raising=False)
    result = CliRunner().invoke(app, ["api"])
    assert result.exit_code == 2
    assert "FINSENT_API__TOKEN" in result.output
