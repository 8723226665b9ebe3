"""Who may transfer: TSIG (RFC 8945) and the transfer rules, deny by default; refusals
carry the TSIG error, transfer nothing, are counted and logged once per burst."""

from __future__ import annotations

import socket
import time
import urllib.request

import dns.message
import dns.query
import dns.rcode
import dns.tsig
import dns.tsigkeyring
import dns.xfr
import pytest
from tooling import unused_port

from .xfrkit import KEY, KEYRING, OTHER_KEYRING, ZONE

WRONG_SECRET = dns.tsigkeyring.from_text({KEY: ("hmac-sha256", "d3Jvbmcgc2VjcmV0")})
UNKNOWN_KEY = dns.tsigkeyring.from_text({"nobody.": ("hmac-sha256", "d3Jvbmcgc2VjcmV0")})


def _transfer(daemon, source: str, keyring) -> list[dns.message.Message]:
    return list(dns.query.xfr("127.0.0.1", ZONE, port=daemon.port, timeout=5,
                              keyring=keyring, source=source))


def _first(daemon, source: str, keyring, rdtype: str = "AXFR") -> dns.message.Message:
    """The first message of the answer, read without checking its TSIG."""
    query = dns.message.make_query(ZONE, rdtype)
    if keyring is not None:
        query.use_tsig(keyring)
    wire = query.to_wire()
    with socket.create_connection(("127.0.0.1", daemon.port), timeout=5,
                                  source_address=(source, 0)) as sock:
        sock.sendall(len(wire).to_bytes(2, "big") + wire)
        length = int.from_bytes(sock.recv(2), "big")
        data = b""
        while len(data) < length:
            data += sock.recv(length - len(data))
    return dns.message.from_wire(data, keyring=False)


@pytest.mark.parametrize("source,keyring,rcode,error", [
    ("127.0.0.3", KEYRING, dns.rcode.REFUSED, None),  # outside every prefix
    ("127.0.0.1", None, dns.rcode.NOTAUTH, None),  # the rule needs the key: missing
    ("127.0.0.1", OTHER_KEYRING, dns.rcode.NOTAUTH, dns.rcode.BADKEY),  # another key
    ("127.0.0.1", UNKNOWN_KEY, dns.rcode.NOTAUTH, dns.rcode.BADKEY),  # not configured
    ("127.0.0.1", WRONG_SECRET, dns.rcode.NOTAUTH, dns.rcode.BADSIG),  # MAC fails
    ("127.0.0.2", KEYRING, dns.rcode.NOTAUTH, dns.rcode.BADKEY),  # this rule: unsigned
], ids=["outside", "missing-key", "other-key", "unknown-key", "bad-signature",
        "signed-where-unsigned"])
def test_refused(primary, source, keyring, rcode, error):
    response = _first(primary, source, keyring)
    assert response.rcode() == rcode
    assert not response.answer  # nothing transferred
    if error is None:
        assert not response.had_tsig or keyring is not None
    else:
        assert response.tsig[0].error == error


def test_dnspython_sees_the_errors(primary):
    with pytest.raises(dns.tsig.PeerBadKey):
        _transfer(primary, "127.0.0.1", OTHER_KEYRING)
    with pytest.raises(dns.tsig.PeerBadSignature):
        _transfer(primary, "127.0.0.1", WRONG_SECRET)
    with pytest.raises(dns.xfr.TransferError):
        _transfer(primary, "127.0.0.3", KEYRING)


def test_badtime_is_signed_with_our_time(primary, monkeypatch):
    query = dns.message.make_query(ZONE, "SOA")
    query.use_tsig(KEYRING)
    now = time.time
    monkeypatch.setattr(time, "time", lambda: now() - 3600)  # signed an hour ago
    wire = query.to_wire()
    monkeypatch.undo()
    with socket.create_connection(("127.0.0.1", primary.port), timeout=5) as sock:
        dns.query.send_tcp(sock, wire)
        response, _ = dns.query.receive_tcp(sock, time.time() + 5, keyring=False)
    assert response.rcode() == dns.rcode.NOTAUTH
    tsig = response.tsig[0]
    assert tsig.error == dns.rcode.BADTIME and tsig.mac  # signed (RFC 8945 §5.2.3)
    assert abs(int.from_bytes(tsig.other, "big") - time.time()) < 60  # our time
    assert tsig.time_signed == query.tsig[0].time_signed  # the query's


def test_allowed(primary):
    assert _transfer(primary, "127.0.0.1", KEYRING)  # the key of 127.0.0.1's rule
    assert _transfer(primary, "127.0.0.2", None)  # 127.0.0.2's rule: unsigned


def test_no_rule_no_transfer_counted_and_logged_once(primary_factory):
    metrics_port = unused_port()
    daemon = primary_factory(rules="[]", metrics_port=metrics_port)
    for _ in range(3):
        assert _first(daemon, "127.0.0.1", KEYRING).rcode() == dns.rcode.REFUSED
    assert daemon.log().count("event=transfer_refused") == 1  # once per burst
    text = urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics",
                                  timeout=5).read().decode()
    assert 'acnsd_transfers_out_total{kind="axfr",result="refused"} 3.0' in text


def test_a_bad_signature_is_logged_as_badsig(primary):
    """BADSIG shares its value, 16, with BADVERS (RFC 8945 §3): the log names the TSIG one."""
    assert _first(primary, "127.0.0.1", WRONG_SECRET).tsig[0].error == dns.rcode.BADSIG
    primary.wait_log(r"event=transfer_refused peer=\S+ zone=example\.com\. kind=axfr "
                     r"reason=tsig_badsig ", timeout=5)
