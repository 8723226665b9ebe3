"""ShardedMap behaves as the dict it stands for, never changes once built, shares every
shard a change does not touch, and survives pickling into a process with another hash
seed."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys

from acnsd.dns.zonemap import MASK, SHARDS, ShardedMap
from hypothesis import given, settings
from hypothesis import strategies as st

KEYS = st.binary(max_size=6)
ITEMS = st.dictionaries(KEYS, st.integers())


def same(made: ShardedMap, expected: dict) -> None:
    assert dict(made.items()) == expected
    assert len(made) == len(expected) == sum(map(len, made.shards))
    assert sorted(made) == sorted(expected)
    for key, value in expected.items():
        assert key in made and made.get(key) == value and made[key] == value
        assert key in made.shards[hash(key) & MASK]


@settings(max_examples=200, deadline=None)
@given(ITEMS, st.lists(st.tuples(ITEMS, st.lists(KEYS))))
def test_changes_copy_only_what_they_touch(items, changes):
    made = ShardedMap(items)
    expected = dict(items)
    same(made, expected)
    for put, drop in changes:
        before, shards = dict(expected), made.shards
        changed = made.with_items(put, drop)
        for key in drop:
            expected.pop(key, None)
        expected.update(put)
        same(changed, expected)
        same(made, before)  # the map it came from is as it was
        touched = {hash(key) & MASK for key in (*put, *drop)}
        for index in range(SHARDS):
            assert (changed.shards[index] is shards[index]) == (index not in touched)
        made = changed
    assert made.get(b"\xff" * 7) is None and made.get(b"\xff" * 7, 5) == 5


def test_a_change_of_nothing_is_the_same_map():
    made = ShardedMap({b"a": 1})
    assert made.with_items({}, []) is made


def test_pickled_maps_are_sharded_again_where_hashes_differ():
    made = ShardedMap({b"key%d" % i: i for i in range(1000)})
    check = (
        "import pickle, sys; from acnsd.dns.zonemap import MASK\n"
        "made = pickle.loads(sys.stdin.buffer.read())\n"
        "assert all(made.get(b'key%d' % i) == i for i in range(1000)), 'lost'\n"
        "assert all(k in made.shards[hash(k) & MASK] for k in made)\n"
    )
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": os.pathsep.join(sys.path)}
        done = subprocess.run([sys.executable, "-c", check], input=pickle.dumps(made), env=env,
                              capture_output=True, timeout=60)  # fmt: skip
        assert done.returncode == 0, done.stderr.decode()
