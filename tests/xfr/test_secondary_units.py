"""The secondary side's parts without a daemon: `server.secondary` as loaded and each
mistake's message, the members read from a catalog (RFC 9432 §4), the copies on disk and
the tables' SERVFAIL for a zone with nothing to serve."""

from __future__ import annotations

import os
import time

import dns.message
import dns.name
import dns.rcode
import dns.zone
import pytest
from acnsd.dns.compiler import compile_plan
from acnsd.dns.core import Transport, respond
from acnsd.dns.delta import Delta, ZoneDelta, apply_delta
from acnsd.dns.outcome import Outcome
from acnsd.dns.plan import ServePlan
from acnsd.errors import ConfigError
from acnsd.model.config import load
from acnsd.model.types import PrimaryServer
from acnsd.xfr import copies
from acnsd.xfr.secondary import catalog_members
from hypothesis import given
from hypothesis import strategies as st

from .xfrkit import KEY, SECRET

KEYS = f"  tsig_keys: [{{name: {KEY}, algorithm: hmac-sha256, secret: \"{SECRET}\"}}]\n"


def _load(tmp_path, secondary: str, accounts: str = ""):
    config = tmp_path / "acnsd.yaml"
    config.write_text('server:\n  listen: ["127.0.0.1:5353"]\n' + KEYS
                      + f"  secondary: {secondary}\n" + accounts)
    return load(str(config), save_state=False)


def test_a_secondary_needs_no_accounts(tmp_path):
    loaded = _load(tmp_path, f'{{primaries: [{{address: 192.0.2.1, key: {KEY}}}, '
                   '{address: "[2001:db8::1]:5300"}], zones: [Example.NET.], '
                   'catalogs: [catalog.invalid], dir: copies}')
    secondary = loaded.model.server.secondary
    assert secondary.primaries == (PrimaryServer("192.0.2.1", 53, KEY),
                                   PrimaryServer("2001:db8::1", 5300))
    assert secondary.zones == ("example.net",) and secondary.catalogs == ("catalog.invalid",)
    assert secondary.directory == tmp_path / "copies"
    assert loaded.plan.zones == ()


def test_without_secondary_accounts_are_required(tmp_path):
    config = tmp_path / "acnsd.yaml"
    config.write_text('server:\n  listen: ["127.0.0.1:5353"]\n')
    with pytest.raises(ConfigError, match="missing required key 'accounts'"):
        load(str(config), save_state=False)


@pytest.mark.parametrize("secondary,message", [
    ("{zones: [example.net]}", "missing required key 'primaries'"),
    ("{primaries: [], zones: [example.net]}", "name at least one primary"),
    ("{primaries: [{address: 192.0.2.1}]}", "list the zones to transfer"),
    ("{primaries: [{address: 192.0.2.1, key: nokey}], zones: [a.test]}",
     "'nokey' is not in server.tsig_keys"),
    ("{primaries: [{address: nowhere}], zones: [a.test]}", "expected ADDR or ADDR:PORT"),
    ("{primaries: [{address: 192.0.2.1}], zone: [a.test]}", "did you mean 'zones'?"),
])
def test_secondary_mistakes(tmp_path, secondary, message):
    with pytest.raises(ConfigError) as error:
        _load(tmp_path, secondary)
    assert message in str(error.value)


def _catalog(version: str, members: list[str]) -> dns.zone.Zone:
    lines = ["@ 0 IN SOA invalid. invalid. 1 3600 600 2147483646 0", "@ 0 IN NS invalid.",
             f'version 0 IN TXT "{version}"']
    lines += [f"id{i}.zones 0 IN PTR {member}." for i, member in enumerate(members)]
    lines.append("group.id0.zones 0 IN TXT \"a property, no member\"")
    return dns.zone.from_text("\n".join(lines), "cat.invalid.", relativize=False)


_LABEL = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?", fullmatch=True)


@given(st.lists(st.lists(_LABEL, min_size=1, max_size=3).map(".".join), max_size=8))
def test_catalog_members_are_its_ptr_targets(members):
    assert catalog_members(_catalog("2", members)) == sorted(set(members))


def test_a_catalog_of_another_version_has_no_member():
    assert catalog_members(_catalog("1", ["example.com"])) == []
    assert catalog_members(_catalog("2", ["Example.COM"])) == ["example.com"]


def test_a_copy_is_kept_as_transferred_and_dated_by_its_file(tmp_path):
    zone = dns.zone.from_text("@ 60 IN SOA ns h 5 60 30 120 60\n@ 60 IN NS ns\n"
                              "ns 60 IN A 192.0.2.1\n*.w 60 IN TXT \"x\"\n", "a.test.",
                              relativize=False)
    copies.save(tmp_path, zone)
    loaded, confirmed = copies.load(tmp_path, "a.test")
    assert loaded == zone and isinstance(loaded, copies.Copy)
    assert abs(confirmed - time.time()) < 60
    os.utime(copies.path_of(tmp_path, "a.test"), (1000, 1000))
    assert copies.load(tmp_path, "a.test")[1] == 1000
    copies.touch(tmp_path, "a.test")
    assert copies.load(tmp_path, "a.test")[1] > 1000
    (tmp_path / "b.test.zone").write_text("not a zone\n")
    assert copies.load(tmp_path, "b.test") is None and copies.load(tmp_path, "c.test") is None
    copies.remove(tmp_path, "a.test")
    assert copies.load(tmp_path, "a.test") is None


def _ask(tables, name: str) -> tuple[int, Outcome]:
    wire = dns.message.make_query(name, "A").to_wire()
    response, outcome, _ = respond(tables, wire, Transport.UDP)
    return dns.message.from_wire(response).rcode(), outcome


def _applied(tables, delta):
    """The tables after `delta`, their cache invalidated as the server does (serve.py)."""
    new, names = apply_delta(tables, delta)
    new.cache.invalidate(names)
    return new


def test_a_zone_with_nothing_to_serve_is_servfail_until_it_is_served():
    zone = dns.zone.from_text("@ 60 IN SOA ns h 5 60 30 120 60\n@ 60 IN NS ns\n"
                              "ns 60 IN A 192.0.2.1\n", "a.test.", relativize=False)
    key = dns.name.from_text("a.test.").to_wire()
    tables = compile_plan(ServePlan(()))
    for _ in range(3):  # asked again: cached
        assert _ask(tables, "ns.a.test.") == (dns.rcode.REFUSED, Outcome.REFUSED)
    pending = _applied(tables, Delta(1, unavailable=frozenset({key})))
    assert _ask(pending, "ns.a.test.") == (dns.rcode.SERVFAIL, Outcome.UNAVAILABLE)
    assert _ask(pending, "a.test.") == (dns.rcode.SERVFAIL, Outcome.UNAVAILABLE)
    assert _ask(pending, "b.test.") == (dns.rcode.REFUSED, Outcome.REFUSED)
    assert _ask(pending, "ns.a.test.") == (dns.rcode.SERVFAIL, Outcome.UNAVAILABLE)
    served = _applied(pending, Delta(2, (ZoneDelta(key, copies.plan_of(zone)),),
                                     unavailable=frozenset()))
    assert _ask(served, "ns.a.test.") == (dns.rcode.NOERROR, Outcome.ANSWER)
    expired = _applied(served, Delta(3, (ZoneDelta(key, None),), unavailable=frozenset({key})))
    assert _ask(expired, "ns.a.test.") == (dns.rcode.SERVFAIL, Outcome.UNAVAILABLE)
