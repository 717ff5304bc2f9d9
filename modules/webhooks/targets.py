"""Where webhooks may be sent: URL rules and the guard against server-side request forgery.

A subscription's URL is checked when it is saved and again before every attempt, against the
addresses its host resolves to then; the attempt connects to an address it checked (never
resolving the name a second time), so a name that resolves to a public address at subscription
time and to `127.0.0.1` later (DNS rebinding) is refused at delivery.

Refused, unless the policy allows private targets (development and tests): addresses that are
not globally routable (private, loopback, link-local — which holds the cloud metadata address
169.254.169.254 —, unique-local, carrier-grade NAT 100.64/10 — which holds Alibaba Cloud's
metadata 100.100.100.200 —, multicast, reserved, unspecified, documentation ranges), and the
same disguised as IPv6 (IPv4-mapped, NAT64, 6to4). Only `https` unless private targets are
allowed.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import socket
import unicodedata
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

MAX_URL = 2000
RESOLVE_TIMEOUT = 5.0
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Well-known metadata endpoints, named in messages (each is also non-global).
METADATA = {ipaddress.ip_address(a) for a in (
    "169.254.169.254", "169.254.170.2", "100.100.100.200", "fd00:ec2::254")}
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class TargetRefused(ValueError):
    """The URL may not be a webhook's target; the message says why (shown to the caller)."""

    def __init__(self, message: str, code: str = "invalid_url") -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class TargetPolicy:
    allow_private: bool = False


STRICT = TargetPolicy()


@dataclass(frozen=True)
class Target:
    """A URL as checked: the host to name in `Host` and TLS, and the addresses it may use."""

    url: str
    scheme: str
    host: str  # IDNA (ASCII) form, or an IP literal
    port: int
    path: str  # path and query, as sent
    addresses: tuple[IPAddress, ...] = ()


def parse(url: str, policy: TargetPolicy = STRICT) -> Target:
    """The URL's parts, or TargetRefused: no control characters, spaces or odd Unicode in it,
    `https` (or `http` where private targets are allowed), a host, no user name or password,
    a valid port, at most 2,000 characters."""
    if not isinstance(url, str) or not url.strip():
        raise TargetRefused("is required", "required")
    url = url.strip()
    if len(url) > MAX_URL:
        raise TargetRefused(f"must be at most {MAX_URL} characters", "too_long")
    if any(unicodedata.category(c)[0] in "CZ" for c in url):
        raise TargetRefused("must not contain spaces, control or invisible characters")
    try:
        parts: SplitResult = urlsplit(url)
        port = parts.port
        hostname = parts.hostname
    except ValueError:
        raise TargetRefused("is not a valid URL") from None
    scheme = parts.scheme.lower()
    allowed = ("https", "http") if policy.allow_private else ("https",)
    if scheme not in allowed:
        raise TargetRefused("must be an https:// URL", "insecure_url")
    if not hostname:
        raise TargetRefused("must name a host")
    if parts.username is not None or parts.password is not None:
        raise TargetRefused("must not carry a user name or password")
    if port == 0:
        raise TargetRefused("has an invalid port")
    host = _ascii_host(hostname)
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return Target(url=url, scheme=scheme, host=host, port=port or (443 if scheme == "https"
                                                                    else 80), path=path)


def _ascii_host(hostname: str) -> str:
    try:
        return str(ipaddress.ip_address(hostname))
    except ValueError:
        pass
    try:
        host = hostname.encode("idna").decode("ascii").lower()
    except (UnicodeError, ValueError):
        raise TargetRefused("has a host name that is not valid") from None
    labels = host.rstrip(".").split(".")
    if not host or len(host) > 253 or any(not 0 < len(label) <= 63 for label in labels):
        raise TargetRefused("has a host name that is not valid")
    if not all(c.isalnum() or c in "-." for c in host):
        raise TargetRefused("has a host name that is not valid")
    return host.rstrip(".")


def refusal(address: IPAddress) -> str | None:
    """Why this address may not be a target, or None if it is a public one."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is None and address in _NAT64:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None:
            return refusal(embedded)
    if address in METADATA:
        return "a cloud metadata address"
    if address.is_loopback:
        return "a loopback address"
    if address.is_link_local:
        return "a link-local address"
    if isinstance(address, ipaddress.IPv4Address) and address in ipaddress.ip_network(
            "100.64.0.0/10"):
        return "a carrier-grade NAT address"
    if isinstance(address, ipaddress.IPv6Address) and address in ipaddress.ip_network(
            "fc00::/7"):
        return "a unique-local address"
    if address.is_private:
        return "a private address"
    if address.is_multicast or address.is_unspecified or address.is_reserved \
            or not address.is_global:
        return "not a public address"
    return None


@functools.cache
def _resolver() -> ThreadPoolExecutor:
    """Lookups in threads of their own: giving up on a slow one (RESOLVE_TIMEOUT) leaves its
    thread blocked, and in the loop's default executor (a handful of threads, shared with
    everything else run in threads) a few slow names would make every other lookup time out,
    failing other tenants' deliveries."""
    return ThreadPoolExecutor(max_workers=32, thread_name_prefix="webhook-dns")


async def resolve(target: Target, policy: TargetPolicy = STRICT) -> Target:
    """The target with the addresses its host resolves to now, every one of them checked
    (one private address among public ones refuses it: a connection might pick it)."""
    try:
        literal: IPAddress | None = ipaddress.ip_address(target.host)
    except ValueError:
        literal = None
    if literal is not None:
        found: list[IPAddress] = [literal]
    else:
        loop = asyncio.get_running_loop()
        try:
            infos = await asyncio.wait_for(loop.run_in_executor(
                _resolver(), functools.partial(socket.getaddrinfo, target.host, target.port,
                                               type=socket.SOCK_STREAM)), RESOLVE_TIMEOUT)
        except (OSError, UnicodeError, TimeoutError):
            raise TargetRefused(f"has a host that does not resolve: {target.host}",
                                "unresolvable") from None
        found = []
        for info in infos:
            address = ipaddress.ip_address(str(info[4][0]).split("%")[0])
            if address not in found:
                found.append(address)
        if not found:
            raise TargetRefused(f"has a host that does not resolve: {target.host}",
                                "unresolvable")
    if not policy.allow_private:
        for address in found:
            why = refusal(address)
            if why is not None:
                raise TargetRefused(f"resolves to {address}, {why}: webhooks go to public "
                                    "addresses only", "private_address")
    return Target(target.url, target.scheme, target.host, target.port, target.path,
                  tuple(found))


async def check(url: str, policy: TargetPolicy = STRICT) -> Target:
    return await resolve(parse(url, policy), policy)
