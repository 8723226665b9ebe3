"""model/chunked.py: a tuple that is copied with a few items replaced, removed or inserted
in O(√n), its items found by key (`get`, through the line's Where)."""

from __future__ import annotations

import pickle
from itertools import count

from acnsd.model.chunked import CHUNK, Chunked, Where
from hypothesis import given, settings
from hypothesis import strategies as st

_KEY = 0  # items are (key, value) pairs: found by their key


def key(item: tuple[int, int]) -> int:
    return item[_KEY]


@st.composite
def edits(draw: st.DrawFn, keys: list[int], fresh: count) -> tuple[dict, list, list]:
    """Replacements, removals and insertions (each after an anchor that is not removed:
    an item there before, one inserted earlier, or None) over items of `keys`."""
    replace = {k: (k, draw(st.integers())) for k in draw(st.lists(st.sampled_from(keys),
                                                                 max_size=3))} if keys else {}
    remove = draw(st.lists(st.sampled_from(keys), unique=True, max_size=3)) if keys else []
    kept = [k for k in keys if k not in remove]
    insert = []
    for _ in range(draw(st.integers(0, 4))):
        anchor = draw(st.sampled_from([None, *kept]))
        new = next(fresh)
        insert.append((anchor, (new, draw(st.integers()))))
        kept.append(new)
    return replace, remove, insert


def expected_after(items: list, replace: dict, remove: list, insert: list) -> list:
    out = [replace.get(key(item), item) for item in items if key(item) not in remove]
    for anchor, item in insert:
        at = 0 if anchor is None else next(i for i, x in enumerate(out) if key(x) == anchor) + 1
        out.insert(at, item)
    return out


def same_as_tuple(chunked: Chunked, expected: list) -> None:
    assert chunked == tuple(expected) and tuple(chunked) == tuple(expected)
    assert list(chunked) == expected and len(chunked) == len(expected)
    assert [chunked[i] for i in range(-len(expected), len(expected))] == expected * 2
    assert chunked[1:-1] == tuple(expected)[1:-1]
    assert hash(chunked) == hash(tuple(expected))
    assert pickle.loads(pickle.dumps(chunked)) == chunked
    assert all(type(chunk) is tuple for _, chunk in chunked.chunks())  # immutable, as built
    places = {chunk_id: i for i, (chunk_id, _) in enumerate(chunked.chunks())}
    assert chunked._ordinals_made() == places  # (shared with the sequence it was copied from)


@settings(max_examples=200)
@given(st.integers(0, 3 * CHUNK + 7), st.data())
def test_an_edited_copy_is_the_tuple_with_those_edits_made(size, data) -> None:
    fresh = count(size)
    items = [(k, -k) for k in range(size)]
    chunked = Chunked(items)
    where = Where(chunked, key)
    for _ in range(data.draw(st.integers(1, 4))):  # a line of copies, one writer
        replace, remove, insert = data.draw(edits([key(item) for item in items], fresh))
        copy = chunked.edited(where, replace, remove, insert)
        expected = expected_after(items, replace, remove, insert)
        same_as_tuple(copy, expected)
        assert chunked == tuple(items)  # the original is unchanged
        assert where.chunk == Where(copy, key).chunk  # kept as a new one would be
        assert [copy.get(where, key(item)) for item in expected] == expected  # by key
        assert copy.get(where, -1) is None
        chunked, items = copy, expected


def test_an_edit_shares_every_chunk_it_does_not_touch() -> None:
    chunked = Chunked([(k, k) for k in range(10 * CHUNK)])
    where = Where(chunked, key)
    copy = chunked.edited(where, replace={3 * CHUNK + 1: (3 * CHUNK + 1, -1)},
                          remove=[5 * CHUNK], insert=[(10 * CHUNK - 1, (-1, -1))])
    shared = [a is b for a, b in zip(chunked._chunks, copy._chunks, strict=True)]
    assert shared.count(False) == 3 and len(shared) == 10
    assert [i for i, same in enumerate(shared) if not same] == [3, 5, 9]


def test_a_chunk_grown_past_twice_its_size_is_split_and_one_left_empty_is_dropped() -> None:
    chunked = Chunked([(k, k) for k in range(2 * CHUNK)])
    where = Where(chunked, key)
    anchor, inserted = CHUNK - 1, []
    for new in range(2 * CHUNK, 3 * CHUNK + 2):  # all into the first chunk, one by one
        chunked = chunked.edited(where, insert=[(anchor, (new, new))])
        anchor = new
        inserted.append((new, new))
    lengths = [len(chunk) for _, chunk in chunked.chunks()]
    assert lengths == [CHUNK, CHUNK, 2, CHUNK]  # split at 2 × CHUNK + 1, in pieces of CHUNK
    assert len({chunk_id for chunk_id, _ in chunked.chunks()}) == 4
    assert where.chunk == Where(chunked, key).chunk
    last = [key(item) for item in chunked._chunks[-1]]
    chunked = chunked.edited(where, remove=last)
    assert [len(chunk) for _, chunk in chunked.chunks()] == [CHUNK, CHUNK, 2]
    assert chunked == tuple([(k, k) for k in range(CHUNK)] + inserted)


def test_a_split_or_a_drop_keeps_the_later_chunks_edited_in_the_same_copy_in_place() -> None:
    items = [(k, k) for k in range(3 * CHUNK)]
    grown = Chunked(items)
    where = Where(grown, key)
    extra = [(-n, n) for n in range(1, CHUNK + 2)]  # into the first chunk: 2 × CHUNK + 1
    anchors = [CHUNK - 1] + [key(item) for item in extra[:-1]]
    split = grown.edited(where, replace={2 * CHUNK: (2 * CHUNK, -1)},
                         insert=list(zip(anchors, extra, strict=True)))
    expected = items[:CHUNK] + extra + items[CHUNK:]
    expected[expected.index((2 * CHUNK, 2 * CHUNK))] = (2 * CHUNK, -1)
    same_as_tuple(split, expected)
    assert [len(chunk) for _, chunk in split.chunks()] == [CHUNK, CHUNK, 1, CHUNK, CHUNK]
    assert where.chunk == Where(split, key).chunk
    dropped = split.edited(where, remove=[key(item) for item in split._chunks[1]],
                           replace={3 * CHUNK - 1: (3 * CHUNK - 1, -2)})
    expected = [item for item in expected if item not in split._chunks[1]]
    expected[-1] = (3 * CHUNK - 1, -2)
    same_as_tuple(dropped, expected)
    assert where.chunk == Where(dropped, key).chunk


def test_the_first_item_of_an_empty_sequence_makes_a_chunk() -> None:
    empty: Chunked = Chunked()
    where = Where(empty, key)
    one = empty.edited(where, insert=[(None, (1, 1)), (1, (2, 2)), (None, (0, 0))])
    assert one == ((0, 0), (1, 1), (2, 2)) and empty == ()
    assert where.chunk == Where(one, key).chunk


def test_a_key_that_is_not_there_is_refused() -> None:
    chunked = Chunked([(1, 1)])
    where = Where(chunked, key)
    for edit in ({"replace": {2: (2, 2)}}, {"remove": [2]}, {"insert": [(2, (3, 3))]}):
        try:
            chunked.edited(where, **edit)
        except KeyError:
            continue
        raise AssertionError(edit)
    assert chunked != ((1, 2),) and chunked != [(1, 1)] and chunked == ((1, 1),)
