"""What the DNS server's event loop and the management API's share about asyncio.

The rule this module owns: blocking work (a load, a compile, an API change) never runs
on an event loop, and never holds the process's exit; every loop is uvloop's when it is
installed.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import TypeVar

__all__ = ["loop_factory", "off_loop"]

T = TypeVar("T")


def loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's event loop factory when uvloop is installed; None: asyncio's own."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


async def off_loop(function: Callable[..., T], *args: object) -> T:
    """Run a blocking call (a load, a compile) in a daemon thread, off the event loop.

    Not the loop's default executor: the interpreter waits for those threads at exit,
    so a long load in progress at SIGTERM would hold the exit past SHUTDOWN_GRACE. A
    daemon thread is abandoned instead (the state file is written atomically)."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def settle(result: T | None, error: BaseException | None) -> None:
        if future.done():  # cancelled meanwhile: nobody waits for it any more
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)  # type: ignore[arg-type]

    def work() -> None:
        try:
            outcome: tuple[T | None, BaseException | None] = (function(*args), None)
        except BaseException as exc:
            outcome = (None, exc)
        try:
            loop.call_soon_threadsafe(settle, *outcome)
        except RuntimeError:  # the loop has closed: the process is exiting
            pass

    threading.Thread(target=work, name=f"acnsd-{function.__name__}", daemon=True).start()
    return await future
