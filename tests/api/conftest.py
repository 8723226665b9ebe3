"""Management-API tests run against the source tree, installed or not."""

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
for path in (str(HERE.parents[1] / "server"), str(HERE.parent), str(HERE)):
    if path not in sys.path:
        sys.path.insert(0, path)
