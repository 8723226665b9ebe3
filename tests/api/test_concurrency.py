"""Parallel requests are serialized: every change that got a 200 is in the file.

Several clients at once create zones, add names and change settings of their own zones;
afterwards the configuration loads, holds every accepted zone, name and setting, and
the API's own view agrees with a fresh load of the file.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from acnsd.api.server import ApiServer
from acnsd.model.config import load
from acnsd.model.types import zone_id
from apikit import ACCOUNT_A, ACCOUNT_B, Client
from sites import two_accounts

CLIENTS = 4
ZONES_EACH = 5


def test_parallel_changes_are_all_kept(tmp_path: Path) -> None:
    config = two_accounts(tmp_path)
    applied: list[int] = []
    api = ApiServer(config, ("127.0.0.1", 0), tmp_path / "tokens.yaml",
                    lambda made: applied.append(1))
    api.start()
    host, port = api.address

    def work(worker: int) -> tuple[list[str], list[str], dict[str, int]]:
        client = Client(host, port)
        account = (ACCOUNT_A, ACCOUNT_B)[worker % 2]
        zones, names, ttls = [], [], {}
        for i in range(ZONES_EACH):
            name = f"z{i}.w{worker}.test"
            client.ok("POST", "/zones", {"name": name, "account": {"id": account}})
            zones.append(name)
            ttl = 300 + worker * 100 + i
            client.ok("PATCH", f"/zones/{zone_id(name)}/dns_settings", {"ns_ttl": ttl})
            ttls[name] = ttl
        # sets 2..4 take two names each: one per worker per account
        ns_name = f"ns.w{worker}.test"
        client.ok("POST", f"/accounts/{account}/custom_ns",
                  {"ns_name": ns_name, "ns_set": 2 + worker // 2})
        names.append(ns_name)
        return zones, names, ttls

    try:
        with ThreadPoolExecutor(CLIENTS) as pool:
            results = list(pool.map(work, range(CLIENTS)))
    finally:
        api.stop()
    model = load(config, save_state=False).model
    zones = {z.name: z for z in model.zones}
    names = {ns.ns_name for a in model.accounts for ns in a.custom_nameservers}
    for accepted_zones, accepted_names, ttls in results:
        for name in accepted_zones:
            assert zones[name].ns_ttl == ttls[name]
        assert set(accepted_names) <= names
    assert len(zones) == 2 + CLIENTS * ZONES_EACH
    assert len(applied) == CLIENTS * (2 * ZONES_EACH + 1)
    assert api.editor.model.zones == model.zones
    assert "# a two-account site; comments survive API changes" in config.read_text()
