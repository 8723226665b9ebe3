"""A property of the DNS records API (issue 19): whatever records are added, the list, the
export, the zone file as dnspython reads it and the daemon's answers agree."""

from __future__ import annotations

import dns.rdatatype
import dns.zone
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from recordkit import EMPTY, answer, export_text, file_records, records_site, ttl_of

LABELS = st.sampled_from(["@", "a", "b", "deep.c", "_s._tcp"])
TTLS = st.sampled_from([1, 60, 3600])
RECORDS = st.one_of(
    st.builds(lambda n, i, t: {"type": "A", "name": n, "content": f"192.0.2.{i}", "ttl": t},
              LABELS, st.integers(1, 254), TTLS),
    st.builds(lambda n, i, t: {"type": "AAAA", "name": n, "content": f"2001:db8::{i:x}",
                               "ttl": t}, LABELS, st.integers(1, 0xffff), TTLS),
    st.builds(lambda n, s, t: {"type": "TXT", "name": n, "content": s, "ttl": t}, LABELS,
              st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=300)
              .filter(lambda text: not text.startswith('"')), TTLS),  # (quoted: records.py)
    st.builds(lambda n, p, t: {"type": "MX", "name": n, "content": "mx.example", "priority": p,
                               "ttl": t}, LABELS, st.integers(0, 65535), TTLS),
    st.builds(lambda n, p, t: {"type": "SRV", "name": n, "ttl": t, "data": {
        "priority": p, "weight": 1, "port": 443, "target": "srv.example"}}, LABELS,
        st.integers(0, 65535), TTLS),
)


def key(body: dict) -> tuple:
    return (body["type"], body["name"], body.get("content"), body.get("priority"),
            str(body.get("data")))


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory):
    with records_site(tmp_path_factory.mktemp("records_property")) as served:
        yield served


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(bodies=st.lists(RECORDS, min_size=1, max_size=8, unique_by=key))
def test_added_records_are_listed_exported_written_and_served(site, bodies) -> None:
    config, daemon, client = site
    created: list[dict] = []
    try:
        for body in bodies:
            created.append(client.ok("POST", f"/zones/{EMPTY}/dns_records", body))
        listed = [r for r in client.ok("GET", f"/zones/{EMPTY}/dns_records?per_page=1000")
                  if not r["locked"]]
        assert sorted(r["id"] for r in listed) == sorted(r["id"] for r in created)
        on_disk = file_records(config.parent / "zones" / "empty.test.zone", "empty.test")
        _, _, text = export_text(client, EMPTY)
        exported = dns.zone.from_text(text, "empty.test.", relativize=False)
        served = set()
        for name, ttl, rdata in exported.iterate_rdatas():
            kind = dns.rdatatype.to_text(rdata.rdtype)
            if kind in ("SOA", "NS") and name == exported.origin:
                continue
            served.add((name.to_text(omit_final_dot=True), kind, rdata.to_text()))
            assert rdata.to_text() in answer(daemon, name.to_text(), kind)
            assert ttl == ttl_of(daemon, name.to_text(), kind)
            assert all(r["ttl"] == ttl for r in listed
                       if (r["name"], r["type"]) == (name.to_text(omit_final_dot=True), kind))
        assert served == on_disk
        assert len(served) == len(listed)
    finally:
        for record in created:
            client.call("DELETE", f"/zones/{EMPTY}/dns_records/{record['id']}")
    assert file_records(config.parent / "zones" / "empty.test.zone", "empty.test") == set()
