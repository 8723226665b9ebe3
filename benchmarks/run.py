"""The benchmark command: generate, start every server, measure in rounds, report.

`python -m benchmarks.run` runs the full suite; `--smoke` is the short mode the tests run
(0.2 s per dnsperf run, about ten seconds in all); `--scale` adds the scale set (load
time, RSS, reload gap). Servers are started one at a time (so each zone load is timed
alone), then measured in interleaved rounds: for every round and mix, each server in
turn, with the same dnsperf command line. Every process started here is stopped before
the command returns.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks import dnsperf
from benchmarks.dataset import LARGE_ZONE, PROFILES, generate
from benchmarks.measure import Sample, measure, summarize
from benchmarks.mixes import MIXES, Mix, write_query_files
from benchmarks.procs import memory_kib
from benchmarks.reload_gap import reload_gap
from benchmarks.report import (
    markdown,
    publish_in_readme,
    readme_section,
    targets,
    write_chart,
    write_json,
)
from benchmarks.servers import DEFAULT, SERVERS, Layout, Running, ServerError, parse_spec, start
from benchmarks.verify import compare
from benchmarks.zonefiles import write_zone_files

__all__ = ["machine", "main"]

OUT = Path(__file__).resolve().parent / "out"
PUBLISHED = Path(__file__).resolve().parent / "results"  # the latest full run, committed
README = Path(__file__).resolve().parent.parent / "README.md"  # shows the latest full run


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__)
    parser.add_argument("--smoke", action="store_true",
                        help="tiny data set, one short round (the test suite's mode)")
    parser.add_argument("--scale", action="store_true",
                        help="also load the scale set (10,000 zones, ~1,000,000 records)")
    parser.add_argument("--servers", default=",".join(DEFAULT),
                        help="comma-separated NAME or NAME:WORKERS (acnsd:2), NAME one of: "
                        + ", ".join(SERVERS))
    parser.add_argument("--scale-servers", default="knot,nsd,acnsd")
    parser.add_argument("--scale-rounds", type=int, default=3,
                        help="loads of the scale set per server, in turn (3)")
    parser.add_argument("--mixes", default=",".join(m.name for m in MIXES))
    parser.add_argument("--duration", type=float, help="seconds per dnsperf run (6)")
    parser.add_argument("--rounds", type=int, help="interleaved rounds (5)")
    parser.add_argument("--outstanding", type=int, default=100, help="dnsperf -q")
    parser.add_argument("--no-pin", action="store_true", help="do not pin to CPUs")
    parser.add_argument("--no-reload", action="store_true", help="skip the reload gap")
    parser.add_argument("--no-chart", action="store_true", help="skip the PNG chart")
    parser.add_argument("--require-all", action="store_true",
                        help="fail (exit 2) when dnsperf or a selected server is missing")
    parser.add_argument("--out", type=Path, help="report directory (benchmarks/out)")
    parser.add_argument("--publish", action="store_true",
                        help="also copy the report to benchmarks/results/ (committed)")
    args = parser.parse_args(argv)
    args.duration = args.duration or (0.2 if args.smoke else 6.0)
    args.rounds = args.rounds or (1 if args.smoke else 5)
    args.out = args.out or (OUT / "smoke" if args.smoke else OUT)
    return args


def machine() -> dict[str, Any]:
    """The host, its load average now, and the versions measured."""
    cpu = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    return {"cpu": cpu, "cores": os.cpu_count(), "kernel": os.uname().release,
            "loadavg": " ".join(f"{x:.2f}" for x in os.getloadavg()),
            "versions": _versions()}


# what each tool prints of its version; the first line that names a version is kept
VERSION_COMMANDS = {"knot": ["knotd", "-V"], "nsd": ["nsd", "-v"], "dnsperf": ["dnsperf", "-h"]}


def _versions() -> dict[str, str]:
    """The commit measured (with `+changes` when the tree differs from it), Python, and
    the peers' versions, so that a published run says what it measured."""
    def run(command: list[str]) -> str:
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=10,
                                  cwd=Path(__file__).resolve().parent)
        except (OSError, subprocess.TimeoutExpired):
            return ""
        return done.stdout + done.stderr

    commit = run(["git", "rev-parse", "--short=12", "HEAD"]).strip() or "unknown"
    if run(["git", "status", "--porcelain", "--untracked-files=no"]).strip():
        commit += "+changes"
    versions = {"acnsd": commit, "python": sys.version.split()[0]}
    for name, command in VERSION_COMMANDS.items():
        found = re.search(r"\d+\.\d+(\.\d+)?", run(command))
        versions[name] = found.group(0) if found else "not installed"
    return versions


def _layout(profile: str, work: Path) -> Layout:
    dataset = generate(PROFILES[profile])
    root = work / profile
    shutil.rmtree(root, ignore_errors=True)
    layout = Layout(dataset, root / "served", root / "acnsd")
    write_zone_files(dataset, layout.served_dir, served=True)
    write_zone_files(dataset, layout.acnsd_dir, served=False)
    return layout


def _questions(path: Path, count: int) -> list[tuple[str, str]]:
    """The first `count` distinct questions of a query file."""
    lines = list(dict.fromkeys(path.read_text().splitlines()))[:count]
    return [(line.split()[0], line.split()[1]) for line in lines]


def _reload(running: Running, layout: Layout, questions: list[tuple[str, str]],
            client_cpu: int | None, settle: float) -> dict[str, Any]:
    """The reload gap of a running acnsd, with this process pinned to the client CPU."""
    affinity = os.sched_getaffinity(0)
    if client_cpu is not None:
        os.sched_setaffinity(0, {client_cpu})
    try:
        return reload_gap(running.process.pid, running.port, questions,
                          layout.acnsd_dir / f"{LARGE_ZONE}.zone", LARGE_ZONE, timeout=900,
                          settle=settle)
    finally:
        os.sched_setaffinity(0, affinity)


def _scale(args: argparse.Namespace, work: Path, cpus: tuple[int | None, int | None],
           results: dict[str, Any]) -> None:
    """Load the scale set in each server alone, `--scale-rounds` times with the servers in
    turn (a load takes seconds, and this host's speed drifts over minutes): the median
    load time with every round's, and the RSS; acnsd's reload gap in the last round. Each
    load is a cold start: the server's directory, with what an earlier round or run left
    in it (acnsd's store and snapshot), is removed first."""
    print("generating the scale set ...", file=sys.stderr, flush=True)
    layout = _layout("smoke-scale" if args.smoke else "scale", work)
    zones, records = len(layout.dataset.zones), layout.dataset.record_count()
    scale_questions = [(zone.name, "SOA") for zone in layout.dataset.zones[::50]]
    specs = [spec for spec in args.scale_servers.split(",")
             if parse_spec(spec)[0] not in results["skipped"]]
    loads: dict[str, list[float]] = {spec: [] for spec in specs}
    for round_ in range(args.scale_rounds if specs else 0):
        for spec in specs[round_ % len(specs):] + specs[:round_ % len(specs)]:
            if "error" in results["scale"].get(spec, {}):
                continue
            print(f"scale set, round {round_ + 1}: starting {spec} ...", file=sys.stderr,
                  flush=True)
            shutil.rmtree(work / "scale-run" / spec, ignore_errors=True)
            try:
                running = start(spec, layout, work / "scale-run" / spec, cpus[0], timeout=900)
            except ServerError as error:
                results["scale"][spec] = {"error": str(error)}
                continue
            try:
                loads[spec].append(running.load_seconds)
                pids = running.pids()
                results["scale"][spec] = {
                    "zones": zones, "records": records,
                    "load_seconds": statistics.median(loads[spec]),
                    "load_seconds_rounds": loads[spec],
                    "rss_mib": memory_kib(pids, "VmRSS") / 1024,
                    "peak_rss_mib": memory_kib(pids, "VmHWM") / 1024,
                }
                last = round_ == args.scale_rounds - 1
                if last and parse_spec(spec)[0] == "acnsd" and not args.no_reload:
                    results["reload"][f"scale, {spec}"] = _reload(
                        running, layout, scale_questions, cpus[1],
                        settle=0.3 if args.smoke else 1.0)
            finally:
                running.stop()


def _specs(args: argparse.Namespace, results: dict[str, Any]) -> list[str]:
    """The server specs to run; missing servers go to results["skipped"]."""
    specs = [spec for spec in args.servers.split(",") if spec]
    for spec in specs + args.scale_servers.split(","):
        name, _ = parse_spec(spec)
        if name not in results["skipped"] and (reason := SERVERS[name].missing()):
            results["skipped"][name] = reason
    return [spec for spec in specs if parse_spec(spec)[0] not in results["skipped"]]


def _rounds(args: argparse.Namespace, running: dict[str, Running], mixes: list[Mix],
            queries: dict[str, Path], client_cpu: int | None,
            results: dict[str, Any]) -> list[Sample]:
    """Interleaved rounds: every round, every mix, each server in turn."""
    samples = []
    for round_number in range(1, args.rounds + 1):
        for mix in mixes:
            for spec in [spec for spec in running if not mix.over_tcp
                         or SERVERS[parse_spec(spec)[0]].over_tcp]:
                print(f"round {round_number}: {mix.name} on {spec}", file=sys.stderr,
                      flush=True)
                try:
                    samples.append(measure(running[spec], mix, queries[mix.queries],
                                           round_number, args.duration, args.outstanding,
                                           client_cpu))
                except (RuntimeError, ValueError, OSError) as error:
                    results["errors"][spec] = f"{mix.name}: {error}\n{running[spec].log_tail()}"
                    running.pop(spec).stop()
    return samples


def _report(args: argparse.Namespace, results: dict[str, Any], samples: list[Sample]) -> None:
    print("writing the report ...", file=sys.stderr, flush=True)
    results["machine"]["loadavg_end"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    results["samples"] = [s.as_dict() for s in samples]
    results["summary"] = [s.as_dict() for s in summarize(samples, results["load_seconds"])]
    results["targets"] = targets(results)
    args.out.mkdir(parents=True, exist_ok=True)
    try:
        if not args.no_chart:
            write_chart(results, args.out / "results.png")
    except ImportError:
        results["skipped"]["chart"] = "needs matplotlib: pip install -r benchmarks/requirements.txt"
    write_json(results, args.out / "results.json")
    text = markdown(results)
    (args.out / "results.md").write_text(text)
    print(text)
    if args.publish:
        PUBLISHED.mkdir(exist_ok=True)
        for name in ("results.md", "results.json", "results.png"):
            if (args.out / name).exists():
                shutil.copyfile(args.out / name, PUBLISHED / name)
        chart = (PUBLISHED / "results.png").relative_to(README.parent)
        README.write_text(publish_in_readme(README.read_text(), readme_section(results, chart)))


def _exit_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)  # so that `finally` stops the servers


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    profile = "smoke" if args.smoke else "full"
    mixes = [m for m in MIXES if m.name in args.mixes.split(",")]
    results: dict[str, Any] = {
        "started": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": machine(), "skipped": {}, "errors": {}, "samples": [], "summary": [],
        "reload": {}, "scale": {}, "load_seconds": {},
    }
    try:
        specs = _specs(args, results)
    except ValueError as error:
        print(error, file=sys.stderr)
        return 2
    if (reason := dnsperf.missing()) or (results["skipped"] and args.require_all):
        print(reason or "missing: " + "; ".join(results["skipped"].values()), file=sys.stderr)
        return 2
    pin = not args.no_pin and (os.cpu_count() or 1) >= 2 and shutil.which("taskset")
    cpus: tuple[int | None, int | None] = (1, 0) if pin else (None, None)
    work = args.out / "work"
    layout = _layout(profile, work)
    sizes = (500, 2000) if args.smoke else (20000, 1000000)
    queries = write_query_files(layout.dataset, work / profile / "queries", *sizes)
    results["params"] = {
        "profile": profile, "zones": len(layout.dataset.zones),
        "records": layout.dataset.record_count(), "duration": args.duration,
        "rounds": args.rounds, "outstanding": args.outstanding,
        "pinning": ("servers with one worker on CPU 1, dnsperf and the reload client on "
                    "CPU 0" if pin else "none"),
        "mixes": {m.name: m.description for m in mixes},
        "dnsperf": {m.name: " ".join(dnsperf.command("PORT", queries[m.queries], args.duration,
                                                     m.args, args.outstanding, cpus[1]))
                    for m in mixes},
    }
    running: dict[str, Running] = {}
    samples: list[Sample] = []
    try:
        for spec in specs:
            print(f"starting {spec} ...", file=sys.stderr, flush=True)
            try:
                running[spec] = start(spec, layout, work / "run" / spec, cpus[0], timeout=120)
                results["load_seconds"][spec] = running[spec].load_seconds
            except ServerError as error:
                results["errors"][spec] = str(error)
        ports = {spec: server.port for spec, server in running.items()
                 if SERVERS[parse_spec(spec)[0]].serves_zones}
        if len(ports) > 1:
            reference = "knot" if "knot" in ports else next(iter(ports))
            sample = (_questions(queries["cached"], 100 if args.smoke else 300)
                      + _questions(queries["flood"], 20))
            results["content"] = {
                "reference": reference, "questions": len(sample),
                "differences": compare(ports, sample, reference),
            }
        samples = _rounds(args, running, mixes, queries, cpus[1], results)
        acnsd = next((spec for spec in running if parse_spec(spec)[0] == "acnsd"), None)
        if acnsd and not args.no_reload:
            print(f"reload gap of {acnsd} ...", file=sys.stderr, flush=True)
            results["reload"][f"{profile}, {acnsd}"] = _reload(
                running[acnsd], layout, _questions(queries["cached"], 500), cpus[1],
                settle=0.3 if args.smoke else 1.0)
    finally:
        print("stopping servers ...", file=sys.stderr, flush=True)
        for server in running.values():
            server.stop()
    if args.scale:
        _scale(args, work, cpus, results)
    _report(args, results, samples)
    return 1 if results["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
