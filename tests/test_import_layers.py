"""The import graph of the package runs one way: no module imports (even inside a function) a module that
imports it back, directly or through others. Layers, lowest first: errors -> cards -> codecs/archs/preprocess
-> modeling -> export -> manifest/runtimes -> verify -> reports -> build -> cli."""

from __future__ import annotations

import ast
from pathlib import Path

import mobilesdk

PACKAGE = Path(mobilesdk.__file__).resolve().parent


def _module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _graph() -> dict[str, set[str]]:
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts}
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        tree = ast.parse(path.read_text(encoding="utf-8"))
        typing_only = {
            id(n)
            for block in ast.walk(tree)
            if isinstance(block, ast.If) and "TYPE_CHECKING" in ast.unparse(block.test)
            for n in ast.walk(block)
        }  # imports for annotations only never run
        for node in ast.walk(tree):
            if id(node) in typing_only:
                continue
            targets = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    base = ".".join(
                        package.split(".")[: len(package.split(".")) - node.level + 1]
                        + ([base] if base else [])
                    )
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]
            for target in targets:
                if target in modules and target != name:
                    graph[name].add(target)
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt) :] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_the_import_graph_has_no_cycle():
    cycle = _cycle(_graph())
    assert cycle is None, " -> ".join(cycle)


def test_low_layers_do_not_reach_up():
    graph = _graph()
    for low, high in (
        ("mobilesdk.cards", "mobilesdk.build"),
        ("mobilesdk.codecs", "mobilesdk.verify"),
        ("mobilesdk.verify", "mobilesdk.build"),
        ("mobilesdk.build", "mobilesdk.cli"),
    ):
        reach, todo = set(), [m for m in graph if m == low or m.startswith(low + ".")]
        while todo:
            m = todo.pop()
            if m not in reach:
                reach.add(m)
                todo.extend(graph[m])
        assert not any(m == high or m.startswith(high + ".") for m in reach), f"{low} reaches {high}"
