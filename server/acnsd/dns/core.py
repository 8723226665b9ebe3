"""The answering core: a pure function from a query's octets to the response's octets.

The rule this module owns: the edge policy, as one table applied in this order, and the
one error boundary.

    shorter than a header, or QR set            → drop (no response)
    opcode NOTIFY (RFC 1996)                    → the `handoff` (the secondary side,
                                                  xfr/secondary.py, answers); without
                                                  one, NOTAUTH with the question: we are
                                                  no secondary (as Knot DNS without an
                                                  ACL that allows it)
    other opcode than QUERY                     → NOTIMP
    QDCOUNT ≠ 1, malformed question or records,
      answer or authority records (but an
      IXFR's SOA), more than one OPT            → FORMERR
    AXFR, IXFR, or a TSIG RR (RFC 8945)         → the `handoff` (the primary side,
                                                  xfr/primary.py) answers; without one,
                                                  transfers are NOTIMP (`_transfer`) and
                                                  TSIG is ignored
    EDNS version above 0                        → BADVERS (RFC 6891 §6.1.3)
    with cookies on (cookies.py): a malformed
      COOKIE option                             → FORMERR (RFC 7873 §5.2.2)
    with cookies required, over UDP, a COOKIE
      without a valid server cookie             → BADCOOKIE with our cookie (§5.2.3-4)
    class CH: a configured name                 → its TXT; any other → REFUSED
    class other than IN, ANY and CH             → REFUSED
    no zone served at this address              → REFUSED (RA is never set), with EDE 20
                                                  Not Authoritative (RFC 8914); SERVFAIL
                                                  for a secondary's zone not transferred
                                                  yet or expired (lookup.py)
    otherwise                                   → the lookup (lookup.py); class ANY
                                                  (QCLASS *) is answered as IN, as Knot
                                                  DNS and NSD do
    an exception anywhere                       → SERVFAIL, counted and logged

Meta and pseudo types (OPT, TSIG, TKEY, MAILA...) are looked up as any other type (they
are never data: NODATA), as Knot DNS and NSD answer them. NOTIMP and FORMERR carry the
header and the question when exactly one can be read (as Knot DNS does), and our OPT
when the query has a valid one (RFC 6891 §7; wire.message_edns), none when its OPT is
bad (two, or not owned by the root) or the message does not read to its end.
With cookies on (`clients`: our secrets, the time and each query's client address),
every answer to a query with a COOKIE option ends with ours: its client cookie and a
fresh server cookie (RFC 7873 §5.2). A query whose one record is an OPT holding only a
COOKIE is cached too, keyed by the query up to that OPT's RDLENGTH and a mark, the answer
stored with the cookie it was made with: a hit is that answer with the query's own
cookie in place of its last 24 octets, so that no answer carries another client's
cookie. Responses copy ID, opcode, RD and CD, echo the question as received (0x20), carry our OPT
when the query had one (payload size, DO echoed, NSID when asked and configured), and fit
the client's limit: over UDP 512 octets without EDNS, else min(its size, ours) but at
least 512; over TCP 65535. Responses are kept in the tables' cache (cache.py decides
what is admitted), keyed by the query after its ID with the question lower-cased. A UDP
batch is answered after the IDs (`answer_after_id`; the batch sends each query's own ID),
so a hit is the stored octets as they are; a single query's hit gets its ID in front,
and a query in mixed case (0x20) gets its own question spliced in.

A name that does not exist below one that does (a random-subdomain flood, which the
cache never admits) is answered from a template, made by the first NXDOMAIN below a
parent name P that is a node of its zone (one this address serves), not at or below a
zone cut or a DNAME (whose names are substituted), without a wildcard child: then every
name X.P that is not a node of that zone, nor a zone (at any address), nor an extra name
of the view, is NXDOMAIN with the zone's negative SOA. The answer is the header, the
query's own question and the SOA RR encoded for where that question ends
(render.negative_tail), byte for byte what the full path writes. Templates are keyed by
the query after its ID without its first label (the exact octets of flags, P, type,
class and an option-less OPT): one dict lookup, then three to prove X.P is none of
those. Below an apex even those are left out when no name right below it has a first
label as long as X (the compiler keeps the lengths of the nodes as bits, and counts
those of the zones by parent), as with the long random labels of a flood. Every query,
alone or in a batch, is answered in one order: the response cache, then (`_after_cache`,
written once for both) the templates (a batch's misses in one pass, `_from_templates`),
then the full path for what they leave. DS (answered from the parent side) never gets
one. With cookies on, a query whose OPT holds only a COOKIE (a client cookie, alone or
with a server cookie as long as ours) has templates of its own, keyed up to that OPT's
RDLENGTH as the cache keys it: the answer ends with the client's fresh cookie. A name
below a DNAME whose substitution does not exist (NXDOMAIN with the DNAME, the synthesized
CNAME and the target zone's SOA) has templates of its own, in the same dict and keyed
alike, made and proved by dname_templates.py.
The core imports no asyncio, socket, time or metrics code: the adapters count the
Outcome `respond` returns. A handoff is a function from the query to what the adapter
sends (bytes or None, or over TCP a transfer stream, listener.py); it is called only on
the full path, so the paths above are as fast with it as without.
"""

from __future__ import annotations

import enum
import logging
import struct
from collections.abc import Callable
from itertools import repeat
from operator import itemgetter
from typing import NamedTuple

import dns.rdataclass
import dns.rdatatype

from .cache import CacheEntry, NegativeTemplate, unheld
from .compiler import Tables, ViewTables, Zone
from .cookies import COOKIE, OUR_OPTION_SIZE, ServerCookies, is_malformed
from .dname_templates import DnameTemplate, answer_below, remember_below
from .lookup import Result, names_below, resolve
from .outcome import AUTHORITATIVE, OUTCOMES, RCODE, Outcome, outcome_number
from .render import (
    EDE_NOT_AUTHORITATIVE,
    negative_tail,
    opt_rr,
    render,
    render_negative,
    with_ede,
    with_option,
)
from .wire import (
    HEADER_SIZE,
    Edns,
    MalformedQuery,
    Query,
    message_edns,
    parse_query,
    read_question_name,
)
from .zonemap import MASK

__all__ = [
    "Clients", "Handoff", "Outcome", "Transport", "answer", "answer_after_id", "internal_errors",
    "respond",
]  # fmt: skip

log = logging.getLogger("acnsd.core")


class Transport(enum.Enum):
    UDP = "udp"
    TCP = "tcp"


# the primary side's answer to a query the core hands off: over UDP bytes or None (drop)
Handoff = Callable[[bytes], object]


class Clients(NamedTuple):
    """What answering a DNS Cookie needs beyond the query, given by the adapter: our
    secrets, the time in seconds, and the client's IP address (packed) of the i-th
    query of the call (a batch's, or 0 alone); asked for only when a query has a COOKIE."""

    cookies: ServerCookies
    now: int
    address: Callable[[int], bytes]


_IN = dns.rdataclass.IN
_CH = dns.rdataclass.CH
_TXT = dns.rdatatype.TXT
_ANY = dns.rdatatype.ANY
_ANY_CLASS = dns.rdataclass.ANY
_SERVED_CLASSES = frozenset({_IN, _ANY_CLASS})  # whose REFUSED means no zone is served here
_TRANSFER_QTYPES = frozenset({dns.rdatatype.AXFR, dns.rdatatype.IXFR})
_DS = dns.rdatatype.DS
_NOTIFY = 4 << 3  # the opcode's bits in the third octet
_MAX_NAME = 255
_QR = 0x8000
_AA = 0x0400
_COPIED = 0x0110  # RD and CD
_OPCODE = 0x7800
_PACK_HEADER = struct.Struct(">HHHHHH").pack
_PACK_COUNTS = struct.Struct(">HHHH").pack
_MIN_UDP = 512
_MAX_TCP = 65535
# Enum attribute access is slow in Python 3.11: the hot path uses these names
_UDP = Transport.UDP
_DROP, _NOTIMP, _FORMERR = Outcome.DROP, Outcome.NOTIMP, Outcome.FORMERR
_BADVERS, _SERVFAIL, _REFUSED = Outcome.BADVERS, Outcome.SERVFAIL, Outcome.REFUSED
_ANSWER, _NODATA, _NXDOMAIN = Outcome.ANSWER, Outcome.NODATA, Outcome.NXDOMAIN
_NOTAUTH, _HANDOFF, _BADCOOKIE = Outcome.NOTAUTH, Outcome.HANDOFF, Outcome.BADCOOKIE
_FLAGS = {o: (RCODE[o] & 0xF) | (_AA if o in AUTHORITATIVE else 0) for o in RCODE}

_QUESTION = HEADER_SIZE - 2  # where the question starts in a query after its ID
_NO_ID = b"\0\0"  # the ID put in front of a query after its ID for the full path
_MISSED: CacheEntry = (b"", None, None)  # type: ignore[assignment]
_MISSES = repeat(_MISSED)  # endless and shared: made once, not per batch
_FIRST = itemgetter(0)
_COOKIE_MARK = b"\xff\xff"  # ends the cache key of a query with a COOKIE (module doc)
_COOKIE_TAIL = OUR_OPTION_SIZE - 4  # the client and server cookie that end such an answer

_errors = [0]  # internal errors since start; a list so the count needs no `global`


def internal_errors() -> int:
    """How many internal errors there were since the process started: queries that ended
    in SERVFAIL, and batches whose template pass failed (their queries then took the full
    path)."""
    return _errors[0]


def _header_only(wire: bytes, rcode: int) -> bytes:
    flags = (wire[2] << 8) | wire[3]
    out_flags = _QR | (flags & (_OPCODE | _COPIED)) | rcode
    return _PACK_HEADER((wire[0] << 8) | wire[1], out_flags, 0, 0, 0, 0)


def _error(tables: Tables, wire: bytes, rcode: int, edns: Edns | None) -> bytes:
    """An error response: the header, the question when there is exactly one that can be
    read (as Knot DNS does), and our OPT when the query had a valid one (`edns`)."""
    question = b""
    if wire[4:6] == b"\x00\x01":
        try:
            qname, _ = read_question_name(wire)
        except MalformedQuery:
            pass
        else:
            end = HEADER_SIZE + len(qname) + 4
            if end <= len(wire):
                question = wire[HEADER_SIZE:end]
    opt = b"" if edns is None else tables.opt_records[edns.do][edns.nsid]
    counts = _PACK_COUNTS(1 if question else 0, 0, 0, 1 if opt else 0)
    return _header_only(wire, rcode)[:4] + counts + question + opt


def _transfer(tables: Tables, wire: bytes, query: Query) -> tuple[bytes, Outcome]:
    """The answer to an AXFR or IXFR query (RFC 5936, RFC 1995): zone transfers are not
    implemented here, NOTIMP. (render.with_ede and EDE_PROHIBITED make a refusal's OPT.)"""
    return _error(tables, wire, RCODE[_NOTIMP], query.edns), _NOTIMP


def _chaos(tables: Tables, query: Query) -> Result:
    rrset = tables.chaos.get(query.key)
    if rrset is None:
        return Result(_REFUSED, None, [], [], [], False)
    if query.qtype in (_TXT, _ANY):
        return Result(_ANSWER, None, [(None, rrset)], [], [], True)
    return Result(_NODATA, None, [], [], [], True)


def _lookup(tables: Tables, view: ViewTables, query: Query) -> Result:
    if query.qclass == _IN or query.qclass == _ANY_CLASS:
        return resolve(tables, view, query.key, query.offsets, query.qtype)
    if query.qclass == _CH and tables.chaos:
        return _chaos(tables, query)
    return Result(_REFUSED, None, [], [], [], False)


def _from_templates(
    negative: dict[bytes, NegativeTemplate],
    bodies: list[bytes],
    answers: list[bytes | None],
    udp: bool,
    outcomes: list[tuple[Outcome, str | None]] | None,
    clients: Clients | None = None,
) -> None:
    """Answer from the NXDOMAIN templates (module doc) each query whose answer is still
    b"" (not in the response cache): `answers[i]` becomes the answer after its ID to
    `bodies[i]`, the query after its ID, or stays b"" when there is no template, the name
    exists or the answer does not fit; the full path decides those. A batch's queries are
    answered in one call (no call per query); with `outcomes`, each answer's (NXDOMAIN,
    apex) is recorded there. With `clients` (cookies on), a query whose OPT holds only a
    COOKIE (`_cookie_at`) has its template too, and its answer ends with our COOKIE. A
    template below a DNAME answers as dname_templates.answer_below says."""
    missed = -1
    for _ in range(answers.count(b"")):  # the queries still unanswered, in order
        missed = answers.index(b"", missed + 1)  # (scans in C)
        body = bodies[missed]
        try:
            first = body[_QUESTION]
        except IndexError:  # no question
            continue
        if not 0 < first < 64:
            continue
        cut = _QUESTION + 1 + first
        template = negative.get(body[:_QUESTION] + body[cut:])
        option = None  # our COOKIE option, for a query with one
        if template is None:
            at = 0 if clients is None else _cookie_at(body)
            if not at:
                continue
            template = negative.get(body[:_QUESTION] + body[cut:at] + _COOKIE_MARK)
            if template is None:
                continue
            option = _cookie_option(clients, body[at + 6 :], missed, udp)  # type: ignore[arg-type]
            if option is None:
                continue
        if template.__class__ is DnameTemplate:  # below a DNAME (dname_templates.py)
            response = answer_below(template, body, first, cut, udp, option or b"")
            if response is None:
                continue
            answers[missed] = response
            if outcomes is not None:
                outcomes[missed] = (_NXDOMAIN, template.apex)
            continue
        (head, longest, rest, lengths, nodes, zones, names, tails, soa, opt, limit, apex, ends,
         _) = template  # fmt: skip
        if first > longest:  # the name would be longer than 255 octets: FORMERR
            continue
        qend = cut + rest  # where the question ends, in the body
        if lengths >> first & 1:  # some name right below the parent has a first label this long
            key = body[_QUESTION : qend - 4].lower()  # the template's key matched the parent's case
            if key in nodes or key in names or key in zones[hash(key) & MASK]:
                continue
        end = ends.get(qend)  # the SOA RR and the OPT after a question ending there
        if end is None:
            end = negative_tail(soa, tails, qend + 2) + opt  # tails: offsets in the message
            ends[qend] = end  # at most one per question length: bounded
        if option is None:
            if udp and qend + 2 + len(end) > limit:
                continue
            answers[missed] = head + body[_QUESTION:qend] + end
        else:  # the template's OPT counts our COOKIE, which ends the answer
            if udp and qend + 2 + len(end) + OUR_OPTION_SIZE > limit:
                continue
            answers[missed] = head + body[_QUESTION:qend] + end + option
        if outcomes is not None:
            outcomes[missed] = (_NXDOMAIN, apex)


# the end of a query whose OPT holds only a COOKIE: RDLENGTH, option code and length, by
# the option's length (a client cookie alone, or with a server cookie as long as ours)
_COOKIE_ENDS = {size: struct.pack(">HHH", size + 4, COOKIE, size) for size in (8, 24)}


def _cookie_at(body: bytes) -> int:
    """Where the OPT's RDLENGTH is in a query after its ID that ends with an OPT holding
    only a COOKIE of a client cookie alone or with a 16-octet server cookie (as ours), the
    usual shapes; 0 for any other query. (The template key then checks what comes before.)"""
    for size, end in _COOKIE_ENDS.items():
        at = len(body) - size - 6
        if at > _QUESTION and body[at : at + 6] == end:
            return at
    return 0


def _cookie_option(clients: Clients, data: bytes, index: int, udp: bool) -> bytes | None:
    """Our COOKIE option for the query `index` of a batch with the COOKIE `data`, or None
    when the full path must answer it (cookies required and its server cookie not valid:
    BADCOOKIE)."""
    address, now, secrets = clients.address(index), clients.now, clients.cookies
    if secrets.require and udp and not secrets.valid(data, address, now):
        return None
    return secrets.option(data, address, now)


def _remember_negative(
    tables: Tables,
    view: ViewTables,
    wire: bytes,
    query: Query,
    flags: int,
    zone: Zone,
    opt: bytes | None,
) -> None:
    """Make the template for the parent of an NXDOMAIN query name, when it may have one:
    not for a view's extra name (R8) in a zone the view does not serve, whose siblings
    the view refuses."""
    offsets = query.offsets
    if len(offsets) < 2 or view.address is not None and view.address not in zone.addresses:
        return
    parent = query.key[offsets[1] :]
    node = zone.nodes.get(parent)
    # (nor at or below a DNAME: a name below one is never NXDOMAIN without an answer)
    if node is None or node.cut is not None or node.wildcard is not None:
        return
    ar = 0 if opt is None else 1
    template = NegativeTemplate(
        head=_PACK_HEADER(0, flags, 1, 0, 1, ar)[2:],
        longest=_MAX_NAME - 1 - len(parent),
        rest=len(parent) + 4,
        lengths=names_below(tables, view, zone, parent),
        nodes=zone.nodes,
        zones=tables.zones.shards,
        names=view.names,
        tails=zone.negative_tails,
        soa=zone.negative_soa,
        opt=opt or b"",
        limit=_udp_limit(tables, query.edns),
        apex=zone.name,
        ends={},
        depends=(zone.key,),
    )
    tables.cache.store_template(view.negative, _template_key(wire, query), template)


def _template_key(wire: bytes, query: Query) -> bytes:
    """The key of a query's template: the query after its ID without its first label, up
    to the OPT's RDLENGTH for a query with a COOKIE, as the cache keys it."""
    start = HEADER_SIZE + query.offsets[1]
    if query.cookie_at:
        return wire[2:HEADER_SIZE] + wire[start : query.cookie_at] + _COOKIE_MARK
    return wire[2:HEADER_SIZE] + wire[start:]


def _udp_limit(tables: Tables, edns: Edns | None) -> int:
    """The size a UDP answer to a query with `edns` must fit, whichever transport the
    query came over."""
    limit = _MIN_UDP if edns is None else min(edns.payload, tables.options.edns_udp_size)
    return limit if limit > _MIN_UDP else _MIN_UDP


def _respond(
    tables: Tables,
    view: ViewTables,
    cache: dict[bytes, CacheEntry],
    wire: bytes,
    udp: bool,
    primary: bool = False,
    clients: Clients | None = None,
    index: int = 0,
) -> tuple[bytes | None, Outcome, str | None]:
    if len(wire) < HEADER_SIZE or wire[2] & 0x80:
        return None, _DROP, None
    if wire[2] & 0x78:
        if wire[2] & 0x78 == _NOTIFY:
            if primary:
                return None, _HANDOFF, None
            return _error(tables, wire, RCODE[_NOTAUTH], message_edns(wire)), _NOTAUTH, None
        return _error(tables, wire, RCODE[_NOTIMP], message_edns(wire)), _NOTIMP, None
    try:
        query = parse_query(wire)
    except MalformedQuery:
        return _error(tables, wire, RCODE[_FORMERR], message_edns(wire)), _FORMERR, None
    if query.qtype in _TRANSFER_QTYPES or query.signed:
        if primary:
            return None, _HANDOFF, None
        if query.qtype in _TRANSFER_QTYPES:
            return *_transfer(tables, wire, query), None
    qlen = len(query.qname)
    if query.plain and query.key != query.qname:  # 0x20: the cache holds the lower-cased form
        hit = cache.get(wire[2:HEADER_SIZE] + query.key + wire[HEADER_SIZE + qlen :])
        if hit is not None:
            body = hit[0]
            return (wire[:2] + body[:10] + query.qname + body[10 + qlen :], OUTCOMES[hit[1]],
                    hit[2])
    options = tables.options
    edns = query.edns
    cookie = cookie_key = None  # our COOKIE option; the cache key of a query with one
    if clients is not None and edns is not None and edns.cookie is not None:
        data = edns.cookie
        if is_malformed(data):
            return _error(tables, wire, RCODE[_FORMERR], edns), _FORMERR, None
        address, now, secrets = clients.address(index), clients.now, clients.cookies
        cookie = secrets.option(data, address, now)
        if secrets.require and udp and not secrets.valid(data, address, now):
            return _bad_cookie(tables, wire, edns, cookie), _BADCOOKIE, None
        if query.cookie_at:
            cookie_key = (wire[2:HEADER_SIZE] + query.key
                          + wire[HEADER_SIZE + qlen : query.cookie_at] + _COOKIE_MARK)
            hit = cache.get(cookie_key)
            if hit is not None:
                body = hit[0]
                response = (wire[:2] + body[:10] + query.qname + body[10 + qlen : -_COOKIE_TAIL]
                            + cookie[4:])
                return response, OUTCOMES[hit[1]], hit[2]
    if edns is None:
        limit = _MIN_UDP if udp else _MAX_TCP
        opt = None
    else:
        if not udp:
            limit = _MAX_TCP
        else:
            limit = edns.payload if edns.payload < options.edns_udp_size else options.edns_udp_size
            if limit < _MIN_UDP:
                limit = _MIN_UDP
        if edns.version > 0:
            opt = opt_rr(options.edns_udp_size, RCODE[_BADVERS] >> 4, edns.do, None)
            flags = _QR | (query.flags & _COPIED)
            return render(wire, query, flags, [], [], [], limit, opt), _BADVERS, None
        opt = tables.opt_records[edns.do][edns.nsid]
    result = _lookup(tables, view, query)
    outcome = result.outcome
    flags = _QR | (query.flags & _COPIED) | _FLAGS[outcome]
    zone = result.zone
    if zone is None:
        apex = None
        if outcome is _REFUSED and opt is not None and query.qclass in _SERVED_CLASSES:
            opt = with_ede(opt, EDE_NOT_AUTHORITATIVE)
        if cookie is not None:
            opt = with_option(opt, cookie)  # type: ignore[arg-type]
        response = render(wire, query, flags, result.answer, [], [], limit, opt)
    else:
        apex = zone.name
        if cookie is not None:
            opt = with_option(opt, cookie)  # type: ignore[arg-type]
        if (outcome is _NXDOMAIN or outcome is _NODATA) and not result.answer:
            soa, tails = zone.negative_soa, zone.negative_tails
            response = render_negative(wire, query, flags, soa, tails, limit, opt)
            if outcome is _NXDOMAIN and query.qtype != _DS:
                if query.plain:
                    _remember_negative(tables, view, wire, query, flags, zone, opt)
                elif cookie_key is not None:  # the template's OPT leaves our COOKIE out
                    _remember_negative(tables, view, wire, query, flags, zone,
                                       opt[:-OUR_OPTION_SIZE])  # type: ignore[index]
        else:
            response = render(
                wire, query, flags, result.answer, result.authority, result.additional, limit, opt
            )
            if outcome is _NXDOMAIN and query.qtype != _DS and (query.plain or cookie_key):
                size = 0 if cookie_key is None else OUR_OPTION_SIZE  # our COOKIE ends it
                remember_below(tables, view, query, result, response, _template_key(wire, query),
                               _udp_limit(tables, edns), size)
    if query.plain or cookie_key is not None:  # admission (cache.py): names that exist at once,
        # others when repeated
        key = cookie_key or wire[2:HEADER_SIZE] + query.key + wire[HEADER_SIZE + qlen :]
        if result.exists or tables.cache.seen_before(key):
            body = response[2:HEADER_SIZE] + query.key + response[HEADER_SIZE + qlen :]
            if zone is None:
                depends = (unheld(query.key),)
            else:
                depends = (zone.key, *result.depends) if result.depends else (zone.key,)
            tables.cache.store(cache, key, (body, outcome_number[outcome], apex, depends))
    return response, outcome, apex


def _bad_cookie(tables: Tables, wire: bytes, edns: Edns, cookie: bytes) -> bytes:
    """BADCOOKIE (23: 7 in the header, 1 in our OPT's upper bits) with the question and our
    COOKIE, which the client retries with (RFC 7873 §5.2.3, §5.3)."""
    rcode = RCODE[_BADCOOKIE]
    opt = with_option(opt_rr(tables.options.edns_udp_size, rcode >> 4, edns.do, None), cookie)
    error = _error(tables, wire, rcode & 0xF, None)
    return error[:10] + b"\x00\x01" + error[HEADER_SIZE:] + opt


def _internal_error(tables: Tables, query: bytes) -> tuple[bytes | None, Outcome, str | None]:
    """SERVFAIL, with the question and our OPT as any error answer, else the header alone
    (whatever failed may fail again), else nothing."""
    _errors[0] += 1
    log.exception("internal error answering a query of %d octets", len(query))
    rcode = RCODE[_SERVFAIL]
    try:
        return _error(tables, query, rcode, message_edns(query)), _SERVFAIL, None
    except Exception:
        pass
    try:
        return _header_only(query, rcode), _SERVFAIL, None
    except Exception:
        return None, _DROP, None


def _after_cache(
    tables: Tables,
    view: ViewTables,
    bodies: list[bytes],
    answers: list[bytes | None],
    udp: bool,
    outcomes: list[tuple[Outcome, str | None]] | None = None,
    handed: list[int] | None = None,
    clients: Clients | None = None,
) -> None:
    """What comes after the response cache, written once for a query alone and for a
    batch: each answer still b"" (a cache miss) is made from the NXDOMAIN templates, else
    by the full path. `bodies` are queries after their two-octet ID, and so are the
    answers (None: drop); with `outcomes`, each answer's (Outcome, apex) is recorded
    there. With `handed`, the queries for the primary side are not answered (None) but
    their indexes appended there. `clients` answers DNS Cookies. An internal error is one
    query's SERVFAIL, never an exception."""
    cache = view.udp_cache if udp else view.tcp_cache
    if view.negative:
        try:
            _from_templates(view.negative, bodies, answers, udp, outcomes, clients)
        except Exception:  # what it left unanswered takes the full path
            _errors[0] += 1
            log.exception("internal error in the NXDOMAIN templates; the full path answers")
    missed = -1
    for _ in range(answers.count(b"")):  # the queries no cache or template answered, in order
        missed = answers.index(b"", missed + 1)
        query = _NO_ID + bodies[missed]
        try:
            response, outcome, apex = _respond(tables, view, cache, query, udp,
                                               handed is not None, clients, missed)
        except Exception:
            response, outcome, apex = _internal_error(tables, query)
        if outcome is _HANDOFF:
            handed.append(missed)  # type: ignore[union-attr]
        answers[missed] = None if response is None else response[2:]
        if outcomes is not None:
            outcomes[missed] = (outcome, apex)


def _view(tables: Tables, local_address: str | None) -> ViewTables:
    return tables.views.get(local_address, tables.default) if tables.views else tables.default


def respond(
    tables: Tables,
    query: bytes,
    transport: Transport,
    local_address: str | None = None,
    handoff: Handoff | None = None,
    clients: Clients | None = None,
) -> tuple[bytes | None, Outcome, str | None]:
    """(response or None to drop, the query's Outcome, the answering zone's apex or None);
    for a query handed off (Outcome.HANDOFF), the response is what `handoff` returned.
    With `clients`, DNS Cookies are answered (the query's client is its address(0)).

    Never raises: an internal error becomes SERVFAIL, is counted and logged."""
    try:
        view = _view(tables, local_address)
        udp = transport is _UDP
        hit = (view.udp_cache if udp else view.tcp_cache).get(query[2:])
        if hit is not None:
            return query[:2] + hit[0], OUTCOMES[hit[1]], hit[2]
        answers: list[bytes | None] = [b""]
        outcomes: list[tuple[Outcome, str | None]] = [(_DROP, None)]
        handed: list[int] | None = None if handoff is None else []
        _after_cache(tables, view, [query[2:]], answers, udp, outcomes, handed, clients)
        if handed:
            return handoff(query), _HANDOFF, None  # type: ignore[misc,return-value]
    except Exception:
        return _internal_error(tables, query)
    answer = answers[0]  # None for a query shorter than a header: the full path drops it
    return (None if answer is None else query[:2] + answer), *outcomes[0]


def answer(
    tables: Tables,
    query: bytes,
    transport: Transport,
    local_address: str | None = None,
    handoff: Handoff | None = None,
    clients: Clients | None = None,
) -> bytes | None:
    """The response to `query` received over `transport` on `local_address`; None: drop.

    `respond` without the outcome, for adapters that count nothing; never raises."""
    return respond(tables, query, transport, local_address, handoff, clients)[0]


def answer_after_id(
    tables: Tables,
    queries: list[bytes],
    transport: Transport,
    local_address: str | None = None,
    handoff: Handoff | None = None,
    clients: Clients | None = None,
) -> list[bytes | None]:
    """`answer` for a batch of queries read from one socket, each given and answered
    *after its two-octet ID* (udpbatch.py sends every query's own ID in front of its
    answer): a cache hit is then the stored octets themselves. `handoff` must return
    bytes or None here; `clients` answers DNS Cookies (the i-th query's client is its
    address(i)). Never raises."""
    try:
        view = _view(tables, local_address)
        udp = transport is _UDP
        cache = view.udp_cache if udp else view.tcp_cache
    except Exception:
        return [_after_id(_internal_error(tables, _NO_ID + query)[0]) for query in queries]
    answers = [*map(_FIRST, map(cache.get, queries, _MISSES))]  # b"": not in the cache
    handed: list[int] | None = None if handoff is None else []
    _after_cache(tables, view, queries, answers, udp, None, handed, clients)
    for index in handed or ():
        try:
            answers[index] = _after_id(handoff(_NO_ID + queries[index]))  # type: ignore[misc,arg-type]
        except Exception:
            answers[index] = _after_id(_internal_error(tables, _NO_ID + queries[index])[0])
    return answers


def _after_id(response: bytes | None) -> bytes | None:
    return None if response is None else response[2:]
