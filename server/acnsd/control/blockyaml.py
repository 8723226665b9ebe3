"""The round-trip document of a plain block YAML file, made from libyaml's node tree.

Rule owned here: a file in the plain block form acnsd writes (block mappings and
sequences, string keys, no comments, anchors, tags, directives or block scalars) is
read by libyaml's composer and its nodes made into the values ruamel.yaml's round-trip
loader gives for them (CommentedMap and CommentedSeq in block style; plain strings;
quoted strings as their quoted scalar strings; YAML 1.2 booleans; decimal integers),
about thirty times faster than that loader. Any other file, or any scalar the
round-trip loader would make into something else (floats, nulls, timestamps, octal or
hexadecimal integers), answers None: the caller reads it with ruamel.yaml.
"""

from __future__ import annotations

import re
from typing import Any

import yaml
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.nodes import ScalarNode
from ruamel.yaml.scalarint import ScalarInt
from ruamel.yaml.scalarstring import DoubleQuotedScalarString, SingleQuotedScalarString

__all__ = ["load_block"]

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
# What only a comment, anchor, alias, tag, directive or document marker starts with: a
# text holding any of these is left to the round-trip loader.
_OUTSIDE = re.compile(r"[#&*!%]|^(?:---|\.\.\.)", re.MULTILINE)
_DECIMAL = re.compile(r"-?[1-9][0-9]*\Z")
_QUOTED = {"'": SingleQuotedScalarString, '"': DoubleQuotedScalarString}
_STR, _INT, _BOOL = ("tag:yaml.org,2002:" + t for t in ("str", "int", "bool"))


class _Outside(Exception):
    """The text is not in the plain block form."""


def load_block(text: str, reader: YAML) -> tuple[Any, yaml.Node] | None:
    """The round-trip document `reader` (preserve_quotes) would load from `text`, and the
    text's node tree; None when `text` is not in the plain block form (see above)."""
    if _OUTSIDE.search(text) or any(c in text for c in "\r\x85\u2028\u2029"):
        return None
    try:
        tree = yaml.compose(text, Loader=_Loader)
    except yaml.YAMLError:
        return None
    if tree is None:
        return None
    try:
        return _value(tree, reader.resolver), tree
    except _Outside:
        return None


def _value(node: yaml.Node, resolver: Any) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return _scalar(node, resolver)
    if node.flow_style:
        raise _Outside
    if isinstance(node, yaml.SequenceNode):
        seq = CommentedSeq(_value(item, resolver) for item in node.value)
        seq.fa.set_block_style()
        return seq
    mapping = CommentedMap()
    for key_node, value_node in node.value:
        key = _value(key_node, resolver)
        if not isinstance(key, str) or key in mapping:  # (a duplicate key: ruamel's error)
            raise _Outside
        mapping[key] = _value(value_node, resolver)
    mapping.fa.set_block_style()
    return mapping


def _scalar(node: yaml.ScalarNode, resolver: Any) -> Any:
    value = node.value
    if node.style in _QUOTED:
        return _QUOTED[node.style](value)
    if node.style:  # a block scalar (| or >; plain: "" or None)
        raise _Outside
    tag = str(resolver.resolve(ScalarNode, value, (True, False)))  # (YAML 1.2, as ruamel)
    if tag == _STR:
        return value
    if tag == _INT and _DECIMAL.match(value):
        return int(value)
    if tag == _INT and value == "0":
        return ScalarInt(0, width=1)  # (ruamel keeps a leading zero's width)
    if tag == _BOOL:
        return value.lower() == "true"
    raise _Outside
