"""Helpers for the store and journal tests: zone contents written as small dicts, a
hypothesis strategy of them, and what a secondary does with an IXFR (applying
differences to a content).

A content here is `{(owner, type): (ttl, frozenset of rdata texts)}`, owners relative to
the zone ("@" the apex, spelled in any case), plus an SOA made by `soa_text`.
"""

from __future__ import annotations

import dns.name
import dns.rdataclass
import dns.rdatatype
import dns.rrset
from acnsd.dns.packed import pack_rrsets
from acnsd.dns.wire import WireRRset, encode_rrset
from acnsd.model import journal
from hypothesis import strategies as st

ZONE = "ex.test"
Records = dict[tuple[str, str], tuple[int, frozenset[str]]]

_OWNERS = ("@", "www", "WWW", "mail", "a.b", "*.w", "deleg")
_RDATAS = {
    "A": [f"192.0.2.{i}" for i in range(1, 6)],
    "AAAA": [f"2001:db8::{i}" for i in range(1, 4)],
    "TXT": ['"one"', '"two"', '"three and four"'],
    "MX": ["10 mail.ex.test.", "20 MAIL.ex.test.", "5 mx.other.test."],
    "NS": ["ns1.other.test.", "NS2.other.test."],
    "SRV": ["0 0 53 srv.ex.test.", "1 2 3 ."],
    "PTR": ["host.ex.test."],
    "CAA": ['0 issue "ca.test"'],
}


def soa_text(refresh: int = 10000, serial: int = 0) -> str:
    return f"ns1.ex.test. hostmaster.ex.test. {serial} {refresh} 2400 604800 1800"


def rrsets(records: Records, soa: str | None = None, soa_ttl: int = 3600,
           zone: str = ZONE) -> list[WireRRset]:
    """The WireRRsets of a content, as a zone plan holds them: its SOA, then the rest."""
    origin = dns.name.from_text(zone)
    out = [encode_rrset(dns.rrset.from_text(origin, soa_ttl, "IN", "SOA", soa or soa_text()))]
    for (owner, rdtype), (ttl, rdatas) in records.items():
        name = dns.name.from_text(owner, origin)
        out.append(encode_rrset(dns.rrset.from_text_list(name, ttl, "IN", rdtype,
                                                         sorted(rdatas))))
    return out


def packed(records: Records, soa: str | None = None, soa_ttl: int = 3600,
           zone: str = ZONE) -> bytes:
    """`rrsets` packed, as a zone plan holds them (its `content`, what the store takes)."""
    return pack_rrsets(rrsets(records, soa, soa_ttl, zone))[0]


@st.composite
def contents(draw) -> Records:
    """A random content (without its SOA)."""
    keys = draw(st.sets(st.tuples(st.sampled_from(_OWNERS), st.sampled_from(sorted(_RDATAS))),
                        max_size=8))
    return {key: (draw(st.sampled_from([60, 300, 3600])),
                  frozenset(draw(st.sets(st.sampled_from(_RDATAS[key[1]]), min_size=1))))
            for key in keys}


@st.composite
def edits(draw, records: Records) -> Records:
    """A content after a random edit of `records`: an RRset added, removed, its TTL or
    its records changed, or nothing at all."""
    records = dict(records)
    kind = draw(st.sampled_from(["add", "remove", "ttl", "rdata", "none"]))
    if kind == "add" or not records:
        records.update(draw(contents()))
    elif kind != "none":
        key = draw(st.sampled_from(sorted(records)))
        ttl, rdatas = records[key]
        if kind == "remove":
            del records[key]
        elif kind == "ttl":
            records[key] = (ttl * 2, rdatas)
        else:
            records[key] = (ttl, frozenset(draw(st.sets(st.sampled_from(_RDATAS[key[1]]),
                                                        min_size=1))))
    return records


def rr_set(content: bytes) -> frozenset[journal.RR]:
    """A content's RRs, its SOA included."""
    return frozenset(journal.unpack_content(content))


def apply(content: frozenset[journal.RR], diffs: list[journal.Diff]) -> frozenset[journal.RR]:
    """What a secondary holding `content` has after these differences (RFC 1995 §4): each
    must start at its SOA, remove only RRs it has, and add only RRs it has not."""
    rrs = set(content)
    for diff in diffs:
        assert diff.soa_from in rrs, "a difference that starts at another serial"
        assert set(diff.removed) <= rrs, "a difference that removes what is not there"
        rrs -= {diff.soa_from, *diff.removed}
        assert not rrs & set(diff.added), "a difference that adds what is there already"
        rrs |= {diff.soa_to, *diff.added}
    return frozenset(rrs)
