"""Prometheus metrics: plain integers on the hot path, metric families only when scraped.

The rule this module owns: answering a query costs a few integer increments in
preallocated lists and one dict (zone apex → count), nothing else; the Prometheus
families are built from those integers by a custom collector at scrape time, on the
exposition's own thread. Every label value comes from a fixed list (transport, address
family, qtype — unlisted types are `other` —, outcome, rcode) or from the configuration
(zone apexes, account ids and ACNS set numbers) or from the delegation checks' three
statuses: never from a query name.

The rcode of a query is a function of its outcome (outcome.RCODE), so both labels are
carried by one family without multiplying its series. Truncation is orthogonal to the
outcome (a truncated answer is still an answer) and has its own family.
"""

from __future__ import annotations

import bisect
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import dns.rcode
import dns.rdatatype
from prometheus_client import CollectorRegistry, ProcessCollector, start_http_server
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    InfoMetricFamily,
)
from prometheus_client.registry import Collector

from .. import __version__
from ..dns.compiler import compiled_on_query
from ..dns.core import Transport, internal_errors
from ..dns.outcome import RCODE, Outcome
from ..model.types import Model
from ..verify.compare import STATUSES

__all__ = [
    "FAMILIES",
    "OUTCOMES",
    "QTYPES",
    "SIZE_BUCKETS",
    "Counters",
    "Exposition",
    "Metrics",
    "MetricsCollector",
    "acns_sets",
    "outcome_label",
    "rcode_label",
    "start_exposition",
]

TRANSPORTS = (Transport.UDP, Transport.TCP)
FAMILIES = ("ipv4", "ipv6")
QTYPES = (
    "A", "AAAA", "CNAME", "MX", "NS", "PTR", "SOA", "SRV", "TXT", "CAA", "DS", "DNSKEY",
    "HTTPS", "SVCB", "NAPTR", "ANY",
)  # fmt: skip
OTHER = len(QTYPES)  # the index of "other"
QTYPE_LABELS = (*QTYPES, "other")
_QTYPE_INDEX = {dns.rdatatype.from_text(name): i for i, name in enumerate(QTYPES)}
OUTCOMES = tuple(Outcome)
_OUTCOME_INDEX = {outcome: i for i, outcome in enumerate(OUTCOMES)}
OUTCOME_LABELS = tuple("dropped" if o is Outcome.DROP else o.value for o in OUTCOMES)
# response sizes in octets: the classic 512 limit, the flag-day EDNS size, Ethernet, TCP max
SIZE_BUCKETS = (64, 128, 256, 512, 1024, 1232, 1500, 4096, 16384, 65535)
_CELLS = len(QTYPE_LABELS) * len(OUTCOMES)  # counters per (transport, family)


# the size bucket of every possible response length (a TCP message is at most 65535 octets)
_BUCKET_OF = bytes(bisect.bisect_left(SIZE_BUCKETS, n) for n in range(65536))


class Counters:
    """The hot-path integers. Index helpers are public so tests can read single cells."""

    def __init__(self) -> None:
        # (transport, family, qtype, outcome) flattened; see `cell`
        self.queries = [0] * (len(TRANSPORTS) * len(FAMILIES) * _CELLS)
        self.truncated = [0] * len(TRANSPORTS)
        # per transport: one count per bucket plus +Inf, then the sum of sizes
        self.sizes = [[0] * (len(SIZE_BUCKETS) + 2) for _ in TRANSPORTS]
        self.zones: dict[str, int] = {}  # zone apex ("example.com.") → queries it answered

    @staticmethod
    def base(transport: Transport, family: str) -> int:
        return (TRANSPORTS.index(transport) * len(FAMILIES) + FAMILIES.index(family)) * _CELLS

    @staticmethod
    def cell(transport: Transport, family: str, qtype: str, outcome: Outcome) -> int:
        q = QTYPE_LABELS.index(qtype)
        return Counters.base(transport, family) + q * len(OUTCOMES) + _OUTCOME_INDEX[outcome]

    def counter(
        self, transport: Transport, family: str
    ) -> Callable[[bytes, bytes | None, Outcome, str | None], None]:
        """The function that counts one query received over `transport` from `family`:
        count(query, response or None, outcome, zone apex or None). Everything it touches
        is bound as a local, so a query costs a handful of integer increments."""
        queries, zones = self.queries, self.zones
        t = TRANSPORTS.index(transport)
        truncated, sizes = self.truncated, self.sizes[t]
        base = self.base(transport, family)
        row = len(OUTCOMES)
        outcome_index, qtype_index, bucket_of = _OUTCOME_INDEX, _QTYPE_INDEX, _BUCKET_OF
        other = OTHER

        def count(query: bytes, response: bytes | None, outcome: Outcome, apex: str | None) -> None:
            # the qname ends at the first zero octet after the header: a zero inside a
            # label's text (legal, never seen in practice) only files it under another qtype
            end = query.find(0, 12)
            try:
                q = (
                    qtype_index.get((query[end + 1] << 8) | query[end + 2], other)
                    if end > 0
                    else other
                )
            except IndexError:  # the qtype is cut short
                q = other
            queries[base + q * row + outcome_index[outcome]] += 1
            if apex is not None:
                zones[apex] = zones.get(apex, 0) + 1
            if response is not None:
                size = len(response)
                sizes[bucket_of[size] if size < 65536 else -2] += 1
                sizes[-1] += size
                if response[2] & 0x02:  # TC
                    truncated[t] += 1

        return count


@dataclass
class LoadState:
    """What the last successful load brought, and how the last reload went."""

    generation: int = 0
    zones: int = 0
    records: int = 0
    sets: dict[str, tuple[str, int]] | None = None  # zone → (account id, ACNS set)
    last_reload: float = 0.0  # Unix time of the last load or reload attempt
    last_ok: bool = True


class Metrics:
    """Counters plus the server's state as the collector reports it.

    The server calls `loaded` after every successful (re)load and `reload_failed` after
    a rejected one; `tcp` is any object with `open` (a sized collection) and `evicted`
    (an int), such as listener.TcpConnections."""

    def __init__(self, counting: bool = True) -> None:
        self.counting = counting  # off: queries are not counted (no exposition to read them)
        self.counters = Counters()
        self.state = LoadState()
        self.reloads = {"ok": 0, "rejected": 0}
        self.tcp: object | None = None
        # the primary side (xfr/primary.py): its `counters` (TransferCounters) and
        # `journal_entries()`
        self.primary: object | None = None
        # the secondary side (xfr/secondary.py): its `counters` (SecondaryCounters),
        # `lags()` and `states()`; None when the server is no secondary
        self.secondary: object | None = None
        # what holds the response rate limiter (dns/rrl.py) as `rrl`, None when it is off
        self.limits: object | None = None
        # the delegation checks' last results (verify/checks.py), None: not checked here
        self.checks: Callable[[], dict[str, Any]] | None = None

    def loaded(
        self,
        zones: int,
        records: int,
        sets: dict[str, tuple[str, int]] | None = None,
        generation: int = 0,
    ) -> None:
        """Record a successful (re)load. The counts come from the compiled tables and
        `sets` from acns_sets(), both made off the event loop: walking a million RRsets or
        10,000 zones here would hold the loop right after the swap."""
        first = self.state.generation == 0
        self.state = LoadState(
            generation=generation or self.state.generation + 1,
            zones=zones,
            records=records,
            sets=sets,
            last_reload=time.time(),
            last_ok=True,
        )
        if not first:
            self.reloads["ok"] += 1

    def reload_failed(self) -> None:
        self.reloads["rejected"] += 1
        self.state.last_reload = time.time()
        self.state.last_ok = False


def acns_sets(model: Model) -> dict[str, tuple[str, int]]:
    """The (account, ns_set) of every zone on an account's custom nameservers, by zone
    name (the model's own string; one tuple per set, shared by its zones: 10^5 zones are
    on a few sets)."""
    pairs: dict[tuple[str, int], tuple[str, int]] = {}
    return {z.name: pairs.setdefault((z.account, z.ns_set), (z.account, z.ns_set))
            for z in model.zones if z.ns_type == "custom.account" and z.ns_set is not None}


class MetricsCollector(Collector):
    """Builds every acnsd family from a Metrics object when Prometheus scrapes."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    def collect(self) -> Iterable:
        m = self.metrics
        c = m.counters
        yield InfoMetricFamily("acnsd_build", "acnsd build information", {"version": __version__})
        queries = CounterMetricFamily(
            "acnsd_queries",
            "Queries received, by transport, address family, qtype, outcome and rcode",
            labels=("transport", "family", "qtype", "outcome", "rcode"),
        )
        values = list(c.queries)  # one copy: the scrape runs beside the event loop
        for t, transport in enumerate(TRANSPORTS):
            for f, family in enumerate(FAMILIES):
                base = (t * len(FAMILIES) + f) * _CELLS
                for q, qtype in enumerate(QTYPE_LABELS):
                    for o, outcome in enumerate(OUTCOMES):
                        value = values[base + q * len(OUTCOMES) + o]
                        if value:
                            labels = (transport.value, family, qtype, OUTCOME_LABELS[o],
                                      rcode_label(outcome))  # fmt: skip
                            queries.add_metric(labels, value)
        yield queries
        truncated = CounterMetricFamily(
            "acnsd_responses_truncated", "Responses sent with TC set", labels=("transport",)
        )
        sizes = HistogramMetricFamily(
            "acnsd_response_size_bytes", "Size of the responses sent", labels=("transport",)
        )
        for t, transport in enumerate(TRANSPORTS):
            truncated.add_metric((transport.value,), c.truncated[t])
            counts = list(c.sizes[t])
            buckets, total = [], 0
            for bound, n in zip((*map(str, SIZE_BUCKETS), "+Inf"), counts[:-1], strict=True):
                total += n
                buckets.append((bound, total))
            sizes.add_metric((transport.value,), buckets, counts[-1])
        yield truncated
        yield sizes
        zones = dict(c.zones)
        zone_family = CounterMetricFamily(
            "acnsd_zone_queries", "Queries answered from each zone, by apex", labels=("zone",)
        )
        for apex, value in sorted(zones.items()):
            zone_family.add_metric((apex,), value)
        yield zone_family
        state = m.state
        sets = state.sets or {}
        per_set = dict.fromkeys(set(sets.values()), 0)
        for apex, value in zones.items():  # (the apexes end in ".")
            pair = sets.get(apex[:-1])
            if pair is not None:
                per_set[pair] += value
        set_family = CounterMetricFamily(
            "acnsd_acns_set_queries",
            "Queries answered from zones on each account custom nameserver set",
            labels=("account", "ns_set"),
        )
        for (account, ns_set), value in sorted(per_set.items()):
            set_family.add_metric((account, str(ns_set)), value)
        yield set_family
        tcp = m.tcp
        yield GaugeMetricFamily(
            "acnsd_tcp_connections_open",
            "TCP connections open now",
            value=len(tcp.open) if tcp is not None else 0,  # type: ignore[attr-defined]
        )
        yield CounterMetricFamily(
            "acnsd_tcp_connections_evicted",
            "TCP connections closed to make room for a new one past the connection cap",
            value=tcp.evicted if tcp is not None else 0,  # type: ignore[attr-defined]
        )
        limiter = getattr(m.limits, "rrl", None)
        yield CounterMetricFamily(
            "acnsd_rrl_dropped",
            "UDP answers dropped by response rate limiting (server.rrl)",
            value=limiter.dropped if limiter is not None else 0,  # type: ignore[attr-defined]
        )
        yield CounterMetricFamily(
            "acnsd_rrl_slipped",
            "UDP answers response rate limiting sent truncated (TC) instead (server.rrl slip)",
            value=limiter.slipped if limiter is not None else 0,  # type: ignore[attr-defined]
        )
        yield CounterMetricFamily(
            "acnsd_internal_errors",
            "Queries answered SERVFAIL because of an internal error",
            value=internal_errors(),
        )
        yield GaugeMetricFamily("acnsd_zones_loaded", "Zones being served", value=state.zones)
        yield CounterMetricFamily(
            "acnsd_zones_compiled",
            "Zones compiled on the first query that reached them (again when asked after "
            "1,000 others were compiled since)",
            value=compiled_on_query(),
        )
        yield GaugeMetricFamily(
            "acnsd_records_loaded", "Resource records being served", value=state.records
        )
        yield GaugeMetricFamily(
            "acnsd_config_generation",
            "Generation of the tables being served: 1 at start, +1 per accepted reload",
            value=state.generation,
        )
        yield GaugeMetricFamily(
            "acnsd_last_reload_timestamp_seconds",
            "Unix time of the last load or reload attempt",
            value=state.last_reload,
        )
        yield GaugeMetricFamily(
            "acnsd_last_reload_success",
            "1 when the last load or reload was accepted, 0 when it was rejected",
            value=int(state.last_ok),
        )
        reloads = CounterMetricFamily(
            "acnsd_reloads", "Reloads since start, by result", labels=("result",)
        )
        for result, value in m.reloads.items():
            reloads.add_metric((result,), value)
        yield reloads
        if m.primary is not None:
            yield from _primary_families(m.primary)
        if m.checks is not None:
            yield from _check_families(m.checks())
        if m.secondary is not None:
            yield from _secondary_families(m.secondary)


def _check_families(results: dict[str, Any]) -> Iterable:
    """The delegation checks' last results (verify/): how many zones and names are in each
    status, and when they were checked."""
    status = GaugeMetricFamily(
        "acnsd_delegation_status",
        "Zones and nameserver names by the status of the last delegation check",
        labels=("kind", "status"),
    )
    for kind in ("zone", "name"):
        found = [r.get("status") for r in results.get(kind + "s", {}).values()]
        for value in STATUSES:
            status.add_metric((kind, value), found.count(value))
    yield status
    yield GaugeMetricFamily(
        "acnsd_delegation_last_check_timestamp_seconds",
        "Unix time of the last delegation check (0: none yet)",
        value=results.get("checked_at", 0),
    )


def _primary_families(primary: object) -> Iterable:
    """Transfers out by kind and result, NOTIFYs sent and failed, the journal's depth."""
    counters = primary.counters  # type: ignore[attr-defined]
    transfers = CounterMetricFamily(
        "acnsd_transfers_out", "Zone transfers asked of us, by kind sent and result",
        labels=("kind", "result"))
    for (kind, result), value in sorted(counters.transfers.items()):
        transfers.add_metric((kind, result), value)
    yield transfers
    notifies = CounterMetricFamily(
        "acnsd_notifies", "NOTIFY messages to the secondaries, by result", labels=("result",))
    for result, value in counters.notifies.items():
        notifies.add_metric((result,), value)
    yield notifies
    yield GaugeMetricFamily(
        "acnsd_journal_entries", "Zone differences the journal holds for IXFR, every zone",
        value=primary.journal_entries() or 0)  # type: ignore[attr-defined]


def _secondary_families(secondary: object) -> Iterable:
    """Transfers in by kind and result, the largest lag, the zones by state."""
    transfers = CounterMetricFamily(
        "acnsd_transfers_in", "Zone transfers from the primaries, by kind received and result",
        labels=("kind", "result"))
    for (kind, result), value in sorted(secondary.counters.transfers.items()):  # type: ignore[attr-defined]
        transfers.add_metric((kind, result), value)
    yield transfers
    yield GaugeMetricFamily(
        "acnsd_secondary_lag_serials",
        "Serials the copy of a zone is behind its primary, as last checked: the largest",
        value=max(secondary.lags().values(), default=0))  # type: ignore[attr-defined]
    zones = GaugeMetricFamily(
        "acnsd_secondary_zones", "Zones followed as a secondary, by state (served, expired, "
        "pending: not transferred yet)", labels=("state",))
    for state, value in secondary.states().items():  # type: ignore[attr-defined]
        zones.add_metric((state,), value)
    yield zones


def outcome_label(outcome: Outcome) -> str:
    """The `outcome` label of a query's Outcome."""
    return OUTCOME_LABELS[_OUTCOME_INDEX[outcome]]


def rcode_label(outcome: Outcome) -> str:
    rcode = RCODE.get(outcome)
    return "none" if rcode is None else dns.rcode.to_text(rcode)


@dataclass
class Exposition:
    """A running HTTP exposition; `close` stops it and frees the port."""

    host: str
    port: int
    _server: object
    _thread: threading.Thread

    def close(self) -> None:
        self._server.shutdown()  # type: ignore[attr-defined]
        self._server.server_close()  # type: ignore[attr-defined]
        self._thread.join(5)


def start_exposition(metrics: Metrics, host: str, port: int) -> Exposition:
    """Serve /metrics on host:port (port 0: a free port) on a thread of its own."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(MetricsCollector(metrics))
    ProcessCollector(registry=registry)
    server, thread = start_http_server(port, addr=host, registry=registry)
    return Exposition(host, server.server_address[1], server, thread)
