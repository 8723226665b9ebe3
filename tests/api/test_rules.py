"""Rule by rule: every invalid change gets a 4xx naming the rule, and changes nothing.

Each row is one request that breaks one rule (R1-R11, the custom.zone conditions, or
the request's own shape). After every row the site's files (configuration, state file,
zone files, no temporary file left behind) are byte-for-byte what they were, no reload
was asked for, and the daemon's answers are the same.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from acnsd.api.server import ApiServer
from acnsd.model.types import zone_id
from apikit import (
    ACCOUNT_A,
    ACCOUNT_B,
    ZONE_TEXT,
    Client,
    make_site,
    refused,
    snapshot,
    start_daemon,
)
from tooling import unused_port

HIERARCHY = ("example.com", "shop.example.com", "a.shop.example.com",
             "b.a.shop.example.com")  # on sets 1, 2, 3, 4: no set left below (R6)

CONFIG = """\
# acnsd rules test: every refused change leaves this file as it is.
server:
  listen: ["127.0.0.1:{port}"]
  port: {port}
  standard_nameservers:
    - {{name: ns1.acnsd.test, ipv4: 127.53.0.1}}
    - {{name: ns2.acnsd.test, ipv4: 127.53.0.2}}
  # Six IPv4 addresses, all taken: one more name exhausts the pool (R7).
  address_pools: {{ipv4: ["127.54.0.0/29"], ipv6: ["fd00:54::/64"]}}
  zones_dir: zones
accounts:
  - id: {a}
    name: Acme
    custom_nameservers:
      - {{ns_name: ns1.example.com, ns_set: 1}}
      - {{ns_name: ns2.example.com, ns_set: 1}}
      - {{ns_name: ns3.example.com, ns_set: 2}}
      - {{ns_name: ns4.example.com, ns_set: 2}}
      - {{ns_name: ns31.example.net, ns_set: 3, ipv4: 127.55.0.1}}   # set 3 is full (R3)
      - {{ns_name: ns32.example.net, ns_set: 3, ipv4: 127.55.0.2}}
      - {{ns_name: ns33.example.net, ns_set: 3, ipv4: 127.55.0.3}}
      - {{ns_name: ns34.example.net, ns_set: 3, ipv4: 127.55.0.4}}
      - {{ns_name: ns35.example.net, ns_set: 3, ipv4: 127.55.0.5}}
      - {{ns_name: ns1.vanity.example.org, ns_set: 4}}
      - {{ns_name: ns2.vanity.example.org, ns_set: 4}}
    dns_settings:
      zone_defaults: {{nameservers: {{type: custom.account}}}}
    zones:
      - name: example.com
        dns_settings: {{nameservers: {{type: custom.account, ns_set: 1}}}}
      - name: shop.example.com
        dns_settings: {{nameservers: {{type: custom.account, ns_set: 2}}}}
      - name: a.shop.example.com
        dns_settings: {{nameservers: {{type: custom.account, ns_set: 3}}}}
      - name: b.a.shop.example.com
        dns_settings: {{nameservers: {{type: custom.account, ns_set: 4}}}}
      - name: plain.test
        dns_settings: {{nameservers: {{type: cloudflare.standard}}}}
      # provides ns1/ns2.vanity.example.org (R8); deleting it hands them to example.org
      - name: vanity.example.org
        dns_settings: {{nameservers: {{type: cloudflare.standard}}}}
      - name: example.org
        dns_settings: {{nameservers: {{type: cloudflare.standard}}}}
  - id: {b}
    name: Other
    custom_nameservers:
      - {{ns_name: nsb1.other.org, ipv4: 127.55.1.1}}
      - {{ns_name: nsb2.other.org, ipv4: 127.55.1.2}}
    zones:
      - name: other.org
"""

NS = f"/accounts/{ACCOUNT_A}/custom_ns"
DEFAULTS = f"/accounts/{ACCOUNT_A}/dns_settings"
PLAIN = f"/zones/{zone_id('plain.test')}"
SHOP = f"/zones/{zone_id('shop.example.com')}"
VANITY = f"/zones/{zone_id('vanity.example.org')}"

# (id, method, path, body, status, what the message must contain)
CASES = [
    ("R1-label", "POST", NS, {"ns_name": "bad_label.example.com"}, 400, "[R1]"),
    ("R1-one-label", "POST", NS, {"ns_name": "localhost"}, 400, "[R1]"),
    ("R1-not-a-string", "POST", NS, {"ns_name": 42}, 400, "[R1]"),
    ("R2-range", "POST", NS, {"ns_name": "ns9.example.com", "ns_set": 6}, 400, "[R2]"),
    ("R2-type", "POST", NS, {"ns_name": "ns9.example.com", "ns_set": "2"}, 400, "[R2]"),
    ("R3-other-set", "POST", NS, {"ns_name": "NS1.Example.COM.", "ns_set": 2}, 409, "[R3]"),
    ("R3-other-account", "POST", NS, {"ns_name": "nsb1.other.org"}, 409, "[R3]"),
    ("R3-sixth-name", "POST", NS, {"ns_name": "ns36.example.net", "ns_set": 3}, 409, "[R3]"),
    ("R4-delete", "DELETE", f"{NS}/ns3.example.com", None, 409, "shop.example.com"),
    ("R4-empty-set", "PATCH", f"{PLAIN}/dns_settings",
     {"nameservers": {"type": "custom.account", "ns_set": 5}}, 409, "[R4]"),
    ("R5-parent-set", "PATCH", f"{SHOP}/dns_settings",
     {"nameservers": {"type": "custom.account", "ns_set": 1}}, 409, "[R5]"),
    ("R6-no-set-left", "POST", "/zones",
     {"name": "c.b.a.shop.example.com", "account": {"id": ACCOUNT_A}}, 409, "[R6]"),
    ("R7-pool-exhausted", "POST", NS, {"ns_name": "ns5.example.com", "ns_set": 5}, 409,
     "[R7]"),
    ("R8-zone-file-record", "DELETE", VANITY, None, 400, "[R8]"),
    ("R9-ns-ttl", "PATCH", f"{PLAIN}/dns_settings", {"ns_ttl": 10}, 400, "[R9]"),
    ("R9-ns-ttl-type", "PATCH", f"{PLAIN}/dns_settings", {"ns_ttl": "3600"}, 400, "[R9]"),
    ("R9-defaults", "PATCH", DEFAULTS, {"zone_defaults": {"ns_ttl": 86401}}, 400, "[R9]"),
    ("R10-refresh", "PATCH", f"{PLAIN}/dns_settings", {"soa": {"refresh": 5}}, 400, "[R10]"),
    ("R10-rname", "PATCH", f"{PLAIN}/dns_settings", {"soa": {"rname": "no mailbox"}}, 400,
     "[R10]"),
    ("R11-zone-in-other-account", "POST", "/zones",
     {"name": "www.other.org", "account": {"id": ACCOUNT_A}}, 409, "[R11]"),
    ("R11-name-in-other-account", "POST", NS, {"ns_name": "ns9.other.org"}, 409, "[R11]"),
    ("custom.zone-names", "PATCH", f"{PLAIN}/dns_settings",
     {"nameservers": {"type": "custom.zone"}}, 400, "[custom.zone]"),
    ("defaults-type", "PATCH", DEFAULTS,
     {"zone_defaults": {"nameservers": {"type": "custom.zone"}}}, 400, "unknown nameserver"),
    ("defaults-no-set", "PATCH", DEFAULTS,
     {"zone_defaults": {"nameservers": {"type": "custom.account", "ns_set": 2}}}, 400,
     "unknown key 'ns_set'"),
    ("unknown-setting", "PATCH", f"{PLAIN}/dns_settings", {"ns_tll": 300}, 400,
     "did you mean 'ns_ttl'"),
    ("body-not-object", "POST", NS, ["ns1.example.com"], 400, "JSON object"),
    ("body-unknown-field", "POST", NS, {"ns_name": "ns9.example.com", "ipv4": "1.2.3.4"},
     400, "unknown key 'ipv4'"),
    ("zone-name-path", "POST", "/zones", {"name": "../../etc/x", "account": {"id": ACCOUNT_A}},
     400, "invalid zone name"),
    ("zone-file-name-too-long", "POST", "/zones",
     {"name": ".".join(["a" * 60] * 4), "account": {"id": ACCOUNT_A}}, 400, "too long"),
    ("zone-exists", "POST", "/zones", {"name": "Other.Org", "account": {"id": ACCOUNT_A}},
     409, "already exists"),
    ("zone-type", "POST", "/zones", {"name": "x.test", "type": "partial",
                                     "account": {"id": ACCOUNT_A}}, 400, "full"),
    ("ns-not-found", "DELETE", f"{NS}/ns9.example.com", None, 404, "not found"),
    ("zone-not-found", "GET", f"/zones/{'0' * 32}", None, 404, "not found"),
    ("query-unknown", "GET", "/zones?status=pending", None, 400, "unsupported query"),
    ("query-per-page", "GET", "/zones?per_page=1001", None, 400, "per_page"),
    ("no-route", "GET", "/zones/x/y/z", None, 404, "No route"),
    ("method", "PUT", "/zones", {}, 405, "not available"),
    ("method-trace", "TRACE", f"{NS}/ns1.example.com", None, 405, "not available"),
]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory):
    directory = tmp_path_factory.mktemp("rules")
    port = unused_port()
    zones = {name: ZONE_TEXT for name in (*HIERARCHY, "plain.test", "other.org",
                                          "vanity.example.org")}
    # Below vanity.example.org, hidden by it; an error of R8 when it is deleted.
    zones["example.org"] = ZONE_TEXT + "ns1.vanity IN A 192.0.2.99\n"
    config = make_site(directory, CONFIG.format(port=port, a=ACCOUNT_A, b=ACCOUNT_B), zones)
    daemon = start_daemon(config, port)
    applied: list[int] = []
    api = ApiServer(config, ("127.0.0.1", 0), directory / "tokens.yaml",
                    lambda made: applied.append(1))
    api.start()
    try:
        yield directory, daemon, Client(*api.address), applied
    finally:
        api.stop()
        daemon.stop()


def answers(daemon) -> list[str]:
    """What the daemon answers about every zone and name, as text (IDs aside)."""
    out = []
    for qname, qtype in [(z, "NS") for z in (*HIERARCHY, "plain.test", "other.org")] + [
            ("ns1.example.com", "A"), ("ns3.example.com", "AAAA"), ("plain.test", "SOA")]:
        response = daemon.query(qname, qtype)
        out.append("\n".join(r.to_text() for section in (response.answer, response.authority,
                                                          response.additional) for r in section))
    return out


@pytest.mark.parametrize("name,method,path,body,status,needle", CASES,
                         ids=[c[0] for c in CASES])
def test_refused_and_nothing_changes(site, name, method, path, body, status, needle) -> None:
    directory, daemon, client, applied = site
    files, served, reloads = snapshot(Path(directory)), answers(daemon), len(applied)
    got, envelope = client.call(method, path, body)
    message = refused(got, envelope)
    assert got == status, (got, envelope)
    if needle:
        assert needle in message, message
    if needle and needle.startswith("[R"):  # the rule's code: 1000 + n
        assert 1000 + int(needle[2:-1]) in [e["code"] for e in envelope["errors"]]
    assert snapshot(Path(directory)) == files
    assert len(applied) == reloads
    assert answers(daemon) == served


def test_messages_name_the_real_file(site) -> None:
    """A refusal speaks like `acnsd check`: the config's own file (named relative to its
    directory: no absolute server path in an answer), line, YAML path, rule."""
    directory, _, client, _ = site
    status, envelope = client.call("PATCH", f"{SHOP}/dns_settings",
                                   {"nameservers": {"type": "custom.account", "ns_set": 1}})
    message = refused(status, envelope)
    assert message.startswith("acnsd.yaml:")
    assert str(directory) not in message
    assert "accounts[0].zones[1].dns_settings.nameservers: [R5]" in message


def test_file_changed_on_disk_is_not_overwritten(site) -> None:
    """An operator's edit not yet loaded: 409, the edit kept; after a refresh, accepted."""
    directory, _, client, applied = site
    config = Path(directory) / "acnsd.yaml"
    original = config.read_bytes()
    edited = original + b"# an operator's edit, not reloaded yet\n"
    config.write_bytes(edited)
    try:
        status, envelope = client.call("PATCH", f"{PLAIN}/dns_settings", {"ns_ttl": 300})
        assert status == 409
        assert "changed on disk" in refused(status, envelope)
        assert config.read_bytes() == edited
    finally:
        config.write_bytes(original)
    assert not applied
