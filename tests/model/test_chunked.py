"""model/chunked.py: a tuple that is copied with a few items replaced in O(√n)."""

from __future__ import annotations

import pickle

from acnsd.model.chunked import CHUNK, Chunked
from hypothesis import given
from hypothesis import strategies as st


@st.composite
def replacements(draw: st.DrawFn) -> tuple[list[int], dict[int, int]]:
    items = draw(st.lists(st.integers(), max_size=3 * CHUNK + 7))
    if not items:
        return items, {}
    return items, draw(st.dictionaries(st.integers(0, len(items) - 1), st.integers(),
                                       max_size=5))


@given(replacements())
def test_a_replaced_copy_is_the_tuple_with_those_items_replaced(case) -> None:
    items, changes = case
    chunked = Chunked(items)
    copy = chunked.replaced(changes)
    expected = list(items)
    for position, item in changes.items():
        expected[position] = item
    assert copy == tuple(expected) and tuple(copy) == tuple(expected)
    assert list(copy) == expected and len(copy) == len(expected)
    assert [copy[i] for i in range(-len(expected), len(expected))] == expected * 2
    assert copy[1:-1] == tuple(expected)[1:-1]
    assert hash(copy) == hash(tuple(expected))
    assert chunked == tuple(items)  # the original is unchanged
    assert pickle.loads(pickle.dumps(copy)) == copy


def test_a_replaced_copy_shares_every_chunk_it_does_not_touch() -> None:
    chunked = Chunked(range(10 * CHUNK))
    copy = chunked.replaced({3 * CHUNK + 1: -1})
    shared = [a is b for a, b in zip(chunked._chunks, copy._chunks, strict=True)]
    assert shared.count(False) == 1 and len(shared) == 10


def test_a_position_outside_is_refused() -> None:
    chunked = Chunked("abc")
    for position in (-1, 3):
        try:
            chunked.replaced({position: "x"})
        except IndexError:
            continue
        raise AssertionError(position)
    assert chunked != ("a", "b") and chunked != ["a", "b", "c"] and chunked == ("a", "b", "c")
