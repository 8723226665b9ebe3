"""Pausing the cyclic garbage collector around work that builds millions of objects.

The rule this module owns: loading, checking and compiling a configuration create
millions of objects without reference cycles (reference counting frees them); each
collection the allocations would start walks every one alive, which doubles a load's time
and, in a serving process, holds the GIL while it walks.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator

__all__ = ["gc_paused"]


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Cyclic garbage collection off inside the block (nesting is fine), as it was after."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
