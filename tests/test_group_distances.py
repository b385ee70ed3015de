"""Mahalanobis' D^2 among k groups (mahalanobis.group_distances) and p-value adjustment."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import mahalanobis as mh
from mahalanobis.inference import adjust_pvalues, group_distance


def _three(seed: int = 0, shift=(0.0, 0.3, 2.0), n=(25, 30, 35), p: int = 3):
    rng = np.random.default_rng(seed)
    parts = [rng.standard_normal((m, p)) + np.r_[s, np.zeros(p - 1)] for m, s in zip(n, shift)]
    return np.vstack(parts), np.repeat(["a", "b", "c"], n)


def test_empirical_matrix_against_the_formulas():
    X, g = _three()
    r = mh.group_distances(X, g)
    k, N, p = 3, X.shape[0], 3
    means = np.array([X[g == lab].mean(0) for lab in "abc"])
    Sp = sum((np.sum(g == lab) - 1) * np.cov(X[g == lab].T) for lab in "abc") / (N - k)
    for i in range(k):
        for j in range(k):
            dd = means[i] - means[j]
            assert r.d2[i, j] == pytest.approx(dd @ np.linalg.solve(Sp, dd), rel=1e-12, abs=1e-14)
    nu = N - k
    n = np.array([25, 30, 35])
    h = 1 / n[0] + 1 / n[2]
    assert r.d2_unbiased[0, 2] == pytest.approx(r.d2[0, 2] * (nu - p - 1) / nu - p * h,
                                                rel=1e-12)
    T2 = r.d2[0, 2] / h
    assert r.statistic[0, 2] == pytest.approx(T2, rel=1e-12)
    assert r.pvalue[0, 2] == pytest.approx(
        stats.f.sf(T2 * (nu - p + 1) / (nu * p), p, nu - p + 1), rel=1e-10)
    assert r.df == (3.0, float(nu - p + 1)) and "exact" in r.reference
    np.testing.assert_allclose(r.d2, r.d2.T) and np.all(np.diag(r.d2) == 0)
    # with two groups it is group_distance (whose pooled covariance is the same)
    two = mh.group_distances(X[g != "c"], g[g != "c"])
    ref = group_distance(X[g == "a"], X[g == "b"])
    assert two.d2[0, 1] == pytest.approx(ref.d2, rel=1e-12)
    assert two.d2_unbiased[0, 1] == pytest.approx(ref.d2_unbiased, rel=1e-12)
    assert two.pvalue[0, 1] == pytest.approx(ref.pvalue, rel=1e-10)


def test_holm_is_the_default_adjustment():
    X, g = _three()
    r = mh.group_distances(X, g)
    iu = np.triu_indices(3, 1)
    np.testing.assert_allclose(r.pvalue_adjusted[iu], adjust_pvalues(r.pvalue[iu], "holm"))
    none = mh.group_distances(X, g, adjust="none")
    np.testing.assert_array_equal(none.pvalue_adjusted[iu], none.pvalue[iu])


def test_adjust_pvalues_equals_r_p_adjust():
    # R: p.adjust(c(0.01, 0.02, 0.03, 0.04, 0.05, 0.5), method = "holm" / "bonferroni" / "BH")
    p = [0.01, 0.02, 0.03, 0.04, 0.05, 0.5]
    np.testing.assert_allclose(adjust_pvalues(p, "holm"), [0.06, 0.1, 0.12, 0.12, 0.12, 0.5])
    np.testing.assert_allclose(adjust_pvalues(p, "bonferroni"), [0.06, 0.12, 0.18, 0.24, 0.3,
                                                                 1.0])
    np.testing.assert_allclose(adjust_pvalues(p, "bh"), [0.06] * 5 + [0.5])
    out = adjust_pvalues([0.02, np.nan, 0.01], "holm")
    assert np.isnan(out[1]) and out[0] == pytest.approx(0.02) and out[2] == pytest.approx(0.02)
    with pytest.raises(ValueError, match="method must be one of"):
        adjust_pvalues(p, "sidak")


def test_monte_carlo_reference_agrees_with_the_exact_f():
    X, g = _three(seed=1, shift=(0.0, 0.4, 0.8))
    exact = mh.group_distances(X, g)
    mc = mh.group_distances(X, g, pvalue_method="monte_carlo", n_simulations=400,
                            random_state=0)
    iu = np.triu_indices(3, 1)
    se = np.sqrt(exact.pvalue[iu] * (1 - exact.pvalue[iu]) / 400)
    assert np.all(np.abs(mc.pvalue[iu] - exact.pvalue[iu]) < 4 * se + 2.5e-3)
    assert "Monte Carlo" in mc.reference


def test_robust_pooling_resists_outliers_in_a_group():
    X, g = _three(seed=2, shift=(0.0, 0.0, 0.0), n=(60, 60, 60), p=2)
    X[:10] += 30                        # 10 far outliers in group a (17%)
    emp = mh.group_distances(X, g)
    rob = mh.group_distances(X, g, method="mcd", support_fraction=0.75, random_state=0,
                             n_simulations=9)
    # the classical mean of group a moves by 5 and the pooled covariance is inflated 50-fold
    assert emp.centers[0, 0] > 4 and emp.cov[0, 0] > 30
    assert abs(rob.centers[0, 0]) < 0.5 and rob.cov[0, 0] < 2
    assert rob.d2[0, 1] < 0.3 and rob.pvalue_adjusted[0, 1] > 0.05
    assert rob.method == "mcd" and np.isnan(rob.d2_unbiased[0, 1])
    asym = mh.group_distances(X, g, method="mcd", support_fraction=0.75, random_state=0,
                              pvalue_method="asymptotic")
    assert "asymptotic" in asym.reference and asym.pvalue[0, 1] > 0.05
    nokappa = mh.group_distances(X, g, method="ogk", pvalue_method="asymptotic")
    assert np.isnan(nokappa.pvalue[0, 1]) and "no known efficiency" in nokappa.reference


def test_frames_labels_and_errors():
    X, g = _three(n=(10, 12, 14))
    df = pd.DataFrame(X, columns=["x", "y", "z"]).assign(species=g)
    df.loc[3, "x"] = np.nan
    r = mh.group_distances(df, "species", nan_policy="omit")
    assert r.groups == ("a", "b", "c") and list(r.n) == [9, 12, 14]
    frame = r.to_frame()
    assert list(frame.columns[:4]) == ["group_a", "group_b", "n_a", "n_b"] and len(frame) == 3
    assert r.matrix("distance").loc["a", "c"] == pytest.approx(np.sqrt(r.d2[0, 2]))
    assert "a vs b" in repr(r)
    with pytest.raises(ValueError, match=r"NaN|missing"):
        mh.group_distances(df, "species")
    with pytest.raises(ValueError, match="at least 2 groups"):
        mh.group_distances(X, ["a"] * len(X))
    with pytest.raises(ValueError, match="one label per row"):
        mh.group_distances(X, ["a", "b"])
    with pytest.raises(ValueError, match="not a column"):
        mh.group_distances(df, "genus")
    with pytest.raises(ValueError, match="degrees of freedom"):
        mh.group_distances(X[:5], ["a", "a", "b", "b", "c"])
    with pytest.raises(ValueError, match="group 'a'"):
        mh.group_distances(X, np.r_[["a"] * 3, ["b"] * (len(X) - 3)], method="mcd")
    with pytest.raises(ValueError, match="'exact' is the F test"):
        mh.group_distances(X, g, method="mcd", pvalue_method="exact")
