"""The state part of a start and of one change at N zones (issue 16): the JSON state file
of earlier versions (read whole, written whole) against the store (`recording.py`: read
whole, written as far as it changed), in seconds, median of the repeats. (Earlier
versions also deep-copied what they read, which `load_state_json` no longer does; the
JSON rows are a lower bound of what they cost.)

- JSON: `load_state_json`, and the whole file written again (json.dumps, write_atomic) as
  earlier versions did whenever anything changed;
- store, first start: the JSON state file imported and every zone's content put (once);
- store, a start with unchanged data: `read_state`, and `record_state`, which writes
  nothing (every zone was built from the inputs of the content it serves);
- store, one change (a zone's apex NS TTL, as a PATCH of its ns_ttl): `record_state`, one
  zone's content, serial and journal entry in one transaction.

The configuration is `index_scale.write_site`'s; its load (not timed) gives the plans.

    .venv/bin/python -m benchmarks.state_scale [--zones 100000] [--repeats 5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from acnsd.dns.plan import ZonePlan, zone_plan
from acnsd.gcpause import gc_paused
from acnsd.model.config import load
from acnsd.model.recording import legacy_path, read_state, record_state
from acnsd.model.state import State, load_state_json, write_atomic

from benchmarks.index_scale import write_site

NS = 2


def timed(function: Callable[[], object], repeats: int) -> float:
    """The median seconds of `repeats` calls, the collector paused (as the server loads,
    and the API changes)."""
    spent = []
    for _ in range(repeats):
        with gc_paused():
            started = time.perf_counter()
            function()
            spent.append(time.perf_counter() - started)
    return statistics.median(spent)


def with_ns_ttl(plan: ZonePlan, ttl: int) -> ZonePlan:
    """The plan with its apex NS RRset at another TTL."""
    rrsets = plan.rrsets
    apex = rrsets[-1].owner.wire  # (the SOA's)
    return zone_plan(plan.origin, (r.copy(ttl=ttl) if r.rdtype == NS and r.owner.wire == apex
                                   else r for r in rrsets), plan.nameservers)


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--zones", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    numbers = {}
    with tempfile.TemporaryDirectory() as tmp:
        loaded = load(write_site(Path(tmp), args.zones), save_state=False)
        state_file = loaded.model.server.state_file
        legacy = legacy_path(state_file)
        data = loaded.state.as_json()
        copy = legacy.with_name("copy.json")
        write_atomic(legacy, json.dumps(data, indent=2, sort_keys=True) + "\n")
        numbers["json: read"] = timed(lambda: load_state_json(legacy), args.repeats)
        numbers["json: write"] = timed(lambda: write_atomic(
            copy, json.dumps(data, indent=2, sort_keys=True) + "\n"), args.repeats)
        plans = loaded.plan.zones
        numbers["store, first start: read + import + every content"] = timed(
            lambda: record_state(read_state(state_file), plans, state_file), 1)
        numbers["store: read"] = timed(lambda: read_state(state_file), args.repeats)
        states = [read_state(state_file) for _ in range(args.repeats)]
        numbers["store, unchanged start: record"] = timed(
            lambda: record_state(states.pop(), plans, state_file), args.repeats)
        changes = [_one_change(state_file, plans, i) for i in range(args.repeats)]
        numbers["store, one change: record"] = timed(
            lambda: record_state(*changes.pop(), state_file), args.repeats)
    width = max(map(len, numbers))
    print(f"{args.zones:,} zones, median of {args.repeats}")
    for what, seconds in numbers.items():
        print(f"  {what:<{width}}  {seconds:8.3f} s")
    return numbers


def _one_change(state_file: Path, plans: tuple[ZonePlan, ...],
                i: int) -> tuple[State, tuple[ZonePlan, ...]]:
    """The state read, and the plans, of a load that changed one zone's apex NS TTL (as
    build_zone records a zone built from new inputs: another digest)."""
    state = read_state(state_file)
    k = (i * 7919) % len(plans)
    name = plans[k].origin.to_text(omit_final_dot=True)
    state.serials[name] = {**state.serials[name], "digest": f"change {i}"}
    return state, (*plans[:k], with_ns_ttl(plans[k], 300 + i), *plans[k + 1:])


if __name__ == "__main__":
    main()
