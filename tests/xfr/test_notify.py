"""NOTIFY out (RFC 1996), against a fake secondary on loopback: the message's shape, the
retries with a growing wait, the failures counted; and which zones a swap notifies."""

from __future__ import annotations

import asyncio

import dns.flags
import dns.message
import dns.opcode
import dns.rcode
import pytest
from acnsd.model.types import NotifyTarget
from acnsd.xfr import notify
from acnsd.xfr.notify import Notifier, changed_zones
from acnsd.xfr.primary import TransferCounters
from acnsd.xfr.tsig import keyring
from core.zonetext import tables, zone

SOA = "@ 3600 SOA ns1 hostmaster {serial} 7200 3600 1209600 1800\n@ NS ns1\nns1 A 192.0.2.1\n"


class Secondary(asyncio.DatagramProtocol):
    """Answers NOERROR after ignoring the first `silent` NOTIFYs; keeps what it got."""

    def __init__(self, silent: int, rcode: int = dns.rcode.NOERROR) -> None:
        self.silent, self.rcode, self.got = silent, rcode, []

    def connection_made(self, transport):
        self.transport = transport

    def datagram_received(self, data, addr):
        message = dns.message.from_wire(data, keyring=False)
        self.got.append(message)
        if len(self.got) > self.silent:
            response = dns.message.make_response(message)
            response.set_rcode(self.rcode)
            self.transport.sendto(response.to_wire(), addr)


def _run(silent: int, rcode: int = dns.rcode.NOERROR) -> tuple[Secondary, TransferCounters]:
    async def scenario():
        loop = asyncio.get_running_loop()
        secondary = Secondary(silent, rcode)
        transport, _ = await loop.create_datagram_endpoint(lambda: secondary,
                                                           local_addr=("127.0.0.1", 0))
        port = transport.get_extra_info("sockname")[1]
        counters = TransferCounters()
        notifier = Notifier(counters)
        notifier.configure((NotifyTarget("127.0.0.1", port),), keyring(()))
        notifier.notify(["example.com."])
        await asyncio.wait_for(asyncio.gather(*notifier._tasks.values()), 10)
        transport.close()
        return secondary, counters

    return asyncio.run(scenario())


@pytest.fixture(autouse=True)
def short_wait(monkeypatch):
    monkeypatch.setattr(notify, "WAIT", 0.05)


def test_a_notify_is_a_notify_of_the_zone():
    secondary, counters = _run(silent=0)
    (message,) = secondary.got
    assert message.opcode() == dns.opcode.NOTIFY and message.flags & dns.flags.AA
    assert not message.flags & dns.flags.RD
    assert str(message.question[0].name) == "example.com." and message.question[0].rdtype == 6
    assert counters.notifies == {"sent": 1, "failed": 0}


def test_retried_until_answered():
    secondary, counters = _run(silent=2)
    assert len(secondary.got) == 3 and counters.notifies == {"sent": 1, "failed": 0}


def test_failed_after_every_try():
    secondary, counters = _run(silent=notify.TRIES)
    assert len(secondary.got) == notify.TRIES and counters.notifies == {"sent": 0, "failed": 1}


def test_an_error_answer_is_a_failure_at_once():
    secondary, counters = _run(silent=0, rcode=dns.rcode.NOTAUTH)
    assert len(secondary.got) == 1 and counters.notifies == {"sent": 0, "failed": 1}


def test_the_zones_whose_serial_changed():
    a1, b1, c1 = (zone(o, SOA.format(serial=1), soa=False) for o in ("a.", "b.", "c."))
    old = tables(a1, b1, c1)
    new = tables(zone("a.", SOA.format(serial=2), soa=False), b1,
                 zone("d.", SOA.format(serial=1), soa=False))
    assert sorted(changed_zones(old, new)) == ["a.", "d."]  # changed, new; not b., not c.
