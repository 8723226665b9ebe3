"""Who may transfer (`server.allow_transfer`), as Knot DNS and NSD decide: deny by default.

The rule owned here: a rule matches a client when its address is in the rule's prefix and
the query was signed with the rule's key (a rule without a key: unsigned). A client that
some rule's prefix holds but no rule matches used the wrong key or none: NOTAUTH. A client
outside every prefix: REFUSED. No rule at all: every transfer is REFUSED.
"""

from __future__ import annotations

import enum
import ipaddress
from collections.abc import Sequence

from ..model.types import TransferRule

__all__ = ["Verdict", "decide"]


class Verdict(enum.Enum):
    ALLOWED = "allowed"
    NOTAUTH = "bad_key"  # in a prefix, with the wrong key or none
    REFUSED = "refused"  # outside every prefix


def decide(rules: Sequence[TransferRule], address: str, key: str | None) -> Verdict:
    """The verdict for a client at `address` whose query was signed with `key` (verified;
    None: unsigned)."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return Verdict.REFUSED
    if ip.version == 6 and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    verdict = Verdict.REFUSED
    for rule in rules:
        if ip.version == rule.prefix.version and ip in rule.prefix:
            if rule.key == key:
                return Verdict.ALLOWED
            verdict = Verdict.NOTAUTH
    return verdict
