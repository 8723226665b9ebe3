"""The scale suite of issue 16: load, memory and change latency at 100,000+ zones, with
Knot DNS and NSD loading the same zones, and every target of the issue judged.

    python -m benchmarks.scale --zones 100000      # or --zones 1000000, or --scale-set
    python -m benchmarks.scale --smoke             # 200 zones, seconds: the test suite's run
    python -m benchmarks.scale --peers '' --series file_reload_command,file_sighup
                                                   # only these change series of acnsd

Per server, one at a time (Knot, NSD, then acnsd): the cold start, timed until the server
answers the SOA of a sample of zones that includes the last ones, and its RSS. Then for
acnsd: `acnsd check` (time, peak RSS); a restart with unchanged data; change latency, from
the request or command to the first DNS answer that shows the change, for an API PATCH
of `ns_ttl`, a zone file edit + `acnsd reload`, a YAML edit + `acnsd reload` and a zone
file edit + SIGHUP; and DNS while a client asks for 10 changes/s (dnsperf q/s against idle
in the same run, and the longest gap between answers to a probe at one query per ms).
Knot and NSD get the zone file edit with their own reload commands, for comparison.

acnsd is driven only through what an operator has (CLI, API, DNS, signals, files), so
that the same suite measures any implementation behind them. Every step is bounded in
time and memory (see `Bounds`): a step that hits a bound is reported ("timeout",
"memory") and the run goes on. Every process started here is stopped before it returns.
Exit status: 0; 1 when a step failed otherwise (its error is in the report); 2 when
dnsperf or acnsd (or, with --require-all, a peer) is missing.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import dns.message
import dns.query
import dns.rdatatype
import yaml

from benchmarks import dnsperf
from benchmarks.bounded import Finished, Guard, OverMemory, StepTimeout
from benchmarks.bounded import run as run_bounded
from benchmarks.dataset import LARGE_ZONE, PROFILES, DataSet, generate, zones_profile
from benchmarks.edits import Api, ApiError, set_marker, set_ns_ttl_in_yaml, tokens_file
from benchmarks.mixes import MIXES, write_query_files
from benchmarks.probe import answering, paced, shows
from benchmarks.procs import cpu_seconds, memory_kib, pss_kib, wait_quiet
from benchmarks.report import write_json
from benchmarks.run import machine
from benchmarks.scale_report import markdown, targets
from benchmarks.servers import (
    HOST,
    SERVERS,
    Acnsd,
    Layout,
    Running,
    Server,
    ServerError,
    build_tree,
    free_port,
    spawn,
)
from benchmarks.zonefiles import LAYOUTS, write_acnsd_config, write_acnsd_tree, write_zone_files

__all__ = ["Bounds", "main"]

OUT = Path(__file__).resolve().parent / "out" / "scale"
PUBLISHED = Path(__file__).resolve().parent / "results" / "scale"
CHANGES_PER_SECOND = 10  # the rate of issue 16's throughput and gap targets
SAMPLE = 1000  # zones probed for "answers every zone"
SERIES = ("api_change", "churn", "file_reload_command", "yaml_reload_command", "file_sighup")


@dataclass(frozen=True)
class Bounds:
    """How long a step may take and how much memory a process tree may use."""

    start: float  # a server start, `acnsd check`, a wait for a quiet server; seconds
    change: float  # one change until it is served
    series: float  # a series of changes: no new change starts after this many seconds
    max_rss_kib: int

    @classmethod
    def for_zones(cls, zones: int, max_rss_gib: float | None) -> Bounds:
        """Defaults that grow with the zone count: 4 ms per zone to start (400 s at
        100,000; at most 30 minutes), 1 ms per zone per change, 1.5 ms per zone per
        series; RSS 40 % of the memory available now unless `max_rss_gib` says otherwise."""
        if max_rss_gib is None:
            available = next(int(line.split()[1]) for line in
                              Path("/proc/meminfo").read_text().splitlines()
                              if line.startswith("MemAvailable:"))
            limit = int(available * 0.4)
        else:
            limit = int(max_rss_gib * 1024 * 1024)
        return cls(start=min(max(60.0, zones * 0.004), 1800.0),
                   change=max(20.0, zones * 0.001),
                   series=max(10.0, zones * 0.0015), max_rss_kib=limit)


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.scale",
                                     description=__doc__.split("\n\n")[0])
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--zones", type=int, default=100_000,
                      help="zones of the data set (100000): one account, 9-record zones")
    size.add_argument("--scale-set", action="store_true",
                      help="the 1M-record scale set of benchmarks/dataset.py instead")
    size.add_argument("--smoke", action="store_true",
                      help="200 zones, a few changes, short windows; not judged (the tests)")
    parser.add_argument("--changes", type=int, help="changes per series (100; smoke 3)")
    parser.add_argument("--peer-changes", type=int, help="changes per Knot/NSD series (5)")
    parser.add_argument("--duration", type=float,
                        help="seconds per dnsperf/probe window (10; smoke 1); a window is "
                        "at least twice one API change, so that changes complete in it")
    parser.add_argument("--peers", default="knot,nsd", help="servers to compare ('' none)")
    parser.add_argument("--series", default=",".join(SERIES),
                        help="acnsd's change series to run, comma-separated (all: "
                        + ", ".join(SERIES) + ")")
    parser.add_argument("--layout", choices=LAYOUTS, default=LAYOUTS[0],
                        help="acnsd's configuration: the directory layout (accounts_dir, a "
                        "file per zone: what 10^5 zones want; the default) or one acnsd.yaml")
    parser.add_argument("--start-timeout", type=float,
                        help="seconds (4 ms per zone, 60 to 1800)")
    parser.add_argument("--change-timeout", type=float, help="seconds (1 ms per zone, ≥ 20)")
    parser.add_argument("--series-budget", type=float,
                        help="seconds per series of changes (1.5 ms per zone, ≥ 10)")
    parser.add_argument("--max-rss-gib", type=float,
                        help="memory bound per process tree (40 %% of MemAvailable)")
    parser.add_argument("--no-pin", action="store_true", help="do not pin to CPUs")
    parser.add_argument("--require-all", action="store_true",
                        help="exit 2 when dnsperf, Knot or NSD is missing (the test uses it)")
    parser.add_argument("--keep-work", action="store_true",
                        help="keep the generated zones and logs (out/scale/work)")
    parser.add_argument("--changes-only", action="store_true",
                        help="acnsd only, one start and then only the change series of "
                        "--series; with --keep-work, the configuration and snapshot of an "
                        "earlier run of the same data set are reused")
    parser.add_argument("--churn-only", action="store_true",
                        help="--changes-only --series churn: what DNS keeps under 10 "
                        "changes/s, and the server's CPU per change")
    parser.add_argument("--no-snapshot", action="store_true",
                        help="acnsd with `server.snapshot: false` (no compiled snapshot: at "
                        "1,000,000 zones its writer's copy-on-write memory would double the "
                        "RSS); the changes then follow the cold start, with no restart")
    parser.add_argument("--out", type=Path, help="report directory (benchmarks/out/scale)")
    parser.add_argument("--publish", action="store_true",
                        help="also copy the report to benchmarks/results/scale/ (committed)")
    args = parser.parse_args(argv)
    args.series = ["churn"] if args.churn_only else [
        name for name in args.series.split(",") if name]
    args.changes_only = args.changes_only or args.churn_only
    if unknown := set(args.series) - set(SERIES):
        parser.error(f"--series: unknown {', '.join(sorted(unknown))}")
    if args.smoke:
        args.zones = 200
    args.changes = args.changes or (3 if args.smoke else 100)
    args.peer_changes = args.peer_changes or (2 if args.smoke else 5)
    args.duration = args.duration or (1.0 if args.smoke else 10.0)
    args.out = args.out or (OUT.parent / "scale-smoke" if args.smoke else OUT)
    return args


def _label(args: argparse.Namespace) -> str:
    return "scale-set" if args.scale_set else f"{args.zones}-zones"


def _spread(items: list[str], count: int) -> list[str]:
    """`count` items evenly spread over `items`, the first and the last included."""
    if len(items) <= count:
        return list(items)
    step = (len(items) - 1) / (count - 1)
    return list(dict.fromkeys(items[round(i * step)] for i in range(count)))


def _stats(values: list[float]) -> dict[str, Any]:
    """n, median, p99 (nearest rank: the largest value when n < 100) and max."""
    if not values:
        return {"n": 0, "median": None, "p99": None, "max": None}
    ordered = sorted(values)
    p99 = ordered[max(0, -(-99 * len(ordered) // 100) - 1)]
    return {"n": len(ordered), "median": round(statistics.median(ordered), 2),
            "p99": round(p99, 2), "max": round(ordered[-1], 2)}


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


class AcnsdWithApi(Acnsd):
    """acnsd with its management API on 127.0.0.1:`api_port`, its configuration in the
    `config_layout` ("directory": `accounts_dir:`, a file per account and per zone;
    "single": one acnsd.yaml). The configuration is written by the first start only: a
    restart serves the same configuration and state, with what was changed since."""

    def __init__(self, api_port: int, config_layout: str, snapshot: bool = True) -> None:
        self.api_port = api_port
        self.config_layout = config_layout
        self.server_keys = {} if snapshot else {"snapshot": False}

    def prepare(self, layout: Layout, workdir: Path, port: int, workers: int) -> list[str]:
        config = workdir / "acnsd.yaml"
        if not config.exists():
            workdir.mkdir(parents=True, exist_ok=True)
            tokens_file(workdir / "tokens.yaml")
            api = {"listen": f"{HOST}:{self.api_port}", "tokens_file": "tokens.yaml"}
            write = write_acnsd_tree if self.config_layout == "directory" else write_acnsd_config
            write(config, layout.dataset, layout.acnsd_dir, HOST, port, api, self.server_keys)
        return self.command(config, port, workers)


@dataclass
class Change:
    """One change: `act` makes it (a request, a command, a signal; run in a thread and
    timed), and the answer to `name` `rdtype` shows it once `expected` holds."""

    act: Callable[[], None]
    name: str
    rdtype: str
    expected: Callable[[dns.message.Message], bool]


def _ttl_is(name: str, ttl: int) -> Callable[[dns.message.Message], bool]:
    """The answer holds `name`'s NS RRset with TTL `ttl`."""
    def expected(reply: dns.message.Message) -> bool:
        return any(rrset.rdtype == dns.rdatatype.NS and rrset.ttl == ttl
                   and rrset.name.to_text(omit_final_dot=True).lower() == name
                   for rrset in reply.answer)
    return expected


def _holds(token: str) -> Callable[[dns.message.Message], bool]:
    """The answer holds a TXT record with `token`."""
    return lambda reply: any(token in rdata.to_text() for rrset in reply.answer
                             for rdata in rrset)


@contextmanager
def _step(record: dict[str, Any], name: str) -> Iterator[dict[str, Any]]:
    """Run a step whose results go in record[name]; a failure or a bound that was hit is
    recorded there as its status ("ok", "timeout", "memory", "error"), and the run goes on."""
    entry = record.setdefault(name, {})
    print(f"{name} ...", file=sys.stderr, flush=True)
    began = time.monotonic()
    try:
        yield entry
        entry["status"] = "ok"
    except StepTimeout as error:
        entry.update(status="timeout", detail=str(error))
    except OverMemory as error:
        entry.update(status="memory", detail=str(error))
    except (RuntimeError, OSError, ValueError, subprocess.SubprocessError) as error:
        entry.update(status="error", detail=f"{type(error).__name__}: {error}"[-2000:])
    entry["step_seconds"] = round(time.monotonic() - began, 2)
    if entry["status"] != "ok":
        print(f"{name}: {entry['status']}: {entry['detail'][:300]}", file=sys.stderr, flush=True)


class ChangeStream:
    """A client that asks for `rate` API changes per second (one at a time, paced) until
    stopped, counting the changes accepted while it ran."""

    def __init__(self, api: Api, zones: list[str], ttls: Iterator[int], rate: float,
                 timeout: float) -> None:
        self.api, self.zones, self.ttls, self.rate, self.timeout = api, zones, ttls, rate, timeout
        self.stop = threading.Event()
        self.done_at: list[float] = []
        self.error: str | None = None
        self.began = self.ended = 0.0
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        count = 0
        while not self.stop.is_set():
            self.stop.wait(max(0.0, self.began + count / self.rate - time.monotonic()))
            if self.stop.is_set():
                break
            try:
                self.api.set_ns_ttl(self.zones[count % len(self.zones)], next(self.ttls),
                                    self.timeout)
            except (ApiError, OSError) as error:
                self.error = str(error)
                break
            self.done_at.append(time.monotonic())
            count += 1

    def __enter__(self) -> ChangeStream:
        self.began = time.monotonic()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.ended = time.monotonic()
        self.stop.set()
        self._thread.join(self.timeout + 5)  # the change in flight, at most its timeout

    def summary(self) -> dict[str, Any]:
        applied = sum(1 for at in self.done_at if at <= self.ended)
        seconds = self.ended - self.began
        return {"requested_per_s": self.rate, "applied": applied,
                "applied_per_s": round(applied / seconds, 2) if seconds else 0.0,
                "window_s": round(seconds, 2), "error": self.error}


class Suite:
    """One run: the data set on disk, the bounds, the CPUs, and the results so far."""

    def __init__(self, args: argparse.Namespace, dataset: DataSet, work: Path,
                 bounds: Bounds, cpus: tuple[int | None, int | None]) -> None:
        self.args, self.dataset, self.work, self.bounds = args, dataset, work, bounds
        self.server_cpu, self.client_cpu = cpus
        self.layout = Layout(dataset, work / "served", work / "acnsd")
        names = [zone.name for zone in dataset.zones]
        self.small = [name for name in names if name.startswith("zone")]
        self.sample = (names if len(names) <= SAMPLE else
                       list(dict.fromkeys([*_spread(names, SAMPLE - 50), *names[-50:],
                                           names[0], LARGE_ZONE])))
        self.probe_questions = [(zone, "A") for zone in _spread(self.small, 1000)]
        self._ttls = iter(range(1000, 86400))  # every change sets a TTL not served before
        self.results: dict[str, Any] = {"servers": {}, "acnsd": {}}

    # --- the data set and the starts ---------------------------------------------------

    def write(self) -> Path:
        """The zone files for every server (unless kept from an earlier run) and the query
        file of the cached mix."""
        if not self.layout.acnsd_dir.exists():
            write_zone_files(self.dataset, self.layout.served_dir, served=True)
            write_zone_files(self.dataset, self.layout.acnsd_dir, served=False)
        return write_query_files(self.dataset, self.work / "queries", 20000, 1)["cached"]

    def start(self, server: Server, spec: str, entry: dict[str, Any], api: Api | None = None,
              port: int | None = None) -> Running:
        """Start `server` and wait until it answers every sampled zone (and `api`, when
        given, answers a GET); record load_seconds, api_seconds, and RSS and PSS once the
        server is quiet after the load."""
        running = spawn(server, spec, 1, self.layout, self.work / "run" / spec,
                        self.server_cpu, port)
        guard = Guard(running.process.pid, self.bounds.max_rss_kib)
        deadline = running.started + self.bounds.start

        def tick() -> None:
            if running.process.poll() is not None:
                raise ServerError(f"{spec} exited with {running.process.returncode}:\n"
                                  f"{running.log_tail()}")
            guard.check()

        try:
            answered = answering(running.port, self.sample, deadline, tick)
            if answered is None:
                raise StepTimeout(f"{spec}: not every sampled zone answered within "
                                  f"{self.bounds.start:.0f} s")
            entry["load_seconds"] = round(answered - running.started, 3)
            if api is not None:
                entry["api_seconds"] = round(self._api_ready(api, deadline, tick)
                                             - running.started, 3)
            self.quiet(running)
            pids = running.pids()
            entry["rss_mib"] = round(memory_kib(pids, "VmRSS") / 1024, 1)
            entry["pss_mib"] = round(pss_kib(pids) / 1024, 1)
            entry["peak_rss_mib"] = round(memory_kib(pids, "VmHWM") / 1024, 1)
        except BaseException:
            running.stop()
            raise
        return running

    def _snapshot_written(self, running: Running) -> float | None:
        """Seconds from the start until acnsd's compiled snapshot was written (its writer
        runs at nice 19 after the load; daemon/snapshot.py); None when it wrote none."""
        deadline = running.started + self.bounds.start
        log = running.workdir / "server.log"
        while time.monotonic() < deadline:
            text = log.read_text(errors="replace")
            if "event=snapshot_written" in text:
                return round(time.monotonic() - running.started, 1)
            if "event=snapshot_skipped" in text or "event=snapshot_unwritten" in text:
                return None
            time.sleep(0.5)
        raise StepTimeout(f"acnsd wrote no snapshot within {self.bounds.start:.0f} s")

    def _api_ready(self, api: Api, deadline: float, tick: Callable[[], None]) -> float:
        """When the API answers a GET of the last zone."""
        while time.monotonic() < deadline:
            tick()
            try:
                if api.call("GET", f"/zones?name={self.small[-1]}", timeout=5)[0] == 200:
                    return time.monotonic()
            except OSError:
                pass
            time.sleep(0.05)
        raise StepTimeout(f"the API did not answer within {self.bounds.start:.0f} s")

    # --- changes -------------------------------------------------------------------------

    def quiet(self, running: Running) -> float:
        """Wait (at most the start bound) until the server's CPU use falls below 10 % of a
        core: the work that followed the last step is done. Returns the seconds waited."""
        began = time.monotonic()
        wait_quiet(running.process.pid, began + self.bounds.start,
                   window=0.2 if self.args.smoke else 0.5)
        return time.monotonic() - began

    def series(self, running: Running, count: int, make: Callable[[int], Change],
               entry: dict[str, Any]) -> None:
        """Make up to `count` changes one after the other (none started after the series
        budget), each on a quiet server, timed from its act to the first answer that shows
        it. entry gets those times (served_ms), when each act returned (acked_ms: the API's
        200, a command's exit) and how long the server stayed busy after (busy_after_s)."""
        served: list[float] = entry.setdefault("served_ms", [])
        acked: list[float | None] = entry.setdefault("acked_ms", [])
        busy: list[float] = entry.setdefault("busy_after_s", [])
        self.quiet(running)
        began = time.monotonic()
        try:
            for number in range(count):
                if number and time.monotonic() - began > self.bounds.series:
                    break
                seen, done = self._one(running.port, make(number), number)
                served.append(_ms(seen))
                acked.append(None if done is None else _ms(done))
                busy.append(round(self.quiet(running), 2))
        finally:
            entry.update(_stats(served))

    def _one(self, port: int, change: Change, number: int) -> tuple[float, float | None]:
        """Make `change`; the seconds until it was served and until its act returned."""
        outcome: dict[str, Any] = {}

        def act() -> None:
            try:
                change.act()
                outcome["at"] = time.monotonic()
            except Exception as error:  # raised below, by the thread that waits
                outcome["error"] = error

        thread = threading.Thread(target=act, daemon=True)
        started = time.monotonic()
        thread.start()
        seen = shows(port, change.name, change.rdtype, change.expected,
                     started + self.bounds.change, give_up=lambda: "error" in outcome)
        thread.join(max(0.0, started + self.bounds.change - time.monotonic()) + 1)
        if "error" in outcome:
            raise outcome["error"]
        if seen is None:
            raise StepTimeout(f"change {number + 1} not served within "
                              f"{self.bounds.change:.0f} s")
        return seen - started, outcome["at"] - started if "at" in outcome else None

    def _acnsd(self, *words: str, timeout: float, log: Path, tied: bool = True) -> Finished:
        """Run `acnsd WORDS` on the server's CPU, bounded (`tied`: see bounded.run)."""
        command = [str(Acnsd.executable()), *words]
        if self.server_cpu is not None:
            command = ["taskset", "-c", str(self.server_cpu), *command]
        return run_bounded(command, timeout, self.bounds.max_rss_kib, log, tied)

    def _reload_command(self, config: Path) -> None:
        """`acnsd reload` of `config`, bounded by one change, started as a shell would
        (it ends when the server does)."""
        self._acnsd("reload", "--config", str(config), timeout=self.bounds.change,
                    log=config.parent / "reload.log", tied=False).check("acnsd reload")

    def _file_edit(self, zone_dir: Path, zone: str, number: int,
                   act: Callable[[], None]) -> Change:
        """Change the marker record of `zone`'s file, then `act`."""
        token = f"edit-{number}-{time.time_ns()}"
        owner = f"scale-marker.{zone}."
        set_marker(zone_dir / f"{zone}.zone", owner, token)
        return Change(act, owner, "TXT", _holds(token))

    # --- the servers -------------------------------------------------------------------

    def peer(self, name: str) -> None:
        """Knot or NSD: cold start, RSS, the 1 q/ms probe idle (what this machine and
        client allow), and a zone file edit reloaded its own way."""
        entry = self.results["servers"].setdefault(name, {})
        with _step(entry, "cold_start") as cold:
            running = self.start(SERVERS[name], name, cold)
        if cold["status"] != "ok":
            return
        try:
            with _step(entry, "idle_probe") as idle:
                idle.update(paced(running.port, self.probe_questions, self.args.duration))
            zones = _spread(self.small, self.args.peer_changes + 2)[1:-1]
            for key, reload in self._peer_reloads(name, running).items():
                def edit(n: int, reload: Callable[[str], Any] = reload) -> Change:
                    zone = zones[n % len(zones)]
                    return self._file_edit(self.layout.served_dir, zone, n, lambda: reload(zone))
                with _step(entry, key) as series:
                    self.series(running, self.args.peer_changes, edit, series)
        finally:
            running.stop()

    def _peer_reloads(self, name: str, running: Running) -> dict[str, Callable[[str], Any]]:
        """Series name → how Knot or NSD is told that a zone's file changed."""
        if name == "nsd":  # no nsd-control without its keys: SIGHUP re-reads what changed
            return {"file_sighup": lambda zone: os.kill(running.process.pid, signal.SIGHUP)}
        control = str(running.workdir / "run" / "knot.sock")

        def knotc(*words: str) -> None:
            timeout = max(1, round(self.bounds.change))  # knotc's own is 60 s
            done = subprocess.run(["knotc", "-s", control, "-t", str(timeout), *words],
                                  capture_output=True, text=True, timeout=timeout + 5)
            if done.returncode != 0:
                raise RuntimeError(f"knotc {' '.join(words)}: {done.returncode}: "
                                   f"{(done.stdout + done.stderr).strip()[-500:]}")

        return {"file_zone_reload": lambda zone: knotc("zone-reload", zone),
                "file_reload": lambda zone: knotc("reload")}

    def acnsd(self, queries: Path) -> None:
        """acnsd: check, cold start, restart (unless --no-snapshot), then every change and
        the churn."""
        entry = self.results["acnsd"]
        server = AcnsdWithApi(free_port(), self.args.layout, not self.args.no_snapshot)
        api = Api(server.api_port)
        config, port = self.work / "run" / "acnsd" / "acnsd.yaml", free_port()
        with _step(entry, "check") as check:
            server.prepare(self.layout, config.parent, port, 1)  # writes the config
            done = self._acnsd("check", "--config", str(config), timeout=self.bounds.start,
                               log=config.parent / "check.log")
            check.update(seconds=round(done.seconds, 3), outcome=done.outcome,
                         peak_rss_mib=round(done.peak_rss_kib / 1024, 1))
            done.check("acnsd check")
        # a snapshot trusts the layout's directories when unchanged for 2 s before the load
        # (tree.SETTLED_NS): an operator's start comes later than the smoke run's would
        time.sleep(max(0.0, config.stat().st_mtime + 2.5 - time.time()))
        with _step(entry, "cold_start") as cold:
            running = self.start(server, "acnsd", cold, api, port)
            if not self.args.no_snapshot:
                try:  # the restart is the one an operator makes later, with the snapshot made
                    cold["snapshot_seconds"] = self._snapshot_written(running)
                finally:
                    running.stop()
        if cold["status"] != "ok":
            return
        if self.args.no_snapshot:
            entry["restart"] = {"status": "skipped",
                                "detail": "--no-snapshot: acnsd writes no compiled snapshot"}
        else:
            with _step(entry, "restart") as restart:
                running = self.start(server, "acnsd", restart, api, port)
            if restart["status"] != "ok":
                return
        try:
            self._changes(running, api, config, queries)
        finally:
            running.stop()

    def changes_only(self, queries: Path) -> None:
        """acnsd: a start (a restart when an earlier run left its work), then the change
        series asked for."""
        entry = self.results["acnsd"]
        config = self.work / "run" / "acnsd" / "acnsd.yaml"
        api_port = (int(yaml.safe_load(config.read_text())["server"]["api"]["listen"]
                        .rsplit(":", 1)[1]) if config.exists() else free_port())
        server = AcnsdWithApi(api_port, self.args.layout, not self.args.no_snapshot)
        with _step(entry, "cold_start") as cold:
            running = self.start(server, "acnsd", cold, Api(server.api_port))
        if cold["status"] != "ok":
            return
        try:
            api = Api(server.api_port)
            for zone in _spread(self.small, 50):  # asked before, as a full run has
                api.zone_id(zone)
            self._changes(running, api, config, queries)
        finally:
            running.stop()

    def _changes(self, running: Running, api: Api, config: Path, queries: Path) -> None:
        entry, count = self.results["acnsd"], self.args.changes
        zones = _spread(self.small, 50)

        def patch(n: int) -> Change:
            zone = zones[n % len(zones)]
            ttl = self._new_ttl(running.port, zone)
            api.zone_id(zone)  # asked before the clock starts
            return Change(lambda: api.set_ns_ttl(zone, ttl, self.bounds.change), zone, "NS",
                          _ttl_is(zone, ttl))

        def reloaded(n: int) -> Change:
            return self._file_edit(self.layout.acnsd_dir, zones[-1 - n % len(zones)], n,
                                   lambda: self._reload_command(config))

        def yaml_edit(n: int) -> Change:
            zone = zones[(n + 1) * 7 % len(zones)]
            ttl = self._new_ttl(running.port, zone)
            set_ns_ttl_in_yaml(config, zone, ttl)
            return Change(lambda: self._reload_command(config), zone, "NS", _ttl_is(zone, ttl))

        def sighup(n: int) -> Change:
            return self._file_edit(self.layout.acnsd_dir, zones[n * 3 % len(zones)], n,
                                   lambda: os.kill(running.process.pid, signal.SIGHUP))

        makers = {"api_change": patch, "file_reload_command": reloaded,
                  "yaml_reload_command": yaml_edit, "file_sighup": sighup}
        for name in [name for name in SERIES if name in self.args.series]:
            with _step(entry, name) as step:
                if name == "churn":
                    self._churn(running, api, zones, queries, step,
                                entry.get("api_change", {}).get("median"))
                else:
                    self.series(running, count, makers[name], step)

    def _new_ttl(self, port: int, zone: str) -> int:
        """The next TTL for `zone`'s NS RRset that it is not served with now (a kept
        configuration, --keep-work, holds the TTLs an earlier run set)."""
        reply = dns.query.udp(dns.message.make_query(zone, "NS"), HOST, timeout=5, port=port)
        served = {rrset.ttl for rrset in reply.answer if rrset.rdtype == dns.rdatatype.NS}
        return next(ttl for ttl in self._ttls if ttl not in served)

    def _churn(self, running: Running, api: Api, zones: list[str], queries: Path,
               entry: dict[str, Any], change_ms: float | None) -> None:
        """dnsperf (cached mix) and the 1 q/ms probe, each idle and then while a client
        asks for 10 API changes per second; a window lasts at least two API changes."""
        window = self.args.duration
        if change_ms:
            window = max(window, min(2 * change_ms / 1000, self.bounds.series))
        entry["window_s"] = round(window, 2)
        mix = next(mix for mix in MIXES if mix.name == "cached")
        cpu: dict[str, float] = {}  # the server's CPU seconds per second of a probe window
        for tool in ("dnsperf", "probe"):
            for mode in ("idle", "changes"):
                self.quiet(running)
                began, cpu_before = time.monotonic(), cpu_seconds(running.pids())
                stream = (ChangeStream(api, zones, self._ttls, CHANGES_PER_SECOND,
                                       self.bounds.change) if mode == "changes" else None)
                with stream or nullcontext():
                    if tool == "dnsperf":
                        result = dnsperf.run(running.port, queries, window, mix.args, 100,
                                             self.client_cpu)
                        entry[f"{mode}_qps"] = round(result.qps)
                        entry[f"{mode}_lost"] = result.lost
                    else:
                        entry[f"{mode}_probe"] = paced(running.port, self.probe_questions,
                                                       window)
                        cpu[mode] = ((cpu_seconds(running.pids()) - cpu_before)
                                     / (time.monotonic() - began))
                if stream is not None:
                    entry[f"changes_during_{tool}"] = stream.summary()
                    if stream.error:
                        raise ApiError(f"a change during the {tool} window: {stream.error}")
        entry["qps_share_of_idle"] = round(entry["changes_qps"] / entry["idle_qps"], 3)
        applied = entry["changes_during_probe"]["applied_per_s"]
        if applied:  # the probe's own load is the idle window's, and taken out
            entry["cpu_ms_per_change"] = round(1000 * (cpu["changes"] - cpu["idle"]) / applied, 1)


def _pinning(args: argparse.Namespace) -> tuple[int | None, int | None]:
    """(server CPU, client CPU): 1 and 0 when there are two cores and taskset."""
    if not args.no_pin and (os.cpu_count() or 1) >= 2 and shutil.which("taskset"):
        return 1, 0
    return None, None


def _missing(args: argparse.Namespace) -> dict[str, str]:
    tools = {"dnsperf": dnsperf.missing(), "acnsd": SERVERS["acnsd"].missing()}
    tools |= {name: SERVERS[name].missing() for name in args.peers.split(",") if name}
    return {name: reason for name, reason in tools.items() if reason}


def _exit_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)  # so that `finally` stops the servers


def _write(args: argparse.Namespace, results: dict[str, Any]) -> None:
    label = _label(args)
    args.out.mkdir(parents=True, exist_ok=True)
    text = markdown(results)
    (args.out / f"{label}.md").write_text(text)
    write_json(results, args.out / f"{label}.json")
    print(text)
    if args.publish:
        PUBLISHED.mkdir(parents=True, exist_ok=True)
        for suffix in (".md", ".json"):
            shutil.copyfile(args.out / f"{label}{suffix}", PUBLISHED / f"{label}{suffix}")


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    missing = _missing(args)
    if missing and (args.require_all or "acnsd" in missing or "dnsperf" in missing):
        print("missing: " + "; ".join(missing.values()), file=sys.stderr)
        return 2
    build_tree()  # (each `acnsd reload` would compile its modules again: ~6 ms)
    profile = PROFILES["scale"] if args.scale_set else zones_profile(args.zones)
    print(f"generating {profile.name} ...", file=sys.stderr, flush=True)
    dataset = generate(profile)
    cpus = _pinning(args)
    bounds = Bounds.for_zones(len(dataset.zones), args.max_rss_gib)
    bounds = Bounds(args.start_timeout or bounds.start, args.change_timeout or bounds.change,
                    args.series_budget or bounds.series, bounds.max_rss_kib)
    work = args.out / "work" / _label(args)
    if not (args.changes_only and args.keep_work):
        shutil.rmtree(work, ignore_errors=True)
    suite = Suite(args, dataset, work, bounds, cpus)
    results = suite.results
    results.update(started=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                   machine=machine(), skipped=missing, params={
                       "label": _label(args), "smoke": args.smoke, "profile": profile.name,
                       "zones": len(dataset.zones), "records": dataset.record_count(),
                       "layout": args.layout, "snapshot": not args.no_snapshot,
                       "series": args.series, "changes": args.changes,
                       "peer_changes": args.peer_changes,
                       "duration": args.duration, "bounds": asdict(bounds),
                       "sample": len(suite.sample),
                       "pinning": ("servers and acnsd commands on CPU 1; dnsperf, probes "
                                   "and the API client on CPU 0" if cpus[0] is not None
                                   else "none")})
    affinity = os.sched_getaffinity(0)
    try:
        if cpus[1] is not None:
            os.sched_setaffinity(0, {cpus[1]})
        queries = suite.write()
        if args.changes_only:
            suite.changes_only(queries)
        else:
            for name in [name for name in args.peers.split(",")
                         if name and name not in missing]:
                suite.peer(name)
            suite.acnsd(queries)
    finally:
        os.sched_setaffinity(0, affinity)
        if not args.keep_work:
            shutil.rmtree(work, ignore_errors=True)
    results["machine"]["loadavg_end"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    results["targets"] = targets(results)
    _write(args, results)
    steps = [*results["acnsd"].values(),
             *(step for server in results["servers"].values() for step in server.values())]
    return 1 if any(step.get("status") == "error" for step in steps) else 0


if __name__ == "__main__":
    sys.exit(main())
