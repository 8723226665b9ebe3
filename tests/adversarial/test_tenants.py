"""Issue 15, isolation between accounts: account A attacks account B through the API of a
real `acnsd serve` (loopback, port 0 for the API), with A's token.

- A zone in B's hierarchy, or an ACNS name in B's zone, is refused (R11, 409, 1011) in
  words that name neither B nor its zones, and B is served as before.
- A deleted zone's file is removed; a zone created later (by anyone) starts empty, with
  the zone defaults of a new zone and a serial above the one served before.
- A's refusals never quote B's files, nor any absolute server path.
- What A sends is what is stored, or a 400 with the envelope (never a 200 that writes
  something else, nor a 500).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import dns.rcode
import dns.rdatatype
import pytest
from acnsd.model.types import zone_id
from apikit import (
    ACCOUNT_A,
    ACCOUNT_B,
    TOKEN_A,
    TOKEN_ALL,
    TOKEN_B,
    ZONE_TEXT,
    addresses,
    make_site,
    ns_names,
    refused,
    snapshot,
    start_daemon,
)
from tooling import unused_port

CONFIG = """\
# issue 15: two accounts on one server
server:
  listen: ["127.0.0.1:{port}"]
  port: {port}
  standard_nameservers:
    - {{name: ns1.acnsd.test, ipv4: 127.53.0.1}}
    - {{name: ns2.acnsd.test, ipv4: 127.53.0.2}}
  address_pools: {{ipv4: ["127.54.0.0/24"], ipv6: ["fd00:54::/64"]}}
  zones_dir: zones
  api: {{listen: "127.0.0.1:0", tokens_file: tokens.yaml}}
accounts:
  - id: {a}
    name: Alpha
    custom_nameservers:
      - {{ns_name: ns1.alpha.com}}
      - {{ns_name: ns2.alpha.com}}
      - {{ns_name: ns1.charlie.net, ns_set: 2}}   # charlie.net is not served here
      - {{ns_name: ns2.charlie.net, ns_set: 2}}
    dns_settings:
      zone_defaults: {{nameservers: {{type: custom.account}}}}
    zones:
      - name: alpha.com
        dns_settings: {{nameservers: {{type: custom.account, ns_set: 1}}}}
      - name: shop.test
        dns_settings:
          nameservers: {{type: cloudflare.standard}}
  - id: {b}
    name: Bravo
    custom_nameservers:
      - {{ns_name: ns1.bravo.com}}
      - {{ns_name: ns2.bravo.com}}
    zones:
      - name: bravo.com
        dns_settings: {{nameservers: {{type: custom.account}}}}
"""

ELSEWHERE = "the name is in a part of the DNS tree held by another account"
# What must never reach account A about account B.
SECRETS = (ACCOUNT_B, "Bravo", "accounts[1]", "bravo.com.zone")
SERIAL_BEFORE = 4_000_000_000  # a serial served for fresh.test by an earlier zone


@pytest.fixture
def site(tmp_path: Path):
    port = unused_port()
    config = make_site(tmp_path, CONFIG.format(port=port, a=ACCOUNT_A, b=ACCOUNT_B),
                       {"alpha.com": ZONE_TEXT, "bravo.com": ZONE_TEXT, "shop.test": ZONE_TEXT,
                        "stale.test": "$TTL 300\nwww IN A 192.0.2.66\n"})  # no zone's
    state = {"version": 1, "serials": {"fresh.test": {"serial": SERIAL_BEFORE, "digest": "-"}}}
    (tmp_path / "acnsd.state.json").write_text(json.dumps(state))
    daemon = start_daemon(config, port)
    try:
        client = daemon.api()
        client.token = TOKEN_A
        yield tmp_path, daemon, client
    finally:
        daemon.stop()


def leaks(message: str, directory: Path) -> list[str]:
    return [s for s in (*SECRETS, str(directory)) if s in message]


def served(daemon) -> list[str]:
    """What the daemon answers about account B's names (and about names in its tree)."""
    out = []
    for qname, qtype in [("www.bravo.com", "A"), ("ns1.bravo.com", "A"),
                         ("ns1.bravo.com", "AAAA"), ("bravo.com", "NS"), ("com", "SOA")]:
        response = daemon.query(qname, qtype)
        out.append(f"{dns.rcode.to_text(response.rcode())} " + " ".join(
            r.to_text() for section in (response.answer, response.authority) for r in section))
    return out


def serial(daemon, zone: str) -> int:
    return daemon.query(zone, "SOA").answer[0][0].serial


@pytest.mark.parametrize("name", ["www.bravo.com", "ns1.bravo.com", "a.b.bravo.com",
                                  "bravo.com", "BRAVO.com.", "com"])
def test_zone_in_another_accounts_tree_is_refused(site, name) -> None:
    """Before: 200, and the deeper zone won (www.bravo.com answered from A's empty zone;
    a zone named ns1.bravo.com took B's nameserver A/AAAA away)."""
    directory, daemon, client = site
    files, answers = snapshot(directory), served(daemon)
    status, envelope = client.call("POST", "/zones", {"name": name,
                                                      "account": {"id": ACCOUNT_A}})
    message = refused(status, envelope)
    assert status == 409
    wanted = name.lower().rstrip(".")
    assert envelope["errors"] == [{"code": 1011, "message": f"[R11] zone {wanted} cannot be "
                                                            f"created: {ELSEWHERE}"}]
    assert not leaks(message, directory)
    assert snapshot(directory) == files
    assert served(daemon) == answers
    assert "192.0.2.2" in answers[0] and "127.54.0." in answers[1]


def test_the_operator_is_told_which_zones_clash(site) -> None:
    directory, _, client = site
    status, envelope = client.call("POST", "/zones", {"name": "www.bravo.com",
                                                      "account": {"id": ACCOUNT_A}},
                                   token=TOKEN_ALL)
    message = refused(status, envelope)
    assert status == 409 and "[R11]" in message
    assert ACCOUNT_B in message and "accounts[1].zones[0].name" in message
    assert str(directory) not in message


def test_only_ones_own_zone_is_said_to_exist(site) -> None:
    _, _, client = site
    status, envelope = client.call("POST", "/zones", {"name": "alpha.com",
                                                      "account": {"id": ACCOUNT_A}})
    assert status == 409
    assert envelope["errors"] == [{"code": 1061, "message": "zone alpha.com already exists"}]


def test_acns_name_in_another_accounts_zone_is_refused(site) -> None:
    """Before: 200, and ns9.bravo.com got addresses for A inside B's zone."""
    directory, daemon, client = site
    files, answers = snapshot(directory), served(daemon)
    status, envelope = client.call("POST", f"/accounts/{ACCOUNT_A}/custom_ns",
                                   {"ns_name": "ns9.bravo.com"})
    message = refused(status, envelope)
    assert status == 409
    assert envelope["errors"] == [{"code": 1011, "message": "[R11] nameserver name "
                                   f"ns9.bravo.com cannot be added: {ELSEWHERE}"}]
    assert not leaks(message, directory)
    assert snapshot(directory) == files and served(daemon) == answers


def test_zone_over_another_accounts_names_is_refused(site) -> None:
    """B may not create charlie.net, whose names ns1/ns2.charlie.net are A's."""
    directory, _, client = site
    files = snapshot(directory)
    status, envelope = client.call("POST", "/zones", {"name": "charlie.net",
                                                      "account": {"id": ACCOUNT_B}},
                                   token=TOKEN_B)
    message = refused(status, envelope)
    assert status == 409
    assert {e["message"] for e in envelope["errors"]} == {
        f"[R11] zone charlie.net cannot be created: {ELSEWHERE}"}
    assert ACCOUNT_A not in message and "Alpha" not in message
    assert snapshot(directory) == files


def test_deleted_zones_data_does_not_pass_to_the_next_owner(site) -> None:
    """Before: the file stayed, and B's new shop.test served A's records."""
    directory, daemon, client = site
    file = directory / "zones" / "shop.test.zone"
    assert addresses(daemon.query("www.shop.test")) == ["192.0.2.2"]
    client.ok("DELETE", f"/zones/{zone_id('shop.test')}")
    assert not file.exists()
    assert daemon.query("www.shop.test").rcode() == dns.rcode.REFUSED
    client.ok("POST", "/zones", {"name": "shop.test", "account": {"id": ACCOUNT_B}},
              token=TOKEN_B)
    response = daemon.query("www.shop.test")
    assert response.rcode() == dns.rcode.NXDOMAIN and not response.answer
    assert "192.0.2.2" not in file.read_text()


def test_a_new_zone_starts_empty_whatever_file_was_left(site) -> None:
    """Before: stale.test.zone, left in zones_dir, was served for the new zone."""
    directory, daemon, client = site
    client.ok("POST", "/zones", {"name": "stale.test", "account": {"id": ACCOUNT_A}})
    response = daemon.query("www.stale.test")
    assert response.rcode() == dns.rcode.NXDOMAIN and not response.answer
    assert "192.0.2.66" not in (directory / "zones" / "stale.test.zone").read_text()


def test_a_zone_created_again_is_new_but_its_serial_goes_on(site) -> None:
    """Before: the zone created again got what the deleted one had received from the
    zone defaults (custom.account, set 1) instead of the account's defaults of now."""
    _, daemon, client = site
    created = client.ok("POST", "/zones", {"name": "fresh.test", "account": {"id": ACCOUNT_A}})
    assert created["name_servers"] == ["ns1.alpha.com", "ns2.alpha.com"]
    first = serial(daemon, "fresh.test")
    assert first > SERIAL_BEFORE
    client.ok("PATCH", f"/accounts/{ACCOUNT_A}/dns_settings",
              {"zone_defaults": {"nameservers": {"type": "cloudflare.standard"}}})
    client.ok("DELETE", f"/zones/{zone_id('fresh.test')}")
    again = client.ok("POST", "/zones", {"name": "fresh.test", "account": {"id": ACCOUNT_A}})
    assert again["name_servers"] == ["ns1.acnsd.test", "ns2.acnsd.test"]
    assert ns_names(daemon.query("fresh.test", "NS")) == ["ns1.acnsd.test", "ns2.acnsd.test"]
    assert serial(daemon, "fresh.test") > first  # resolvers may hold the old one


def test_another_accounts_broken_zone_file_is_not_quoted(site) -> None:
    """Before: A's unrelated change got a 400 quoting B's file path, line and text. A
    change is checked over what it can affect (the incremental pipeline): B's broken file
    neither blocks A's change nor shows in its answer; B and the operator are told."""
    directory, daemon, client = site
    (directory / "zones" / "bravo.com.zone").write_text("$TTL 300\nsecret IN A not-an-ip\n")
    status, envelope = client.call("PATCH", f"/zones/{zone_id('alpha.com')}/dns_settings",
                                   {"ns_ttl": 300})
    assert status == 200 and "secret" not in json.dumps(envelope), envelope
    assert {rrset.ttl for rrset in daemon.query("alpha.com", "NS").answer} == {300}
    # the operator and B see the problem, with the file named relative to the config
    for token in (TOKEN_ALL, TOKEN_B):
        status, envelope = client.call("PATCH", f"/zones/{zone_id('bravo.com')}/dns_settings",
                                       {"ns_ttl": 300}, token=token)
        message = refused(status, envelope)
        assert status == 400 and re.match(r"zones/bravo\.com\.zone:\d+: zone bravo\.com: ", message)
        assert str(directory) not in message


def test_no_answer_holds_an_absolute_path(site) -> None:
    directory, _, client = site
    (directory / "zones" / "alpha.com.zone").write_text("$TTL 300\n@ IN TXT\n")
    status, envelope = client.call("PATCH", f"/zones/{zone_id('alpha.com')}/dns_settings",
                                   {"ns_ttl": 300})
    assert status == 400 and re.match(r"zones/alpha\.com\.zone:\d+: ", refused(status, envelope))
    status, envelope = client.call("POST", "/zones", {"name": ".".join(["a" * 63] * 3 +
                                                                       ["b" * 61]),
                                                      "account": {"id": ACCOUNT_A}})
    assert status == 400 and "too long" in refused(status, envelope)  # before: 500
    config = directory / "acnsd.yaml"
    config.write_text(config.read_text() + "# edited by the operator\n")
    status, envelope = client.call("PATCH", f"/zones/{zone_id('alpha.com')}/dns_settings",
                                   {"ns_ttl": 300})
    assert status == 409 and "acnsd.yaml changed on disk" in refused(status, envelope)
    assert str(directory) not in json.dumps(envelope)


ALPHA = f"/zones/{zone_id('alpha.com')}/dns_settings"


# Each was answered 200 before, having stored something else than what was sent.
@pytest.mark.parametrize("body,code", [
    ({"nameservers": {"type": "custom.account", "ns_set": True}}, 1002),  # True == 1
    ({"multi_provider": "yes"}, 1030),  # stored as true (YAML 1.1)
    ({"ns_ttl": "5:00"}, 1009),  # stored as 300 (YAML 1.1 sexagesimal)
    ({"? ns_ttl": 300}, 1030),  # a YAML complex key: stored as ns_ttl
], ids=["bool-for-int", "yes", "sexagesimal", "complex-key"])
def test_stored_meaning_is_sent_meaning(site, body, code) -> None:
    directory, _, client = site
    files = snapshot(directory)
    status, envelope = client.call("PATCH", ALPHA, body)
    refused(status, envelope)
    assert status == 400 and code in [e["code"] for e in envelope["errors"]], envelope
    assert snapshot(directory) == files
    # and the next valid change is not spoiled by what was refused
    assert client.ok("PATCH", ALPHA, {"ns_ttl": 600})["nameservers"] == {
        "type": "custom.account", "ns_set": 1}
    assert "ns_set: 1}" in (directory / "acnsd.yaml").read_text()


def test_hostile_bodies_are_400_with_the_envelope(site) -> None:
    """Before: a 253-octet zone name and a deeply nested body were answered 500."""
    _, daemon, client = site
    for name in (".".join(["a" * 63] * 3 + ["b" * 61]), "a" * 63 + "." + "b" * 189):
        status, envelope = client.call("POST", "/zones", {"name": name,
                                                          "account": {"id": ACCOUNT_A}})
        assert status == 400, envelope
        refused(status, envelope)
    for raw in (b"[" * 100_000, b'{"a":' * 100_000, b"[" * 100_000 + b"]" * 100_000):
        status, envelope = client.call("PATCH", ALPHA, raw=raw)
        assert status == 400 and envelope["errors"][0]["code"] == 6007, envelope
    assert daemon.count(r"event=api_error") == 0
    assert daemon.query("alpha.com", "SOA").rcode() == dns.rcode.NOERROR
    assert dns.rdatatype.SOA in [r.rdtype for r in daemon.query("alpha.com", "SOA").answer]
