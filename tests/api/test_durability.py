"""Durability: `acnsd serve` is killed with SIGKILL at random moments while a client
sends changes; every change that got a 200 is in the store the server left (its zone's
content) and, after each restart, in the configuration; the configuration loads (nothing
half-written), and the addresses the API reported for new names are still theirs (the
state file was written before the answer).
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import dns.rdatatype
from acnsd.model import journal
from acnsd.model.config import load
from acnsd.model.recording import export_state
from acnsd.model.store import Store
from acnsd.model.types import zone_id
from apikit import ACCOUNT_A, ZONE_TEXT, Client, make_site, start_daemon
from tooling import unused_port

ROUNDS = 5
SEED = 20261127

CONFIG = """\
# durability test: kill -9 at any moment loses no accepted change
server:
  listen: ["127.0.0.1:{port}"]
  port: {port}
  standard_nameservers:
    - {{name: ns1.acnsd.test, ipv4: 127.53.0.1}}
    - {{name: ns2.acnsd.test, ipv4: 127.53.0.2}}
  address_pools: {{ipv4: ["127.54.0.0/16"], ipv6: ["fd00:54::/64"]}}
  zones_dir: zones
  api: {{listen: "127.0.0.1:0", tokens_file: tokens.yaml}}
accounts:
  - id: {a}
    name: Acme
    dns_settings:
      zone_defaults: {{ns_ttl: 600}}
    zones:
      - name: acme.test
"""


class Writer(threading.Thread):
    """Sends changes until the server goes away; remembers what was acknowledged."""

    def __init__(self, client: Client, round_: int, acked: dict[str, Any]) -> None:
        super().__init__(daemon=True)
        self.client, self.round, self.acked = client, round_, acked
        self.in_flight: tuple[str, Any] | None = None

    def run(self) -> None:
        for i in range(10_000):
            zone = f"z{i}.r{self.round}.test"
            try:
                self.in_flight = ("zone", zone)
                self.client.ok("POST", "/zones", {"name": zone, "account": {"id": ACCOUNT_A}})
                self.acked["zones"].add(zone)
                ttl = 300 + i
                self.in_flight = ("ttl", (zone, ttl))
                self.client.ok("PATCH", f"/zones/{zone_id(zone)}/dns_settings", {"ns_ttl": ttl})
                self.acked["ttl"][zone] = ttl
                if i < 2:  # names in set 2 + round: at most five sets of two names
                    name = f"ns{i}.r{self.round}.test"
                    self.in_flight = ("ns", name)
                    result = self.client.ok("POST", f"/accounts/{ACCOUNT_A}/custom_ns",
                                            {"ns_name": name, "ns_set": 1 + self.round})
                    self.acked["ns"][name] = result["dns_records"]
                self.in_flight = None
            except (OSError, AssertionError):
                return  # the server was killed: this request may or may not have landed


def _stored_ns_ttls(store_file: Path, zones: Iterable[str]) -> dict[str, int | None]:
    """Each zone's NS TTL in the content the store holds for it (None: no content)."""
    with Store.open(store_file, readonly=True) as store:
        stored = {zone: store.zone(zone) for zone in zones}
    return {zone: None if found is None or found.content is None else next(
                rrset.ttl for rrset in journal.rrsets_of(found.content)
                if rrset.rdtype == dns.rdatatype.NS)
            for zone, found in stored.items()}


def test_kill_9_loses_no_accepted_change(tmp_path: Path) -> None:
    port = unused_port()
    config = make_site(tmp_path, CONFIG.format(port=port, a=ACCOUNT_A), {"acme.test": ZONE_TEXT})
    acked: dict[str, Any] = {"zones": set(), "ttl": {}, "ns": {}}
    rng = random.Random(SEED)
    for round_ in range(ROUNDS):
        daemon = start_daemon(config, port)
        try:
            writer = Writer(daemon.api(), round_, acked)
            writer.start()
            time.sleep(rng.uniform(0.2, 2.0))
            daemon.process.kill()  # SIGKILL, wherever the server is
            daemon.process.wait()
            writer.join(30)
            assert not writer.is_alive()
        finally:
            daemon.stop()
        # what the store held when the server died: every acknowledged change's content
        assert _stored_ns_ttls(tmp_path / "acnsd.state.db", acked["ttl"]) == acked["ttl"]
        model = load(config, save_state=False).model  # loads: nothing half-written
        zones = {z.name: z for z in model.zones}
        assert acked["zones"] <= set(zones)
        for zone, ttl in acked["ttl"].items():
            late = writer.in_flight == ("ttl", (zone, zones[zone].ns_ttl))
            assert zones[zone].ns_ttl == ttl or late
        for name in acked["ns"]:
            assert name in model.addresses
    print(f"{len(acked['zones'])} zones, {len(acked['ttl'])} settings and {len(acked['ns'])} "
          f"names acknowledged across {ROUNDS} kills")
    assert len(acked["zones"]) >= ROUNDS  # the server did work between the kills
    daemon = start_daemon(config, port)  # a last restart: the reported addresses are kept
    try:
        listed = {e["ns_name"]: e["dns_records"]
                  for e in daemon.api().ok("GET", f"/accounts/{ACCOUNT_A}/custom_ns")}
    finally:
        daemon.stop()
    for name, records in acked["ns"].items():
        assert listed[name] == records
    assert not list(tmp_path.glob(".acnsd.yaml.api-*")), "temporary files left behind"



def test_the_store_stays_open_between_changes_and_is_closed_at_shutdown(tmp_path: Path) -> None:
    """The server records its changes through one store connection kept open (its
    write-ahead log stays beside the store between changes), closed when it stops (the
    log checkpointed into the store and removed), and what it recorded is read back."""
    port = unused_port()
    config = make_site(tmp_path, CONFIG.format(port=port, a=ACCOUNT_A), {"acme.test": ZONE_TEXT})
    wal = tmp_path / "acnsd.state.db-wal"
    daemon = start_daemon(config, port)
    try:
        client = daemon.api()
        for ttl in (900, 1200):
            client.ok("PATCH", f"/zones/{zone_id('acme.test')}/dns_settings", {"ns_ttl": ttl})
        serial = daemon.query("acme.test.", "SOA").answer[0][0].serial
        assert wal.exists()
    finally:
        daemon.stop()
    assert daemon.process.returncode == 0
    assert not wal.exists()
    assert export_state(tmp_path / "acnsd.state.db")["serials"]["acme.test"]["serial"] == serial
