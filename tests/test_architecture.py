"""Imports point one way (DESIGN.md, STYLE.md point 15): a module may import only from its
own tier or a lower one. Every `import` in hubel/ is checked, at module level and inside
functions; the few exceptions are listed below with their reason.
"""

import ast
from pathlib import Path

HUBEL = Path(__file__).resolve().parent.parent / "hubel"

# tier: top-level modules/packages of hubel (a module may import its own tier and below)
TIERS = {
    0: ["backends", "random", "version"],
    1: ["tensor", "autograd"],
    2: ["ops", "functional", "initializers", "regularizers", "activations", "losses",
        "metrics", "optimizers"],
    3: ["layers"],
    # models use a Trainer for fit; the Trainer runs models
    4: ["models", "training", "zoo", "callbacks"],
    5: ["io", "data", "viz", "distributed", "datasets"],
    6: ["cli"],
}
TIER = {name: tier for tier, names in TIERS.items() for name in names}

# (importing file, imported module): why the upward import is fine
ALLOWED = {
    ("tensor.py", "hubel.ops"): "Tensor's operators are ops; imported at the bottom of "
                                "tensor.py, after Tensor exists",
}
NOT_CHECKED = {"__init__.py"}  # hubel/__init__.py is the table of contents: it imports all


def _top_level(path: Path) -> str:
    return path.relative_to(HUBEL).parts[0].removesuffix(".py")


def _imports(path: Path):
    """(line, absolute module name, imported names) for every import in the file."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = ".".join(("hubel",) + path.relative_to(HUBEL).parent.parts)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name, []
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                module = ".".join(base + ([module] if module else []))
            yield node.lineno, module, [a.name for a in node.names]


def _targets(module: str, names: list) -> list[str]:
    """The top-level hubel modules that an import reaches."""
    parts = module.split(".")
    if parts[0] != "hubel":
        return []
    if len(parts) > 1:
        return [parts[1]]
    # `from hubel import x`: x must be a module; `import hubel` reaches the whole package
    return names or ["<the hubel package>"]


def _violations() -> list[str]:
    problems = []
    for path in sorted(HUBEL.rglob("*.py")):
        rel = path.relative_to(HUBEL)
        if str(rel) in NOT_CHECKED:
            continue
        own = _top_level(path)
        if own not in TIER:
            problems.append(f"hubel/{rel}: new top-level module {own!r} is not in the tier "
                            f"table of tests/test_architecture.py; place it in a tier")
            continue
        for line, module, names in _imports(path):
            for target in _targets(module, names):
                where = f"hubel/{rel}:{line}"
                if target not in TIER:
                    problems.append(f"{where}: imports {target!r} from the hubel package "
                                    f"(the table of contents); import it from its module")
                elif TIER[target] > TIER[own] and (str(rel), f"hubel.{target}") not in ALLOWED:
                    problems.append(f"{where}: {own} (tier {TIER[own]}) imports {target} "
                                    f"(tier {TIER[target]}): imports must point to lower tiers")
    return problems


def test_imports_point_one_way():
    problems = _violations()
    assert not problems, "\n".join(problems)


def test_the_checker_sees_violations(tmp_path, monkeypatch):
    """The test can fail: an upward import, a table-of-contents import, a new module."""
    (tmp_path / "ops").mkdir()
    (tmp_path / "ops" / "bad.py").write_text("def f():\n    from hubel.layers import Dense\n")
    (tmp_path / "tensor.py").write_text("from hubel import Tensor\nimport hubel.ops\n")
    (tmp_path / "gadgets.py").write_text("")
    monkeypatch.setattr(f"{__name__}.HUBEL", tmp_path)
    problems = "\n".join(_violations())
    assert "hubel/ops/bad.py:2: ops (tier 2) imports layers (tier 3)" in problems
    assert "hubel/tensor.py:1: imports 'Tensor' from the hubel package" in problems
    assert "hubel.ops" not in problems  # the documented exception
    assert "new top-level module 'gadgets'" in problems


def test_the_allowed_exceptions_are_still_needed():
    for file, module in ALLOWED:
        found = [m for _, m, _ in _imports(HUBEL / file) if m.startswith(module)]
        assert found, f"hubel/{file} no longer imports {module}: remove the exception"
