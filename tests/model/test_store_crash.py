"""kill -9 of a writer in the middle of a stream of commits: the store opens, every change
whose commit returned is there, and no change is there in part (the zone content and the
address of one transaction come together, the journal chains stay exact)."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from acnsd.model import journal
from acnsd.model.store import Store
from store_writer import ZONES, address, content, zone_name
from storekit import rr_set, rrsets
from tooling import REPO, SERVER

ROUNDS = 6
SEED = 1995


def _kill_mid_stream(path: Path, first: int, rnd: random.Random) -> int:
    """Start a writer at change `first`, SIGKILL it at a random moment after at least one
    commit; the last change it reported committed."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SERVER), str(REPO / "tests/model")])}
    writer = subprocess.Popen([sys.executable, str(REPO / "tests/model/store_writer.py"),
                               str(path), str(first)], stdout=subprocess.PIPE, text=True,
                              env=env)
    try:
        reported = [int(writer.stdout.readline())]  # it is running and committing
        time.sleep(rnd.uniform(0, 0.4))
        writer.send_signal(signal.SIGKILL)
        writer.wait(10)
        reported += [int(line) for line in writer.stdout.read().split()]
    finally:
        if writer.poll() is None:
            writer.kill()
            writer.wait()
        writer.stdout.close()
    return reported[-1]


def _check(path: Path, reported: int) -> int:
    """What the store holds after a kill: every change up to `reported`, perhaps the next
    (killed after its commit, before its report), each whole; the last change there."""
    with Store.open(path) as store:
        assert store._db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        numbers = sorted(int(name[1:-5]) for name in store.addresses())
        last = numbers[-1]
        assert numbers == list(range(last + 1)) and last in (reported, reported + 1)
        assert all(store.addresses()[f"n{i}.test"]["ipv4"] == address(i) for i in numbers)
        for z in range(min(ZONES, last + 1)):
            i = last - (last - z) % ZONES  # the last change of zone z
            zone = store.zone(zone_name(i))
            assert _records(rr_set(zone.content)) == _records_of(i)
            oldest = store._db.execute("SELECT serial_from FROM journal WHERE zone = ? ORDER BY"
                                       " seq LIMIT 1", (zone.name,)).fetchone()
            if oldest:  # undone back to its oldest serial: the content of an earlier change
                before = _undo(rr_set(zone.content), store.ixfr_chain(zone.name, oldest[0]))
                assert any(_records(before) == _records_of(j) for j in range(i, -1, -ZONES))
    return last


def _records_of(i: int) -> set:
    """The RRs change i gave its zone, but the SOA."""
    return set(journal.split_soa(journal.rrs_of(rrsets(content(i), zone=zone_name(i))))[1])


def _records(rrs: frozenset) -> set:
    return {rr for rr in rrs if journal._rdtype(rr) != 6}


def _undo(rrs: frozenset, chain: list[journal.Diff]) -> frozenset:
    """The content before a chain, from the content after it (each difference checked)."""
    rrs = set(rrs)
    for diff in reversed(chain):
        assert {diff.soa_to, *diff.added} <= rrs
        rrs -= {diff.soa_to, *diff.added}
        assert not rrs & {diff.soa_from, *diff.removed}
        rrs |= {diff.soa_from, *diff.removed}
    return frozenset(rrs)


def test_kill_9_mid_stream_loses_no_commit_and_applies_none_in_part(tmp_path):
    path = tmp_path / "acnsd.db"
    rnd = random.Random(SEED)
    first = 0
    for _ in range(ROUNDS):
        reported = _kill_mid_stream(path, first, rnd)
        first = _check(path, reported) + 1
    assert first > ROUNDS  # at least one commit each round
