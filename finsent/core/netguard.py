"""Which network addresses finsent may send requests to (server-side request forgery guard).

Crawlers and webhook deliveries both send requests to URLs that users or feeds chose, so both
refuse hosts that resolve to loopback, private, link-local (cloud metadata), multicast or
otherwise non-global addresses. The check runs on the *resolved* addresses, so every spelling of
an address (``0x7f000001``, ``[::1]``, ``localhost``, ``::ffff:127.0.0.1``, a DNS name pointing
inside) is judged by where it really goes. Operators who need an internal receiver list it
explicitly (:class:`AddressPolicy` ``allow``: host names or CIDR networks).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from finsent.core.errors import BadDataError, RetryableError

__all__ = [
    "AddressPolicy",
    "UnresolvableHostError",
    "UnsafeURLError",
    "is_public_address",
]

_DEFAULT_PORTS = {"http": 80, "https": 443}
_Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class UnsafeURLError(BadDataError):
    """A URL finsent refuses to send a request to (not http(s), credentials in it, or a
    non-public address that is not allow-listed)."""


class UnresolvableHostError(RetryableError):
    """The URL's host name does not resolve (often transient: retry later)."""


def _ip(address: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def is_public_address(address: str) -> bool:
    """True when an IP address is globally routable (not private, loopback, link-local, ...)."""
    ip = _ip(address)
    return ip is not None and ip.is_global and not ip.is_multicast


@dataclass(frozen=True)
class AddressPolicy:
    """Where requests may go.

    Attributes:
        allow_private: Let every non-public address through (tests, intranets).
        allow: Host names (exact, case-insensitive) or CIDR networks (``10.1.0.0/16``,
            ``127.0.0.1/32``) allowed although they are not public.
        allow_userinfo: Accept ``user:pass@`` in URLs (crawlers may; webhooks must not, the
            credentials would be sent to whoever the host really is and stored in clear).
    """

    allow_private: bool = False
    allow: tuple[str, ...] = ()
    allow_userinfo: bool = True
    _networks: tuple[_Network, ...] = field(init=False, repr=False, compare=False)
    _hosts: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        networks: list[_Network] = []
        hosts: set[str] = set()
        for entry in self.allow:
            try:
                networks.append(ipaddress.ip_network(entry.strip(), strict=False))
            except ValueError:
                hosts.add(entry.strip().lower().rstrip("."))
        object.__setattr__(self, "_networks", tuple(networks))
        object.__setattr__(self, "_hosts", frozenset(hosts))

    @classmethod
    def for_webhooks(cls, allow: Iterable[str] = ()) -> AddressPolicy:
        """The webhook policy: public addresses only, plus ``allow``; no credentials in URLs."""
        return cls(allow=tuple(allow), allow_userinfo=False)

    def address_allowed(self, address: str) -> bool:
        """True when requests may go to this resolved IP address."""
        if self.allow_private or is_public_address(address):
            return True
        ip = _ip(address)
        return ip is not None and any(ip.version == net.version and ip in net for net in self._networks)

    def check_url(self, url: str) -> None:
        """Refuse a URL unless it is http(s) and every address its host resolves to is allowed.

        Raises:
            UnsafeURLError: malformed, not http(s), credentials in it, or a refused address.
            UnresolvableHostError: the host name does not resolve.
        """
        host, port = self._parse(url)
        if self.allow_private or host.lower().rstrip(".") in self._hosts:
            return
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError) as exc:
            raise UnresolvableHostError(f"cannot resolve host {host!r}: {exc}") from None
        for info in infos:
            address = str(info[4][0])
            if not self.address_allowed(address):
                raise UnsafeURLError(
                    f"refusing {_redact(url)}: {host} resolves to non-public address {address}"
                )

    def _parse(self, url: str) -> tuple[str, int]:
        try:
            parts = urlsplit(url)
            port = parts.port or _DEFAULT_PORTS.get(parts.scheme.lower(), 0)
        except ValueError as exc:
            raise UnsafeURLError(f"malformed URL {_redact(url)}: {exc}") from None
        if parts.scheme.lower() not in _DEFAULT_PORTS:
            raise UnsafeURLError(f"refusing non-http(s) URL {_redact(url)}")
        if not self.allow_userinfo and (parts.username is not None or parts.password is not None):
            raise UnsafeURLError("refusing a URL with credentials (user:password@) in it")
        if not parts.hostname:
            raise UnsafeURLError(f"URL without a host: {_redact(url)}")
        return parts.hostname, port


def _redact(url: str) -> str:
    """The URL without userinfo and cut to a readable length (it goes into messages and logs)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return repr(url[:200])
    netloc = parts.netloc.rsplit("@", 1)[-1]
    return repr(parts._replace(netloc=netloc).geturl()[:200])
