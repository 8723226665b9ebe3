"""The query mixes: dnsperf input files and the dnsperf options that go with each mix.

A mix is a query file plus transport options. The `cached` file is a fixed, repeating
set of questions (hits, NXDOMAIN, NS/SOA at apex, CNAME, wildcard, referral, NODATA,
ACNS addresses) that a response cache can hold; the `flood` file is a random-subdomain
NXDOMAIN flood where every line is a distinct random name. Files are deterministic: the
same data set and sizes give the same files.
"""

from __future__ import annotations

import random
import string
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from benchmarks.dataset import LARGE_ZONE, DataSet

__all__ = ["MIXES", "Mix", "write_query_files"]


@dataclass(frozen=True)
class Mix:
    """One measured workload: which query file, and the extra dnsperf options."""

    name: str
    queries: str  # "cached" or "flood"
    args: tuple[str, ...]
    description: str

    @property
    def over_tcp(self) -> bool:
        return "tcp" in self.args


# UDP from 4 sockets, so that SO_REUSEPORT spreads the queries over a server's workers
MIXES = (
    Mix("cached", "cached", ("-c", "4"),
        "UDP; hits, NXDOMAIN, NS/SOA, CNAME, wildcard, referral"),
    Mix("nxflood", "flood", ("-c", "4"), "UDP; random-subdomain NXDOMAIN flood, distinct names"),
    Mix("edns-do", "cached", ("-c", "4", "-D"), "UDP; the cached mix with EDNS0 and the DO bit"),
    Mix("tcp", "cached", ("-m", "tcp", "-c", "8"), "TCP; the cached mix, 8 connections"),
)


def _cached_categories(dataset: DataSet) -> list[tuple[int, Callable[[random.Random], str]]]:
    """(weight, question maker) pairs; weights are percentages of the cached mix."""
    small = [z.name for z in dataset.zones if z.name.startswith("zone")]
    children = [z.name for z in dataset.zones if z.name.startswith("dev.")]
    apexes = [z.name for z in dataset.zones]
    large = next(z for z in dataset.zones if z.name == LARGE_ZONE)

    def owners(prefix: str, rdtype: str) -> list[str]:
        return [r.split()[0] for r in large.records
                if r.startswith(prefix) and r.split()[3] == rdtype]

    large_hosts, large_aaaa, aliases = owners("host", "A"), owners("host", "AAAA"), owners(
        "alias", "CNAME")
    acns = [ns.name for a in dataset.accounts for ns in a.nameservers if ".acct" in ns.name]
    lz = LARGE_ZONE

    def pick(rng: random.Random, items: list[str]) -> str:
        return items[rng.randrange(len(items))]

    return [
        (14, lambda r: f"{pick(r, large_hosts)} A"),
        (4, lambda r: f"{pick(r, large_aaaa)} AAAA"),
        (10, lambda r: f"{pick(r, small)} {r.choice(('A', 'AAAA', 'MX', 'TXT'))}"),
        (6, lambda r: f"{r.choice(('mail', 'h0', 'h1'))}.{pick(r, small)} A"),
        (3, lambda r: f"{pick(r, acns)} {r.choice(('A', 'AAAA'))}"),
        (3, lambda r: f"{pick(r, children)} A" if children else f"www.{lz} A"),
        (5, lambda r: f"w{r.randrange(200)}.wild.{lz} {r.choice(('A', 'AAAA', 'TXT'))}"),
        (8, lambda r: f"www.{pick(r, small)} A"),
        (4, lambda r: f"{pick(r, aliases)} A"),
        (2, lambda r: f"c1.{lz} A"),
        (2, lambda r: f"a{r.randrange(200)}.apps.{lz} A"),
        (15, lambda r: f"{pick(r, apexes)} {r.choice(('NS', 'SOA'))}"),
        (12, lambda r: f"nx{r.randrange(20)}.{pick(r, small[:50] + [lz])} A"),
        (6, lambda r: f"x{r.randrange(50)}.{r.choice(('sub', 'other'))}.{lz} A"),
        (6, lambda r: f"mail.{pick(r, small)} TXT" if r.random() < 0.5 else f"www.{lz} TXT"),
    ]


def _write_cached(dataset: DataSet, path: Path, count: int, rng: random.Random) -> None:
    categories = _cached_categories(dataset)
    makers = [maker for weight, maker in categories for _ in range(weight)]
    path.write_text("".join(rng.choice(makers)(rng) + "\n" for _ in range(count)))


def _write_flood(dataset: DataSet, path: Path, count: int, rng: random.Random) -> None:
    """`count` distinct random names below existing zones: every one is NXDOMAIN."""
    parents = [z.name for z in dataset.zones if not z.name.startswith("dev.")]
    alphabet = string.ascii_lowercase + string.digits
    with path.open("w") as out:
        for index in range(count):
            label = "".join(rng.choices(alphabet, k=10))
            out.write(f"{label}{index:x}.{parents[rng.randrange(len(parents))]} A\n")


def write_query_files(dataset: DataSet, directory: Path, cached: int, flood: int,
                      seed: int = 4) -> dict[str, Path]:
    """Write the query files; returns {"cached": path, "flood": path}."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = {"cached": directory / "cached.txt", "flood": directory / "flood.txt"}
    _write_cached(dataset, paths["cached"], cached, random.Random(seed))
    _write_flood(dataset, paths["flood"], flood, random.Random(seed + 1))
    return paths
