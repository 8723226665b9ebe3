"""Operations tests run against the source tree, installed or not."""

import sys
from pathlib import Path

SERVER = str(Path(__file__).resolve().parents[2] / "server")
if SERVER not in sys.path:
    sys.path.insert(0, SERVER)
