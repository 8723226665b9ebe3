"""messages.py: whatever the records and the limit, every message fits, repeats the header
and question, and together they carry exactly the records in order (dnspython reads them)."""

from __future__ import annotations

import dns.message
import dns.name
import dns.rdataclass
import dns.rdatatype
import dns.rrset
from acnsd.dns.wire import encode_rrset
from acnsd.xfr.messages import messages
from hypothesis import given, settings
from hypothesis import strategies as st

QUESTION = dns.name.from_text("example.com.").to_wire() + b"\x00\xfc\x00\x01"

rrsets = st.lists(
    st.tuples(st.sampled_from(["a", "b.c", "example.com.", "x.example.com."]),
              st.lists(st.integers(0, 250), min_size=1, max_size=30)),
    max_size=20)


@settings(max_examples=60, deadline=None)
@given(rrsets, st.integers(600, 6000))
def test_messages_fit_and_carry_every_record(specs, limit):
    origin = dns.name.from_text("example.com.")
    records = []
    for n, (owner, sizes) in enumerate(specs):  # every RR distinct (dnspython merges)
        texts = [f'"{n:02d}{i:03d}{"x" * size}"' for i, size in enumerate(sizes)]
        rrset = dns.rrset.from_text(dns.name.from_text(owner, origin), 300, "IN", "TXT", *texts)
        records.append(rrset)
    out = list(messages(0x1234, 0x8400, QUESTION, [encode_rrset(r) for r in records], limit))
    carried = []
    for wire in out:
        assert len(wire) <= max(limit, 12 + len(QUESTION) + 2 * 10 + 255 + 16 + 404)
        message = dns.message.from_wire(wire, one_rr_per_rrset=True)  # in order
        assert message.id == 0x1234 and message.question[0].name == origin
        carried += [(rrset.name, rdata) for rrset in message.answer for rdata in rrset]
    assert carried == [(rrset.name, rdata) for rrset in records for rdata in rrset]
