"""`acnsd migrate-layout`: a single file configuration moved to the directory layout.

Rule owned here: the migration writes each account's account.yaml and one `<zone>.yaml`
per zone (model/tree.py) into a new directory, each from the entry's own lines with the
comments above and inside it, when they read back as exactly the entry (else from its
value: comments lost, and said so); it checks the new tree with load() and proves its
model equal to the old one (the same accounts, zones as configured and as resolved,
nameserver names and their addresses); only then does it put the directory in place and
replace `accounts:` by `accounts_dir:` in acnsd.yaml, atomically, keeping the old file as
`acnsd.yaml.pre-migrate`. When a step fails nothing is changed. It refuses when the
directory exists already, and leaves a configuration already in the directory layout as
it is.

The old configuration is loaded as `acnsd show` loads it, recording the decisions of
zones and names that have none yet (R6, R7, R10), then once more, reading them back as
the new tree's load does, so that both loads make the same ones in the same words (a
zone's nameservers are a "zone default (recorded)" once recorded).
"""

from __future__ import annotations

import dataclasses
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ..api.splice import compose
from ..errors import AcnsdError, ConfigError
from ..model.config import Loaded, load
from ..model.names import normalize
from ..model.state import NEW_FILE_MODE, write_atomic
from ..model.tree import ACCOUNT_FILE, SUFFIX, ZONES, zone_file_stem
from ..model.types import Model
from ..model.yamlsrc import parse
from .document import LIST_INDENTS, dump, to_yaml, yaml_dumper

__all__ = ["Migrated", "MigrationError", "migrate"]

KEPT = ".pre-migrate"  # the suffix of the single file kept
# The first line of a file written from its entry's value.
NOTE = ("# written by acnsd migrate-layout from the entry's value (its lines could not be "
        "kept)\n")


class MigrationError(AcnsdError):
    """Why the configuration was not migrated (nothing was changed)."""


@dataclass(frozen=True)
class Migrated:
    """What the migration did: the directory written (None: nothing to do, the layout
    was the directory one already), the accounts and zones, and the files written from
    their entry's value because its lines could not be kept (their comments are lost)."""

    directory: Path | None
    accounts: int = 0
    zones: int = 0
    dumped: tuple[str, ...] = ()


def migrate(config: Path, directory: str = "accounts") -> Migrated:
    """Move the accounts of `config` to `directory` (relative to its directory)."""
    if _load(config).model.accounts_dir is not None:
        return Migrated(None)
    old = _load(config, {})
    target = config.parent / directory
    if os.path.lexists(target):
        raise MigrationError(f"{target} exists already: the migration writes a new "
                             "directory; remove it or choose another (--dir)")
    text = config.read_bytes().decode("utf-8")
    value = parse(text, str(config)).value
    files = _files(text, value)
    staging = target.parent / f".{target.name}.migrating"
    shutil.rmtree(staging, ignore_errors=True)  # a crashed migration's
    try:
        _write(staging, files)
        staged = _main_text(text, value, str(Path(directory).parent / staging.name))
        _same(old, _load(config, {os.path.abspath(config): staged}))
        os.rename(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    shutil.copy2(config, config.with_name(config.name + KEPT))
    write_atomic(config, _main_text(text, value, directory))
    return Migrated(target, len(old.model.accounts), len(old.model.zones),
                    tuple(sorted(name for name, text in files.items()
                                 if text.startswith(NOTE))))


def _write(directory: Path, files: dict[str, str]) -> None:
    """Write the files under `directory`, then flush them all to disk at once (one
    fsync per file would cost a minute at 100,000 zones)."""
    for name, content in files.items():
        path = directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, NEW_FILE_MODE)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(content)
    os.sync()


# --- loading and comparing ---------------------------------------------------------------


def _load(config: Path, overlay: dict[str, str | None] | None = None) -> Loaded:
    """`config` loaded (None: recording what it decides; else read with the overlay,
    writing nothing)."""
    try:
        return load(config, save_state=overlay is None, overlay=overlay)
    except ConfigError as exc:
        what = "the configuration" if overlay is None else "the migrated configuration"
        raise MigrationError(f"{what} does not load; nothing was changed:\n"
                             + "\n".join(f"  {p}" for p in exc.problems)) from None


def _essence(model: Model) -> dict[str, Any]:
    """What the two layouts must agree on, without the YAML paths (which name files)."""
    def bare(item: Any) -> Any:
        return dataclasses.replace(item, path="")

    def bare_zone(zone: Any) -> Any:  # (a zone's path is made of its file's and its own)
        return dataclasses.replace(zone, source="", at="")

    return {
        "accounts": {a.id: dataclasses.replace(
            a, path="", custom_nameservers=tuple(map(bare, a.custom_nameservers)),
            zones=tuple(sorted(map(bare_zone, a.zones), key=lambda z: z.name)))
            for a in model.accounts},
        "zones": {z.name: bare_zone(z) for z in model.zones},
        "addresses": model.addresses,
        "server": model.server,
    }


def _same(old: Loaded, new: Loaded) -> None:
    before, after = _essence(old.model), _essence(new.model)
    for key in before:
        if before[key] != after[key]:
            differ = sorted(k for k in before[key].keys() | after[key].keys()
                            if before[key].get(k) != after[key].get(k)) \
                if isinstance(before[key], dict) else [key]
            raise MigrationError(f"the migrated configuration differs from the old one in "
                                 f"its {key} ({', '.join(map(str, differ[:5]))}); nothing "
                                 "was changed")


# --- the files ---------------------------------------------------------------------------


def _files(text: str, value: dict[str, Any]) -> dict[str, str]:
    """Every file of the directory, by its path inside it."""
    lines = text.split("\n")
    tree = compose(text)
    accounts_node = _value_node(tree, "accounts")
    entries = value.get("accounts") or []
    pieces = (_item_texts(accounts_node, lines) if accounts_node is not None
              else [None] * len(entries))
    files: dict[str, str] = {}
    for i, entry in enumerate(entries):
        account_id = str(entry["id"])
        _check_name(account_id, "account id")
        node = accounts_node.value[i] if pieces[i] is not None else None
        zones_node = _value_node(node, "zones")
        zones = entry.get("zones") or []
        kept = {k: v for k, v in entry.items() if k != "zones"}
        account_text = _account_text(pieces[i], "zones" in entry) if pieces[i] else None
        files[f"{account_id}/{ACCOUNT_FILE}"] = _checked(account_text, kept, "")
        zone_pieces = (_item_texts(zones_node, lines) if zones_node is not None
                       else [None] * len(zones))
        for j, zone in enumerate(zones):
            name = normalize(str(zone["name"]))
            _check_name(name, "zone name", zone_file_stem(name) == name)
            files[f"{account_id}/{ZONES}/{name}{SUFFIX}"] = _checked(zone_pieces[j], [zone],
                                                                     ZONES)
    return files


def _checked(piece: str | None, value: Any, root: str) -> str:
    """The entry's own text when it reads back as `value`, else `value` dumped."""
    if piece is not None:
        try:
            if parse(piece, "entry", root).value == value:
                return piece
        except ConfigError:
            pass
    dumper = yaml_dumper() if root == "" else yaml_dumper(*LIST_INDENTS)
    return NOTE + dump(dumper, to_yaml(value))


def _check_name(name: str, what: str, usable: bool = True) -> None:
    if (not usable or not name or name in (".", "..") or name.startswith(".")
            or "/" in name or "\0" in name):
        raise MigrationError(f"{what} {name!r} cannot name a file of the directory layout; "
                             "nothing was changed")


def _value_node(node: Any, key: str) -> Any:
    """The value node of `key` in a block mapping node (None: absent, or not a block
    collection whose lines can be cut)."""
    if not isinstance(node, yaml.MappingNode):
        return None
    for key_node, value_node in node.value:
        if isinstance(key_node, yaml.ScalarNode) and key_node.value == key:
            if isinstance(value_node, yaml.SequenceNode) and not value_node.flow_style:
                return value_node
            return None
    return None


def _is_note(line: str, column: int) -> bool:
    """A blank line, or a comment at or left of `column`."""
    stripped = line.lstrip()
    return not stripped or (stripped.startswith("#") and len(line) - len(stripped) <= column)


def _item_texts(node: yaml.SequenceNode, lines: list[str]) -> list[str | None]:
    """Each item's own lines as a one-item list at column 0: the comments right above
    it, its lines, and those of comments inside it (not those after it at its dash's
    column or left of it: they are above what follows)."""
    items = node.value
    dashes = [_dash(item, lines) for item in items]
    end = _end_line(node, lines)
    texts: list[str | None] = []
    for i, (line, column) in enumerate(dashes):
        stop = dashes[i + 1][0] if i + 1 < len(dashes) else end
        while stop > line + 1 and _is_note(lines[stop - 1], column):
            stop -= 1
        start = line
        while start > 0 and lines[start - 1].lstrip().startswith("#") \
                and _is_note(lines[start - 1], column):
            start -= 1
        texts.append("".join(_dedent(text, column) + "\n" for text in lines[start:stop]))
    return texts


def _dash(item: yaml.Node, lines: list[str]) -> tuple[int, int]:
    """The line and column of an item's dash."""
    line = item.start_mark.line
    while not lines[line].lstrip().startswith("-"):
        line -= 1
    return line, len(lines[line]) - len(lines[line].lstrip())


def _end_line(node: yaml.Node, lines: list[str]) -> int:
    """The line after a block collection's last line (its end is where the next token
    begins: a line of its own, but at the end of the text)."""
    mark = node.end_mark
    return mark.line if not lines[mark.line][:mark.column].strip() else mark.line + 1


def _dedent(line: str, column: int) -> str:
    return line[column:] if not line[:column].strip() else line.lstrip()


def _account_text(piece: str, zones: bool) -> str:
    """An account item's text (from _item_texts) as a mapping at column 0, without its
    `zones` key (when it has one) and the zones' own lines."""
    rows = piece.split("\n")
    at = next(i for i, row in enumerate(rows) if row.lstrip().startswith("-"))
    rows[at] = " " + rows[at][1:]
    column = len(rows[at]) - len(rows[at].lstrip())
    if zones:
        rows = _without_zones(rows, column)
    return "\n".join(_dedent(row, column) for row in rows)


def _without_zones(rows: list[str], column: int) -> list[str]:
    """The rows less the `zones:` key at `column` and its value's rows: up to the next
    row left of the value (a key of the account), less the notes just above that."""
    start = next(i for i, row in enumerate(rows)
                 if row[column:].startswith("zones:") and not row[:column].strip())
    stop = start + 1
    while stop < len(rows):
        stripped = rows[stop].lstrip()
        indent = len(rows[stop]) - len(stripped)
        if (stripped and not stripped.startswith("#") and indent <= column
                and not (indent == column and stripped.startswith("-"))):
            break
        stop += 1
    while stop > start + 1 and _is_note(rows[stop - 1], column):
        stop -= 1
    return rows[:start] + rows[stop:]


def _main_text(text: str, value: dict[str, Any], directory: str) -> str:
    """acnsd.yaml with `accounts:` (its lines) replaced by `accounts_dir: directory`."""
    lines = text.split("\n")
    tree = compose(text)
    keys = [k for k, _ in tree.value] if isinstance(tree, yaml.MappingNode) else []
    at = next((i for i, k in enumerate(keys) if getattr(k, "value", None) == "accounts"), None)
    expected = {**{k: v for k, v in value.items() if k != "accounts"},
                "accounts_dir": directory}
    entry = dump(yaml_dumper(), to_yaml({"accounts_dir": directory}))
    if at is not None:
        start = keys[at].start_mark.line
        stop = keys[at + 1].start_mark.line if at + 1 < len(keys) else len(lines)
        while stop > start + 1 and _is_note(lines[stop - 1], 0):
            stop -= 1
        candidate = "\n".join(lines[:start] + entry.rstrip("\n").split("\n") + lines[stop:])
        candidate += "" if candidate.endswith("\n") else "\n"
        if parse(candidate, "acnsd.yaml").value == expected:
            return candidate
    document = yaml_dumper().load(text)
    del document["accounts"]
    document["accounts_dir"] = directory
    return dump(yaml_dumper(), document)

