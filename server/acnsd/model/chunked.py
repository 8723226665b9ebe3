"""A tuple of many items whose copy with a few items replaced, removed or inserted costs
O(√n), not O(n).

Rule owned here: `Chunked` is an immutable sequence equal to the tuple of its items
(compared with a tuple or another Chunked, item by item; hashed as that tuple), kept as
chunks of items, each chunk with an id that no other chunk ever gets. `edited` returns a
new Chunked that shares every chunk it does not touch with this one: a change to one zone
of a model of 100,000 zones copies one chunk and the tuples of chunks, and the model it
replaces is freed as cheaply (issue 16: every reference taken or dropped over 100,000
items is milliseconds of the serving process's CPU). Items are found by key through a
`Where` (key → the id of the chunk that holds it), which the one writer of a line of
copies keeps: an edit updates it only for the items it inserts, removes or moves into a
new chunk, so that no position is ever renumbered over the whole sequence.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, Sequence
from itertools import chain, count, islice
from typing import Any, Generic, TypeVar, overload

__all__ = ["CHUNK", "Chunked", "Where"]

T = TypeVar("T")
K = TypeVar("K", bound=Hashable)

CHUNK = 512  # items per chunk as built: 100,000 items are 196 chunks; an edit splits a
# chunk grown past twice this, and drops one left empty
_IDS = count()  # chunk ids, unique in the process


class Chunked(Sequence[T]):
    """An immutable sequence of items in chunks (module doc)."""

    __slots__ = ("_chunks", "_ids", "_len", "_ordinals")

    def __init__(self, items: Iterable[T] = ()) -> None:
        iterator = iter(items)
        chunks = []
        while chunk := tuple(islice(iterator, CHUNK)):
            chunks.append(chunk)
        self._set(tuple(chunks), tuple(next(_IDS) for _ in chunks))

    def _set(self, chunks: tuple[tuple[T, ...], ...], ids: tuple[int, ...]) -> None:
        self._chunks = chunks
        self._ids = ids
        self._len = sum(map(len, chunks))
        self._ordinals: dict[int, int] | None = None  # chunk id → its place, on first use

    def get(self, where: Where[K], wanted: K) -> T | None:
        """The item of key `wanted` (None: none), found through `where`, this sequence's:
        O(CHUNK)."""
        chunk_id = where.chunk.get(wanted)
        if chunk_id is None:
            return None
        for item in self._chunks[self._ordinals_made()[chunk_id]]:
            if where.key(item) == wanted:
                return item
        return None

    def _ordinals_made(self) -> dict[int, int]:
        """Each chunk's place by its id (made on first use)."""
        if self._ordinals is None:
            self._ordinals = {chunk_id: i for i, chunk_id in enumerate(self._ids)}
        return self._ordinals

    def chunks(self) -> Iterator[tuple[int, tuple[T, ...]]]:
        """Each chunk with its id, in order."""
        return zip(self._ids, self._chunks, strict=True)

    def edited(self, where: Where[K], replace: Mapping[K, T] = {},
               remove: Iterable[K] = (), insert: Iterable[tuple[K | None, T]] = ()
               ) -> Chunked[T]:
        """A copy with, in this order, the item of each key of `replace` replaced (its key
        unchanged), the item of each key of `remove` removed, and each item of `insert`
        inserted right after the item of its anchor key (None: first), one after another
        (an anchor may be an item inserted before it). `where` is this sequence's and is
        updated to the copy's; KeyError for a key that is not in the sequence."""
        ordinals = self._ordinals_made()
        chunks: list[tuple[T, ...] | list[T]] = list(self._chunks)
        ids = list(self._ids)
        touched: set[int] = set()
        key, located = where.key, where.chunk

        def find(wanted: K) -> tuple[list[T], int]:
            """The touched chunk of the item of `wanted` (a list, now), and its offset."""
            ordinal = ordinals[located[wanted]]
            items = chunks[ordinal]
            if ordinal not in touched:
                touched.add(ordinal)
                items = chunks[ordinal] = list(items)
            assert isinstance(items, list)
            for offset, item in enumerate(items):
                if key(item) == wanted:
                    return items, offset
            raise KeyError(wanted)

        for wanted, item in replace.items():
            items, offset = find(wanted)
            items[offset] = item
        for wanted in remove:
            items, offset = find(wanted)
            del items[offset]
            del located[wanted]
        for anchor, item in insert:
            if anchor is not None:
                items, offset = find(anchor)
                items.insert(offset + 1, item)
                located[key(item)] = located[anchor]
                continue
            if not chunks:  # the first item of an empty sequence: a chunk of its own
                ids.append(next(_IDS))
                chunks.append([])
                ordinals = {ids[0]: 0}  # (not this sequence's, which has no chunk)
            if 0 not in touched:
                touched.add(0)
                chunks[0] = list(chunks[0])
            first = chunks[0]
            assert isinstance(first, list)
            first.insert(0, item)
            located[key(item)] = ids[0]
        return self._rebuilt(chunks, ids, touched, where)

    def _rebuilt(self, chunks: list[tuple[T, ...] | list[T]], ids: list[int],
                 touched: set[int], where: Where[Any]) -> Chunked[T]:
        """The copy of `chunks` (the touched ones are lists): a touched chunk grown past
        2 × CHUNK is split into chunks of CHUNK, the later ones with new ids (`where`
        follows the items moved there); one left empty is dropped."""
        # only the touched chunks are worked on (from the last, so that the places of
        # those before stay); the rest is copied in C: ~1 ms less at 1,000,000 items
        new_chunks: list[tuple[T, ...]] = list(chunks)  # type: ignore[arg-type]
        new_ids = list(ids)
        for ordinal in sorted(touched, reverse=True):
            items, chunk_id = chunks[ordinal], ids[ordinal]
            if len(items) > 2 * CHUNK:
                pieces = [tuple(items[start:start + CHUNK])
                          for start in range(0, len(items), CHUNK)]
            else:
                pieces = [tuple(items)] if items else []
            piece_ids = [chunk_id, *(next(_IDS) for _ in pieces[1:])][:len(pieces)]
            for piece, piece_id in zip(pieces[1:], piece_ids[1:], strict=True):
                for item in piece:
                    where.chunk[where.key(item)] = piece_id
            new_chunks[ordinal:ordinal + 1] = pieces
            new_ids[ordinal:ordinal + 1] = piece_ids
        copy: Chunked[T] = Chunked.__new__(Chunked)
        copy._set(tuple(new_chunks), tuple(new_ids))
        if copy._ids == self._ids:  # no chunk split or dropped: the same places of ids
            copy._ids, copy._ordinals = self._ids, self._ordinals
        return copy

    def __len__(self) -> int:
        return self._len

    @overload
    def __getitem__(self, position: int) -> T: ...

    @overload
    def __getitem__(self, position: slice) -> tuple[T, ...]: ...

    def __getitem__(self, position: int | slice) -> T | tuple[T, ...]:
        if isinstance(position, slice):
            return tuple(self)[position]
        if position < 0:
            position += self._len
        if not 0 <= position < self._len:
            raise IndexError("Chunked index out of range")
        for chunk in self._chunks:  # O(√n): chunks are of unequal lengths once edited
            if position < len(chunk):
                return chunk[position]
            position -= len(chunk)
        raise AssertionError("unreachable: the position is in range")

    def __iter__(self) -> Iterator[T]:
        return chain.from_iterable(self._chunks)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (Chunked, tuple)):
            return len(self) == len(other) and tuple(self) == tuple(other)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(tuple(self))

    def __repr__(self) -> str:
        return f"Chunked({list(self)!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (Chunked, (tuple(self),))


class Where(Generic[K]):
    """Where each item of one writer's line of Chunked copies is: the id of its chunk by
    its key (`key(item)`), built over a sequence once and then kept by `Chunked.edited`."""

    __slots__ = ("chunk", "key")

    def __init__(self, chunked: Chunked[Any], key: Callable[[Any], K]) -> None:
        self.key = key
        self.chunk: dict[K, int] = {
            key(item): chunk_id for chunk_id, items in chunked.chunks() for item in items}
