"""How a listener's bytes reach the answering core: the one place serving is wired.

Rule owned here: a listener is given a Responder (listener.py) that reads the server's
current tables once per query (so a reload's swap is seen at once), answers through the
core, and, only when they are on, counts the query (metrics.py) and logs it (the query
log, logs.py). With both off, a UDP batch is answered in one call (`many`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from ..dns.core import Handoff, Transport, answer, answer_after_id, respond
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
    if not metrics.counting and not query_log:

        def bare(query: bytes) -> object:
            return answer(holder.tables, query, transport, view, handoff)  # type: ignore[attr-defined]

        def many(queries: list[bytes]) -> list[bytes | None]:  # a UDP batch (listener.py)
            return answer_after_id(holder.tables, queries, transport, view, handoff)  # type: ignore[attr-defined]

        bare.many = many  # type: ignore[attr-defined]
        return bare
    count = metrics.counters.counter(transport, family) if metrics.counting else _not_counted

    def responder(query: bytes) -> object:
        response, outcome, apex = respond(holder.tables, query, transport, view, handoff)  # type: ignore[attr-defined]
        count(query, response if response.__class__ is bytes else None, outcome, apex)
        return response

    if not query_log:
        return responder
    log = logging.getLogger(QUERY_LOGGER)

    def logging_responder(query: bytes) -> object:
        response, outcome, apex = respond(holder.tables, query, transport, view, handoff)  # type: ignore[attr-defined]
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

    return logging_responder


def _not_counted(query: bytes, response: bytes | None, outcome: Outcome, apex: str | None) -> None:
    """The count of a server whose metrics are off (used with the query log on)."""
