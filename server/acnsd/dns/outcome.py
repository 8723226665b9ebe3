"""The outcome of a query: the spine of the answering core.

The rule this module owns: every query ends in exactly one Outcome, and this table alone
maps an outcome to the response code and the AA flag (RFC 1035 §4.1.1, RFC 6891 §9 for
BADVERS, RFC 7873 §8 for BADCOOKIE). Metrics and tests count outcomes, never re-parse responses.
"""

from __future__ import annotations

import enum

__all__ = ["AUTHORITATIVE", "OUTCOMES", "RCODE", "Outcome", "outcome_number"]


class Outcome(enum.Enum):
    ANSWER = "answer"  # data in the answer section (a CNAME chain included)
    REFERRAL = "referral"  # the qname is at or below a zone cut: NS in authority, AA clear
    NODATA = "nodata"  # the name exists (or is an empty non-terminal) but not the type
    NXDOMAIN = "nxdomain"
    YXDOMAIN = "yxdomain"  # a DNAME substitution longer than a name may be (RFC 6672 §2.2)
    REFUSED = "refused"  # not a zone (or class) we serve at this address
    FORMERR = "formerr"
    NOTIMP = "notimp"
    BADVERS = "badvers"  # EDNS version above 0
    BADCOOKIE = "badcookie"  # RFC 7873 §5.2.3: a valid server cookie is required (cookies.py)
    SERVFAIL = "servfail"  # an internal error, counted and logged
    # a zone followed as a secondary with nothing to serve (not transferred yet, expired):
    # SERVFAIL, as Knot DNS answers
    UNAVAILABLE = "unavailable"
    NOTAUTH = "notauth"  # RFC 1996 NOTIFY: we are no secondary (as Knot DNS without an ACL)
    DROP = "drop"  # no response at all
    # a zone transfer or a TSIG-signed query: answered by the primary side (xfr/), which
    # decides the rcode
    HANDOFF = "handoff"

    # identity hash: members are singletons, and Enum's own __hash__ is Python code that
    # would run for every table lookup on the hot path
    __hash__ = object.__hash__


# The full (extended) rcode; BADVERS is 16: 0 in the header, 1 in the OPT's upper bits.
RCODE = {
    Outcome.ANSWER: 0,
    Outcome.REFERRAL: 0,
    Outcome.NODATA: 0,
    Outcome.NXDOMAIN: 3,
    Outcome.YXDOMAIN: 6,
    Outcome.REFUSED: 5,
    Outcome.FORMERR: 1,
    Outcome.NOTIMP: 4,
    Outcome.BADVERS: 16,
    Outcome.BADCOOKIE: 23,
    Outcome.SERVFAIL: 2,
    Outcome.UNAVAILABLE: 2,
    Outcome.NOTAUTH: 9,
}

AUTHORITATIVE = frozenset({Outcome.ANSWER, Outcome.NODATA, Outcome.NXDOMAIN, Outcome.YXDOMAIN})

# An outcome as a number, and back (OUTCOMES[outcome_number[o]] is o): a response cache
# entry holds the number, so that the entry holds no object the cyclic collector tracks
# and the collector stops tracking it (10^5 cached answers walked by every full
# collection held the GIL ~75 ms)
OUTCOMES: tuple[Outcome, ...] = tuple(Outcome)
outcome_number: dict[Outcome, int] = {outcome: i for i, outcome in enumerate(OUTCOMES)}
