"""Shared loaders of the test fixtures.

- ``tests/reference/data/<name>.json``: reference values made by the scripts in
  ``tests/reference/`` (R, mpmath); :func:`load_reference`, :func:`reference_names` and the
  ``charts`` fixture read them.
- ``examples/data/<name>.csv``: the real data sets of the examples; :func:`load_example`.

Test modules import the plain functions (``from conftest import load_reference``), which work
at collection time (in ``parametrize``), and request the fixtures by name.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

TESTS = Path(__file__).resolve().parent
#: The committed reference values (``make reference`` regenerates them).
REFERENCE_DATA = TESTS / "reference" / "data"
#: The example data sets (CSV, from R's datasets and robustbase).
EXAMPLES_DATA = TESTS.parent / "examples" / "data"


def reference_path(name: str) -> Path:
    """Path of the reference fixture ``tests/reference/data/<name>.json``."""
    return REFERENCE_DATA / f"{name}.json"


def load_reference(name: str, *, skip_missing: bool = False) -> Any:
    """The parsed JSON of ``tests/reference/data/<name>.json`` (a name, or a Path to it).

    With ``skip_missing=True`` a missing file skips the test (inside a test or fixture) instead
    of failing it.
    """
    path = Path(name) if isinstance(name, Path) else reference_path(name)
    if skip_missing and not path.exists():
        pytest.skip(f"tests/reference/data/{path.name} is missing (run make reference)")
    return json.loads(path.read_text())


def reference_names(prefix: str, *, exclude: tuple[str, ...] = ()) -> list[str]:
    """Sorted names ``X`` of the fixtures ``<prefix>_X.json`` (``exclude``: names to leave out)."""
    start = len(prefix) + 1
    return sorted(p.stem[start:] for p in REFERENCE_DATA.glob(f"{prefix}_*.json")
                  if p.stem[start:] not in exclude)


def as_float(value: Any) -> np.ndarray:
    """A fixture's number, list or nested list as a float64 array."""
    return np.asarray(value, dtype=float)


def load_example(name: str) -> Any:
    """``examples/data/<name>.csv`` as a pandas DataFrame (skips the test without pandas)."""
    pd = pytest.importorskip("pandas")
    return pd.read_csv(EXAMPLES_DATA / f"{name}.csv")


@pytest.fixture(scope="session")
def charts() -> list[dict]:
    """The records of ``charts.json``: R's Beta, F and chi-squared control limits."""
    return load_reference("charts", skip_missing=True)["records"]
