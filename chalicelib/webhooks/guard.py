"""Refuse webhook targets that point inside a network (SSRF guard).

Checked on the resolved addresses, not the host name, so a public-looking name
that resolves to 10.0.0.5 or 169.254.169.254 is refused too. ``pin`` returns
the URL rewritten to the one checked address (Host header and TLS SNI keep the
name), so a second DNS answer cannot swap in another target (DNS rebinding).
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit, urlunsplit

from chalicelib.core.errors import WebhookTargetRefused

_METADATA = {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}
_NAT64 = ipaddress.ip_network("64:ff9b::/96")  # RFC 6052 well-known prefix: the low 32 bits are an IPv4 address


def _embedded_ipv4(address: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address carries and a relay would reach: mapped (::ffff:a.b.c.d), 6to4
    (2002::/16), Teredo (2001::/32, server and client) and NAT64 (64:ff9b::/96)."""
    found = [a for a in (address.ipv4_mapped, address.sixtofour) if a is not None]
    if address.teredo:
        found.extend(address.teredo)
    if address in _NAT64:
        found.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return found


def _refused(address: ipaddress.IPv4Address | ipaddress.IPv6Address, allow_loopback: bool) -> bool:
    if address.version == 6 and any(_refused(inner, allow_loopback) for inner in _embedded_ipv4(address)):
        return True
    if address.is_loopback:
        return not allow_loopback
    return (
        address in _METADATA
        or address.is_private
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or not address.is_global
    )


def resolve(host: str, port: int) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise WebhookTargetRefused(f"webhook host {host!r} does not resolve") from exc
    return [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]


@dataclass(frozen=True)
class PinnedTarget:
    """A checked URL addressed by IP, with the Host header and TLS server name of the original."""

    url: str
    host_header: str
    server_name: str


def check_url(url: str, *, allow_loopback: bool) -> None:
    """Raise WebhookTargetRefused unless every address the URL resolves to is allowed."""
    _checked(url, allow_loopback=allow_loopback)


def pin(url: str, *, allow_loopback: bool) -> PinnedTarget:
    """Check the URL and address it by the first allowed address it resolved to."""
    parts, addresses = _checked(url, allow_loopback=allow_loopback)
    address = addresses[0]
    host = f"[{address}]" if address.version == 6 else str(address)
    netloc = f"{host}:{parts.port}" if parts.port else host
    host_header = parts.netloc.rsplit("@", 1)[-1]
    return PinnedTarget(urlunsplit(parts._replace(netloc=netloc)), host_header, str(parts.hostname))


def _checked(url: str, *, allow_loopback: bool) -> tuple[SplitResult, list[ipaddress.IPv4Address | ipaddress.IPv6Address]]:
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise WebhookTargetRefused("webhook url must be an absolute http(s) URL")
    if parts.username or parts.password:
        raise WebhookTargetRefused("webhook url must not carry credentials")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise WebhookTargetRefused("webhook url has an invalid port") from exc
    addresses = resolve(parts.hostname, port)
    if not addresses:
        raise WebhookTargetRefused(f"webhook host {parts.hostname!r} does not resolve")
    for address in addresses:
        if _refused(address, allow_loopback):
            raise WebhookTargetRefused(f"webhook target {parts.hostname} resolves to a refused address")
    return parts, addresses
