"""journal.py: the RR format of contents and differences, the difference of two contents,
serial arithmetic (RFC 1982), the IXFR chain (RFC 1995) and the journal's bounds."""

from __future__ import annotations

import dns.name
import dns.rdatatype
import pytest
from acnsd.dns import packed, wire
from acnsd.dns.packed import pack_rrsets
from acnsd.dns.wire import decode_rrset
from acnsd.model import journal
from acnsd.model.journal import Diff, JournalFormatError, chain_start, next_serial, serial_gt
from hypothesis import given
from hypothesis import strategies as st
from storekit import apply, contents, edits, rrsets, soa_text

SERIALS = st.integers(0, 2**32 - 1)


def _content(records, soa=None, ttl=3600, zone="ex.test") -> bytes:
    soa, rrs = journal.split_soa(journal.rrs_of(rrsets(records, soa, ttl, zone)))
    return journal.pack_content(soa, rrs)


def _texts(rrsets_) -> set[str]:
    """Every RR of these RRsets, as text (the RRsets' order and grouping aside)."""
    return {line for rrset in rrsets_ for line in decode_rrset(rrset).to_text().splitlines()}


@given(contents(), st.randoms())
def test_a_content_reads_back_as_the_rrsets_it_was_made_of(records, rnd):
    made = rrsets(records)
    content = _content(records)
    assert _texts(journal.rrsets_of(content)) == _texts(made)
    # canonical: the order of the RRsets given does not matter; reading back and packing
    # again gives the same bytes
    shuffled = made[:]
    rnd.shuffle(shuffled)
    assert journal.pack_content(*journal.split_soa(journal.rrs_of(shuffled))) == content
    again = journal.split_soa(journal.rrs_of(journal.rrsets_of(content)))
    assert journal.pack_content(*again) == content
    assert journal.zone_rrs(pack_rrsets(shuffled)[0]) == journal.split_soa(journal.rrs_of(shuffled))


@given(contents(), st.randoms())
def test_a_zones_content_packed_rrset_by_rrset_is_its_canonical_content(records, rnd):
    """zone_content, which sorts RRsets, gives the bytes pack_content gives by sorting
    every RR: whatever the RRsets' order, an RRset given twice or in two parts."""
    made = rrsets(records)
    for rrset in rnd.sample(made[1:], min(1, len(made) - 1)):  # one given twice (not the SOA)
        made.append(rrset)
    for i, rrset in enumerate(made):  # one in two parts (one RR each)
        if len(rrset.rdatas) > 1 and rnd.random() < 0.5:
            made[i : i + 1] = [wire.wire_rrset(rrset.owner, rrset.rdtype, rrset.fixed, (rd,))
                               for rd in rrset.rdatas]
            break
    rnd.shuffle(made)
    content = pack_rrsets(made)[0]
    soa, rrs = journal.zone_rrs(content)
    assert journal.zone_content(content) == (soa, journal.pack_content(soa, rrs)[len(soa):])


# owners at or below ex.test: the apex and one label below it (escaped octets and any case
# among them), more labels below; and elsewhere, with names that end in the zone's wire form
# but not at a label's start
_ONE_BELOW = ("@", "EX.test.", "www", "WWW", "mail", "a", "zz", "\\000", "\\200")
_DEEPER = ("a.b", "www.b", "zz.b", "*.w", "x\\000y.B", "\\200.zz")
# rdatas literal or with names (MX), one RR or two
_ONE_RDATA = {"A": ["192.0.2.1", "192.0.2.2"], "TXT": ['"x"', '"y z"'],
              "MX": ["10 mail.ex.test.", "5 MX.other.test."]}
_ELSEWHERE = ("other.test.", "test.", "\\002ex.test.", "a\\002ex.test.", "ex.test.b.")


@given(st.sampled_from([_ONE_BELOW, _ONE_BELOW + _DEEPER, _ONE_BELOW + _DEEPER + _ELSEWHERE]),
       st.sampled_from(["ex.test", "EX.Test"]), st.data())
def test_a_zone_read_once_is_packed_as_its_canonical_content(owners, apex, data):
    """zone_content of RRsets each given once, in any order (a zone as read): ordered for
    all of them together when every owner is at or below the SOA's and each owner and
    type is one RRset, the same bytes as pack_content's."""
    keys = data.draw(st.sets(st.tuples(st.sampled_from(owners), st.sampled_from(sorted(_ONE_RDATA)),
                                       st.sampled_from([60, 3600])), max_size=10))
    records = {(owner, rdtype): (ttl, frozenset(_ONE_RDATA[rdtype][:data.draw(st.integers(1, 2))]))
               for owner, rdtype, ttl in keys}
    made = rrsets(records, zone=apex)
    data.draw(st.randoms()).shuffle(made)
    content = pack_rrsets(made)[0]
    soa, rrs = journal.zone_rrs(content)
    assert journal.zone_content(content) == (soa, journal.pack_content(soa, rrs)[len(soa):])
    elsewhere = {owner for owner, _ in records} & set(_ELSEWHERE)
    spelt_twice = len({(rrset.owner.key, rrset.rdtype) for rrset in made}) < len(made)
    by_places = journal._content_by_places(packed.rrsets(content))
    assert (by_places is None) == bool(elsewhere or spelt_twice)


@given(contents())
def test_rrsets_read_back_are_held_as_the_renderer_holds_them(records):
    """Compressible names apart (RFC 3597 §4), the rest literal, as encode_rrset does."""

    def held(rrset):
        return (rrset.owner.wire, rrset.rdtype, rrset.fixed, sorted(
            rd if rd.__class__ is bytes else tuple(getattr(p, "wire", p) for p in rd)
            for rd in rrset.rdatas), sorted(t.wire for t in rrset.targets))

    expected = sorted(map(held, rrsets(records)))
    assert sorted(map(held, journal.rrsets_of(_content(records)))) == expected


def test_names_and_octets_read_back_are_shared_across_zones():
    shared: dict = {}
    first, second = (journal.rrsets_of(_content({("www", "MX"): (60, frozenset(
        ["10 mail.ex.test."]))}, zone=zone), shared) for zone in ("a.test", "b.test"))
    assert [_texts([r]) for r in first] != [_texts([r]) for r in second]
    assert first[1].rdatas[0][1] is second[1].rdatas[0][1]  # mail.ex.test, decoded once
    assert first[1].fixed is second[1].fixed


def test_canonical_order_is_rfc_4034():
    """RFC 4034 §6.1's example order of owners, then type, then rdata."""
    names = ["example.", "a.example.", "yljkjljk.a.example.", "Z.a.example.",
             "zABC.a.EXAMPLE.", "z.example.", "\\001.z.example.", "*.z.example.",
             "\\200.z.example."]
    records = {(name, "TXT"): (60, frozenset(['"x"'])) for name in reversed(names)}
    records[("z.example.", "A")] = (60, frozenset(["192.0.2.2", "192.0.2.1"]))
    order = [(dns.name.from_wire(rr, 0)[0].to_text(), dns.rdatatype.to_text(journal._rdtype(rr)),
              rr[-4:]) for rr in journal.unpack_content(_content(records))[1:]]
    a1, a2 = bytes([192, 0, 2, 1]), bytes([192, 0, 2, 2])
    assert [(n, t) for n, t, _ in order] == [
        *((n, "TXT") for n in names[:5]), ("z.example.", "A"), ("z.example.", "A"),
        *((n, "TXT") for n in names[5:])]
    assert [rdata for _, t, rdata in order if t == "A"] == [a1, a2]


def test_a_content_needs_one_soa():
    rrs = journal.rrs_of(rrsets({}))
    with pytest.raises(ValueError, match="exactly one SOA"):
        journal.split_soa([])
    with pytest.raises(ValueError, match="exactly one SOA"):
        journal.split_soa(rrs + journal.rrs_of(rrsets({}, soa_text(refresh=1))))
    with pytest.raises(ValueError, match="exactly one SOA"):
        journal.zone_rrs(pack_rrsets(rrsets({})[1:])[0])
    with pytest.raises(ValueError, match="exactly one SOA"):
        journal.zone_rrs(pack_rrsets(rrsets({}) + rrsets({}, soa_text(refresh=1))[:1])[0])
    for soas in (rrsets({})[:0], rrsets({}) + rrsets({}, soa_text(refresh=1))[:1]):
        with pytest.raises(ValueError, match="exactly one SOA"):
            journal.zone_content(pack_rrsets(soas)[0])


@given(contents(), st.data())
def test_a_difference_turns_the_old_content_into_the_new(records, data):
    new_records = data.draw(edits(records))
    old = journal.unpack_content(_content(records, soa_text(serial=1)))
    new = journal.unpack_content(_content(new_records, soa_text(serial=2)))
    change = journal.diff(old, new, old[0], new[0])
    assert apply(frozenset(old), [change]) == frozenset(new)
    assert change.empty == (new_records == records)
    assert (change.serial_from, change.serial_to) == (1, 2)
    assert all(journal._rdtype(rr) != dns.rdatatype.SOA for rr in change.removed + change.added)
    assert Diff.decode(change.encode()) == change


def test_a_ttl_change_is_a_removal_and_an_addition():
    before = {("www", "A"): (300, frozenset(["192.0.2.1", "192.0.2.2"]))}
    after = {("www", "A"): (600, frozenset(["192.0.2.1", "192.0.2.2"]))}
    old, new = (journal.unpack_content(_content(r)) for r in (before, after))
    change = journal.diff(old, new, old[0], new[0])
    assert [decode_rrset(r).ttl for r in journal.rrsets_of(old[0] + b"".join(change.removed))[1:]] \
        == [300]
    assert len(change.removed) == len(change.added) == 2
    assert not change.empty


def test_a_change_of_the_soa_alone_is_not_empty_and_of_its_serial_alone_is():
    old = journal.unpack_content(_content({}, soa_text(serial=5)))
    other_serial = journal.unpack_content(_content({}, soa_text(serial=6)))
    other_timer = journal.unpack_content(_content({}, soa_text(refresh=99, serial=5)))
    assert journal.diff(old, other_serial, old[0], other_serial[0]).empty
    assert not journal.diff(old, other_timer, old[0], other_timer[0]).empty
    soa_ttl = journal.unpack_content(_content({}, soa_text(serial=5), ttl=60))
    assert not journal.diff(old, soa_ttl, old[0], soa_ttl[0]).empty


def test_the_soa_serial_is_read_and_replaced():
    soa = journal.rrs_of(rrsets({}, soa_text(serial=2**32 - 1)))[0]
    assert journal.soa_serial(soa) == 2**32 - 1
    assert journal.soa_serial(journal.with_serial(soa, 7)) == 7
    assert decode_rrset(journal.rrsets_of(journal.with_serial(soa, 7))[0])[0].refresh == 10000


@given(st.binary(max_size=200))
def test_bytes_that_are_not_a_difference_are_refused_with_one_error(blob):
    try:
        Diff.decode(bytes([1]) + blob)
    except JournalFormatError:
        pass


@given(contents(), st.data())
def test_a_damaged_difference_is_refused_or_reads_as_a_difference(records, data):
    old = journal.unpack_content(_content(records, soa_text(serial=1)))
    new = journal.unpack_content(_content(data.draw(edits(records)), soa_text(serial=2)))
    blob = bytearray(journal.diff(old, new, old[0], new[0]).encode())
    at = data.draw(st.integers(0, len(blob) - 1))
    blob[at] ^= data.draw(st.integers(1, 255))
    cut = data.draw(st.integers(0, len(blob)))
    try:
        Diff.decode(bytes(blob[:cut]))
    except JournalFormatError:
        pass


@given(SERIALS, st.integers(0, 2**33))
def test_the_next_serial_is_always_after_the_last(serial, now):
    following = next_serial(serial, now)
    assert serial_gt(following, serial)
    today = max(serial + 1, now) % 2**32  # zonedata's formula, kept where it is right
    assert following == (today if serial_gt(today, serial) else (serial + 1) % 2**32)


def test_serials_wrap():
    assert next_serial(2**32 - 1, 1_700_000_000) == 0
    assert next_serial(0, 1_700_000_000) == 1_700_000_000
    assert next_serial(4_000_000_000, 1_700_000_000) == 4_000_000_001
    # in 2039: the time is 2^31 or more ahead of a serial that wrapped
    assert next_serial(5, 2**31 + 10) == 6
    assert serial_gt(0, 2**32 - 1) and not serial_gt(2**32 - 1, 0)
    assert not serial_gt(0, 2**31) and not serial_gt(2**31, 0)  # not comparable


def test_the_chain_follows_rfc_1995():
    top = 2**32 - 1
    links = [(top - 5, top), (top, 3), (3, 10)]
    assert chain_start(links, 10, top - 5) == 0
    assert chain_start(links, 10, top) == 1  # across the wrap
    assert chain_start(links, 10, 3) == 2
    assert chain_start(links, 10, 10) == 3  # up to date: one SOA
    assert chain_start(links, 10, 11) == 3  # newer than ours (RFC 1995 §2): one SOA
    assert chain_start(links, 10, 5) is None  # no difference starts there: AXFR
    assert chain_start(links, 10, 10 + 2**31) is None  # not comparable: AXFR
    assert chain_start(links, 9, 3) is None  # the journal does not reach the serial served
    assert chain_start([(10, 11), (12, 13)], 13, 10) is None  # a broken chain
    assert chain_start([], 3, 2) is None


def test_when_a_serial_starts_two_differences_the_latest_is_taken():
    links = [(5, 2**31 + 4), (2**31 + 4, 5), (5, 6)]
    assert chain_start(links, 6, 5) == 2


@given(st.lists(st.integers(1, 500), max_size=30), st.integers(1, 10), st.integers(1, 2000))
def test_trimming_keeps_the_most_recent_within_both_bounds(sizes, depth, max_bytes):
    drop = journal.trimmed(sizes, depth, max_bytes)
    kept = sizes[drop:]
    assert len(kept) <= depth and sum(kept) <= max_bytes
    if drop:  # one more would break a bound
        assert len(kept) == depth or sum(kept) + sizes[drop - 1] > max_bytes


def test_a_difference_larger_than_the_bound_leaves_none():
    assert journal.trimmed([10, 10, 5000], 100, 1000) == 3

