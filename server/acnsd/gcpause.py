"""The cyclic garbage collector in a serving process: paused around work that builds
millions of objects, and kept from walking what survives.

The rule this module owns: loading, checking and compiling a configuration create
millions of objects without reference cycles (reference counting frees them); each
collection the allocations would start walks every one alive, which doubles a load's time
and, in a serving process, holds the GIL while it walks. What a load leaves is frozen
(gc.freeze: the collector never walks it again). What serving makes afterwards and keeps
(zones compiled on a query, cached answers and their filing, the zones and chunks a change
copies) is walked by every full collection until the next load freezes it: ~30 ms of
holding the GIL at 1,000,000 zones, more the longer the server runs changes.
`freeze_survivors` freezes what is left once it is many objects: each full collection
then walks at most about that many.

The price of a freeze: an object frozen while alive and part of a reference cycle is
never freed when it dies later, since only the collector frees cycles. The tables, the
model and the caches hold no cycles; what may (a request being handled, a transfer) lives
until it ends. So the freeze runs at the event loop's next turn, between callbacks,
right after a full collection (what is garbage then is freed, not frozen), at most once
per `every` seconds: what one may keep is at most what was in flight at that turn.

A collection that holds the GIL for PAUSE_LOGGED or longer stalls every answer as long:
`log_pauses` logs each one (`event=gc_pause`), so that a gap in the answers can be told
from a collection, or not, by its time.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import time
from collections.abc import Callable, Iterator

__all__ = ["FREEZE_AT", "FREEZE_EVERY", "PAUSE_LOGGED", "freeze_survivors", "gc_paused",
           "log_pauses"]

# this many objects in the oldest generation, not frozen, are frozen: the collections
# after it walk only what was made since (at 1,000,000 zones, ~75,000 such objects held
# the GIL 28-35 ms a full collection: benchmarks/results/scale)
FREEZE_AT = 10_000
FREEZE_EVERY = 1.0  # seconds: at most one freeze per
PAUSE_LOGGED = 0.020  # seconds: a collection this long is logged (issue 16's gap target)


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


def freeze_survivors(loop: asyncio.AbstractEventLoop, at: int = FREEZE_AT,
                     every: float = FREEZE_EVERY) -> Callable[[], None]:
    """From now on, after a collection (in any thread) that leaves `at` objects or more in
    the oldest generation (not frozen), at `loop`'s next turn and at most once per `every`
    seconds: a full collection, unless that collection was one, and gc.freeze() (module
    doc). Returns the function that stops it."""
    last = -float("inf")
    pending = False

    def freeze(collect: bool) -> None:
        nonlocal last, pending
        if collect:
            gc.collect()
        gc.freeze()
        last = time.monotonic()
        pending = False

    def collected(phase: str, info: dict[str, int]) -> None:
        nonlocal pending
        generation = info["generation"]
        if (phase != "stop" or not generation or pending or time.monotonic() - last < every
                or len(gc.get_objects(2)) < at):
            return
        pending = True
        try:
            loop.call_soon_threadsafe(freeze, generation < 2)
        except RuntimeError:  # the loop is closed: nothing serves any more
            pending = False

    gc.callbacks.append(collected)
    return lambda: gc.callbacks.remove(collected)


def log_pauses(log: logging.Logger, at: float = PAUSE_LOGGED) -> Callable[[], None]:
    """From now on, each collection (in any thread) that lasts `at` seconds or more is
    logged to `log`: `event=gc_pause generation=G ms=M collected=N` (the collection, and
    the work of the callbacks added before this one at its end). Collections never
    overlap (the one that runs holds the GIL), so one start time serves. Returns the
    function that stops it."""
    began = 0.0

    def timed(phase: str, info: dict[str, int]) -> None:
        nonlocal began
        if phase == "start":
            began = time.perf_counter()
            return
        seconds = time.perf_counter() - began
        if seconds >= at:
            log.info("event=gc_pause generation=%d ms=%.1f collected=%d", info["generation"],
                     seconds * 1000, info["collected"])

    gc.callbacks.append(timed)  # (so the callbacks before it, at the stop, count too)
    return lambda: gc.callbacks.remove(timed)
