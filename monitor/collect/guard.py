"""Refuse loopback and private addresses unless allow-listed, on the address actually used.

aiohttp connects only to the addresses its resolver returns, so filtering them in the resolver
checks the address connected to, for the first request and for every redirect; IP literals skip
the resolver and are checked before the request."""

from __future__ import annotations

import ipaddress
import socket

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver

_Net = ipaddress.IPv4Network | ipaddress.IPv6Network


class AddressGuard:
    def __init__(self, allow: list[str]) -> None:
        self.hosts: set[str] = set()
        self.networks: list[_Net] = []
        for entry in allow:
            try:
                self.networks.append(ipaddress.ip_network(entry.strip(), strict=False))
            except ValueError:
                self.hosts.add(entry.strip().lower().rstrip("."))

    def host_allowed(self, host: str) -> bool:
        return host.lower().rstrip(".") in self.hosts

    def address_allowed(self, address: str) -> bool:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
            ip = ip.ipv4_mapped
        if ip.is_global and not ip.is_multicast:
            return True
        return any(ip in net for net in self.networks)

    def refusal(self, host: str) -> str | None:
        """Why ``host`` (an IP literal) may not be fetched, or None when it may."""
        try:
            allowed = self.host_allowed(host) or self.address_allowed(host)
        except ValueError:
            return None  # a name: the resolver checks what it resolves to
        if allowed:
            return None
        return (f"refused to connect to private or loopback address {host}; "
                "allow it with fetch.allow_private or MONITOR_ALLOW_PRIVATE if it is yours")


class GuardedResolver(AbstractResolver):
    def __init__(self, guard: AddressGuard, inner: AbstractResolver | None = None) -> None:
        self.guard = guard
        self.inner = inner or ThreadedResolver()

    async def resolve(self, host: str, port: int = 0,
                      family: socket.AddressFamily = socket.AF_INET) -> list[ResolveResult]:
        results = await self.inner.resolve(host, port, family)
        if self.guard.host_allowed(host):
            return results
        kept = [r for r in results if self.guard.address_allowed(r["host"])]
        if not kept:
            addresses = ", ".join(sorted({r["host"] for r in results}))
            raise OSError(f"refused: {host} resolves to private or loopback address "
                          f"{addresses}; allow it with fetch.allow_private or "
                          "MONITOR_ALLOW_PRIVATE if it is yours")
        return kept

    async def close(self) -> None:
        await self.inner.close()

    def __repr__(self) -> str:
        return f"GuardedResolver(hosts={sorted(self.guard.hosts)})"
