"""DNS records through the management API (issue 19), against `acnsd serve` with its API:
each change is written to the zone file and answered by the daemon right after the 200."""

from __future__ import annotations

import pytest
from apikit import refused
from recordkit import ACME, EMPTY, MULTI, answer, file_records, records_site, ttl_of


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory):
    with records_site(tmp_path_factory.mktemp("records")) as served:
        yield served


def listed(client, zone: str, **query: str) -> list[dict]:
    query = {"per_page": "1000", **query}
    text = "&".join(f"{k}={v}" for k, v in query.items())
    return client.ok("GET", f"/zones/{zone}/dns_records?{text}")


def test_create_get_delete_is_served(site) -> None:
    config, daemon, client = site
    created = client.ok("POST", f"/zones/{ACME}/dns_records",
                        {"type": "A", "name": "api", "content": "192.0.2.10", "ttl": 120})
    assert created["name"] == "api.acme.test" and created["content"] == "192.0.2.10"
    assert created["ttl"] == 120 and created["locked"] is False
    assert answer(daemon, "api.acme.test", "A") == {"192.0.2.10"}
    assert ttl_of(daemon, "api.acme.test", "A") == 120
    assert client.ok("GET", f"/zones/{ACME}/dns_records/{created['id']}") == created
    zone_file = config.parent / "zones" / "acme.test.zone"
    assert ("api.acme.test", "A", "192.0.2.10") in file_records(zone_file, "acme.test")
    assert zone_file.read_text().startswith("; acme.test: the leading comments survive")
    assert client.ok("DELETE", f"/zones/{ACME}/dns_records/{created['id']}") == {
        "id": created["id"]}
    assert answer(daemon, "api.acme.test", "A") == set()
    status, envelope = client.call("GET", f"/zones/{ACME}/dns_records/{created['id']}")
    assert status == 404 and "not found" in refused(status, envelope)


TYPES = [  # (body, the rdata dnspython shows, the type asked)
    ({"type": "AAAA", "name": "v6", "content": "2001:db8::10"}, "2001:db8::10"),
    ({"type": "CNAME", "name": "alias", "content": "www.acme.test"}, "www.acme.test."),
    ({"type": "MX", "name": "@", "content": "mx.acme.test", "priority": 5},
     "5 mx.acme.test."),
    ({"type": "TXT", "name": "txt", "content": "v=spf1 -all"}, '"v=spf1 -all"'),
    ({"type": "TXT", "name": "long", "content": "x" * 300}, f'"{"x" * 255}" "{"x" * 45}"'),
    ({"type": "TXT", "name": "quoted", "content": '"a b" "\\"c"'}, '"a b" "\\"c"'),
    ({"type": "NS", "name": "sub", "content": "ns.elsewhere.example"},
     "ns.elsewhere.example."),
    ({"type": "SRV", "name": "_sip._tcp", "data": {"priority": 1, "weight": 2, "port": 5060,
                                                     "target": "sip.acme.test"}},
     "1 2 5060 sip.acme.test."),
    ({"type": "CAA", "name": "@", "data": {"flags": 0, "tag": "issue",
                                           "value": "ca.example"}}, '0 issue "ca.example"'),
    ({"type": "PTR", "name": "1.2", "content": "host.acme.test"}, "host.acme.test."),
    ({"type": "DNAME", "name": "moved", "content": "elsewhere.example"},
     "elsewhere.example."),
]


@pytest.mark.parametrize(("body", "rdata"), TYPES, ids=[b["type"] + "-" + b["name"]
                                                        for b, _ in TYPES])
def test_each_type_is_written_and_served(site, body: dict, rdata: str) -> None:
    config, daemon, client = site
    created = client.ok("POST", f"/zones/{ACME}/dns_records", body)
    name = created["name"]
    assert (name, body["type"], rdata) in file_records(
        config.parent / "zones" / "acme.test.zone", "acme.test")
    assert rdata in answer(daemon, name, body["type"])
    if body["type"] == "MX":
        assert created["priority"] == 5 and created["content"] == "mx.acme.test"
    if "data" in body:
        assert created["data"] == body["data"]
    elif body["type"] != "MX":  # listed as written (several TXT strings: quoted)
        assert created["content"] == (rdata if body["name"] == "long" else body["content"])
    assert client.ok("GET", f"/zones/{ACME}/dns_records/{created['id']}") == created
    client.ok("DELETE", f"/zones/{ACME}/dns_records/{created['id']}")
    assert rdata not in answer(daemon, name, body["type"])


def test_filters_and_pages(site) -> None:
    _, _, client = site
    everything = listed(client, ACME)
    assert [r["type"] for r in listed(client, ACME, type="aaaa")] == ["AAAA"] * sum(
        r["type"] == "AAAA" for r in everything)
    www = listed(client, ACME, name="www.acme.test")
    assert {(r["type"], r["content"]) for r in www} == {("A", "192.0.2.2"),
                                                        ("AAAA", "2001:db8::2")}
    assert listed(client, ACME, name="www") == www
    assert [r["name"] for r in listed(client, ACME, content="192.0.2.2")] == ["www.acme.test"]
    pages = []
    for page in (1, 2, 3, 4):
        status, envelope = client.call("GET", f"/zones/{ACME}/dns_records?page={page}"
                                       "&per_page=3")
        assert status == 200
        info = envelope["result_info"]
        assert info == {"page": page, "per_page": 3, "count": len(envelope["result"]),
                        "total_count": len(everything),
                        "total_pages": -(-len(everything) // 3)}
        pages += envelope["result"]
    assert pages == everything
    status, envelope = client.call("GET", f"/zones/{ACME}/dns_records?order=type")
    assert status == 400 and "order" in refused(status, envelope)


def test_ids_are_stable(site) -> None:
    _, daemon, client = site
    created = client.ok("POST", f"/zones/{ACME}/dns_records",
                        {"type": "TXT", "name": "stable", "content": "one"})
    assert created["ttl"] == 3600  # a new RRset: automatic, the file's $TTL
    assert [r["id"] for r in listed(client, ACME, name="stable")] == [created["id"]]
    patched = client.ok("PATCH", f"/zones/{ACME}/dns_records/{created['id']}", {"ttl": 300})
    assert patched["id"] == created["id"] and patched["ttl"] == 300  # TTL only: same id
    assert ttl_of(daemon, "stable.acme.test", "TXT") == 300
    put = client.ok("PUT", f"/zones/{ACME}/dns_records/{created['id']}",
                    {"type": "TXT", "name": "stable", "content": "two"})
    assert put["id"] != created["id"] and put["ttl"] == 3600  # alone: automatic
    assert answer(daemon, "stable.acme.test", "TXT") == {'"two"'}
    status, envelope = client.call("GET", f"/zones/{ACME}/dns_records/{created['id']}")
    assert status == 404
    again = client.ok("PATCH", f"/zones/{ACME}/dns_records/{put['id']}", {"content": "one"})
    assert again["id"] == created["id"]  # the id is what the record is
    sibling = client.ok("POST", f"/zones/{ACME}/dns_records",
                        {"type": "TXT", "name": "stable", "content": "three", "ttl": 1})
    assert sibling["ttl"] == 3600  # ttl 1: automatic, set on the whole RRset
    assert {r["ttl"] for r in listed(client, ACME, name="stable")} == {3600}
    for record in listed(client, ACME, name="stable"):
        client.ok("DELETE", f"/zones/{ACME}/dns_records/{record['id']}")


def test_managed_records_are_read_only(site) -> None:
    _, daemon, client = site
    managed = {(r["type"], r["name"]): r for r in listed(client, ACME) if r["locked"]}
    assert set(managed) == {("SOA", "acme.test"), ("NS", "acme.test"),
                            ("A", "ns1.acme.test"), ("A", "ns2.acme.test"),
                            ("AAAA", "ns1.acme.test"), ("AAAA", "ns2.acme.test")}
    for (kind, name), record in managed.items():
        assert record["meta"]["read_only"] is True and record["meta"]["managed_by"] == "acnsd"
        rule = record["meta"]["rule"]
        assert rule == {"SOA": "R10", "NS": "R9"}.get(kind, "R8")
        if kind in ("A", "AAAA"):
            assert {record["content"]} == answer(daemon, name, kind)
        for method, body in (("PATCH", {"ttl": 600}), ("DELETE", None),
                             ("PUT", {"type": "TXT", "name": "x", "content": "y"})):
            status, envelope = client.call(method, f"/zones/{ACME}/dns_records/{record['id']}",
                                           body)
            assert status == 400, (method, envelope)
            assert f"[{rule}]" in refused(status, envelope)
            assert envelope["errors"][0]["code"] == 1000 + int(rule[1:])
    ns = {r["content"] for r in listed(client, ACME, type="NS") if r["locked"]}
    assert {n + "." for n in ns} == answer(daemon, "acme.test", "NS")


REFUSALS = [  # (zone, body, rule or None, words)
    (ACME, {"type": "A", "name": "ns1", "content": "192.0.2.99"}, "R8", "managed by acnsd"),
    (ACME, {"type": "TXT", "name": "ns1", "content": "x"}, None, None),  # allowed beside
    (EMPTY, {"type": "CNAME", "name": "@", "content": "elsewhere.example"}, "R9",
     "CNAME at the apex"),
    (ACME, {"type": "CNAME", "name": "www", "content": "elsewhere.example"}, None,
     "CNAME"),
    (ACME, {"type": "NS", "name": "@", "content": "ns.elsewhere.example"}, "R9",
     "multi_provider"),
    (ACME, {"type": "SOA", "name": "@", "content": "x"}, "R10", "dns_settings.soa"),
    (ACME, {"type": "A", "name": "bad", "content": "300.1.1.1"}, None, "invalid A"),
    (ACME, {"type": "MX", "name": "m", "content": "mx.acme.test"}, None, "priority"),
    (ACME, {"type": "A", "name": "t", "content": "192.0.2.1", "ttl": 5}, None, "ttl"),
    (ACME, {"type": "A", "name": "p", "content": "192.0.2.1", "proxied": True}, None,
     "proxied"),
    (ACME, {"type": "A", "name": "www", "content": "192.0.2.2"}, None, "identical"),
]


@pytest.mark.parametrize(("zone", "body", "rule", "words"), REFUSALS)
def test_refusals_name_the_rule_and_change_nothing(site, zone: str, body: dict,
                                                    rule: str | None, words: str | None
                                                    ) -> None:
    config, daemon, client = site
    name = {ACME: "acme.test", EMPTY: "empty.test"}[zone]
    zone_file = config.parent / "zones" / f"{name}.zone"
    before = zone_file.read_bytes()
    status, envelope = client.call("POST", f"/zones/{zone}/dns_records", body)
    if words is None:  # the control case: accepted
        assert status == 200, envelope
        client.ok("DELETE", f"/zones/{zone}/dns_records/{envelope['result']['id']}")
        return
    assert status == 400, envelope
    message = refused(status, envelope)
    assert words in message, message
    if rule is not None:
        assert f"[{rule}]" in message and envelope["errors"][0]["code"] == 1000 + int(rule[1:])
    assert "/tmp" not in message and str(config.parent) not in message
    assert zone_file.read_bytes() == before
    assert not list(zone_file.parent.glob(".*api-old"))
    if body["type"] in ("A", "CNAME") and words != "identical":  # nothing new served
        owner = name if body["name"] == "@" else f"{body['name']}.{name}"
        assert not any(body["content"] in text for text in answer(daemon, owner, body["type"]))


def test_apex_ns_of_a_multi_provider_zone(site) -> None:
    _, daemon, client = site
    created = client.ok("POST", f"/zones/{MULTI}/dns_records",
                        {"type": "NS", "name": "multi.test", "content": "ns.other.example"})
    assert "ns.other.example." in answer(daemon, "multi.test", "NS")
    client.ok("DELETE", f"/zones/{MULTI}/dns_records/{created['id']}")
    assert "ns.other.example." not in answer(daemon, "multi.test", "NS")

