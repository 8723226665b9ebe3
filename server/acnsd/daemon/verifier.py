"""The running server's delegation checks (verify/): every `server.verify.interval`
seconds, the first right after the start.

Rule owned here: a check runs in a thread of its own (off_loop), since it waits on other
servers for seconds; the event loop goes on answering meanwhile. Each check uses the model
served at its start and writes the results file, from which the API, the metrics and
`acnsd show` read. Without `server.verify` (or with interval 0) nothing is checked; a
reload that turns it on starts the checks within IDLE_POLL seconds.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from acnsd.aio import off_loop
from acnsd.model.types import Model
from acnsd.verify.checks import check, write_results
from acnsd.verify.compare import STATUSES

__all__ = ["recheck"]

log = logging.getLogger("acnsd.verify")

IDLE_POLL = 60.0  # seconds between looks at a configuration without checks


def _check_and_write(model: Model) -> dict[str, int]:
    assert model.server.verify is not None
    results = check(model, model.server.verify)
    write_results(model.server, results)
    counts = dict.fromkeys(STATUSES, 0)
    for kind in ("zones", "names"):
        for result in results[kind].values():
            counts[result["status"]] += 1
    return counts


async def recheck(current: Callable[[], Model]) -> None:
    """Check, then wait the interval, until cancelled; `current()` is the model served."""
    while True:
        model = current()
        settings = model.server.verify
        if settings is None or not settings.interval:
            await asyncio.sleep(IDLE_POLL)
            continue
        started = time.monotonic()
        try:
            counts = await off_loop(_check_and_write, model)
        except Exception as exc:  # a check that failed is logged and retried next time
            log.error("event=verify result=error reason=%r", str(exc))
        else:
            log.info("event=verify result=ok zones=%d names=%d %s seconds=%.3f",
                     len(model.zones), len(model.addresses),
                     " ".join(f"{k}={v}" for k, v in counts.items()),
                     time.monotonic() - started)
        await asyncio.sleep(settings.interval)
