"""The store (`acnsd.model.store`) at scale: fill it with N zones of 7 records (SOA, two
NS, three A and an MX, as `api_churn`'s zones), then measure

- the latency of one change: one zone's A record changed, committed with its journal entry
  (`Store.change()` + `put_zone`, fsync included), p50 and p99;
- the size on disk per 100,000 zones (database after a checkpoint, journal included);
- reading every zone back on a reader connection (the restart path): rows only, and rows
  decoded to RRsets (`journal.rrsets_of`), with the page cache warm;
- `PRAGMA quick_check` (what checking the whole file at each start would cost), and the
  import of a JSON state file of N zones.

    .venv/bin/python -m benchmarks.store_bench [--zones 100000] [--commits 2000] [--dir DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import struct
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "server"))

from acnsd.dns.packed import pack_rrsets  # noqa: E402
from acnsd.dns.wire import WireName, pack_fixed, wire_rrset  # noqa: E402
from acnsd.model import journal  # noqa: E402
from acnsd.model.store import Store, import_state_json  # noqa: E402

A, NS, SOA, MX = 1, 2, 6, 15
BATCH = 1000  # zones per transaction while filling


def zone_content(i: int, version: int = 0) -> bytes:
    """Zone i's 7 records, packed as a plan holds them; `version` changes the A record of
    www."""
    apex = WireName(_wire(f"zone{i}.bench.test"))
    ns1, ns2 = WireName(_wire("ns1.bench.test")), WireName(_wire("ns2.bench.test"))
    timers = struct.pack(">IIIII", 0, 10000, 2400, 604800, 1800)
    www = WireName(_wire(f"www.zone{i}.bench.test"))
    mail = WireName(_wire(f"mail.zone{i}.bench.test"))
    return pack_rrsets([
        wire_rrset(apex, SOA, pack_fixed(SOA, 3600), ((ns1, WireName(
            b"\x0ahostmaster" + apex.wire), timers),)),
        wire_rrset(apex, NS, pack_fixed(NS, 86400), ((ns1,), (ns2,))),
        wire_rrset(apex, A, pack_fixed(A, 3600), (b"\x00\x04" + bytes([192, 0, 2, 1]),)),
        wire_rrset(apex, MX, pack_fixed(MX, 3600), ((b"\x00\x0a", mail),)),
        wire_rrset(www, A, pack_fixed(A, 3600), (b"\x00\x04" + bytes([10, 0, version // 256 % 256,
                                                                       version % 256]),)),
        wire_rrset(mail, A, pack_fixed(A, 3600), (b"\x00\x04" + bytes([192, 0, 2, 3]),)),
    ])[0]


def _wire(name: str) -> bytes:
    return b"".join(bytes([len(label)]) + label.encode() for label in name.split(".")) + b"\0"


def fill(store: Store, zones: int) -> float:
    started = time.perf_counter()
    for first in range(0, zones, BATCH):
        with store.change() as change:
            for i in range(first, min(first + BATCH, zones)):
                change.put_zone(f"zone{i}.bench.test", zone_content(i), now=1_800_000_000)
    return time.perf_counter() - started


def commit_latencies(store: Store, zones: int, commits: int) -> tuple[list[float], list[float]]:
    """Per change: the whole transaction, and the part before COMMIT (diff, encode, SQL)."""
    rnd = random.Random(16)
    versions: dict[int, int] = {}
    totals, works = [], []
    for _ in range(commits):
        i = rnd.randrange(zones)
        versions[i] = versions.get(i, 0) + 1
        content = zone_content(i, versions[i])
        started = time.perf_counter()
        with store.change() as change:
            done = change.put_zone(f"zone{i}.bench.test", content)
            works.append(time.perf_counter() - started)
        totals.append(time.perf_counter() - started)
        assert done.diff is not None
    return sorted(totals), sorted(works)


def _percentiles(values: list[float]) -> str:
    """p50 and p99 of sorted values, in ms."""
    p99 = values[min(len(values) - 1, int(len(values) * 0.99))]
    return f"p50 {statistics.median(values) * 1000:.2f} ms, p99 {p99 * 1000:.2f} ms"


def read_all(path: Path, decode: bool) -> tuple[float, int]:
    started = time.perf_counter()
    count = 0
    shared: dict = {}
    with Store.open(path, readonly=True) as store:
        for zone in store.zones():
            if decode and zone.content is not None:
                journal.rrsets_of(zone.content, shared)
            count += 1
    return time.perf_counter() - started, count


def size_on_disk(path: Path) -> int:
    return sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))


def import_time(directory: Path, zones: int) -> float:
    state = {"version": 1, "addresses": {f"ns{i}.bench.test": {"ipv4": f"10.0.{i // 256}.{i % 256}",
                                                                "ipv6": None} for i in range(100)},
             "released": {}, "zones": {f"zone{i}.bench.test": {"account": "a" * 32}
                                       for i in range(zones)},
             "serials": {f"zone{i}.bench.test": {"serial": 1_800_000_000, "digest": "d" * 64}
                         for i in range(zones)}}
    json_path = directory / "acnsd.state.json"
    json_path.write_text(json.dumps(state))
    with Store.open(directory / "imported.db") as store:
        started = time.perf_counter()
        import_state_json(json_path, store)
        return time.perf_counter() - started


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--zones", type=int, default=100_000)
    parser.add_argument("--commits", type=int, default=2000)
    parser.add_argument("--dir", type=Path, help="where to build the store (default: a temp dir)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        path = Path(tmp) / "acnsd.db"
        with Store.open(path) as store:
            filled = fill(store, args.zones)
            latencies, works = commit_latencies(store, args.zones, args.commits)
            store._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            started = time.perf_counter()
            store._db.execute("PRAGMA quick_check").fetchall()
            checked = time.perf_counter() - started
        size = size_on_disk(path)
        rows, count = read_all(path, decode=False)
        decoded, _ = read_all(path, decode=True)
        imported = import_time(Path(tmp), args.zones)
    per_100k = size * 100_000 / args.zones
    print(f"store of {count} zones of 7 records ({os.uname().nodename}, {os.cpu_count()} CPUs)")
    print(f"  fill, {BATCH} zones per transaction:      {filled:.2f} s")
    print(f"  one change + journal entry, committed: {_percentiles(latencies)} "
          f"({args.commits} commits, max {latencies[-1] * 1000:.2f} ms); before the COMMIT "
          f"(diff, encode, SQL): {_percentiles(works)}")
    print(f"  size on disk: {size / 1e6:.1f} MB ({per_100k / 1e6:.1f} MB per 100k zones, "
          f"{args.commits} journal entries)")
    print(f"  read all (reader connection): rows {rows:.2f} s, decoded to RRsets {decoded:.2f} s")
    print(f"  PRAGMA quick_check: {checked:.2f} s; import of a JSON state of {args.zones} zones: "
          f"{imported:.2f} s")
    return {"fill_s": filled, "commit_p50_s": statistics.median(latencies),
            "bytes_per_100k": per_100k, "read_rows_s": rows, "read_decoded_s": decoded,
            "quick_check_s": checked, "import_s": imported}


if __name__ == "__main__":
    main()
