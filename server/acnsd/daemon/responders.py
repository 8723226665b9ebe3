"""How a listener's bytes reach the answering core: the one place serving is wired.

Rule owned here: a listener is given a Responder (listener.py) that reads the server's
current tables once per query (so a reload's swap is seen at once), answers through the
core, and, only when they are on, counts the query (metrics.py) and logs it (the query
log, logs.py). With both off, a UDP batch is answered in one call (`many`). With DNS
Cookies on (`holder.cookies`, read once per query or batch like the tables), the
responder `wants_peer` (listener.py): the client's address and the time go to the core
(core.Clients), which reads them only for a query with a COOKIE option. Over UDP, the
answers then pass the response rate limiter when it is on (`holder.rrl`, dns/rrl.py),
which needs the client's address too.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence

from ..dns.core import Clients, Handoff, Transport, answer, answer_after_id, respond
from ..dns.outcome import Outcome
from .logs import QUERY_LOGGER, query_line
from .metrics import Metrics, outcome_label, rcode_label

__all__ = ["counting_responder"]


def counting_responder(
    metrics: Metrics,
    holder: object,
    transport: Transport,
    family: str,
    view: str | None,
    query_log: bool = False,
    handoff: Handoff | None = None,
) -> Callable[[bytes], object]:
    """A listener Responder: answers from `holder.tables` (read once per query, so a
    reload's swap is seen at once), counts the query unless `metrics.counting` is off,
    and logs it when `query_log`. `handoff` answers the queries of the primary side
    (xfr/primary.py); a transfer stream it returns is counted without a size."""
    udp = transport is Transport.UDP
    if not metrics.counting and not query_log:

        def bare(query: bytes, address: bytes = b"") -> object:
            clients = _clients(holder, query, address)
            response = answer(holder.tables, query, transport, view, handoff, clients)  # type: ignore[attr-defined]
            return _limited(holder, query, response, address, clients) if udp else response

        current: list[Clients | None] = [None]  # made once a second, not once a batch

        def many(queries: list[bytes], address: Callable[[int], bytes] = _nowhere,
                 peers: Callable[[int], Sequence[bytes]] | None = None
                 ) -> list[bytes | None]:  # a UDP batch (listener.py)
            cookies = holder.cookies  # type: ignore[attr-defined]
            clients = None
            if cookies is not None and address is not _nowhere:
                now = int(time.time())
                clients = current[0]
                if (clients is None or clients.now != now or clients.cookies is not cookies
                        or clients.address is not address):
                    clients = current[0] = Clients(cookies, now, address)
            answers = answer_after_id(holder.tables, queries, transport, view, handoff, clients)  # type: ignore[attr-defined]
            limiter = holder.rrl  # type: ignore[attr-defined]
            if limiter is not None and udp and address is not _nowhere:
                limiter.limit(queries, answers, address, time.monotonic(), clients, peers)
            return answers

        bare.many = many  # type: ignore[attr-defined]
        bare.wants_peer = True  # type: ignore[attr-defined]
        return bare
    count = metrics.counters.counter(transport, family) if metrics.counting else _not_counted

    def responder(query: bytes, address: bytes = b"") -> object:
        clients = _clients(holder, query, address)
        response, outcome, apex = respond(holder.tables, query, transport, view, handoff,  # type: ignore[attr-defined]
                                          clients)
        if udp:
            response = _limited(holder, query, response, address, clients)
        count(query, response if response.__class__ is bytes else None, outcome, apex)
        return response

    responder.wants_peer = True  # type: ignore[attr-defined]
    if not query_log:
        return responder
    log = logging.getLogger(QUERY_LOGGER)

    def logging_responder(query: bytes, address: bytes = b"") -> object:
        clients = _clients(holder, query, address)
        response, outcome, apex = respond(holder.tables, query, transport, view, handoff,  # type: ignore[attr-defined]
                                          clients)
        if udp:
            response = _limited(holder, query, response, address, clients)
        sized = response if response.__class__ is bytes else None
        count(query, sized, outcome, apex)
        label = outcome_label(outcome)
        size = len(sized) if sized is not None else None
        log.info(
            "%s",
            query_line(
                transport.value, family, view, query, size, label, rcode_label(outcome), apex
            ),
        )
        return response

    logging_responder.wants_peer = True  # type: ignore[attr-defined]
    return logging_responder


_COOKIE_CODE = b"\x00\x0a"  # a query without these octets has no COOKIE option


def _clients(holder: object, query: bytes, address: bytes) -> Clients | None:
    """What the core needs to answer a query's DNS Cookie, when cookies are on and the
    query may have one (the search is in C: most queries skip making it)."""
    if not address or _COOKIE_CODE not in query:
        return None
    cookies = holder.cookies  # type: ignore[attr-defined]
    if cookies is None:
        return None
    return Clients(cookies, int(time.time()), lambda index: address)


def _limited(holder: object, query: bytes, response: object, address: bytes,
             clients: Clients | None) -> object:
    """A UDP response past the response rate limiter, when it is on (`clients`: to check
    the query's server cookie with, None when it has none)."""
    limiter = holder.rrl  # type: ignore[attr-defined]
    if limiter is None or not address or response.__class__ is not bytes:
        return response
    return limiter.limit_one(query, response, address, time.monotonic(), clients)  # type: ignore[arg-type]


def _nowhere(index: int) -> bytes:
    """The address of a batch's client when the listener gives none: cookies are off."""
    return b""


def _not_counted(query: bytes, response: bytes | None, outcome: Outcome, apex: str | None) -> None:
    """The count of a server whose metrics are off (used with the query log on)."""
