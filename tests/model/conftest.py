"""The model tests run against the source tree; `env` is a configuration directory."""

import sys
from pathlib import Path

import pytest

HERE = str(Path(__file__).resolve().parent)
SERVER = str(Path(__file__).resolve().parents[2] / "server")
for entry in (SERVER, HERE):
    if entry not in sys.path:
        sys.path.insert(0, entry)

from modelkit import Env  # noqa: E402


@pytest.fixture
def env(tmp_path: Path) -> Env:
    return Env(tmp_path)
