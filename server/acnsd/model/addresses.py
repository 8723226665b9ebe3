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
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from ..errors import Problem
from .state import State

__all__ = ["AddressRequest", "assign_addresses"]

FAMILIES = ("ipv4", "ipv6")


@dataclass(frozen=True)
class AddressRequest:
    """A name that needs addresses, with its pins and where it is configured."""

    name: str
    ipv4: str | None
    ipv6: str | None
    problem: object  # callable(path_suffix, message) -> Problem, locating the name


def _hosts(pools: Sequence[ipaddress.IPv4Network | ipaddress.IPv6Network]) -> Iterator[str]:
    for net in pools:
        for addr in net.hosts() if net.num_addresses > 2 else net:
            yield str(addr)


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
        # Recorded assignments keep their address; then a returning name gets its
        # released address back when it is still free.
        for records in (state.addresses, state.released):
            for req in requests:
                if family in result[req.name] or getattr(req, family) is not None:
                    continue
                previous = records.get(req.name, {}).get(family)
                if previous and previous not in owner:
                    owner[previous] = req.name
                    result[req.name][family] = previous
        released = {rec.get(family) for n, rec in state.released.items() if n not in wanted}
        fresh = (a for a in _hosts(pools.get(family, ())) if a not in released)
        reused = (a for a in _hosts(pools.get(family, ())) if a in released)
        for req in requests:
            if family in result[req.name] or getattr(req, family) is not None:
                continue
            if not pools.get(family):
                problems.append(req.problem(family, f"{req.name} needs an {family} address: "
                                            f"pin one ({family}: ...) or add "
                                            f"server.address_pools.{family}"))
                continue
            addr = next((a for a in fresh if a not in owner), None)
            if addr is None:
                addr = next((a for a in reused if a not in owner), None)
            if addr is None:
                pool_text = ", ".join(str(p) for p in pools[family])
                problems.append(req.problem(family, f"the {family} address pool ({pool_text}) "
                                            f"is exhausted: no address left for {req.name}"))
                continue
            owner[addr] = req.name
            result[req.name][family] = addr
    if not problems:
        for name, rec in result.items():
            state.addresses[name] = {f: rec.get(f) for f in FAMILIES}
            state.released.pop(name, None)
        taken = {a for rec in result.values() for a in rec.values()}
        for name in list(state.released):
            if set(state.released[name].values()) <= taken:
                del state.released[name]  # handed out again: nothing left to keep aside
    return result, problems


def _request(requests: Sequence[AddressRequest], name: str) -> AddressRequest:
    return next(r for r in requests if r.name == name)
