"""Webhook signatures: HMAC-SHA256 over ``timestamp + "." + body``.

Every request finsent sends carries::

    X-Finsent-Timestamp: 1712345678            (unix seconds when this attempt was signed)
    X-Finsent-Signature: v1=<hex hmac-sha256(secret, "1712345678." + raw body)>
    X-Finsent-Delivery:  42                    (same on every retry: deduplicate on it)
    X-Finsent-Event:     opened | updated | resolved | test

A receiver recomputes the HMAC over the raw body bytes with its shared secret, compares in
constant time, and rejects timestamps older than a tolerance (replays)::

    from finsent.alerts.signing import verify_signature
    ok = verify_signature(secret, request.headers["X-Finsent-Timestamp"], raw_body,
                          request.headers["X-Finsent-Signature"], tolerance_s=300)

Each retry is signed afresh with its own timestamp, so a retry hours later still verifies.
"""

from __future__ import annotations

import hashlib
import hmac
import time

__all__ = [
    "DELIVERY_HEADER",
    "EVENT_HEADER",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "sign",
    "signature_headers",
    "verify_signature",
]

TIMESTAMP_HEADER = "X-Finsent-Timestamp"
SIGNATURE_HEADER = "X-Finsent-Signature"
DELIVERY_HEADER = "X-Finsent-Delivery"
EVENT_HEADER = "X-Finsent-Event"
_SCHEME = "v1"


def _as_bytes(value: str | bytes) -> bytes:
    return value.encode("utf-8") if isinstance(value, str) else value


def sign(secret: str | bytes, timestamp: int | str, body: bytes | str) -> str:
    """The ``v1=<hex>`` signature of ``body`` signed at ``timestamp`` with ``secret``."""
    message = _as_bytes(str(timestamp)) + b"." + _as_bytes(body)
    digest = hmac.new(_as_bytes(secret), message, hashlib.sha256).hexdigest()
    return f"{_SCHEME}={digest}"


def signature_headers(secret: str | bytes, body: bytes, *, now: float | None = None) -> dict[str, str]:
    """Timestamp and signature headers for one request."""
    timestamp = int(now if now is not None else time.time())
    return {TIMESTAMP_HEADER: str(timestamp), SIGNATURE_HEADER: sign(secret, timestamp, body)}


def verify_signature(
    secret: str | bytes,
    timestamp: str | int | None,
    body: bytes | str,
    signature: str | None,
    tolerance_s: float = 300.0,
    *,
    now: float | None = None,
) -> bool:
    """Check a finsent webhook signature; False for a wrong secret, a tampered body or a replay.

    Args:
        secret: the subscription's shared secret.
        timestamp: the ``X-Finsent-Timestamp`` header (unix seconds).
        body: the raw request body, exactly as received.
        signature: the ``X-Finsent-Signature`` header; several comma-separated ``v1=`` values
            (secret rotation) are accepted if any matches.
        tolerance_s: largest accepted age (and clock skew into the future) of the timestamp.
        now: the current unix time (default: the clock), for tests.

    Returns:
        True only if the timestamp is within tolerance and one signature matches.
    """
    if timestamp is None or signature is None:
        return False
    try:
        ts = int(str(timestamp).strip())
    except ValueError:
        return False
    current = now if now is not None else time.time()
    if abs(current - ts) > tolerance_s:
        return False
    expected = sign(secret, ts, body)
    candidates = [part.strip() for part in signature.split(",")]
    return any(hmac.compare_digest(expected, c) for c in candidates if c.startswith(f"{_SCHEME}="))
