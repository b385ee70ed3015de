"""Every bad input gets a ValueError naming the argument and the fix."""

import numpy as np
import pandas as pd
import pytest

import mahalanobis as mh

rng = np.random.default_rng(0)
X = rng.standard_normal((30, 3))
S = np.cov(X.T)
c = X.mean(axis=0)


@pytest.mark.parametrize(
    ("call", "pattern"),
    [
        (lambda: mh.distance(X[:, 0], c[:1], [[1.0]]), r"X must be 2-D .*reshape\(-1, 1\)"),
        (lambda: mh.distance(np.empty((0, 3)), c, S), "X is empty"),
        (lambda: mh.distance(np.empty((4, 0)), c, S), "X has no columns"),
        (lambda: mh.distance(X[:, :2], c, S), "X has 2 columns but 3 were expected"),
        (lambda: mh.distance(X, c[:2], S), r"center has length 2 but 3 was expected"),
        (lambda: mh.distance(X, c, S[:2]), "cov must be a square 2-D matrix"),
        (lambda: mh.distance(X, c, S + np.triu(np.ones((3, 3)), 1)), "cov is not symmetric"),
        (lambda: mh.distance(X, [1.0, np.nan, 0.0], S), "center has NaN"),
        (lambda: mh.distance(X, c, np.full((3, 3), np.inf)), "cov has NaN or infinite"),
        (lambda: mh.distance([["a", "b", "c"]], c, S), "non-numeric value 'a'"),
        (lambda: mh.distance(X + 1j, c, S), "complex"),
        (lambda: mh.distance([[1, 2], [3]], c, S), "could not be read as an array"),
        (lambda: mh.Metric(c, np.zeros((3, 3))), "not positive definite"),
        (lambda: mh.Metric(np.zeros((2, 2)), S), "center must be a 1-D vector"),
        (lambda: mh.fit(X[:3]), r"X has 3 rows for 3 features.*'ledoit_wolf'"),
        (lambda: mh.fit(np.c_[X, np.ones(30)]), "constant column.*column 3"),
        (lambda: mh.fit(X, method="robust"), "method must be one of"),
        (lambda: mh.fit(X, method="empirical", shrink=0.3), "does not take that option"),
        (lambda: mh.fit(X, location="mode"), "location must be 'mean', 'median'"),
        (lambda: mh.fit(X, nan_policy="propagate"), "makes no sense for fitting"),
        (lambda: mh.fit(np.c_[X, X[:, :1] * 2 + X[:, 1:2]]), r"rank 3 of 4"),
        (lambda: mh.Metric.from_cholesky(c, np.diag([1.0, 0.0, 1.0])), "zero on its diagonal"),
    ],
)
def test_bad_input_messages(call, pattern):
    with pytest.raises(ValueError, match=pattern):
        call()


def test_singular_is_a_value_error_subclass():
    assert issubclass(mh.SingularCovarianceError, ValueError)
    assert issubclass(mh.ExactFitError, mh.SingularCovarianceError)


def test_dataframe_text_column_named():
    df = pd.DataFrame({"a": [1.0, 2, 3, 4], "b": [2.0, 1, 0, 3], "name": list("wxyz")})
    with pytest.raises(ValueError, match=r"non-numeric column\(s\) 'name'"):
        mh.fit(df)


def test_dataframe_missing_feature_column_named():
    df = pd.DataFrame(X, columns=["a", "b", "c"])
    metric = mh.fit(df)
    with pytest.raises(ValueError, match=r"lacks column\(s\) \['c'\]"):
        metric.distance(df[["a", "b"]])


def test_fit_nan_policy_omit_reports_rows():
    Xn = X.copy()
    Xn[[2, 7]] = np.nan
    with pytest.raises(ValueError, match=r"rows \[2, 7\].*nan_policy='omit'"):
        mh.fit(Xn)
    metric = mh.fit(Xn, nan_policy="omit")
    assert metric.n_samples == 28
    np.testing.assert_array_equal(metric.omitted, [2, 7])
    np.testing.assert_allclose(metric.cov, np.cov(np.delete(X, [2, 7], axis=0).T), rtol=1e-12)
