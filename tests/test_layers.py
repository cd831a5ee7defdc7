"""The layers of DESIGN §4, checked on the source: no import cycle among assay's modules (a cycle
hidden behind a lazy import is a cycle all the same), and the quality engine imports neither
storage, web nor workflows."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src"


def _module(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path) -> set[str]:
    """assay modules a module imports, at module level or inside a function: an import deferred
    to break a cycle still makes one (only ``TYPE_CHECKING`` imports, which never run, are left out)."""
    tree = ast.parse(path.read_text())
    skipped = {
        id(sub)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
        for sub in ast.walk(node)
    }
    found: set[str] = set()
    for sub in ast.walk(tree):
        if id(sub) in skipped:
            continue
        if isinstance(sub, ast.ImportFrom) and sub.module and sub.module.startswith("assay"):
            found.add(sub.module)
            found.update(f"{sub.module}.{alias.name}" for alias in sub.names)
        elif isinstance(sub, ast.Import):
            found.update(alias.name for alias in sub.names if alias.name.startswith("assay"))
    return found


def _graph() -> dict[str, set[str]]:
    modules = {_module(p): p for p in SRC.rglob("*.py")}
    return {name: {m for m in _imports(path) if m in modules and m != name} for name, path in modules.items()}


def test_no_import_cycle_between_modules() -> None:
    graph = _graph()
    # A package's __init__ importing its submodules is how packages work; leave those edges out.
    edges = {a: {b for b in bs if not b.startswith(a + ".")} for a, bs in graph.items()}
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                cycle = [*stack[stack.index(nxt) :], nxt]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            if nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node)


def test_the_quality_engine_imports_no_database_web_or_workflow() -> None:
    graph = _graph()
    for name, imported in graph.items():
        if name.startswith("assay.quality"):
            bad = sorted(
                m for m in imported if m.startswith(("assay.storage", "assay.web", "assay.workflows"))
            )
            assert not bad, f"{name} imports {bad}"
