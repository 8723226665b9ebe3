"""The Makefile's two commands on a fresh or broken checkout (issue 20), planned with
`make -n` in a copy of the repository's Makefile, pyproject.toml and the install's other
inputs (setup.py, the C reader's source)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from tooling import REPO


def _make(directory: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`make -n ARGS` in `directory`, as a fresh make (not one nested in `make test`)."""
    for name in ("Makefile", "pyproject.toml", "setup.py", "server/acnsd/model/_zonefast.c"):
        (directory / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO / name, directory / name)
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    return subprocess.run(["make", "--no-print-directory", "-n", *args], cwd=directory,
                          capture_output=True, text=True, timeout=60, env=env)


def _plan(directory: Path, target: str) -> str:
    done = _make(directory, target)
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
    assert _make(tmp_path, "run", "LISTEN=127.0.0.1:5300").stdout.rstrip().endswith(
        "--listen 127.0.0.1:5300")
