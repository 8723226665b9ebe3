"""The model tests: `env` is a configuration directory."""

from pathlib import Path

import pytest
from modelkit import Env


@pytest.fixture
def env(tmp_path: Path) -> Env:
    return Env(tmp_path)
