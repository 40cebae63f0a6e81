"""URL canonicalisation and the guard that refuses URLs finsent must not fetch."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from finsent.core.netguard import AddressPolicy, UnresolvableHostError, UnsafeURLError, is_public_address
from finsent.ingest.exceptions import BlockedURLError, FetchError

__all__ = ["TRACKING_PARAMS", "canonical_url", "check_url_allowed", "is_public_address", "resolve_url"]

#: Query parameters that only track the reader; dropped from canonical URLs (plus every ``utm_*``).
TRACKING_PARAMS = frozenset(
    {
        "fbclid",
        "gclid",
        "dclid",
        "gclsrc",
        "msclkid",
        "yclid",
        "twclid",
        "igshid",
        "mc_cid",
        "mc_eid",
        "_ga",
        "_gl",
        "_hsenc",
        "_hsmi",
        "mkt_tok",
        "oly_anon_id",
        "oly_enc_id",
        "vero_id",
        "wickedid",
        "rb_clickid",
        "s_cid",
        "cmpid",
        "ncid",
        "ocid",
        "sr_share",
        "spm",
        "ref_src",
        "ref_url",
        "at_medium",
        "at_campaign",
        "guccounter",
        "guce_referrer",
        "guce_referrer_sig",
    }
)
_DEFAULT_PORTS = {"http": 80, "https": 443}


def _is_tracking(name: str) -> bool:
    low = name.lower()
    return low.startswith("utm_") or low in TRACKING_PARAMS


def canonical_url(url: str) -> str | None:
    """The canonical form of an absolute http(s) URL, or None if it is not one.

    Scheme and host are lower-cased, default ports, fragments and tracking parameters
    (``utm_*``, ``fbclid``, ``gclid``, ...) removed, remaining query parameters sorted, and an
    empty path written as ``/``.

    Args:
        url: An absolute URL.

    Returns:
        The canonical URL, or None when ``url`` is not an absolute http(s) URL.
    """
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").rstrip(".")
    if scheme not in _DEFAULT_PORTS or not host or any(c.isspace() for c in host):
        return None
    netloc = f"[{host}]" if ":" in host else host
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        netloc = f"{netloc}:{port}"
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _is_tracking(k)]
    return urlunsplit((scheme, netloc, parts.path or "/", urlencode(sorted(query)), ""))


def resolve_url(href: str | None, base: str | None) -> str | None:
    """Resolve a possibly relative link against the page it came from; None if unusable."""
    if not href or not href.strip():
        return None
    try:
        joined = urljoin(base or "", href.strip())
    except ValueError:
        return None
    return joined if canonical_url(joined) is not None else None


def check_url_allowed(url: str, *, allow_private: bool) -> None:
    """Refuse URLs that are not http(s), or whose host resolves to a non-public address.

    Args:
        url: The URL about to be fetched.
        allow_private: Let loopback/private addresses through (tests, intranets).

    Raises:
        BlockedURLError: the URL must not be fetched.
        FetchError: the host name could not be resolved (may work later).
    """
    policy = AddressPolicy(allow_private=allow_private)
    try:
        policy.check_url(url)
    except UnresolvableHostError as exc:
        # DNS failures are usually transient: retry later rather than dead-letter.
        raise FetchError(str(exc)) from None
    except UnsafeURLError as exc:
        hint = " (set allow_private_addresses to allow)" if "non-public" in str(exc) else ""
        raise BlockedURLError(f"{exc}{hint}") from None
