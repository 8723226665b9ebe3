"""state.py reads the JSON state file of earlier versions with the pure-Python JSON
scanner: the same values as json.loads, and the same errors with their lines."""

from __future__ import annotations

import copy
import json

import pytest
from acnsd.errors import StateError
from acnsd.model import state
from acnsd.model.state import load_state_json
from hypothesis import given
from hypothesis import strategies as st

_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@given(st.dictionaries(st.text(), _JSON, max_size=5), st.sampled_from([None, 2]))
def test_values_equal_json_loads(tmp_path_factory, extra, indent):
    path = tmp_path_factory.mktemp("state") / "s.json"
    data = {"version": 1, "extra": extra}
    path.write_text(json.dumps(data, indent=indent))
    assert load_state_json(path).data == {**json.loads(path.read_text()), "addresses": {},
                                          "zones": {}, "released": {}, "serials": {}}


def test_a_syntax_error_names_its_line(tmp_path):
    path = tmp_path / "s.json"
    path.write_text('{\n  "version": 1,\n  "zones": {,\n}\n')
    with pytest.raises(StateError) as caught:
        load_state_json(path)
    assert caught.value.line == 3


@given(st.lists(st.dictionaries(st.text(max_size=2), _JSON, max_size=3), min_size=1,
                max_size=4), st.lists(st.integers(0, 3), max_size=12))
def test_equal_zone_entries_are_shared(pool, picks):
    """share_equal (State's zones section): every entry writes the same JSON as before, and
    the entries that write the same JSON are one object (True and 1, 0.0 and -0.0 differ)."""
    entries = {f"z{i}": copy.deepcopy(pool[p % len(pool)]) for i, p in enumerate(picks)}
    before = {name: json.dumps(entry) for name, entry in entries.items()}
    state.share_equal(entries)
    assert {name: json.dumps(entry) for name, entry in entries.items()} == before
    first: dict[str, object] = {}
    for name, entry in entries.items():
        assert first.setdefault(before[name], entry) is entry
