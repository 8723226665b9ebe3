"""Writing a transfer's answer as DNS messages over TCP (RFC 5936 §2.2, RFC 1995 §4).

The rule owned here: the records go in the answer section, in the order given, as many
to a message as fit in `limit` octets (64 KiB less room for a TSIG RR); every message
repeats the header's ID, flags and the question; names are compressed within a message
(render.put_rrset, as every answer). An RRset that does not fit in one message is split
into its RRs. Records come as pre-encoded RRsets (from the tables) or as single RRs in the
journal's format (uncompressed, journal.py), written as they are.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Iterator

from ..dns.render import put_rrset
from ..dns.wire import HEADER_SIZE, WireName, WireRRset, wire_rrset

__all__ = ["LIMIT", "messages"]

LIMIT = 65535 - 1024  # octets of records and header; the rest is room for the TSIG RR
_PACK_HEADER = struct.Struct(">HHHHHH").pack


def messages(ident: int, flags: int, question: bytes, records: Iterable[WireRRset | bytes],
             limit: int = LIMIT) -> Iterator[bytes]:
    """The messages carrying `records` (at least one message, maybe with no record)."""
    qname = WireName(question[:-4])
    out = bytearray()
    table: dict[bytes, int] = {}
    count = 0

    def start() -> None:
        nonlocal count
        out.clear()
        out.extend(bytes(HEADER_SIZE))
        out.extend(question)
        table.clear()
        for offset in qname.offsets[:-1]:
            table[qname.key[offset:]] = HEADER_SIZE + offset
        count = 0

    def done() -> bytes:
        return _PACK_HEADER(ident, flags, 1, count, 0, 0) + bytes(out[HEADER_SIZE:])

    start()
    for record in records:
        mark = len(out)
        added = _put(out, record, table)
        if len(out) <= limit:
            count += added
            continue
        _undo(out, table, mark)
        if count:
            yield done()
            start()
            mark = len(out)
            added = _put(out, record, table)
            if len(out) <= limit:
                count += added
                continue
            _undo(out, table, mark)
        for single in _split(record):  # an RRset larger than a message: one RR at a time
            mark = len(out)
            _put(out, single, table)
            if len(out) > limit and count:
                _undo(out, table, mark)
                yield done()
                start()
                _put(out, single, table)
            count += 1
    yield done()


def _undo(out: bytearray, table: dict[bytes, int], mark: int) -> None:
    """Take back what was written from `mark` on, and the names it put in the table."""
    del out[mark:]
    for key in [key for key, at in table.items() if at >= mark]:
        del table[key]


def _put(out: bytearray, record: WireRRset | bytes, table: dict[bytes, int]) -> int:
    if record.__class__ is bytes:
        out += record  # type: ignore[operator]
        return 1
    return put_rrset(out, record.owner, record, table)  # type: ignore[union-attr,arg-type]


def _split(record: WireRRset | bytes) -> Iterator[WireRRset | bytes]:
    if record.__class__ is bytes:
        yield record
        return
    rrset: WireRRset = record  # type: ignore[assignment]
    for rdata in rrset.rdatas:
        yield wire_rrset(rrset.owner, rrset.rdtype, rrset.fixed, (rdata,))
