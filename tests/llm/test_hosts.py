"""The operator's host list is the only way out: every URL a tenant gives is checked by one rule."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from assay.errors import Invalid
from assay.llm import hosts
from assay.settings import Config


@pytest.mark.parametrize(
    ("url", "entries"),
    [
        ("http://127.0.0.1:8080/v1", ("127.0.0.0/8",)),
        ("http://localhost:8080/v1", ("localhost",)),
        ("https://api.example.com/v1", ("api.example.com",)),
        ("https://API.Example.com/v1", ("api.example.com:443",)),
        ("http://[::1]:9000/v1", ("::1/128",)),
        ("http://[::1]:9000/v1", ("[::1]:9000",)),
        ("http://10.1.2.3/v1", ("10.0.0.0/8",)),
    ],
)
def test_listed_hosts_are_allowed(url: str, entries: tuple[str, ...]) -> None:
    assert hosts.allowed(url, entries).host


@pytest.mark.parametrize(
    ("url", "entries", "why"),
    [
        # Cloud metadata, the database, anything internal: not listed, not reachable.
        ("http://169.254.169.254/latest/meta-data", ("api.example.com",), "not among"),
        ("http://127.0.0.1:5432/", ("api.example.com",), "not among"),
        # A name never matches a range, even if it resolves into it (DNS rebinding).
        ("http://localhost:8080/v1", ("127.0.0.0/8",), "not among"),
        ("http://api.example.com.evil.test/v1", ("api.example.com",), "not among"),
        ("http://api.example.com:8443/v1", ("api.example.com:443",), "not among"),
        # Userinfo and fragments that make a URL look like another host.
        ("http://api.example.com@169.254.169.254/v1", ("api.example.com",), "credentials"),
        ("http://169.254.169.254#@api.example.com/v1", ("api.example.com",), "fragment"),
        ("http://169.254.169.254?@api.example.com", ("api.example.com",), "query"),
        ("file:///etc/passwd", ("api.example.com",), "http://"),
        ("gopher://api.example.com/", ("api.example.com",), "http://"),
        ("http:///v1", ("api.example.com",), "no host"),
        ("http://api.example.com:99999/", ("api.example.com",), "not a URL"),
        ("http://127.0.0.1/v1", (), "has not set ASSAY_MODEL_HOSTS"),
        # IPv4-mapped IPv6 of a loopback address is not an IPv4 literal inside 127.0.0.0/8 ...
        ("http://[::ffff:127.0.0.1]/v1", ("10.0.0.0/8",), "not among"),
        # ... and decimal or octal spellings of an address are names, which no range matches.
        ("http://2130706433/v1", ("127.0.0.0/8",), "not among"),
        ("http://0177.0.0.1/v1", ("127.0.0.0/8",), "not among"),
    ],
)
def test_everything_else_is_refused_with_the_reason(url: str, entries: tuple[str, ...], why: str) -> None:
    with pytest.raises(ValueError, match=why):
        hosts.allowed(url, entries)


@given(st.ip_addresses())
def test_an_address_is_allowed_exactly_when_a_listed_range_holds_it(address: ipaddress._BaseAddress) -> None:
    entries = ("10.0.0.0/8", "fd00::/8", "api.example.com")
    host = f"[{address}]" if address.version == 6 else str(address)
    inside = any(
        address.version == net.version and address in net
        for net in (ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("fd00::/8"))
    )
    if inside:
        assert hosts.allowed(f"http://{host}:8000/v1", entries)
    else:
        with pytest.raises(ValueError):
            hosts.allowed(f"http://{host}:8000/v1", entries)


@pytest.mark.parametrize(
    "entry", ["", "10.0.0.0/33", "host:0", "host:x", "a b", "user@host", "[::1", "h/x/y"]
)
def test_a_bad_entry_stops_start_up_naming_the_variable(entry: str) -> None:
    with pytest.raises(Invalid, match="ASSAY_MODEL_HOSTS"):
        Config.from_env(
            {"ASSAY_MODEL_HOSTS": f"api.example.com,{entry}" if entry else "api.example.com, ,x/"}
        )
