"""Agreement with R's stats::mahalanobis, colMeans and cov on real data sets.

Fixtures: tests/reference/classical.R (run by `make reference`), outputs committed under
tests/reference/data/classical_*.json.
"""

import numpy as np
import pandas as pd
import pytest

import mahalanobis as mh
from conftest import load_reference as _load
from conftest import reference_names, reference_path

FILES = [reference_path(f"classical_{name}") for name in reference_names("classical")]
RTOL = 1e-12


def _rel(a, b):
    a, b = np.asarray(a, float), np.asarray(b, float)
    return np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-300))


def test_fixtures_present():
    assert len(FILES) >= 5


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_mean_cov_distances_match_r(path):
    ref = _load(path)
    X = np.array(ref["X"], dtype=float)
    m = mh.fit(X)
    assert _rel(m.center, ref["colMeans"]) <= RTOL
    cov = np.array(ref["cov"])
    assert np.max(np.abs(m.cov - cov)) <= RTOL * np.max(np.abs(cov))
    assert _rel(m.distance(X, squared=True), ref["mahalanobis_d2"]) <= RTOL
    assert m.log_det == pytest.approx(ref["logdet_cov"], rel=RTOL)
    # Distances to another centre with R's covariance passed in.
    d2 = mh.distance(X, ref["center2"], cov, squared=True)
    assert _rel(d2, ref["mahalanobis_d2_center2"]) <= RTOL


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_dataframe_round_trip_keeps_row_names(path):
    ref = _load(path)
    df = pd.DataFrame(ref["X"], columns=ref["columns"], index=ref["rownames"])
    d2 = mh.fit(df).distance(df, squared=True)
    assert list(d2.index) == ref["rownames"]
    assert _rel(d2.to_numpy(), ref["mahalanobis_d2"]) <= RTOL
