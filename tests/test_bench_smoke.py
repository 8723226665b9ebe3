"""The benchmark harness cannot rot: its smoke mode runs here against every server.

`python -m benchmarks.run --smoke` (a tiny data set, one short round) must start acnsd,
Knot DNS, NSD and (when dnslib is installed) the dnslib server, find that they all serve
the same answers, and report non-zero queries/s for every server and mix.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

from tooling import require_tool

REPO = Path(__file__).resolve().parent.parent
MIXES = ("cached", "nxflood", "edns-do", "tcp")


def test_smoke_run_reports_every_server_and_mix(tmp_path: Path) -> None:
    for tool in ("dnsperf", "knotd", "nsd", "taskset"):
        require_tool(tool)
    servers = ["acnsd", "knot", "nsd"]
    if importlib.util.find_spec("dnslib") is not None:
        servers.append("dnslib")
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.run", "--smoke", "--require-all", "--no-chart",
         "--servers", ",".join(servers), "--out", str(tmp_path)],
        cwd=REPO, capture_output=True, text=True, timeout=180,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    results = json.loads((tmp_path / "results.json").read_text())
    rows = {(row["server"], row["mix"]): row for row in results["summary"]}
    for server in servers:
        for mix in MIXES:
            assert rows[(server, mix)]["qps"] > 0, (server, mix)
    assert results["content"]["differences"] == {}
    assert results["reload"]["smoke, acnsd"]["reloaded"]
    table = (tmp_path / "results.md").read_text()
    for server in servers:
        for mix in MIXES:
            assert f"| {server} | {mix} |" in table
