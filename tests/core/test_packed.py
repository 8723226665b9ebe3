"""A zone's RRsets packed in one octet string (dns/packed.py) decode to the RRsets packed,
in their order, and read as dnspython writes their RRs (the oracle)."""

import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rrset
from acnsd.dns import packed, wire
from acnsd.dns.plan import zone_plan
from acnsd.dns.wire import WireName, decode_rrset, encode_rrset
from acnsd.model import journal
from hypothesis import given, settings
from hypothesis import strategies as st

ORIGIN = dns.name.from_text("Ex.test.")
_RDATAS = {  # per type, rdata texts (names relative to ORIGIN)
    "A": ["192.0.2.1", "198.51.100.7", "0.0.0.0"],
    "AAAA": ["2001:db8::1", "::"],
    "NS": ["ns1", "NS2.other.test.", "."],
    "CNAME": ["target", "Target.Other.test."],
    "PTR": ["host", "."],
    "MX": ["10 mail", "0 .", "65535 Mail.other.test."],
    "SOA": ["ns1 hostmaster 7 10000 2400 604800 1800", "A.test. b.c. 4294967295 1 2 3 4"],
    "TXT": ['"x"', '"a b" "c"', '""'],
    "SRV": ["0 5 53 ns1", "1 0 0 ."],
    "CAA": ['0 issue "ca.test"'],
    "DNAME": ["other.test."],
    "TYPE65280": ["\\# 3 010203", "\\# 0"],
}
owners = st.lists(st.text(alphabet="abXY*-0", min_size=1, max_size=6), max_size=3).map(
    lambda labels: dns.name.Name([label.encode() for label in labels]).derelativize(ORIGIN))


@st.composite
def rrsets(draw) -> list[dns.rrset.RRset]:
    """RRsets as a plan may list them: owners repeated (one after the other or not), in
    any case, any TTL, class IN (an unknown type: or CH)."""
    found = []
    for _ in range(draw(st.integers(0, 8))):
        owner = draw(st.sampled_from([o.name for o in found]) if found and draw(st.booleans())
                     else owners)
        rdtype = draw(st.sampled_from(sorted(_RDATAS)))
        texts = draw(st.lists(st.sampled_from(_RDATAS[rdtype]), min_size=1, max_size=3,
                              unique=True))
        rdclass = (dns.rdataclass.CH if rdtype == "TYPE65280" and draw(st.booleans())
                   else dns.rdataclass.IN)
        rrset = dns.rrset.RRset(owner, rdclass, dns.rdatatype.from_text(rdtype))
        rrset.update_ttl(draw(st.sampled_from([0, 300, 2**31 - 1, 2**32 - 1])))
        for text in texts:
            rrset.add(dns.rdata.from_text(rdclass, rrset.rdtype, text, origin=ORIGIN,
                                          relativize=False))
        found.append(rrset)
    return found


def _parts(rdata: object) -> object:
    """An rdata as a WireRRset holds it, with its names as their wire forms."""
    if rdata.__class__ is bytes:
        return rdata
    return tuple(p.wire if isinstance(p, WireName) else p for p in rdata)


def _held(rrset: wire.WireRRset) -> tuple:
    return (rrset.__class__, rrset.owner.wire, rrset.owner.key, rrset.rdtype, rrset.fixed,
            tuple(map(_parts, rrset.rdatas)), tuple(t.wire for t in rrset.targets))


@settings(max_examples=300, deadline=None)
@given(rrsets())
def test_unpacked_are_the_rrsets_packed(given_rrsets):
    """decode(encode(rrsets)) == rrsets: each RRset's owner as spelled, type, class, TTL,
    rdatas in their order (names apart for the compressible types, as wire.encode_rdata
    keeps them) and targets; dnspython reads them as the RRsets it made."""
    encoded = [encode_rrset(r) for r in given_rrsets]
    content, records = packed.pack_rrsets(encoded)
    decoded = packed.unpack_rrsets(content)
    assert list(map(_held, decoded)) == list(map(_held, encoded))
    assert records == sum(len(r) for r in given_rrsets)
    for rrset, oracle in zip(decoded, given_rrsets, strict=True):
        again = decode_rrset(rrset)
        assert (again, again.ttl, again.rdclass) == (oracle, oracle.ttl, oracle.rdclass)
        assert again.name.labels == oracle.name.labels  # the owner's case kept
    assert list(map(_held, zone_plan(ORIGIN, encoded).rrsets)) == list(map(_held, encoded))


@settings(max_examples=200, deadline=None)
@given(rrsets())
def test_packed_rrsets_read_as_the_store_writes_rrs(given_rrsets):
    """Owner, fixed part and each rdata, joined, are the RRs in the store's format: the
    owner uncompressed as spelled, rdata uncompressed as dnspython writes it."""
    encoded = [encode_rrset(r) for r in given_rrsets]
    read = [(owner, fixed, packed.rdatas(block))
            for owner, fixed, block in packed.rrsets(packed.pack_rrsets(encoded)[0])]
    assert [owner + fixed + rdata for owner, fixed, rdatas in read
            for rdata in rdatas] == journal.rrs_of(encoded)
    for (owner, fixed, rdatas), oracle in zip(read, given_rrsets, strict=True):
        assert owner == oracle.name.to_wire()
        assert [rdata[2:] for rdata in rdatas] == [rd.to_wire() for rd in oracle]
        assert fixed == wire.pack_fixed(oracle.rdtype, oracle.ttl, oracle.rdclass)


@settings(max_examples=200, deadline=None)
@given(rrsets())
def test_an_owners_rrsets_are_found_where_they_are_together(given_rrsets):
    """owner_rrsets finds an owner's RRsets (by its lower-cased key), their types in order,
    and the octets after each one's owner field, when each owner's RRsets are together, as
    in a zone file read (one spelling an owner)."""
    by_owner: dict[bytes, list[wire.WireRRset]] = {}
    for rrset in given_rrsets:
        group = by_owner.setdefault(rrset.name.to_wire().lower(), [])
        group.append(encode_rrset(rrset, owner=group[0].owner if group else None))
    content, _ = packed.pack_rrsets([r for group in by_owner.values() for r in group])
    for key in [*by_owner, ORIGIN.to_wire().lower(), b"\x00"]:
        group = by_owner.get(key, [])
        owner, found = packed.owner_rrsets(content, key)
        assert [rdtype for rdtype, _, _ in found] == [r.rdtype for r in group]
        assert owner == (group[0].owner.wire if group else b"")
        field = bytes((len(owner),)) + owner
        assert [packed.pack_rrsets([r])[0] for r in group] == [
            field + content[start:end] for _, start, end in found]


def test_an_owner_repeated_is_packed_once():
    www = dns.name.from_text("www", ORIGIN)
    one = [encode_rrset(dns.rrset.from_text(www, 300, "IN", t, v))
           for t, v in (("A", "192.0.2.1"), ("AAAA", "2001:db8::1"))]
    content, _ = packed.pack_rrsets(one)
    assert content.count(www.to_wire()) == 1
    first, second = packed.unpack_rrsets(content)
    assert first.owner is second.owner


def test_the_compressible_types_are_the_renderers():
    assert set(packed.LAYOUTS) == wire._COMPRESSIBLE
