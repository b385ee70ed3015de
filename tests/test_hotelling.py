"""Hotelling T^2 tests: agreement with rrcov::T2.test and the published unequal-covariance
procedures (tests/reference/hotelling.R -> data/hotelling.json), calibration under the null,
confidence regions, simultaneous intervals, the random-projection test and errors."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import mahalanobis as mh
from conftest import as_float as _arr
from conftest import load_reference
from mahalanobis.inference import Ellipsoid, HotellingResult, hotelling_t2

UNEQUAL = ("yao", "johansen", "nel_van_der_merwe", "krishnamoorthy_yu")
RTOL = 1e-12


@pytest.fixture(scope="module")
def ref():
    return load_reference("hotelling", skip_missing=True)


def _close(a, b, rtol=RTOL):
    np.testing.assert_allclose(_arr(a), _arr(b), rtol=rtol, atol=0)


# --------------------------------------------------------------------------- R references
def test_one_sample_matches_rrcov(ref):
    for rec in ref["one_sample"]:
        X = pd.DataFrame(_arr(rec["X"]), columns=rec["columns"])
        r = hotelling_t2(X, mu=rec["mu"])
        assert isinstance(r, HotellingResult)
        _close(r.statistic, rec["T2"])
        _close(r.f_statistic, rec["F"])
        assert r.df == (rec["df1"], rec["df2"])
        _close(r.pvalue, rec["p.value_upper_tail"], 1e-10)
        _close(r.estimate, rec["estimate"][0] if isinstance(rec["estimate"][0], list)
               else rec["estimate"])
        assert r.n == rec["n"] and r.p == rec["p"] and r.method == "one-sample"


def test_two_sample_pooled_matches_rrcov_without_underflow(ref):
    for rec in ref["two_sample"]:
        r = hotelling_t2(_arr(rec["X"]), _arr(rec["Y"]))
        pooled = rec["pooled"]
        _close(r.statistic, pooled["T2"])
        _close(r.f_statistic, pooled["F"])
        assert r.df == (pooled["df1"], pooled["df2"])
        # R's 1 - pf(...) underflows to 0 for iris; the upper tail does not (9.5e-31)
        _close(r.pvalue, pooled["p.value_upper_tail"], 1e-10)
        assert r.pvalue > 0
        est = _arr(pooled["estimate"])
        _close(r.mean_difference, est[0] - est[1], 1e-12)
        assert (r.n1, r.n2) == (rec["n1"], rec["n2"])


@pytest.mark.parametrize("method", UNEQUAL)
def test_unequal_covariances_match_reference(ref, method):
    for rec in ref["two_sample"]:
        u = rec["unequal_covariances"][method]
        r = hotelling_t2(_arr(rec["X"]), _arr(rec["Y"]), method=method)
        _close(r.statistic, u["T2"])
        _close(r.nu, u["nu"])
        _close(r.f_statistic, u["F"])
        _close(r.df, (u["df1"], u["df2"]))
        _close(r.pvalue, u["p.value"], 1e-10)
        assert r.method == method


def _exact_moment_data(xbar, S, n, rng):
    Z = rng.standard_normal((n, len(xbar)))
    Z -= Z.mean(axis=0)
    C = np.cov(Z, rowvar=False)
    Z = Z @ np.linalg.inv(np.linalg.cholesky(C)).T @ np.linalg.cholesky(S).T
    return Z + xbar


def test_published_electrical_usage_example(ref):
    """Johnson & Wichern Sec. 6.3 / Nel & Van der Merwe (1986) Ex. 4.1 (summary statistics):
    T^2 = 15.66 (unequal covariances)."""
    rec = ref["two_sample_summary_stats"][0]
    rng = np.random.default_rng(0)
    X1 = _exact_moment_data(_arr(rec["xbar1"]), _arr(rec["S1"]), rec["n1"], rng)
    X2 = _exact_moment_data(_arr(rec["xbar2"]), _arr(rec["S2"]), rec["n2"], rng)
    r = hotelling_t2(X1, X2)
    _close(r.statistic, rec["pooled"]["T2"], 1e-9)
    _close(r.pvalue, rec["pooled"]["p.value_upper_tail"], 1e-8)
    for method in UNEQUAL:
        u = rec["unequal_covariances"][method]
        r = hotelling_t2(X1, X2, method=method)
        _close(r.statistic, u["T2"], 1e-9)
        _close(r.nu, u["nu"], 1e-9)
        _close(r.pvalue, u["p.value"], 1e-8)
    assert round(r.statistic, 2) == 15.66


def test_paired_matches_rrcov_and_t_test(ref):
    for rec in ref["paired"]:
        r = hotelling_t2(_arr(rec["X"]), _arr(rec["Y"]), paired=True)
        _close(r.statistic, rec["T2"])
        _close(r.f_statistic, rec["F"])
        _close(r.pvalue, rec["p.value_upper_tail"], 1e-10)
        assert r.method == "paired" and r.n == rec["n"]
        if rec["p"] == 1:
            _close(r.statistic, rec["paired_t_statistic"] ** 2)
            _close(r.pvalue, rec["paired_t_p.value"], 1e-10)


def test_equal_sizes_unequal_statistic_equals_pooled(ref):
    rec = ref["two_sample"][0]  # iris, 50 vs 50
    a = hotelling_t2(_arr(rec["X"]), _arr(rec["Y"]))
    b = hotelling_t2(_arr(rec["X"]), _arr(rec["Y"]), method="yao")
    _close(a.statistic, b.statistic, 1e-12)


# --------------------------------------------------------------------------- calibration
def _ks_uniform(pvals):
    return stats.kstest(pvals, "uniform").pvalue


@pytest.mark.parametrize("kind", ["one-sample", "paired", "pooled", *UNEQUAL])
def test_pvalues_uniform_under_null(kind):
    rng = np.random.default_rng(12345)
    p, reps = 3, 400
    A = np.array([[1.0, 0.5, 0.2], [0.5, 2.0, 0.3], [0.2, 0.3, 0.5]])
    pv = np.empty(reps)
    for i in range(reps):
        if kind == "one-sample":
            X = rng.multivariate_normal([1, 2, 3], A, size=12)
            pv[i] = hotelling_t2(X, mu=[1, 2, 3]).pvalue
        elif kind == "paired":
            base = rng.standard_normal((10, p)) * 3
            X = base + rng.multivariate_normal(np.zeros(p), A, size=10)
            Y = base + rng.multivariate_normal(np.zeros(p), A, size=10)
            pv[i] = hotelling_t2(X, Y, paired=True).pvalue
        elif kind == "pooled":
            X = rng.multivariate_normal(np.zeros(p), A, size=9)
            Y = rng.multivariate_normal(np.zeros(p), A, size=14)
            pv[i] = hotelling_t2(X, Y).pvalue
        else:  # unequal covariances: the smaller sample has the larger covariance
            X = rng.multivariate_normal(np.zeros(p), 4 * A, size=12)
            Y = rng.multivariate_normal(np.zeros(p), A, size=30)
            pv[i] = hotelling_t2(X, Y, method=kind).pvalue
    assert _ks_uniform(pv) > 0.001
    assert 0.3 < pv.mean() < 0.7


def test_pooled_is_not_calibrated_for_unequal_covariances_but_ky_is():
    """The reason the unequal-covariance procedures exist: rejection rate at 5%."""
    rng = np.random.default_rng(7)
    p, reps = 3, 400
    rej = {"pooled": 0, "krishnamoorthy_yu": 0}
    for _ in range(reps):
        X = rng.standard_normal((10, p)) * 3.0
        Y = rng.standard_normal((40, p))
        for m in rej:
            rej[m] += hotelling_t2(X, Y, method=m).pvalue < 0.05
    assert rej["pooled"] / reps > 0.12
    assert rej["krishnamoorthy_yu"] / reps < 0.09


def _rp_pvalues(rng, reps, n1, n2, p, shift=0.0, **kw):
    """p-values of the random-projection test on ``reps`` pairs of normal samples (n1 x p
    shifted by ``shift``, n2 x p), the i-th with random_state=i."""
    return np.array([hotelling_t2(rng.standard_normal((n1, p)) + shift,
                                  rng.standard_normal((n2, p)), method="random_projection",
                                  random_state=i, **kw).pvalue for i in range(reps)])


def test_random_projection_single_projection_is_exact_under_null():
    pv = _rp_pvalues(np.random.default_rng(3), 400, 8, 9, 20, n_projections=1,
                     pvalue_method="average")
    assert _ks_uniform(pv) > 0.001


def test_random_projection_averaged_is_conservative_and_has_power():
    rng = np.random.default_rng(4)
    kw = {"n_projections": 20, "pvalue_method": "average"}
    null = _rp_pvalues(rng, 200, 10, 10, 40, **kw)
    rate = np.mean(null < 0.05)
    assert rate <= 0.05 + 3.1 * np.sqrt(0.05 * 0.95 / 200)
    alt = _rp_pvalues(rng, 50, 10, 10, 40, shift=np.full(40, 1.2), **kw)
    assert np.mean(alt < 0.05) > 0.8


def test_random_projection_permutation_pvalue_is_calibrated_and_powerful():
    rng = np.random.default_rng(15)
    kw = {"n_projections": 5, "pvalue_method": "permutation", "n_permutations": 99}
    null = _rp_pvalues(rng, 200, 8, 9, 30, **kw)
    assert stats.kstest(null, "uniform").pvalue > 0.001
    assert np.mean(null <= 0.05) <= 0.05 + 3.1 * np.sqrt(0.05 * 0.95 / 200)
    alt = _rp_pvalues(rng, 30, 10, 10, 30, shift=np.full(30, 0.8), **kw)
    assert np.mean(alt <= 0.05) > 0.8
    # the statistic does not depend on how the p-value is computed
    X, Y = rng.standard_normal((10, 30)), rng.standard_normal((10, 30))
    a = hotelling_t2(X, Y, method="random_projection", n_projections=5, random_state=3)
    b = hotelling_t2(X, Y, method="random_projection", random_state=3, **kw)
    assert a.statistic == pytest.approx(b.statistic, rel=1e-10)
    with pytest.raises(ValueError, match="pvalue_method"):
        hotelling_t2(X, Y, method="random_projection", pvalue_method="exact")


def test_random_projection_default_pvalue_is_the_permutation_one():
    rng = np.random.default_rng(7)
    X, Y = rng.standard_normal((10, 30)), rng.standard_normal((10, 30))
    a = hotelling_t2(X, Y, method="random_projection", n_projections=5, n_permutations=99,
                     random_state=3)
    b = hotelling_t2(X, Y, method="random_projection", n_projections=5, n_permutations=99,
                     pvalue_method="permutation", random_state=3)
    assert a.pvalue == b.pvalue
    assert a.pvalue * 100 == pytest.approx(round(a.pvalue * 100))  # (1 + k) / (1 + 99)


def test_random_projection_one_sample_and_reproducible():
    rng = np.random.default_rng(5)
    X = rng.standard_normal((15, 30)) + 1.0
    a = hotelling_t2(X, method="random_projection", pvalue_method="average", random_state=1)
    b = hotelling_t2(X, method="random_projection", pvalue_method="average", random_state=1)
    assert a.statistic == b.statistic and a.pvalue == b.pvalue
    assert a.projection_dim == 7 and a.df == (7.0, 8.0) and a.n_projections == 100
    assert a.pvalue < 0.01
    np.testing.assert_allclose(a.pvalue, a.projection_pvalues.mean())
    with pytest.raises(ValueError, match="not available"):
        a.confidence_region()


def test_random_projection_full_dimension_equals_classical_statistic():
    """With k = p the projection is invertible and T2_k is the classical T^2."""
    rng = np.random.default_rng(6)
    X, Y = rng.standard_normal((20, 3)), rng.standard_normal((25, 3)) + 0.3
    rp = hotelling_t2(X, Y, method="random_projection", projection_dim=3, n_projections=3,
                      pvalue_method="average")
    cl = hotelling_t2(X, Y)
    np.testing.assert_allclose(rp.statistic, cl.statistic, rtol=1e-9)
    np.testing.assert_allclose(rp.pvalue, cl.pvalue, rtol=1e-9)


# --------------------------------------------------------------------------- regions
def test_confidence_region_is_the_acceptance_set():
    rng = np.random.default_rng(8)
    X = rng.standard_normal((25, 2)) @ np.array([[1.0, 0.4], [0.0, 0.7]]) + [2.0, -1.0]
    r = hotelling_t2(X, mu=[2.0, -1.0])
    region = r.confidence_region(0.9)
    assert isinstance(region, Ellipsoid) and region.level == 0.9
    # every point of the region's boundary is a null value rejected at exactly 10%
    for mu0 in region.boundary(7)[:-1]:
        np.testing.assert_allclose(hotelling_t2(X, mu=mu0).pvalue, 0.1, rtol=1e-8)
    assert region.contains(r.estimate) is True


def test_confidence_region_coverage():
    rng = np.random.default_rng(9)
    mu = np.array([1.0, 0.0, -1.0])
    hits = 0
    reps = 400
    for _ in range(reps):
        X, Y = rng.standard_normal((10, 3)) + mu, rng.standard_normal((15, 3))
        hits += bool(hotelling_t2(X, Y).confidence_region(0.9).contains(mu))
    lo, hi = stats.binom.interval(0.999, reps, 0.9)
    assert lo <= hits <= hi


@pytest.mark.parametrize("method", ["t2", "bonferroni"])
def test_simultaneous_intervals_cover(method):
    rng = np.random.default_rng(10)
    reps, p = 400, 3
    cover = 0
    for _ in range(reps):
        X = rng.standard_normal((15, p))
        ci = hotelling_t2(X).simultaneous_intervals(0.9, method=method)
        cover += bool(np.all((ci.lower <= 0) & (0 <= ci.upper)))
    rate = cover / reps
    # both are conservative for the p components; T^2 much more than Bonferroni
    assert 0.9 - 3.1 * np.sqrt(0.09 / reps) <= rate
    if method == "bonferroni":
        assert rate <= 0.96


def test_simultaneous_intervals_frame_and_widths():
    rng = np.random.default_rng(11)
    X = pd.DataFrame(rng.standard_normal((20, 3)), columns=["a", "b", "c"])
    r = hotelling_t2(X)
    t2 = r.simultaneous_intervals()
    bon = r.simultaneous_intervals(method="bonferroni")
    df = t2.to_frame()
    assert list(df.index) == ["a", "b", "c"] and list(df.columns) == ["estimate", "lower",
                                                                        "upper"]
    assert np.all(bon.upper - bon.lower < t2.upper - t2.lower)
    n, p = 20, 3
    se = X.std(ddof=1).to_numpy() / np.sqrt(n)
    crit = p * (n - 1) / (n - p) * stats.f.ppf(0.95, p, n - p)
    np.testing.assert_allclose(t2.upper - t2.estimate, np.sqrt(crit) * se, rtol=1e-12)
    tq = stats.t.ppf(1 - 0.05 / 6, n - 1)
    np.testing.assert_allclose(bon.upper - bon.estimate, tq * se, rtol=1e-12)
    assert "a:" in repr(t2)


def test_result_repr_and_frame():
    rng = np.random.default_rng(12)
    r = hotelling_t2(rng.standard_normal((10, 2)), rng.standard_normal((12, 2)))
    assert "HotellingResult(method='pooled'" in repr(r) and "n1=10, n2=12" in repr(r)
    f = r.to_frame()
    assert f.loc[0, "pvalue"] == r.pvalue and f.loc[0, "df2"] == 19
    assert mh.inference.hotelling_t2 is hotelling_t2


def test_dataframes_with_reordered_columns():
    rng = np.random.default_rng(13)
    X = pd.DataFrame(rng.standard_normal((10, 3)), columns=list("abc"))
    Y = pd.DataFrame(rng.standard_normal((12, 3)), columns=list("abc"))
    a = hotelling_t2(X, Y)
    b = hotelling_t2(X, Y[["c", "a", "b"]])
    assert a.statistic == pytest.approx(b.statistic, rel=1e-12)
    assert a.feature_names == ("a", "b", "c")


# --------------------------------------------------------------------------- errors
def test_errors():
    rng = np.random.default_rng(14)
    with pytest.raises(ValueError, match="random_projection"):
        hotelling_t2(rng.standard_normal((5, 8)))
    with pytest.raises(ValueError, match="random_projection"):
        hotelling_t2(rng.standard_normal((4, 8)), rng.standard_normal((5, 8)))
    with pytest.raises(ValueError, match="columns"):
        hotelling_t2(rng.standard_normal((5, 2)), rng.standard_normal((5, 3)))
    with pytest.raises(ValueError, match="same rows"):
        hotelling_t2(rng.standard_normal((5, 2)), rng.standard_normal((6, 2)), paired=True)
    with pytest.raises(ValueError, match="pass Y"):
        hotelling_t2(rng.standard_normal((5, 2)), method="yao")
    with pytest.raises(ValueError, match="method must be one of"):
        hotelling_t2(rng.standard_normal((5, 2)), method="welch")
    with pytest.raises(ValueError, match="mu has length"):
        hotelling_t2(rng.standard_normal((5, 2)), mu=[0, 0, 0])
    with pytest.raises(ValueError, match="projection_dim"):
        hotelling_t2(rng.standard_normal((5, 8)), method="random_projection", projection_dim=6)
    r = hotelling_t2(rng.standard_normal((6, 2)))
    with pytest.raises(ValueError, match="level"):
        r.confidence_region(1.5)
    with pytest.raises(ValueError, match="method"):
        r.simultaneous_intervals(method="scheffe")
