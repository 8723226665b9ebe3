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


def _containers(value) -> list:
    if isinstance(value, dict):
        return [value, *(c for item in value.values() for c in _containers(item))]
    if isinstance(value, list):
        return [value, *(c for item in value for c in _containers(item))]
    return []


@given(_JSON)
def test_the_saved_copy_is_a_deep_copy(value):
    """copy_json (the model index keeps its own copy of the recorded decisions): equal to
    the data (as copy.deepcopy's), and sharing no dict or list with it."""
    copied = state.copy_json(value)
    assert copied == copy.deepcopy(value)
    assert not {id(c) for c in _containers(copied)} & {id(c) for c in _containers(value)}
