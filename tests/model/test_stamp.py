"""model/tree.py: a file's Stamp is one octet string of its five fields (issue 16: one per
YAML file of the directory layout, 10^5 of them), read back as it was made."""

from __future__ import annotations

import gc
import hashlib
import os
import pickle
import sys
from pathlib import Path

from acnsd.model.tree import SETTLED_NS, Stamp, read_stamped
from hypothesis import given
from hypothesis import strategies as st

_FIELDS = st.tuples(st.integers(-2**63, 2**63 - 1), st.integers(0, 2**64 - 1),
                    st.integers(0, 2**64 - 1),
                    st.binary(min_size=32, max_size=32).map(bytes.hex),
                    st.integers(-2**63, 2**63 - 1))


@given(_FIELDS)
def test_a_stamp_gives_back_its_fields_and_survives_a_pickle(fields: tuple) -> None:
    stamp = Stamp(*fields)
    assert stamp.fields() == fields
    mtime_ns, size, inode, digest, read_at = fields
    assert (stamp.mtime_ns, stamp.size, stamp.inode, stamp.digest, stamp.read_at) == fields
    copy = pickle.loads(pickle.dumps(stamp, protocol=5))
    assert type(copy) is Stamp and copy == stamp and copy.fields() == fields
    assert Stamp(*copy.fields()) == stamp
    assert repr(stamp) == (f"Stamp(mtime_ns={mtime_ns}, size={size}, inode={inode}, "
                           f"digest={digest!r}, read_at={read_at})")


def test_a_stamp_is_one_small_object() -> None:
    """No other object hangs off a stamp (its fields were six objects, ~290 bytes)."""
    stamp = Stamp(1796547153162275618, 103, 4776660, "0e" * 32, 1796547244278637000)
    assert gc.get_referents(stamp) == [Stamp]  # its type only
    assert sys.getsizeof(stamp) <= 120


def test_read_stamped_stamps_the_file_read(tmp_path: Path) -> None:
    path = tmp_path / "zone.yaml"
    path.write_bytes(b"- name: shop.test\n")
    os.utime(path, ns=(0, 10**18))
    raw, stamp = read_stamped(path)
    st = os.stat(path)
    assert raw == b"- name: shop.test\n"
    assert stamp.fields()[:4] == (10**18, st.st_size, st.st_ino,
                                  hashlib.sha256(raw).hexdigest())
    assert stamp.vouches(st)  # written long before it was read
    assert not stamp.vouches(os.stat_result((*st[:6], 0, 0, 10**18 + 1, 0)))  # mtime changed
    recent = Stamp(*stamp.fields()[:4], 10**18 + SETTLED_NS)
    assert not recent.vouches(st)  # modified within the timestamp granularity of its read
