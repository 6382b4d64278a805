"""The package's architecture rules, read from the source (see docs/architecture.md)."""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx
import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "geoattract"

#: Rank of each top-level part of the package: a module may import its own part, the core
#: (rank 0) and parts of a lower rank only.
RANKS: dict[str, int] = {
    "errors": 0,
    "settings": 0,
    "config": 0,
    "_util": 0,
    "territory": 1,
    "network": 2,
    "facilities": 3,
    "routing": 4,
    "accessibility": 5,
    "transition": 6,
    "demography": 6,
    "scoring": 7,
    "outputs": 8,
    "app": 9,
    "datasets": 9,
}

#: ``datasets`` (sample data for the examples) sits beside ``app``: nothing imports it.
#: The public facade (lazy re-exports) and the ``python -m`` entry point sit above everything.
FACADES = {"geoattract", "geoattract.__main__"}

MAX_MODULE_LINES = 800


def _module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


MODULES = _modules()


def _imports(name: str, path: Path) -> list[tuple[str, list[str], int]]:
    """(imported module, imported names, line) for every import of the package, anywhere."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    is_pkg = path.name == "__init__.py"
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [
                (a.name, [], node.lineno) for a in node.names if a.name.startswith("geoattract")
            ]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".") if is_pkg else name.split(".")[:-1]
                base = base[: len(base) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            if module.startswith("geoattract"):
                names = [a.name for a in node.names]
                # "from geoattract.x import y" may import the submodule y
                subs = [n for n in names if f"{module}.{n}" in MODULES]
                out += [(f"{module}.{n}", [], node.lineno) for n in subs]
                out.append((module, [n for n in names if n not in subs], node.lineno))
    return out


def _part(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _resolve(module: str) -> str | None:
    """The package module an import refers to (its longest known prefix)."""
    parts = module.split(".")
    while parts:
        cand = ".".join(parts)
        if cand in MODULES:
            return cand
        parts = parts[:-1]
    return None


IMPORTS = {name: _imports(name, path) for name, path in MODULES.items()}


def test_every_part_has_a_rank():
    parts = {_part(m) for m in MODULES if m not in FACADES}
    assert parts <= set(RANKS), f"parts without a rank: {sorted(parts - set(RANKS))}"


def test_stages_import_only_earlier_stages_and_the_core():
    violations = []
    for name, imports in IMPORTS.items():
        if name in FACADES:
            continue
        mine = _part(name)
        for target, _names, line in imports:
            other = _part(target)
            if not other or other == mine:
                continue
            if RANKS[other] == 0 and RANKS[mine] == 0:
                continue  # the core parts use each other (no cycle, checked below)
            if RANKS[other] >= RANKS[mine]:
                violations.append(f"{name}:{line} imports {target}")
    assert not violations, "\n".join(violations)


def test_nothing_imports_the_app_layer():
    bad = [
        f"{name}:{line} imports {target}"
        for name, imports in IMPORTS.items()
        if name not in FACADES and _part(name) != "app"
        for target, _names, line in imports
        if _part(target) == "app"
    ]
    assert not bad, "\n".join(bad)


def test_no_private_name_crosses_a_module():
    bad = []
    for name, imports in IMPORTS.items():
        for target, names, line in imports:
            resolved = _resolve(target)
            if resolved == name:
                continue
            private = [n for n in names if n.startswith("_") and n != "__version__"]
            if private or any(p.startswith("_") and p != "_util" for p in target.split(".")[1:]):
                if private or target.split(".")[-1].startswith("_"):
                    bad.append(f"{name}:{line} imports {private or target} from {target}")
    assert not bad, "\n".join(bad)


def test_no_import_cycle_between_modules():
    g = nx.DiGraph()
    for name, imports in IMPORTS.items():
        if name in FACADES:
            continue
        for target, _names, _line in imports:
            resolved = _resolve(target)
            if resolved and resolved != name and resolved not in FACADES:
                # a package's __init__ re-exporting its modules is not a dependency of theirs
                if name.startswith(resolved + ".") and MODULES[resolved].name == "__init__.py":
                    continue
                g.add_edge(name, resolved)
    cycles = list(nx.simple_cycles(g))
    assert not cycles, "import cycles: " + "; ".join(" → ".join(c + [c[0]]) for c in cycles[:10])


@pytest.mark.parametrize("name", sorted(MODULES))
def test_no_module_over_800_lines(name):
    n = len(MODULES[name].read_text(encoding="utf-8").splitlines())
    assert n <= MAX_MODULE_LINES, f"{name}: {n} lines"


def test_rules_catch_a_violation(tmp_path):
    """The checker itself: a fake stage module importing a later stage is reported."""
    fake = PACKAGE / "territory" / "load.py"
    imports = _imports("geoattract.territory.load", fake)
    assert any(_part(t) == "config" for t, _n, _l in imports)
    src = tmp_path / "mod.py"
    src.write_text("from geoattract.scoring import build_scores\nfrom .check import _x\n")
    found = _imports("geoattract.territory.mod", src)
    assert ("geoattract.scoring", ["build_scores"], 1) in found
    assert ("geoattract.territory.check", ["_x"], 2) in found


def test_the_app_layer_only_orchestrates():
    """``app`` parses, checks and calls the stages: under 2,000 lines (issue 24); text, tables
    and readers of finished runs live in ``outputs``, checks of requests in their stage."""
    app = PACKAGE / "app"
    lines = sum(len(p.read_text(encoding="utf-8").splitlines()) for p in app.glob("*.py"))
    assert 500 < lines < 2_000
