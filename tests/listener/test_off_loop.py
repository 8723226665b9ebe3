"""Loads run off the event loop in daemon threads: results and errors come back to the
loop, and a load still running at exit does not hold the process past the stop bound."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import pytest
from acnsd.daemon.serve import off_loop
from tooling import SERVER


def test_result_and_error_come_back_to_the_loop():
    async def scenario():
        assert await off_loop(sum, [1, 2, 3]) == 6
        with pytest.raises(ZeroDivisionError):
            await off_loop(divmod, 1, 0)

    asyncio.run(asyncio.wait_for(scenario(), 5))


def test_a_load_in_progress_does_not_hold_the_exit():
    program = (
        "import asyncio, time\n"
        "from acnsd.daemon.serve import off_loop\n"
        "async def main():\n"
        "    task = asyncio.ensure_future(off_loop(time.sleep, 60))\n"
        "    await asyncio.sleep(0.2)\n"
        "    task.cancel()\n"
        "asyncio.run(main())\n"
    )
    result = subprocess.run(  # held for the 60 s of the abandoned load: TimeoutExpired
        [sys.executable, "-c", program],
        env={"PYTHONPATH": str(SERVER)},
        capture_output=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr.decode()
