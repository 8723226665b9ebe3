"""The answering core is pure: none of its modules imports asyncio, socket, time or
prometheus_client (dnspython's own imports are its business)."""

import ast
from pathlib import Path

import acnsd
import pytest

CORE = ["core", "compiler", "lookup", "render", "wire", "cache", "outcome", "plan", "errors"]
FORBIDDEN = {"asyncio", "socket", "time", "prometheus_client", "selectors", "threading"}


@pytest.mark.parametrize("module", CORE)
def test_core_module_imports_no_io(module):
    path = Path(acnsd.__file__).parent / f"{module}.py"
    imported = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            imported.add(node.module.split(".")[0])
        elif isinstance(node, ast.ImportFrom) and node.level == 1 and node.module:
            assert node.module in CORE, f"{module} imports acnsd.{node.module}"
    assert not imported & FORBIDDEN
