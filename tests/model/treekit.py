"""The directory layout in the tests: a configuration dict (modelkit's shape) written as a
tree, and its problems told back in the single file's words, for comparing the layouts.

`write_tree(root, cfg, groups)` writes `<root>/acnsd.yaml` with `accounts_dir: accounts`
and, for account i, `accounts/<id>/account.yaml` and its zones in files that keep their
order: zone j goes to file `groups[i][j]` (default: one file each, `000.yaml`,
`001.yaml`, ...; a group's zones must be consecutive, its files named in order). It
returns a Tree map, whose `logical(problem)` gives a problem's YAML path, and the paths in
its message, as the single file layout has them (`accounts[0].zones[3].name`).
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from acnsd.errors import Problem

ACCOUNTS_DIR = "accounts"
_QUALIFIED = re.compile(r"(accounts/[^\s:]+\.yaml):([^\s;),]*)")


@dataclass
class TreeMap:
    """Where write_tree put each entry: file → the YAML path of its entries' list (or of
    the account) in the single file layout, and the index of its first entry there."""

    root: Path
    files: dict[str, tuple[str, int]] = field(default_factory=dict)

    def relative(self) -> TreeMap:
        """The map of the tree loaded from its root (its files named relative to it)."""
        return TreeMap(Path(), self.files)

    def logical_path(self, file: str, inner: str) -> str:
        prefix, first = self.files[file]
        if inner.startswith("zones["):
            index, rest = inner[len("zones["):].split("]", 1)
            return f"{prefix}[{first + int(index)}]{rest}"
        return f"{prefix}.{inner}" if inner else prefix

    def logical(self, problem: Problem) -> Problem:
        """The problem with its path and the paths in its message as in the single file
        layout, and with no file or line when it lies in a YAML file of either layout."""
        message = _QUALIFIED.sub(lambda m: self.logical_path(m[1], m[2]), problem.message)
        tenant = problem.tenant_message
        file, path, line = problem.file, problem.path, problem.line
        name = str(Path(file).relative_to(self.root)) if file else None
        if name in self.files:
            path = self.logical_path(name, path or "")
            file = line = None
        elif name == "acnsd.yaml":
            file = line = None
        elif file:
            file = name
        return dataclasses.replace(problem, message=message, tenant_message=tenant,
                                   file=file, line=line, path=path)


def single(problem: Problem, root: Path) -> Problem:
    """A problem of the single file layout in TreeMap.logical's form."""
    file = str(Path(problem.file).relative_to(root)) if problem.file else None
    if file == "acnsd.yaml":
        return dataclasses.replace(problem, file=None, line=None)
    return dataclasses.replace(problem, file=file)


def write_tree(root: Path, cfg: dict[str, Any],
               groups: list[list[str]] | None = None) -> TreeMap:
    """Write `cfg` in the directory layout (see the module's docstring)."""
    tree = TreeMap(root)
    main = {k: v for k, v in cfg.items() if k != "accounts"}
    main["accounts_dir"] = ACCOUNTS_DIR
    (root / "acnsd.yaml").write_text(yaml.safe_dump(main, sort_keys=False))
    for i, account in enumerate(cfg["accounts"]):
        folder = root / ACCOUNTS_DIR / str(account["id"])
        (folder / "zones").mkdir(parents=True, exist_ok=True)
        entry = {k: v for k, v in account.items() if k != "zones"}
        (folder / "account.yaml").write_text(yaml.safe_dump(entry, sort_keys=False))
        tree.files[f"{ACCOUNTS_DIR}/{account['id']}/account.yaml"] = (f"accounts[{i}]", 0)
        zones = account.get("zones") or []
        names = groups[i] if groups else [f"{j:03d}.yaml" for j in range(len(zones))]
        by_file: dict[str, list[Any]] = {}
        for j, (zone, name) in enumerate(zip(zones, names, strict=True)):
            if name not in by_file:
                tree.files[f"{ACCOUNTS_DIR}/{account['id']}/zones/{name}"] = (
                    f"accounts[{i}].zones", j)
            by_file.setdefault(name, []).append(zone)
        for name, entries in by_file.items():
            (folder / "zones" / name).write_text(yaml.safe_dump(entries, sort_keys=False))
    return tree
