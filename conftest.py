"""Collection rules for the doctests of ``src/mahalanobis`` (``make test`` runs them with
``--doctest-modules src/mahalanobis``; the option flags are in pyproject's pytest config).

The doctests run cleanly on a core-only install (numpy + scipy): modules that import an optional
extra at import time are not collected when the extra is missing, and an example that stops on
a missing optional module (``to_frame`` needs pandas, ...) is reported as skipped, not failed.
"""

import doctest
import importlib.util
from pathlib import Path

import pytest

_SRC = Path(__file__).parent / "src" / "mahalanobis"

#: Subpackage (under src/mahalanobis) -> the optional module it imports at import time.
_NEEDS = {"ml": "sklearn", "plot": "matplotlib", "_dask": "dask", "report": "matplotlib"}

#: Optional modules an example may need (the extras of pyproject.toml).
_OPTIONAL = ("pandas", "matplotlib", "sklearn", "dask", "distributed", "tqdm", "array_api_compat",
             "pyarrow")


def _missing(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is None
    except (ImportError, ValueError):
        return True


collect_ignore = [str(_SRC / sub) for sub, module in _NEEDS.items() if _missing(module)]


def _missing_optional(exc: BaseException) -> str | None:
    """The optional module whose absence raised ``exc``, if that is what it is."""
    if not isinstance(exc, ImportError):
        return None
    name = (getattr(exc, "name", None) or "").split(".")[0]
    if name in _OPTIONAL:
        return name
    text = str(exc)
    return next((m for m in _OPTIONAL if m in text and _missing(m)), None)


def _skip_on_missing_extra(item: pytest.Item) -> None:
    run = item.runtest

    def runtest() -> None:
        try:
            run()
        except doctest.UnexpectedException as failure:
            module = _missing_optional(failure.exc_info[1])
            if module is None:
                raise
            pytest.skip(f"example needs {module}, which is not installed")

    item.runtest = runtest  # type: ignore[method-assign]


def pytest_collection_modifyitems(config, items):
    if not any(_missing(m) for m in _OPTIONAL):
        return
    for item in items:
        if getattr(item, "dtest", None) is not None:
            _skip_on_missing_extra(item)
