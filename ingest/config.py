"""The sources file: which news sources to crawl and how, validated at load.

Errors name the offending field, e.g. ``sources.yaml: sources[2] (id 'wire').interval_s: Input
should be greater than 0``. See ``ingest/data/sources.example.yaml`` for every option.
"""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from finsent.core.durations import parse_duration
from finsent.ingest.exceptions import SourceConfigError

__all__ = [
    "CrawlDefaults",
    "DemoSourceConfig",
    "FeedSourceConfig",
    "FieldMap",
    "FileSourceConfig",
    "HtmlSourceConfig",
    "JsonApiSourceConfig",
    "PlantedEventConfig",
    "SourceConfig",
    "SourcesFile",
    "load_sources",
    "parse_sources",
]

_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_START_HELP = "must be a timestamp or an offset like '+90s', '+10m', '+1h'"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _http_url(value: str) -> str:
    if not re.match(r"^https?://[^\s/]+", value, re.IGNORECASE):
        raise ValueError("must be an absolute http:// or https:// URL")
    return value


class CrawlDefaults(_Strict):
    """Crawl-wide settings (the ``defaults:`` section)."""

    interval_s: float = Field(default=300.0, gt=0, description="Poll interval of sources that set none.")
    per_host_interval_s: float = Field(
        default=1.0, ge=0, description="Minimum seconds between requests to a host."
    )
    max_workers: int = Field(default=4, ge=1, le=64, description="Sources polled in parallel.")
    retries: int = Field(default=3, ge=1, le=10, description="Attempts per request on 5xx/timeouts.")
    backoff_base_s: float = Field(
        default=0.5, gt=0, description="First wait between two attempts (doubles, jittered)."
    )
    backoff_max_s: float = Field(default=30.0, gt=0, description="Longest wait between two attempts.")
    robots_ttl_s: float = Field(default=3600.0, gt=0, description="How long a host's robots.txt is cached.")
    failure_backoff_max_s: float = Field(
        default=3600.0, gt=0, description="Longest delay of a failing source."
    )
    max_items_per_poll: int = Field(
        default=500, ge=1, description="New items stored from one poll at most (the rest: on the next polls)."
    )


class SourceBase(_Strict):
    """Fields every source has."""

    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._\-]{0,127}$", description="Unique source id.")
    name: str | None = Field(None, description="Human-readable name.")
    interval_s: float | None = Field(None, gt=0, description="Poll interval (default: defaults.interval_s).")
    enabled: bool = Field(True, description="False skips the source.")
    tickers: list[str] = Field(
        default_factory=list, description="Tickers every item of this source is about."
    )
    topics: list[str] = Field(default_factory=list, description="Topics hint (informational).")
    timeout_s: float | None = Field(
        None, gt=0, description="HTTP timeout, seconds (default: settings.ingest.http_timeout)."
    )


class FieldMap(_Strict):
    """Where an API/file record keeps each field (dotted paths into JSON objects; CSV column names)."""

    title: str = "title"
    body: str | None = "body"
    url: str | None = "url"
    published_at: str | None = "published_at"
    id: str | None = "id"
    tickers: str | None = "tickers"


class FeedSourceConfig(SourceBase):
    """An RSS or Atom feed, or a news sitemap (``sitemap``; any of these kinds reads both)."""

    kind: Literal["rss", "atom", "feed", "sitemap"]
    url: str
    fetch_articles: bool = Field(False, description="Also fetch each entry's page and extract its text.")

    _url = field_validator("url")(_http_url)


class HtmlSourceConfig(SourceBase):
    """Article pages: fixed URLs and/or the links of an index page matching ``link_pattern``."""

    kind: Literal["html"]
    urls: list[str] = Field(default_factory=list)
    index_url: str | None = None
    link_pattern: str | None = Field(None, description="Regex a link on the index page must match.")
    max_pages: int = Field(50, ge=1, description="Article pages fetched per poll at most.")

    @field_validator("urls")
    @classmethod
    def _check_urls(cls, value: list[str]) -> list[str]:
        return [_http_url(u) for u in value]

    @field_validator("index_url")
    @classmethod
    def _check_index(cls, value: str | None) -> str | None:
        return _http_url(value) if value is not None else None

    @field_validator("link_pattern")
    @classmethod
    def _check_pattern(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"not a valid regular expression: {exc}") from None
        return value

    @model_validator(mode="after")
    def _needs_pages(self) -> HtmlSourceConfig:
        if not self.urls and not self.index_url:
            raise ValueError("set urls, index_url, or both")
        return self


class JsonApiSourceConfig(SourceBase):
    """A JSON API answering a list of news records."""

    kind: Literal["json"]
    url: str
    items_path: str = Field("", description="Dotted path to the list of records ('' = the answer itself).")
    fields: FieldMap = Field(default_factory=FieldMap)
    headers: dict[str, str] = Field(default_factory=dict, description="Extra headers; ${ENV_VAR} expanded.")

    _url = field_validator("url")(_http_url)

    @model_validator(mode="before")
    @classmethod
    def _expand_env(cls, data: Any) -> Any:
        # Only enabled sources need their secrets: a disabled example must not fail the file.
        if (
            not isinstance(data, dict)
            or not data.get("enabled", True)
            or not isinstance(data.get("headers"), dict)
        ):
            return data

        def expand(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in os.environ:
                raise ValueError(f"headers: environment variable {name} is not set")
            return os.environ[name]

        headers = {
            k: _ENV_REF.sub(expand, v) if isinstance(v, str) else v for k, v in data["headers"].items()
        }
        return {**data, "headers": headers}


class FileSourceConfig(SourceBase):
    """A CSV or JSONL corpus, read once (backfills, demos)."""

    kind: Literal["file"]
    path: Path
    format: Literal["auto", "csv", "jsonl"] = "auto"
    fields: FieldMap = Field(default_factory=FieldMap)


class PlantedEventConfig(_Strict):
    """A burst of news on one ticker planted into the demo feed."""

    ticker: str = Field(min_length=1, max_length=16)
    start: datetime | str = Field(description="UTC time, or an offset from crawl start such as '+10m'.")
    duration_s: float = Field(600.0, gt=0)
    tone: Literal["negative", "neutral", "positive"] = "negative"
    rate_per_min: float = Field(10.0, gt=0, allow_inf_nan=False, description="Planted items per minute.")

    @field_validator("start", mode="before")
    @classmethod
    def _check_start(cls, value: Any) -> Any:
        if isinstance(value, str):
            text = value.strip()
            try:
                offset = parse_duration(text)  # finsent's one duration syntax: '+10m', '90s'
            except ValueError as exc:
                if re.fullmatch(r"[+-]?\d+(?:\.\d+)?", text):
                    raise ValueError(f"{_START_HELP}; {exc}") from None  # a bare number
                offset = None
            if offset is not None:
                if offset < timedelta(0):
                    raise ValueError(f"{_START_HELP}; an offset cannot be negative")
                return text
            try:
                value = datetime.fromisoformat(text.replace("Z", "+00:00"))
            except ValueError:
                raise ValueError(_START_HELP) from None
        if isinstance(value, datetime) and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value

    def start_at(self, origin: datetime) -> datetime:
        """The event's start time; offsets count from ``origin``."""
        if isinstance(self.start, datetime):
            return self.start
        return origin + parse_duration(self.start)


class DemoSourceConfig(SourceBase):
    """Synthetic finance headlines (embedded mode, no internet), optionally with planted events."""

    kind: Literal["demo"]
    seed: int = 0
    rate_per_min: float = Field(20.0, gt=0, allow_inf_nan=False)
    events: list[PlantedEventConfig] = Field(default_factory=list)


SourceConfig = Annotated[
    FeedSourceConfig | HtmlSourceConfig | JsonApiSourceConfig | FileSourceConfig | DemoSourceConfig,
    Field(discriminator="kind"),
]
_KINDS = {"rss", "atom", "feed", "html", "json", "file", "demo"}


class SourcesFile(_Strict):
    """The whole sources file."""

    version: Literal[1] = 1
    defaults: CrawlDefaults = Field(default_factory=CrawlDefaults)
    tickers_files: list[Path] = Field(
        default_factory=list, description="CSV files extending the bundled name->ticker table."
    )
    sources: list[SourceConfig] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique_ids(self) -> SourcesFile:
        seen: set[str] = set()
        for source in self.sources:
            if source.id in seen:
                raise ValueError(f"duplicate source id {source.id!r}")
            seen.add(source.id)
        return self

    def interval_of(self, source: SourceBase) -> float:
        """The poll interval of a source in seconds."""
        return source.interval_s if source.interval_s is not None else self.defaults.interval_s

    def enabled(self) -> list[SourceConfig]:
        """The sources to crawl."""
        return [s for s in self.sources if s.enabled]


def _describe(loc: tuple[int | str, ...], data: Any) -> str:
    parts: list[str] = []
    i = 0
    while i < len(loc):
        item = loc[i]
        if isinstance(item, int):
            label = f"[{item}]"
            if parts == ["sources"] and isinstance(data, dict):
                entry = (data.get("sources") or [None] * (item + 1))[item]
                if isinstance(entry, dict) and entry.get("id"):
                    label += f" (id {entry['id']!r})"
                if i + 1 < len(loc) and loc[i + 1] in _KINDS:
                    i += 1  # pydantic names the union member; the reader knows the kind
            parts.append(label)
        else:
            parts.append(("." if parts else "") + str(item))
        i += 1
    return "".join(parts) or "<file>"


def parse_sources(data: Any, *, origin: str = "<sources>", base_dir: Path | None = None) -> SourcesFile:
    """Validate already-parsed YAML/JSON data as a sources file.

    Args:
        data: The parsed document.
        origin: Name used in error messages (the file name).
        base_dir: Directory relative ``path``/``tickers_files`` entries are resolved against.

    Raises:
        SourceConfigError: naming every bad field.
    """
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise SourceConfigError(f"{origin}: expected a mapping with a 'sources' list")
    try:
        parsed = SourcesFile.model_validate(data)
    except ValidationError as exc:
        problems = [f"{_describe(tuple(e['loc']), data)}: {e['msg']}" for e in exc.errors()]
        raise SourceConfigError(f"{origin}: invalid sources file:\n  " + "\n  ".join(problems)) from None
    if base_dir is None:
        return parsed
    root = base_dir

    def resolve(path: Path) -> Path:
        return path if path.is_absolute() else root / path

    sources = [
        s.model_copy(update={"path": resolve(s.path)}) if isinstance(s, FileSourceConfig) else s
        for s in parsed.sources
    ]
    return parsed.model_copy(
        update={"sources": sources, "tickers_files": [resolve(p) for p in parsed.tickers_files]}
    )


def load_sources(path: Path | str) -> SourcesFile:
    """Read and validate a sources YAML file.

    Raises:
        SourceConfigError: the file is missing, not YAML, or invalid (the bad field is named).
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SourceConfigError(f"cannot read sources file {path}: {exc}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise SourceConfigError(f"{path}: not valid YAML: {exc}") from None
    return parse_sources(data, origin=str(path), base_dir=path.parent)
