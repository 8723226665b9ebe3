"""Management changes as edits of the configuration file: the one source of truth.

Rule owned here: the YAML file the server was loaded from is the only record of what
the operator and the API decided. A change is applied to that file's text with a
round-trip YAML library (comments, order, quoting and flow style are kept), the edited
text is checked by the same `load()` as `acnsd check` (from a temporary file next to the
original, reading the state without writing it, so every rule R1-R11 speaks with the
same words), and only a valid text replaces the file, atomically (temporary file, fsync,
rename); then what the check decided is recorded in the store (one transaction), before
the answer. A refusal carries the problems found (Invalid) and writes nothing; what each
API client is told of them is redact.py's business. A file that changed on disk since it
was last read or written here is never overwritten: the change is refused until the
server has reloaded it. Changes are serialized by one lock, so none is lost.

Files a change brings (a new zone's empty zone file) replace whatever file had that name
(a deleted zone's data never passes to the next zone of that name) and are put back as
they were when the change is refused; files a change drops (a deleted zone's) are removed
once it is written.

What the editor writes reads back as what it was given: a string whose plain YAML form
the loader would read as something else (`yes`, `5:00`, `null`) is written quoted.

Speed (issue 6, a change served within a second at a thousand zones): the edited text is
made by rewriting only the lines of the entries the edit changed (apisplice.py), checked
to read back as exactly the edited document with the replaced lines' comments, else by
dumping the whole document; the round-trip document and the text's positions are kept
between changes; and what the check loaded is handed to the server (`checked()`), which
only compiles it, as long as the file on disk is still that text.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import hashlib
import io
import logging
import os
import tempfile
import threading
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml as pyyaml
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError
from ruamel.yaml.scalarstring import DoubleQuotedScalarString

from ..errors import ConfigError, Problem
from ..gcpause import gc_paused
from ..model.config import Loaded, load, record
from ..model.state import write_atomic
from ..model.types import Model
from .splice import compose, plain, splice

__all__ = ["ConfigEditor", "Invalid", "Rejected", "to_yaml"]

log = logging.getLogger("acnsd.api")

# (mapping, sequence, offset) indentations tried, in order, for an exact round trip.
INDENTS = ((2, 4, 2), (2, 2, 0), (4, 4, 2), (4, 6, 4), (4, 4, 0), (3, 5, 3))
# The suffix of a file set aside while a change that replaces it is checked.
ASIDE = ".api-old"
# How the loader (PyYAML, YAML 1.1) reads a plain scalar.
_RESOLVER = pyyaml.resolver.Resolver()
_STR = "tag:yaml.org,2002:str"


@dataclass
class Rejected(Exception):
    """A change refused: the HTTP status, Cloudflare-style errors [(code, message)] and
    any header the status calls for (Allow with 405)."""

    status: int
    errors: list[tuple[int, str]]
    headers: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return "; ".join(message for _, message in self.errors)


class Invalid(Exception):
    """A change the rules refuse: every problem found, told about the real files."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(map(str, problems)))


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


def _round_tripper(text: str, path: Path) -> tuple[YAML, Any, bool]:
    """A YAML instance whose indentation reproduces `text` exactly, when one does; the
    document it read, and whether the reproduction is exact."""
    try:
        document = _yaml(*INDENTS[0]).load(text)
    except YAMLError:
        document = None
    if document is not None:
        for mapping, sequence, offset in INDENTS:
            yaml = _yaml(mapping, sequence, offset)
            if _dump(yaml, document) == text:
                return yaml, document, True
    log.warning("event=api_layout file=%s reason='no indentation reproduces the file "
                "exactly: the first change through the API rewrites its layout (comments and "
                "order are kept)'", path)
    return _yaml(*INDENTS[0]), document, False


def _yaml(mapping: int, sequence: int, offset: int) -> YAML:
    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.width = 4096
    yaml.indent(mapping=mapping, sequence=sequence, offset=offset)
    return yaml


def _dump(yaml: YAML, document: Any) -> str:
    out = io.StringIO()
    yaml.dump(document, out)
    return out.getvalue()


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


Edit = Callable[[Any], None]  # mutates the round-trip document; raises Rejected to refuse


class ConfigEditor:
    """The configuration file, its last accepted text and the model loaded from it."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.lock = threading.Lock()
        for stale in self.path.parent.glob(f".{self.path.name}.api-*"):  # after a crash
            stale.unlink(missing_ok=True)
        data = self.path.read_bytes()
        self.model: Model = load(self.path, save_state=False).model
        for stale in self.model.server.zones_dir.glob(f".*{ASIDE}"):  # the same
            stale.unlink(missing_ok=True)
        # the last accepted change as checked, with the digest of the text it was
        # checked from (the server serves it without loading the file again)
        self._checked: tuple[str, Loaded] | None = None
        self._adopt(data.decode("utf-8"))

    def _adopt(self, text: str) -> None:
        """Take `text` as the file's content: its digest, layout and document."""
        self._text = text
        self._digest = _digest(text.encode("utf-8"))
        self._yaml, self._document, self._exact = _round_tripper(text, self.path)
        self._data: Any = None  # plain(self._document), kept between changes
        self._tree: Any = None  # compose(self._text): line positions, for splicing
        self._checked = None

    def checked(self) -> Loaded | None:
        """What the last accepted change loaded (model, plan), while the file on disk is
        still exactly the text it was checked from; None otherwise (load the file).

        Blocks while a change is in progress (call it off the event loop): then the
        answer is that change's, with its file and state file both written."""
        with self.lock:
            checked = self._checked
            if checked is None:
                return None
            try:
                on_disk = _digest(self.path.read_bytes())
            except OSError:
                return None
            return checked[1] if on_disk == checked[0] else None

    def refresh(self) -> bool:
        """Adopt the file as it is on disk now, if it loads (after an operator's reload)."""
        with self.lock:
            try:
                data = self.path.read_bytes()
                model = load(self.path, save_state=False).model
            except (OSError, ConfigError):
                return False
            self.model = model
            self._adopt(data.decode("utf-8"))
            return True

    def change(self, edit: Edit, *, new_files: dict[Path, str] | None = None,
               removed_files: Collection[Path] = (), forget: Collection[str] = ()) -> Model:
        """Apply `edit` to the file, check it, write it; the new model, or Invalid (the
        rules refuse it) or Rejected.

        `new_files` are written (atomically) before the check, whether a file of that name
        exists or not (a new zone's empty zone file); the files they replace are set aside
        and put back when the change is refused. `removed_files` are deleted once the
        change is written (a deleted zone's file). `forget` names deleted zones (load()).
        """
        with self.lock:
            try:
                on_disk = self.path.read_bytes()
            except OSError as exc:
                raise Rejected(500, [(1020, f"cannot read the configuration file "
                                      f"{self.path.name}: {exc.strerror}")]) from exc
            if _digest(on_disk) != self._digest:
                raise Rejected(409, [(1021, f"{self.path.name} changed on disk since the "
                                      "server loaded it; check it (acnsd check) and reload the "
                                      "server (SIGHUP) before changing it through the API")])
            with gc_paused():
                try:
                    return self._change(edit, new_files or {}, removed_files, forget)
                finally:
                    if self._document is None:  # refused: the edited document is stale
                        self._parse_later()

    def _parse_later(self) -> None:
        """Parse the file's text again in the background after a refused change (a second
        at a thousand zones), so that the next change need not wait for all of it."""
        def parse() -> None:
            with self.lock:
                if self._document is None:
                    try:
                        self._document = self._yaml.load(self._text)
                    except YAMLError:
                        pass  # the next change parses it again and reports the error

        threading.Thread(target=parse, name="acnsd-api-parse", daemon=True).start()

    def _change(self, edit: Edit, new_files: dict[Path, str], removed_files: Collection[Path],
                forget: Collection[str]) -> Model:
        """change() once the file is known to be unchanged: edit, check, write."""
        document, before, tree = self._document, self._data, self._tree
        self._document = None  # a refused edit leaves it half changed: parse again
        if document is None:
            document = self._yaml.load(self._text)
        if before is None:
            before = plain(document)
        edit(document)
        after = plain(document)
        text, tree = self._write(document, before, after, tree)
        try:
            with _replacing(new_files):
                checked = self._check(text, forget)
                write_atomic(self.path, text)  # from here on, the change is made
        except OSError as exc:
            if exc.errno != errno.ENAMETOOLONG:
                raise
            name = Path(exc.filename).name if exc.filename else "a file"
            raise Rejected(400, [(1030, f"cannot create {name}: the name is too long for "
                                  "the file system")]) from None
        # What the change decided (addresses, zone defaults, serials, content) is recorded
        # before the answer, so the 200 and the state survive a crash together (a crash
        # before this commit: the next load decides it again from the file written).
        loaded = record(checked)
        for file in removed_files:
            try:
                file.unlink(missing_ok=True)
            except OSError as exc:
                log.warning("event=api_remove_failed file=%s reason=%r", file, exc.strerror)
        self.model = loaded.model
        self._text, self._digest = text, _digest(text.encode("utf-8"))
        self._document, self._data, self._tree = document, after, tree
        self._exact = True  # the text is the dumper's own now, spliced or not
        self._checked = (self._digest, loaded)
        return loaded.model

    def _write(self, document: Any, before: Any, after: Any, tree: Any) -> tuple[str, Any]:
        """The text of the edited document and its positions (None: not composed yet).

        Only the edited entries' lines are rewritten when the file's layout is the
        dumper's own (apisplice); else, or when splicing does not give back exactly the
        document with its comments, the whole document is dumped."""
        if self._exact:
            if tree is None:
                tree = compose(self._text)
            if tree is not None:
                spliced = splice(self._yaml, self._text, tree, before, after, document)
                if spliced is not None:
                    return spliced
                log.info("event=api_splice result=whole_dump file=%s", self.path)
        return _dump(self._yaml, document), None

    def _check(self, text: str, forget: Collection[str]) -> Loaded:
        """Load `text` as if it were the configuration, with the state of this one, writing
        nothing; Invalid with every problem. Returns what was loaded, not recorded yet,
        told about the real files."""
        fd, name = tempfile.mkstemp(prefix=f".{self.path.name}.api-", suffix=".yaml",
                                    dir=self.path.parent)
        tmp = self.path.parent / Path(name).name  # relative when the config's path is
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
            loaded = load(tmp, save_state=False, forget=forget,
                          state_file=self.model.server.state_file)
        except ConfigError as exc:
            raise Invalid([_relocate(p, {str(tmp): str(self.path)})
                           for p in exc.problems]) from None
        finally:
            tmp.unlink(missing_ok=True)
        model = dataclasses.replace(loaded.model, config_file=self.path)
        warnings = [dataclasses.replace(w, file=str(self.path)) if w.file == str(tmp) else w
                    for w in loaded.warnings]
        return dataclasses.replace(loaded, model=model, warnings=warnings)


def _relocate(problem: Problem, moves: dict[str, str]) -> Problem:
    """A problem found in the temporary copies, told about the real files (`moves`)."""
    message = problem.message
    for temporary, real in moves.items():
        message = message.replace(temporary, real)
    return dataclasses.replace(problem, message=message,
                               file=moves.get(problem.file or "", problem.file))


@contextlib.contextmanager
def _replacing(files: dict[Path, str]) -> Iterator[None]:
    """Write `files`, setting aside the files they replace; when the block raises, every
    file is put back as it was (the block's change is refused)."""
    aside: list[tuple[Path, Path | None]] = []
    try:
        for path, text in files.items():
            backup: Path | None = path.with_name(f".{path.name}{ASIDE}")
            try:
                os.replace(path, backup)
            except FileNotFoundError:
                backup = None
            aside.append((path, backup))
            write_atomic(path, text)
        yield
    except BaseException:
        for path, backup in reversed(aside):
            if backup is None:
                path.unlink(missing_ok=True)
            else:
                os.replace(backup, path)
        raise
    for _, backup in aside:
        if backup is not None:
            backup.unlink(missing_ok=True)
