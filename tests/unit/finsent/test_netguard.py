"""The SSRF guard judges where a URL really goes: every spelling of an internal address is refused."""

from __future__ import annotations

import pytest

from finsent.core.netguard import AddressPolicy, UnsafeURLError, is_public_address

WEBHOOKS = AddressPolicy.for_webhooks()

INTERNAL = [
    "http://169.254.169.254/latest/meta-data/",  # cloud metadata (link-local)
    "http://[::1]:8000/api/webhooks",  # IPv6 loopback
    "http://localhost:5432/",  # a name for loopback (PostgreSQL's port)
    "http://0x7f000001/",  # hex spelling of 127.0.0.1
    "http://2130706433/",  # decimal spelling of 127.0.0.1
    "http://127.1/",  # short spelling of 127.0.0.1
    "http://[::ffff:127.0.0.1]/",  # IPv4-mapped IPv6
    "http://10.1.2.3/hook",
    "http://192.168.0.10/hook",
    "http://172.16.5.5/hook",
    "http://[fd00::1]/hook",  # unique-local IPv6
    "http://0.0.0.0:8000/",
    "http://127.0.0.1:8000/api/webhooks",  # the API itself
]


@pytest.mark.parametrize("url", INTERNAL)
def test_internal_addresses_are_refused_in_every_spelling(url: str) -> None:
    with pytest.raises(UnsafeURLError, match="non-public address"):
        WEBHOOKS.check_url(url)


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://user:pass@93.184.215.14/hook", "credentials"),
        ("http://token@93.184.215.14/hook", "credentials"),
        ("ftp://93.184.215.14/hook", "non-http"),
        ("file:///etc/passwd", "non-http"),
        ("http:///nohost", "without a host"),
        ("http://[::1/", "malformed"),
    ],
)
def test_credentials_other_schemes_and_malformed_urls_are_refused(url: str, why: str) -> None:
    with pytest.raises(UnsafeURLError, match=why):
        WEBHOOKS.check_url(url)


def test_refusals_never_echo_credentials() -> None:
    with pytest.raises(UnsafeURLError) as err:
        AddressPolicy(allow_userinfo=True).check_url("http://admin:hunter2@127.0.0.1/")
    assert "hunter2" not in str(err.value)


def test_public_addresses_pass() -> None:
    WEBHOOKS.check_url("https://93.184.215.14/hook")
    WEBHOOKS.check_url("http://[2606:2800:21f:cb07:6820:80da:af6b:8b2c]:8443/x")


def test_allow_list_by_network_and_by_host_name() -> None:
    by_net = AddressPolicy.for_webhooks(["10.2.0.0/16", "::1/128"])
    by_net.check_url("http://10.2.3.4/hook")
    by_net.check_url("http://[::1]/hook")
    with pytest.raises(UnsafeURLError):
        by_net.check_url("http://10.3.0.1/hook")
    by_name = AddressPolicy.for_webhooks(["LocalHost"])
    by_name.check_url("http://localhost:9000/hook")
    with pytest.raises(UnsafeURLError):
        by_name.check_url("http://127.0.0.1:9000/hook")  # the name is allowed, not the address


def test_crawler_style_policy_lets_private_through() -> None:
    AddressPolicy(allow_private=True).check_url("http://127.0.0.1/feed")


@pytest.mark.parametrize(
    ("address", "public"),
    [("8.8.8.8", True), ("127.0.0.1", False), ("::ffff:10.0.0.1", False), ("224.0.0.1", False), ("x", False)],
)
def test_is_public_address(address: str, public: bool) -> None:
    assert is_public_address(address) is public
