"""A Change's YAML edit (control/edits.py) changes its own entry only, also when entries
share a mapping or a list through a YAML alias (an anchor the operator named, or one
PyYAML's dumper made: `&id001`, which ruamel.yaml does not keep as a name)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from acnsd.control.change import (
    NameserverAdded,
    NameserverRemoved,
    ZoneDefaultsChanged,
    ZoneSettingsChanged,
)
from acnsd.control.document import Document
from acnsd.control.edits import account_node, edit_account, edit_zones

ANCHORS = ["shared", "id001"]

ZONES = """\
- name: a.test
  dns_settings:
    ns_ttl: 300
    soa: &ANCHOR  # the same for both
      ttl: 300
      min_ttl: 60
- name: b.test
  dns_settings:
    soa: *ANCHOR
"""

ACCOUNTS = """\
accounts:
- id: one
  custom_nameservers: &ANCHOR
  - ns_name: ns1.vanity.test
  - ns_name: ns2.vanity.test
  dns_settings: &settings
    zone_defaults:
      ns_ttl: 600
- id: two
  custom_nameservers: *ANCHOR
  dns_settings: *settings
"""


def _edited(text: str, make: Any) -> Any:
    return yaml.safe_load(Document(Path("edited.yaml"), text).edit(make))


@pytest.mark.parametrize("anchor", ANCHORS)
@pytest.mark.parametrize("zone", [0, 1])
def test_zone_settings_changed_leave_the_zone_sharing_them(anchor: str, zone: int) -> None:
    text = ZONES.replace("ANCHOR", anchor)
    before = yaml.safe_load(text)
    name = before[zone]["name"]
    after = _edited(text, lambda doc: edit_zones(
        doc, ZoneSettingsChanged(name, {"soa": {"ttl": 300, "rname": None}})))
    assert after[zone]["dns_settings"] == {"soa": {"ttl": 300, "rname": None}}
    assert after[1 - zone] == before[1 - zone]


@pytest.mark.parametrize("anchor", ANCHORS)
@pytest.mark.parametrize("change", [
    NameserverAdded("two", "ns3.vanity.test", 1),
    NameserverRemoved("two", "ns1.vanity.test"),
    ZoneDefaultsChanged("two", {"ns_ttl": 900}),
    ZoneDefaultsChanged("two", None),
], ids=repr)
def test_account_changes_leave_the_account_sharing_its_values(anchor: str, change: Any) -> None:
    text = ACCOUNTS.replace("ANCHOR", anchor)
    before = yaml.safe_load(text)
    after = _edited(text, lambda doc: edit_account(account_node(doc, "two"), change))
    assert after["accounts"][0] == before["accounts"][0]
    assert after["accounts"][1] != before["accounts"][1]
