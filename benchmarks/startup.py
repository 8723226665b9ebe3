"""Where a start's time and memory go (issue 16, cold start): the stages of `acnsd serve`
from process start to the tables that answer, in one process, each with its seconds and
the RSS after it; then the compiled snapshot: writing it, and a start from it.

    python -m benchmarks.startup --zones 20000      # the scale suite's data set
    python -m benchmarks.startup --config PATH      # a configuration already on disk

Stages, as daemon/serve.py runs them: imports; load (YAML, rules, zone files); record (the
store; the first start writes every zone); compile (Tables); editor (the API's index and
pipeline); then snapshot_write (pickle and compact: in the server, a forked process at
nice 19 does it) and, in a new process, snapshot_start (checking every input and reading
the snapshot). The store and the snapshot are removed first: the first stages are a
first start. Prints one line per stage and the load average.
"""

from __future__ import annotations

import argparse
import gc
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.dataset import generate, zones_profile
from benchmarks.servers import environment
from benchmarks.zonefiles import write_acnsd_tree, write_zone_files

_PROCESS_START = time.monotonic()

__all__ = ["main"]


def rss_mib() -> int:
    """This process's resident set now, in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) // 1024
    return 0


def _line(stage: str, seconds: float) -> None:
    print(f"{stage:15s} {seconds:7.2f} s  RSS {rss_mib():6d} MiB", flush=True)


def _first_start(config: Path) -> None:
    from acnsd.api.edit import ConfigEditor
    from acnsd.daemon import snapshot
    from acnsd.dns.compiler import compile_plan
    from acnsd.gcpause import gc_paused
    from acnsd.model.config import load, read_server, record
    from acnsd.model.recording import store_path

    _line("imports", time.monotonic() - _PROCESS_START)
    store = store_path(read_server(config).state_file)  # a first start: no store, no snapshot
    for path in (snapshot.snapshot_path(config),
                 *(store.with_name(store.name + suffix) for suffix in ("", "-wal", "-shm"))):
        path.unlink(missing_ok=True)
    began = time.time_ns()
    with gc_paused():
        started = time.monotonic()
        loaded = load(config, save_state=False)
        state = loaded.state
        _line("load", time.monotonic() - started)
        started = time.monotonic()
        loaded = record(loaded)
        _line("record", time.monotonic() - started)
        started = time.monotonic()
        tables = compile_plan(loaded.plan)
        _line("compile", time.monotonic() - started)
        gc.freeze()  # as serve.load_tables leaves what it made
    started = time.monotonic()
    ConfigEditor(config, None, loaded=(loaded, state), prefetch=False)
    _line("editor", time.monotonic() - started)
    started = time.monotonic()
    snapshot.write(str(config), loaded, tables, state, began)
    _line("snapshot_write", time.monotonic() - started)


def _snapshot_start(config: Path) -> None:
    from acnsd.daemon import snapshot

    _line("imports", time.monotonic() - _PROCESS_START)
    started = time.monotonic()
    if snapshot.restore(str(config)) is None:
        raise SystemExit("the snapshot was not used")
    _line("snapshot_start", time.monotonic() - started)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.startup",
                                     description=__doc__.split("\n\n")[0])
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--zones", type=int, help="generate the scale suite's data set")
    where.add_argument("--config", type=Path, help="an acnsd.yaml already written")
    parser.add_argument("--stage", choices=("first", "snapshot"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.stage == "first":
        _first_start(args.config)
        return 0
    if args.stage == "snapshot":
        _snapshot_start(args.config)
        return 0
    with tempfile.TemporaryDirectory(prefix="acnsd-startup-") as work:
        config = args.config or _generate(args.zones, Path(work))
        print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
        for stage in ("first", "snapshot"):
            print(f"-- {stage} start, a new process", flush=True)
            subprocess.run([sys.executable, "-m", "benchmarks.startup", "--config",
                            str(config), "--stage", stage], check=True, env=environment())
    return 0


def _generate(zones: int, work: Path) -> Path:
    """The data set of `python -m benchmarks.scale --zones N` in its directory layout."""
    dataset = generate(zones_profile(zones))
    write_zone_files(dataset, work / "zones", served=False)
    config = work / "acnsd.yaml"
    write_acnsd_tree(config, dataset, work / "zones", "127.0.0.1", 5353)
    past = time.time() - 10  # settled, as files written long before a start are
    for path in [work, *work.rglob("*")]:
        os.utime(path, (past, past))
    return config


if __name__ == "__main__":
    sys.exit(main())
