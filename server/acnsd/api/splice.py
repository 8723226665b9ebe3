"""Writing an edit of the configuration into its text: only the edited lines change.

Rule owned here: an edit of the round-trip document is written by replacing only the
lines of the entries it changed (a mapping's key and value, a sequence's item) with
those entries as the round-trip dumper writes them at that depth, instead of dumping the
whole document (which at a thousand zones takes most of a second). The result is taken
only when it parses to exactly the edited document and the replaced lines' comments and
blank lines come back unchanged; otherwise `splice` answers None and the caller dumps
the whole document, as before.

Positions come from PyYAML's C composer (line of each key and item); the replaced range
of an entry runs from its first line to the next entry of its collection (or, for the
last entry, to the end of the collection's own range), which holds the comments the
round-trip library attaches to that entry.
"""

from __future__ import annotations

import io
import logging
import re
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

import yaml
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from yaml.constructor import SafeConstructor

__all__ = ["compose", "plain", "splice"]

log = logging.getLogger("acnsd.api")

SENTINEL = "__acnsd_splice_sentinel__"
_STR = "tag:yaml.org,2002:str"
_DASH = re.compile(r" *- +")
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class _Op:
    start: int  # first line replaced (0-based)
    end: int  # the line after the last one replaced
    path: tuple[Any, ...]  # keys and indices from the root to the edited collection
    entries: tuple[Any, ...]  # its keys or indices written there (none: deleted)


def compose(text: str) -> yaml.Node | None:
    """The positioned node tree of `text` (None when PyYAML cannot read it)."""
    if any(c in text for c in "\r\x85\u2028\u2029"):  # line breaks other than \n
        return None
    try:
        return yaml.compose(text, Loader=_Loader)
    except yaml.YAMLError:
        return None


def plain(value: Any) -> Any:
    """A round-trip document as plain dicts and lists (a snapshot to compare against)."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def splice(dumper: YAML, text: str, node: yaml.Node, before: Any, after: Any,
           document: Any) -> tuple[str, yaml.Node] | None:
    """`text` (whose tree is `node` and data `before`) rewritten to read `document`
    (whose data is `after`, see plain()), by replacing only the changed entries' lines;
    with the new text's tree. None when that is not possible or does not give exactly
    `after` with every comment of the replaced lines kept."""
    try:
        return _splice(dumper, text, node, before, after, document)
    except Exception:  # splicing is an optimisation: the whole dump is always right
        log.exception("event=api_splice result=failed")
        return None


def _splice(dumper: YAML, text: str, node: yaml.Node, before: Any, after: Any,
            document: Any) -> tuple[str, yaml.Node] | None:
    lines = text.split("\n")
    end = len(lines) - 1 if text.endswith("\n") else len(lines)
    ops: list[_Op] = []
    if not _collection(before, after, document, node, (), end, lines, ops):
        return None
    if not ops:
        return text, node
    for op in sorted(ops, key=lambda o: o.start, reverse=True):
        fragment: list[str] = []
        if op.entries:
            fragment = _fragment(dumper, document, op)
            if fragment is None or _notes(lines[op.start:op.end]) != _notes(fragment):
                return None
        lines[op.start:op.end] = fragment
    spliced = "\n".join(lines)
    tree = compose(spliced)
    if tree is None:
        return None
    try:
        same = _data(tree, SafeConstructor()) == after
    except yaml.YAMLError:  # a node the fast path does not construct (merge keys, tags)
        return None
    return (spliced, tree) if same else None


def _collection(before: Any, after: Any, live: Any, node: yaml.Node, path: tuple[Any, ...],
                end: int, lines: list[str], ops: list[_Op]) -> bool:
    """Add to `ops` the rewrites of the block collection `node` (at `path`, its lines
    ending before line `end`) that make it read `after` (the data of the round-trip
    collection `live`) instead of `before`; False when only rewriting the whole
    collection can."""
    if isinstance(before, dict) and isinstance(after, dict) and isinstance(node, yaml.MappingNode):
        keys, new_keys = list(before), list(after)
        marks = [k.start_mark for k, _ in node.value]
        values = [v for _, v in node.value]
        sequence = False
    elif (isinstance(before, list) and isinstance(after, list)
          and isinstance(node, yaml.SequenceNode)):
        keys, new_keys = list(range(len(before))), list(range(len(after)))
        marks = [v.start_mark for v in node.value]
        values = list(node.value)
        sequence = True
    else:
        return False
    fa = getattr(live, "fa", None)
    if (not before or not after or node.flow_style or len(marks) != len(keys)
            or (fa is not None and fa.flow_style())):
        return False  # empty or flow collections are written on their parent's lines
    bounds = [m.line for m in marks] + [end]
    if any(a >= b for a, b in pairwise(bounds)):
        return False
    found: list[_Op] = []

    def rewrite(i: int, entries: list[Any], last: int | None = None) -> bool:
        """Write `entries` of `after` over the lines of entries i..last of `before`."""
        prefix = lines[marks[i].line][:marks[i].column]
        if not (_DASH.fullmatch(prefix) if sequence else prefix.strip() == ""):
            return False  # the entry shares its first line with its parent's
        found.append(_Op(bounds[i], bounds[(i if last is None else last) + 1], path,
                         tuple(entries)))
        return True

    def remove(i: int) -> bool:
        if i < n - 1:
            return rewrite(i, [])
        # the last entry's lines also hold the comments that end the collection: write
        # the entry before it again, and with it those comments
        previous = new_keys[-1]
        return old_index(previous) == i - 1 and rewrite(i - 1, [previous], i)

    def old_index(key: Any) -> int | None:
        return key if sequence else (keys.index(key) if key in before else None)

    def changed(i: int) -> bool:
        key = keys[i]
        old, new = before[key], after[key]
        if old == new:
            return True
        inner: list[_Op] = []
        if isinstance(new, dict | list) and _collection(old, new, live[key], values[i],
                                                        path + (key,), bounds[i + 1], lines,
                                                        inner):
            found.extend(inner)
            return True
        return rewrite(i, [key])

    n = len(keys)
    if len(new_keys) == n and (sequence or keys == new_keys):  # entries changed in place
        ok = all(changed(i) for i in range(n))
    elif len(new_keys) > n and (after[:n - 1] == before[:n - 1] if sequence
                                else new_keys[:n] == keys):
        # appended at the end: the last entry is written again, the new ones after it
        ok = all(changed(i) for i in range(n - 1)) and rewrite(n - 1, new_keys[n - 1:])
    elif sequence and len(new_keys) == n - 1:  # one item removed
        j = next((i for i in range(n - 1) if before[i] != after[i]), n - 1)
        ok = after[j:] == before[j + 1:] and remove(j)
    elif not sequence and [k for k in keys if k in after] == new_keys:  # keys removed
        ok = (sum(k not in after for k in keys) == 1
              and all(changed(i) if keys[i] in after else remove(i) for i in range(n)))
    else:
        ok = False
    if ok:
        ops.extend(found)
    return ok


def _fragment(dumper: YAML, document: Any, op: _Op) -> list[str] | None:
    """The lines the dumper writes for `op.entries` of the collection at `op.path`, at
    their depth: the path is dumped with nothing else in it, after a sentinel entry."""
    chain: list[tuple[Any, Any]] = []
    container = document
    for key in op.path:
        chain.append((container, key))
        container = container[key]
    last = op.entries[-1] == (list(container)[-1] if isinstance(container, dict)
                              else len(container) - 1)
    if isinstance(container, dict):
        skeleton: Any = CommentedMap()
        skeleton[SENTINEL] = 0
        for key in op.entries:
            skeleton[key] = container[key]
            if key in container.ca.items:
                skeleton.ca.items[key] = container.ca.items[key]
    else:
        skeleton = CommentedSeq([SENTINEL])
        for at, key in enumerate(op.entries, 1):
            skeleton.append(container[key])
            if key in container.ca.items:
                skeleton.ca.items[at] = container.ca.items[key]
    if last:  # the comments after a collection's last entry are its own
        _end(container, skeleton)
    for parent, key in reversed(chain):
        if isinstance(parent, dict):
            wrapper: Any = CommentedMap()
            wrapper[key] = skeleton
            last = last and key == list(parent)[-1]
        else:
            wrapper = CommentedSeq([skeleton])
            last = last and key == len(parent) - 1
        if last:
            _end(parent, wrapper)
        skeleton = wrapper
    out = io.StringIO()
    dumper.dump(skeleton, out)
    dumped = out.getvalue().split("\n")
    if dumped and dumped[-1] == "":
        dumped.pop()
    at = [i for i, line in enumerate(dumped) if SENTINEL in line]
    if len(at) != 1 or at[0] + 1 >= len(dumped):
        return None
    return dumped[at[0] + 1:]


def _end(source: Any, target: Any) -> None:
    end = getattr(source.ca, "end", None)
    if end:
        if target.ca.comment is None:  # the representer appends the end to this list
            target.ca.comment = [None, None]
        target.ca.end = end


def _notes(lines: list[str]) -> list[str]:
    """The comment and blank lines of `lines`, which a rewrite must give back."""
    return [s for s in (line.strip() for line in lines) if not s or s.startswith("#")]


def _data(node: yaml.Node, constructor: SafeConstructor) -> Any:
    """The data of a composed tree (strings directly, other scalars by PyYAML)."""
    if isinstance(node, yaml.MappingNode):
        return {_data(k, constructor): _data(v, constructor) for k, v in node.value}
    if isinstance(node, yaml.SequenceNode):
        return [_data(v, constructor) for v in node.value]
    if node.tag == _STR:
        return node.value
    return constructor.construct_object(node, deep=True)
