"""Management changes as edits of the configuration's files: the one source of truth.

Rule owned here: the YAML files the server was loaded from are the only record of what
the operator and the API decided. A change is made to the file that holds what it
changes (control/sources.py: acnsd.yaml in the single file layout; one account's or one
zone's file in the directory layout) with a round-trip YAML library (comments, order,
quoting and flow style are kept); the edited configuration is checked by the same
`load()` as `acnsd check` (a temporary copy of acnsd.yaml next to the original, the
edited file read from memory, reading the state without writing it, so every rule R1-R11
speaks with the same words), and only a valid edit is written, atomically (temporary
file, fsync, rename); then what the check decided is recorded in the store (one
transaction), before the answer. A refusal carries the problems found (Invalid) and
writes nothing; what each API client is told of them is redact.py's business. A file
that changed on disk since it was last read or written here is never overwritten: the
change is refused until the server has reloaded it. Changes are serialized by one lock,
so none is lost; the first holder of the lock writes the zones' first contents that the
server's start left to write (recording.FirstContents) if they are not written yet, so
every write of the editor comes after them.

Files a change brings (a new zone's empty zone file, a zone file the records API
rewrote: rewrite_zone_file) replace whatever file had that name
(a deleted zone's data never passes to the next zone of that name) and are put back as
they were when the change is refused; files a change drops (a deleted zone's) are removed
once it is written.

Speed (issue 16: a change served in milliseconds at 100,000 zones): a change the rules
can judge alone is checked over the index (control/pipeline.py: the same problems as
load()), and once written it is made by the pipeline, which rebuilds and records only the
zones it touches and hands the server a delta (`apply(Committed)`); a change that needs
the whole configuration (rules.OutOfScope) is checked by load() as above and handed over
as loaded (`apply(Loaded)`), which the server compiles whole. `apply` is called under
the editor's lock, so the server serves the changes in the order they were made. A
single file's edited text is made by rewriting only the lines of the entries the edit
changed (control/document.py).
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import logging
import os
import tempfile
import threading
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from ..control.change import Change, Verdict, ZoneFileChanged
from ..control.document import dump as _dump
from ..control.document import to_yaml
from ..control.document import yaml_dumper as _yaml
from ..control.edits import Unwritable
from ..control.fragments import as_change
from ..control.pipeline import Committed, Pipeline, combined
from ..control.rules import OutOfScope
from ..control.sources import MAIN, Conflict, Directory, Edit, Scan, SingleFile, open_sources
from ..errors import ConfigError, Problem
from ..gcpause import gc_paused
from ..model.config import Loaded, load, record
from ..model.recording import FirstContents, Writer
from ..model.state import State, write_atomic
from ..model.types import Model, ResolvedZone, zone_id

__all__ = ["ConfigEditor", "Invalid", "Rejected", "Reloaded", "to_yaml"]
__all__ += ["_dump", "_yaml"]  # the round-trip writer, for the tests of its layouts

log = logging.getLogger("acnsd.api")

# The suffix of a file set aside while a change that replaces it is checked.
ASIDE = ".api-old"


class Reloaded(NamedTuple):
    """What a reload made by the pipeline: zone files and YAML files (-1, -1: the
    configuration was loaded whole)."""

    zone_files: int
    yaml_files: int


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


DocumentEdit = Callable[[Any], None]  # mutates a single file's round-trip document


class ConfigEditor:
    """The configuration's files, as last accepted, and the model loaded from them."""

    def __init__(self, path: str | os.PathLike[str],
                 apply: Callable[[Committed | Loaded], None] | None = None, *,
                 loaded: tuple[Loaded, State | None] | None = None,
                 prefetch: bool = True, first_contents: FirstContents | None = None) -> None:
        """`apply` makes an accepted change live (the server's hook); None: nothing
        serves the configuration (the tests of the editor alone). `loaded`: what the
        server loaded and recorded, with the State it decided (else the files are loaded
        here). `prefetch`: read a single file's round-trip document now, not at the first
        change (the API's; a reload does not need it). `first_contents`: what the
        server's start left to write, written before anything the editor writes."""
        self.path = Path(path)
        self.lock = threading.Lock()
        self._first_contents = first_contents
        self.apply = apply
        for stale in self.path.parent.glob(f".{self.path.name}.api-*"):  # after a crash
            stale.unlink(missing_ok=True)
        if loaded is None:
            loaded = (load(self.path, save_state=False), None)
        self.model: Model = loaded[0].model
        for stale in self.model.server.zones_dir.glob(f".*{ASIDE}"):  # the same
            stale.unlink(missing_ok=True)
        self.sources = open_sources(loaded[0])
        if prefetch and isinstance(self.sources, SingleFile):
            self.sources.document  # noqa: B018 (read now, not at the first change)
        self.writer = Writer()  # the store, kept open between the pipeline's changes
        self.pipeline = _pipeline(*loaded, self.writer)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """The editor's lock, held once the start's first contents are in the store (the
        first holder writes them, or waits for the server's thread writing them)."""
        with self.lock:
            if self._first_contents is not None:
                self._first_contents.write()
                self._first_contents = None
            yield

    def close(self) -> None:
        """Close the store kept open for the changes (the server's shutdown), once the
        start's first contents are written."""
        with self._locked():
            self.writer.close()

    def refresh(self) -> bool:
        """Adopt the files as they are on disk now, if they load (after an operator's
        reload)."""
        with self._locked():
            try:
                loaded = load(self.path, save_state=False)
                sources = open_sources(loaded)
                if isinstance(sources, SingleFile):
                    sources.document  # noqa: B018
            except (OSError, ConfigError, UnicodeDecodeError):
                return False
            self.model, self.sources = loaded.model, sources
            self.pipeline = _pipeline(loaded, None, self.writer)
            return True

    def change(self, edit: Change | DocumentEdit, *, new_files: dict[Path, str] | None = None,
               removed_files: Collection[Path] = (), forget: Collection[str] = ()) -> Model:
        """Make a change (a Change, or in the single file layout an edit of its
        round-trip document), check it, write it; the new model, or Invalid (the rules
        refuse it) or Rejected.

        `new_files` are written (atomically) before the check, whether a file of that name
        exists or not (a new zone's empty zone file); the files they replace are set aside
        and put back when the change is refused. `removed_files` are deleted once the
        change is written (a deleted zone's file). `forget` names deleted zones (load()).
        """
        with self._locked():
            return self._made(self._edit(edit), new_files or {}, removed_files, forget)

    def rewrite_zone_file(self, zone: str, rewrite: Callable[[str], str]) -> Model:
        """Replace the zone file of `zone` by what `rewrite` makes of its text (read under
        the lock, so no other change comes between), as the change ZoneFileChanged: checked
        (R8-R10 and the file's own reading), written, served; refused (Invalid), the old
        file is put back. LookupError when the zone is not configured."""
        with self._locked():
            resolved = self.zone(zone)
            if resolved is None:
                raise LookupError(f"zone {zone} is not configured")
            file = Path(resolved.file)
            text = rewrite(file.read_bytes().decode("utf-8"))
            return self._made(self._edit(ZoneFileChanged(zone)), {file: text}, (), ())

    def watch_sources(self) -> None:
        """Start watching the sources (control/sources.py), so that the first reload looks
        only at what changed (a scan of every file now, ~1.5 s at 100,000 zones)."""
        with self.lock:
            self.sources.watch()

    def serial(self, zone: str) -> int | None:
        """The SOA serial recorded for `zone` (None: not known to the pipeline)."""
        entry = self.pipeline.state.serials.get(zone) if self.pipeline is not None else None
        return entry.serial if entry else None

    def _made(self, pending: Edit, new_files: dict[Path, str], removed_files: Collection[Path],
              forget: Collection[str]) -> Model:
        with gc_paused():
            try:
                return self._change(pending, new_files, removed_files, forget)
            except BaseException:
                self.sources.discard(pending)
                raise

    def reload(self, apply: Callable[[Committed | Loaded], None],
               zones: Collection[str] | None = None) -> Reloaded:
        """An operator's reload (SIGHUP): what changed on disk since it was read or written
        here is made and handed to `apply`, in order with the API's changes.

        When one YAML file of the directory layout changed as one API change would change
        it (control/fragments.py), that change is checked over the index and made by the
        pipeline first; then the zone files that changed, each checked over the index
        and made by the pipeline, their deltas served as one. Any other YAML change (or a
        zone file the index cannot judge alone) loads the configuration whole. `zones`
        names the zones whose files changed (their zone files, and in the directory layout
        the YAML files holding them), and nothing else is looked at (`acnsd reload --zone`:
        no scan of every file). Raises ConfigError with every problem: what was
        refused is not made (a YAML file's change accepted before it is), and what is
        served stays."""
        with self._locked(), gc_paused():
            made: list[Committed | Loaded] = []
            if zones is not None:
                unknown = sorted(z for z in zones if self.zone(z) is None)
                if unknown:
                    raise ConfigError([Problem(f"zone {name} is not served here")
                                       for name in unknown])
                changed = zones
                files = ({self.sources.file_of(z) for z in zones} - {None}
                         if isinstance(self.sources, Directory) else set())
                scan = self.sources.scan(only=files)
            else:
                scan = self.sources.scan()
                changed = scan.zone_files
            if scan.changed:
                fragment = self._fragment(scan)
                if fragment is None:
                    return self._reload_whole(apply)
                made.append(self._commit(*fragment, ()))
                self.sources.adopt(scan)
            try:
                checked = self._zone_files(changed)
            except ConfigError:
                self._publish(made, apply)
                raise
            if checked is None:
                return self._reload_whole(apply)
            made += [self._commit(verdict, edit, ()) for verdict, edit in checked]
            self._publish(made, apply)
            return Reloaded(len(checked), len(made) - len(checked))

    def _reload_whole(self, apply: Callable[[Committed | Loaded], None]) -> Reloaded:
        loaded = self._adopt(load(self.path, save_state=False))
        self.sources = open_sources(loaded)
        self.model = loaded.model
        apply(loaded)
        self.sources.watch()  # served first; then the next reload looks only at what changed
        return Reloaded(-1, -1)

    def _publish(self, made: list[Committed | Loaded],
                 apply: Callable[[Committed | Loaded], None]) -> None:
        """Hand what a reload made to `apply` at once: the deltas as one, or the last
        whole load (a pipeline that failed half way loads whole)."""
        if not made:
            return
        committed = [m for m in made if isinstance(m, Committed)]
        loaded = [m for m in made if isinstance(m, Loaded)]
        last = loaded[-1] if loaded else combined(committed)
        self.model = last.model
        apply(last)

    def _fragment(self, scan: Scan) -> tuple[Verdict, Edit] | None:
        """The verdict on the one YAML file of the directory layout that changed on disk
        as one Change (ConfigError with every problem when refused); None when it is not
        one Change or the index cannot judge it alone."""
        if self.pipeline is None or not isinstance(self.sources, Directory):
            return None
        change = as_change(self.sources, self.pipeline.index, scan)
        if change is None:
            return None
        edit = self.sources.on_disk(change, scan)
        try:
            verdict = self.pipeline.check(change, edit.locate)
        except (OutOfScope, LookupError):
            return None
        if verdict.problems:
            raise ConfigError(list(verdict.problems))
        return verdict, edit

    def _zone_files(self, zones: Collection[str]) -> list[tuple[Verdict, Edit]] | None:
        """The verdicts on the zone files changed on disk (ConfigError with every problem
        when any is refused); None when the index cannot judge them alone."""
        if self.pipeline is None:
            return None
        checked, problems = [], []
        for zone in sorted(zones):
            edit = self.sources.edit(ZoneFileChanged(zone))
            try:
                verdict = self.pipeline.check(edit.change, edit.locate)
            except OutOfScope:
                return None
            problems += verdict.problems
            checked.append((verdict, edit))
        if problems:
            raise ConfigError(problems)
        return checked

    def zone(self, name: str) -> ResolvedZone | None:
        """A zone of the accepted configuration by name: from the index, without a walk
        over every zone."""
        pipeline = self.pipeline
        if pipeline is None:
            return next((z for z in self.model.zones if z.name == name), None)
        entry = pipeline.index.zone(name)
        return None if entry is None else entry.resolved

    def zone_by_id(self, zid: str) -> ResolvedZone | None:
        """A zone of the accepted configuration by its id."""
        pipeline = self.pipeline
        if pipeline is None:
            return next((z for z in self.model.zones if zone_id(z.name) == zid), None)
        name = pipeline.zone_named(zid)
        return None if name is None else self.zone(name)

    def zones_reading(self, file: str | os.PathLike[str]) -> set[str]:
        """The zones whose zone file is `file`."""
        pipeline = self.pipeline
        if pipeline is None:
            return {z.name for z in self.model.zones if _same_file(z.file, file)}
        return set(pipeline.index.zones_reading(file))

    def entry(self, zone: str | None = None, account: str | None = None) -> Any:
        """The entry of a zone, or of an account, as its file holds it now (for merging a
        patch into it)."""
        with self.lock:
            if zone is not None:
                return self.sources.zone_entry(zone)
            return self.sources.account_entry(str(account))

    def _edit(self, edit: Change | DocumentEdit) -> Edit:
        try:
            if callable(edit):
                if not isinstance(self.sources, SingleFile):
                    raise TypeError("the directory layout is edited by Changes only")
                return self.sources.edit_document(edit)
            return self.sources.edit(edit)
        except Conflict as exc:
            raise Rejected(409, [(1021, f"{self._name(exc.file)} changed on disk since the "
                                  "server loaded it; check it (acnsd check) and reload the "
                                  "server (SIGHUP) before changing it through the API")]
                           ) from exc
        except OSError as exc:
            raise Rejected(500, [(1020, f"cannot read the configuration file "
                                  f"{self._name(Path(exc.filename or self.path))}: "
                                  f"{exc.strerror}")]) from exc
        except LookupError as exc:
            raise Rejected(404, [(7003, str(exc))]) from None
        except Unwritable as exc:
            raise Rejected(400, [(1030, f"{exc}; fix the file first")]) from None

    def _name(self, file: Path) -> str:
        """A file as the API names it: relative to the configuration's directory."""
        return os.path.relpath(file, self.path.parent)

    def _change(self, edit: Edit, new_files: dict[Path, str], removed_files: Collection[Path],
                forget: Collection[str]) -> Model:
        """change() once the edit is made: check, write, make, apply."""
        try:
            with _replacing(new_files):
                verdict = self._scoped(edit)
                checked = self._check(edit, forget) if verdict is None else None
                self.sources.write(edit)  # from here on, the change is made
        except OSError as exc:
            if exc.errno != errno.ENAMETOOLONG:
                raise
            name = Path(exc.filename).name if exc.filename else "a file"
            raise Rejected(400, [(1030, f"cannot create {name}: the name is too long for "
                                  "the file system")]) from None
        except Conflict as exc:
            raise Rejected(409, [(1021, f"{self._name(exc.file)} changed on disk since the "
                                  "server loaded it; check it (acnsd check) and reload the "
                                  "server (SIGHUP) before changing it through the API")]
                           ) from exc
        # What the change decided (addresses, zone defaults, serials, content) is recorded
        # before the answer, so the 200 and the state survive a crash together (a crash
        # before this commit: the next load decides it again from the files written).
        made: Committed | Loaded
        if verdict is not None:
            made = self._commit(verdict, edit, forget)
        else:
            assert checked is not None
            made = self._adopt(checked)
        for file in removed_files:
            try:
                file.unlink(missing_ok=True)
            except OSError as exc:
                log.warning("event=api_remove_failed file=%s reason=%r", file, exc.strerror)
        self.model = made.model
        if self.apply is not None:
            try:
                self.apply(made)
            except Exception:  # the change is on disk; a later reload serves it
                log.exception("event=api_apply_failed")
        return made.model

    def _adopt(self, loaded: Loaded) -> Loaded:
        """Record a whole load (save_state=False) and start the pipeline from it."""
        state = loaded.state
        recorded = record(loaded)
        self.pipeline = _pipeline(recorded, state, self.writer)
        return recorded

    def _scoped(self, edit: Edit) -> Verdict | None:
        """The rules' verdict over the index (Invalid when refused); None when the change
        needs the whole configuration."""
        if self.pipeline is None or edit.change is None:
            return None
        try:
            verdict = self.pipeline.check(edit.change, edit.locate)
        except OutOfScope:
            return None
        if not verdict.accepted:
            raise Invalid(list(verdict.problems))
        return verdict

    def _commit(self, verdict: Verdict, edit: Edit,
                forget: Collection[str]) -> Committed | Loaded:
        """Make a change the pipeline checked; when it fails half way (the store refused
        the transaction), load the files written, whole, as the next start would."""
        assert self.pipeline is not None
        try:
            return self.pipeline.commit(verdict, edit.locate)
        except Exception:
            log.exception("event=pipeline_failed change=%s: loading the configuration whole",
                          type(edit.change).__name__)
            self.pipeline = None
            return self._adopt(load(self.path, save_state=False, forget=forget))

    def _check(self, edit: Edit, forget: Collection[str]) -> Loaded:
        """Load the configuration with `edit` made, with the state of this one, writing
        nothing; Invalid with every problem. Returns what was loaded, not recorded yet,
        told about the real files."""
        main = edit.text if edit.name == MAIN else self.path.read_bytes().decode("utf-8")
        overlay = {} if edit.name in (MAIN, None) else {os.path.abspath(edit.file): edit.text}
        fd, name = tempfile.mkstemp(prefix=f".{self.path.name}.api-", suffix=".yaml",
                                    dir=self.path.parent)
        tmp = self.path.parent / Path(name).name  # relative when the config's path is
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(main or "")
            loaded = load(tmp, save_state=False, forget=forget, overlay=overlay,
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


def _pipeline(loaded: Loaded, state: State | None, writer: Writer) -> Pipeline | None:
    """The pipeline of an accepted load, recorded with `state` the State it decided, or
    not yet (None; save_state=False: what it decided is recorded now, as the server's own
    start would have, so that the pipeline starts from what the store holds), recording
    through `writer`; None when the index cannot be built of it (every change is then
    loaded whole)."""
    if state is None:
        state = loaded.state
        if state is None:
            return None
        if state.changed or set(state.served) != {z.name for z in loaded.model.zones}:
            loaded = record(dataclasses.replace(loaded, state=state))
    try:
        return Pipeline(loaded, state, writer)
    except ValueError:
        log.exception("event=pipeline_unavailable")
        return None


def _same_file(a: str | os.PathLike[str], b: str | os.PathLike[str]) -> bool:
    return os.path.abspath(a) == os.path.abspath(b)


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
