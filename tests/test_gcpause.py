"""gcpause.freeze_survivors: a collection that leaves many objects in the oldest
generation is followed, at the loop's next turn and at most once per period, by a full
collection (garbage is freed, not frozen) and a freeze; few objects are left alone.
gcpause.log_pauses: a collection that lasts the threshold or longer is logged with its
generation and length, a shorter one is not."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import re
import time
import weakref
from collections.abc import Iterator

import pytest
from acnsd.gcpause import freeze_survivors, log_pauses


@pytest.fixture(autouse=True)
def thawed() -> Iterator[None]:
    """Each test starts and ends with nothing frozen (this process's own objects too)."""
    gc.unfreeze()
    yield
    gc.unfreeze()


def _survivors(count: int) -> list[list[int]]:
    """`count` objects the collector tracks, left in the oldest generation."""
    made = [[i] for i in range(count)]
    gc.collect()
    return made


@contextlib.contextmanager
def _freezing(at: int, every: float) -> Iterator[None]:
    """freeze_survivors on the running loop inside the block, stopped after it."""
    stop = freeze_survivors(asyncio.get_running_loop(), at=at, every=every)
    try:
        yield
    finally:
        stop()


async def _turn() -> None:
    """Let the loop run what was scheduled for its next turn."""
    for _ in range(3):
        await asyncio.sleep(0)


def test_a_full_collection_leaving_many_objects_freezes_them_at_the_next_turn() -> None:
    async def scenario() -> tuple[int, int, int]:
        with _freezing(10_000, 0):
            kept = _survivors(20_000)
            after_collection = gc.get_freeze_count()  # not yet: the loop has not turned
            await _turn()
            return after_collection, gc.get_freeze_count(), len(gc.get_objects(2)) if kept else 0

    after_collection, frozen, young = asyncio.run(scenario())
    assert after_collection == 0
    assert frozen >= 20_000
    assert young < 10_000  # what the next full collection walks


def test_objects_a_young_collection_moves_to_the_oldest_generation_are_frozen() -> None:
    async def scenario() -> tuple[int, int]:
        with _freezing(10_000, 0):
            kept = [[i] for i in range(20_000)]
            gc.collect(1)  # (not a full collection: into the oldest generation)
            await _turn()
            return len(kept), gc.get_freeze_count()

    made, frozen = asyncio.run(scenario())
    assert frozen >= made


class _Cycle:
    def __init__(self) -> None:
        self.itself = self


def test_garbage_in_the_oldest_generation_is_freed_not_frozen() -> None:
    async def scenario() -> weakref.ref:
        with _freezing(10_000, 0):
            cycle = _Cycle()
            gc.collect(1)
            gc.collect(1)  # in the oldest generation, alive
            dead = weakref.ref(cycle)
            del cycle  # garbage only the collector frees, not collected yet
            assert dead() is not None
            kept = [[i] for i in range(20_000)]
            gc.collect(1)
            await _turn()
            assert gc.get_freeze_count() >= len(kept)
            return dead

    assert asyncio.run(scenario())() is None


def test_a_full_collection_leaving_few_objects_freezes_nothing() -> None:
    async def scenario() -> int:
        with _freezing(10**9, 0):
            _survivors(1_000)
            await _turn()
            return gc.get_freeze_count()

    assert asyncio.run(scenario()) == 0


def test_at_most_one_freeze_per_period() -> None:
    async def scenario() -> tuple[int, int]:
        with _freezing(1_000, 3600):
            first = _survivors(5_000)
            await _turn()
            frozen = gc.get_freeze_count()
            second = _survivors(5_000)
            await _turn()
            later = gc.get_freeze_count()
            del first, second  # (freed by their counts: frozen or not)
            return frozen, later

    frozen, later = asyncio.run(scenario())
    assert frozen >= 5_000
    assert later == frozen


def test_a_collection_in_another_thread_is_frozen_on_the_loop() -> None:
    async def scenario() -> tuple[int, int]:
        with _freezing(10_000, 0):
            kept = await asyncio.to_thread(_survivors, 20_000)
            await _turn()
            return len(kept), gc.get_freeze_count()

    made, frozen = asyncio.run(scenario())
    assert frozen >= made


def test_stopped_it_freezes_nothing() -> None:
    async def scenario() -> int:
        freeze_survivors(asyncio.get_running_loop(), at=1_000, every=0)()
        _survivors(5_000)
        await _turn()
        return gc.get_freeze_count()

    assert asyncio.run(scenario()) == 0


_PAUSES = logging.getLogger("tests.gcpause")


@contextlib.contextmanager
def _slow(pause: float) -> Iterator[None]:
    """A gc callback that makes every collection last at least `pause` seconds."""
    def callback(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            time.sleep(pause)

    gc.callbacks.append(callback)
    try:
        yield
    finally:
        gc.callbacks.remove(callback)


def _logged(caplog: pytest.LogCaptureFixture, pause: float, generation: int) -> list[str]:
    """What log_pauses (threshold 0.2 s) logs of one collection of `generation` made to last
    `pause` seconds or more; the log is stopped after it."""
    caplog.set_level(logging.INFO, logger=_PAUSES.name)
    stop = log_pauses(_PAUSES, at=0.2)
    try:
        with _slow(pause):
            gc.collect(generation)
    finally:
        stop()
    return [r.getMessage() for r in caplog.records if r.name == _PAUSES.name]


def test_a_collection_as_long_as_the_threshold_is_logged(caplog: pytest.LogCaptureFixture
                                                         ) -> None:
    lines = _logged(caplog, 0.25, 1)
    assert len(lines) == 1, lines
    found = re.fullmatch(r"event=gc_pause generation=1 ms=(\d+\.\d) collected=\d+", lines[0])
    assert found and 250 <= float(found[1]) < 2000, lines


def test_a_shorter_collection_is_not_logged_nor_one_after_it_stopped(
        caplog: pytest.LogCaptureFixture) -> None:
    assert not _logged(caplog, 0.05, 0)
    with _slow(0.25):
        gc.collect(0)
    assert not [r for r in caplog.records if r.name == _PAUSES.name]
