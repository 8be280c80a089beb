"""The package's layers point one way: every import of an rnnmem module goes to its own layer or one below.

The import graph is read from the source (every ``import``, also those inside functions),
so a cycle hidden by a function-level import is found too. Run this file as a script to
print the graph.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = "rnnmem"

# Bottom to top. A module may import its own layer and the layers below, never one above.
LAYERS = [
    ("_version", "errors", "ownership", "fileio", "validation", "progress"),
    ("units", "data"),
    ("model", "ses", "baselines", "train", "adapters"),
    ("indicators", "language_model"),
    ("guidance",),
    ("report",),
    ("memory_report",),
    ("assessment", "assessment_views"),
    ("pipeline",),
    ("sweep",),
    ("cli",),
]
LAYER_OF = {component: i for i, names in enumerate(LAYERS) for component in names}


def modules() -> dict[str, Path]:
    """Dotted name -> file of every module of the package (a package's __init__ under the package's name)."""
    out = {}
    for path in sorted((SRC / PACKAGE).rglob("*.py")):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def import_graph() -> dict[str, set[str]]:
    """Module -> the rnnmem modules it imports (``from pkg import name`` counts as pkg.name when that is a module)."""
    known = modules()
    graph = {}
    for name, path in known.items():
        targets = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets |= {f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in known else node.module
                            for a in node.names}
        graph[name] = {t for t in targets if t == PACKAGE or t.startswith(PACKAGE + ".")}
    return graph


def component(module: str) -> str:
    """The top-level part of rnnmem a module belongs to: rnnmem.report.plots -> report."""
    return module.split(".")[1] if "." in module else module


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of more than one node (Tarjan): each is a cycle of imports."""
    index, low, stack, on_stack, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                out.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


GRAPH = import_graph()
INSIDE = {m: targets for m, targets in GRAPH.items() if m != PACKAGE}  # the package's facade sits above everything


def test_every_module_has_a_layer():
    assert not {component(m) for m in INSIDE} - set(LAYER_OF), "add the new module to LAYERS"


def test_no_module_imports_the_package_facade():
    offenders = sorted(m for m, targets in INSIDE.items() if PACKAGE in targets)
    assert not offenders, f"import from the modules, not from `{PACKAGE}` itself: {offenders}"


def test_no_import_runs_up_a_layer():
    upward = [f"{m} ({component(m)}, layer {LAYER_OF[component(m)]}) -> {t} ({component(t)}, layer "
              f"{LAYER_OF[component(t)]})" for m, targets in sorted(INSIDE.items()) for t in sorted(targets)
              if t != PACKAGE and LAYER_OF[component(t)] > LAYER_OF[component(m)]]
    assert not upward, "\n".join(upward)


def test_no_two_modules_import_each_other():
    assert not cycles(INSIDE), cycles(INSIDE)


def test_no_two_parts_of_the_package_import_each_other():
    parts = {}
    for m, targets in INSIDE.items():
        parts.setdefault(component(m), set()).update(component(t) for t in targets if component(t) != component(m))
    assert not cycles(parts), cycles(parts)


@pytest.mark.parametrize("graph, expected", [({"a": {"b"}, "b": {"a"}}, [["a", "b"]]), ({"a": {"b"}, "b": set()}, [])])
def test_the_cycle_finder_finds_a_cycle_and_only_a_cycle(graph, expected):
    assert cycles(graph) == expected


if __name__ == "__main__":
    for layer, names in reversed(list(enumerate(LAYERS))):
        print(f"layer {layer}: {', '.join(names)}")
        for m in sorted(m for m in INSIDE if component(m) in names):
            inner = sorted(t.removeprefix(PACKAGE + ".") for t in INSIDE[m])
            print(f"  {m.removeprefix(PACKAGE + '.')} -> {', '.join(inner) or '-'}")
    sys.exit(0)
