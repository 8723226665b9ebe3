"""benchmarks/index_scale.py cannot rot: at a few hundred zones it loads, builds the index
and checks and applies every change kind it measures (it stops on a change refused that
it meant accepted). The numbers are printed, not judged."""

from __future__ import annotations

import subprocess
import sys

from tooling import REPO


def test_index_scale_runs_every_change_kind() -> None:
    done = subprocess.run([sys.executable, "-m", "benchmarks.index_scale", "--zones", "300",
                           "--repeats", "3"], cwd=REPO, capture_output=True, text=True,
                          timeout=300, env={"PYTHONPATH": f"{REPO / 'server'}:{REPO}"})
    assert done.returncode == 0, done.stderr
    print(done.stdout)
    rows = done.stdout.splitlines()
    assert rows[0].startswith("300 zones: load()") and rows[1].startswith("ModelIndex.build")
    assert len(rows) == 3 + 15  # the header lines, then one row per change kind
