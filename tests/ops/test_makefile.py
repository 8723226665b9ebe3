"""The Makefile's two commands on a fresh or broken checkout (issue 20), planned with
`make -n` in a copy of the repository's Makefile and pyproject.toml."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from tooling import REPO


def _plan(directory: Path, target: str) -> str:
    for name in ("Makefile", "pyproject.toml"):
        shutil.copy(REPO / name, directory / name)
    done = subprocess.run(["make", "-n", target], cwd=directory, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_make_run_installs_the_server_not_the_test_tools(tmp_path):
    plan = _plan(tmp_path, "run")
    assert "-m venv .venv" in plan
    assert "pip install --quiet -e '.[fast]'" in plan
    assert "[test" not in plan
    assert plan.rstrip().endswith("serve --config config/acnsd.yaml")


def test_make_test_adds_the_test_tools(tmp_path):
    plan = _plan(tmp_path, "test")
    assert "pip install --quiet -e '.[test,fast]'" in plan and "pytest" in plan


def test_a_half_made_venv_is_made_again(tmp_path):
    (tmp_path / ".venv" / "bin").mkdir(parents=True)  # an interrupted `python -m venv`
    plan = _plan(tmp_path, "run")
    assert plan.index("rm -rf .venv") < plan.index("-m venv .venv")


def test_make_run_listens_where_it_is_told(tmp_path):
    for name in ("Makefile", "pyproject.toml"):
        shutil.copy(REPO / name, tmp_path / name)
    done = subprocess.run(["make", "-n", "run", "LISTEN=127.0.0.1:5300"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)
    assert done.stdout.rstrip().endswith("--listen 127.0.0.1:5300")
