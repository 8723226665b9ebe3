"""YAML documents with their source positions.

Rule owned here: every value read from a configuration file can be traced back to its
line, so that an error names the file, the line and the YAML path. Duplicate keys are an
error (PyYAML silently keeps the last one), and so are non-scalar keys.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.constructor import SafeConstructor

from .errors import ConfigError, Problem

# libyaml's composer when PyYAML has it (several times faster on large configs).
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

__all__ = ["Source", "join_path", "parse"]

MERGE_TAG = "tag:yaml.org,2002:merge"


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


def join_path(path: str, key: str | int) -> str:
    """`accounts` + 0 → `accounts[0]`; `accounts[0]` + `name` → `accounts[0].name`."""
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def parse(text: str, file: str) -> Source:
    """Parse one YAML document; raise ConfigError for syntax errors and duplicate keys."""
    try:
        node = yaml.compose(text, Loader=_LOADER)
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
    source = Source(file, None)
    problems: list[Problem] = []
    constructor = SafeConstructor()
    if node is not None:
        source.value = _convert(node, "", source, problems, constructor)
        source.lines[""] = node.start_mark.line + 1
    if problems:
        raise ConfigError(problems)
    return source


def _convert(node: yaml.Node, path: str, source: Source, problems: list[Problem],
             constructor: SafeConstructor, parents: frozenset[int] = frozenset()) -> Any:
    source.lines.setdefault(path, node.start_mark.line + 1)
    if id(node) in parents:  # an alias of an enclosing node: the value would be infinite
        problems.append(Problem("a YAML alias refers to a node that contains it",
                                file=source.file, line=node.start_mark.line + 1,
                                path=path or None))
        return None
    parents = parents | {id(node)}
    if isinstance(node, yaml.MappingNode):
        result: dict[str, Any] = {}
        merged: dict[str, Any] = {}
        for key_node, value_node in node.value:  # first, so that own keys keep their lines
            if key_node.tag == MERGE_TAG:  # `<<: *defaults`: the keys of other mappings
                merged.update(_merge(value_node, path, source, problems, constructor, parents))
        for key_node, value_node in node.value:
            if key_node.tag == MERGE_TAG:
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                problems.append(Problem("a mapping key must be a plain value", file=source.file,
                                        line=key_node.start_mark.line + 1, path=path or None))
                continue
            key = str(_scalar(key_node, path, source, problems, constructor))
            child = join_path(path, key)
            if key in result:
                problems.append(Problem(f"duplicate key {key!r}", file=source.file,
                                        line=key_node.start_mark.line + 1, path=child))
                continue
            source.lines[child] = key_node.start_mark.line + 1
            result[key] = _convert(value_node, child, source, problems, constructor, parents)
        return {**merged, **result}  # the mapping's own keys win over merged ones
    if isinstance(node, yaml.SequenceNode):
        return [
            _convert(item, join_path(path, i), source, problems, constructor, parents)
            for i, item in enumerate(node.value)
        ]
    return _scalar(node, path, source, problems, constructor)


def _merge(node: yaml.Node, path: str, source: Source, problems: list[Problem],
           constructor: SafeConstructor, parents: frozenset[int]) -> dict[str, Any]:
    """The keys a YAML merge (`<<`) brings: of one mapping, or of a list of mappings where
    the earlier ones win. Their lines are those of the mapping they come from."""
    sources = node.value if isinstance(node, yaml.SequenceNode) else [node]
    merged: dict[str, Any] = {}
    for item in reversed(sources):
        value = _convert(item, path, source, problems, constructor, parents)
        if isinstance(value, dict):
            merged.update(value)
        else:
            problems.append(Problem("a YAML merge (<<) takes a mapping or a list of mappings",
                                    file=source.file, line=item.start_mark.line + 1,
                                    path=path or None))
    return merged


def _scalar(node: yaml.Node, path: str, source: Source, problems: list[Problem],
            constructor: SafeConstructor) -> Any:
    """A scalar's value; an unknown tag or a tag its text does not fit is a problem."""
    try:
        return constructor.construct_object(node, deep=True)
    except (yaml.YAMLError, ValueError, TypeError) as exc:
        what = exc.problem if isinstance(exc, yaml.MarkedYAMLError) and exc.problem else exc
        problems.append(Problem(f"YAML value {node.value!r} with tag {node.tag}: {what}",
                                file=source.file, line=node.start_mark.line + 1,
                                path=path or None))
        return None
