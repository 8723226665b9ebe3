"""Operations tests run against the source tree, installed or not, and reuse the e2e
daemon harness (tests/e2e/e2e_daemon.py)."""

import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
for path in (str(TESTS.parent / "server"), str(TESTS / "e2e")):
    if path not in sys.path:
        sys.path.insert(0, path)
