"""What a full collection of the cyclic garbage collector walks after a dnsperf-like mix
(issue 16: its pauses are the longest gaps between answers at 10^5-10^6 zones).

Loads a configuration as `serve` does (load_tables: what it leaves is frozen), answers
`--queries` random queries three times over (apex A, SOA and MX, www and mail A, the
scale data set's names: benchmarks/dataset.py) with the zones kept compiled (Expanded)
limited to each of `--expanded`, and then times full collections by the CPU they take,
each after 64 MiB are written, so that the walk starts with the processor's caches cold
(as in a server, where answering runs between collections). Printed per limit: the
objects left for the collector, and the collections' milliseconds; then with none
compiled, and with the response cache flushed too. CPU pinning is left to the caller:

    PYTHONPATH=server taskset -c 1 .venv/bin/python -m benchmarks.gc_walk CONFIG [--queries 20000]
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import random
import time

import dns.message
import dns.name
from acnsd.daemon.serve import load_tables
from acnsd.dns.compiler import Expanded, Tables
from acnsd.dns.core import Transport, answer

_SCRATCH = bytearray(64 << 20)


def _cold_full_collections(rounds: int = 3) -> list[float]:
    """Milliseconds of CPU of `rounds` full collections, each with cold caches."""
    taken = []
    for _ in range(rounds):
        _SCRATCH[::64] = bytes(len(_SCRATCH) // 64)
        start = time.thread_time()
        gc.collect()
        taken.append(round((time.thread_time() - start) * 1e3, 1))
    return taken


def _young() -> int:
    gc.collect()
    return len(gc.get_objects())


def _unexpanded(tables: Tables, limit: int) -> Tables:
    """`tables` with no zone compiled, `limit` kept compiled, and empty caches."""
    for lazy in tables.zones.values():
        lazy.expanded = None
    tables.cache.flush()
    return dataclasses.replace(tables, expanded=Expanded(limit))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("config")
    parser.add_argument("--queries", type=int, default=20_000)
    parser.add_argument("--expanded", default="1000,250,100", help="limits, comma-separated")
    args = parser.parse_args()
    _, tables, _ = load_tables(args.config, save_state=False)
    apexes = [dns.name.from_wire(key, 0)[0].to_text() for key in tables.zones]
    chooser = random.Random(1)
    queries = []
    for _ in range(args.queries):
        apex = chooser.choice(apexes)
        name, qtype = chooser.choice(((apex, "A"), (apex, "SOA"), (apex, "MX"),
                                      ("www." + apex, "A"), ("mail." + apex, "A")))
        queries.append(dns.message.make_query(name, qtype, use_edns=False).to_wire())
    print(f"{len(apexes)} zones, {args.queries} queries; full collections, ms of CPU")
    for limit in map(int, args.expanded.split(",")):
        tables = _unexpanded(tables, limit)
        gc.collect()
        for _ in range(3):
            for wire in queries:
                answer(tables, wire, Transport.UDP)
        print(f"expanded {limit:>5}: {_young():>7} objects  {_cold_full_collections()}")
    tables = _unexpanded(tables, 0)
    for wire in queries:  # (the cache filled again, no zone kept compiled)
        answer(tables, wire, Transport.UDP)
    print(f"expanded none : {_young():>7} objects  {_cold_full_collections()}")
    tables.cache.flush()
    print(f"and no cache  : {_young():>7} objects  {_cold_full_collections()}")


if __name__ == "__main__":
    main()
