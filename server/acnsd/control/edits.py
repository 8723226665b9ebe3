"""A Change made to the round-trip YAML of an account or of a list of zones.

Rule owned here: a change touches only the values it changes. A value set to what it
already is keeps its node (and the comments on it); a mapping given anew keeps the keys
it still has in place, drops the others and appends the new ones; a new list item is in
flow style when the list's last item is. A mapping or list changed in place is first
replaced by a copy of itself (comments kept), so that an entry that refers to it through a
YAML alias (`*id001`) keeps the value it had. The account's node is its entry of `accounts`
(the single file layout) or its account.yaml (the directory layout); the zones' list is
its account's `zones` or a zone file's list. The same functions serve both layouts, so a
change reads the same in either.
"""

from __future__ import annotations

import copy
from typing import Any

from ruamel.yaml.comments import Anchor, Comment, CommentedMap, CommentedSeq

from ..model.names import normalize
from .change import (
    Change,
    NameserverAdded,
    NameserverRemoved,
    VanityNamesChanged,
    ZoneCreated,
    ZoneDefaultsChanged,
    ZoneDeleted,
    ZoneSettingsChanged,
)
from .document import to_yaml

__all__ = ["Unwritable", "account_node", "edit_account", "edit_zones", "zone_at"]

ACCOUNT_CHANGES = (NameserverAdded, NameserverRemoved, ZoneDefaultsChanged)


class Unwritable(ValueError):
    """The file does not have the shape the change needs (it was edited by hand since)."""


def account_node(document: Any, account_id: str) -> Any:
    """The entry of account `account_id` in a single file's document (LookupError)."""
    for node in _list(document, "accounts"):
        if isinstance(node, dict) and str(node.get("id")) == account_id:
            return node
    raise LookupError(f"account {account_id} is not configured")


def zone_at(zones: Any, name: str) -> int | None:
    """The index of zone `name` in a list of zone entries, if it is there."""
    for i, zone in enumerate(zones if isinstance(zones, list) else ()):
        if isinstance(zone, dict) and normalize(str(zone.get("name", ""))) == name:
            return i
    return None


def edit_account(node: Any, change: Change) -> None:
    """Make an account-level change (ACCOUNT_CHANGES) to the account's node."""
    match change:
        case NameserverAdded():
            names = _child(node, "custom_nameservers", list)
            names.append(_styled({"ns_name": change.ns_name, "ns_set": change.ns_set}, names))
        case NameserverRemoved():
            names = _own(node, "custom_nameservers") or []
            for i in reversed(range(len(names))):
                if (isinstance(names[i], dict)
                        and normalize(str(names[i].get("ns_name"))) == change.ns_name):
                    del names[i]
        case ZoneDefaultsChanged():
            if change.zone_defaults is None:
                settings = _own(node, "dns_settings")
                if isinstance(settings, dict):
                    settings.pop("zone_defaults", None)
            else:
                assign(_child(node, "dns_settings", dict), "zone_defaults",
                       change.zone_defaults)
        case _:
            raise TypeError(f"not an account change: {change!r}")


def edit_zones(zones: Any, change: Change) -> None:
    """Make a zone change to the list of zone entries holding the zone (a new zone: the
    list it is appended to); LookupError when the zone is not in the list."""
    if not isinstance(zones, list):
        raise Unwritable("the zones are not a list")
    if isinstance(change, ZoneCreated):
        zones.append(_styled({"name": change.name}, zones))
        return
    i = zone_at(zones, change.zone)  # type: ignore[union-attr]
    if i is None:
        raise LookupError(f"zone {change.zone} is not configured")  # type: ignore[union-attr]
    match change:
        case ZoneDeleted():
            del zones[i]
        case ZoneSettingsChanged():
            _set(zones[i], "dns_settings", change.dns_settings)
        case VanityNamesChanged():
            _set(zones[i], "vanity_name_servers", change.names or None)
        case _:
            raise TypeError(f"not a zone change: {change!r}")


def zones_node(node: Any) -> Any:
    """An account's `zones` list, made when it has none (not copied: no two accounts can
    share one, their zones would be configured twice)."""
    return _child(node, "zones", list, own=False)


def assign(node: Any, key: Any, value: Any) -> None:
    """`node[key] = value` (a JSON value), keeping what it has of it already."""
    current = node.get(key) if isinstance(node, dict) else node[key]
    if isinstance(current, dict) and isinstance(value, dict):
        current = _own(node, key)
        for gone in [k for k in current if k not in value]:
            del current[gone]
        for k, v in value.items():
            if k in current:
                assign(current, k, v)
            else:
                current[k] = to_yaml(v)
    elif not _same(current, value):
        node[key] = to_yaml(value)


def _set(node: Any, key: str, value: Any) -> None:
    """assign, or remove the key when `value` is None."""
    if value is None:
        node.pop(key, None)
    elif key in node:
        assign(node, key, value)
    else:
        node[key] = to_yaml(value)


def _same(current: Any, value: Any) -> bool:
    """Whether a YAML value reads as the JSON value `value` (1 is neither true nor 1.0);
    a mapping is never the same (assign merges it)."""
    if isinstance(current, list) and isinstance(value, list):
        return len(current) == len(value) and all(map(_same, current, value))
    if isinstance(current, dict | list) or isinstance(value, dict | list):
        return False
    return current == value and _scalar(current) is _scalar(value)


def _scalar(value: Any) -> type:
    return next((kind for kind in (bool, int, float, str) if isinstance(value, kind)),
                type(value))


def _child(node: Any, key: str, kind: type, own: bool = True) -> Any:
    """`node[key]`, created empty (a mapping or a list) when absent or null; `own`: to be
    changed in place (`_own`)."""
    value = node.get(key)
    if value is None:
        value = to_yaml(kind())
        node[key] = value
    if not isinstance(value, kind):
        raise Unwritable(f"{key} in the configuration is not a "
                         f"{'mapping' if kind is dict else 'list'}")
    return _own(node, key) if own else value


def _own(node: Any, key: Any) -> Any:
    """`node[key]` (None when absent), to be changed in place: a mapping or list is
    replaced by a copy of it with its comments and format, without its anchor, so that the
    entries sharing it through an alias keep the value they read."""
    value = node.get(key) if isinstance(node, dict) else node[key]
    if not isinstance(value, CommentedMap | CommentedSeq):
        return value
    mine = CommentedMap(value.items()) if isinstance(value, CommentedMap) else CommentedSeq(value)
    value.copy_attributes(mine)
    setattr(mine, Comment.attrib, copy.deepcopy(value.ca))
    setattr(mine, Anchor.attrib, Anchor())
    node[key] = mine
    return mine


def _list(node: Any, key: str) -> list:
    value = node.get(key) if isinstance(node, dict) else None
    return value if isinstance(value, list) else []


def _styled(value: dict[str, Any], siblings: Any) -> Any:
    """A new list item, in flow style when the list's last item is in flow style."""
    node = to_yaml(value)
    if siblings and getattr(siblings[-1], "fa", None) is not None and siblings[-1].fa.flow_style():
        node.fa.set_flow_style()
    return node
