"""yamlsrc.py: values built from libyaml's events equal PyYAML's own, with their lines."""

from __future__ import annotations

import pytest
import yaml
from acnsd.errors import ConfigError
from acnsd.model.yamlsrc import parse
from hypothesis import given
from hypothesis import strategies as st

_KEYS = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=8)
_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)
)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_KEYS, inner, max_size=4),
    max_leaves=20,
)


@given(_VALUES, st.booleans(), st.sampled_from([None, '"', "'"]))
def test_values_equal_pyyaml(value, flow, style):
    text = yaml.safe_dump(value, default_flow_style=flow, default_style=style, allow_unicode=True)
    expected = yaml.safe_load(text)
    if isinstance(expected, dict):  # PyYAML keeps non-string keys; a config's keys are text
        expected = {str(k): v for k, v in expected.items()}
    got = parse(text, "t.yaml").value
    if isinstance(got, dict):
        assert got == expected
    else:
        assert got == expected or (got != got and expected != expected)


def test_anchors_aliases_and_merges_equal_pyyaml():
    text = """\
base: &base {a: 1, b: [1, 2, &two {x: 2}]}
again: *base
list: [*two, *two]
merged:
  b: own
  <<: [*base, {c: 3, a: 9}]
one:
  <<: *base
"""
    assert parse(text, "t.yaml").value == yaml.safe_load(text)


def test_lines_follow_keys_items_and_merges():
    text = """\
# a comment
first: 1
second:
  - a
  -
    k: v
third:
  own: 1
  <<: &m {own: 2, other: 3}
"""
    lines = parse(text, "t.yaml").lines
    assert lines[""] == 2
    assert lines["first"] == 2
    assert lines["second"] == 3
    assert lines["second[0]"] == 4
    assert lines["second[1].k"] == 6
    assert lines["third.own"] == 8  # its own line, not the merged mapping's
    assert lines["third.other"] == 9


@pytest.mark.parametrize(
    ("text", "words", "line"),
    [
        ("a: *nowhere\n", "undefined alias", 1),
        ("a: &x 1\nb: &x 2\n", "second occurrence", 2),
        ("--- 1\n--- 2\n", "but found another document", 2),
        ("a: [1,\n", "YAML syntax error", 2),
        ("a: 1\na: 2\n", "duplicate key 'a'", 2),
        ("? [1]\n: 2\n", "a mapping key must be a plain value", 1),
        ("a: &x [*x]\n", "refers to a node that contains it", 1),
        ("a: !!int nope\n", "with tag tag:yaml.org,2002:int", 1),
        ("a: !custom 1\n", "with tag !custom", 1),
    ],
)
def test_problems_name_their_line(text, words, line):
    with pytest.raises(ConfigError) as caught:
        parse(text, "t.yaml")
    problem = caught.value.problems[0]
    assert words in problem.message
    assert (problem.file, problem.line) == ("t.yaml", line)


def test_an_empty_document_has_no_value():
    assert parse("", "t.yaml").value is None
    assert parse("# only a comment\n", "t.yaml").value is None
