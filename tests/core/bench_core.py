"""Core-only throughput: queries per second of `answer()` in a loop, per query mix.

Run: .venv/bin/python tests/core/bench_core.py [seconds-per-mix]
One large zone (1,000 names, a wildcard, CNAMEs, a delegation) and 1,000 small zones;
mixes: cached hits (lower-case, with and without EDNS), 0x20 hits, repeated referrals,
random-subdomain NXDOMAIN (each name once: never cached) under 10 zones, spread over
all 1,000 (where the per-zone negative SOA encodings are still being built) and below a
DNAME (into one of them: the DNAME, a synthesized CNAME and the SOA), hits with the cache
disabled (the slow path), at an address without a view and at a view's address (which
serves big.test. and half of the small zones: the other half is REFUSED there), and cached
hits with a DNS Cookie (each client's own cookie spliced into the cached answer: a SipHash
per query), and cached hits answered by the batch as the UDP listener does (128 and 16 at a
time, one client) with response rate limiting off and on at a rate they never reach (every
answer accounted, none limited: what RRL costs). CPU time per query; no sockets: this
measures the core only.
"""

from __future__ import annotations

import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "server"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import dns.edns  # noqa: E402
from acnsd.dns.compiler import compile_plan  # noqa: E402
from acnsd.dns.cookies import ServerCookies  # noqa: E402
from acnsd.dns.core import Clients, Transport, answer, answer_after_id  # noqa: E402
from acnsd.dns.plan import ServePlan, View  # noqa: E402
from acnsd.dns.rrl import RateLimiter  # noqa: E402

from core.zonetext import make_query, zone  # noqa: E402

VIEW = "127.53.1.1"


def build(cache_entries: int = 100_000):
    big = "\n".join(f"h{i} A 192.0.2.{i % 250}" for i in range(1000))
    big += '\n*.wild TXT "w"\nalias CNAME h1\ndeleg NS ns.deleg\nns.deleg A 192.0.2.53\n'
    zones = [zone("big.test.", big)]
    zones += [zone(f"z{i}.test.", "www A 198.51.100.1\nmail A 198.51.100.2") for i in range(1000)]
    view = View(VIEW, frozenset(z.origin for z in zones[:501]))
    zones.append(zone("dn.test.", "d DNAME z1.test."))
    t0 = time.perf_counter()
    plan = ServePlan(zones=tuple(zones), views=(view,))
    tables = compile_plan(plan, cache_entries=cache_entries)
    return tables, time.perf_counter() - t0


def wires(names_types, cookie: bool = False, **kwargs) -> list[bytes]:
    out = []
    for i, (name, qtype) in enumerate(names_types):
        q = make_query(name, qtype, **kwargs)
        if cookie:
            data = i.to_bytes(8, "big")
            q.use_edns(0, 0, 1232, options=[dns.edns.GenericOption(dns.edns.COOKIE, data)])
        out.append(q.to_wire())
    return out


CLIENTS = Clients(ServerCookies(bytes(16)), 1_700_000_000, lambda index: b"\xc0\x00\x02\x01")


def flip_case(name: str, rng: random.Random) -> str:
    return "".join(c.upper() if rng.random() < 0.5 else c for c in name)


def mixes(rng: random.Random) -> dict[str, list[bytes]]:
    hot = [(f"h{rng.randrange(1000)}.big.test.", "A") for _ in range(200)]
    hot += [(f"z{rng.randrange(1000)}.test.", rng.choice(["NS", "SOA"])) for _ in range(100)]
    hot += [("alias.big.test.", "A"), ("www.z7.test.", "A"), ("x.wild.big.test.", "TXT")] * 20
    nx = [(f"r{rng.getrandbits(40):x}.z{rng.randrange(10)}.test.", "A") for _ in range(20000)]
    spread = [(f"r{rng.getrandbits(40):x}.z{rng.randrange(1000)}.test.", "A") for _ in range(20000)]
    dname = [(f"r{rng.getrandbits(40):x}.d.dn.test.", "A") for _ in range(20000)]
    return {
        "cached hits": wires(hot),
        "cached hits, EDNS+DO": wires(hot, do=True),
        "cached hits, no EDNS": wires(hot, edns=None),
        "0x20 hits": wires([(flip_case(n, rng), t) for n, t in hot * 5]),
        "referrals (repeated)": wires([(f"x{i}.deleg.big.test.", "A") for i in range(50)]),
        "random NXDOMAIN": wires(nx),
        "random NXDOMAIN, spread": wires(spread),
        "random NXDOMAIN, DNAME": wires(dname),
    }


def run(tables, queries: list[bytes], seconds: float, local: str | None = None,
        clients: Clients | None = None) -> float:
    """Queries per second of CPU time (process_time: other load on the machine does not
    count); every query set is answered once before the clock starts."""
    for q in queries:
        answer(tables, q, Transport.UDP, local, None, clients)
    n = 0
    start = time.process_time()
    while time.process_time() - start < seconds:
        for q in queries:
            answer(tables, q, Transport.UDP, local, None, clients)
        n += len(queries)
    return n / (time.process_time() - start)


def run_batches(tables, queries: list[bytes], size: int, seconds: float,
                limiter: RateLimiter | None) -> float:
    """Queries per second of CPU time answering `queries` (after their ID) `size` at a
    time, as the UDP listener does, each batch then limited by `limiter` (None: off); one
    second of batches first, in which the client's bound in the limiter fills."""
    batches = [queries[i : i + size] for i in range(0, len(queries) - size + 1, size)]
    addresses = (b"\x7f\x00\x00\x01",) * size

    def peers(count: int) -> tuple[bytes, ...]:
        return addresses[:count]

    def one_pass() -> int:
        for batch in batches:
            answers = answer_after_id(tables, batch, Transport.UDP)
            if limiter is not None:
                limiter.limit(batch, answers, addresses.__getitem__, time.monotonic(), None,
                              peers)
        return len(batches) * size

    warm = time.monotonic()
    while time.monotonic() - warm < 1.0:
        one_pass()
    n = 0
    start = time.process_time()
    while time.process_time() - start < seconds:
        n += one_pass()
    return n / (time.process_time() - start)


def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 2.0
    rng = random.Random(53)
    tables, load = build()
    cold, _ = build(cache_entries=0)
    print(f"compile: {load:.2f} s for 1,001 zones (wall clock)")
    all_mixes = mixes(rng)
    for name, queries in all_mixes.items():
        if name.startswith("random"):  # a name is never asked twice: no warm-up pass
            fresh, _ = build()
            start = time.process_time()
            for q in queries:
                answer(fresh, q, Transport.UDP)
            rate = len(queries) / (time.process_time() - start)
            assert fresh.cache.size == 0
        else:
            rate = run(tables, queries, seconds)
        print(f"{name:24s} {rate:>10,.0f} q/s  {1e6 / rate:6.2f} µs/query")
    for name, local in (("hits, cache disabled", None), ("same, at the view", VIEW)):
        rate = run(cold, all_mixes["cached hits"], seconds, local)
        print(f"{name:24s} {rate:>10,.0f} q/s  {1e6 / rate:6.2f} µs/query")
    hot = [(f"h{rng.randrange(1000)}.big.test.", "A") for _ in range(360)]
    for name, clients in (("cached hits, cookies on", CLIENTS), ("cached hits, cookie", CLIENTS)):
        queries = wires(hot, cookie=name.endswith("cookie"))
        rate = run(tables, queries, seconds, None, clients)
        print(f"{name:24s} {rate:>10,.0f} q/s  {1e6 / rate:6.2f} µs/query")
    batched = [q[2:] for q in all_mixes["cached hits"]]
    for size in (128, 16):
        for name, limiter in (("RRL off", None), ("RRL on", RateLimiter(1_000_000_000))):
            rate = run_batches(tables, batched, size, seconds, limiter)
            label = f"batches of {size}, {name}"
            print(f"{label:24s} {rate:>10,.0f} q/s  {1e6 / rate:6.3f} µs/query")


if __name__ == "__main__":
    main()
