"""JSON APIs: a list of records at ``items_path``, mapped to articles by a field map."""

from __future__ import annotations

import json
from datetime import datetime

from finsent.ingest.config import FieldMap, JsonApiSourceConfig
from finsent.ingest.exceptions import BadItemError
from finsent.ingest.items import BadItem, PollResult
from finsent.ingest.sources.base import PollContext
from finsent.ingest.sources.mapping import dig, record_to_item

__all__ = ["JsonApiSource", "parse_json_items"]


def parse_json_items(
    body: bytes,
    *,
    source_id: str,
    items_path: str,
    fields: FieldMap,
    base_url: str,
    fetched_at: datetime,
    tickers: tuple[str, ...] = (),
) -> PollResult:
    """Parse a JSON answer into raw items; never raises on bad input (bad records are returned)."""
    result = PollResult()
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        result.bad.append(BadItem(source_id, f"not JSON: {exc}", "BadItemError", base_url, body[:65536]))
        return result
    records = dig(data, items_path)
    if not isinstance(records, list):
        reason = f"no list of records at items_path {items_path!r} (found {type(records).__name__})"
        result.bad.append(BadItem(source_id, reason, "BadItemError", base_url, body[:65536]))
        return result
    for index, record in enumerate(records):
        try:
            result.items.append(
                record_to_item(
                    record,
                    fields,
                    source_id=source_id,
                    fetched_at=fetched_at,
                    base_url=base_url,
                    default_tickers=tickers,
                )
            )
        except BadItemError as exc:
            payload = json.dumps(record, default=str)[:65536].encode("utf-8", errors="replace")
            result.bad.append(
                BadItem(source_id, str(exc), type(exc).__name__, f"{base_url}#{index}", payload)
            )
    return result


class JsonApiSource:
    """A JSON news API polled with conditional GET."""

    kind = "json"

    def __init__(self, config: JsonApiSourceConfig, interval_s: float) -> None:
        self.config = config
        self.id = config.id
        self.interval_s = interval_s

    def poll(self, ctx: PollContext) -> PollResult:
        """Fetch the API and map its records."""
        response = ctx.fetch(
            self.config.url,
            source_id=self.id,
            timeout_s=self.config.timeout_s,
            headers={"Accept": "application/json", **self.config.headers},
        )
        if response.not_modified:
            return PollResult(requests=1, not_modified=1)
        result = parse_json_items(
            response.body,
            source_id=self.id,
            items_path=self.config.items_path,
            fields=self.config.fields,
            base_url=response.url,
            fetched_at=ctx.now,
            tickers=tuple(self.config.tickers),
        )
        result.requests += 1
        result.items, result.deferred = ctx.select_new(result.items, ctx.max_items)
        return result
