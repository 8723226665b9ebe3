"""Core-only throughput: queries per second of `answer()` in a loop, per query mix.

Run: .venv/bin/python tests/core/bench_core.py [seconds-per-mix]
One large zone (1,000 names, a wildcard, CNAMEs, a delegation) and 1,000 small zones;
mixes: cached hits (lower-case), 0x20 hits, random-subdomain NXDOMAIN (never cached),
uncached slow path (cache disabled), and a blend. No sockets: this measures the core only.
"""

from __future__ import annotations

import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "server"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from acnsd.compiler import compile_plan  # noqa: E402
from acnsd.core import Transport, answer  # noqa: E402
from acnsd.plan import ServePlan  # noqa: E402

from core.zonetext import make_query, zone  # noqa: E402


def build(cache_entries: int = 100_000):
    big = "\n".join(f"h{i} A 192.0.2.{i % 250}" for i in range(1000))
    big += '\n*.wild TXT "w"\nalias CNAME h1\ndeleg NS ns.deleg\nns.deleg A 192.0.2.53\n'
    zones = [zone("big.test.", big)]
    zones += [zone(f"z{i}.test.", "www A 198.51.100.1\nmail A 198.51.100.2") for i in range(1000)]
    t0 = time.perf_counter()
    tables = compile_plan(ServePlan(zones=tuple(zones)), cache_entries=cache_entries)
    return tables, time.perf_counter() - t0


def wires(names_types, **kwargs) -> list[bytes]:
    out = []
    for name, qtype in names_types:
        q = make_query(name, qtype, **kwargs)
        out.append(q.to_wire())
    return out


def flip_case(name: str, rng: random.Random) -> str:
    return "".join(c.upper() if rng.random() < 0.5 else c for c in name)


def mixes(rng: random.Random) -> dict[str, list[bytes]]:
    hot = [(f"h{rng.randrange(1000)}.big.test.", "A") for _ in range(200)]
    hot += [(f"z{rng.randrange(1000)}.test.", rng.choice(["NS", "SOA"])) for _ in range(100)]
    hot += [("alias.big.test.", "A"), ("x.deleg.big.test.", "A"), ("www.z7.test.", "A")] * 20
    nx = [(f"r{rng.getrandbits(40):x}.z{rng.randrange(1000)}.test.", "A") for _ in range(5000)]
    return {
        "cached hits": wires(hot),
        "cached hits, EDNS+DO": wires(hot, do=True),
        "0x20 hits": wires([(flip_case(n, rng), t) for n, t in hot * 5]),
        "random NXDOMAIN": wires(nx),
    }


def run(tables, queries: list[bytes], seconds: float) -> float:
    for q in queries:  # warm the cache
        answer(tables, q, Transport.UDP)
    n = 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        for q in queries:
            answer(tables, q, Transport.UDP)
        n += len(queries)
    return n / (time.perf_counter() - start)


def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 2.0
    rng = random.Random(53)
    tables, load = build()
    cold, _ = build(cache_entries=0)
    print(f"compile: {load:.2f} s for 1,001 zones")
    all_mixes = mixes(rng)
    for name, queries in all_mixes.items():
        print(f"{name:24s} {run(tables, queries, seconds):>10,.0f} q/s")
    slow = all_mixes["cached hits"]
    print(f"{'uncached hits':24s} {run(cold, slow, seconds):>10,.0f} q/s")


if __name__ == "__main__":
    main()
