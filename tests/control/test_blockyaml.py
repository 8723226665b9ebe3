"""control/blockyaml.py: a file in the plain block form is read by libyaml into exactly
the document ruamel.yaml's round-trip loader makes of it (values, their types, quoting,
block style: the same text when dumped), and an edit of a file acnsd wrote does not go
through ruamel.yaml's loader (issue 16: CPU per API change)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from acnsd.control import document
from acnsd.control.blockyaml import load_block
from acnsd.control.change import ZoneSettingsChanged
from acnsd.control.document import INDENTS, LIST_INDENTS, Document, dump, to_yaml, yaml_dumper
from acnsd.control.edits import edit_zones
from hypothesis import given, settings
from hypothesis import strategies as st

KEYS = st.text("abcdefghijklmnopqrstuvwxyz_.-0123456789", min_size=1, max_size=12)
SCALARS = st.one_of(
    st.text(max_size=12),  # anything: the dumper quotes what needs it
    st.text("abcdefghijklmnopqrstuvwxyz.-0123456789", min_size=1, max_size=20),
    st.integers(-(2 ** 40), 2 ** 40), st.booleans(), st.none(), st.floats(allow_nan=False),
    st.sampled_from(["yes", "no", "on", "off", "1e3", "0o17", "0x1f", "007", "5:00", "~",
                     "null", "True", "2024-01-01", "a: b", "- x", "#x", "&a", "*a", "!t"]))
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(
    st.lists(inner, min_size=1, max_size=4),
    st.dictionaries(KEYS, inner, min_size=1, max_size=4)), max_leaves=12)


def _same(a: Any, b: Any) -> bool:
    """The same values of the same types (ruamel's quoted strings included)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.lists(VALUES, min_size=1, max_size=3),
                 st.dictionaries(KEYS, VALUES, min_size=1, max_size=3)),
       st.sampled_from(INDENTS))
def test_a_block_file_reads_as_the_round_trip_loader_reads_it(value: Any,
                                                             indents: tuple[int, int, int]) -> None:
    dumper = yaml_dumper(*indents)
    text = dump(dumper, to_yaml(value))
    block = load_block(text, dumper)
    if block is not None:
        loaded = dumper.load(text)
        assert _same(block[0], loaded)
        assert dump(dumper, block[0]) == dump(dumper, loaded)


@pytest.mark.parametrize("text", [
    "- a  # a comment\n", "- &x a\n- *x\n", "- !t a\n", "%YAML 1.1\n---\n- yes\n",
    "- [a, b]\n", "- {a: b}\n", "- 1.5\n", "- 0o17\n", "- 007\n", "- ~\n", "- a:\n",
    "- 2024-01-01\n", "- |\n  x\n", "a: 1\na: 2\n", "? [a]\n: b\n", "a\r\n",
])
def test_what_is_not_the_plain_block_form_is_left_to_the_round_trip_loader(text: str) -> None:
    assert load_block(text, yaml_dumper()) is None


def test_an_edit_of_a_file_in_the_form_acnsd_writes_does_not_use_ruamels_loader(
        monkeypatch: pytest.MonkeyPatch) -> None:
    text = ("- name: a.test\n  dns_settings:\n    nameservers:\n      type: custom.account\n"
            "      ns_set: 1\n    ns_ttl: 300\n    note: 'yes'\n")

    def refused(self: object, stream: str) -> object:
        raise AssertionError("ruamel.yaml's loader was used")

    monkeypatch.setattr(document.YAML, "load", refused)
    doc = Document(Path("a.test.yaml"), text, LIST_INDENTS)
    settings = {"nameservers": {"type": "custom.account", "ns_set": 1}, "ns_ttl": 900,
                "note": "yes"}
    edited = doc.edit(lambda node: edit_zones(node, ZoneSettingsChanged("a.test", settings)))
    assert edited == text.replace("ns_ttl: 300", "ns_ttl: 900")
