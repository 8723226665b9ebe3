"""Exact matches (RFC 1034 §4.3.2 step 3a): the RRset, AA set, additional for NS/MX/SRV."""

import pytest

from .zonetext import ask, check, flags, tables, zone

T = tables(
    zone(
        "example.com.",
        """
ns1 A 192.0.2.1
ns2 AAAA 2001:db8::2
@ MX 10 mail
@ MX 20 mx.other.org.
mail A 192.0.2.25
www A 192.0.2.10
www A 192.0.2.11
_sip._tcp SRV 0 5 5060 sip
sip AAAA 2001:db8::60
txt TXT "one" "two"
""",
    ),
    zone("other.org.", "mx A 198.51.100.1\nmx AAAA 2001:db8:1::1"),
)

NS = ["example.com. 3600 IN NS ns1.example.com.", "example.com. 3600 IN NS ns2.example.com."]
SOA = "example.com. 3600 IN SOA ns1.example.com. hostmaster.example.com. 1 10000 2400 604800 1800"

CASES = [
    ("www.example.com.", "A",
     ["www.example.com. 3600 IN A 192.0.2.10", "www.example.com. 3600 IN A 192.0.2.11"], []),
    ("example.com.", "SOA", [SOA], []),
    ("example.com.", "NS", NS,
     ["ns1.example.com. 3600 IN A 192.0.2.1", "ns2.example.com. 3600 IN AAAA 2001:db8::2"]),
    ("example.com.", "MX",
     ["example.com. 3600 IN MX 10 mail.example.com.", "example.com. 3600 IN MX 20 mx.other.org."],
     ["mail.example.com. 3600 IN A 192.0.2.25", "mx.other.org. 3600 IN A 198.51.100.1",
      "mx.other.org. 3600 IN AAAA 2001:db8:1::1"]),
    ("_sip._tcp.example.com.", "SRV",
     ["_sip._tcp.example.com. 3600 IN SRV 0 5 5060 sip.example.com."],
     ["sip.example.com. 3600 IN AAAA 2001:db8::60"]),
    ("txt.example.com.", "TXT", ['txt.example.com. 3600 IN TXT "one" "two"'], []),
    ("mx.other.org.", "AAAA", ["mx.other.org. 3600 IN AAAA 2001:db8:1::1"], []),
]  # fmt: skip


@pytest.mark.parametrize("qname,qtype,answer,additional", CASES)
def test_exact_match(qname, qtype, answer, additional):
    check(ask(T, qname, qtype), "NOERROR", True, answer, [], additional)


def test_qname_case_is_echoed_in_question_and_owner():
    r = ask(T, "WwW.eXaMpLe.CoM.", "A")
    assert r.question[0].name.to_text() == "WwW.eXaMpLe.CoM."
    assert {rrset.name.to_text() for rrset in r.answer} == {"WwW.eXaMpLe.CoM."}
    # a second query with other cases goes through the cache and still echoes its own case
    r = ask(T, "wWw.ExAmPlE.cOm.", "A")
    assert r.question[0].name.to_text() == "wWw.ExAmPlE.cOm."
    assert {rrset.name.to_text() for rrset in r.answer} == {"wWw.ExAmPlE.cOm."}


def test_rd_and_cd_are_copied_ra_never_set():
    assert flags(ask(T, "www.example.com.", "A", rd=True, cd=True)) == {"aa", "rd", "cd"}
    assert flags(ask(T, "www.example.com.", "A")) == {"aa"}
