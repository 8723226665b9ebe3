"""One YAML file edited as the operator wrote it: comments, order, quoting and flow style
are kept.

Rule owned here: an edit is made to the file's round-trip document (ruamel.yaml), and the
new text is made by rewriting only the lines of the entries the edit changed
(api/splice.py), checked to read back as exactly the edited document with the replaced
lines' comments, else by dumping the whole document. When no indentation of the dumper
reproduces the file exactly, the first edit dumps it whole (comments and order kept, the
layout the dumper's) and says so in the log. What the dumper writes reads back as what it
was given: a string whose plain YAML form the loader would read as something else (`yes`,
`5:00`, `null`) is written quoted. A file in the plain block form acnsd writes is read by
libyaml into the same round-trip document (blockyaml.py), not by ruamel.yaml's loader.

The document and the text's positions are kept between edits; an edit that is not taken
(the change was refused) leaves the document to be parsed again, in the background: at
100,000 zones a single file takes seconds to parse.
"""

from __future__ import annotations

import io
import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml as pyyaml
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError
from ruamel.yaml.scalarstring import DoubleQuotedScalarString

from ..api.splice import compose, plain, splice
from .blockyaml import load_block

__all__ = ["LIST_INDENTS", "Document", "dump", "to_yaml", "yaml_dumper"]

log = logging.getLogger("acnsd.api")

# (mapping, sequence, offset) indentations tried, in order, for an exact round trip.
INDENTS = ((2, 4, 2), (2, 2, 0), (4, 4, 2), (4, 6, 4), (4, 4, 0), (3, 5, 3))
# The indentation acnsd writes a file whose root is a list in (a zone's file of the
# directory layout), tried first for such a file.
LIST_INDENTS = INDENTS[1]
# A file this large is parsed again in the background after an edit was not taken.
BACKGROUND_PARSE = 1 << 20
# How the loader (PyYAML, YAML 1.1) reads a plain scalar.
_RESOLVER = pyyaml.resolver.Resolver()
_STR = "tag:yaml.org,2002:str"
_DUMPERS = threading.local()  # each thread's YAML instances, by indentation


def to_yaml(value: Any) -> Any:
    """A JSON value as round-trip YAML nodes (mappings and lists in block style) that the
    loader reads back as the same value."""
    if isinstance(value, dict):
        return CommentedMap((_string(str(k)), to_yaml(v)) for k, v in value.items())
    if isinstance(value, list):
        return CommentedSeq(to_yaml(v) for v in value)
    if isinstance(value, str):
        return _string(value)
    return value


def _string(value: str) -> str:
    """`value`, quoted when the loader would read its plain form as something else than
    this string (YAML 1.1: `yes` a boolean, `5:00` the integer 300, `null` nothing)."""
    if _RESOLVER.resolve(pyyaml.ScalarNode, value, (True, False)) == _STR:
        return value
    return DoubleQuotedScalarString(value)


def yaml_dumper(mapping: int = INDENTS[0][0], sequence: int = INDENTS[0][1],
                offset: int = INDENTS[0][2], *, own: bool = False) -> YAML:
    """The round-trip reader and writer, with these indentations: this thread's (a YAML
    instance reads and writes one stream at a time, and making one globs ruamel's plug-in
    directory: about 6 % of an API change's CPU at 100,000 zones), or a new one
    (`own`). This thread's are used under the editor's lock only, which serializes every
    edit; a parse in the background (Document._parse_later) reads with one of its own."""
    if not own:
        key = (mapping, sequence, offset)
        kept = _DUMPERS.__dict__.get(key)
        if kept is None:
            kept = _DUMPERS.__dict__[key] = yaml_dumper(*key, own=True)
        return kept
    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.width = 4096
    yaml.indent(mapping=mapping, sequence=sequence, offset=offset)
    return yaml


def dump(yaml: YAML, document: Any) -> str:
    out = io.StringIO()
    yaml.dump(document, out)
    return out.getvalue()


def _round_tripper(text: str, path: Path,
                   first: tuple[int, int, int]) -> tuple[YAML, Any, bool, Any]:
    """A YAML instance whose indentation reproduces `text` exactly, when one does (`first`
    tried first, then INDENTS in order); the document it read, whether the reproduction
    is exact, and the text's node tree when it was composed on the way (else None).

    A text in the plain block form (blockyaml.py; the form acnsd writes) that `first`
    reproduces is read by libyaml, not by ruamel.yaml's loader."""
    block = load_block(text, yaml_dumper(*first))
    if block is not None and dump(yaml_dumper(*first), block[0]) == text:
        return yaml_dumper(*first), block[0], True, block[1]
    try:
        document = yaml_dumper().load(text)
    except YAMLError:
        document = None
    if document is not None:
        for indents in (first, *(i for i in INDENTS if i != first)):
            if dump(yaml_dumper(*indents), document) == text:
                return yaml_dumper(*indents), document, True, None
    log.warning("event=api_layout file=%s reason='no indentation reproduces the file "
                "exactly: the first change through the API rewrites its layout (comments and "
                "order are kept)'", path)
    return yaml_dumper(), document, False, None


class Document:
    """A YAML file's text and its round-trip document. `edit` makes the text of an edit;
    then `taken` (it was written) or `dropped` (it was not) says what became of it. One
    edit at a time (the caller serializes them)."""

    def __init__(self, path: Path, text: str, indents: tuple[int, int, int] = INDENTS[0]):
        """`indents`: the indentation tried first for an exact round trip (the one acnsd
        writes such a file in: one dump finds it)."""
        self.path = path
        self.lock = threading.Lock()  # the document, against the background parse
        self.text = text
        self._yaml, self._document, self._exact, tree = _round_tripper(text, path, indents)
        self._data: Any = None  # plain(self._document), kept between edits
        self._tree: Any = tree  # compose(self.text): line positions, for splicing
        self._pending: tuple[str, Any, Any, Any] | None = None

    def data(self) -> Any:
        """The file's value (plain dicts and lists, shared: not to be changed)."""
        with self.lock:
            if self._data is None:
                self._data = plain(self._load())
            return self._data

    def edit(self, change: Callable[[Any], None]) -> str:
        """The text of the file with `change` made to its document (it raises to refuse:
        the document is then parsed again)."""
        with self.lock:
            document, before, tree = self._load(), self._data, self._tree
            self._document = None  # a refused edit leaves it half changed: parse again
            try:
                if before is None:
                    before = plain(document)
                change(document)
                after = plain(document)
                text, tree = self._write(document, before, after, tree)
            except BaseException:
                self._parse_later()
                raise
            self._pending = (text, document, after, tree)
            return text

    def taken(self) -> None:
        """The last edit was written: its text is the file's now."""
        with self.lock:
            assert self._pending is not None
            self.text, self._document, self._data, self._tree = self._pending
            self._pending = None
            self._exact = True  # the text is the dumper's own now, spliced or not

    def dropped(self) -> None:
        """The last edit was not written: its document is parsed again."""
        with self.lock:
            self._pending = None
        self._parse_later()

    def _parse_later(self) -> None:
        """Parse the text again before the next edit; a large one in the background (so
        that the next edit need not wait for all of it)."""
        if len(self.text) < BACKGROUND_PARSE:
            return  # the next edit parses it

        def parse() -> None:
            with self.lock:
                if self._document is None:
                    try:
                        self._document = yaml_dumper(own=True).load(self.text)
                    except YAMLError:
                        pass  # the next edit parses it again and reports the error

        threading.Thread(target=parse, name="acnsd-yaml-parse", daemon=True).start()

    def _load(self) -> Any:
        if self._document is None:
            self._document = self._yaml.load(self.text)
        return self._document

    def _write(self, document: Any, before: Any, after: Any, tree: Any) -> tuple[str, Any]:
        """The text of the edited document and its positions (None: not composed yet).

        Only the edited entries' lines are rewritten when the file's layout is the
        dumper's own (splice.py); else, or when splicing does not give back exactly the
        document with its comments, the whole document is dumped."""
        if self._exact:
            if tree is None:
                tree = compose(self.text)
            if tree is not None:
                spliced = splice(self._yaml, self.text, tree, before, after, document)
                if spliced is not None:
                    return spliced
                log.info("event=api_splice result=whole_dump file=%s", self.path)
        return dump(self._yaml, document), None
