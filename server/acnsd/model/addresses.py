"""Static addresses for nameserver names (rule R7).

Every ACNS name (and every custom.zone vanity name) gets one IPv4 and one IPv6 address:
pinned in the config, or drawn once from `server.address_pools` and recorded in the state
file. Recorded assignments never move: not across restarts, reloads, or edits to other
names. An address released by a removed name is kept aside and handed out again only when
a pool has nothing never-used left, so it does not silently reach another name. Two names
pinned to one address, a pin that takes another name's address, and an exhausted pool are
errors.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from ..errors import Problem
from .state import State

__all__ = ["FAMILIES", "AddressRequest", "Kept", "Owner", "Pool", "assign_addresses", "draw"]

FAMILIES = ("ipv4", "ipv6")


@dataclass(frozen=True)
class AddressRequest:
    """A name that needs addresses, with its pins and where it is configured."""

    name: str
    ipv4: str | None
    ipv6: str | None
    problem: object  # callable(path_suffix, message) -> Problem, locating the name


class Pool:
    """The hosts of one family's pools in the order they are handed out: pool by pool,
    lowest first (all but the network and broadcast addresses of an IPv4 network larger
    than /31, all but the subnet-router anycast of an IPv6 one larger than /127)."""

    def __init__(self, networks: Sequence[ipaddress.IPv4Network | ipaddress.IPv6Network]):
        self.networks = tuple(networks)
        self._ranges: list[tuple[int, int, int, type]] = []  # (index, first host, count, class)
        size = 0
        for net in self.networks:
            first, count = int(net.network_address), net.num_addresses
            if count > 2:
                first, count = first + 1, count - (2 if net.version == 4 else 1)
            self._ranges.append((size, first, count, type(net.network_address)))
            size += count
        self.size = size

    def __bool__(self) -> bool:
        return bool(self.networks)

    def __getitem__(self, i: int) -> str:
        for start, first, count, cls in self._ranges:
            if i < start + count:
                return str(cls(first + i - start))
        raise IndexError(i)

    def index(self, address: str) -> int | None:
        """The first position of `address` among the hosts, or None."""
        addr = ipaddress.ip_address(address)
        value = int(addr)
        for start, first, count, cls in self._ranges:
            if type(addr) is cls and first <= value < first + count:
                return start + value - first
        return None

    def __str__(self) -> str:
        return ", ".join(str(net) for net in self.networks)


def assign_addresses(
    requests: Sequence[AddressRequest],
    pools: dict[str, Sequence[ipaddress.IPv4Network | ipaddress.IPv6Network]],
    reserved: dict[str, str],
    state: State,
) -> tuple[dict[str, dict[str, str]], list[Problem]]:
    """Give every requested name an IPv4 and an IPv6; update the state's records.

    `reserved` maps addresses used elsewhere in the config (standard nameservers) to
    their owner. Returns name → {"ipv4": ..., "ipv6": ...} and the problems found.
    """
    problems: list[Problem] = []
    wanted = {req.name for req in requests}
    # Names gone from the config release their addresses (kept aside, not reused first).
    for name in list(state.addresses):
        if name not in wanted:
            state.released[name] = state.addresses.pop(name)
    result: dict[str, dict[str, str]] = {req.name: {} for req in requests}
    for family in FAMILIES:
        owner: dict[str, str] = dict(reserved)  # address → the name holding it
        pinned: list[tuple[AddressRequest, str]] = []
        for req in requests:
            pin = getattr(req, family)
            if pin is None:
                continue
            normal = str(ipaddress.ip_address(pin))
            if normal in owner:
                problems.append(req.problem(family, f"{family} {normal} is pinned to "
                                            f"{req.name} but already belongs to "
                                            f"{owner[normal]}; every name needs its own "
                                            "address"))
                continue
            owner[normal] = req.name
            pinned.append((req, normal))
        for req, addr in pinned:
            holder = next((n for n, rec in state.addresses.items()
                           if rec.get(family) == addr and n != req.name), None)
            if holder is not None and getattr(_request(requests, holder), family) is None:
                problems.append(req.problem(family, f"{family} {addr} is pinned to {req.name} "
                                            f"but was assigned to {holder} earlier (state "
                                            f"file {state.path}); pin {holder} to it or "
                                            "choose another address"))
                continue
            result[req.name][family] = addr
        released = {rec.get(family) for n, rec in state.released.items() if n not in wanted}
        draw(requests, family, Pool(pools.get(family, ())), owner,
             (state.addresses, state.released), released, result, problems)
    if not problems:
        for name, rec in result.items():
            state.addresses[name] = {f: rec.get(f) for f in FAMILIES}
            state.released.pop(name, None)
        taken = {a for rec in result.values() for a in rec.values()}
        for name in list(state.released):
            if set(state.released[name].values()) <= taken:
                del state.released[name]  # handed out again: nothing left to keep aside
    return result, problems


class Owner(Protocol):
    """The addresses held (address → holder), as draw reads and adds to them."""

    def __contains__(self, address: object) -> bool: ...

    def __setitem__(self, address: str, name: str) -> None: ...


class Kept(Protocol):
    """The addresses released names keep aside, as draw reads them."""

    def __contains__(self, address: object) -> bool: ...

    def __iter__(self) -> Iterator[str | None]: ...


def draw(requests: Sequence[AddressRequest], family: str, pool: Pool, owner: Owner,
         previous: Sequence[Mapping[str, Mapping[str, str | None]]],
         released: Kept, result: dict[str, dict[str, str]],
         problems: list[Problem], start: int = 0) -> int:
    """Give each request that has no pin and no `family` address in `result` yet one: the
    address it held before (`previous`: the recorded, then the released assignments) when
    nobody holds it now, else the first host of `pool` from `start` that nobody holds and
    no released name keeps aside (`released`), else the first such kept aside. Returns
    where the never-used hosts stopped (the next draw may start there: every host before
    it is held or kept aside)."""
    for records in previous:
        for req in requests:
            if family in result[req.name] or getattr(req, family) is not None:
                continue
            before = records.get(req.name, {}).get(family)
            if before and before not in owner:
                owner[before] = req.name
                result[req.name][family] = before
    cursor = start
    reuse: list[int] | None = None  # positions of the hosts kept aside, worked out once needed
    for req in requests:
        if family in result[req.name] or getattr(req, family) is not None:
            continue
        if not pool:
            problems.append(req.problem(family, f"{req.name} needs an {family} address: "
                                        f"pin one ({family}: ...) or add "
                                        f"server.address_pools.{family}"))
            continue
        addr = None
        while addr is None and cursor < pool.size:
            host = pool[cursor]
            cursor += 1
            if host not in released and host not in owner:
                addr = host
        if addr is None:
            if reuse is None:
                reuse = sorted({i for a in released if a and (i := pool.index(a)) is not None},
                               reverse=True)
            while addr is None and reuse:
                host = pool[reuse.pop()]
                if host not in owner:
                    addr = host
        if addr is None:
            problems.append(req.problem(family, f"the {family} address pool ({pool}) is "
                                        f"exhausted: no address left for {req.name}"))
            continue
        owner[addr] = req.name
        result[req.name][family] = addr
    return cursor


def _request(requests: Sequence[AddressRequest], name: str) -> AddressRequest:
    return next(r for r in requests if r.name == name)
