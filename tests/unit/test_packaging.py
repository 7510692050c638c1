"""Every package jobdeck imports is one it declares. `scripts/serve` installs
jobdeck without the test extras, so a package that only the tests bring along
(httpx was one, for the CLI) works in the test suite and nowhere else."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def imported_packages() -> set[str]:
    """The top-level names jobdeck's modules import, other than its own and
    the standard library's."""
    names: set[str] = set()
    for path in (ROOT / "jobdeck").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return names - set(sys.stdlib_module_names) - {"jobdeck"}


def declared_distributions() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return {canonical(re.split(r"[\s<>=!~\[;]", r, maxsplit=1)[0])
            for r in project["dependencies"]}  # fmt: skip


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_every_package_jobdeck_imports_is_a_declared_dependency() -> None:
    providers = packages_distributions()
    declared = declared_distributions()

    undeclared = {
        name
        for name in imported_packages()
        if not declared & {canonical(d) for d in providers.get(name, [name])}
    }

    assert undeclared == set()
