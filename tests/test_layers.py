"""The package's import structure: no import cycle, and layers that only point down.

Every module of ``semhash_lib`` is parsed with ``ast`` (nothing is imported); each ``import`` /
``from ... import`` of a ``semhash_lib`` module, at module level or inside a function, is an edge. Importing
``a.b.c`` also runs the packages ``a.b`` (``__init__.py``), so an edge to a submodule adds one to each of its
packages (except the importer's own packages, which are already running).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "semhash_lib"

#: module prefix -> layer; a module's layer is that of its longest matching prefix. A module may import
#: modules of its own layer or lower ones, never higher ones.
LAYERS: dict[str, int] = {
    # 0: shared helpers (files, caches, search paths, devices, offline resources)
    "semhash_lib": 0, "semhash_lib.io": 0, "semhash_lib.paths": 0, "semhash_lib.devices": 0,
    "semhash_lib.resources": 0,
    # 1: data and targets
    "semhash_lib.data": 1, "semhash_lib.targets": 1,
    # 2: models and losses (and what is made of them without training: the method registry, frozen features)
    "semhash_lib.models": 2, "semhash_lib.losses": 2, "semhash_lib.methods": 2, "semhash_lib.loss_options": 2,
    "semhash_lib.features": 2,
    # 3: training (given its data), and the run folders of trained models (what run_grid writes, notebooks read)
    "semhash_lib.train": 3, "semhash_lib.runs": 3,
    # 4: evaluation (retrieval, metrics, code statistics)
    "semhash_lib.retrieval": 4, "semhash_lib.metrics": 4, "semhash_lib.codes": 4,
    # 4: the free-output toys of notebook 00 (losses on free outputs, judged with the metrics) and the
    # self-checking exercises (a student's function against the losses, metrics and targets)
    "semhash_lib.toy": 4, "semhash_lib.exercises": 4,
    # 5-7: the experiment package: its data, its protocols, its grids (the package face re-exports all three)
    "semhash_lib.experiment.data": 5, "semhash_lib.experiment.protocols": 6, "semhash_lib.experiment.grid": 7,
    "semhash_lib.experiment": 7,
    # 8: studies built on grids
    "semhash_lib.tuning": 8, "semhash_lib.regimes": 8, "semhash_lib.ablation": 8,
    # 9: results tables (pandas only)
    "semhash_lib.results": 9,
    # 10: figures (of data, codes, curves and the results tables below them)
    "semhash_lib.plotting": 10,
    # 11: what notebooks and the command line start from (the command's papermill runner included)
    "semhash_lib.profiles": 11, "semhash_lib.cli": 11, "semhash_lib.reproduce": 11, "semhash_lib.notebook": 11,
    "semhash_lib.book": 11,
    # 11: the prose a notebook writes from its own tables (it reads the studies' and toys' results)
    "semhash_lib.narrative": 11,
}

#: Known edges that break the rules, each with why it is still there. A listed edge that is gone fails
#: :func:`test_known_exceptions_still_exist`: remove it from here then.
KNOWN_EXCEPTIONS: dict[tuple[str, str], str] = {}


def module_files() -> dict[str, Path]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _targets(module: str, is_package: bool, node: ast.AST, modules: dict[str, Path]) -> list[str]:
    """The semhash_lib modules an import statement names (``from X import name`` -> ``X.name`` when that is a
    module, else ``X``)."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names if a.name.split(".")[0] == "semhash_lib"]
    if node.level:
        base = module.split(".") if is_package else module.split(".")[:-1]
        base = base[:len(base) - (node.level - 1)]
        target = ".".join(base + ([node.module] if node.module else []))
    else:
        target = node.module or ""
    if target.split(".")[0] != "semhash_lib":
        return []
    return [f"{target}.{a.name}" if f"{target}.{a.name}" in modules else target for a in node.names]


def import_graph() -> dict[str, set[str]]:
    """``{module: modules it imports}`` over every import statement of the package (module and function level)."""
    modules = module_files()
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for module, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        own_packages = {".".join(module.split(".")[:i]) for i in range(1, module.count(".") + 2)}
        for node in ast.walk(tree):
            if not isinstance(node, (ast.Import, ast.ImportFrom)):
                continue
            for target in _targets(module, path.name == "__init__.py", node, modules):
                parts = target.split(".")
                for i in range(2, len(parts) + 1):  # the target and the packages that importing it runs
                    name = ".".join(parts[:i])
                    if name in modules and name not in own_packages:
                        graph[module].add(name)
    return graph


def layer_of(module: str) -> int:
    parts = module.split(".")
    for i in range(len(parts), 0, -1):
        prefix = ".".join(parts[:i])
        if prefix in LAYERS:
            return LAYERS[prefix]
    raise KeyError(module)


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_every_module_has_a_layer():
    missing = []
    for m in module_files():
        try:
            layer_of(m)
        except KeyError:
            missing.append(m)
    assert not missing, f"modules without a layer in LAYERS (add them): {missing}"


def test_graph_sees_function_level_imports():
    """The parser finds imports inside functions too (the kind that made the old experiment <-> train loop)."""
    graph = import_graph()
    assert "semhash_lib.targets" in graph["semhash_lib.train.loop"]          # inside _Batches.__init__
    assert "semhash_lib.features" in graph["semhash_lib.experiment.data"]    # inside _features_for
    assert "semhash_lib.devices" in graph["semhash_lib.features"]


def test_no_import_cycle():
    graph = import_graph()
    for a, b in KNOWN_EXCEPTIONS:
        graph[a].discard(b)
    found = cycles(graph)
    assert not found, "import cycles (module -> module loops): " + "; ".join(" <-> ".join(c) for c in found)


def test_layers_only_point_down():
    graph = import_graph()
    up = sorted((a, layer_of(a), b, layer_of(b)) for a, targets in graph.items() for b in targets
                if layer_of(b) > layer_of(a) and (a, b) not in KNOWN_EXCEPTIONS)
    assert not up, "imports from a lower layer to a higher one:\n" + "\n".join(
        f"  {a} (layer {la}) -> {b} (layer {lb})" for a, la, b, lb in up)


@pytest.mark.parametrize("edge", sorted(KNOWN_EXCEPTIONS))
def test_known_exceptions_still_exist(edge):
    a, b = edge
    assert b in import_graph()[a], f"{a} -> {b} is gone: remove it from KNOWN_EXCEPTIONS"


def test_training_is_given_its_data():
    """train/ never reaches the experiment package (which builds the data and runs grids of train())."""
    graph = import_graph()
    seen, todo = set(), [m for m in graph if m.startswith("semhash_lib.train")]
    while todo:
        m = todo.pop()
        if m not in seen:
            seen.add(m)
            todo += graph[m]
    assert not {m for m in seen if m.startswith("semhash_lib.experiment")}
