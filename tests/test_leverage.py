"""Leverage: R's hatvalues(lm(...)) (tests/reference/classical.R) and the hat matrix."""

import numpy as np
import pandas as pd
import pytest

import mahalanobis as mh
from conftest import load_reference
from mahalanobis.inference import leverage


@pytest.mark.parametrize("name", ["stackloss", "hbk"])
def test_matches_r_hatvalues(name):
    ref = load_reference(f"classical_{name}", skip_missing=True)
    cols = [c for c in ref["hat_design_columns"] if c != "(Intercept)"]
    X = pd.DataFrame(np.asarray(ref["X"], float), columns=ref["columns"],
                     index=ref["rownames"])[cols]
    h = leverage(X)
    assert isinstance(h, pd.Series) and list(h.index) == ref["rownames"]
    np.testing.assert_allclose(h.to_numpy(), ref["hat"], rtol=1e-12)


def test_equals_hat_matrix_diagonal():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 4)) @ rng.standard_normal((4, 4)) + 100.0
    Z = np.column_stack([np.ones(40), X])
    Q, _ = np.linalg.qr(Z)
    np.testing.assert_allclose(leverage(X), np.sum(Q * Q, axis=1), rtol=1e-10)
    assert leverage(X).sum() == pytest.approx(5.0)  # trace of the hat matrix = p + 1


def test_errors():
    with pytest.raises(ValueError, match="n_samples > n_features"):
        leverage(np.ones((3, 3)) + np.eye(3))
    with pytest.raises(ValueError, match="constant"):
        leverage(np.column_stack([np.arange(5.0), np.ones(5)]))
    with pytest.raises(ValueError, match="2-D"):
        leverage(np.arange(5.0))
    assert mh.inference.leverage is leverage
