"""model/state.py: a zone's recorded serial and digest (R10) is one `SerialEntry`, a small
octet string (issue 16: one per zone, 10^5 of them), which gives back the serial and the
digest it was made of, whatever the digest's text, and the JSON state file's shape."""

from __future__ import annotations

import gc
import json
import pickle
import sys
from pathlib import Path

from acnsd.model.state import SerialEntry, State, load_state_json
from hypothesis import given
from hypothesis import strategies as st

_SERIALS = st.integers(0, 2**32 - 1)
_DIGESTS = st.binary(min_size=32, max_size=32).map(bytes.hex) | st.text()  # ("" when none)


@given(_SERIALS, _DIGESTS, _SERIALS)
def test_an_entry_gives_back_its_serial_and_digest(serial: int, digest: str, other: int):
    entry = SerialEntry(serial, digest)
    assert (entry.serial, entry.digest) == (serial, digest)
    assert entry.as_json() == {"serial": serial, "digest": digest}
    assert SerialEntry.of_json(entry.as_json()) == entry
    copy = pickle.loads(pickle.dumps(entry, protocol=5))
    assert type(copy) is SerialEntry and copy == entry
    assert SerialEntry.of_octets(bytes(entry)) == entry
    moved = entry.with_serial(other)
    assert (moved.serial, moved.digest) == (other, digest)
    assert (moved == entry) == (other == serial)
    assert repr(entry) == f"SerialEntry(serial={serial}, digest={digest!r})"


@given(_SERIALS, st.binary(min_size=32, max_size=32), st.binary(min_size=32, max_size=32))
def test_an_entry_of_a_builds_digest_is_the_entry_of_its_hex_text(serial: int, octets: bytes,
                                                                   other: bytes):
    entry = SerialEntry.of_digest(serial, octets)
    assert entry == SerialEntry(serial, octets.hex()) and entry.digest == octets.hex()
    assert entry.digest_is(octets) and entry.digest_is(other) == (octets == other)
    assert not SerialEntry(serial, " " + octets.hex()).digest_is(octets)  # (as text)


@given(_DIGESTS, _DIGESTS)
def test_entries_are_equal_when_their_digests_are(a: str, b: str):
    assert (SerialEntry(1, a) == SerialEntry(1, b)) == (a == b)


def test_a_state_holds_each_serial_as_one_small_object(tmp_path: Path):
    """It was a dict with the digest as hex text: ~400 bytes in four objects a zone."""
    digest = "0e" * 32
    path = tmp_path / "acnsd.state.json"
    data = {"version": 1, "serials": {"a.test": {"serial": 1796547153, "digest": digest},
                                      "b.test": {"serial": 7, "digest": ""}}}
    path.write_text(json.dumps(data))
    state = load_state_json(path)
    entry = state.serials["a.test"]
    assert type(entry) is SerialEntry and (entry.serial, entry.digest) == (1796547153, digest)
    assert gc.get_referents(entry) == [SerialEntry]  # its type only
    assert sys.getsizeof(entry) <= 88
    assert state.as_json()["serials"] == data["serials"]
    assert not state.changed
    state.serials["b.test"] = state.serials["b.test"].with_serial(8)
    assert state.changed_names("serials") == {"b.test"}
    assert State(path, state.as_json()).serials == state.serials
