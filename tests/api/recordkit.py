"""What the DNS records tests share: a two-account site served by `acnsd serve` with its
API, and the oracle (the zone file as dnspython reads it, the daemon's answers)."""

from __future__ import annotations

import http.client
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import dns.name
import dns.rdatatype
import dns.zone
from acnsd.model.types import zone_id
from apikit import ACCOUNT_A, ACCOUNT_B, Client, Daemon, make_site, start_daemon
from tooling import unused_port

CONFIG = """\
# records tests: this comment must survive every change
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
    name: Acme
    custom_nameservers:
      - {{ns_name: ns1.acme.test, ns_set: 1}}
      - {{ns_name: ns2.acme.test, ns_set: 1}}
    zones:
      - name: acme.test
      - name: empty.test
      - name: multi.test
        dns_settings: {{multi_provider: true}}
  - id: {b}
    name: Other
    zones:
      - name: other.test
"""

ACME_TEXT = """\
; acme.test: the leading comments survive an API rewrite
$TTL 3600
@ IN A 192.0.2.1
www IN A 192.0.2.2
www IN AAAA 2001:db8::2
mail 600 IN MX 10 mx.acme.test.
"""
OTHER_TEXT = "$TTL 3600\n@ IN A 198.51.100.1\nsecret IN TXT \"other's\"\n"

ACME = zone_id("acme.test")
EMPTY = zone_id("empty.test")
MULTI = zone_id("multi.test")
OTHER = zone_id("other.test")


@contextmanager
def records_site(directory: Path) -> Iterator[tuple[Path, Daemon, Client]]:
    port = unused_port()
    config = make_site(directory, CONFIG.format(port=port, a=ACCOUNT_A, b=ACCOUNT_B),
                       {"acme.test": ACME_TEXT, "empty.test": "$TTL 900\n",
                        "multi.test": "$TTL 3600\n", "other.test": OTHER_TEXT})
    daemon = start_daemon(config, port)
    try:
        yield config, daemon, daemon.api()
    finally:
        daemon.stop()


def file_records(path: Path, origin: str) -> set[tuple[str, str, str]]:
    """(name, type, rdata) of a zone file as dnspython reads it, without its SOA."""
    zone = dns.zone.from_file(str(path), origin, relativize=False, check_origin=False)
    return {(name.to_text(omit_final_dot=True), dns.rdatatype.to_text(rd.rdtype),
             rd.to_text()) for name, _, rd in zone.iterate_rdatas()
            if rd.rdtype != dns.rdatatype.SOA}


def answer(daemon: Daemon, name: str, rdtype: str) -> set[str]:
    """The rdatas the daemon answers for (name, type), as text (NS: a referral's too)."""
    response = daemon.query(name, rdtype)
    qname = dns.name.from_text(name)
    return {rd.to_text() for rrset in response.answer + response.authority
            if rrset.name == qname and rrset.rdtype == dns.rdatatype.from_text(rdtype)
            for rd in rrset}


def ttl_of(daemon: Daemon, name: str, rdtype: str) -> int:
    response = daemon.query(name, rdtype)
    return next(rrset.ttl for rrset in response.answer
                if rrset.rdtype == dns.rdatatype.from_text(rdtype))


def export_text(client: Client, zone: str) -> tuple[int, str, str]:
    """GET dns_records/export: (status, Content-Type, body)."""
    connection = http.client.HTTPConnection(client.host, client.port, timeout=30)
    try:
        connection.request("GET", f"/client/v4/zones/{zone}/dns_records/export",
                           headers={"Authorization": f"Bearer {client.token}"})
        response = connection.getresponse()
        return response.status, response.getheader("Content-Type", ""), response.read().decode()
    finally:
        connection.close()


def import_file(client: Client, zone: str, text: str,
                **fields: str) -> tuple[int, dict[str, Any]]:
    """POST dns_records/import with the zone file as the multipart field `file`, as
    `curl --form file=@...` sends it."""
    boundary = "acnsd-test-boundary"
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
             for name, value in fields.items()]
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
                 f'filename="zone.txt"\r\nContent-Type: text/plain\r\n\r\n{text}\r\n')
    body = ("".join(parts) + f"--{boundary}--\r\n").encode()
    return client.call("POST", f"/zones/{zone}/dns_records/import", raw=body, headers={
        "Content-Type": f"multipart/form-data; boundary={boundary}"})
