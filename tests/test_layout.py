"""The package's layout keeps the rules of DESIGN.md section 4, read from the source with ``ast``.

* a module imports only from its own stage folder and from earlier stages (errors, model,
  kernels, data, engine, portfolio, calibration, plan, tracking, report, then cli, bench and
  distributed on top); the one forward reference allowed is a convenience method importing
  ``cxopt.report`` inside its body (``Plan.to_markdown``);
* kernels import nothing of cxopt but kernels; nothing in the core imports ``cxopt.distributed``;
* no import circle between modules;
* no module takes another module's ``_private`` name;
* no module past ~500 lines.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "cxopt"
STAGES = ["errors", "model", "kernels", "data", "engine", "portfolio", "calibration", "plan", "tracking", "report"]
TOP = {"cli", "bench", "distributed"}
MAX_LINES = 500


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def stage_of(module: str) -> str | None:
    """``cxopt.engine.draws`` -> ``engine``; the package itself (the public API) has none."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


def rank(stage: str) -> int:
    if stage == "version":  # the version string: imports nothing, read by anything
        return 0
    return STAGES.index(stage) if stage in STAGES else len(STAGES)


def resolve(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def imports(module: str) -> list[tuple[str, list[str], bool]]:
    """(imported cxopt module, names taken from it, inside a function?) for every import."""
    path = MODULES[module]
    tree = ast.parse(path.read_text(), str(path))
    found = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            inside = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef))
            if isinstance(child, ast.Import):
                found.extend((a.name, [], inside) for a in child.names if a.name.split(".")[0] == "cxopt")
            elif isinstance(child, ast.ImportFrom):
                target = resolve(module, path.name == "__init__.py", child)
                if target.split(".")[0] != "cxopt":
                    continue
                names = [a.name for a in child.names]
                submodules = [f"{target}.{n}" for n in names if f"{target}.{n}" in MODULES]
                if submodules:
                    found.extend((s, [], inside) for s in submodules)
                    names = [n for n in names if f"{target}.{n}" not in MODULES]
                if names:
                    found.append((target, names, inside))
            visit(child, inside)

    visit(tree, False)
    return found


def private_attributes(module: str) -> list[str]:
    """``alias._name`` where ``alias`` is an imported cxopt module."""
    path = MODULES[module]
    tree = ast.parse(path.read_text(), str(path))
    aliases = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            aliases |= {a.asname or a.name.split(".")[0] for a in node.names if a.name.startswith("cxopt")}
        elif isinstance(node, ast.ImportFrom):
            target = resolve(module, path.name == "__init__.py", node)
            aliases |= {a.asname or a.name for a in node.names if f"{target}.{a.name}" in MODULES}
    return [f"{node.value.id}.{node.attr}" for node in ast.walk(tree)
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
            and node.value.id in aliases and node.attr.startswith("_") and not node.attr.startswith("__")]


def test_the_package_has_a_folder_per_stage():
    folders = {p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert folders >= set(STAGES[1:]) | {"cli", "bench"}
    assert (PACKAGE / "errors.py").exists() and (PACKAGE / "distributed.py").exists()


@pytest.mark.parametrize("module", sorted(m for m in MODULES if stage_of(m)))
def test_imports_flow_one_way(module):
    here = stage_of(module)
    wrong = []
    for target, _, in_function in imports(module):
        there = stage_of(target)
        if there is None:
            wrong.append(f"{target} (the public API: import from the stage's module)")
        elif here == "kernels" and there != "kernels":
            wrong.append(f"{target} (kernels import only kernels)")
        elif there == "distributed" and here not in TOP:
            wrong.append(f"{target} (the core never imports the distributed engine)")
        elif rank(there) > rank(here) and not (in_function and there == "report" and here not in TOP):
            wrong.append(f"{target} (stage {there!r} comes after {here!r})")
    assert not wrong, f"{module} imports " + "; ".join(wrong)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_module_takes_another_modules_private_name(module):
    taken = [f"{target}.{name}" for target, names, _ in imports(module) for name in names
             if name.startswith("_") and not name.startswith("__") and target != module]
    taken += private_attributes(module)
    assert not taken, f"{module} reaches for private names: {taken}"


def test_no_import_circles():
    graph = {m: {t for t, _, inside in imports(m) if t in MODULES and t != m
                 and not (inside and stage_of(t) == "report")} for m in MODULES}
    # a package __init__ importing its children is not a circle with them
    graph = {m: {t for t in ts if not t.startswith(m + ".")} for m, ts in graph.items()}
    state: dict[str, int] = {}
    cycles = []

    def walk(m: str, stack: list[str]) -> None:
        state[m] = 1
        for t in sorted(graph[m]):
            if state.get(t) == 1:
                cycles.append(stack[stack.index(t):] + [t] if t in stack else [m, t])
            elif t not in state:
                walk(t, stack + [t])
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            walk(m, [m])
    assert not cycles, "import circles: " + "; ".join(" -> ".join(c) for c in cycles)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_module_past_500_lines(module):
    lines = len(MODULES[module].read_text().splitlines())
    assert lines <= MAX_LINES, f"{module} has {lines} lines: two jobs, split it"


def test_the_checker_sees_a_forward_import(tmp_path, monkeypatch):
    """The rule can fail: a model module importing the engine is reported."""
    fake = PACKAGE / "model" / "scenario.py"
    monkeypatch.setitem(MODULES, "cxopt.model._probe", tmp_path / "probe.py")
    (tmp_path / "probe.py").write_text("from cxopt.engine.draws import draw_trials\nfrom cxopt.model.scenario import _x\n")
    assert fake.exists()
    with pytest.raises(AssertionError, match="comes after"):
        test_imports_flow_one_way("cxopt.model._probe")
    with pytest.raises(AssertionError, match="private"):
        test_no_module_takes_another_modules_private_name("cxopt.model._probe")
