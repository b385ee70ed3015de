"""Ledoit-Wolf, OAS and ridge scatter estimators (mahalanobis.covariance.shrinkage)."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn.covariance import OAS, LedoitWolf
from sklearn.datasets import load_breast_cancer, load_wine

import mahalanobis as mh
from mahalanobis import _kernels, _linalg
from mahalanobis.covariance import shrinkage as shr
from mahalanobis.covariance.shrinkage import ledoit_wolf, oas, ridge


def _wide(seed=0, n=20, p=60):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, p)) @ rng.standard_normal((p, p)) / np.sqrt(p) + 3.0


DATASETS = {
    "wine": lambda: load_wine().data,
    "breast_cancer": lambda: load_breast_cancer().data,
    "wide_p_gt_n": _wide,
}


def _rel(a, b):
    return np.max(np.abs(np.asarray(a) - np.asarray(b))) / np.max(np.abs(b))


# ----------------------------------------------------------------------------- Ledoit-Wolf
@pytest.mark.parametrize("assume_centered", [False, True])
@pytest.mark.parametrize("name", sorted(DATASETS))
def test_ledoit_wolf_equals_sklearn(name, assume_centered):
    """Same convention as scikit-learn (biased covariance, divisor n): equal to rounding."""
    X = DATASETS[name]()
    ref = LedoitWolf(assume_centered=assume_centered).fit(X)
    m = ledoit_wolf(X, assume_centered=assume_centered)
    assert _rel(m.cov, ref.covariance_) < 1e-12
    assert m.shrinkage == pytest.approx(ref.shrinkage_, rel=1e-12, abs=1e-15)
    np.testing.assert_allclose(m.center, ref.location_, rtol=1e-13, atol=1e-13)
    assert m.mu == pytest.approx(np.trace(np.cov(X.T - m.center[:, None], bias=True)
                                          if not assume_centered else X.T @ X / len(X))
                                 / X.shape[1], rel=1e-12)
    assert m.method == "ledoit_wolf" and m.n_samples == X.shape[0]


def test_ledoit_wolf_follows_the_paper_formula():
    """Lemmas 3.2-3.5 of Ledoit & Wolf (2004) written out naively with the n x p x p terms."""
    rng = np.random.default_rng(3)
    X = rng.standard_normal((40, 7)) * np.arange(1, 8)
    n, p = X.shape
    Xc = X - X.mean(0)
    S = Xc.T @ Xc / n
    norm2 = lambda A: np.sum(A * A) / p  # noqa: E731 - <A, A> of the paper
    m_n = np.trace(S) / p
    d2 = norm2(S - m_n * np.eye(p))
    bbar2 = sum(norm2(np.outer(x, x) - S) for x in Xc) / n**2
    b2 = min(bbar2, d2)
    expected = (b2 / d2) * m_n * np.eye(p) + ((d2 - b2) / d2) * S
    m = ledoit_wolf(X)
    np.testing.assert_allclose(m.cov, expected, rtol=1e-12, atol=1e-14)
    assert m.shrinkage == pytest.approx(b2 / d2, rel=1e-12)


@pytest.mark.parametrize("compiled", [True, False])
def test_ledoit_wolf_blocked_pass_and_large_offset(monkeypatch, compiled):
    """The one-pass fit (blocks merged with their fourth moments shifted) equals a direct
    two-pass computation, with and without the compiled kernels and over threads; a large
    common offset costs no accuracy."""
    rng = np.random.default_rng(4)
    Z = rng.standard_normal((5000, 6)) @ rng.standard_normal((6, 6))
    if not compiled:
        monkeypatch.setattr(_kernels, "C", None)
    Zc = Z - Z.mean(0)
    S = Zc.T @ Zc / Z.shape[0]
    q4 = float(np.sum(np.einsum("ij,ij->i", Zc, Zc) ** 2))
    whole = ledoit_wolf(Z)
    assert _rel(whole.cov, shr._shrunk(S, shr._ledoit_wolf_shrinkage(S, q4, 5000))[0]) < 1e-13
    monkeypatch.setattr(_linalg, "PARALLEL_MIN_ELEMENTS", 1000)  # split over threads
    threaded = ledoit_wolf(Z)
    assert _rel(threaded.cov, whole.cov) < 1e-14
    assert threaded.shrinkage == pytest.approx(whole.shrinkage, rel=1e-12)
    shifted = ledoit_wolf(Z + 1e7)
    assert _rel(shifted.cov, whole.cov) < 1e-9
    assert shifted.shrinkage == pytest.approx(whole.shrinkage, rel=1e-8)
    centred = ledoit_wolf(Zc, assume_centered=True)
    q4c = float(np.sum(np.einsum("ij,ij->i", Zc, Zc) ** 2))
    Sc = Zc.T @ Zc / 5000
    assert centred.shrinkage == pytest.approx(shr._ledoit_wolf_shrinkage(Sc, q4c, 5000),
                                              rel=1e-12)


# ----------------------------------------------------------------------------- OAS
def _oas_paper(X, assume_centered=False):
    """Chen et al. (2010), eq. (23), written out."""
    n, p = X.shape
    Xc = X if assume_centered else X - X.mean(0)
    S = Xc.T @ Xc / n
    tr, tr2 = np.trace(S), np.trace(S @ S)
    rho = min(((1 - 2 / p) * tr2 + tr**2) / ((n + 1 - 2 / p) * (tr2 - tr**2 / p)), 1.0)
    return (1 - rho) * S + rho * tr / p * np.eye(p), rho


@pytest.mark.parametrize("assume_centered", [False, True])
@pytest.mark.parametrize("name", sorted(DATASETS))
def test_oas_sklearn_formula_equals_sklearn(name, assume_centered):
    X = DATASETS[name]()
    ref = OAS(assume_centered=assume_centered).fit(X)
    m = oas(X, assume_centered=assume_centered, formula="sklearn")
    assert _rel(m.cov, ref.covariance_) < 1e-12
    assert m.shrinkage == pytest.approx(ref.shrinkage_, rel=1e-12)


@pytest.mark.parametrize("estimator", ["oas", "ledoit_wolf"])
def test_wide_fast_mode_fit_equals_sklearn_in_one_pass(estimator):
    """n p^2 beyond the exact mode's limit at a width (p = 150) whose fast-mode blocks once
    went wrong: the same numbers as scikit-learn; and, like Ledoit-Wolf, OAS reads the data
    once with no n x p temporary (compiled kernels: traced peak far below the input's
    size)."""
    import tracemalloc
    rng = np.random.default_rng(8)
    p = 150
    X = rng.standard_normal((20_000, p)) @ (np.eye(p) + 0.05) + 2.0
    assert X.shape[0] * p * p > _linalg.EXACT_MAX_WORK
    ours = getattr(shr, estimator)
    kwargs = {"formula": "sklearn"} if estimator == "oas" else {}
    ref = (OAS if estimator == "oas" else LedoitWolf)().fit(X)
    m = ours(X, **kwargs)
    assert _rel(m.cov, ref.covariance_) < 1e-12
    assert m.shrinkage == pytest.approx(ref.shrinkage_, rel=1e-10)
    if _kernels.C is None:  # the numpy fallback works on blocks of 4096 rows at a time
        return
    tracemalloc.start()  # (after a first call: imports and caches are not counted)
    ours(X, **kwargs)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < X.nbytes / 4


@pytest.mark.parametrize("name", sorted(DATASETS))
def test_oas_default_is_the_paper_formula(name):
    """Default: eq. (23). It differs from scikit-learn's by the 2/p terms only (O(1/p))."""
    X = DATASETS[name]()
    expected, rho = _oas_paper(X)
    m = oas(X)
    assert _rel(m.cov, expected) < 1e-12
    assert m.shrinkage == pytest.approx(rho, rel=1e-12)
    sk = OAS().fit(X).shrinkage_
    p = X.shape[1]
    assert m.shrinkage != sk
    assert abs(m.shrinkage - sk) <= 4.0 / p * max(sk, m.shrinkage)


def test_oas_formulas_differ_at_small_p():
    """At p = 2 the paper's numerator loses its tr(S^2) term: the documented difference."""
    rng = np.random.default_rng(5)
    X = rng.standard_normal((30, 2)) * [1.0, 2.0]
    paper, sk = oas(X).shrinkage, oas(X, formula="sklearn").shrinkage
    assert paper < 0.8 * sk
    assert paper == pytest.approx(_oas_paper(X)[1], rel=1e-12)


# ----------------------------------------------------------------------------- both
@pytest.mark.parametrize("estimator", [ledoit_wolf, oas])
@pytest.mark.parametrize("shape", [(200, 5), (30, 30), (10, 80), (3, 4)])
def test_shrinkage_in_unit_interval_and_positive_definite(estimator, shape):
    rng = np.random.default_rng(shape[0] * 1000 + shape[1])
    X = rng.standard_normal(shape) @ rng.standard_normal((shape[1], shape[1]))
    m = estimator(X)
    assert 0.0 <= m.shrinkage <= 1.0
    assert np.linalg.eigvalsh(m.cov)[0] > 0
    assert np.isfinite(m.log_det)
    d2 = m.distance(X, squared=True)
    assert np.all(np.isfinite(d2)) and np.all(d2 >= 0)
    if shape[0] <= shape[1]:
        assert m.shrinkage > 0  # p >= n: the sample covariance alone would be singular


def test_one_feature_has_zero_shrinkage():
    X = np.random.default_rng(6).standard_normal((50, 1))
    for est in (ledoit_wolf, oas):
        m = est(X)
        assert m.shrinkage == 0.0
        np.testing.assert_allclose(m.cov, [[X.var()]], rtol=1e-13)


def test_dataframe_names_nan_omit_and_fit_dispatch():
    X = load_wine(as_frame=True).data
    Xn = X.copy()
    Xn.iloc[[3, 7], 1] = np.nan
    for method in ("ledoit_wolf", "oas", "ridge"):
        opts = {"random_state": 0} if method == "ridge" else {}
        m = mh.fit(X, method=method, **opts)
        assert m.feature_names == tuple(X.columns)
        assert m.method == method
        d = m.distance(X)
        assert isinstance(d, pd.Series) and d.index.equals(X.index)
        with pytest.raises(ValueError, match="nan_policy='omit'"):
            mh.fit(Xn, method=method, **opts)
        mo = mh.fit(Xn, method=method, nan_policy="omit", **opts)
        assert mo.n_samples == len(X) - 2 and mo.omitted.tolist() == [3, 7]
    assert "shrinkage=" in repr(mh.fit(X, method="oas"))
    assert "lam=" in repr(mh.fit(X, method="ridge", random_state=0))


def test_invalid_options_raise_clear_errors():
    X = np.random.default_rng(7).standard_normal((20, 3))
    with pytest.raises(ValueError, match="formula"):
        oas(X, formula="chen")
    with pytest.raises(ValueError, match="propagate"):
        ledoit_wolf(X, nan_policy="propagate")
    with pytest.raises(ValueError, match="lam"):
        ridge(X, lam=-1.0)
    with pytest.raises(ValueError, match="lams"):
        ridge(X, lams=[0.1, 0.0])
    with pytest.raises(ValueError, match="cv"):
        ridge(X, cv=1)
    with pytest.raises(ValueError, match="cv"):
        ridge(X[:4], cv=5)
    with pytest.raises(ValueError, match="2-D"):
        ledoit_wolf(X[:, 0])


# ----------------------------------------------------------------------------- ridge
def test_ridge_with_given_lam_is_sample_covariance_plus_lam():
    X = load_wine().data
    m = ridge(X, lam=0.5)
    np.testing.assert_allclose(m.cov, np.cov(X.T) + 0.5 * np.eye(13), rtol=1e-12)
    assert m.lam == 0.5 and m.lams is None and m.cv_scores is None


@pytest.mark.parametrize("shape", [(60, 5), (25, 40)])
def test_ridge_cv_scores_equal_brute_force_likelihood(shape):
    """The spectral shortcut gives the held-out log-likelihood scipy computes directly."""
    n, p = shape
    rng = np.random.default_rng(8)
    X = rng.standard_normal((n, p)) @ rng.standard_normal((p, p)) / np.sqrt(p)
    lams = np.array([0.01, 0.3, 5.0])
    m = ridge(X, lams=lams, cv=3, random_state=11)
    folds = np.array_split(np.random.default_rng(11).permutation(n), 3)
    expected = np.zeros(lams.size)
    for test in folds:
        train = np.setdiff1d(np.arange(n), test)
        mu, S = X[train].mean(0), np.cov(X[train].T)
        for i, lam in enumerate(lams):
            expected[i] += stats.multivariate_normal(mu, S + lam * np.eye(p)).logpdf(
                X[test]).sum()
    np.testing.assert_allclose(m.cv_scores, expected / n, rtol=1e-9)
    assert m.lam == lams[np.argmax(expected)]


def test_ridge_cv_picks_a_sensible_lam_and_is_reproducible():
    """p > n: the chosen lam beats a tiny and a huge lam on fresh data; same seed, same lam."""
    rng = np.random.default_rng(9)
    p = 40
    cov = 0.6 ** np.abs(np.subtract.outer(np.arange(p), np.arange(p)))
    L = np.linalg.cholesky(cov)
    X = rng.standard_normal((30, p)) @ L.T
    X_new = rng.standard_normal((2000, p)) @ L.T
    m = ridge(X, random_state=1)
    assert m.lams[0] < m.lam < m.lams[-1]
    assert np.all(np.diff(m.lams) > 0) and m.cv_scores.shape == m.lams.shape

    def heldout(metric):
        return stats.multivariate_normal(metric.center, metric.cov).logpdf(X_new).mean()

    chosen = heldout(m)
    assert chosen > heldout(ridge(X, lam=m.lams[0])) + 1.0
    assert chosen > heldout(ridge(X, lam=m.lams[-1])) + 1.0
    again = ridge(X, random_state=1)
    assert again.lam == m.lam
    np.testing.assert_array_equal(again.cv_scores, m.cv_scores)
    gen = ridge(X, random_state=np.random.default_rng(1))
    np.testing.assert_array_equal(gen.cv_scores, m.cv_scores)
    assert np.linalg.eigvalsh(m.cov)[0] >= m.lam * (1 - 1e-12)
