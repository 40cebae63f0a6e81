"""`finsent dashboards push` against a local HTTP peer that speaks Grafana's dashboard API."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from typer.testing import CliRunner

from finsent.cli import app
from finsent.dashboards.exceptions import GrafanaRefusedError, GrafanaUnreachableError
from finsent.dashboards.grafana_build import build_dashboards
from finsent.dashboards.grafana_push import push_dashboards


class FakeGrafana(BaseHTTPRequestHandler):
    """Folders and dashboards endpoints; records every request."""

    requests: list[dict[str, Any]]
    folders: set[str]

    def _reply(self, status: int, body: dict[str, Any]) -> None:
        raw = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def _record(self) -> dict[str, Any]:
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length)) if length else None
        entry = {
            "method": self.command,
            "path": self.path,
            "auth": self.headers.get("Authorization"),
            "body": body,
        }
        self.requests.append(entry)
        return entry

    def do_GET(self) -> None:
        self._record()
        uid = self.path.rsplit("/", 1)[-1]
        if self.path.startswith("/api/folders/") and uid in self.folders:
            self._reply(200, {"uid": uid, "title": uid})
        else:
            self._reply(404, {"message": "folder not found"})

    def do_POST(self) -> None:
        entry = self._record()
        if entry["auth"] != "Bearer glsa_test":
            self._reply(401, {"message": "invalid API key"})
        elif self.path == "/api/folders":
            self.folders.add(entry["body"]["uid"])
            self._reply(200, {"uid": entry["body"]["uid"], "title": entry["body"]["title"]})
        elif self.path == "/api/dashboards/db":
            uid = entry["body"]["dashboard"]["uid"]
            self._reply(200, {"status": "success", "uid": uid, "url": f"/d/{uid}", "version": 1})
        else:
            self._reply(404, {"message": "not found"})

    def log_message(self, *args: Any) -> None:
        """Quiet."""


@pytest.fixture
def grafana() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    requests: list[dict[str, Any]] = []
    handler = type("Handler", (FakeGrafana,), {"requests": requests, "folders": set()})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", requests
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_push_creates_the_folder_and_upserts_every_dashboard(
    grafana: tuple[str, list[dict[str, Any]]],
) -> None:
    url, requests = grafana
    built = build_dashboards()
    answers = push_dashboards(url, "glsa_test", built)
    assert sorted(a["uid"] for a in answers) == sorted(built)
    posts = [r for r in requests if r["path"] == "/api/dashboards/db"]
    assert all(r["auth"] == "Bearer glsa_test" for r in requests)
    assert [r["path"] for r in requests if r["path"].startswith("/api/folders")][:2] == [
        "/api/folders/finsent",
        "/api/folders",
    ]
    for post in posts:
        body = post["body"]
        assert body["overwrite"] is True and body["folderUid"] == "finsent"
        assert body["dashboard"]["id"] is None
        assert body["dashboard"]["panels"] == built[body["dashboard"]["uid"]]["panels"]
    requests.clear()
    push_dashboards(url, "glsa_test", built)
    assert "/api/folders" not in [r["path"] for r in requests], "an existing folder is reused"


def test_push_errors_name_the_cause(grafana: tuple[str, list[dict[str, Any]]]) -> None:
    url, _ = grafana
    with pytest.raises(GrafanaRefusedError, match="refused"):
        push_dashboards(url, "wrong-token", build_dashboards())
    with pytest.raises(GrafanaUnreachableError, match="unreachable"):
        push_dashboards("http://127.0.0.1:1", "glsa_test", build_dashboards(), timeout_s=2)


def test_cli_push(grafana: tuple[str, list[dict[str, Any]]]) -> None:
    url, _ = grafana
    push = ["dashboards", "push", "--url", url]
    ok = CliRunner().invoke(app, [*push, "--token", "glsa_test"])
    assert ok.exit_code == 0, ok.output
    assert "finsent-sentiment: success" in ok.output
    # A refused token is the user's to fix (1); an unreachable Grafana may answer later (69, EX_UNAVAILABLE).
    refused = CliRunner().invoke(app, [*push, "--token", "nope"])
    assert refused.exit_code == 1 and "refused the push" in refused.output
    down = ["dashboards", "push", "--url", "http://127.0.0.1:1", "--token", "t", "--timeout", "2s"]
    unreachable = CliRunner().invoke(app, down)
    assert unreachable.exit_code == 69 and "unreachable" in unreachable.output
    assert "Traceback" not in refused.output + unreachable.output
