"""The core's handoff to the primary side (xfr/): zone transfers, TSIG-signed queries and
NOTIFYs go to it, alone or in a UDP batch; every other query is answered as without it."""

import dns.flags
import dns.message
import dns.opcode
import dns.rdatatype
import dns.tsigkeyring
import dns.xfr
import dns.zone
import pytest
from acnsd.dns.core import Outcome, Transport, answer_after_id, respond

from .zonetext import make_query, tables, zone

T = tables(zone("example.com.", "www A 192.0.2.10"))
KEYRING = dns.tsigkeyring.from_text({"k.": "c2VjcmV0"})


def _signed() -> bytes:
    query = dns.message.make_query("www.example.com.", "A")
    query.use_tsig(KEYRING)
    return query.to_wire()


def _ixfr() -> bytes:  # an SOA in authority (RFC 1995 §3)
    query, _ = dns.xfr.make_query(dns.zone.from_text("@ SOA ns h 5 1 1 1 1\n@ NS ns",
                                                     "example.com."), serial=5)
    return query.to_wire()


def _notify() -> bytes:
    query = dns.message.make_query("example.com.", "SOA")
    query.flags = dns.flags.AA
    query.set_opcode(dns.opcode.NOTIFY)
    return query.to_wire()


HANDED = {
    "AXFR TCP": (make_query("example.com.", "AXFR").to_wire(), Transport.TCP),
    "AXFR UDP": (make_query("example.com.", "AXFR").to_wire(), Transport.UDP),
    "IXFR": (_ixfr(), Transport.TCP),
    "signed": (_signed(), Transport.UDP),
    "NOTIFY": (_notify(), Transport.UDP),  # to the secondary side (xfr/secondary.py)
}


@pytest.mark.parametrize("name", HANDED)
def test_handed_off(name):
    wire, transport = HANDED[name]
    handed = []
    response, outcome, apex = respond(T, wire, transport, None, lambda q: handed.append(q) or b"it")
    assert (response, outcome, apex, handed) == (b"it", Outcome.HANDOFF, None, [wire])


def test_without_a_handoff_transfers_are_notimp_tsig_ignored_and_notify_notauth():
    assert respond(T, HANDED["IXFR"][0], Transport.TCP)[1] is Outcome.NOTIMP
    assert respond(T, HANDED["NOTIFY"][0], Transport.UDP)[1] is Outcome.NOTAUTH
    assert respond(T, HANDED["signed"][0], Transport.UDP)[1] is Outcome.ANSWER


def test_a_batch_hands_off_its_transfers_and_signed_queries_only():
    plain = make_query("www.example.com.", "A").to_wire()
    queries = [plain[2:], HANDED["signed"][0][2:], HANDED["IXFR"][0][2:], plain[2:]]
    answers = answer_after_id(T, queries, Transport.UDP, None, lambda q: q[:2] + b"handed")
    assert answers[1] == answers[2] == b"handed"
    assert answers[0] == answers[3] == respond(T, plain, Transport.UDP)[0][2:]
    assert respond(T, plain, Transport.UDP, None, lambda q: b"never")[1] is Outcome.ANSWER
