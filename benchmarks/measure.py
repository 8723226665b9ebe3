"""One measurement (a dnsperf run against one server) and the summary over rounds.

A sample pairs dnsperf's view (queries/s, latency, lost) with the server's own
accounting over the same run (CPU time per completed query, RSS before and after,
peak RSS), and with how busy the load generator's own core was (when dnsperf is pinned
to one): near 100 % means dnsperf, not the server, set the rate. The summary of a
(server, mix) is the median over rounds, with the spread.
"""

from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from benchmarks import dnsperf
from benchmarks.mixes import Mix
from benchmarks.procs import cpu_jiffies, cpu_seconds, memory_kib
from benchmarks.servers import Running

__all__ = ["Sample", "Summary", "measure", "summarize"]


@dataclass(frozen=True)
class Sample:
    server: str
    mix: str
    round: int
    qps: float
    latency_ms: float
    sent: int
    completed: int
    lost: int
    cpu_us_per_query: float
    load_core_busy_pct: float | None  # busy share of dnsperf's core; None when not pinned
    rss_before_kib: int
    rss_after_kib: int
    peak_rss_kib: int
    rcodes: dict[str, int]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Summary:
    server: str
    mix: str
    rounds: int
    qps: float  # median
    qps_min: float
    qps_max: float
    latency_ms: float  # median of the rounds' averages
    lost: int  # median
    lost_max: int
    cpu_us_per_query: float  # median
    load_core_busy_pct: float | None  # median of the rounds that have one
    peak_rss_mib: float  # the highest of the rounds
    rss_growth_mib: float  # median of (RSS after - RSS before) per round
    load_seconds: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def measure(running: Running, mix: Mix, queries: Path, round_number: int, duration: float,
            outstanding: int, cpu: int | None) -> Sample:
    """Run `mix` against `running` once and account for the server's CPU and memory, and
    for the busy share of `cpu`, the core dnsperf is pinned to (None: not pinned)."""
    pids = running.pids()
    cpu_before = cpu_seconds(pids)
    rss_before = memory_kib(pids, "VmRSS")
    core_before = None if cpu is None else cpu_jiffies(cpu)
    result = dnsperf.run(running.port, queries, duration, mix.args, outstanding, cpu)
    cpu_used = cpu_seconds(pids) - cpu_before
    busy_pct = None if cpu is None or core_before is None else _busy_pct(cpu, core_before)
    return Sample(
        server=running.name, mix=mix.name, round=round_number, qps=result.qps,
        latency_ms=result.latency * 1000, sent=result.sent, completed=result.completed,
        lost=result.lost, cpu_us_per_query=cpu_used * 1e6 / max(result.completed, 1),
        load_core_busy_pct=busy_pct,
        rss_before_kib=rss_before, rss_after_kib=memory_kib(pids, "VmRSS"),
        peak_rss_kib=memory_kib(pids, "VmHWM"), rcodes=result.rcodes,
    )


def _busy_pct(cpu: int, before: tuple[int, int]) -> float:
    """The share of `cpu`'s time since `before` (its busy and total jiffies) that was busy,
    in percent."""
    busy, total = cpu_jiffies(cpu)
    return 100 * (busy - before[0]) / max(total - before[1], 1)


def _median_or_none(values: list[float | None]) -> float | None:
    present = [value for value in values if value is not None]
    return statistics.median(present) if present else None


def summarize(samples: list[Sample], load_seconds: dict[str, float]) -> list[Summary]:
    """One summary per (server, mix), in the order the pairs were first measured."""
    groups: dict[tuple[str, str], list[Sample]] = {}
    for sample in samples:
        groups.setdefault((sample.server, sample.mix), []).append(sample)
    summaries = []
    for (server, mix), group in groups.items():
        qps = [s.qps for s in group]
        summaries.append(Summary(
            server=server, mix=mix, rounds=len(group), qps=statistics.median(qps),
            qps_min=min(qps), qps_max=max(qps),
            latency_ms=statistics.median(s.latency_ms for s in group),
            lost=int(statistics.median(s.lost for s in group)),
            lost_max=max(s.lost for s in group),
            cpu_us_per_query=statistics.median(s.cpu_us_per_query for s in group),
            load_core_busy_pct=_median_or_none([s.load_core_busy_pct for s in group]),
            peak_rss_mib=max(s.peak_rss_kib for s in group) / 1024,
            rss_growth_mib=statistics.median(
                (s.rss_after_kib - s.rss_before_kib) / 1024 for s in group),
            load_seconds=load_seconds.get(server, 0.0),
        ))
    return summaries
