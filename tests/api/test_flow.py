"""The documentation's ACNS flow over real HTTP, against the API of `acnsd serve`.

Create names in sets 1 and 2 and see their addresses in `dns_records`; put a zone on set
2 with PATCH dns_settings and see its NS and the names' A/AAAA answered from set 2, also
on the set-2 names' own new addresses (bound live); set the account's zone defaults to
custom.account and see a new zone land on set 1, or on set 2 when its parent holds set
1; delete a name and see the refusal naming the zones; give a zone its own vanity
nameservers (custom.zone).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from acnsd.model.types import zone_id
from apikit import (
    ACCOUNT_A,
    ACCOUNT_B,
    ZONE_TEXT,
    addresses,
    make_site,
    ns_names,
    refused,
    start_daemon,
    wait_until,
)
from tooling import unused_port

CONFIG = """\
# acnsd API flow test: this comment must survive every change.
server:
  listen: ["127.0.0.1:{port}"]
  serve_assigned_addresses: true   # each name is also answered on its own address
  port: {port}
  standard_nameservers:
    - {{name: ns1.acnsd.test, ipv4: 127.53.0.1}}
    - {{name: ns2.acnsd.test, ipv4: 127.53.0.2}}
  address_pools: {{ipv4: ["127.54.0.0/24"], ipv6: ["fd00:54::/64"]}}
  zones_dir: zones
  api: {{listen: "127.0.0.1:0", tokens_file: tokens.yaml}}
accounts:
  - id: {a}
    name: Acme                     # the account of the documentation's flow
    zones:
      - name: example.com          # provides the names ns1..ns4.example.com (R8)
      - name: shop.example.com     # moved onto set 2 below
  - id: {b}
    name: Other
    zones:
      - name: other.org
"""


@pytest.fixture(scope="module")
def flow(tmp_path_factory: pytest.TempPathFactory):
    directory = tmp_path_factory.mktemp("flow")
    port = unused_port()
    config = make_site(directory, CONFIG.format(port=port, a=ACCOUNT_A, b=ACCOUNT_B),
                       {"example.com": ZONE_TEXT, "shop.example.com": ZONE_TEXT,
                        "other.org": ZONE_TEXT})
    daemon = start_daemon(config, port)
    try:
        yield config, daemon, daemon.api()
    finally:
        daemon.stop()


def test_documentation_flow(flow) -> None:
    config, daemon, client = flow
    base = f"/accounts/{ACCOUNT_A}/custom_ns"
    created = {}
    for name, ns_set in (("ns1.example.com", None), ("ns2.example.com", 1),
                         ("ns3.example.com", 2), ("ns4.example.com", 2)):
        body = {"ns_name": name} if ns_set is None else {"ns_name": name, "ns_set": ns_set}
        result = client.ok("POST", base, body)
        assert result["ns_name"] == name
        assert result["ns_set"] == (ns_set or 1)  # omitted → set 1
        assert [r["type"] for r in result["dns_records"]] == ["A", "AAAA"]
        # pending until a delegation check finds its A/AAAA and glue (verify/)
        assert result["status"] == "pending"
        assert result["verification"]["evidence"] == ["not checked yet"]
        assert result["zone_tag"] == zone_id("example.com")
        created[name] = sorted(r["value"] for r in result["dns_records"])
    listed = client.ok("GET", base)
    assert {e["ns_name"]: sorted(r["value"] for r in e["dns_records"]) for e in listed} == created

    shop = zone_id("shop.example.com")
    settings = client.ok("PATCH", f"/zones/{shop}/dns_settings",
                         {"nameservers": {"type": "custom.account", "ns_set": 2}})
    accepted = time.monotonic()
    assert settings["nameservers"] == {"type": "custom.account", "ns_set": 2}
    wanted = ["ns3.example.com", "ns4.example.com"]
    wait_until(lambda: ns_names(daemon.query("shop.example.com", "NS")) == wanted)
    print(f"zone on set 2 served {time.monotonic() - accepted:.3f} s after the 200")
    for name in wanted:  # the names' A and AAAA, served in example.com (R8)
        served = addresses(daemon.query(name, "A")) + addresses(daemon.query(name, "AAAA"))
        assert sorted(served) == created[name]
        own = next(a for a in created[name] if "." in a)  # the name's new IPv4 address
        assert ns_names(daemon.query("shop.example.com", "NS", address=own)) == wanted
    zone = client.ok("GET", f"/zones/{shop}")
    assert zone["name_servers"] == wanted
    assert zone["account"] == {"id": ACCOUNT_A, "name": "Acme"}

    # Zone defaults: a new zone takes set 1 ...
    defaults = client.ok("PATCH", f"/accounts/{ACCOUNT_A}/dns_settings",
                         {"zone_defaults": {"nameservers": {"type": "custom.account"}}})
    assert defaults["zone_defaults"]["nameservers"] == {"type": "custom.account"}
    new = client.ok("POST", "/zones", {"name": "new.test", "account": {"id": ACCOUNT_A}})
    assert new["name_servers"] == ["ns1.example.com", "ns2.example.com"]
    assert (Path(config).parent / "zones" / "new.test.zone").exists()
    # ... or set 2 when its parent holds set 1 (R5, R6).
    client.ok("PATCH", f"/zones/{zone_id('example.com')}/dns_settings",
              {"nameservers": {"type": "custom.account", "ns_set": 1}})
    child = client.ok("POST", "/zones", {"name": "child.example.com",
                                         "account": {"id": ACCOUNT_A}})
    assert child["name_servers"] == wanted
    got = client.ok("GET", f"/zones/{child['id']}/dns_settings")
    assert got["nameservers"] == {"type": "custom.account", "ns_set": 2}
    wait_until(lambda: ns_names(daemon.query("child.example.com", "NS")) == wanted)
    wait_until(lambda: ns_names(daemon.query("new.test", "NS")) == ["ns1.example.com",
                                                                     "ns2.example.com"])

    # Changing the defaults later moves no existing zone (R6).
    client.ok("PATCH", f"/accounts/{ACCOUNT_A}/dns_settings",
              {"zone_defaults": {"nameservers": {"type": "cloudflare.standard"}}})
    assert client.ok("GET", f"/zones/{new['id']}")["name_servers"] == ["ns1.example.com",
                                                                       "ns2.example.com"]

    # Deleting a name that would leave zones on an unavailable set is refused (R4).
    before = Path(config).read_bytes()
    status, envelope = client.call("DELETE", f"{base}/ns4.example.com")
    message = refused(status, envelope)
    assert status == 409
    assert "[R4]" in message and "shop.example.com" in message
    assert "child.example.com" in message
    assert Path(config).read_bytes() == before
    assert ns_names(daemon.query("shop.example.com", "NS")) == wanted

    # Once no zone uses set 2 a name can go; the operator's comments are still there.
    # (null removes shop's explicit setting: it never received defaults, so standard;
    # child.example.com keeps what it received at creation unless told otherwise.)
    client.ok("PATCH", f"/zones/{shop}/dns_settings", {"nameservers": None})
    client.ok("PATCH", f"/zones/{child['id']}/dns_settings",
              {"nameservers": {"type": "cloudflare.standard"}})
    assert client.ok("DELETE", f"{base}/ns4.example.com") == []
    text = Path(config).read_text()
    assert "# acnsd API flow test: this comment must survive every change." in text
    assert "# the account of the documentation's flow" in text
    assert "ns_name: ns4.example.com" not in text
    wait_until(lambda: not addresses(daemon.query("ns4.example.com", "A")))


def test_zone_custom_nameservers(flow) -> None:
    """custom.zone: names inside the zone, with addresses and A records of their own."""
    _, daemon, client = flow
    zone = zone_id("other.org")
    vanity = ["ns1.other.org", "ns2.other.org"]
    status, envelope = client.call("PATCH", f"/zones/{zone}/dns_settings",
                                   {"nameservers": {"type": "custom.zone"}})
    assert status == 400 and "vanity_name_servers" in refused(status, envelope)
    client.ok("PATCH", f"/zones/{zone}", {"vanity_name_servers": vanity})
    client.ok("PATCH", f"/zones/{zone}/dns_settings", {"nameservers": {"type": "custom.zone"}})
    got = client.ok("GET", f"/zones/{zone}")
    assert got["name_servers"] == got["vanity_name_servers"] == vanity
    ips = got["vanity_name_servers_ips"]
    wait_until(lambda: ns_names(daemon.query("other.org", "NS")) == vanity)
    for name in vanity:
        assert addresses(daemon.query(name, "A")) == [ips[name]["ipv4"]]
