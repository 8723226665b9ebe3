"""control/document.py makes its YAML instances once per thread and indentation, not per
edit (making one globs ruamel's plug-in directory: issue 16's CPU per API change), and a
document parsed in the background reads with an instance of its own."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
import yaml
from acnsd.control import document
from acnsd.control.change import ZoneSettingsChanged
from acnsd.control.document import Document
from acnsd.control.edits import edit_zones

ZONES = "- name: {name}\n  dns_settings:\n    ns_ttl: 300\n"


def _edit(name: str, ttl: int) -> str:
    text = ZONES.format(name=name)
    return Document(Path(f"{name}.yaml"), text).edit(
        lambda doc: edit_zones(doc, ZoneSettingsChanged(name, {"ns_ttl": ttl})))


def test_edits_of_many_files_make_no_yaml_instance_after_the_first(
        monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[object] = []

    class Counted(document.YAML):
        def __init__(self, *args: object, **kwargs: object) -> None:
            made.append(self)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(document, "YAML", Counted)
    monkeypatch.setattr(document, "_DUMPERS", threading.local())
    _edit("first.test", 600)
    first = len(made)
    for n in range(5):
        assert yaml.safe_load(_edit(f"z{n}.test", 900 + n)) == [
            {"name": f"z{n}.test", "dns_settings": {"ns_ttl": 900 + n}}]
    assert len(made) == first


def test_a_background_parse_reads_with_an_instance_of_its_own(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(document, "BACKGROUND_PARSE", 10)
    used: list[tuple[object, str]] = []
    load = document.YAML.load

    def recorded(self: object, stream: str) -> object:
        used.append((self, threading.current_thread().name))
        return load(self, stream)

    monkeypatch.setattr(document.YAML, "load", recorded)
    # the first indentation tried: the instance that read it is the document's
    doc = Document(Path("big.yaml"), "  - name: big.test\n    dns_settings:\n      ns_ttl: 300\n")
    with pytest.raises(RuntimeError):
        doc.edit(lambda _: (_ for _ in ()).throw(RuntimeError("refused")))
    for thread in threading.enumerate():
        if thread.name == "acnsd-yaml-parse":
            thread.join(10)
    assert doc.data() == [{"name": "big.test", "dns_settings": {"ns_ttl": 300}}]
    background = [yaml_ for yaml_, thread in used if thread == "acnsd-yaml-parse"]
    mine = {yaml_ for yaml_, thread in used if thread != "acnsd-yaml-parse"}
    assert background and not mine & set(background)
