"""yamlsrc.py: values built from libyaml's events equal PyYAML's own, with their lines."""

from __future__ import annotations

import pytest
import yaml
from acnsd.errors import ConfigError
from acnsd.model.yamlsrc import MAX_ALIAS_NODES, parse
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


def _aliases_adding(nodes: int, size: int = 1000) -> str:
    """A document whose aliases add `nodes` nodes: copies of a list of `size` nodes (the
    list and its items), then of one scalar."""
    copies, rest = divmod(nodes, size)
    items = ", ".join(["x"] * (size - 1))
    return (f"big: &big [{items}]\none: &one y\n"
            f"copies: [{', '.join(['*big'] * copies + ['*one'] * rest)}]\n")


def test_aliases_may_add_up_to_the_limit():
    value = parse(_aliases_adding(MAX_ALIAS_NODES), "t.yaml").value
    assert len(value["copies"]) == MAX_ALIAS_NODES // 1000


def test_an_alias_past_the_limit_is_refused_where_it_is():
    """Issue 15: one node more than the limit is refused, at the alias that passes it."""
    with pytest.raises(ConfigError) as caught:
        parse(_aliases_adding(MAX_ALIAS_NODES + 1), "t.yaml")
    problem = caught.value.problems[0]
    assert (problem.file, problem.line) == ("t.yaml", 3)
    assert problem.path == f"copies[{MAX_ALIAS_NODES // 1000}]"
    assert f"{MAX_ALIAS_NODES:,}" in problem.message and "*one" in problem.message


@pytest.mark.parametrize("merge", [False, True])
def test_aliases_of_aliases_count_what_they_expand_to(merge):
    """A "billion laughs": each level copies the one before nine times, so that l4 stands
    for 66,430 nodes; its fourth copy passes the limit, in a list or in a merge key, and
    is refused before it is built (l9 would be 10⁹ nodes)."""
    lines = ["l0: &l0 [a, b, c, d, e, f, g, h, i]"]
    for level in range(1, 5):
        lines.append(f"l{level}: &l{level} [{', '.join([f'*l{level - 1}'] * 9)}]")
    copies = ["{k: *l4}"] * 3 if merge else ["*l4"] * 3
    lines.append(f"all: {{<<: [{', '.join(copies)}]}}" if merge else f"all: [{', '.join(copies)}]")
    with pytest.raises(ConfigError) as caught:
        parse("\n".join(lines) + "\n", "bomb.yaml")
    problem = caught.value.problems[0]
    assert problem.line == 6 and "*l4 copies 66,430 nodes" in problem.message
