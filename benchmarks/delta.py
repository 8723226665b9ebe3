"""What one change costs the data plane (issue 16): a cold compile of N zones against
applying one zone's delta to the compiled tables, and the ShardedMap they live in
against a flat dict.

Zones are `zoneN.bench.test.` (SOA, two NS, www A/AAAA, mail A, MX), served at
`--views` view addresses each (as `serve_assigned_addresses` does). Printed: the cold
compile (wall clock, cyclic GC paused as `serve` compiles; it runs against the code
before issue 16 too), the median of `apply_delta` for one zone replaced, added, removed
and moved to other addresses, the names it invalidates, and `invalidate` with every
zone's answers cached; then get, a one-entry `with_items` and `dict.copy` at 100,000
and 1,000,000 keys. CPU pinning is left to the caller:

    PYTHONPATH=server taskset -c 1 .venv/bin/python -m benchmarks.delta [--zones 100000] [--views 6]
"""

from __future__ import annotations

import argparse
import gc
import statistics
import time
import timeit

import dns.message
import dns.name
import dns.rrset
from acnsd.dns.compiler import compile_plan
from acnsd.dns.core import Transport, answer
from acnsd.dns.plan import ServePlan, View, ZonePlan
from acnsd.dns.plan import zone_plan as plan_of
from acnsd.dns.wire import encode_rrset

try:  # absent before issue 16: then only the cold compile is measured
    from acnsd.dns.delta import Delta, ZoneDelta, apply_delta
    from acnsd.dns.zonemap import MASK, ShardedMap
except ImportError:
    apply_delta = None  # type: ignore[assignment]

RECORDS = [
    ("@", "SOA", "ns1.bench.test. hostmaster.{o} {serial} 10000 2400 604800 1800"),
    ("@", "NS", "ns1.bench.test."),
    ("@", "NS", "ns2.bench.test."),
    ("www", "A", "192.0.2.1"),
    ("www", "AAAA", "2001:db8::1"),
    ("mail", "A", "192.0.2.25"),
    ("@", "MX", "10 mail"),
]


def zone_plan(origin_text: str, serial: int = 1) -> ZonePlan:
    origin = dns.name.from_text(origin_text)
    by_owner: dict[tuple[str, str], list[str]] = {}
    for owner, rdtype, rdata in RECORDS:
        text = rdata.format(o=origin_text, serial=serial)
        by_owner.setdefault((owner, rdtype), []).append(text)
    rrsets = tuple(
        encode_rrset(dns.rrset.from_text_list(
            dns.name.from_text(owner, origin), 3600, "IN", rdtype, rdatas, origin=origin,
            relativize=False))
        for (owner, rdtype), rdatas in by_owner.items()
    )  # fmt: skip
    return plan_of(origin, rrsets)


def median_ms(run, repeat: int = 200) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


def data_plane(zones: int, views: int) -> None:
    plans = [zone_plan(f"zone{i}.bench.test.") for i in range(zones)]
    addresses = [f"127.53.1.{v + 1}" for v in range(views)]
    origins = frozenset(p.origin for p in plans)
    plan = ServePlan(zones=tuple(plans), views=tuple(View(a, origins) for a in addresses))
    gc.disable()  # as `serve` compiles (daemon/serve.py frozen())
    start = time.perf_counter()
    tables = compile_plan(plan)
    print(f"compile_plan: {zones:,} zones, {views} views: {time.perf_counter() - start:.2f} s "
          "(cyclic GC paused)")  # fmt: skip
    gc.enable()
    if apply_delta is None:
        return  # the code before issue 16
    at = frozenset(addresses)
    key = plans[7].origin.to_wire().lower()
    cases = {
        "replaced": ZoneDelta(key, zone_plan("zone7.bench.test.", serial=2), at),
        "added": ZoneDelta(b"\x03new\x05bench\x04test\x00", zone_plan("new.bench.test."), at),
        "removed": ZoneDelta(key, None),
        "moved": ZoneDelta(key, zone_plan("zone7.bench.test."), frozenset(addresses[:1])),
    }
    for name, change in cases.items():
        delta = Delta(1, (change,))
        ms = median_ms(lambda delta=delta: apply_delta(tables, delta))
        invalid = apply_delta(tables, delta)[1]
        print(f"apply_delta, one zone {name:9s} {ms:6.3f} ms (median), invalidates {len(invalid)}")
    for p in plans:
        answer(tables, dns.message.make_query(p.origin, "NS").to_wire(), Transport.UDP)
    start = time.perf_counter()
    tables.cache.invalidate([key])
    print(f"invalidate one zone, {tables.cache.size:,} answers cached: "
          f"{(time.perf_counter() - start) * 1e6:.0f} µs")  # fmt: skip


def _slice_only(probe: list[bytes], _) -> None:
    for k in probe:
        k[4:]


def _dict_get(probe: list[bytes], flat: dict) -> None:
    get = flat.get
    for k in probe:
        get(k[4:])


def _map_get(probe: list[bytes], made: ShardedMap) -> None:
    get = made.get
    for k in probe:
        get(k[4:])


def _inlined(probe: list[bytes], made: ShardedMap) -> None:  # as lookup.py probes
    shards = made.shards
    for k in probe:
        s = k[4:]
        shards[hash(s) & MASK].get(s)


def _per_probe(f, probe: list[bytes], held) -> float:
    best = min(timeit.repeat(lambda: f(probe, held), number=200, repeat=7))
    return best / 200 / len(probe) * 1e9


def sharded_map() -> None:
    for n in (100_000, 1_000_000):
        keys = [bytes([len(b"zone%d" % i)]) + b"zone%d\x05bench\x04test\x00" % i
                for i in range(n)]  # fmt: skip
        flat = dict.fromkeys(keys, 0)
        made = ShardedMap(flat)
        hits = [b"\x03www" + k for k in keys[:: n // 1000]]
        misses = [b"\x03www" + k[:-6] + b"\x04tesu\x00" for k in keys[:: n // 1000]]
        for label, probe in (("hit", hits), ("miss", misses)):
            base = _per_probe(_slice_only, probe, None)
            d = _per_probe(_dict_get, probe, flat) - base
            g, i = (_per_probe(f, probe, made) - base for f in (_map_get, _inlined))
            print(f"{n:>9,} keys, {label:4s}: dict.get {d:4.0f} ns, ShardedMap.get {g:4.0f} ns, "
                  f"inlined {i:4.0f} ns")  # fmt: skip
        one = {keys[7]: 1}
        cow = min(timeit.repeat(lambda: made.with_items(one), number=200, repeat=7)) / 200  # noqa: B023
        copy = min(timeit.repeat(flat.copy, number=3, repeat=5)) / 3
        print(f"{n:>9,} keys: with_items of one entry {cow * 1e6:.1f} µs, "
              f"dict.copy {copy * 1e3:.1f} ms")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--zones", type=int, default=100_000)
    parser.add_argument("--views", type=int, default=6)
    args = parser.parse_args()
    data_plane(args.zones, args.views)
    if apply_delta is not None:
        sharded_map()


if __name__ == "__main__":
    main()
