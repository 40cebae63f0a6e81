"""The Faust app's configuration (no broker needed: nothing is started)."""

from __future__ import annotations

from pathlib import Path

from finsent.core.settings import Settings
from finsent.stream.app import create_app
from finsent.stream.config import StreamConfig


def _config(tmp_path: Path, **stream: object) -> StreamConfig:
    settings = Settings(_env_file=None, data_dir=tmp_path, kafka={"topic_prefix": "acme"}, stream=stream)  # type: ignore[call-arg]
    return StreamConfig.from_settings(
        settings, database_url="postgresql+psycopg://u@h/db", kafka_bootstrap="127.0.0.1:1,127.0.0.1:2"
    )


def test_app_uses_raw_bytes_one_group_no_web_server_and_the_session_timeout(tmp_path: Path) -> None:
    app = create_app(_config(tmp_path, session_timeout="6s", commit_interval="500ms"))
    conf = app.conf
    assert conf.id == "acme-scoring"
    assert [str(u) for u in conf.broker] == ["kafka://127.0.0.1:1", "kafka://127.0.0.1:2"]
    assert (conf.key_serializer, conf.value_serializer) == ("raw", "raw")
    assert conf.web_enabled is False
    assert conf.broker_session_timeout == 6.0
    assert conf.broker_commit_interval == 0.5
    assert conf.consumer_auto_offset_reset == "earliest"
    assert (tmp_path / "faust").is_dir()
    # the consumer comes from finsent's transport (bounded fetch long-poll), not Faust's default
    assert app.transport.Consumer.__name__ == "FetchTunedConsumer"
