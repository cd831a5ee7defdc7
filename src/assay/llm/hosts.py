"""Which hosts a model connection may call: the operator's list (``ASSAY_MODEL_HOSTS``), one rule.

A tenant never chooses where the server connects beyond that list, so no manager can make the
server call an internal address (cloud metadata, the database, an admin port).  Entries:

- ``api.example.com``: that host name, any port;
- ``api.example.com:8443`` or ``127.0.0.1:8080``: that host on that port only;
- ``10.0.0.0/8`` or ``::1/128``: any IP-literal URL inside the range.  A host *name* never matches a
  range, even one that resolves into it: what a name resolves to can change between the check and
  the connection (DNS rebinding), while an IP literal cannot.

Every URL is checked when a connection is saved and again before every call (the list may have
shrunk since), and redirects are never followed, so the host checked is the host called.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from urllib.parse import urlsplit

LOOPBACK = ("127.0.0.0/8", "::1/128", "localhost")
"""What ``assay demo`` allows: models served on this machine."""

_Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class Target:
    """A checked URL's scheme, host (lower case, IPv6 without brackets) and port."""

    scheme: str
    host: str
    port: int


def problem(entry: str) -> str | None:
    """Why ``entry`` cannot be an allow-list entry, or None."""
    try:
        _parse_entry(entry)
    except ValueError as exc:
        return str(exc)
    return None


def _parse_entry(entry: str) -> tuple[str, int | None] | _Network:
    text = entry.strip().lower()
    if not text:
        raise ValueError("an empty entry")
    if "/" in text:
        try:
            return ipaddress.ip_network(text, strict=False)
        except ValueError:
            raise ValueError(f"{entry!r} is not a CIDR range such as 10.0.0.0/8") from None
    host, port = text, None
    if text.startswith("["):  # [::1]:8080
        end = text.find("]")
        if end < 0:
            raise ValueError(f"{entry!r}: an IPv6 address in brackets needs its ']'")
        host, rest = text[1:end], text[end + 1 :]
        if rest:
            if not rest.startswith(":"):
                raise ValueError(f"{entry!r}: expected ':port' after ']'")
            port = _port(rest[1:], entry)
    elif text.count(":") == 1:
        host, raw = text.split(":")
        port = _port(raw, entry)
    if not host or any(c in host for c in "@?#/\\ "):
        raise ValueError(f"{entry!r} is not a host name, host:port or CIDR")
    return host, port


def _port(raw: str, entry: str) -> int:
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        raise ValueError(f"{entry!r}: the port must be a number from 1 to 65535")
    return int(raw)


def target(url: str) -> Target:
    """The URL's scheme, host and port; ValueError naming what is wrong with it."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"{url!r} is not a URL: {exc}") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise ValueError(f"{url!r}: the URL must start with http:// or https://")
    if parts.username is not None or parts.password is not None:
        raise ValueError(f"{url!r}: put credentials in the API key, not in the URL")
    if parts.query or parts.fragment:
        raise ValueError(f"{url!r}: the base URL takes no query string or fragment")
    host = (parts.hostname or "").lower()
    if not host:
        raise ValueError(f"{url!r} names no host")
    return Target(scheme, host, port or (443 if scheme == "https" else 80))


def allowed(url: str, entries: tuple[str, ...]) -> Target:
    """The checked target of ``url`` when the operator's list admits it; ValueError saying why not."""
    found = target(url)
    try:
        literal: ipaddress.IPv4Address | ipaddress.IPv6Address | None = ipaddress.ip_address(found.host)
    except ValueError:
        literal = None
    for entry in entries:
        rule = _parse_entry(entry)
        if isinstance(rule, ipaddress.IPv4Network | ipaddress.IPv6Network):
            if literal is not None and literal.version == rule.version and literal in rule:
                return found
            continue
        host, port = rule
        if literal is not None:
            try:
                same = ipaddress.ip_address(host) == literal
            except ValueError:
                same = False
        else:
            same = host == found.host
        if same and (port is None or port == found.port):
            return found
    if not entries:
        raise ValueError("this server may call no model host: the operator has not set ASSAY_MODEL_HOSTS")
    raise ValueError(
        f"{found.host}:{found.port} is not among the hosts this server may call (ASSAY_MODEL_HOSTS, "
        "set by the operator)"
    )
