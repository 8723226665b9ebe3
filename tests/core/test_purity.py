"""The answering core is pure: no module of the `acnsd.dns` package imports asyncio,
socket, time, threading or prometheus_client (dnspython's own imports are its business),
and none reaches outside the package but for the shared error types."""

import ast
from pathlib import Path

import acnsd.dns
import pytest

DNS = Path(acnsd.dns.__file__).parent
MODULES = sorted(p.stem for p in DNS.glob("*.py") if p.stem != "__init__")
FORBIDDEN = {"asyncio", "socket", "time", "prometheus_client", "selectors", "threading"}


def test_the_dns_package_is_covered_whole():
    assert {"core", "compiler", "lookup", "render", "wire", "cache", "outcome", "plan",
            "zonemap", "delta"} <= set(MODULES)


@pytest.mark.parametrize("module", MODULES)
def test_dns_module_imports_no_io(module):
    imported = set()
    for node in ast.walk(ast.parse((DNS / f"{module}.py").read_text())):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            imported.add(node.module.split(".")[0])
            assert node.module.split(".")[0] != "acnsd", f"{module} imports {node.module}"
        elif isinstance(node, ast.ImportFrom) and node.level == 1:
            assert node.module in MODULES, f"{module} imports acnsd.dns.{node.module}"
        elif isinstance(node, ast.ImportFrom) and node.level == 2:
            assert node.module == "errors", f"{module} imports acnsd.{node.module}"
        elif isinstance(node, ast.ImportFrom):
            raise AssertionError(f"{module} imports from {'.' * node.level}{node.module}")
    assert not imported & FORBIDDEN
