"""The code's layout rules, checked on its source: modules that stay small, libraries that
know nothing of the service, and views that leave their transactions to one place."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
MAX_LINES = 450


def modules(folder: str) -> list[Path]:
    return sorted((REPO / folder).rglob("*.py"))


def imported(path: Path) -> set[str]:
    """The modules a source file imports, at its top or inside functions."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_no_module_of_the_service_is_longer_than_450_lines() -> None:
    lengths = {
        str(path.relative_to(REPO)): len(path.read_text().splitlines())
        for path in modules("warehouse")
    }
    assert len(lengths) > 50
    assert {name: n for name, n in lengths.items() if n > MAX_LINES} == {}


@pytest.mark.parametrize("library", ["scanners", "labels"])
def test_the_libraries_import_nothing_of_the_service(library: str) -> None:
    found = {
        f"{path.relative_to(REPO)}: {name}"
        for path in modules(library)
        for name in imported(path)
        if name == "warehouse" or name.startswith(("warehouse.", "flask", "sqlalchemy"))
    }
    assert found == set()


@pytest.mark.parametrize("folder", ["warehouse/pages", "warehouse/api"])
def test_no_view_commits_or_rolls_back(folder: str) -> None:
    """Views begin and end their transactions through warehouse.web only."""
    calls = {
        f"{path.relative_to(REPO)}:{node.lineno}"
        for path in modules(folder)
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in ("commit", "rollback")
    }
    assert calls == set()


def test_no_two_database_test_modules_define_a_fixture_of_one_name() -> None:
    """tests/pg collects every module of tests/api and tests/system into one namespace, where
    the last of two fixtures of one name would silently serve both modules' tests."""
    defined: dict[str, str] = {}
    clashes = []
    for folder in ("tests/api", "tests/system"):
        for path in modules(folder):
            for node in ast.parse(path.read_text()).body:
                fixture = isinstance(node, ast.FunctionDef) and any(
                    "fixture" in ast.unparse(decorator) for decorator in node.decorator_list
                )
                if fixture:
                    assert isinstance(node, ast.FunctionDef)
                    if node.name in defined:
                        clashes.append(f"{node.name}: {defined[node.name]} and {path.name}")
                    defined[node.name] = path.name
    assert not clashes, clashes
