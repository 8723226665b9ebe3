"""A DNS hierarchy on loopback for the delegation checks: the root zone and `test.` served by
two knotd instances (127.54.0.1 and 127.54.0.2), and acnsd serving the zones below on its
assigned addresses, every server on one port. `test.` holds one delegation per case:

- good.test     delegated to its set (ns1/ns2.good.test) with the right glue: verified
- noglue.test   delegated to its set, no glue for its in-zone names: pending
- badglue.test  delegated to its set, ns1.badglue.test's glue A is wrong: mismatch
- moved.test    delegated to ns1.good.test and a server elsewhere (partly moved): mismatch
- lame.test     (not served by acnsd; it provides ns1/ns2.lame.test) delegated to an acnsd
                address that does not serve it: REFUSED, a lame delegation: mismatch
- notyet.test   served by acnsd, not delegated at all: pending
- nowhere.test  (not served by acnsd; it provides ns1/ns2.nowhere.test) not delegated at
                all: its names are pending, their records to create at nowhere.test
"""

from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import dns.message
import dns.query
from tooling import require_tool, stop_process

ACCOUNT = "023e105f4ecef8ad9ca31a8372d0c353"
ROOT, TLD = "127.54.0.1", "127.54.0.2"
WRONG_GLUE = "127.54.9.9"  # nothing listens there
# name → (set, IPv4, IPv6); the IPv6 addresses cannot be bound on loopback: never answered
NAMES = {
    "ns1.good.test": (1, "127.54.1.1", "fd00:54:1::1"),
    "ns2.good.test": (1, "127.54.1.2", "fd00:54:1::2"),
    "ns1.noglue.test": (2, "127.54.2.1", "fd00:54:2::1"),
    "ns2.noglue.test": (2, "127.54.2.2", "fd00:54:2::2"),
    "ns1.badglue.test": (3, "127.54.3.1", "fd00:54:3::1"),
    "ns2.badglue.test": (3, "127.54.3.2", "fd00:54:3::2"),
    "ns1.lame.test": (4, "127.54.4.1", "fd00:54:4::1"),
    "ns2.lame.test": (4, "127.54.4.2", "fd00:54:4::2"),
    "ns1.nowhere.test": (5, "127.54.5.1", "fd00:54:5::1"),
    "ns2.nowhere.test": (5, "127.54.5.2", "fd00:54:5::2"),
}
ZONES = {"good.test": 1, "moved.test": 1, "notyet.test": 1, "noglue.test": 2, "badglue.test": 3}
SOA = "@ SOA ns.{origin} hostmaster.{origin} 1 3600 600 86400 60\n"

ROOT_ZONE = f"""$TTL 3600
@ SOA ns.root. hostmaster.root. 1 3600 600 86400 60
@ NS ns.root.
ns.root. A {ROOT}
test. NS ns.tld.test.
ns.tld.test. A {TLD}
"""


def _glue(name: str, ipv4: str | None = None) -> str:
    _, v4, v6 = NAMES[name]
    return f"{name}. A {ipv4 or v4}\n{name}. AAAA {v6}\n"


TLD_ZONE = (f"""$TTL 3600
@ SOA ns.tld.test. hostmaster.test. 1 3600 600 86400 60
@ NS ns.tld.test.
ns.tld.test. A {TLD}
good NS ns1.good.test.
good NS ns2.good.test.
noglue NS ns1.noglue.test.
noglue NS ns2.noglue.test.
badglue NS ns1.badglue.test.
badglue NS ns2.badglue.test.
moved NS ns1.good.test.
moved NS ns.elsewhere.example.
lame NS ns.lame.test.
ns.lame.test. A {NAMES["ns1.good.test"][1]}
""" + _glue("ns1.good.test") + _glue("ns2.good.test")
    + _glue("ns1.badglue.test", WRONG_GLUE) + _glue("ns2.badglue.test"))


def knot_conf(base: Path, address: str, port: int, zone: str) -> str:
    (base / "db").mkdir(exist_ok=True)
    return f"""server:
    rundir: {base}
    listen: {address}@{port}
log:
  - target: stderr
    any: info
database:
    storage: {base / "db"}
zone:
  - domain: "{zone}"
    file: {base / "zone.txt"}
    journal-content: none
    zonefile-sync: -1
"""


@dataclass
class Knot:
    process: subprocess.Popen
    log: Path


def start_knot(base: Path, address: str, port: int, zone: str, text: str) -> Knot:
    """knotd serving `zone` from `text` at address@port; answering before this returns."""
    binary = require_tool("knotd")
    base.mkdir(parents=True, exist_ok=True)
    (base / "zone.txt").write_text(text)
    (base / "knot.conf").write_text(knot_conf(base, address, port, zone))
    with open(base / "knotd.log", "wb") as log:
        process = subprocess.Popen([binary, "-c", str(base / "knot.conf")], stdout=log,
                                   stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    knot = Knot(process, base / "knotd.log")
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            answer = dns.query.udp(dns.message.make_query(zone, "SOA"), address, port=port,
                                   timeout=0.5)
            if answer.answer:
                return knot
        except (dns.exception.Timeout, OSError):
            pass
        if process.poll() is not None:
            break
        time.sleep(0.1)
    stop_process(process)
    raise AssertionError(f"knotd for {zone!r} did not answer:\n{knot.log.read_text()}")


def acnsd_config(directory: Path, port: int, *, server_lines: tuple[str, ...] = ()) -> Path:
    """acnsd's configuration: every name of NAMES pinned, ZONES on their sets, the checks
    from ROOT on `port` with a short timeout."""
    zones = directory / "zones"
    zones.mkdir(parents=True, exist_ok=True)
    for zone in ZONES:
        (zones / f"{zone}.zone").write_text("$TTL 3600\n@ IN A 192.0.2.1\n")
    lines = [
        "server:",
        f'  listen: ["127.0.0.1:{port}"]',
        "  serve_assigned_addresses: true",
        f"  port: {port}",
        "  zones_dir: zones",
        f"  verify: {{roots: [{ROOT}], port: {port}, timeout: 0.3, interval: 3600}}",
        *server_lines,
        "accounts:",
        f"  - id: {ACCOUNT}",
        "    name: Verify Corp",
        "    custom_nameservers:",
        *(f'      - {{ns_name: {n}, ns_set: {s}, ipv4: {v4}, ipv6: "{v6}"}}'
          for n, (s, v4, v6) in NAMES.items()),
        "    zones:",
        *(f"      - {{name: {z}, dns_settings: {{nameservers: {{type: custom.account, "
          f"ns_set: {s}}}}}}}" for z, s in ZONES.items()),
    ]
    config = directory / "acnsd.yaml"
    config.write_text("\n".join(lines) + "\n")
    return config
