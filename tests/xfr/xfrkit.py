"""The daemon as a primary for the transfer tests: the e2e configuration plus TSIG keys,
transfer rules and NOTIFY targets, and dnspython helpers to transfer and compare."""

from __future__ import annotations

import base64
import json
import urllib.request
from pathlib import Path

import dns.message
import dns.name
import dns.query
import dns.rdatatype
import dns.tsigkeyring
import dns.zone
from e2e.e2e_daemon import API_TOKEN, Daemon, start_daemon, write_config

KEY = "xfr-key."
SECRET = base64.b64encode(bytes(range(32))).decode()
OTHER_KEY = "other-key."
OTHER_SECRET = base64.b64encode(bytes(range(100, 164))).decode()
KEYRING = dns.tsigkeyring.from_text({KEY: ("hmac-sha256", SECRET)})
OTHER_KEYRING = dns.tsigkeyring.from_text({OTHER_KEY: ("hmac-sha512", OTHER_SECRET)})
ZONE = "example.com."


def primary_config(directory: Path, port: int, *, rules: str | None = None,
                   notify: str = "", max_transfers: int | None = None,
                   api_port: int | None = None, metrics_port: int | None = None,
                   catalogs: str = "") -> Path:
    """The e2e configuration with both keys and the rules (YAML flow sequence): by
    default 127.0.0.1 with KEY, 127.0.0.2 unsigned; `catalogs`: server.catalogs (YAML)."""
    config = write_config(directory, port, api_port=api_port, metrics_port=metrics_port)
    if rules is None:
        rules = "[{prefix: 127.0.0.1/32, key: xfr-key}, {prefix: 127.0.0.2/32}]"
    (directory / "other.key").write_text(OTHER_SECRET + "\n")
    extra = [
        "  tsig_keys:",
        f"    - {{name: {KEY}, algorithm: hmac-sha256, secret: \"{SECRET}\"}}",
        f"    - {{name: {OTHER_KEY}, algorithm: hmac-sha512, secret_file: other.key}}",
        f"  allow_transfer: {rules}",
    ]
    if notify:
        extra.append(f"  notify: {notify}")
    if max_transfers is not None:
        extra.append(f"  max_transfers: {max_transfers}")
    if catalogs:
        extra.append(f"  catalogs: {catalogs}")
    text = config.read_text().replace("server:\n", "server:\n" + "\n".join(extra) + "\n", 1)
    config.write_text(text)
    return config


def start_primary(directory: Path, port: int, **options) -> Daemon:
    return start_daemon(primary_config(directory, port, **options), port)


def axfr(daemon: Daemon, zone: str = ZONE, *, source: str = "127.0.0.1",
         keyring=KEYRING) -> dns.zone.Zone:
    """The zone transferred by AXFR, signed with `keyring` (None: unsigned)."""
    return dns.zone.from_xfr(dns.query.xfr("127.0.0.1", zone, port=daemon.port, timeout=5,
                                           lifetime=20, keyring=keyring, source=source,
                                           relativize=False), relativize=False)


def records(zone: dns.zone.Zone) -> list[tuple]:
    """Every RRset with its TTL and rdata, in one order whatever the transfer's."""
    return sorted((name.to_text(), rdataset.rdtype, rdataset.ttl,
                   sorted(rdata.to_text() for rdata in rdataset))
                  for name, node in zone.items() for rdataset in node)


def api(port: int, method: str, path: str, body: dict | None = None) -> dict:
    """A management API call (token API_TOKEN); its JSON answer."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/client/v4{path}",
        data=None if body is None else json.dumps(body).encode(), method=method,
        headers={"Authorization": f"Bearer {API_TOKEN}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as reply:
        return json.load(reply)


def knot_config(base: Path, port: int, primary_port: int) -> str:
    """The head of a Knot DNS configuration in `base`, listening at 127.0.0.1@port: the
    primary 127.0.0.1@primary_port as remote `acnsd` with KEY, ACLs `notify_from_acnsd`
    (with KEY) and `transfer_to_tests` (unsigned, from 127.0.0.1)."""
    (base / "db").mkdir(exist_ok=True)
    return f"""\
server:
    rundir: {base}
    listen: 127.0.0.1@{port}
log:
  - target: stderr
    any: info
database:
    storage: {base / "db"}
key:
  - id: {KEY}
    algorithm: hmac-sha256
    secret: {SECRET}
remote:
  - id: acnsd
    address: 127.0.0.1@{primary_port}
    key: {KEY}
acl:
  - id: notify_from_acnsd
    address: 127.0.0.1
    key: {KEY}
    action: notify
  - id: transfer_to_tests
    address: 127.0.0.1
    action: transfer
"""
