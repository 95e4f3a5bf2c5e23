"""No two modules of emulator/ import each other, directly or through others: every `import` and
`from` statement counts, including those inside functions and under TYPE_CHECKING (a deferred import
hides a cycle from Python, not from a reader)."""

from __future__ import annotations

import ast
import functools
from pathlib import Path

import emulator

ROOT = Path(emulator.__file__).parent


# Cycles another change removes; each entry is the set of modules in one cycle and why it is allowed.
def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(ROOT.rglob("*.py"))}


def imported(name: str, path: Path, known: set[str]) -> set[str]:
    """The emulator modules that `name` (at `path`) imports, anywhere in its body."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            # `from pkg import sub` imports the submodule when there is one, else a name of pkg.
            targets = [
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base for alias in node.names
            ]
        else:
            continue
        for target in targets:
            # `import emulator.a.b` binds through the deepest module that exists.
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name and target != "emulator":
                found.add(target)
    return found


@functools.cache
def graph() -> dict[str, set[str]]:
    found = modules()
    known = set(found)
    return {name: imported(name, path, known) for name, path in found.items()}


def cycles(edges: dict[str, set[str]]) -> list[frozenset[str]]:
    """The strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[frozenset[str]] = []
    for start in sorted(edges):
        if start in index:
            continue
        work = [(start, iter(sorted(edges[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(frozenset(component))
    return found


def describe(component: frozenset[str], edges: dict[str, set[str]]) -> str:
    inside = sorted(f"{a} -> {b}" for a in component for b in edges[a] if b in component)
    return "; ".join(inside)


def test_the_graph_counts_every_kind_of_import(tmp_path: Path) -> None:
    source = tmp_path / "m.py"
    source.write_text(
        "from typing import TYPE_CHECKING\n"
        "import emulator.b.c\n"
        "from . import d\n"
        "from .e import thing\n"
        "if TYPE_CHECKING:\n"
        "    from emulator.f import G\n"
        "def later():\n"
        "    from emulator.g import h\n"
        "    import numpy\n",
        encoding="utf-8",
    )
    known = {"emulator.a", "emulator.a.m", "emulator.a.d", "emulator.a.e", "emulator.b", "emulator.b.c"}
    known |= {"emulator.f", "emulator.g", "emulator.g.h"}
    assert imported("emulator.a.m", source, known) == {
        "emulator.b.c", "emulator.a.d", "emulator.a.e", "emulator.f", "emulator.g.h"
    }  # fmt: skip


def test_the_graph_of_emulator_includes_deferred_imports() -> None:
    assert "emulator.net.transport.patch_install" in graph()["emulator.cli"]  # imported inside a function


def test_cycle_finder_finds_a_cycle_and_only_it() -> None:
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert cycles(edges) == [frozenset({"a", "b", "c"})]


def test_no_import_cycles_between_emulator_modules() -> None:
    edges = graph()
    found = cycles(edges)
    assert not found, "import cycles:\n" + "\n".join(describe(c, edges) for c in found)
