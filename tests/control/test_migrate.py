"""`acnsd migrate-layout` (control/migrate.py): the example configuration moved to the
directory layout, as the README tells it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from acnsd.cli import main
from acnsd.control.migrate import _essence
from acnsd.model.config import load
from tooling import REPO

ACCOUNT = "023e105f4ecef8ad9ca31a8372d0c353"
ZONES = ["example.com", "sub.example.com", "2.0.192.in-addr.arpa", "plain.example.net",
         "other.org"]


@pytest.fixture
def example(tmp_path: Path) -> Path:
    """A copy of config/acnsd.yaml and zones/, without the state (as first started)."""
    (tmp_path / "config").mkdir()
    shutil.copy(REPO / "config" / "acnsd.yaml", tmp_path / "config" / "acnsd.yaml")
    shutil.copytree(REPO / "zones", tmp_path / "zones")
    return tmp_path / "config" / "acnsd.yaml"


def test_the_example_moves_to_the_directory_layout(example: Path, capsys) -> None:
    # (failed before: a zone receiving the zone defaults was "zone default" in the old
    # load and "zone default (recorded)" in the new one: "differs ... (other.org)")
    single = example.read_text()
    assert main(["migrate-layout", "--config", str(example)]) == 0, capsys.readouterr().err
    base = example.parent
    assert example.with_name("acnsd.yaml.pre-migrate").read_text() == single
    top = yaml.safe_load(example.read_text())
    assert top["accounts_dir"] == "accounts" and "accounts" not in top
    folder = base / "accounts" / ACCOUNT
    account = yaml.safe_load((folder / "account.yaml").read_text())
    assert account["id"] == ACCOUNT and "zones" not in account
    assert sorted(p.name for p in (folder / "zones").iterdir()) == sorted(
        f"{zone}.yaml" for zone in ZONES)
    assert "# a reverse zone" in (folder / "zones" / "2.0.192.in-addr.arpa.yaml").read_text()
    tree = load(example, save_state=False)
    assert tree.model.accounts_dir == "accounts"
    example.with_name("single.yaml").write_text(single)
    assert _essence(tree.model) == _essence(load(
        example.with_name("single.yaml"), save_state=False,
        state_file=tree.model.server.state_file).model)
    assert main(["migrate-layout", "--config", str(example)]) == 0  # nothing to do
    assert "nothing to do" in capsys.readouterr().out


def test_going_back_is_the_kept_file(example: Path, capsys) -> None:
    load(example)  # started: what it decided recorded
    before = load(example, save_state=False)
    assert main(["migrate-layout", "--config", str(example)]) == 0
    example.with_name("acnsd.yaml.pre-migrate").replace(example)
    shutil.rmtree(example.parent / "accounts")
    assert main(["check", "--config", str(example)]) == 0
    assert _essence(load(example).model) == _essence(before.model)


def test_an_existing_directory_is_refused_and_nothing_changed(example: Path, capsys) -> None:
    (example.parent / "accounts").mkdir()
    single = example.read_text()
    assert main(["migrate-layout", "--config", str(example)]) == 1
    assert "exists already" in capsys.readouterr().err
    assert example.read_text() == single
    assert sorted(p.name for p in example.parent.iterdir() if "state" not in p.name) == [
        "accounts", "acnsd.yaml"]
