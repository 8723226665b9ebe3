"""An operator's edit of one YAML file of the directory layout, as the one Change the
management API would have made (issue 16: a YAML edit + reload costs what it changes).

Rule owned here: a reload that finds exactly one file of an account's directory changed
reads that file alone and says which Change turns the configuration as accepted (the
index) into the configuration on disk: a zone's `dns_settings` or `vanity_name_servers`
changed, a zone added in a file of its own named after it (as the API writes it), an
account's zone defaults changed, or one custom nameserver appended or removed. Anything
else — several changes, a renamed account, a nameserver with pinned addresses, a zone's
`file:` key, entries moved, acnsd.yaml itself, and a zone removed (the API's ZoneDeleted
forgets what the zone received from the zone defaults, a whole load keeps it) — is None:
the reload loads the configuration whole, as before. So a Change found here is exactly the edit on
disk, and its verdict over the index is load()'s (the scoped checks' oracle tests hold
that for every Change).
"""

from __future__ import annotations

import dataclasses
from pathlib import PurePath
from typing import Any

from ..errors import Problem
from ..model.schema import read_account_file, read_zone_list
from ..model.tree import MAIN, SUFFIX, ZONES, account_file, zone_file, zone_file_stem
from ..model.types import ZoneConfig
from ..model.yamlsrc import parse
from .change import (
    Change,
    NameserverAdded,
    NameserverRemoved,
    VanityNamesChanged,
    ZoneCreated,
    ZoneDefaultsChanged,
    ZoneSettingsChanged,
)
from .index import ModelIndex
from .sources import Directory, Scan

__all__ = ["as_change"]


def as_change(sources: Directory, index: ModelIndex, scan: Scan) -> Change | None:
    """The one Change the scan's changed YAML file makes (module doc), or None."""
    if len(scan.changed) != 1:
        return None
    (name, found), = scan.changed.items()
    if name == MAIN:
        return None
    parts = PurePath(name).relative_to(PurePath(sources.accounts_dir)).parts
    account = parts[0]
    text = None if found is None else found[0].decode("utf-8")
    if parts == (account, ZONES, parts[-1]):
        return _zone_list_change(sources, index, name, account, text)
    if name == account_file(sources.accounts_dir, account) and text is not None:
        return _account_change(sources, index, name, account, text)
    return None


def _ignore(path: str, message: str, rule: str | None) -> Problem:
    return Problem(message)


def _zone_list_change(sources: Directory, index: ModelIndex, name: str, account: str,
                      text: str | None) -> Change | None:
    """The Change of a zone list file (None: removed) of `account`."""
    if index.account(account) is None:
        return None
    before = {zone: entry.config for zone in sources.zones_in(name)
              if (entry := index.zone(zone)) is not None}
    value: Any = []
    if text is not None:
        value = parse(text, str(sources.path(name)), ZONES).value
        if not isinstance(value, list):
            return None
    zones, problems = read_zone_list(value, name, ZONES, sources.zones_dir, _ignore)
    if problems or len(zones) != len(value):
        return None
    after = {zone.name: zone for zone in zones}
    if len(after) != len(zones):
        return None
    added, removed = after.keys() - before.keys(), before.keys() - after.keys()
    kept = [zone for zone in before if zone in after]
    if [z.name for z in zones if z.name in before] != kept:
        return None  # entries moved
    if added and not (removed or before) and len(zones) == 1:
        entry = value[0]
        if (set(entry) == {"name"} and name == zone_file(
                sources.accounts_dir, account, zone_file_stem(entry["name"]) + SUFFIX)):
            return ZoneCreated(account, entry["name"])
        return None
    if added or removed:
        return None
    changed = [i for i, zone in enumerate(zones) if not _same(before[zone.name], zone)]
    if len(changed) != 1:
        return None
    i = changed[0]
    old, new, entry = before[zones[i].name], zones[i], value[i]
    if old.file != new.file:
        return None
    if old.dns_settings != new.dns_settings and old.vanity_name_servers == (
            new.vanity_name_servers):
        return ZoneSettingsChanged(new.name, entry.get("dns_settings"))
    if old.dns_settings == new.dns_settings:
        return VanityNamesChanged(new.name, entry.get("vanity_name_servers"))
    return None


def _same(old: ZoneConfig, new: ZoneConfig) -> bool:
    """The same entry, wherever in the list it is."""
    return dataclasses.replace(old, at="") == dataclasses.replace(new, at="")


def _account_change(sources: Directory, index: ModelIndex, name: str, account: str,
                    text: str) -> Change | None:
    """The Change of `account`'s account.yaml."""
    entry = index.account(account)
    value = parse(text, str(sources.path(name)), "").value
    if entry is None or not isinstance(value, dict):
        return None
    new, problems = read_account_file(value, "", account, _ignore)
    if new is None or problems:
        return None
    old = entry.account
    if new.name != old.name:
        return None
    names_old = [_bare(ns) for ns in old.custom_nameservers]
    names_new = [_bare(ns) for ns in new.custom_nameservers]
    if new.zone_defaults != old.zone_defaults:
        if names_old != names_new:
            return None
        settings = value.get("dns_settings")
        return ZoneDefaultsChanged(account, settings.get("zone_defaults")
                                   if isinstance(settings, dict) else None)
    if names_new[:-1] == names_old and names_new:
        added = new.custom_nameservers[-1]
        if added.ipv4 is None and added.ipv6 is None:
            raw = value["custom_nameservers"][-1]
            return NameserverAdded(account, raw["ns_name"], raw.get("ns_set", 1))
        return None
    gone = {ns[0] for ns in names_old} - {ns[0] for ns in names_new}
    if len(gone) == 1:
        ns_name = gone.pop()
        if [ns for ns in names_old if ns[0] != ns_name] == names_new:
            return NameserverRemoved(account, ns_name)
    return None


def _bare(ns: Any) -> tuple[str, int, str | None, str | None]:
    return ns.ns_name, ns.ns_set, ns.ipv4, ns.ipv6

