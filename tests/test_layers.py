"""The package's layering, checked by parsing every module's imports.

The layers (CONTRIBUTING.md, "Layers"), bottom to top::

    core         errors, _linalg, _validation, ... (numerics kernels, input checking)
    metric       metric, distance, ellipsoid (+ the Dask scoring back end)
    estimators   covariance, variants (+ the Dask fitting back end)
    decisions    inference, control, pca
    top          ml, plot, report; then cli; then the package __init__

Three rules, each a test below:

1. no module imports from a higher layer -- imports inside functions and
   ``importlib.import_module("mahalanobis....")`` calls count;
2. an import that crosses from one group into another takes only public names from public
   modules (no ``_name`` and no ``pkg._module``), except from the core, whose private modules
   are the shared kernels (but their ``_names`` are still private);
3. no module reads another group's private attributes (``obj._name`` where ``_name`` is a
   private method or attribute defined only by another group's classes).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "mahalanobis"

#: group -> (layer, module prefixes). A module belongs to the group with the longest prefix.
GROUPS: dict[str, tuple[int, tuple[str, ...]]] = {
    "core": (0, ("errors", "_version", "_linalg", "_validation", "_cholupdate", "_array_api",
                 "_deprecation", "_progress", "_scale", "_kernels", "_sample", "_dask._common",
                 "_missing", "_calibration")),
    "metric": (1, ("metric", "distance", "ellipsoid", "_dask._score", "_dask._pairwise")),
    "covariance": (2, ("covariance", "_dask._fit", "_dask._empirical", "_dask._mcd",
                       "_dask._shrinkage")),
    "variants": (2, ("variants",)),
    "inference": (3, ("inference", "_dask._inference")),
    "control": (3, ("control",)),
    "pca": (3, ("pca",)),
    "ml": (4, ("ml",)),
    "plot": (4, ("plot",)),
    "report": (4, ("report",)),
    "cli": (5, ("cli", "_dask._io", "__main__")),
    "package": (6, ("__init__", "_dask.__init__")),
}


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__" and len(parts) > 1:
            parts = parts[:-1] + (["__init__"] if parts == ["_dask", "__init__"] else [])
        out[".".join(parts)] = path
    return out


MODULES = _modules()


def group_of(module: str) -> str:
    best, best_len = None, -1
    for name, (_, prefixes) in GROUPS.items():
        for pre in prefixes:
            if (module == pre or module.startswith(pre + ".")) and len(pre) > best_len:
                best, best_len = name, len(pre)
    if best is None:
        raise AssertionError(f"module mahalanobis.{module} is in no layer: add it to GROUPS "
                             "in tests/test_layers.py (and to CONTRIBUTING.md).")
    return best


def _resolve(module: str, node: ast.ImportFrom) -> str:
    """Absolute module path (relative to the package) of a ``from ... import`` statement."""
    if node.level == 0:
        assert node.module is not None
        return node.module.removeprefix("mahalanobis").lstrip(".")
    is_package = MODULES.get(module, Path()).name == "__init__.py"
    base = module.split(".") if is_package else module.split(".")[:-1]
    if module == "__init__":
        base = []
    up = node.level - 1
    base = base[: len(base) - up] if up else base
    tail = node.module.split(".") if node.module else []
    return ".".join(base + tail)


def _imports(module: str) -> list[tuple[str, str | None, int]]:
    """(imported module, imported name or None, line) for every package-internal import."""
    tree = ast.parse(MODULES[module].read_text())
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level == 0 and not (node.module or "").startswith("mahalanobis"):
                continue
            target = _resolve(module, node)
            for alias in node.names:
                sub = f"{target}.{alias.name}".lstrip(".")
                if sub in MODULES or f"{sub}.__init__" in MODULES:
                    out.append((sub, None, node.lineno))  # a submodule
                else:
                    out.append((target or "__init__", alias.name, node.lineno))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("mahalanobis."):
                    out.append((alias.name.removeprefix("mahalanobis."), None, node.lineno))
        elif (isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "import_module"
              and node.args and isinstance(node.args[0], ast.Constant)
              and str(node.args[0].value).startswith("mahalanobis.")):
            out.append((str(node.args[0].value).removeprefix("mahalanobis."), None,
                        node.lineno))
    for node in ast.walk(tree):  # "module:function" registries resolved by import_module
        if (isinstance(node, ast.Constant) and isinstance(node.value, str)
                and re.fullmatch(r"mahalanobis(\.\w+)+:\w+", node.value)):
            out.append((node.value.split(":")[0].removeprefix("mahalanobis."), None,
                        node.lineno))
    return out


def _layer(group: str) -> int:
    return GROUPS[group][0]


def _is_private_path(module: str, group: str) -> bool:
    """True when ``module`` names a private module below its group's public root."""
    roots = [p for p in GROUPS[group][1] if module == p or module.startswith(p + ".")]
    root = max(roots, key=len)
    rest = module[len(root):].lstrip(".")
    return any(part.startswith("_") and part != "__init__" for part in rest.split(".") if part)


def test_every_module_has_a_layer() -> None:
    for module in MODULES:
        group_of(module)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_upward_import(module: str) -> None:
    g = group_of(module)
    bad = []
    for target, name, line in _imports(module):
        tg = group_of(target if target in MODULES or f"{target}.__init__" in MODULES
                      else target.rsplit(".", 1)[0])
        if _layer(tg) > _layer(g):
            bad.append(f"line {line}: imports {target}{'.' + name if name else ''} "
                       f"(layer {tg!r}) from layer {g!r}")
    assert not bad, f"mahalanobis.{module} imports upward:\n" + "\n".join(bad)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_private_import_across_groups(module: str) -> None:
    g = group_of(module)
    bad = []
    for target, name, line in _imports(module):
        tg = group_of(target if target in MODULES or f"{target}.__init__" in MODULES
                      else target.rsplit(".", 1)[0])
        if tg == g:
            continue
        private_name = name is not None and name.startswith("_") and name != "__version__"
        private_module = tg != "core" and _is_private_path(target, tg)
        if private_name or private_module:
            bad.append(f"line {line}: {target}{'.' + name if name else ''} is private to "
                       f"group {tg!r}")
    assert not bad, f"mahalanobis.{module} reaches into private names:\n" + "\n".join(bad)


def _private_attrs_by_group() -> dict[str, set[str]]:
    """Private method and attribute names defined by the classes of each group."""
    out: dict[str, set[str]] = {g: set() for g in GROUPS}
    for module, path in MODULES.items():
        g = group_of(module)
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef):
                for item in ast.walk(node):
                    if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                        name = item.name
                    elif (isinstance(item, ast.Attribute) and isinstance(item.ctx, ast.Store)
                          and isinstance(item.value, ast.Name) and item.value.id == "self"):
                        name = item.attr
                    elif isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
                        name = item.target.id
                    else:
                        continue
                    if name.startswith("_") and not name.startswith("__"):
                        out[g].add(name)
    return out


PRIVATE_ATTRS = _private_attrs_by_group()


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_private_attribute_access_across_groups(module: str) -> None:
    g = group_of(module)
    own = PRIVATE_ATTRS[g]
    others = set().union(*(v for k, v in PRIVATE_ATTRS.items() if k != g)) - own
    bad = []
    for node in ast.walk(ast.parse(MODULES[module].read_text())):
        if not isinstance(node, ast.Attribute) or node.attr not in others:
            continue
        base = node.value
        if isinstance(base, ast.Name) and base.id in ("self", "cls"):
            continue
        if isinstance(base, ast.Call) and getattr(base.func, "id", None) == "super":
            continue
        owners = [k for k, v in PRIVATE_ATTRS.items() if node.attr in v]
        bad.append(f"line {node.lineno}: .{node.attr} (private to {', '.join(owners)})")
    assert not bad, (f"mahalanobis.{module} reads other groups' private attributes:\n"
                     + "\n".join(bad))


def test_checker_catches_violations(tmp_path: Path) -> None:
    """The rules fire on a known-bad example (so the checks above cannot pass vacuously)."""
    node = ast.parse("from ..covariance.mcd import _finish\nfrom ..ml import fit_metric\n")
    imports = [(_resolve("inference.cutoffs", n), n.names[0].name) for n in node.body
               if isinstance(n, ast.ImportFrom)]
    assert imports == [("covariance.mcd", "_finish"), ("ml", "fit_metric")]
    assert _layer(group_of("ml")) > _layer(group_of("inference.cutoffs"))
    assert _is_private_path("covariance._mcd_fast", "covariance")
    assert not _is_private_path("covariance.mcd", "covariance")
    assert "_sq_checked" in PRIVATE_ATTRS["metric"] or "_sq" in PRIVATE_ATTRS["metric"]
