"""Helpers for core tests: ZonePlans from inline zone text, queries through `answer()`,
and responses compared section by section as presentation text."""

from __future__ import annotations

import dns.edns
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdatatype
import dns.rrset
import dns.zone
from acnsd.dns.compiler import Tables, compile_plan
from acnsd.dns.core import Transport, answer
from acnsd.dns.plan import ServePlan, ServerOptions, View, ZonePlan, zone_plan
from acnsd.dns.wire import encode_rrset

SOA_NS = """
$TTL 3600
@ SOA ns1.{o} hostmaster.{o} 1 10000 2400 604800 1800
@ NS ns1.{o}
@ NS ns2.{o}
"""


def zone(origin: str, text: str, *, soa: bool = True) -> ZonePlan:
    """A ZonePlan from zone text; with `soa`, a managed-style SOA (minimum 1800, TTL 3600)
    and NS ns1/ns2 at the apex are prepended."""
    name = dns.name.from_text(origin)
    if soa:
        text = SOA_NS.format(o=name.to_text()) + text
    z = dns.zone.from_text(text, origin=name, relativize=False, check_origin=False)
    rrsets = tuple(z.iterate_rdatasets())
    return zone_plan(
        name,
        (encode_rrset(dns.rrset.from_rdata_list(owner, rds.ttl, list(rds)))
         for owner, rds in rrsets),
    )


def tables(
    *zones: ZonePlan, views: tuple[View, ...] = (), options: ServerOptions | None = None
) -> Tables:
    return compile_plan(
        ServePlan(zones=tuple(zones), views=views, options=options or ServerOptions())
    )


def make_query(
    qname: str,
    qtype: str = "A",
    *,
    rdclass: str = "IN",
    edns: int | None = 0,
    payload: int = 1232,
    do: bool = False,
    nsid: bool = False,
    rd: bool = False,
    cd: bool = False,
) -> dns.message.QueryMessage:
    options = [dns.edns.GenericOption(dns.edns.NSID, b"")] if nsid else None
    q = dns.message.make_query(
        qname,
        qtype,
        rdclass,
        use_edns=edns if edns is not None else False,
        payload=payload,
        want_dnssec=do,
        options=options,
    )
    if not rd:
        q.flags &= ~dns.flags.RD
    if cd:
        q.flags |= dns.flags.CD
    return q


def ask(
    t: Tables,
    qname: str,
    qtype: str = "A",
    *,
    transport: Transport = Transport.UDP,
    local: str | None = None,
    **kwargs,
) -> dns.message.Message:
    """Ask through `answer()` and parse the response with dnspython."""
    q = make_query(qname, qtype, **kwargs)
    wire = answer(t, q.to_wire(), transport, local)
    assert wire is not None, "the query was dropped"
    response = dns.message.from_wire(wire)
    assert response.id == q.id
    return response


def lines(section: list) -> list[str]:
    """A section as sorted presentation lines, one per RR."""
    return sorted(line for rrset in section for line in rrset.to_text().splitlines())


def flags(response: dns.message.Message) -> set[str]:
    return {f.lower() for f in dns.flags.to_text(response.flags).split()} - {"qr"}


def check(
    response: dns.message.Message,
    rcode: str,
    aa: bool,
    answer: list[str] = (),
    authority: list[str] = (),
    additional: list[str] = (),
) -> None:
    """Compare rcode, AA and each section with the expected presentation lines."""
    assert dns.rcode.to_text(response.rcode()) == rcode
    assert ("aa" in flags(response)) == aa
    assert "ra" not in flags(response)
    assert lines(response.answer) == sorted(answer)
    assert lines(response.authority) == sorted(authority)
    assert lines(response.additional) == sorted(additional)
