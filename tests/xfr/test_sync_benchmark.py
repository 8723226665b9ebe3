"""benchmarks/xfr_sync.py cannot rot: at ~50 zones (--smoke) it starts acnsd and a Knot
DNS secondary consuming its catalog, which must serve every zone, and measures one
incremental IXFR. The numbers are printed, not judged."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tooling import REPO, require_tool


def test_xfr_sync_smoke(tmp_path) -> None:
    require_tool("knotd")
    out = tmp_path / "xfr_sync.json"
    done = subprocess.run([sys.executable, "-m", "benchmarks.xfr_sync", "--smoke", "--timeout",
                           "60", "--out", str(out)], cwd=REPO, capture_output=True, text=True,
                          timeout=180, env=dict(os.environ,
                                   PYTHONPATH=f"{REPO / 'server'}:{REPO}"))
    assert done.returncode == 0, done.stderr
    print(done.stdout)
    result = json.loads(out.read_text())
    assert result["zones_served"] == result["zones"] >= 45
    assert result["ixfr"]["incremental"] and result["ixfr"]["rrs"] == 5  # 4 SOAs + the A
    assert result["serials"][1] > result["serials"][0]
    assert done.stdout.startswith("| measure | value |")
