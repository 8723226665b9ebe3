"""Rule R11 (tenants): one account never holds names in another account's part of the tree.

- A zone may exist only where no served zone of *another* account is its parent or child
  (any ancestor or descendant) or has its very name.
- An ACNS name may exist only if its providing zone (the longest served zone whose name is
  a suffix of it, itself included), when served here, belongs to the same account.

Each breach is one problem, located at the newcomer: the zone the state file has not yet
recorded for its account, or the name that has no addresses yet; when both sides are
new or both old, at the one later in the file. The operator's message names both sides;
the message an account's API clients see (`tenant_message`) names neither the other
account nor its zones or names.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Callable
from itertools import combinations
from typing import NamedTuple

from ..errors import Problem
from .assign import ancestors
from .state import State
from .types import Account

__all__ = ["Held", "breach", "check_tenants", "not_here"]

Locate = Callable[[str, str, str | None], Problem]  # (path, message, rule) -> Problem

ZONE_RULE = "a zone may be created only where no zone of another account is its parent or child"
NAME_RULE = ("a nameserver name may be added only if the zone that provides it, when served "
             "here, belongs to the same account")


def not_here(what: str, name: str) -> str:
    """What an account is told when R11 refuses its zone or nameserver name `name`."""
    return (f"{what} {name} cannot be {'created' if what == 'zone' else 'added'}: the name is "
            "in a part of the DNS tree held by another account")


class Held(NamedTuple):
    """A zone or an ACNS name of one account, as R11 sees it."""

    is_zone: bool
    name: str
    account: str
    order: int  # the account's position in the file
    path: str  # YAML path of its name
    known: bool  # recorded in the state file already (a zone: under this account)

    @property
    def what(self) -> str:
        return "zone" if self.is_zone else "nameserver name"


def check_tenants(accounts: tuple[Account, ...], state: State,
                  locate: Locate) -> list[Problem]:
    """R11 over the whole configuration: every zone against its ancestors and namesakes
    in other accounts, every ACNS name against its providing zone."""
    zones: dict[str, list[Held]] = defaultdict(list)
    names: list[Held] = []
    for order, account in enumerate(accounts):
        for zone in account.zones:
            recorded = state.zones.get(zone.name) or {}
            zones[zone.name].append(Held(True, zone.name, account.id, order,
                                          f"{zone.path}.name",
                                          recorded.get("account") == account.id))
        for ns in account.custom_nameservers:
            names.append(Held(False, ns.ns_name, account.id, order, f"{ns.path}.ns_name",
                               ns.ns_name in state.addresses))
    pairs: list[tuple[Held, Held]] = []
    for name, held in zones.items():
        if len(held) > 1:  # one name in several accounts
            pairs += combinations(held, 2)
        for parent in ancestors(name):
            if parent in zones:
                pairs += ((above, zone) for above in zones[parent] for zone in held)
    for name in names:
        provider = next((zones[n] for n in (name.name, *ancestors(name.name)) if n in zones),
                        ())
        pairs += ((zone, name) for zone in provider)
    return [breach(a, b, locate) for a, b in pairs if a.account != b.account]


def breach(a: Held, b: Held, locate: Locate) -> Problem:
    """The breach of R11 between `a` and `b`, located at the newcomer."""
    if a.known != b.known:
        new, old = (b, a) if a.known else (a, b)
    else:
        new, old = (a, b) if a.order > b.order else (b, a)
    if new.is_zone and old.is_zone:
        relation = ("has the same name as" if new.name == old.name else
                    "is inside" if new.name.endswith("." + old.name) else "contains")
    elif new.is_zone:
        relation = "would provide"
    else:
        relation = "is in"
    message = (f"{new.what} {new.name} of account {new.account} {relation} {old.what} "
               f"{old.name} of account {old.account} ({old.path}); "
               f"{ZONE_RULE if new.is_zone and old.is_zone else NAME_RULE}")
    return dataclasses.replace(locate(new.path, message, "R11"),
                               accounts=(new.account, old.account),
                               tenant_message=not_here(new.what, new.name))
