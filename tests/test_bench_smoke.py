"""The benchmark harness cannot rot: its smoke mode runs here against every server.

`python -m benchmarks.run --smoke` (a tiny data set, one short round) must start acnsd,
Knot DNS, NSD and (when dnslib is installed) the dnslib server, find that they all serve
the same answers, and report non-zero queries/s for every server and mix.
"""

from __future__ import annotations

import importlib.util
import json
import socket
import subprocess
import sys
from pathlib import Path

import dns.message
import pytest
from tooling import REPO, require_tool

from benchmarks.report import (
    README_BEGIN,
    README_END,
    publish_in_readme,
    readme_section,
    targets,
)

MIXES = ("cached", "nxflood", "edns-do", "tcp")


def test_smoke_run_reports_every_server_and_mix(tmp_path: Path) -> None:
    for tool in ("dnsperf", "knotd", "nsd", "taskset", "cc"):
        require_tool(tool)
    servers = ["acnsd", "knot", "nsd"]
    if importlib.util.find_spec("dnslib") is not None:
        servers.append("dnslib")
    servers.append("null")  # the load generator's ceiling: UDP only, no content
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.run", "--smoke", "--require-all", "--no-chart",
         "--servers", ",".join(servers), "--out", str(tmp_path), "--scale", "--scale-rounds", "3"],
        cwd=REPO, capture_output=True, text=True, timeout=180,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    results = json.loads((tmp_path / "results.json").read_text())
    rows = {(row["server"], row["mix"]): row for row in results["summary"]}
    for server in servers:
        for mix in MIXES:
            if (server, mix) == ("null", "tcp"):
                assert (server, mix) not in rows
            else:
                assert rows[(server, mix)]["qps"] > 0, (server, mix)
    # dnsperf is pinned (the test requires taskset) on any machine with two cores or more
    pinned = results["params"]["pinning"] != "none"
    for row in results["summary"]:
        busy = row["load_core_busy_pct"]
        assert (0 <= busy <= 100) if pinned else busy is None, row
    assert results["content"]["differences"] == {}  # the null responder is not compared
    assert results["reload"]["smoke, acnsd"]["reloaded"]
    for server in ("knot", "nsd", "acnsd"):  # --scale: each loaded three times, in turn
        scale = results["scale"][server]
        assert len(scale["load_seconds_rounds"]) == 3, scale
        assert scale["load_seconds"] == sorted(scale["load_seconds_rounds"])[1] > 0
        assert scale["rss_mib"] > 0
    assert results["reload"]["scale, acnsd"]["reloaded"]
    table = (tmp_path / "results.md").read_text()
    for server in servers:
        for mix in MIXES:
            assert (f"| {server} | {mix} |" in table) == ((server, mix) in rows)
    for mix in ("cached", "nxflood", "edns-do"):  # every server's share of the ceiling
        null, ours = rows[("null", mix)], rows[("acnsd", mix)]
        assert (f"- `{mix}`: {null['qps']:,.0f} q/s; acnsd "
                f"{100 * ours['qps'] / null['qps']:.0f} %, knot ") in table
    assert "| CPU µs/q | dnsperf core busy % |" in table
    rounds = ", ".join(f"{x:.2f}" for x in results["scale"]["acnsd"]["load_seconds_rounds"])
    assert f"| {results['scale']['acnsd']['load_seconds']:.2f} | {rounds} |" in table
    # a smoke run's targets are shown but not judged; every run names what it measured
    assert "Not judged: a smoke run" in table and "| NO |" not in table
    assert "| yes |" not in table and "| not judged |" in table
    versions = results["machine"]["versions"]
    assert set(versions) == {"acnsd", "python", "knot", "nsd", "dnsperf"}
    assert "not installed" not in versions.values() and versions["acnsd"] != "unknown"
    assert f"knot {versions['knot']}" in table
    # what --publish writes into the README: the run's own numbers, between the markers
    section = readme_section(results, "results.png")
    assert "| cached CPU µs/q | cached dnsperf core busy % |" in section
    assert "Ceiling of the load generator" in section
    for server in servers:
        cached = rows[(server, "cached")]
        busy = f"{cached['load_core_busy_pct']:.0f}" if pinned else "–"
        line = next(line for line in section.splitlines() if line.startswith(f"| {server} | "))
        assert line.startswith(f"| {server} | {cached['qps']:,.0f} |"), section
        assert f"| {cached['cpu_us_per_query']:.2f} | {busy} |" in line, line
    readme = (REPO / "README.md").read_text()
    published = publish_in_readme(readme, section)
    assert section in published
    assert published.split(README_BEGIN)[0] == readme.split(README_BEGIN)[0]
    assert published.split(README_END)[1] == readme.split(README_END)[1]
    with pytest.raises(ValueError):
        publish_in_readme(readme.replace(README_END, ""), section)


def test_the_null_responder_returns_each_query_as_its_answer(tmp_path: Path) -> None:
    require_tool("cc")
    from benchmarks.dataset import PROFILES, generate
    from benchmarks.servers import Layout, start

    running = start("null", Layout(generate(PROFILES["smoke"]), tmp_path, tmp_path),
                    tmp_path / "null", None, timeout=60)
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as client:
            client.settimeout(2)
            client.connect(("127.0.0.1", running.port))
            client.send(b"\x12\x34\x01")  # shorter than a header: no answer
            query = dns.message.make_query("any.name.example.", "TXT", use_edns=0).to_wire()
            client.send(query)
            answer = client.recv(2048)
    finally:
        running.stop()
    assert answer == query[:2] + bytes([query[2] | 0x80]) + query[3:]
    assert running.process.returncode is not None


def _row(server: str, mix: str, qps: float) -> dict[str, object]:
    return {"server": server, "mix": mix, "qps": qps, "cpu_us_per_query": 10.0, "lost_max": 0,
            "rss_growth_mib": 0.0}


def test_dnslib_target_shows_the_other_servers_ratios_but_judges_acnsd_alone() -> None:
    summary = [_row("acnsd", "cached", 35_900), _row("acnsd:2", "cached", 60_000),
               _row("knot", "cached", 24_800), _row("nsd", "cached", 38_100),
               _row("dnslib", "cached", 1_000),
               _row("acnsd", "tcp", 41_000), _row("dnslib", "tcp", 1_000)]
    rows = {row["target"]: row for row in targets({"summary": summary})}
    cached = rows["cached: acnsd q/s ≥ 40 × dnslib"]
    assert cached["shown"] == "35.9 × (knot 24.8 ×, nsd 38.1 ×)"
    assert (cached["value"], cached["ok"]) == (35.9, False)
    tcp = rows["tcp: acnsd q/s ≥ 40 × dnslib"]
    assert (tcp["shown"], tcp["value"], tcp["ok"]) == ("41.0 ×", 41.0, True)


DNSPERF_TCP_OUTPUT = """
Statistics:

  Queries sent:         107847
  Queries completed:    107840 (99.99%)
  Queries lost:         7 (0.01%)

  Response codes:       NOERROR 71898 (66.67%), NXDOMAIN 35942 (33.33%)
  Average packet size:  request 30, response 76
  Run time (s):         2.043781
  Queries per second:   52768.373911

  Average Latency (s):  0.000890 (min 0.000023, max 0.043841)
  Latency StdDev (s):   0.000968

Connection Statistics:

  Reconnections:        0

  Average Latency (s):  0.001553 (min 0.000765, max 0.001708)
"""


def test_dnsperf_statistics_are_read_from_the_query_block() -> None:
    from benchmarks.dnsperf import parse

    result = parse(DNSPERF_TCP_OUTPUT)
    assert (result.sent, result.completed, result.lost) == (107847, 107840, 7)
    assert result.qps == 52768.373911 and result.latency == 0.000890
    assert result.rcodes == {"NOERROR": 71898, "NXDOMAIN": 35942}


def test_data_set_is_deterministic_and_follows_the_rules() -> None:
    from benchmarks.dataset import PROFILES, generate

    dataset = generate(PROFILES["smoke"])
    assert dataset == generate(PROFILES["smoke"])
    zones = {zone.name: zone for zone in dataset.zones}
    children = [zone for zone in dataset.zones if zone.name.startswith("dev.")]
    assert children
    for child in children:  # R5: a child zone on another set than its parent
        assert child.ns_set != zones[child.name[len("dev."):]].ns_set
    served = dataset.served_records(zones["acct1.test"])
    assert served[0].startswith("acct1.test. 3600 IN SOA ns1.acct1.test. hostmaster.acct1.test.")
    assert "ns3.acct1.test. 86400 IN A 127.53.1.3" in served  # R8: the set-2 names' address
    assert not any("vanity" in line and " A " in line for line in served)


def test_servers_run_the_acnsd_beside_the_benchmark(tmp_path: Path) -> None:
    """What the benchmarks start imports acnsd from this tree's server/, even where the
    installed `acnsd` (an editable install) is another checkout: a worktree measured the
    main checkout's code under its own commit's name."""
    from benchmarks.dataset import PROFILES, generate
    from benchmarks.servers import Layout, Server, spawn

    class Which(Server):
        name = "which"

        def prepare(self, layout: Layout, workdir: Path, port: int, workers: int) -> list[str]:
            workdir.mkdir(parents=True, exist_ok=True)
            return [sys.executable, "-c", "import acnsd; print(acnsd.__file__)"]

    running = spawn(Which(), "which", 1, Layout(generate(PROFILES["smoke"]), tmp_path, tmp_path),
                    tmp_path / "which", None)
    try:
        assert running.process.wait(60) == 0
    finally:
        running.stop()
    imported = Path(running.log_tail().strip())
    assert imported == REPO / "server" / "acnsd" / "__init__.py"
