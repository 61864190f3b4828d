"""The package's shape: its modules import each other one way only, and
each stays small enough to read whole.

Every import between package modules counts: at module level, under
``TYPE_CHECKING`` and inside function bodies alike, since each ties the
two modules together.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "flask_scopes"
#: The most lines a module may have.
MAX_LINES = 450


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def imported(name: str, path: Path, known: set[str]) -> set[str]:
    """The package modules ``name`` imports, anywhere in its body."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            # "from .pkg import mod" imports the module pkg.mod.
            targets = [f"{base}.{alias.name}" for alias in node.names] + [base]
        else:
            continue
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def graph() -> dict[str, set[str]]:
    found = modules()
    known = set(found)
    return {name: imported(name, path, known) for name, path in found.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """One cycle through each strongly connected group of modules."""
    found = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        path.append(node)
        for target in sorted(edges[node]):
            if state.get(target) == 1:
                found.append([*path[path.index(target) :], target])
            elif target not in state:
                visit(target, path)
        path.pop()
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node, [])
    return found


def test_the_graph_sees_every_kind_of_import(tmp_path: Path) -> None:
    # The checker itself: an import in a function body or under
    # TYPE_CHECKING is an edge like any other.
    source = tmp_path / "m.py"
    source.write_text(
        "import typing as t\n"
        "if t.TYPE_CHECKING:\n    from .b import X\n"
        "def f():\n    from ..c import d\n"
        "from . import e\n"
    )
    known = {"p.q.b", "p.c.d", "p.q.e", "p.q"}
    assert imported("p.q.m", source, known) == {"p.q.b", "p.c.d", "p.q.e", "p.q"}
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == [["a", "b", "c", "a"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_circle() -> None:
    edges = graph()
    assert len(edges) > 20, "the package's modules were not found"
    assert cycles(edges) == []


def test_lower_floors_never_import_the_top() -> None:
    top = {
        "flask_scopes.interface",
        "flask_scopes.extension",
        "flask_scopes.runtime",
        "flask_scopes.cli",
        "flask_scopes.inspection",
    }
    for name, targets in graph().items():
        floor = name.split(".")[1] if "." in name else ""
        if floor in {"codecs", "stores", "session", "flash", "errors", "settings"}:
            assert not targets & top, f"{name} imports {sorted(targets & top)}"


def test_the_scopes_do_not_know_each_other() -> None:
    for name, targets in graph().items():
        if name.startswith("flask_scopes.session"):
            assert not any(t.startswith("flask_scopes.flash") for t in targets), name
        if name.startswith("flask_scopes.flash"):
            assert not any(t.startswith("flask_scopes.session") for t in targets), name


@pytest.mark.parametrize("name", sorted(modules()))
def test_module_is_small(name: str) -> None:
    lines = len(modules()[name].read_text("utf-8").splitlines())
    assert lines <= MAX_LINES, f"{name} has {lines} lines"
