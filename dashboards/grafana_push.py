"""Upload the generated dashboards to a running Grafana (``finsent dashboards push``) via grafana-client."""

from __future__ import annotations

from typing import Any

from finsent.dashboards.exceptions import GrafanaRefusedError, GrafanaUnreachableError

__all__ = ["FOLDER_TITLE", "FOLDER_UID", "push_dashboards"]

FOLDER_UID = "finsent"
FOLDER_TITLE = "finsent"


def push_dashboards(
    url: str,
    token: str,
    dashboards: dict[str, dict[str, Any]],
    *,
    folder_uid: str = FOLDER_UID,
    timeout_s: float = 10.0,
) -> list[dict[str, Any]]:
    """Create the folder if needed and upsert every dashboard into it (overwriting same uids).

    Args:
        url: Grafana base URL, e.g. ``http://localhost:3000``.
        token: a service-account token with dashboard write rights (sent as a bearer token).
        dashboards: dashboard JSON keyed by uid (:func:`dashboards.grafana_build.build_dashboards`).
        folder_uid: folder that receives the dashboards.
        timeout_s: timeout of each HTTP request.

    Returns:
        Grafana's answer for each dashboard (uid, url, version, status).

    Raises:
        GrafanaRefusedError: Grafana answered with an error (wrong token, no permission).
        GrafanaUnreachableError: Grafana did not answer (refused connection, DNS, timeout).
    """
    from grafana_client.api import GrafanaApi
    from grafana_client.client import GrafanaException

    api = GrafanaApi.from_url(url, credential=token, timeout=timeout_s)
    try:
        _ensure_folder(api, folder_uid)
        answers = []
        for uid, dashboard in dashboards.items():
            payload = {
                "dashboard": {**dashboard, "id": None, "uid": uid},
                "folderUid": folder_uid,
                "overwrite": True,
                "message": "finsent dashboards push",
            }
            answers.append(api.dashboard.update_dashboard(payload))
    except GrafanaException as exc:
        raise GrafanaRefusedError(f"Grafana at {url} refused the push: {exc}") from exc
    except OSError as exc:  # connection refused, DNS, timeouts surface as OSError subclasses
        raise GrafanaUnreachableError(f"Grafana at {url} is unreachable: {exc}") from exc
    except Exception as exc:
        # niquests' own connection errors are not OSErrors; keep the message, drop the noise.
        if type(exc).__module__.startswith(("niquests", "urllib3", "requests")):
            raise GrafanaUnreachableError(f"Grafana at {url} is unreachable: {exc}") from exc
        raise
    return answers


def _ensure_folder(api: Any, folder_uid: str) -> None:
    from grafana_client.client import GrafanaClientError

    try:
        api.folder.get_folder(folder_uid)
    except GrafanaClientError as exc:
        if getattr(exc, "status_code", None) != 404:
            raise
        api.folder.create_folder(FOLDER_TITLE, uid=folder_uid)
