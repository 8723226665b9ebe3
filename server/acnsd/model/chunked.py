"""A tuple of many items whose copy with a few items replaced costs O(√n), not O(n).

Rule owned here: `Chunked` is an immutable sequence equal to the tuple of its items
(compared with a tuple or another Chunked, item by item; hashed as that tuple), kept as
chunks of at most CHUNK items. `replaced({position: item})` returns a new Chunked that
shares every chunk it does not touch with this one: a change to one zone of a model of
100,000 zones copies one chunk and the tuple of chunks, and the model it replaces is
freed as cheaply (issue 16: every reference taken or dropped over 100,000 items is
milliseconds of the serving process's CPU).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from itertools import chain, islice
from typing import Any, TypeVar, overload

__all__ = ["CHUNK", "Chunked"]

T = TypeVar("T")

CHUNK = 512  # items per chunk: 100,000 items are 196 chunks


class Chunked(Sequence[T]):
    """An immutable sequence of items in chunks (module doc)."""

    __slots__ = ("_chunks", "_len")

    def __init__(self, items: Iterable[T] = ()) -> None:
        iterator = iter(items)
        chunks = []
        while chunk := tuple(islice(iterator, CHUNK)):
            chunks.append(chunk)
        self._chunks: tuple[tuple[T, ...], ...] = tuple(chunks)
        self._len = sum(map(len, chunks))

    def replaced(self, items: Mapping[int, T]) -> Chunked[T]:
        """A copy with the item at each position of `items` replaced (IndexError when a
        position is not in the sequence)."""
        chunks = list(self._chunks)
        for position, item in items.items():
            if not 0 <= position < self._len:
                raise IndexError(f"position {position} of {self._len} items")
            index, offset = divmod(position, CHUNK)
            chunk = chunks[index]
            chunks[index] = (*chunk[:offset], item, *chunk[offset + 1:])
        copy: Chunked[T] = Chunked.__new__(Chunked)
        copy._chunks, copy._len = tuple(chunks), self._len
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
        index, offset = divmod(position, CHUNK)
        return self._chunks[index][offset]

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
