"""The package's layers, read from the source: no upward import, no circle.

Every import statement of ``src/sustain`` is read with :mod:`ast`, including
imports inside functions, so a lazy import cannot hide a wrong direction.
A module may import its own package and any package of a lower layer; the
simulator and the analytic engine do not import each other (the cross-check
module sits above both).
"""

from __future__ import annotations

import ast
from pathlib import Path

from tests.scenario.test_layers import _cycle

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "sustain"

#: Layer of each top-level module or package of ``sustain``; lower imports nothing higher.
LAYERS = {
    "errors": 0,
    "_types": 0,
    "_paths": 0,
    "_procs": 0,
    "_signals": 0,
    "scenario": 1,
    "readiness": 2,
    "optimize": 3,
    "simulate": 3,
    "stockpile": 3,
    "crosscheck": 4,
    "deliver": 4,
    "sweep": 4,
    "report": 5,
    "storage": 5,
    # The public facade (``sustain.evaluate`` …) and the front ends that may use it.
    "__init__": 6,
    "cli": 6,
    "web": 6,
    "__main__": 7,
}
#: Pairs of the same layer that must not import each other (either way).
APART = {frozenset({"simulate", "readiness"}), frozenset({"simulate", "optimize"}),
         frozenset({"simulate", "stockpile"}), frozenset({"optimize", "stockpile"})}


def _unit(path: Path, root: Path = PACKAGE) -> str:
    """The top-level unit of ``sustain`` a source file belongs to."""
    return path.relative_to(root).parts[0].removesuffix(".py")


def _module_name(path: Path, src: Path = SRC) -> str:
    parts = list(path.relative_to(src).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _targets(path: Path, src: Path = SRC) -> list[tuple[str, int]]:
    """Modules of ``sustain`` imported by ``path`` (anywhere in it), with their lines.

    ``from sustain.x import y`` names module ``sustain.x.y`` when that is a module.
    """
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    here = _module_name(path, src)
    package = here if path.name == "__init__.py" else here.rpartition(".")[0]
    out: list[tuple[str, int]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(a.name, node.lineno) for a in node.names if a.name.startswith("sustain")]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            if not (module == "sustain" or module.startswith("sustain.")):
                continue
            for alias in node.names:
                sub = f"{module}.{alias.name}"
                is_module = (src / (sub.replace(".", "/") + ".py")).exists() or (
                    src / sub.replace(".", "/") / "__init__.py"
                ).exists()
                out.append((sub if is_module else module, node.lineno))
    return out


def _sources(root: Path = PACKAGE) -> list[Path]:
    return sorted(root.rglob("*.py"))


def layer_problems(src: Path = SRC) -> list[str]:
    """Imports that go up a layer, or between units that stay apart."""
    root = src / "sustain"
    wrong: list[str] = []
    for path in _sources(root):
        unit = _unit(path, root)
        for module, line in _targets(path, src):
            parts = module.split(".")
            target = parts[1] if len(parts) > 1 else "__init__"
            if target == unit or unit not in LAYERS or target not in LAYERS:
                continue
            where = f"{path.relative_to(src)}:{line} imports {module}"
            if LAYERS[target] > LAYERS[unit]:
                wrong.append(f"{where} (layer {LAYERS[target]} above {LAYERS[unit]})")
            elif frozenset({unit, target}) in APART:
                wrong.append(f"{where} ({unit} and {target} stay apart)")
    return wrong


def import_circle(src: Path = SRC) -> list[str] | None:
    """A circle of module imports, or None.  A module naming a package that
    contains it is not an edge: Python imports the package first anyway."""
    root = src / "sustain"
    names = {_module_name(p, src) for p in _sources(root)}
    graph = {
        _module_name(p, src): {
            m for m, _ in _targets(p, src)
            if m in names and not _module_name(p, src).startswith(m + ".")
        }
        for p in _sources(root)
    }
    return _cycle(graph)


def test_every_unit_has_a_layer() -> None:
    missing = {_unit(p) for p in _sources()} - LAYERS.keys()
    assert not missing, f"give these a layer in LAYERS: {sorted(missing)}"


def test_no_upward_or_sideways_import() -> None:
    problems = layer_problems()
    assert not problems, "\n".join(problems)


def test_no_import_circle_between_modules() -> None:
    found = import_circle()
    assert found is None, "import circle: " + " -> ".join(found or [])


def _fake_tree(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = tmp_path / "sustain" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tmp_path


def test_the_checker_finds_a_lazy_upward_import(tmp_path: Path) -> None:
    src = _fake_tree(tmp_path, {
        "__init__.py": "",
        "readiness/__init__.py": "",
        "readiness/metric.py": "def f():\n    from ..optimize import greedy\n",
        "optimize/__init__.py": "",
        "optimize/greedy.py": "from sustain.readiness import metric\n",
        "simulate/__init__.py": "",
        "simulate/kernel.py": "import sustain.readiness.metric\n",
    })
    problems = layer_problems(src)
    assert any("readiness/metric.py:2 imports sustain.optimize.greedy" in p for p in problems)
    assert any("simulate/kernel.py:1" in p and "stay apart" in p for p in problems)
    assert not any("optimize/greedy.py" in p for p in problems)


def test_the_checker_finds_a_circle(tmp_path: Path) -> None:
    src = _fake_tree(tmp_path, {
        "__init__.py": "",
        "scenario/__init__.py": "from .load import load\n",
        "scenario/load.py": "def load():\n    from sustain.scenario.model import M\n",
        "scenario/model.py": "from sustain.scenario import load\n",
    })
    assert import_circle(src) == [
        "sustain.scenario.load", "sustain.scenario.model", "sustain.scenario.load"
    ]
