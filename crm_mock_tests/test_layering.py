"""The package's layers, read from the source: every import (at module level or inside a function) points
down the layering model → scenario → edge_cases → generate → {sinks, consistency} → defs → cli, and no
module imports itself back through others, so no import had to be deferred to dodge a cycle."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "crm_mock"

# lower ranks never import higher ones; a layer may import its own modules
RANKS = {
    "model": 0,
    "profile": 0,  # plots over plain arrays, nothing of ours
    "scenario": 1,
    "edge_cases": 2,
    "generate": 3,
    "sinks": 4,
    "consistency": 5,  # reads the tier's tables through the store and the databases through the sinks' port
    "replay": 5,  # sends the plan's events; writes nothing through the sinks but reads their stores
    "mapping": 6,  # loads and checks through the services' own tables: sinks, consistency and replay below it
    "defs": 7,
    "definitions": 8,
    "instance": 8,
    "celery_worker": 8,  # the Celery workers' entry point, beside the Dagster root it loads steps from
    "step_server": 8,  # what the multiprocess executor's fork server loads, beside the Dagster root it builds
    "cli": 9,
    "terminal": 9,  # what `crm-mock materialize` prints while a run goes on
}


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _imports(path: Path, modules: dict[str, Path]) -> list[tuple[str, int, bool]]:
    """(imported module, line, inside a function) for every import of one of our modules."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    in_function: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            in_function.update(id(sub) for sub in ast.walk(node))
    found = []
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # `from package import submodule` imports the submodule (and the package only for other names)
            submodules = [f"{node.module}.{a.name}" for a in node.names if f"{node.module}.{a.name}" in modules]
            names = submodules + ([node.module] if len(submodules) < len(node.names) else [])
        for name in names:
            if name in modules:
                found.append((name, node.lineno, id(node) in in_function))
    return found


def _layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "crm_mock"


def test_every_subpackage_has_a_rank():
    layers = {_layer(m) for m in _modules()} - {"crm_mock"}
    assert layers <= set(RANKS), f"give these a rank in the layering: {sorted(layers - set(RANKS))}"


def test_imports_point_down_the_layers():
    modules = _modules()
    upward = []
    for module, path in modules.items():
        source = _layer(module)
        if source == "crm_mock":
            continue
        for target, line, _ in _imports(path, modules):
            if RANKS[_layer(target)] > RANKS[source]:
                upward.append(f"{path.relative_to(PACKAGE.parent)}:{line}: {source} imports {target}")
    assert not upward, "imports against the layering:\n" + "\n".join(upward)


def test_no_module_imports_itself_back():
    """The whole import graph (deferred imports included) has no cycle, so none is being dodged."""
    modules = _modules()
    graph = {m: {t for t, _, _ in _imports(p, modules) if t != m} for m, p in modules.items()}
    cycles = _cycles(graph)
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return out


@pytest.mark.parametrize("layer", ["generate", "edge_cases", "scenario", "model", "sinks", "consistency"])
def test_no_deferred_imports_below_the_entry_points(layer: str):
    """Below the CLI and the Dagster definitions, every import is at module level (the CLI and a plot
    asset defer heavy imports to start fast; nothing below them needs to)."""
    modules = _modules()
    deferred = [f"{p.relative_to(PACKAGE.parent)}:{line}: {target}"
                for m, p in modules.items() if _layer(m) == layer
                for target, line, inside in _imports(p, modules) if inside]
    assert not deferred, "imports inside function bodies:\n" + "\n".join(deferred)
