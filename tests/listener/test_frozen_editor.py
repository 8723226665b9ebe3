"""The server's editor is frozen with its tables (serve.make_editor): the collector never
walks its index and sources, whose full collection stopped answering for a quarter of a
second at 100,000 zones. In a process of its own: gc.freeze() is for the whole process."""

from __future__ import annotations

import shutil
import subprocess
import sys

from tooling import REPO, SERVER

PROGRAM = """
import gc, sys
from acnsd.daemon.serve import load_tables, make_editor
config = sys.argv[1]
loaded, tables, state = load_tables(config)
editor = make_editor(config, None, loaded, state)
tracked = {id(o) for o in gc.get_objects()}
print(id(editor.pipeline.index) in tracked, id(editor.sources) in tracked, id(editor) in tracked)
"""


def test_the_editor_is_left_out_of_every_collection(tmp_path):
    shutil.copytree(REPO / "config", tmp_path / "config")
    shutil.copytree(REPO / "zones", tmp_path / "zones")
    done = subprocess.run([sys.executable, "-c", PROGRAM, str(tmp_path / "config" / "acnsd.yaml")],
                          capture_output=True, text=True, timeout=120,
                          env={"PYTHONPATH": str(SERVER), "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", "False", "False"]
