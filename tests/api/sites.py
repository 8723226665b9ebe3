"""A small two-account site for the API tests that need no daemon (auth, concurrency)."""

from __future__ import annotations

from pathlib import Path

from apikit import ACCOUNT_A, ACCOUNT_B, ZONE_TEXT, make_site

CONFIG = """\
# a two-account site; comments survive API changes
server:
  listen: ["127.0.0.1:53"]
  standard_nameservers:
    - {{name: ns1.acnsd.test, ipv4: 127.53.0.1}}
    - {{name: ns2.acnsd.test, ipv4: 127.53.0.2}}
  address_pools: {{ipv4: ["127.54.0.0/16"], ipv6: ["fd00:54::/64"]}}
  zones_dir: zones
accounts:
  - id: {a}
    name: Acme
    custom_nameservers:
      - {{ns_name: ns1.acme.test, ns_set: 1}}
      - {{ns_name: ns2.acme.test, ns_set: 1}}
    zones:
      - name: acme.test
  - id: {b}
    name: Other
    custom_nameservers:
      - {{ns_name: ns1.other.test, ns_set: 1}}
      - {{ns_name: ns2.other.test, ns_set: 1}}
    zones:
      - name: other.test
        dns_settings: {{nameservers: {{type: custom.account}}}}
"""


def two_accounts(directory: Path) -> Path:
    return make_site(directory, CONFIG.format(a=ACCOUNT_A, b=ACCOUNT_B),
                     {"acme.test": ZONE_TEXT, "other.test": ZONE_TEXT})
