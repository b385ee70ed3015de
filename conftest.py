"""Collection rules for the doctests of ``src/mahalanobis`` (``make test`` runs them with
``--doctest-modules src/mahalanobis``; the option flags are in pyproject's pytest config).

Modules that import an optional extra at import time are not collected when the extra is
missing, and examples that need pandas (``to_frame``) are skipped without it, so the doctests
run cleanly on a core-only install (numpy + scipy).
"""

import importlib.util
from pathlib import Path

import pytest

_SRC = Path(__file__).parent / "src" / "mahalanobis"

#: Subpackage (under src/mahalanobis) -> the optional module it imports at import time.
_NEEDS = {"ml": "sklearn", "plot": "matplotlib", "_dask": "dask", "report": "matplotlib"}


def _missing(module: str) -> bool:
    return importlib.util.find_spec(module) is None


collect_ignore = [str(_SRC / sub) for sub, module in _NEEDS.items() if _missing(module)]


def pytest_collection_modifyitems(config, items):
    if not _missing("pandas"):
        return
    skip = pytest.mark.skip(reason="example needs pandas (pip install mahalanobis[pandas])")
    for item in items:
        test = getattr(item, "dtest", None)
        if test is not None and any("to_frame" in ex.source or "pd." in ex.source
                                    for ex in test.examples):
            item.add_marker(skip)
