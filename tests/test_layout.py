"""Dependencies point one way: catalog uses spotify and common; spotify uses common; common and
observability use neither; and no app imports from project/, which only wires them together."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

FORBIDDEN = {
    "catalog": {"project"},
    "spotify": {"project", "catalog"},
    "common": {"project", "catalog", "spotify"},
    "observability": {"project", "catalog", "spotify"},
}


def imported_packages(source: str) -> set[str]:
    """The top-level package of every absolute import in `source`, however deeply nested."""
    packages: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            packages.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            packages.add(node.module.split(".")[0])
    return packages


def test_imported_packages_sees_nested_and_from_imports():
    source = "import os\ndef f():\n    from project.db import x\n    import catalog.models\n"
    assert imported_packages(source) == {"os", "project", "catalog"}


@pytest.mark.parametrize("app", sorted(FORBIDDEN))
def test_app_imports_only_what_it_may(app):
    offenders = [
        f"{path.relative_to(ROOT)} imports {package}"
        for path in sorted((ROOT / app).rglob("*.py"))
        for package in sorted(imported_packages(path.read_text()) & FORBIDDEN[app])
    ]
    assert offenders == []
