"""The primary side without sockets: transfers at once are bounded (max_transfers), and a
large zone's messages are made one at a time (the event loop runs between two)."""

from __future__ import annotations

import asyncio
import ipaddress
from pathlib import Path

import dns.message
import dns.rcode
from acnsd.dns.core import Transport
from acnsd.model.types import ServerConfig, TransferRule
from acnsd.xfr.primary import Primary
from core.zonetext import make_query, tables, zone

TABLES = tables(zone("example.com.", "".join(f"h{i} TXT \"{'x' * 200}\"\n"
                                             for i in range(2000))))
AXFR = make_query("example.com.", "AXFR").to_wire()


class Holder:
    tables = TABLES


def _primary(tmp_path: Path, max_transfers: int) -> Primary:
    server = ServerConfig(listen=(), port=53, serve_assigned_addresses=False,
                          standard_nameservers=(), ipv4_pools=(), ipv6_pools=(),
                          zones_dir=tmp_path, state_file=tmp_path / "state.db",
                          allow_transfer=(TransferRule(ipaddress.ip_network("127.0.0.0/8")),),
                          max_transfers=max_transfers)
    return Primary(Holder(), server)


def test_transfers_beyond_max_transfers_are_refused(tmp_path):
    primary = _primary(tmp_path, 1)

    async def scenario():
        first = primary.answer(AXFR, Transport.TCP, None)("127.0.0.1")
        await first.__anext__()  # the first transfer is under way
        assert primary.active == 1
        refusal = [m async for m in primary.answer(AXFR, Transport.TCP, None)("127.0.0.1")]
        assert [dns.message.from_wire(m).rcode() for m in refusal] == [dns.rcode.REFUSED]
        rest = [m async for m in first]
        assert len(rest) >= 5  # 2000 × 200 octets: several messages, made one at a time
        assert primary.active == 0
        again = [m async for m in primary.answer(AXFR, Transport.TCP, None)("127.0.0.1")]
        assert len(again) == len(rest) + 1

    asyncio.run(scenario())
    assert primary.counters.transfers["axfr", "busy"] == 1
    assert primary.counters.transfers["axfr", "ok"] == 2
