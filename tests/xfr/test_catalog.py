"""Catalog zones (RFC 9432 v2) produced by acnsd: their content, their member ids stable
across restarts and reloads, one catalog per ACNS set, IXFR of a catalog after a zone is
created, moved or deleted through the API, and no catalog shown to a plain query."""

from __future__ import annotations

import signal
import urllib.error

import dns.flags
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdatatype
import dns.rrset
import dns.tsig
import pytest
from acnsd.dns.compiler import compile_plan
from acnsd.dns.delta import Delta, ZoneDelta, apply_delta
from acnsd.dns.plan import ServePlan
from acnsd.dns.wire import decode_rrset, encode_rrset
from acnsd.errors import ConfigError
from acnsd.model.catalogs import catalog_plan, member_rrset
from acnsd.model.config import load
from acnsd.model.types import zone_id
from acnsd.xfr.records import axfr_records
from e2e.e2e_daemon import ACCOUNT, kill
from hypothesis import given
from hypothesis import strategies as st
from tooling import unused_port

from .xfrkit import KEY, KEYRING, api, axfr, primary_config, records

SOA, PTR = dns.rdatatype.SOA, dns.rdatatype.PTR
CATALOGS = "{name: catalog.invalid, per_set: true}"
ALL = "catalog.invalid."
SET1 = f"{ACCOUNT}-set1.catalog.invalid."
SET2 = f"{ACCOUNT}-set2.catalog.invalid."


def _members(catalog) -> dict[str, str]:
    """The catalog's members: unique-id label → member zone (RFC 9432 §4.2)."""
    found = {}
    for name, node in catalog.items():
        for rdataset in node:
            if rdataset.rdtype == PTR:
                labels = name.relativize(catalog.origin).labels
                assert labels[1:] == (b"zones",) and len(rdataset) == 1
                found[labels[0].decode()] = rdataset[0].target.to_text()
    return found


def _ixfr(daemon, zone: str, serial: int) -> list[tuple]:
    messages = dns.query.xfr("127.0.0.1", zone, rdtype="IXFR", serial=serial,
                             port=daemon.port, timeout=5, keyring=KEYRING, relativize=False)
    return [(rrset.name.to_text(), rrset.rdtype, rdata.to_text())
            for message in messages for rrset in message.answer for rdata in rrset]


def _expected(*zones: str) -> dict[str, str]:
    return {zone_id(zone): zone + "." for zone in zones}


def test_catalogs_hold_every_zone_and_each_set_its_own(primary_factory):
    daemon = primary_factory(catalogs=CATALOGS)
    catalog = axfr(daemon, ALL)
    assert _members(catalog) == _expected("example.com", "sub.example.com", "other.org")
    assert [r.to_text() for r in catalog.find_rdataset("version." + ALL, "TXT")] == ['"2"']
    assert [r.to_text() for r in catalog.find_rdataset(ALL, "NS")] == ["invalid."]
    soa = catalog.get_soa()
    assert (soa.mname.to_text(), soa.refresh, soa.retry, soa.expire, soa.minimum) == (
        "invalid.", 3600, 600, 2147483646, 0)
    assert {rdataset.ttl for _, node in catalog.items() for rdataset in node} == {0}
    assert _members(axfr(daemon, SET1)) == _expected("example.com", "other.org")
    assert _members(axfr(daemon, SET2)) == _expected("sub.example.com")


def test_member_ids_and_serials_stay_across_reloads_and_restarts(primary_factory):
    daemon = primary_factory(catalogs=CATALOGS)
    before = {name: records(axfr(daemon, name)) for name in (ALL, SET1, SET2)}
    daemon.signal(signal.SIGHUP)
    daemon.wait_log(r"event=reload result=ok")
    assert {name: records(axfr(daemon, name)) for name in (ALL, SET1, SET2)} == before
    kill(daemon)
    again = primary_factory(catalogs=CATALOGS)
    assert {name: records(axfr(again, name)) for name in (ALL, SET1, SET2)} == before


def test_only_a_client_that_may_transfer_is_answered(primary_factory):
    daemon = primary_factory(catalogs=CATALOGS)
    member = f"{zone_id('example.com')}.zones.{ALL}"
    for name, rdtype in ((ALL, "SOA"), (member, "PTR")):
        for send in (dns.query.udp, dns.query.tcp):
            plain = send(dns.message.make_query(name, rdtype), "127.0.0.1", port=daemon.port,
                         timeout=3)
            assert plain.rcode() == dns.rcode.REFUSED and not plain.answer
    signed = dns.message.make_query(ALL, "SOA")
    signed.use_tsig(KEYRING, KEY)
    over_udp = dns.query.udp(signed, "127.0.0.1", port=daemon.port, timeout=3)
    assert over_udp.flags & dns.flags.TC and not over_udp.answer and over_udp.had_tsig
    over_tcp = dns.query.tcp(signed, "127.0.0.1", port=daemon.port, timeout=3)
    assert over_tcp.rcode() == dns.rcode.NOERROR and over_tcp.had_tsig
    assert over_tcp.answer[0].rdtype == SOA
    assert over_tcp.answer[0][0].serial == axfr(daemon, ALL).get_soa().serial
    # 127.0.0.2 may transfer unsigned only: signed with KEY, it is not admitted
    with pytest.raises(dns.tsig.PeerBadKey):  # NOTAUTH, BADKEY
        dns.query.tcp(signed, "127.0.0.1", port=daemon.port, timeout=3, source="127.0.0.2")
    daemon.wait_log(r"transfer_refused peer=127\.0\.0\.2 zone=catalog\.invalid\. kind=query")


def test_ixfr_of_a_catalog_carries_only_the_member_created_moved_or_deleted(primary_factory):
    api_port = unused_port()
    daemon = primary_factory(catalogs=CATALOGS, api_port=api_port)
    serials = {name: axfr(daemon, name).get_soa().serial for name in (ALL, SET1, SET2)}
    api(api_port, "POST", "/zones", {"name": "fresh.test", "account": {"id": ACCOUNT}})
    ptr = (f"{zone_id('fresh.test')}.zones.{ALL}", PTR, "fresh.test.")
    created = _ixfr(daemon, ALL, serials[ALL])
    new = created[0]
    assert [rdtype for _, rdtype, _ in created] == [SOA, SOA, SOA, PTR, SOA]
    assert created[3] == ptr and created[2] == new and created[4] == new
    assert created[1][2].split()[2] == str(serials[ALL])
    # a zone on the standard nameservers is in no set's catalog
    assert axfr(daemon, SET2).get_soa().serial == serials[SET2]

    api(api_port, "PATCH", f"/zones/{zone_id('fresh.test')}/dns_settings",
        {"nameservers": {"type": "custom.account", "ns_set": 2}})
    moved = _ixfr(daemon, SET2, serials[SET2])
    assert [rdtype for _, rdtype, _ in moved] == [SOA, SOA, SOA, PTR, SOA]
    assert moved[3] == (f"{zone_id('fresh.test')}.zones.{SET2}", PTR, "fresh.test.")
    assert _ixfr(daemon, ALL, int(new[2].split()[2])) == [new]  # its members are the same

    api(api_port, "DELETE", f"/zones/{zone_id('fresh.test')}")
    deleted = _ixfr(daemon, ALL, int(new[2].split()[2]))
    assert [rdtype for _, rdtype, _ in deleted] == [SOA, SOA, PTR, SOA, SOA]
    assert deleted[2] == ptr
    assert _members(axfr(daemon, ALL)) == _expected("example.com", "sub.example.com",
                                                    "other.org")
    assert _members(axfr(daemon, SET2)) == _expected("sub.example.com")


def test_a_zone_named_as_a_catalog_is_refused(tmp_path):
    config = primary_config(tmp_path, 5300, catalogs="{name: org}")
    with pytest.raises(ConfigError, match="zone other.org is at or below org, where acnsd "
                                          "names its catalog zones"):
        load(config, save_state=False)


def test_a_zone_created_among_the_catalogs_is_refused(primary_factory):
    api_port = unused_port()
    daemon = primary_factory(catalogs=CATALOGS, api_port=api_port)
    before = records(axfr(daemon, ALL))
    for name in ("catalog.invalid", f"{ACCOUNT}-set3.catalog.invalid"):
        with pytest.raises(urllib.error.HTTPError) as refused:
            api(api_port, "POST", "/zones", {"name": name, "account": {"id": ACCOUNT}})
        assert refused.value.code == 400
        assert "where acnsd names its catalog zones" in refused.value.read().decode()
    assert records(axfr(daemon, ALL)) == before
    assert "pipeline_failed" not in daemon.log()


def test_catalogs_configuration_errors(tmp_path):
    config = primary_config(tmp_path, 5300, catalogs="{name: 'a..b', per_set: 3}")
    with pytest.raises(ConfigError) as error:
        load(config, save_state=False)
    paths = {problem.path for problem in error.value.problems}
    assert paths == {"server.catalogs.name", "server.catalogs.per_set"}


def test_a_load_that_does_not_record_serves_the_serials_recorded(tmp_path):
    """What a worker of --workers serves: its parent recorded first."""
    config = primary_config(tmp_path, 5300, catalogs=CATALOGS)

    def serials(loaded) -> dict[str, int]:
        return {plan.origin.to_text(): decode_rrset(plan.rrsets[-1])[0].serial
                for plan in loaded.plan.catalogs}

    recorded = serials(load(config))
    assert set(recorded) == {ALL, SET1, SET2} and 0 not in recorded.values()
    assert serials(load(config, save_state=False)) == recorded


LABEL = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=20)


@given(st.lists(LABEL, min_size=1, max_size=4).map(".".join), LABEL)
def test_a_member_ptr_is_what_dnspython_encodes(member, catalog):
    """member_rrset's own encoding is wire.encode_rrset's of the dnspython RRset."""
    origin = dns.name.from_text(catalog + ".invalid")
    expected = dns.rrset.from_text(f"{zone_id(member)}.zones.{origin}", 0, "IN", "PTR",
                                   member + ".")
    made = member_rrset(origin, member)
    assert decode_rrset(made) == expected and made.owner.wire == expected.name.to_wire()
    assert made.fixed == encode_rrset(expected).fixed
    assert made.rdatas[0][0].wire == expected[0].target.to_wire()


def _served(tables) -> dict[bytes, list]:
    return {key: [decode_rrset(rrset) for rrset in axfr_records(tables.zone(key))]
            for key in tables.zones}


def test_a_delta_changes_the_catalogs_tables_alone():
    """apply_delta gives the catalogs' tables a cold compile gives, zones untouched."""
    before = catalog_plan("catalog.invalid", ["a.test", "b.test"], serial=1)
    after = catalog_plan("catalog.invalid", ["a.test", "c.test"], serial=2)
    added = catalog_plan("cat2.invalid", [], serial=1)
    tables = compile_plan(ServePlan((), catalogs=(before,)))
    key = before.origin.to_wire()
    delta = Delta(1, catalogs=(ZoneDelta(key, after), ZoneDelta(added.origin.to_wire(), added)))
    changed, _ = apply_delta(tables, delta)
    assert changed.zones is tables.zones and changed.catalogs is not None
    cold = compile_plan(ServePlan((), catalogs=(after, added))).catalogs
    assert cold is not None
    assert _served(changed.catalogs) == _served(cold)
    removed, _ = apply_delta(changed, Delta(2, catalogs=(ZoneDelta(key, None),)))
    assert removed.catalogs is not None and list(removed.catalogs.zones) == [
        added.origin.to_wire()]
    assert apply_delta(removed, Delta(3))[0].catalogs is removed.catalogs
