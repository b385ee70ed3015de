"""Cutoffs and p-values for D^2: R's qbeta/qf/qchisq (tests/reference/charts.R ->
data/charts.json), published Hardin-Rocke values, calibration under the null, errors."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from mahalanobis.inference import cerioli_cutoffs, cutoff, hardin_rocke, pvalue


def test_chi2_95_ellipse_value():
    assert cutoff(2, 0.05) == pytest.approx(5.991464547107979, rel=1e-14)


def test_beta_f_chi2_match_r(charts):
    for rec in charts:
        m, p, a = rec["m"], rec["p"], rec["alpha"]
        ind = rec["individual"]
        assert cutoff(p, a, method="beta", n=m) == pytest.approx(ind["phase1_ucl"], rel=1e-12)
        assert cutoff(p, a, method="f", n=m) == pytest.approx(ind["phase2_ucl"], rel=1e-12)
        assert cutoff(p, a) == pytest.approx(rec["known_params_ucl"], rel=1e-13)
        # Cerioli's two cutoffs are the Beta and F forms with m in place of n
        both = cerioli_cutoffs(p, m, a)
        assert both.beta == pytest.approx(ind["phase1_ucl"], rel=1e-12)
        assert both.f == pytest.approx(ind["phase2_ucl"], rel=1e-12)
        assert cutoff(p, a, method="cerioli", h=m) == both.beta


def test_hardin_rocke_published_value():
    """m_asy for n = 1000, p = 20, h = 510: 282.873045700194 (CerioliOutlierDetection's
    ch99AsymptoticDF, compared there with Hardin & Rocke 2005, p. 941)."""
    hr = hardin_rocke(1000, 20)
    assert hr.h == 510
    assert hr.m_asymptotic == pytest.approx(282.873045700194, rel=1e-12)
    assert hr.c_alpha == pytest.approx(1.323652, rel=1e-6)  # robustbase .MCDcons(20, 0.51)
    assert hr.m == pytest.approx(hr.m_asymptotic * np.exp(0.725 - 0.00663 * 20
                                                          - 0.0780 * np.log(1000)))
    c = cutoff(20, 0.05, method="hardin_rocke", n=1000, h=510)
    m = hr.m
    assert c == pytest.approx(m * 20 / (m - 19) * stats.f.isf(0.05, 20, m - 19), rel=1e-12)
    assert hr.cutoff(0.05, consistency_corrected=False) == pytest.approx(c * hr.c_alpha)
    # heavier than chi2 at small n (estimation noise), approaching it as n grows
    assert cutoff(5, method="hardin_rocke", n=50, h=28) > cutoff(5, method="chi2")


@pytest.mark.parametrize("method,kw", [("chi2", {}), ("beta", {"n": 25}), ("f", {"n": 25}),
                                       ("hardin_rocke", {"n": 60, "h": 32}),
                                       ("cerioli", {"h": 40})])
def test_pvalue_inverts_cutoff(method, kw):
    for a in (0.1, 0.025, 1e-6):
        c = cutoff(4, a, method=method, **kw)
        assert pvalue(c, 4, method=method, **kw) == pytest.approx(a, rel=1e-9)
    out = pvalue(np.array([0.0, 1.0, 3.0]), 4, method=method, **kw)
    assert out.shape == (3,) and out[0] == 1.0 and np.all(np.diff(out) < 0)


def test_pvalue_no_underflow_and_series():
    # 1 - cdf would give 0 here
    assert 0 < pvalue(1000.0, 3) < 1e-200
    assert 0 < pvalue(200.0, 3, method="f", n=500) < 1e-30
    assert pvalue(30.0, 2, method="beta", n=30) == 0.0  # beyond (n-1)^2/n: impossible in-sample
    s = pd.Series([1.0, 9.0], index=["a", "b"])
    out = pvalue(s, 2)
    assert list(out.index) == ["a", "b"]
    assert isinstance(pvalue(3.0, 2), float)


def test_multiplicity():
    assert cutoff(3, 0.05, multiplicity="bonferroni", n=100) == pytest.approx(
        cutoff(3, 0.0005))
    sidak = 1 - (1 - 0.05) ** (1 / 100)
    assert cutoff(3, 0.05, method="beta", n=100, multiplicity="sidak") == pytest.approx(
        cutoff(3, sidak, method="beta", n=100), rel=1e-12)
    assert cerioli_cutoffs(3, 80, 0.01, n=100, multiplicity="sidak").alpha == pytest.approx(
        1 - 0.99 ** 0.01)


def test_cerioli_classification():
    cc = cerioli_cutoffs(2, 50, 0.025)
    assert cc.f > cc.beta
    w = np.array([1, 1, 0, 0])
    d2 = np.array([cc.beta - 0.1, cc.beta + 0.1, cc.beta + 0.1, cc.f + 0.1])
    np.testing.assert_array_equal(cc.flag(d2, w), [False, True, False, True])
    pv = cc.pvalue([cc.beta, cc.f], [1, 0])
    np.testing.assert_allclose(pv, 0.025, rtol=1e-9)
    with pytest.raises(ValueError, match="weights"):
        cc.flag(d2, [1, 2, 0, 0])


def test_beta_in_sample_false_positive_rate_is_alpha():
    """In-sample D^2 from the sample mean and covariance exceed the Beta cutoff with
    probability alpha exactly (the chi2 cutoff is badly off at n = 20)."""
    rng = np.random.default_rng(2024)
    n, p, alpha, reps = 20, 4, 0.05, 500
    c_beta = cutoff(p, alpha, method="beta", n=n)
    hits = hits_chi2 = 0
    first = np.empty(reps)
    for i in range(reps):
        X = rng.standard_normal((n, p))
        Z = X - X.mean(axis=0)
        L = np.linalg.cholesky(np.cov(X, rowvar=False))
        d2 = np.sum(np.linalg.solve(L, Z.T) ** 2, axis=0)
        hits += np.sum(d2 > c_beta)
        hits_chi2 += np.sum(d2 > cutoff(p, alpha))
        first[i] = d2[0]
    lo, hi = stats.binom.interval(0.999, n * reps, alpha)
    assert lo <= hits <= hi
    assert hits_chi2 < lo  # chi2 ignores the estimation: too few flags in-sample
    # one point per sample (independent across samples): uniform Beta p-values
    assert stats.kstest(pvalue(first, p, method="beta", n=n), "uniform").pvalue > 0.001


def test_f_pvalues_uniform_for_new_points():
    rng = np.random.default_rng(7)
    n, p = 15, 3
    pv = np.empty(400)
    for i in range(400):
        X = rng.standard_normal((n, p))
        x = rng.standard_normal(p) - X.mean(axis=0)
        d2 = x @ np.linalg.solve(np.cov(X, rowvar=False), x)
        pv[i] = pvalue(d2, p, method="f", n=n)
    assert stats.kstest(pv, "uniform").pvalue > 0.001


def test_errors():
    with pytest.raises(ValueError, match="alpha must lie in"):
        cutoff(2, 1.5)
    with pytest.raises(ValueError, match="alpha must lie in"):
        cutoff(2, 0.0)
    with pytest.raises(ValueError, match="needs the sample size"):
        cutoff(2, method="beta")
    with pytest.raises(ValueError, match="n > p"):
        cutoff(5, method="f", n=5)
    with pytest.raises(ValueError, match="n > p \\+ 1"):
        cutoff(5, method="beta", n=6)
    with pytest.raises(ValueError, match="needs h"):
        cutoff(2, method="hardin_rocke", n=30)
    with pytest.raises(ValueError, match="needs h"):
        cutoff(2, method="cerioli")
    with pytest.raises(ValueError, match="method must be one of"):
        cutoff(2, method="gamma")
    with pytest.raises(ValueError, match="needs n"):
        cutoff(2, multiplicity="bonferroni")
    with pytest.raises(ValueError, match="multiplicity"):
        cutoff(2, multiplicity="holm", n=10)
    with pytest.raises(ValueError, match="p must be"):
        cutoff(0)
    with pytest.raises(ValueError, match="integer"):
        cutoff(2.5)
