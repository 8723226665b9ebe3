"""DNS records as BIND zone files through the API (issue 19): export (text/plain, the zone
as served) and import (multipart field `file`, as Cloudflare takes it), and their round
trip, against `acnsd serve`."""

from __future__ import annotations

import dns.zone
import pytest
from apikit import TOKEN_A, refused
from recordkit import ACME, EMPTY, OTHER, answer, export_text, import_file, records_site


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory):
    with records_site(tmp_path_factory.mktemp("records_files")) as served:
        yield served


def listed(client, zone: str) -> list[dict]:
    return client.ok("GET", f"/zones/{zone}/dns_records?per_page=1000")


def test_export_is_the_zone_as_served(site) -> None:
    _, daemon, client = site
    status, content_type, text = export_text(client, ACME)
    assert status == 200 and content_type.startswith("text/plain")
    zone = dns.zone.from_text(text, "acme.test.", relativize=False)  # SOA first: valid
    for name, _, rdata in zone.iterate_rdatas():
        kind = dns.rdatatype.to_text(rdata.rdtype)
        if kind != "SOA":
            assert rdata.to_text() in answer(daemon, name.to_text(), kind), (name, kind)
    soa = daemon.query("acme.test", "SOA").answer[0][0]
    assert zone.get_soa() == soa
    assert len(list(zone.iterate_rdatas())) == len(listed(client, ACME))


def test_round_trip_keeps_records_and_ids(site) -> None:
    _, daemon, client = site
    client.ok("POST", f"/zones/{ACME}/dns_records",
              {"type": "SRV", "name": "_x._tcp", "ttl": 120,
               "data": {"priority": 1, "weight": 2, "port": 3, "target": "t.acme.test"}})
    before = listed(client, ACME)
    _, _, text = export_text(client, ACME)
    for record in before:
        if not record["locked"]:
            client.ok("DELETE", f"/zones/{ACME}/dns_records/{record['id']}")
    assert answer(daemon, "www.acme.test", "A") == set()
    status, envelope = import_file(client, ACME, text)
    assert status == 200, envelope
    unlocked = sum(not r["locked"] for r in before)
    assert envelope["result"] == {"recs_added": unlocked, "total_records_parsed": len(before)}
    after = listed(client, ACME)
    assert [{k: v for k, v in r.items() if r["type"] != "SOA"} for r in after] == [
        {k: v for k, v in r.items() if r["type"] != "SOA"} for r in before]
    assert answer(daemon, "www.acme.test", "A") == {"192.0.2.2"}
    assert answer(daemon, "_x._tcp.acme.test", "SRV") == {"1 2 3 t.acme.test."}
    status, envelope = import_file(client, ACME, text)  # again: nothing new
    assert envelope["result"] == {"recs_added": 0, "total_records_parsed": len(before)}


def test_import_into_an_empty_zone(site) -> None:
    _, daemon, client = site
    text = ("$ORIGIN empty.test.\n$TTL 600\n@ SOA ns. host. 1 2 3 4 5\n@ NS ns.example.\n"
            "www A 192.0.2.7\nwww TXT \"hello\"\n")
    status, envelope = import_file(client, EMPTY, text, proxied="false")
    assert status == 200, envelope
    assert envelope["result"] == {"recs_added": 2, "total_records_parsed": 4}
    assert answer(daemon, "www.empty.test", "A") == {"192.0.2.7"}
    assert "ns.example." not in answer(daemon, "empty.test", "NS")  # R9: acnsd's


@pytest.mark.parametrize(("text", "words"), [
    ("$TTL 60\nwww A 192.0.2.1\nwww CNAME x.example.\n", "CNAME"),
    ("$TTL 60\nns1 A 192.0.2.1\n", "[R8]"),
    ("$INCLUDE /etc/passwd\n", "$INCLUDE"),
    ("$TTL 60\n$GENERATE 1-100000 h$ A 192.0.2.1\n", "$GENERATE"),
    ("www A 192.0.2.1\n", "TTL"),
])
def test_import_refusals_add_nothing(site, text: str, words: str) -> None:
    config, daemon, client = site
    zone_file = config.parent / "zones" / "acme.test.zone"
    before = zone_file.read_bytes()
    status, envelope = import_file(client, ACME, "$ORIGIN acme.test.\n" + text
                                   if "$INCLUDE" not in text else text)
    assert status == 400, envelope
    assert words in refused(status, envelope)
    assert zone_file.read_bytes() == before


def test_import_ignores_records_outside_the_zone(site) -> None:
    _, daemon, client = site
    status, envelope = import_file(client, ACME, "$TTL 60\nx.other.test. A 192.0.2.1\n")
    assert envelope["result"] == {"recs_added": 0, "total_records_parsed": 0}
    assert answer(daemon, "x.other.test", "A") == set()


def test_import_takes_only_a_form_and_the_callers_zones(site) -> None:
    _, _, client = site
    status, envelope = client.call("POST", f"/zones/{ACME}/dns_records/import",
                                   {"file": "$TTL 60\nx A 192.0.2.1\n"})
    assert status == 400 and "multipart/form-data" in refused(status, envelope)
    status, envelope = import_file(client, ACME, "$TTL 60\n", proxied="true")
    assert status == 400 and "proxied" in refused(status, envelope)
    client.token = TOKEN_A
    try:
        status, envelope = import_file(client, OTHER, "$TTL 60\nx A 192.0.2.1\n")
        assert status == 403
        status, _, _ = export_text(client, OTHER)
        assert status == 403
    finally:
        client.token = "token-all-accounts-00000000000000"
