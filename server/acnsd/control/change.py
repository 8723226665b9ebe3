"""The changes the control plane checks one at a time, and the verdict on each.

Rule owned here: a Change is one edit of the configuration as the management API makes
it, or a zone file found changed. Each carries the new value of what it edits exactly as
the YAML will hold it (a JSON value, unchecked: the schema reads it, as `acnsd check`
would), so the scoped check and a full load() of the edited configuration judge the same
thing. A Verdict either refuses the change (`problems`, in load()'s words, with file,
line, YAML path, rule and the accounts they concern) or says what it decided and which
zones must be built again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import Problem
from ..model.types import Account, NameAddress, ResolvedZone, ZoneConfig

__all__ = [
    "Change",
    "NameserverAdded",
    "NameserverRemoved",
    "Verdict",
    "VanityNamesChanged",
    "ZoneCreated",
    "ZoneDefaultsChanged",
    "ZoneDeleted",
    "ZoneFileChanged",
    "ZoneSettingsChanged",
]


@dataclass(frozen=True)
class NameserverAdded:
    """POST /accounts/{account}/custom_ns: `{ns_name, ns_set}` appended to the account's
    custom_nameservers."""

    account: str
    ns_name: Any
    ns_set: Any = 1


@dataclass(frozen=True)
class NameserverRemoved:
    """DELETE /accounts/{account}/custom_ns/{ns_name}: the entries of that name leave the
    account's custom_nameservers."""

    account: str
    ns_name: str


@dataclass(frozen=True)
class ZoneDefaultsChanged:
    """PATCH /accounts/{account}/dns_settings: the account's dns_settings.zone_defaults
    becomes `zone_defaults` (None: removed)."""

    account: str
    zone_defaults: Any


@dataclass(frozen=True)
class ZoneCreated:
    """POST /zones: `{name}` appended to the account's zones. Its zone file (the API's
    empty template) is written before the check, which reads it."""

    account: str
    name: Any


@dataclass(frozen=True)
class ZoneDeleted:
    """DELETE /zones/{id}: the zone's entry leaves its account's list, and what it received
    from the zone defaults is forgotten (its serial is not: R10)."""

    zone: str


@dataclass(frozen=True)
class ZoneSettingsChanged:
    """PATCH /zones/{id}/dns_settings: the zone's dns_settings becomes `dns_settings`
    (None: removed)."""

    zone: str
    dns_settings: Any


@dataclass(frozen=True)
class VanityNamesChanged:
    """PATCH /zones/{id}: the zone's vanity_name_servers become `names` (None or empty:
    removed)."""

    zone: str
    names: Any


@dataclass(frozen=True)
class ZoneFileChanged:
    """The zone's zone file changed on disk (a reload found it changed)."""

    zone: str


Change = (NameserverAdded | NameserverRemoved | ZoneDefaultsChanged | ZoneCreated
          | ZoneDeleted | ZoneSettingsChanged | VanityNamesChanged | ZoneFileChanged)


@dataclass(frozen=True)
class Verdict:
    """A change refused (`problems`) or accepted, with what it decided.

    Accepted, it holds every value the change makes differ from before: the account's new
    configuration (None: unchanged); each zone whose resolution changed, as resolved now
    (None: deleted), with its configuration when that changed; each name whose addresses or
    providing zone changed (None: no longer addressed); the decisions to record: what new
    zones received from the zone defaults (R6; None: forgotten), the addresses handed out
    and those now kept aside (R7; None: no longer kept); and `rebuild`, the zones whose
    served content (ZonePlan) must be built again: the zone itself, the zones a set's names
    reach, and the zones that gain or lose a name's A/AAAA (R8)."""

    problems: tuple[Problem, ...] = ()
    warnings: tuple[Problem, ...] = ()
    account: Account | None = None
    zones: Mapping[str, ResolvedZone | None] = field(default_factory=dict)
    configs: Mapping[str, ZoneConfig] = field(default_factory=dict)
    addresses: Mapping[str, NameAddress | None] = field(default_factory=dict)
    recorded: Mapping[str, dict[str, Any] | None] = field(default_factory=dict)
    assigned: Mapping[str, dict[str, str] | None] = field(default_factory=dict)
    released: Mapping[str, dict[str, str] | None] = field(default_factory=dict)
    rebuild: frozenset[str] = frozenset()
    cursors: Mapping[str, int] = field(default_factory=dict)  # R7: where never-used hosts start
    records: Mapping[str, int] = field(default_factory=dict)  # records of the zone files read

    @property
    def accepted(self) -> bool:
        return not self.problems
