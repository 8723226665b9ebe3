"""The primary side's adapter: the queries the answering core hands off (core.py).

The rules owned here, in order, for a query that is a zone transfer or carries a TSIG RR:

    dnspython cannot read it                      → FORMERR
    a NOTIFY (RFC 1996)                           → NOTAUTH with the TSIG error when its
                                                    TSIG fails; else the secondary side's
                                                    answer (secondary.py), NOTAUTH when we
                                                    are no secondary
    its TSIG fails the check (tsig.py)            → NOTAUTH with the TSIG error
    a signed query for a name in a catalog zone   → over UDP, an empty answer with TC
      that is no transfer                           set (ask over TCP); over TCP, the
                                                    answer from the catalog to a client
                                                    the transfer rules admit, as below
    a signed query that is no transfer            → the core's answer, signed
    AXFR over UDP                                 → NOTIMP (RFC 5936 §4.2, as Knot)
    the qname is no zone served at this address   → NOTAUTH (RFC 5936 §2.2.1, as Knot)
    IXFR over UDP                                 → the one SOA of our version (RFC 1995
                                                    §2: up to date, or "use TCP")
    over TCP, the client outside every prefix     → REFUSED (acl.py)
      in a prefix, with the wrong key or none     → NOTAUTH (with BADKEY when signed)
      max_transfers transfers already running     → REFUSED
      AXFR                                        → the zone (records.py), in messages
      IXFR, the client at our serial or after it  → the one SOA
      IXFR, the journal reaches back              → the differences
      IXFR, it does not                           → the zone, as for AXFR (RFC 1995 §4)

Catalog zones (RFC 9432, model/catalogs.py) are in tables of their own (Tables.catalogs)
that the core never reads: a plain query for one is REFUSED as for any name not served, and
only the clients that may transfer them see them (RFC 9432 §7: catalogs list every zone;
a secondary asks for the SOA, signed, before it transfers). They are transferred at the
`listen` addresses only.

Every answer to a signed query is signed, each message of a transfer included. A TCP
transfer is a stream (listener.py): its messages are made one at a time, the event loop
answering other clients between two of them, and the journal is read in a thread. The
journal is the store's (model/store.py), opened read-only per IXFR: sqlite's WAL lets it be
read while the server records into it. The chain it gives must end at the serial the
tables serve, else (a change recorded but not yet swapped in) the zone is sent whole.
Refusals are counted and logged once per client and reason per LOG_EVERY seconds.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterable
from pathlib import Path

import dns.exception
import dns.flags
import dns.message
import dns.opcode
import dns.rcode
import dns.rdatatype

from ..aio import off_loop
from ..dns.compiler import Tables, Zone
from ..dns.core import Handoff, Transport, respond
from ..dns.wire import WireRRset
from ..model.journal import Diff, serial_gt
from ..model.recording import store_path
from ..model.store import Store, StoreError
from ..model.types import ServerConfig
from .acl import Verdict, decide
from .messages import messages
from .records import axfr_records, ixfr_records, soa_of, zone_serial
from .tsig import Checked, Keyring, check, keyring, notauth, strip

__all__ = ["KINDS", "RESULTS", "Primary", "Stream", "TransferCounters"]

log = logging.getLogger("acnsd.xfr")

Stream = Callable[[str], AsyncIterator[bytes]]  # the peer's address → the messages to send
KINDS = ("axfr", "ixfr")
RESULTS = ("ok", "refused", "notauth", "busy", "failed")
LOG_EVERY = 10.0  # seconds between two log lines about one client's refusals
_AXFR = dns.rdatatype.AXFR
_IXFR = dns.rdatatype.IXFR
_QR_AA = 0x8400
_COPIED = 0x0110  # RD and CD
# the log's names of tsig.check's errors: BADSIG is 16 as BADVERS, which dnspython names
_TSIG_REASONS = {dns.rcode.BADKEY: "tsig_badkey", dns.rcode.BADSIG: "tsig_badsig",
                 dns.rcode.BADTIME: "tsig_badtime"}


class TransferCounters:
    """Plain integers, read by the metrics collector at scrape time."""

    def __init__(self) -> None:
        self.transfers = {(kind, result): 0 for kind in KINDS for result in RESULTS}
        self.notifies = {"sent": 0, "failed": 0}


class _Burst:
    """Logs a refusal once per (client, reason) per LOG_EVERY seconds, with how many
    were not logged since."""

    def __init__(self) -> None:
        self._last: dict[tuple[str, str], tuple[float, int]] = {}

    def refused(self, peer: str, reason: str, zone: str, kind: str) -> None:
        now = time.monotonic()
        at, quiet = self._last.get((peer, reason), (-LOG_EVERY, 0))
        if now - at < LOG_EVERY:
            self._last[peer, reason] = (at, quiet + 1)
            return
        if len(self._last) > 4096:  # bounded: a scan of many addresses
            self._last.clear()
        self._last[peer, reason] = (now, 0)
        log.warning("event=transfer_refused peer=%s zone=%s kind=%s reason=%s "
                    "not_logged_since=%d", peer, zone, kind, reason, quiet)


class Primary:
    """Answers handed-off queries from `holder.tables` (read once per query)."""

    def __init__(self, holder: object, server: ServerConfig) -> None:
        self._holder = holder
        self.counters = TransferCounters()
        self.active = 0  # transfers being sent
        self._burst = _Burst()
        self.configure(server)

    def configure(self, server: ServerConfig) -> None:
        """Adopt a (re)loaded configuration's keys, rules and limit."""
        self.keys: Keyring = keyring(server.tsig_keys)
        self.rules = server.allow_transfer
        self.max_transfers = server.max_transfers
        self.store_file: Path = store_path(server.state_file)

    def handoff(self, transport: Transport, view: str | None) -> Handoff:
        """The core's handoff for one listener's transport and local address."""

        def handoff(query: bytes) -> bytes | Stream | None:
            return self.answer(query, transport, view)

        return handoff

    def answer(self, wire: bytes, transport: Transport,
               view: str | None) -> bytes | Stream | None:
        now = int(time.time())
        try:
            checked = check(wire, self.keys)
        except dns.exception.DNSException:
            return _header(wire, dns.rcode.FORMERR)
        message = checked.message
        if message.opcode() == dns.opcode.NOTIFY:
            return self._notify(checked, wire, now)
        question = message.question[0]
        kind = "ixfr" if question.rdtype == _IXFR else "axfr"
        if checked.error:
            self._count(kind, "notauth")
            self._burst.refused("-", _TSIG_REASONS[checked.error], question.name.to_text(),
                                kind)
            return notauth(checked, now)
        tables: Tables = self._holder.tables  # type: ignore[attr-defined]
        catalogs = tables.catalogs
        qname = question.name.to_wire().lower()
        if question.rdtype not in (_AXFR, _IXFR):
            if catalogs is not None and _within(catalogs, qname):
                return self._catalog_query(checked, wire, transport, catalogs, now)
            response = respond(tables, strip(wire), transport, view)[0]
            if response is None or checked.signer is None:
                return response
            return checked.signer.sign(response, now)
        if question.rdtype == _AXFR and transport is Transport.UDP:
            return _error(checked, dns.rcode.NOTIMP, now)  # RFC 5936 §4.2, as Knot
        zone = tables.zone(qname)
        if zone is None and catalogs is not None:
            zone = catalogs.zone(qname)
        if zone is None or view is not None and view not in zone.addresses:
            return _error(checked, dns.rcode.NOTAUTH, now)
        ident = message.id
        flags = _QR_AA | (message.flags & _COPIED)
        qend = 12 + len(question.name.to_wire()) + 4
        head = (ident, flags, wire[12:qend])
        if transport is Transport.UDP:  # IXFR
            self._count("ixfr", "ok")
            return _signed(checked, messages(*head, [soa_of(zone)]), now)[0]

        async def stream(peer: str) -> AsyncIterator[bytes]:
            refusal = self._admit(checked, peer, zone.name, kind, now)
            if refusal is not None:
                yield refusal
                return
            self.active += 1
            sent = kind
            try:
                records: Iterable[WireRRset | bytes]
                if kind == "ixfr":
                    records, sent = await self._ixfr(message, zone)
                else:
                    records = axfr_records(zone)
                signer = checked.signer
                for out in messages(*head, records):
                    yield out if signer is None else signer.sign(out, now)
                    await asyncio.sleep(0)  # the other clients' turn
            except (asyncio.CancelledError, GeneratorExit):
                self._count(sent, "failed")
                raise
            except Exception:
                self._count(sent, "failed")
                log.exception("event=transfer_failed peer=%s zone=%s kind=%s", peer,
                              zone.name, sent)
                return
            finally:
                self.active -= 1
            self._count(sent, "ok")
            log.info("event=transfer_out peer=%s zone=%s kind=%s serial=%d", peer, zone.name,
                     sent, zone_serial(zone))

        return stream

    def _notify(self, checked: Checked, wire: bytes, now: int) -> bytes:
        """A NOTIFY (RFC 1996): NOTAUTH with the TSIG error when its signature fails; else
        the secondary side's rcode (xfr/secondary.py; NOTAUTH when we are no secondary)."""
        message = checked.message
        if len(message.question) != 1:
            return _header(wire, dns.rcode.FORMERR)
        if checked.error:
            return notauth(checked, now)
        secondary = self._holder.secondary  # type: ignore[attr-defined]
        rcode = dns.rcode.NOTAUTH
        if secondary is not None:
            key = checked.key_name.lower() if checked.signer is not None else None  # type: ignore[union-attr]
            rcode = secondary.notify(message.question[0].name.to_text().lower().rstrip("."),
                                     key)
        return _error(checked, rcode, now)

    def _catalog_query(self, checked: Checked, wire: bytes, transport: Transport,
                       catalogs: Tables, now: int) -> bytes | Stream:
        """A signed query for a name in a catalog zone, not a transfer (module doc)."""
        if transport is Transport.UDP:
            response = dns.message.make_response(checked.message)
            response.flags |= dns.flags.TC
            return _signed(checked, [response.to_wire()], now)[0]
        name = checked.message.question[0].name.to_text()

        async def stream(peer: str) -> AsyncIterator[bytes]:
            refusal = self._admit(checked, peer, name, "query", now)
            if refusal is not None:
                yield refusal
                return
            response = respond(catalogs, strip(wire), transport)[0]
            if response is not None:
                yield _signed(checked, [response], now)[0]

        return stream

    def _admit(self, checked: Checked, peer: str, zone: str, kind: str,
               now: int) -> bytes | None:
        """None when `peer` may transfer now; else the refusal to send."""
        key = checked.key_name if checked.signer is not None else None
        verdict = decide(self.rules, peer, key)
        if verdict is Verdict.REFUSED:
            self._count(kind, "refused")
            self._burst.refused(peer, "acl", zone, kind)
            return _error(checked, dns.rcode.REFUSED, now)
        if verdict is Verdict.NOTAUTH:
            self._count(kind, "notauth")
            self._burst.refused(peer, "key", zone, kind)
            if checked.signer is None:
                return _error(checked, dns.rcode.NOTAUTH, now)
            return notauth(dataclasses.replace(checked, error=dns.rcode.BADKEY), now)
        if self.active >= self.max_transfers:
            self._count(kind, "busy")
            self._burst.refused(peer, "max_transfers", zone, kind)
            return _error(checked, dns.rcode.REFUSED, now)
        return None

    async def _ixfr(self, message: dns.message.Message,
                    zone: Zone) -> tuple[Iterable[WireRRset | bytes], str]:
        """The records of an IXFR answer and the kind sent ("axfr": the zone whole)."""
        served = zone_serial(zone)
        client = next((rrset[0].serial for rrset in message.authority
                       if rrset.rdtype == dns.rdatatype.SOA and rrset), None)
        if client is None:  # no SOA in authority (RFC 1995 §3 needs one): as AXFR
            return axfr_records(zone), "axfr"
        if not serial_gt(served, client):
            return [soa_of(zone)], "ixfr"
        chain = await off_loop(self._chain, zone.name.rstrip("."), client)
        if chain and chain[-1].serial_to == served:
            return ixfr_records(chain), "ixfr"
        return axfr_records(zone), "axfr"

    def _chain(self, name: str, client: int) -> list[Diff] | None:
        try:
            with Store.open(self.store_file, readonly=True) as store:
                return store.ixfr_chain(name, client)
        except StoreError as exc:
            log.warning("event=journal_unreadable zone=%s reason=%r action=axfr", name,
                        str(exc))
            return None

    def journal_entries(self) -> int | None:
        """The journal's differences over every zone (None: the store cannot be read)."""
        try:
            with Store.open(self.store_file, readonly=True) as store:
                return store.journal_entries()
        except StoreError:
            return None

    def _count(self, kind: str, result: str) -> None:
        if kind in KINDS:  # not a catalog's query
            self.counters.transfers[kind, result] += 1


def _within(tables: Tables, qname: bytes) -> bool:
    """Whether the lower-cased wire name `qname` is at or below a zone of `tables`."""
    o = 0
    while True:
        if qname[o:] in tables.zones:
            return True
        if not qname[o]:
            return False
        o += qname[o] + 1


def _signed(checked: Checked, out: Iterable[bytes], now: int) -> list[bytes]:
    signer = checked.signer
    return [m if signer is None else signer.sign(m, now) for m in out]


def _error(checked: Checked, rcode: int, now: int) -> bytes:
    """A response with `rcode` and the question only, signed when the query was."""
    response = dns.message.make_response(checked.message)
    response.set_rcode(rcode)
    return _signed(checked, [response.to_wire()], now)[0]


def _header(wire: bytes, rcode: int) -> bytes:
    flags = 0x8000 | ((wire[2] << 8 | wire[3]) & 0x7910) | rcode
    return wire[:2] + flags.to_bytes(2, "big") + bytes(8)
