"""The scenario package's own imports: no circle, no private names, no hidden imports.

Read from the source with :mod:`ast` (imports inside functions included), so a
circle cannot hide behind a function-level import.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "sustain" / "scenario"
PREFIX = "sustain.scenario"
#: Optional extras imported where they are needed (each with a comment saying why).
LAZY = {("load", "pyarrow.parquet"), ("load", "openpyxl")}


def _modules() -> dict[str, ast.Module]:
    return {
        p.stem: ast.parse(p.read_text(encoding="utf-8"), filename=str(p))
        for p in sorted(PACKAGE.glob("*.py"))
    }


def _imports(tree: ast.Module) -> list[tuple[ast.ImportFrom | ast.Import, bool]]:
    """Every import statement and whether it sits inside a function."""
    out: list[tuple[ast.ImportFrom | ast.Import, bool]] = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import | ast.ImportFrom):
                out.append((child, in_function))
            inner = in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
            visit(child, inner)

    visit(tree, False)
    return out


def _internal_edges(tree: ast.Module) -> set[str]:
    """Modules of the package that ``tree`` imports (``from sustain.scenario import x``
    counts as importing module ``x`` when ``x`` is one)."""
    names = {p.stem for p in PACKAGE.glob("*.py")}
    edges: set[str] = set()
    for node, _ in _imports(tree):
        if isinstance(node, ast.ImportFrom) and node.module is not None:
            if node.module.startswith(PREFIX + "."):
                edges.add(node.module.split(".")[2])
            elif node.module == PREFIX:
                edges |= {a.name for a in node.names if a.name in names}
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith(PREFIX + "."):
                    edges.add(alias.name.split(".")[2])
    return edges


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """An import circle of ``graph`` (module -> modules it imports), or None."""
    done: set[str] = set()
    on_path: list[str] = []

    def visit(node: str) -> list[str] | None:
        if node in on_path:
            return [*on_path[on_path.index(node):], node]
        if node in done:
            return None
        on_path.append(node)
        for dep in sorted(graph.get(node, ())):
            found = visit(dep)
            if found is not None:
                return found
        on_path.pop()
        done.add(node)
        return None

    for name in sorted(graph):
        found = visit(name)
        if found is not None:
            return found
    return None


def test_the_package_imports_form_no_circle() -> None:
    graph = {name: _internal_edges(tree) - {name} for name, tree in _modules().items()}
    graph.pop("__init__")  # the package's front door: nothing in the package imports it
    assert all("__init__" not in deps for deps in graph.values())
    assert {"load", "model", "stockpile", "timeline", "validate"} <= set(graph)
    assert _cycle(graph) is None


def test_the_circle_check_sees_a_circle_behind_a_function_import() -> None:
    """The control: ``validate`` importing ``stockpile`` inside a function while
    ``stockpile`` imports ``validate`` at the top is a circle."""
    validate = ast.parse("def f():\n    from sustain.scenario.stockpile import g\n")
    stockpile = ast.parse("from sustain.scenario.validate import did_you_mean\n")
    graph = {"validate": _internal_edges(validate), "stockpile": _internal_edges(stockpile)}
    assert _cycle(graph) == ["stockpile", "validate", "stockpile"]


def test_a_module_imports_only_public_names_of_its_neighbours() -> None:
    private = [
        f"{name}: {node.module}.{alias.name}"
        for name, tree in _modules().items()
        for node, _ in _imports(tree)
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sustain")
        for alias in node.names
        if alias.name.startswith("_")
    ]
    assert private == []


def test_no_import_inside_a_function_but_the_optional_extras() -> None:
    hidden = {
        (name, alias.name if isinstance(node, ast.Import) else str(node.module))
        for name, tree in _modules().items()
        for node, inside in _imports(tree)
        if inside
        for alias in node.names
    }
    assert hidden == LAZY
