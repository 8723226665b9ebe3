"""A fast reader for the plainest YAML: block mappings and sequences of plain words.

Rule owned here: `read` returns exactly what yamlsrc's reader makes of a document (its
values and the line of every YAML path), or None when the document uses anything beyond
this subset; the caller then reads it with yamlsrc's reader, which also words every
problem. The directory layout's per-zone files are in the subset, and reading 10^5 of them
through libyaml's events costs most of a cold start (issue 16).

The subset: lines indented by spaces holding `key:`, `key: word`, `- key:`, `- key: word`
or `- word`, blank lines and whole-line comments; keys are plain words that YAML reads as
strings, each at most once in its mapping; a sequence under a key may be indented by as
much as the key (PyYAML writes it so). A word is letters, digits, `.`, `_` and `-`,
starting with a letter or digit. A value (not a key) may also hold `/` (a path, a prefix;
first too), `:` neither first nor last nor before a space (an IPv6 address, `host:port`:
YAML reads a plain word so when no space follows its `:`), and single spaces between such
words (`Bench Account 1`), the words after one not starting with `:`. A word takes the
tag and value YAML 1.1 gives it (`1` an int, `yes` a bool, `zone.test` a string, `1:20`
the int 80), as yamlsrc's reader does. Anything else
(quotes, flow collections, anchors, tags, block scalars, document markers, a key without
a value, tabs, CR) is not read here.
"""

from __future__ import annotations

import functools
import re
from typing import Any

import yaml
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.resolver import Resolver

__all__ = ["join_path", "read"]

_WORD = r"[A-Za-z0-9][A-Za-z0-9._-]*"
_VALUE_REST = r"(?:[A-Za-z0-9._:/-]*[A-Za-z0-9._/-])?"  # a value's characters after the first
_VALUE_WORD = rf"[A-Za-z0-9/]{_VALUE_REST}(?: [A-Za-z0-9._/-]{_VALUE_REST})*"
# indent, "- " (an item), key, value: one line of the subset
_LINE = re.compile(rf"( *)(- )?(?:({_WORD}):(?: ({_VALUE_WORD}))?|({_VALUE_WORD}))")
_SKIPPED = re.compile(r" *(?:#.*)?")  # blank lines and whole-line comments
_STR = "tag:yaml.org,2002:str"
_RESOLVER = Resolver()
_CONSTRUCTOR = SafeConstructor()


def join_path(path: str, key: str | int) -> str:
    """`accounts` + 0 → `accounts[0]`; `accounts[0]` + `name` → `accounts[0].name`; the
    root of a file (tree.py's `a/account.yaml:`) + `name` → `a/account.yaml:name`."""
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path and path[-1] != ":" else f"{path}{key}"


class _Unread(Exception):
    """The document is beyond the subset."""


# One line read: (column, is an item, key or None, value or None, 1-based line). An item
# line `- key: v` is two: the item at the dash's column, its mapping two columns right.
_Token = tuple[int, bool, str | None, str | None, int]


def read(text: str, root: str = "") -> tuple[Any, dict[str, int]] | None:
    """The value of the document `text` and the line of each YAML path in it (its root
    named `root`), as yamlsrc.parse reads them; None when it is beyond the subset (or is
    no document).

    A document whose form (its text but the words that are values: _form) is that of one
    read before takes the values and lines of that one's shape (the 10^5 zone files of the
    directory layout have a few forms)."""
    if "\t" in text or "\r" in text or "\0" in text:
        return None
    form, words = _form(text)
    shape = _shapes.get((form, root))
    if shape is not None:
        try:
            values = list(map(_scalar, words))
        except _Unread:
            return None
        return _build(shape[0], values), dict(shape[1])
    read = _read(text, root)
    if read is not None:
        _learn((form, root), words, *read)
    return read


# A value word at the end of a line: after a key (`key: word`) or a dash (`- word`)
_VALUE = re.compile(rf"(: |^ *- )({_VALUE_WORD})$", re.MULTILINE)
# A value's shape: a mapping's keys and values' shapes, a sequence's items' shapes, or the
# index of a word (a scalar)
_Shape = int | tuple[str, list[tuple[str, "_Shape"]]] | tuple[str, list["_Shape"]]
# The shapes (and the lines of their YAML paths) of the forms read last, by (form, root)
_shapes: dict[tuple[str, str], tuple[_Shape, dict[str, int]]] = {}
_SHAPES_KEPT = 256


def _form(text: str) -> tuple[str, list[str]]:
    """The text with each value word taken out (a NUL between what is left; the document
    has none), and those words."""
    parts = _VALUE.split(text)
    words = parts[2::3]
    del parts[2::3]
    return "\0".join(parts), words


def _learn(key: tuple[str, str], words: list[str], value: Any, lines: dict[str, int]) -> None:
    """Keep the shape of a document read, if its scalars are its value words, in order
    (not so when a comment holds `: word`, or the document is one word)."""
    leaves: list[Any] = []
    shape = _shape(value, leaves)
    try:
        scalars = list(map(_scalar, words))
    except _Unread:
        return
    if len(leaves) != len(scalars) or any(
            leaf.__class__ is not scalar.__class__ or leaf != scalar
            for leaf, scalar in zip(leaves, scalars, strict=True)):
        return
    if len(_shapes) >= _SHAPES_KEPT:
        _shapes.clear()
    _shapes[key] = (shape, dict(lines))


def _shape(value: Any, leaves: list[Any]) -> _Shape:
    if isinstance(value, dict):
        return ("mapping", [(key, _shape(item, leaves)) for key, item in value.items()])
    if isinstance(value, list):
        return ("sequence", [_shape(item, leaves) for item in value])
    leaves.append(value)
    return len(leaves) - 1


def _build(shape: _Shape, values: list[Any]) -> Any:
    """A value of `shape`, its scalars `values`."""
    if shape.__class__ is int:
        return values[shape]
    kind, items = shape
    if kind == "mapping":
        return {key: _build(item, values) for key, item in items}
    return [_build(item, values) for item in items]


def _read(text: str, root: str) -> tuple[Any, dict[str, int]] | None:
    """read's reading of a document line by line."""
    tokens: list[_Token] = []
    for number, line in enumerate(text.split("\n"), 1):
        match = _LINE.fullmatch(line)
        if match is None:
            if _SKIPPED.fullmatch(line):
                continue
            return None
        indent, dash, key, value, word = match.groups()
        column = len(indent)
        if dash:
            tokens.append((column, True, None, None, number))
            column += 2
        if key is not None:
            tokens.append((column, False, key, value, number))
        else:
            tokens.append((column, False, None, word, number))
    if not tokens:
        return None
    lines: dict[str, int] = {}
    reader = _Reader(tokens, lines)
    try:
        value = reader.node(0, -1, root)
    except _Unread:
        return None
    if reader.at != len(tokens):
        return None
    lines[""] = tokens[0][4]
    return value, lines


class _Reader:
    def __init__(self, tokens: list[_Token], lines: dict[str, int]):
        self.tokens = tokens
        self.lines = lines
        self.at = 0

    def node(self, at: int, above: int, path: str) -> Any:
        """The node starting at token `at`, which must lie right of column `above`."""
        if at >= len(self.tokens):
            raise _Unread
        column, item, key, value, number = self.tokens[at]
        if column <= above:
            raise _Unread
        self.lines.setdefault(path, number)
        if item:
            return self.sequence(column, path)
        if key is not None:
            return self.mapping(column, path)
        self.at = at + 1
        return _scalar(value)

    def sequence(self, column: int, path: str, indentless: bool = False) -> list[Any]:
        """The items at `column`; `indentless`: the value of a key at the same column,
        whose mapping goes on after them."""
        result: list[Any] = []
        tokens = self.tokens
        while self.at < len(tokens) and tokens[self.at][:2] == (column, True):
            dash = tokens[self.at]
            self.at += 1
            if self.at == len(tokens) or tokens[self.at][4] != dash[4]:
                raise _Unread  # `-` alone on its line
            result.append(self.node(self.at, column, join_path(path, len(result))))
        if indentless and self.at < len(tokens) and tokens[self.at][0] == column:
            return result  # the next key of the mapping
        self.end(column)
        return result

    def mapping(self, column: int, path: str) -> dict[str, Any]:
        result: dict[str, Any] = {}
        tokens = self.tokens
        while self.at < len(tokens):
            at_column, item, key, value, number = tokens[self.at]
            if at_column != column or item or key is None:
                break
            if _tag(key) != _STR or key in result:
                raise _Unread
            child = join_path(path, key)
            self.lines[child] = number
            self.at += 1
            if value is not None:
                result[key] = _scalar(value)
            elif self.at < len(tokens) and tokens[self.at][1] and tokens[self.at][0] == column:
                result[key] = self.sequence(column, child, indentless=True)
            else:
                result[key] = self.node(self.at, column, child)
        self.end(column)
        return result

    def end(self, column: int) -> None:
        """A block ends where a line is less indented than it."""
        if self.at < len(self.tokens) and self.tokens[self.at][0] >= column:
            raise _Unread


@functools.lru_cache(maxsize=1024)
def _tag(word: str) -> str:
    """The tag YAML 1.1 gives a plain word (remembered for the words met most recently:
    the keys and common values of 10^5 files, each resolved once)."""
    return _RESOLVER.resolve(yaml.ScalarNode, word, (True, False))


def _scalar(word: str) -> Any:
    """A plain word's value: itself, a string, when YAML 1.1 has no implicit tag for a word
    of its first character (as Resolver.resolve looks them up; most names), else _typed's."""
    resolvers = _RESOLVER.yaml_implicit_resolvers
    if word[0] not in resolvers and None not in resolvers:
        return word
    return _typed(word)


@functools.lru_cache(maxsize=1024)
def _typed(word: str) -> Any:
    """A plain word's value (remembered for the words met most recently: every value YAML
    gives a plain word is immutable, so one object serves every file that has the word)."""
    tag = _tag(word)
    if tag == _STR:
        return word
    construct = SafeConstructor.yaml_constructors.get(tag)
    if construct is None:
        raise _Unread
    try:  # (not construct_object: its cache of the nodes made would keep every one)
        return construct(_CONSTRUCTOR, yaml.ScalarNode(tag, word))
    except (ConstructorError, ValueError, TypeError):
        raise _Unread from None
