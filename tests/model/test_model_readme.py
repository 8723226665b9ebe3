"""The README's configuration examples load (as CoreDNS tests its README examples).

Every ```yaml block of README.md that is a configuration (has `accounts`) is loaded from
a directory laid out like the repository (config/ and zones/), so that `zones_dir:
../zones` finds the example zone files. A block with only a `server` section is merged into
the example configuration and loaded. Other blocks (tokens files) are not configurations.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml
from acnsd.model.config import load
from tooling import REPO

README = REPO / "README.md"
BLOCK = re.compile(r"^```ya?ml[^\n]*\n(.*?)^```", re.S | re.M)


def _blocks() -> list[tuple[int, str]]:
    if not README.exists():
        return []
    text = README.read_text(encoding="utf-8")
    return [(text.count("\n", 0, m.start()) + 1, m.group(1)) for m in BLOCK.finditer(text)]


def _config_blocks() -> list[tuple[int, str]]:
    out = []
    for line, block in _blocks():
        data = yaml.safe_load(block)
        if isinstance(data, dict) and ("accounts" in data or set(data) == {"server"}):
            out.append((line, block))
    return out


CONFIG_BLOCKS = _config_blocks()


def _layout(tmp_path: Path) -> Path:
    (tmp_path / "config").mkdir()
    shutil.copytree(REPO / "zones", tmp_path / "zones")
    return tmp_path / "config" / "acnsd.yaml"


@pytest.mark.skipif(not CONFIG_BLOCKS, reason="README.md has no ```yaml configuration block")
@pytest.mark.parametrize("line,block", CONFIG_BLOCKS, ids=[f"README.md:{n}" for n, _ in
                                                          CONFIG_BLOCKS])
def test_readme_configuration_example_loads(tmp_path, line, block):
    path = _layout(tmp_path)
    data = yaml.safe_load(block)
    if "accounts" not in data:  # a server fragment: merged into the example configuration
        example = yaml.safe_load((REPO / "config" / "acnsd.yaml").read_text())
        example["server"].update(data["server"])
        block = yaml.safe_dump(example, sort_keys=False)
        for key in ("tokens_file",):  # files a fragment refers to, relative to the config
            ref = (data["server"].get("api") or {}).get(key)
            if ref:
                (path.parent / ref).write_text("[]\n")
        secret_file = (data["server"].get("cookies") or {}).get("secret_file")
        if secret_file:  # a cookie secret, in hex
            (path.parent / secret_file).write_text("00" * 16 + "\n")
    path.write_text(block, encoding="utf-8")
    loaded = load(path)
    assert loaded.model.accounts or "accounts" not in data


@pytest.mark.skipif(not CONFIG_BLOCKS, reason="README.md has no ```yaml configuration block")
def test_readme_walk_through_is_the_example_configuration():
    """The README walks through config/acnsd.yaml: the block that uses ../zones is it."""
    example = yaml.safe_load((REPO / "config" / "acnsd.yaml").read_text())
    walked = [yaml.safe_load(b) for _, b in CONFIG_BLOCKS]
    walked = [d for d in walked if d.get("server", {}).get("zones_dir") == "../zones"
              and "accounts" in d]
    if not walked:
        pytest.skip("no README block shows the example configuration")
    assert walked[0] == example
