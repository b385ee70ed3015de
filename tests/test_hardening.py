"""Regression tests for issue 12: no silently wrong number, no lost data.

One test (or a parametrised group) per bullet of the issue's "Why" list."""

import numpy as np
import pandas as pd
import pytest

import mahalanobis as mh

RNG = np.random.default_rng(12)
X = RNG.standard_normal((40, 3))
DF = pd.DataFrame(X, columns=["a", "b", "c"])


# ------------------------------------------------------------ labels are matched, never guessed
def test_metric_distance_matches_columns_by_name():
    m = mh.fit(DF)
    shuffled = DF[["c", "a", "b"]]
    np.testing.assert_array_equal(m.distance(shuffled).to_numpy(), m.distance(DF).to_numpy())


@pytest.mark.parametrize("bad, pattern", [
    (DF.rename(columns={"a": "z"}), r"lacks column\(s\) \['a'\] and has column\(s\) \['z'\]"),
    (DF.assign(d=1.0), r"has column\(s\) \['d'\] not seen in fitting"),
    (DF[["a", "b"]], r"lacks column\(s\) \['c'\]"),
])
def test_metric_distance_wrong_names_raise(bad, pattern):
    with pytest.raises(ValueError, match=pattern):
        mh.fit(DF).distance(bad)


def test_unnamed_frame_and_array_stay_positional():
    m = mh.fit(DF)
    np.testing.assert_allclose(m.distance(pd.DataFrame(X)).to_numpy(), m.distance(X))


def test_t2chart_monitor_matches_columns_by_name():
    chart = mh.T2Chart(DF)
    a = chart.monitor(DF[["b", "c", "a"]]).statistic
    np.testing.assert_array_equal(np.asarray(a), np.asarray(chart.monitor(DF).statistic))
    with pytest.raises(ValueError, match=r"lacks column\(s\) \['a'\]"):
        chart.monitor(DF.rename(columns={"a": "z"}))


# ------------------------------------------------------------------------- typed arguments
@pytest.mark.parametrize("call, exc, pattern", [
    (lambda: mh.distance(X, X.mean(0), cov=np.eye(3), squared="no"), TypeError, "squared"),
    (lambda: mh.fit(X).distance(X, squared=1), TypeError, "squared"),
    (lambda: mh.fit(X).pairwise(X, squared="yes"), TypeError, "squared"),
    (lambda: mh.fit(X).outliers(X, alpha=True), TypeError, "alpha"),
    (lambda: mh.fit(X, ddof=1.5), ValueError, "ddof must be an integer"),
    (lambda: mh.fit(X, ddof=-1), ValueError, "ddof must be at least 0"),
    (lambda: mh.fit(X, ddof=40), ValueError, "ddof=40 leaves no degrees of freedom"),
    (lambda: mh.fit(X, method="mcd", random_state=-1), ValueError, "random_state.*non-negative"),
    (lambda: mh.fit(X, method="mcd", random_state=True), TypeError, "random_state"),
    (lambda: mh.fit(X, method="mcd", random_state=1.5), TypeError, "random_state"),
    (lambda: mh.fit(X, method="mcd", reweight="yes"), TypeError, "reweight"),
    (lambda: mh.distance(X, X.mean(0)[:2], cov=np.eye(3)), ValueError,
     "center has length 2 but 3"),
    # the known misses of the first sweep: a type is a TypeError naming the argument
    (lambda: mh.covariance.mcd(X, support_fraction="0.5"), TypeError,
     r"support_fraction must be a number; got '0.5' \(str\)\. support_fraction is the share"),
    (lambda: mh.fit(X, method=3), TypeError, r"method must be a string, one of 'em'"),
    (lambda: mh.fit(X, method="mdc"), ValueError, r"method must be one of 'em'"),
    (lambda: mh.fit(X, nan_policy=1), TypeError, r"nan_policy must be a string"),
    (lambda: mh.covariance.scale_tau2(X[:, 0], consistency="no"), ValueError, "consistency"),
    (lambda: mh.covariance.scale_tau2(X[:, 0], iterations=1.5), ValueError, "iterations"),
    (lambda: mh.covariance.scale_tau2(X[:, 0], iterations="3"), TypeError, "iterations"),
    (lambda: mh.covariance.modified_cholesky(X, n_orderings="3"), ValueError,
     "n_orderings must be a positive integer or 'all'"),
    (lambda: mh.covariance.h_alpha_n(0.5, 10.5, 3), ValueError, "n must be an integer"),
])
def test_typed_arguments(call, exc, pattern):
    with pytest.raises(exc, match=pattern):
        call()


def test_type_errors_are_also_value_errors():
    """Code that caught the library's ValueError for bad input keeps catching it; the type is
    public as mh.ArgumentTypeError."""
    with pytest.raises(mh.ArgumentTypeError):
        mh.fit(X, method="mcd", n_starts="10")
    with pytest.raises(ValueError, match="squared"):
        mh.distance(X, X.mean(0), cov=np.eye(3), squared="no")


def test_pvalue_nan_and_negative():
    with pytest.raises(ValueError, match=r"d2 has 1 NaN.*nan_policy='propagate'"):
        mh.inference.pvalue(np.array([1.0, np.nan]), 3)
    out = mh.inference.pvalue(np.array([1.0, np.nan]), 3, nan_policy="propagate")
    assert np.isfinite(out[0]) and np.isnan(out[1])
    with pytest.raises(ValueError, match="negative"):
        mh.inference.pvalue(np.array([-1.0]), 3)
    assert mh.inference.pvalue(-1e-15, 3) == 1.0  # rounding counts as 0


# ---------------------------------------------------------------------------- a 1-D point
def test_one_point_gives_a_scalar():
    c, S = X.mean(0), np.cov(X.T)
    d = mh.distance(X[0], c, cov=S)
    assert isinstance(d, float)
    assert d == pytest.approx(mh.distance(X[:1], c, cov=S)[0], rel=1e-15)
    from scipy.spatial.distance import mahalanobis
    assert d == pytest.approx(mahalanobis(X[0], c, np.linalg.inv(S)), rel=1e-12)
    assert mh.distance(list(X[0]), c, cov=S, squared=True) == pytest.approx(d * d)


def test_one_dimensional_data_still_rejected_elsewhere():
    with pytest.raises(ValueError, match="X must be 2-D"):
        mh.fit(X).distance(X[0])
    with pytest.raises(ValueError, match=r"reshape\(-1, 1\)"):
        mh.distance(X[:, 0], [0.0], cov=[[1.0]])


# ------------------------------------------------------------------- ml: the library's words
def test_ml_messages_name_the_column_and_the_fix():
    pytest.importorskip("sklearn")
    from mahalanobis.ml import MahalanobisOutlierDetector
    df = DF.assign(kind=["u", "v"] * 20)
    with pytest.raises(ValueError, match=r"non-numeric column\(s\) 'kind'"):
        MahalanobisOutlierDetector(method="empirical").fit(df)
    Xn = X.copy()
    Xn[3, 1] = np.nan
    with pytest.raises(ValueError, match=r"X is not usable: .*NaN.* Fix: drop or impute"):
        MahalanobisOutlierDetector(method="empirical").fit(Xn)


def test_mts_normal_class_default_and_explicit():
    pytest.importorskip("sklearn")
    from mahalanobis.ml import MTSSelector
    rng = np.random.default_rng(1)
    Z = rng.standard_normal((60, 4))
    y = np.r_[np.ones(45, int), np.full(15, 2)]  # no 0 label: the majority (1) is normal
    Z[y == 2, 0] += 4.0
    sel = MTSSelector().fit(Z, y)
    assert sel.normal_class_ == 1 and sel.gains_[0] > 0
    same = MTSSelector(normal_class=1).fit(Z, y)
    np.testing.assert_array_equal(sel.gains_, same.gains_)
    with pytest.raises(ValueError, match="normal_class=7 is not a label"):
        MTSSelector(normal_class=7).fit(Z, y)
    y0 = np.where(y == 1, 0, 1)  # a 0 label is still the normal group by default
    assert MTSSelector().fit(Z, y0).normal_class_ == 0


# ------------------------------------------------------------------------ scale and shift
@pytest.mark.parametrize("c", [1e-140, 1e-10, 1e10, 1e140])
def test_mrcd_is_scale_equivariant_and_flags_outliers(c):
    Z = RNG.standard_normal((60, 3))
    Z[-5:] += 6.0
    ref = mh.covariance.mrcd(Z)
    r = mh.covariance.mrcd(Z * c)
    np.testing.assert_allclose(r.distance(Z * c, squared=True), ref.distance(Z, squared=True),
                               rtol=1e-9)
    assert r.outliers(Z * c)[-5:].all()


def test_mrcd_min_scale_absolute_is_rrcovs():
    Z = RNG.standard_normal((40, 3)) * 1e-5
    assert mh.covariance.mrcd(Z, min_scale=1e-3).standardization_scale.tolist() == [1e-3] * 3
    np.testing.assert_allclose(mh.covariance.mrcd(Z).standardization_scale,
                               [mh.covariance.qn(Z[:, j], exact=False) for j in range(3)])


@pytest.mark.parametrize("c", [1e-300, 1e-140, 1e140, 1e300])
def test_qn_is_scale_equivariant(c):
    x = RNG.standard_normal(40)
    for exact in (True, False):
        assert mh.covariance.qn(x * c, exact=exact) / c == pytest.approx(
            mh.covariance.qn(x, exact=exact), rel=1e-14)


@pytest.mark.parametrize("c", [1e-140, 1e-100, 1e100, 1e149])
def test_shrinkage_intensity_does_not_depend_on_scale(c):
    Z = RNG.standard_normal((20, 3))
    for f in (mh.covariance.ledoit_wolf, mh.covariance.oas):
        assert f(Z * c).shrinkage == pytest.approx(f(Z).shrinkage, rel=1e-12)


def test_spread_beyond_float64_is_a_clear_error():
    Z = RNG.standard_normal((30, 2)) * [1.0, 1e200]
    for call in (lambda: mh.fit(Z), lambda: mh.covariance.mcd(Z, random_state=0),
                 lambda: mh.hotelling_t2(Z), lambda: mh.T2Chart(Z)):
        with pytest.raises(ValueError, match=r"column\(s\) column 1 .*overflow float64.*"
                           r"spreads from 1e-150 to 1e\+150 work\. Rescale"):
            call()
    with pytest.raises(ValueError, match="underflow"):
        mh.fit(RNG.standard_normal((30, 2)) * [1.0, 1e-200])


def test_constant_column_advice_works():
    Z = RNG.standard_normal((40, 3))
    Z[:, 1] = 0.1  # not exactly representable: its mean need not be 0.1 exactly
    with pytest.raises(ValueError, match="Drop that column") as err:
        mh.covariance.mcd(Z, random_state=0)
    assert "mrcd" not in str(err.value)
    with pytest.raises(ValueError, match=r"constant column\(s\) column 1"):
        mh.covariance.mrcd(Z)
    Z[:, 1] = RNG.standard_normal(40)
    Z[:25, 1] = 0.1  # mostly tied, not constant: mcd points to mrcd, which works
    with pytest.raises(ValueError, match="method='mrcd'"):
        mh.covariance.mcd(Z, random_state=0)
    assert np.isfinite(mh.covariance.mrcd(Z).distance(Z)).all()


def test_t2chart_ragged_list_is_named():
    with pytest.raises(ValueError, match="X could not be read as an array"):
        mh.T2Chart([[1.0, 2.0], [3.0]])


def test_identical_rows_refused_everywhere():
    Xi = np.tile(RNG.standard_normal((1, 4)) * 0.1, (20, 1))
    for call in (lambda: mh.FunctionalMetric().fit(Xi), lambda: mh.SketchedMetric().fit(Xi),
                 lambda: mh.fit(Xi), lambda: mh.covariance.mrcd(Xi)):
        with pytest.raises(ValueError, match=r"same point|identical|constant"):
            call()
    pytest.importorskip("sklearn")
    from mahalanobis.ml import MahalanobisKMeans
    with pytest.raises(ValueError, match="same point"):
        MahalanobisKMeans(n_clusters=2).fit(Xi)


def test_modified_cholesky_constant_column_not_exactly_representable():
    Z = RNG.standard_normal((40, 3))
    Z[:, 1] = 0.1
    with pytest.raises(ValueError, match=r"constant column\(s\) column 1"):
        mh.fit(Z, method="modified_cholesky", random_state=0)


@pytest.mark.parametrize("shift", [1e6, 1e8])
def test_kernel_metric_shift_costs_only_input_rounding(shift):
    Z = RNG.standard_normal((50, 3))
    d0 = mh.KernelMetric().fit(Z).distance(Z[:5])
    d = mh.KernelMetric().fit(Z + shift).distance(Z[:5] + shift)
    np.testing.assert_allclose(d, d0, rtol=shift * 1e-15)


@pytest.mark.parametrize("c", [1e-140, 1e-100, 1e100, 1e140])
def test_functional_metric_scale(c):
    F = np.cumsum(RNG.standard_normal((30, 20)), axis=1)
    for method in ("rkhs", "fpca"):
        d0 = mh.FunctionalMetric(method=method).fit(F).distance(F[:3])
        d = mh.FunctionalMetric(method=method).fit(F * c).distance(F[:3] * c)
        np.testing.assert_allclose(d, d0, rtol=1e-9)


@pytest.mark.parametrize("c", [1e160, 1e200, 1e300])
def test_distance_and_pairwise_of_huge_points(c):
    Z = RNG.standard_normal((4, 3))
    d0, p0 = mh.distance(Z, np.zeros(3), cov=np.eye(3)), mh.pairwise(Z + 1, Z, cov=np.eye(3))
    np.testing.assert_allclose(mh.distance(Z * c, np.zeros(3), cov=np.eye(3)) / c, d0,
                               rtol=1e-14)
    np.testing.assert_allclose(mh.pairwise(Z * c + c, Z * c, cov=np.eye(3)) / c, p0,
                               rtol=1e-13)
    assert np.isposinf(mh.distance(Z * c, np.zeros(3), cov=np.eye(3), squared=True)).all()


@pytest.mark.parametrize("p", [1, 3])
@pytest.mark.parametrize("c", [1e-140, 1e-30, 1e140])
def test_stahel_donoho_and_mm_are_scale_equivariant(p, c):
    Z = np.random.default_rng(3).standard_normal((25, p))
    for f, kw in ((mh.covariance.stahel_donoho, {"n_directions": 50}),
                  (mh.covariance.mm_estimator, {"n_starts": 20})):
        d0 = f(Z, random_state=0, **kw).distance(Z, squared=True)
        d = f(Z * c, random_state=0, **kw).distance(Z * c, squared=True)
        np.testing.assert_allclose(d, d0, rtol=1e-10)


def test_hotelling_propagate_is_a_clear_error():
    Zn = X.copy()
    Zn[0, 0] = np.nan
    with pytest.raises(ValueError, match="nan_policy='propagate' makes no sense"):
        mh.hotelling_t2(Zn, nan_policy="propagate")


@pytest.mark.parametrize("kw, exc", [({"max_csteps": -1}, ValueError),
                                     ({"max_csteps": 1.5}, ValueError),
                                     ({"max_condition": True}, TypeError)])
def test_mrcd_counts_and_numbers_are_typed(kw, exc):
    with pytest.raises(exc, match=next(iter(kw))):
        mh.covariance.mrcd(X, **kw)


def test_singular_advice_leads_to_methods_that_work():
    Z = RNG.standard_normal((40, 4))
    Z[:, 3] = 0.3 * Z[:, 0] + Z[:, 2]  # exactly collinear
    with pytest.raises(mh.SingularCovarianceError) as err:
        mh.fit(Z)
    advised = [m for m in ("ledoit_wolf", "oas", "mrcd", "modified_cholesky")
               if f"'{m}'" in str(err.value)]
    assert advised
    for method in advised:
        assert np.isfinite(mh.fit(Z, method=method).distance(Z)).all()
