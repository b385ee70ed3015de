"""The user guide's examples run: every ``>>>`` block of docs/guide/*.rst is a doctest (run
from the repository root, so that ``examples/data/...`` paths work). Blocks that are not meant
to run are ``.. code-block::`` (no ``>>>``)."""

from __future__ import annotations

import doctest
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
GUIDE = sorted((ROOT / "docs" / "guide").glob("*.rst"))
FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
#: Optional packages a page's examples need besides pandas and scikit-learn.
NEEDS = {"dask": ("dask",), "array_api": ("array_api_strict",)}


@pytest.mark.parametrize("page", GUIDE, ids=lambda p: p.stem)
def test_guide_examples_run(page, monkeypatch):
    pytest.importorskip("pandas")
    pytest.importorskip("sklearn")
    for module in NEEDS.get(page.stem, ()):
        pytest.importorskip(module)
    monkeypatch.chdir(ROOT)
    result = doctest.testfile(str(page), module_relative=False, optionflags=FLAGS,
                              verbose=False, report=True)
    assert result.failed == 0, f"{result.failed} example(s) of {page.name} failed (output above)"
