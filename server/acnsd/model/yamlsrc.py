"""YAML documents with their source positions.

Rule owned here: every value read from a configuration file can be traced back to its
line, so that an error names the file, the line and the YAML path. Duplicate keys are an
error (PyYAML silently keeps the last one), and so are non-scalar keys. Aliases may add at
most MAX_ALIAS_NODES nodes to a document: each alias is a copy of the node it names (its
values under the alias's own path), so ten lines of aliases of aliases ("billion laughs")
would otherwise stand for 10⁹ nodes. The document is refused at the alias that would pass
the limit, before anything of it is copied.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.composer import ComposerError
from yaml.constructor import SafeConstructor
from yaml.resolver import Resolver

from ..errors import ConfigError, Problem
from . import yamlblock
from .yamlblock import join_path

# libyaml's parser when PyYAML has it (several times faster on large configs).
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

__all__ = ["MAX_ALIAS_NODES", "Source", "join_path", "parse"]

# Nodes (scalars, mappings, sequences; keys count) that aliases may add to one document, all
# aliases together: enough for each zone of a 10,000-zone configuration to alias a shared
# `dns_settings` mapping (7 nodes) three times over; ~25 MB and a quarter of a second to build.
MAX_ALIAS_NODES = 250_000

MERGE_TAG = "tag:yaml.org,2002:merge"
_STR = "tag:yaml.org,2002:str"


@dataclass
class Source:
    """A parsed YAML file: the plain value and a map from YAML path to 1-based line."""

    file: str
    value: Any
    lines: dict[str, int] = field(default_factory=dict)

    def line(self, path: str) -> int | None:
        """The line of `path`, or of its nearest ancestor that has one."""
        while path:
            if path in self.lines:
                return self.lines[path]
            cut = max(path.rfind("."), path.rfind("["))
            path = path[:cut] if cut > 0 else ""
        return self.lines.get("")

    def problem(self, path: str, message: str, rule: str | None = None) -> Problem:
        return Problem(message, file=self.file, line=self.line(path), path=path or None, rule=rule)


def parse(text: str, file: str, root: str = "") -> Source:
    """Parse one YAML document; raise ConfigError for syntax errors and duplicate keys.
    `root` names the document in the YAML paths of its values (a file of the directory
    layout holding a list of zones: `zones`, so that its first entry is `zones[0]`).

    Values are built straight from libyaml's event stream, not from a composed node
    tree: a tree of a large configuration costs seconds to compose, and freeing it in
    one cascade would hold the GIL (and stop a serving process answering) for as long.
    A document in the plainest subset of block YAML (the directory layout's per-zone files)
    is read by yamlblock's reader instead, to the same values and lines, several times
    faster.
    """
    plain = yamlblock.read(text, root)
    if plain is not None:
        return Source(file, *plain)
    source = Source(file, None)
    problems: list[Problem] = []
    try:
        events = yaml.parse(text, Loader=_LOADER)
        _expect(events, yaml.StreamStartEvent)
        first = next(events)
        if not isinstance(first, yaml.StreamEndEvent):  # an empty stream is no document
            source.value = _Reader(events, source, problems,
                                   budget=_AliasBudget(file)).document(first, root)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        context = ""
        if exc.context and exc.context_mark and exc.context_mark.line + 1 != line:
            context = f" ({exc.context} at line {exc.context_mark.line + 1})"
        raise ConfigError(
            [Problem(f"YAML syntax error: {exc.problem or exc}{context}", file=file, line=line)]
        ) from None
    except yaml.YAMLError as exc:
        raise ConfigError([Problem(f"YAML error: {exc}", file=file)]) from None
    if problems:
        raise ConfigError(problems)
    return source


def _expect(events: Iterator[yaml.Event], kind: type) -> yaml.Event:
    event = next(events)
    if not isinstance(event, kind):  # libyaml's parser guarantees the stream's shape
        raise yaml.YAMLError(f"unexpected {event}")
    return event


_ENDS = (yaml.MappingEndEvent, yaml.SequenceEndEvent)


class _AliasBudget:
    """The nodes aliases may still add to one document (MAX_ALIAS_NODES in all)."""

    def __init__(self, file: str):
        self.file = file
        self.left = MAX_ALIAS_NODES

    def spend(self, nodes: int, alias: yaml.AliasEvent, path: str) -> None:
        """Take the nodes an alias copies; ConfigError when that passes the limit."""
        self.left -= nodes
        if self.left < 0:
            raise ConfigError([Problem(
                f"YAML aliases would add more than {MAX_ALIAS_NODES:,} nodes to the document "
                f"(the limit): the alias *{alias.anchor} copies {nodes:,} nodes, the aliases "
                "inside the node it names expanded; write the repeated values out",
                file=self.file, line=alias.start_mark.line + 1, path=path or None)])


class _Reader:
    """Values and lines from one pass over events (or a replay of an anchored node's).

    As PyYAML's composer does: an anchor names the node that follows, an alias repeats
    it (converted again, under the alias's path), a second anchor of the same name is an
    error, and an alias inside the node it names is reported (its value would be
    infinite). Plain scalars get their implicit tags from PyYAML's resolver and their
    values from its SafeConstructor.
    """

    def __init__(self, events: Iterator[yaml.Event], source: Source, problems: list[Problem],
                 anchors: dict[str, list[yaml.Event]] | None = None,
                 active: frozenset[str] = frozenset(), sizes: dict[str, int] | None = None,
                 budget: _AliasBudget | None = None):
        self.events = events
        self.source = source
        self.problems = problems
        self.anchors: dict[str, list[yaml.Event]] = {} if anchors is None else anchors
        # the nodes each anchored node stands for, its aliases expanded
        self.sizes: dict[str, int] = {} if sizes is None else sizes
        # what aliases may still add (None in a replay: its alias paid for all of it)
        self.budget = budget
        self.first_marks: dict[str, yaml.Mark] = {}
        self.active = set(active)  # anchors whose node encloses the current event
        self.recording: list[list[yaml.Event]] = []  # events of anchored nodes in progress
        self.constructor = SafeConstructor()
        self.resolver = Resolver()
        self.tags: dict[str, str] = {}  # implicit tags of plain scalars, by their text

    def next(self) -> yaml.Event:
        event = next(self.events)
        for recorded in self.recording:
            recorded.append(event)
        return event

    def document(self, start: yaml.Event, path: str) -> Any:
        root = self.next()
        value = self.node(root, path)
        self.source.lines[""] = root.start_mark.line + 1
        _expect(self.events, yaml.DocumentEndEvent)
        after = next(self.events)
        if not isinstance(after, yaml.StreamEndEvent):
            raise ComposerError("expected a single document in the stream", start.start_mark,
                                "but found another document", after.start_mark)
        return value

    def node(self, event: yaml.Event, path: str, lines: dict[str, int] | None = None) -> Any:
        """The value of the node that starts with `event`; its lines go to `lines`."""
        if lines is None:
            lines = self.source.lines
        line = event.start_mark.line + 1
        lines.setdefault(path, line)
        if isinstance(event, yaml.AliasEvent):
            return self.alias(event, path, lines)
        anchor = event.anchor
        if anchor is None:
            return self.content(event, path, lines)
        if anchor in self.first_marks:
            raise ComposerError("found duplicate anchor; first occurrence",
                                self.first_marks[anchor], "second occurrence", event.start_mark)
        self.first_marks[anchor] = event.start_mark
        recorded = [event]
        self.recording.append(recorded)
        self.active.add(anchor)
        try:
            value = self.content(event, path, lines)
        finally:
            self.active.discard(anchor)
            self.recording.pop()
        self.anchors[anchor] = recorded
        self.sizes[anchor] = sum(self.sizes.get(e.anchor, 1) if e.__class__ is yaml.AliasEvent
                                 else 1 for e in recorded if not isinstance(e, _ENDS))
        return value

    def alias(self, event: yaml.AliasEvent, path: str, lines: dict[str, int]) -> Any:
        name = event.anchor
        if name in self.active:  # an alias of an enclosing node: the value would be infinite
            self.problems.append(Problem("a YAML alias refers to a node that contains it",
                                         file=self.source.file, line=event.start_mark.line + 1,
                                         path=path or None))
            return None
        recorded = self.anchors.get(name)
        if recorded is None:
            raise ComposerError(None, None, f"found undefined alias {name!r}", event.start_mark)
        if self.budget is not None:
            self.budget.spend(self.sizes[name], event, path)
        replay = _Reader(iter(recorded), self.source, self.problems, self.anchors,
                         frozenset(self.active | {name}), self.sizes)
        replay.first_marks = {}  # the anchors inside were checked when first read
        return replay.content(replay.next(), path, lines)

    def content(self, event: yaml.Event, path: str, lines: dict[str, int]) -> Any:
        if event.__class__ is yaml.ScalarEvent:  # the most common, looked for first
            return self.scalar(event, path)
        if isinstance(event, yaml.MappingStartEvent):
            return self.mapping(path, lines)
        if isinstance(event, yaml.SequenceStartEvent):
            result = []
            item = self.next()
            while not isinstance(item, yaml.SequenceEndEvent):
                result.append(self.node(item, join_path(path, len(result)), lines))
                item = self.next()
            return result
        return self.scalar(event, path)

    def mapping(self, path: str, lines: dict[str, int]) -> dict[str, Any]:
        result: dict[str, Any] = {}
        merged: list[dict[str, Any]] = []
        merged_lines: dict[str, int] = {}
        key_event = self.next()
        while not isinstance(key_event, yaml.MappingEndEvent):
            key_line = key_event.start_mark.line + 1
            if isinstance(key_event, yaml.ScalarEvent) and self.tag(key_event) == MERGE_TAG:
                # `<<: *defaults`: the keys of other mappings; the mapping's own keys keep
                # their own lines, whatever their order
                merged.append(self.merge(self.next(), path, merged_lines))
            elif not isinstance(self.start(key_event), yaml.ScalarEvent):
                self.node(key_event, path, {})  # read past the key and its value
                self.node(self.next(), path, {})
                self.problems.append(Problem("a mapping key must be a plain value",
                                             file=self.source.file, line=key_line,
                                             path=path or None))
            else:  # a plain key is a scalar's value (node would record its line: unused)
                key = str(self.node(key_event, path, {}) if key_event.anchor is not None
                          else self.scalar(key_event, path))
                child = join_path(path, key)
                if key in result:
                    self.problems.append(Problem(f"duplicate key {key!r}", file=self.source.file,
                                                 line=key_line, path=child))
                    self.node(self.next(), child, {})
                else:
                    lines[child] = key_line
                    value = self.next()
                    # a plain scalar's value (node would record the line `child` already has)
                    result[key] = (self.scalar(value, child) if value.__class__ is yaml.ScalarEvent
                                   and value.anchor is None else self.node(value, child, lines))
            key_event = self.next()
        for merged_path, merged_line in merged_lines.items():
            lines.setdefault(merged_path, merged_line)
        combined: dict[str, Any] = {}
        for keys in reversed(merged):  # of several `<<` keys, the earlier ones win
            combined.update(keys)
        return {**combined, **result}  # the mapping's own keys win over merged ones

    def merge(self, event: yaml.Event, path: str, lines: dict[str, int]) -> dict[str, Any]:
        """The keys a YAML merge (`<<`) brings: of one mapping, or of a list of mappings
        where the earlier ones win. Their lines are those of the mapping they come from."""
        value = self.node(event, path, lines)
        merged: dict[str, Any] = {}
        for item in reversed(value if isinstance(value, list) else [value]):
            if isinstance(item, dict):
                merged.update(item)
            else:
                self.problems.append(Problem(
                    "a YAML merge (<<) takes a mapping or a list of mappings",
                    file=self.source.file, line=event.start_mark.line + 1, path=path or None))
        return merged

    def start(self, event: yaml.Event) -> yaml.Event:
        """The event that starts the node `event` stands for (an alias: the named node's)."""
        if isinstance(event, yaml.AliasEvent):
            recorded = self.anchors.get(event.anchor)
            if recorded:
                return recorded[0]
        return event

    def tag(self, event: yaml.ScalarEvent) -> str:
        tag = event.tag
        if tag is None or tag == "!":
            implicit = event.implicit
            if not implicit[0]:  # quoted: a string, or what a non-specific `!` makes it
                return _STR
            tag = self.tags.get(event.value)
            if tag is None:
                tag = self.tags[event.value] = self.resolver.resolve(
                    yaml.ScalarNode, event.value, implicit)
        return tag

    def scalar(self, event: yaml.ScalarEvent, path: str) -> Any:
        """A scalar's value; an unknown tag or a tag its text does not fit is a problem."""
        tag = self.tag(event)
        if tag == _STR:
            return event.value
        node = yaml.ScalarNode(tag, event.value, event.start_mark, event.end_mark, event.style)
        try:
            return self.constructor.construct_object(node, deep=True)
        except (yaml.YAMLError, ValueError, TypeError) as exc:
            what = exc.problem if isinstance(exc, yaml.MarkedYAMLError) and exc.problem else exc
            self.problems.append(Problem(f"YAML value {event.value!r} with tag {tag}: {what}",
                                         file=self.source.file, line=event.start_mark.line + 1,
                                         path=path or None))
            return None
