"""Every public callable has a numpydoc docstring with the sections users rely on.

Public means: a name in ``__all__`` of :data:`PUBLIC_MODULES`, and, for a class, its public
methods and properties defined in this package (each object checked once, under the first name
it is exported as). Deprecated aliases (docstring starting with "Deprecated") are not checked.

Checked with ``numpydoc.validate`` for the codes in :data:`ENFORCED`:

- GL08: the object has a docstring; GL07: its sections are in numpydoc's order;
- PR01 / PR02: every parameter is documented and every documented parameter exists (for a
  class, its constructor's parameters, documented under Parameters or Attributes; a class whose
  constructor takes only ``*args, **kwargs`` -- results built by their estimator -- has none;
  private, underscore parameters need no entry); PR07: every documented parameter has a
  description;
- RT01: functions and methods have a Returns (or Yields) section (properties do not need one);
- SA01: a See Also section;
- EX01: an Examples section (they run as doctests: ``make test`` passes
  ``--doctest-modules src/mahalanobis``).

Gaps that predate this test are listed in ``tests/docstring_gaps.txt`` (one ``name CODE`` per
line); the list may only shrink. A new public callable must be documented; when a gap is
fixed, its line must go: ``python tests/test_docstrings.py --update`` rewrites the file.
"""

from __future__ import annotations

import importlib
import inspect
import re
import sys
from functools import cache
from pathlib import Path

import pytest

numpydoc_validate = pytest.importorskip("numpydoc.validate")
docscrape = pytest.importorskip("numpydoc.docscrape")

PUBLIC_MODULES = (
    "mahalanobis",
    "mahalanobis.covariance",
    "mahalanobis.inference",
    "mahalanobis.control",
    "mahalanobis.pca",
    "mahalanobis.ml",
    "mahalanobis.variants",
    "mahalanobis.plot",
    "mahalanobis.report",
)

ENFORCED = ("GL07", "GL08", "PR01", "PR02", "PR07", "RT01", "SA01", "EX01")

GAPS_FILE = Path(__file__).with_name("docstring_gaps.txt")

#: Public modules that could not be imported here (an optional extra is missing).
UNAVAILABLE: set[str] = set()


@cache
def public_objects() -> dict[str, object]:
    """Qualified name -> object, for every public callable (first export name wins)."""
    found: dict[str, object] = {}
    seen: set[int] = set()
    for modname in PUBLIC_MODULES:
        try:
            module = importlib.import_module(modname)
        except ImportError:  # an optional extra is missing: its names are not checked here
            UNAVAILABLE.add(modname)
            continue
        for name in module.__all__:
            obj = getattr(module, name)
            if inspect.ismodule(obj) or not callable(obj) or id(obj) in seen:
                continue
            seen.add(id(obj))
            found[f"{modname}.{name}"] = obj
            if inspect.isclass(obj):
                for attr, value in vars(obj).items():
                    if attr.startswith("_"):
                        continue
                    if isinstance(value, (staticmethod, classmethod)):
                        value = value.__func__
                    if isinstance(value, property):
                        if (value.__doc__ or "").startswith("Deprecated"):
                            continue
                    elif not inspect.isfunction(value):
                        continue
                    found[f"{modname}.{name}.{attr}"] = value
    return found


def _class_parameter_errors(cls: type) -> list[tuple[str, str]]:
    """PR01/PR02 for a class: constructor parameters vs. its Parameters and Attributes."""
    try:
        sig = inspect.signature(cls)
    except (TypeError, ValueError):  # pragma: no cover - builtins
        return []
    params = [p.name for p in sig.parameters.values()  # private fields need no entry
              if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD) and not p.name.startswith("_")]
    doc = docscrape.ClassDoc(cls, config={"show_class_members": False})
    documented = {n.strip("*") for item in doc["Parameters"] + doc["Other Parameters"]
                  for n in re.split(r",\s*", item.name)}
    attributes = {n for item in doc["Attributes"] for n in re.split(r",\s*", item.name)}
    errors = []
    missing = [p for p in params if p not in documented | attributes]
    if missing:
        errors.append(("PR01", f"Parameters {missing} not documented"))
    unknown = sorted(documented - set(params)) if params or documented else []
    if unknown and not any(p.kind == p.VAR_KEYWORD for p in sig.parameters.values()):
        errors.append(("PR02", f"Unknown parameters {unknown}"))
    return errors


def _only_private(message: str) -> bool:
    """A PR01 message that names only private (underscore) parameters: not public API."""
    names = re.findall(r"'([^']+)'", message)
    return bool(names) and all(n.lstrip("*").startswith("_") for n in names)


@cache
def errors_of(name: str) -> tuple[tuple[str, str], ...]:
    """The enforced numpydoc errors of the public object ``name``: (code, message) pairs."""
    obj = public_objects()[name]
    # validate the object itself: by name, numpydoc would find a submodule of the same name
    # (mahalanobis.covariance.mcd is a module and a function)
    result = numpydoc_validate.validate(
        numpydoc_validate.get_doc_object(obj))
    errors = [(code, msg) for code, msg in result["errors"] if code in ENFORCED
              and not (code == "PR01" and _only_private(msg))]
    if inspect.isclass(obj) and not any(code == "GL08" for code, _ in errors):
        errors = [e for e in errors if e[0] not in ("PR01", "PR02")]
        errors += _class_parameter_errors(obj)
    return tuple(errors)


def known_gaps() -> set[tuple[str, str]]:
    if not GAPS_FILE.exists():
        return set()
    lines = GAPS_FILE.read_text().splitlines()
    return {tuple(line.split()) for line in lines if line.strip() and not line.startswith("#")}


def current_gaps() -> set[tuple[str, str]]:
    return {(name, code) for name in public_objects() for code, _ in errors_of(name)}


NAMES = sorted(public_objects())


def test_the_walk_finds_the_public_api():
    assert "mahalanobis.fit" in NAMES
    assert "mahalanobis.Metric.distance" in NAMES
    assert "mahalanobis.covariance.MCDResult" not in NAMES  # checked once, as mahalanobis.MCDResult
    assert len(NAMES) > 150


@pytest.mark.parametrize("name", NAMES)
def test_public_docstring(name):
    gaps = known_gaps()
    new = [f"{code}: {msg}" for code, msg in errors_of(name) if (name, code) not in gaps]
    assert not new, f"{name}: " + "; ".join(new)


def test_known_gaps_only_shrink():
    fixed = sorted((name, code) for name, code in known_gaps() - current_gaps()
                   if not any(name.startswith(f"{m}.") for m in UNAVAILABLE))
    assert not fixed, (
        f"{len(fixed)} gap(s) of tests/docstring_gaps.txt are fixed (e.g. {fixed[:3]}): "
        "remove them with `python tests/test_docstrings.py --update`")


if __name__ == "__main__":  # python tests/test_docstrings.py [--update]
    gaps = sorted(current_gaps())
    if "--update" in sys.argv:
        header = ("# Public docstrings that still lack an enforced numpydoc section "
                  "(tests/test_docstrings.py).\n# This list may only shrink: "
                  "`python tests/test_docstrings.py --update` after fixing some.\n")
        GAPS_FILE.write_text(header + "".join(f"{n} {c}\n" for n, c in gaps))
    for name, code in gaps:
        print(name, code, dict(errors_of(name))[code])
    print(f"{len(gaps)} gaps in {len({n for n, _ in gaps})} of {len(NAMES)} public objects")
