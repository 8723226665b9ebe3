"""The records API's zone text (api/records.py): what a rewrite remembers of the text it
writes is what dnspython reads back from that text, so that the next change of the file
is made without parsing it again (a change of a zone of 10,000 records spent most of
its time there)."""

from __future__ import annotations

import dns.name
import dns.rdata
import dns.rdataclass
from acnsd.api import records
from acnsd.api.records import Record, ZoneText
from hypothesis import given, settings
from hypothesis import strategies as st

ORIGIN = dns.name.from_text("example.test.")
OWNERS = st.sampled_from(["@", "www", "WWW", "a.b", "A.b", "_srv._tcp"])
RDATAS = st.one_of(
    st.builds(lambda i: ("A", f"192.0.2.{i}"), st.integers(1, 3)),
    st.builds(lambda i: ("AAAA", f"2001:db8::{i}"), st.integers(1, 3)),
    st.builds(lambda t: ("TXT", f'"{t}"'), st.sampled_from(["x", "X", "two words"])),
    st.builds(lambda p: ("MX", f"{p} mail.example.test."), st.integers(1, 2)),
)
OPS = st.lists(st.tuples(st.sampled_from(["add", "add", "remove", "ttl"]), OWNERS, RDATAS,
                         st.sampled_from([60, 300, 3600])), max_size=25)


def _record(owner: str, rdata: tuple[str, str], ttl: int) -> Record:
    name = ORIGIN if owner == "@" else dns.name.from_text(owner, ORIGIN)
    kind, text = rdata
    return Record(name, ttl, dns.rdata.from_text(dns.rdataclass.IN, kind, text,
                                                 origin=dns.name.root, relativize=False))


def _seen(file: ZoneText) -> tuple:
    return (file.header, file.default_ttl,
            [(r.name.to_text(), r.ttl, r.rdata.rdtype, r.rdata.to_text()) for r in file.records])


@settings(max_examples=300)
@given(st.sampled_from(["", "; a comment\n$TTL 900\n", "$TTL 300\nwww 60 IN A 192.0.2.9\n"
                        "WWW 3600 IN A 192.0.2.8\n"]), OPS)
def test_a_rewrite_remembers_what_dnspython_reads_back(initial, ops):
    file = ZoneText.parse(initial, ORIGIN)
    for op, owner, rdata, ttl in ops:
        record = _record(owner, rdata, ttl)
        if op == "add":
            if any(r.same(record) for r in file.records):
                continue
            file.add(record)
        elif op == "remove":
            file.remove(record)
        else:
            file.set_ttl(record.name, record.rdata.rdtype, ttl)
        text = file.rewritten()
        remembered = ZoneText.parse(text, ORIGIN)
        assert _seen(remembered) == _seen(ZoneText._parse(text, ORIGIN)), text
        file = remembered


def test_the_text_a_rewrite_wrote_is_not_parsed_again(monkeypatch):
    file = ZoneText.parse("$TTL 300\n", ORIGIN)
    file.add(_record("www", ("A", "192.0.2.1"), 300))
    text = file.rewritten()
    monkeypatch.setattr(ZoneText, "_parse", classmethod(lambda cls, t, o: 1 / 0))
    assert [r.rdata.to_text() for r in ZoneText.parse(text, ORIGIN).records] == ["192.0.2.1"]
    records._PARSED.clear()
    try:
        ZoneText.parse(text, ORIGIN)
    except ZeroDivisionError:
        return
    raise AssertionError("parsed from the remembered text after the memory was cleared")
