"""What a scoped check costs at scale (issue 16 step 3): load() of a configuration of N
zones, building the model index from it, then check() and apply() of each kind of change,
in milliseconds (median and slowest of the repeats). No server, no file write: the
in-memory part of one change in the control plane.

The configuration: one account, set 1 (ns1/ns2.bench.test) for zones
zone<i>.bench.test, set 2 (ns3/ns4.other.test) for their parent bench.test, which
provides ns1/ns2.bench.test (R8); a second account with one zone elsewhere. Problems are
worded with a locate that gives no line (the pipeline brings the line map). What the
cold load built is frozen (gc.freeze), as the control process does.

    .venv/bin/python -m benchmarks.index_scale [--zones 100000] [--repeats 20]
"""

from __future__ import annotations

import argparse
import gc
import resource
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from acnsd.control.change import (
    Change,
    NameserverAdded,
    NameserverRemoved,
    VanityNamesChanged,
    ZoneCreated,
    ZoneDefaultsChanged,
    ZoneDeleted,
    ZoneFileChanged,
    ZoneSettingsChanged,
)
from acnsd.control.index import ModelIndex, Recorded
from acnsd.control.rules import apply, check
from acnsd.errors import Problem
from acnsd.model.config import load
from acnsd.model.recording import read_state

ZONE = "$TTL 3600\n@ IN A 192.0.2.1\nwww IN A 192.0.2.2\nmail IN A 192.0.2.3\n@ IN MX 10 mail\n"
TEMPLATE = "; Zone file, created empty by the acnsd management API.\n"


def write_site(directory: Path, zones: int) -> Path:
    """The configuration of `zones` zones (and their files) in `directory`."""
    zdir = directory / "zones"
    zdir.mkdir()
    names = [f"zone{i}.bench.test" for i in range(zones)]
    for name in [*names, "bench.test", "other.example"]:
        (zdir / f"{name}.zone").write_text(ZONE)
    lines = ["server:", "  standard_nameservers:",
             "    - {name: ns1.acnsd.test, ipv4: 127.53.0.1}",
             "    - {name: ns2.acnsd.test, ipv4: 127.53.0.2}",
             '  address_pools: {ipv4: ["127.54.0.0/16"], ipv6: ["fd00:54::/64"]}',
             "  zones_dir: zones", "accounts:", "  - id: bench", "    name: Bench",
             "    custom_nameservers:", "      - {ns_name: ns1.bench.test, ns_set: 1}",
             "      - {ns_name: ns2.bench.test, ns_set: 1}",
             "      - {ns_name: ns3.other.test, ns_set: 2}",
             "      - {ns_name: ns4.other.test, ns_set: 2}", "    zones:",
             "      - {name: bench.test, dns_settings: {nameservers: "
             "{type: custom.account, ns_set: 2}}}"]
    lines += [f"      - {{name: {n}, dns_settings: {{nameservers: {{type: custom.account}}}}}}"
              for n in names]
    lines += ["  - id: other", "    name: Other", "    zones:", "      - name: other.example"]
    config = directory / "acnsd.yaml"
    config.write_text("\n".join(lines) + "\n")
    return config


def locate_in(config: Path) -> Callable[[str, str, str | None], Problem]:
    def locate(path: str, message: str, rule: str | None) -> Problem:
        return Problem(message, file=str(config), path=path or None, rule=rule)
    return locate


def changes(zones: int, repeats: int, zdir: Path) -> Iterator[tuple[str, list[Change]]]:
    """(what, the changes of one kind, each made once), in an order where each applies."""
    picks = [f"zone{(i * 7919) % zones}.bench.test" for i in range(repeats)]
    yield "zone ns_ttl (PATCH dns_settings)", [
        ZoneSettingsChanged(z, {"nameservers": {"type": "custom.account"}, "ns_ttl": 300})
        for z in picks]
    yield "zone soa (PATCH dns_settings)", [
        ZoneSettingsChanged(z, {"nameservers": {"type": "custom.account"},
                                "soa": {"refresh": 7200}}) for z in picks]
    yield "zone to custom.zone + 2 vanity names (2 PATCHes)", [
        change for z in picks for change in (
            VanityNamesChanged(z, [f"ns1.{z}", f"ns2.{z}"]),
            ZoneSettingsChanged(z, {"nameservers": {"type": "custom.zone"}}))]
    yield "zone back to set 1, vanity removed (2 PATCHes)", [
        change for z in picks for change in (
            ZoneSettingsChanged(z, {"nameservers": {"type": "custom.account"}}),
            VanityNamesChanged(z, []))]
    yield "refused: zone onto set 2 (R5 with bench.test)", [
        ZoneSettingsChanged(z, {"nameservers": {"type": "custom.account", "ns_set": 2}})
        for z in picks]
    new = [f"new{i}.bench.test" for i in range(repeats)]
    for name in new:
        (zdir / f"{name}.zone").write_text(TEMPLATE)
    yield "zone created (POST /zones)", [ZoneCreated("bench", name) for name in new]
    yield "refused: zone inside another account's (R11)", [
        ZoneCreated("other", name) for name in new]
    yield "zone file changed (reload)", [ZoneFileChanged(z) for z in picks]
    yield "zone deleted, the last in the list (DELETE)", [ZoneDeleted(n) for n in new[::-1]]
    yield "zone deleted, near the start of the list", [
        ZoneDeleted(f"zone{i}.bench.test") for i in range(repeats)]
    yield "account zone_defaults (PATCH)", [
        ZoneDefaultsChanged("bench", {"ns_ttl": 600 + i}) for i in range(repeats)]
    yield "ACNS name added to set 2 (1 zone on it)", [
        NameserverAdded("bench", "ns5.other.test", 2)]
    yield "ACNS name removed from set 2", [NameserverRemoved("bench", "ns5.other.test")]
    yield f"ACNS name added to set 1 ({zones - repeats:,} zones on it)", [
        NameserverAdded("bench", "ns3.bench.test", 1)]
    yield "ACNS name removed from set 1", [NameserverRemoved("bench", "ns3.bench.test")]


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--zones", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        config = write_site(Path(tmp), args.zones)
        started = time.perf_counter()
        loaded = load(config)
        print(f"{args.zones:,} zones: load() {time.perf_counter() - started:.2f} s, "
              f"max RSS {rss_mb():.0f} MB")
        started = time.perf_counter()
        index = ModelIndex.build(loaded, Recorded.of(read_state(loaded.model.server.state_file)))
        print(f"ModelIndex.build {time.perf_counter() - started:.2f} s, "
              f"max RSS {rss_mb():.0f} MB")
        del loaded
        gc.freeze()  # as the control process does after its cold load (DESIGN16 §5)
        locate = locate_in(config)
        print(f"{'change':52} {'check ms (median/max)':>22} {'apply ms (median/max)':>22}")
        for what, kind in changes(args.zones, args.repeats, Path(tmp) / "zones"):
            checks, applies = [], []
            for change in kind:
                started = time.perf_counter()
                verdict = check(index, change, locate)
                checks.append(time.perf_counter() - started)
                if verdict.accepted:
                    started = time.perf_counter()
                    apply(index, verdict)
                    applies.append(time.perf_counter() - started)
                elif not what.startswith("refused"):
                    raise SystemExit(f"{change} refused: {verdict.problems[0]}")
            print(f"{what:52} {_ms(checks):>22} {_ms(applies):>22}")
    return 0


def _ms(times: list[float]) -> str:
    if not times:
        return "-"
    return f"{statistics.median(times) * 1e3:.3f} / {max(times) * 1e3:.3f}"


if __name__ == "__main__":
    raise SystemExit(main())
