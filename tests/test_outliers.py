"""mh.outliers: calibrated in-sample flags (issue 11)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import mahalanobis as mh
from mahalanobis.inference import cerioli_cutoffs, hardin_rocke
from mahalanobis.inference.calibration import cache_dir, simulate_reference


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("MAHALANOBIS_CACHE_DIR", str(tmp_path / "cache"))


def _planted(n=80, p=3, k=4, seed=3):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    X[:k] += 6.0
    return X


def test_rmcd_follows_cerioli_step_by_step():
    X = _planted()
    n, p = X.shape
    res = mh.outliers(X, random_state=0, reference="cerioli")
    raw = mh.covariance.mcd(X, reweight=False, random_state=0)
    # (2) weights from the Hardin-Rocke scaled F of the raw distances at 0.975
    hr = hardin_rocke(n, p, raw.h)
    w = raw.raw_distances <= hr.scale * stats.f.isf(0.025, *hr.df)
    np.testing.assert_array_equal(res.weights, w)
    # (3) mean and covariance (divisor m - 1) of the kept rows, times c(p, 0.975)
    m = int(w.sum())
    k = 0.975 / stats.chi2.cdf(stats.chi2.ppf(0.975, p), p + 2)
    np.testing.assert_allclose(res.metric.center, X[w].mean(0), rtol=1e-12)
    np.testing.assert_allclose(res.metric.cov, k * np.cov(X[w].T), rtol=1e-10)
    # (4) Beta cutoff for kept rows, F for the others
    cc = cerioli_cutoffs(p, m, 0.025)
    np.testing.assert_allclose(res.cutoff, np.where(w, cc.beta, cc.f))
    np.testing.assert_array_equal(res.flags, np.asarray(res.d2) > res.cutoff)
    assert res.flags[:4].all() and res.n_flagged <= 6
    # p-values agree with the flags
    np.testing.assert_array_equal(np.asarray(res.pvalue) < 0.025, res.flags)
    assert "Cerioli" in res.reference and f"m={m}" in res.reference


def test_auto_reference_simulates_the_rmcd_law_for_small_n():
    X = _planted(n=40)
    res = mh.outliers(X, random_state=0, n_starts=50, n_calibration=40)
    assert "Monte Carlo" in res.reference and "RMCD" in res.reference
    assert np.ndim(res.cutoff) == 0 and res.flags[:4].all()
    np.testing.assert_array_equal(np.asarray(res.pvalue) < 0.025, res.flags)
    big = mh.outliers(_planted(n=120), random_state=0)
    assert "Beta" in big.reference and "Monte Carlo" not in big.reference


def test_rmcd_clean_data_rate_within_binomial_bounds():
    """Issue 11: the chi2 rule flagged 5.8 % per row at n = 60, p = 3; RMCD holds 2.5 %."""
    rng = np.random.default_rng(11)
    n, p, reps = 60, 3, 60
    k = k_fw = 0
    for r in range(reps):
        X = rng.standard_normal((n, p))
        k += int(mh.outliers(X, random_state=r, n_starts=50, reference="cerioli").flags.sum())
        k_fw += int(mh.outliers(X, random_state=r, n_starts=50, level="simultaneous",
                                alpha=0.05, reference="cerioli").flags.any())
    lo, hi = stats.binom.ppf([0.0005, 0.9995], reps * n, 0.025)
    assert lo <= k <= hi
    assert k_fw <= stats.binom.ppf(0.9995, reps, 0.05)


def test_classical_exact_beta_and_simultaneous_level():
    X = _planted(n=50)
    n, p = X.shape
    res = mh.outliers(X, method="empirical")
    cut = (n - 1) ** 2 / n * stats.beta.isf(0.025, p / 2, (n - p - 1) / 2)
    assert res.cutoff == pytest.approx(cut)
    np.testing.assert_allclose(res.d2, mh.fit(X).distance(X, squared=True))
    sim = mh.outliers(X, method="empirical", level="simultaneous")
    a = 1 - 0.975 ** (1 / n)
    assert sim.alpha_row == pytest.approx(a)
    assert sim.cutoff == pytest.approx((n - 1) ** 2 / n * stats.beta.isf(a, p / 2,
                                                                         (n - p - 1) / 2))
    assert sim.n_flagged <= res.n_flagged


def test_irmcd_tests_rows_only_when_the_intersection_is_rejected():
    X = _planted(n=60)
    kw = {"alpha": 0.05, "random_state": 0, "reference": "cerioli"}
    res = mh.outliers(X, method="irmcd", **kw)
    ind = mh.outliers(X, **kw)
    np.testing.assert_array_equal(res.flags, ind.flags)  # rejected: per-row level
    clean = np.random.default_rng(5).standard_normal((60, 3))
    r0 = mh.outliers(clean, method="irmcd", **kw)
    sim = mh.outliers(clean, level="simultaneous", **kw)
    if not sim.flags.any():
        assert not r0.flags.any()


def test_chi2_reference_is_robustbase_rule():
    X = _planted()
    res = mh.outliers(X, reference="chi2", random_state=0)
    fit = mh.fit(X, method="mcd", random_state=0)
    np.testing.assert_allclose(res.d2, fit.distance(X, squared=True))
    assert res.cutoff == pytest.approx(stats.chi2.isf(0.025, 3))


def test_monte_carlo_calibration_is_seeded_and_cached(tmp_path):
    X = _planted(n=40)
    a = mh.outliers(X, method="ogk", n_calibration=60)
    files = list(cache_dir().glob("calibration-*.npz"))
    assert len(files) == 1 and str(cache_dir()).startswith(str(tmp_path))
    b = mh.outliers(X, method="ogk", n_calibration=60)
    assert a.cutoff == b.cutoff and "Monte Carlo" in a.reference
    assert a.flags[:4].all()
    np.testing.assert_array_equal(np.asarray(a.pvalue) < 0.025, a.flags)


def test_simulated_reference_quantiles_and_tail():
    ref = simulate_reference(lambda Z: (Z ** 2).sum(1), key="test-chi2", n=50, p=3,
                             n_reps=400, cache=False)
    assert ref.cutoff(0.05) == pytest.approx(stats.chi2.isf(0.05, 3), rel=0.05)
    np.testing.assert_allclose(ref.sf(ref.cutoff(0.01)), 0.01, rtol=0.02)
    assert 0 < ref.sf(100.0) < 1e-6  # the extrapolated tail
    assert ref.cutoff(0.05, "simultaneous") > ref.cutoff(0.05)


def test_result_frame_repr_and_pandas_labels():
    X = pd.DataFrame(_planted(), columns=["a", "b", "c"],
                     index=[f"r{i}" for i in range(80)])
    res = mh.outliers(X, random_state=0, reference="cerioli")
    assert list(res.flags.index[:2]) == ["r0", "r1"]
    df = res.to_frame()
    assert list(df.columns) == ["distance", "d2", "pvalue", "cutoff", "flag", "weight"]
    assert df.index[0] == "r0" and df["flag"].sum() == res.n_flagged
    assert "OutlierResult(method='mcd'" in repr(res) and "per row" in repr(res)
    with pytest.raises(AttributeError):
        res.alpha = 0.1  # frozen


@pytest.mark.parametrize("kwargs, match", [
    ({"method": "nope"}, "method"),
    ({"alpha": 1.5}, "alpha"),
    ({"level": "both"}, "level"),
    ({"reference": "t"}, "reference"),
    ({"method": "ogk", "reference": "cerioli"}, "reference='cerioli'"),
    ({"method": "mcd", "reference": "beta"}, "reference='beta'"),
    ({"method": "irmcd", "reference": "chi2"}, "irmcd"),
    ({"n_calibration": 5}, "n_calibration"),
    ({"nan_policy": "pairwise"}, "nan_policy"),
])
def test_bad_arguments_name_themselves(kwargs, match):
    with pytest.raises(ValueError, match=match):
        mh.outliers(_planted(), **kwargs)


def test_nan_rows_raise_or_are_omitted():
    X = _planted()
    X[10, 1] = np.nan
    with pytest.raises(ValueError, match="X"):
        mh.outliers(X, random_state=0)
    res = mh.outliers(X, random_state=0, nan_policy="omit", reference="cerioli")
    assert res.n_samples == 79 and res.omitted.tolist() == [10]


def test_new_points_use_the_prediction_reference():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 3))
    emp = mh.fit(X)
    assert emp.new_point_reference() == ("f", 40)
    Y = rng.standard_normal((5, 3))
    d2 = emp.distance(Y, squared=True)
    f = stats.f.sf(d2 * 40 * 37 / (3 * 41 * 39), 3, 37)
    np.testing.assert_allclose(emp.pvalue(Y), f)
    np.testing.assert_allclose(emp.pvalue(Y, reference="chi2"), stats.chi2.sf(d2, 3))
    cut = 3 * 41 * 39 / (40 * 37) * stats.f.isf(0.025, 3, 37)
    np.testing.assert_array_equal(emp.outliers(Y), d2 > cut)
    given = mh.Metric(np.zeros(3), np.eye(3))
    assert given.new_point_reference() == ("chi2", None)
    assert "chi2" in given.prediction_reference
    with pytest.raises(ValueError, match="n_samples"):
        given.pvalue(Y, reference="f")
    mcd = mh.fit(X, method="mcd", random_state=0)
    assert mcd.new_point_reference() == ("simulated", 40)
    assert "Monte Carlo" in mcd.prediction_reference
    raw = mh.covariance.mcd(X, reweight=False, random_state=0)
    assert raw.new_point_reference() == ("simulated", 40)
    big = mh.covariance.mcd(np.random.default_rng(1).standard_normal((500, 2)),
                            random_state=0, n_starts=20)
    assert big.new_point_reference() == ("f", int(np.sum(big.weights)))


@pytest.fixture
def few_law_fits(monkeypatch):
    """New-point laws from 150 simulated fits (the default, 3e4 / n, is for real use)."""
    import mahalanobis._calibration as calibration
    monkeypatch.setattr(calibration, "_new_point_reps", lambda n: 150)


def test_mcd_new_points_flagged_at_their_level(few_law_fits):
    """Issue 11, item 3: mh.fit(X, "mcd").outliers(X_new) judged new clean points by
    Cerioli's F law with m = the rows kept, which flags about 15 % of them at n = 30, p = 5
    for alpha = 0.025; the simulated law of the same estimator holds alpha."""
    n, p, fits, k = 30, 5, 60, 100
    rng = np.random.default_rng(1)
    flagged = flagged_f = 0
    for r in range(fits):
        fit = mh.fit(rng.standard_normal((n, p)), method="mcd", random_state=r, n_starts=100)
        Y = rng.standard_normal((k, p))
        flags = fit.outliers(Y)
        np.testing.assert_array_equal(fit.pvalue(Y) < 0.025, flags)
        flagged += int(flags.sum())
        m = int(np.sum(fit.weights))
        cut_f = p * (m + 1) * (m - 1) / (m * (m - p)) * stats.f.isf(0.025, p, m - p)
        flagged_f += int((np.asarray(fit.distance(Y, squared=True)) > cut_f).sum())
    # the points of one fit share its error: a wide band, far below the F law's rate
    assert 0.012 < flagged / (fits * k) < 0.045
    assert flagged_f / (fits * k) > 0.08
    law = fit.new_point_law()
    assert law.kind == "simulated" and "150 fits" in law.description
    assert law.cutoff(0.025) > cut_f


def test_rmcd_metric_judges_new_points_by_its_own_law(few_law_fits):
    from mahalanobis.inference.outliers import RMCDMetric
    res = mh.outliers(_planted(n=60), random_state=0, n_starts=50, n_calibration=40)
    metric = res.metric
    assert isinstance(metric, RMCDMetric)
    assert metric.n_samples == int(np.sum(res.weights))
    assert metric.new_point_reference() == ("simulated", 60)
    law = metric.new_point_law()
    Y = np.random.default_rng(2).standard_normal((50, 3))
    np.testing.assert_allclose(metric.pvalue(Y), law.sf(metric.distance(Y, squared=True)))
    assert metric.pvalue(Y, reference="chi2").min() <= metric.pvalue(Y).min()
    import pickle
    assert pickle.loads(pickle.dumps(metric)).new_point_reference() == ("simulated", 60)


def test_outliers_keep_rows_with_missing_cells():
    """nan_policy='marginal'/'em': incomplete rows are judged on their observed coordinates
    (issue 14, item 4) and planted incomplete outliers are flagged."""
    rng = np.random.default_rng(3)
    X = rng.standard_normal((300, 4))
    X[:6] += 6
    X[rng.random(X.shape) < 0.1] = np.nan
    X[1, 2] = np.nan  # a planted outlier with a missing cell
    for policy in ("marginal", "em"):
        res = mh.outliers(X, nan_policy=policy, random_state=0)
        k = np.asarray(res.n_observed)
        np.testing.assert_array_equal(k, (~np.isnan(X)).sum(axis=1))
        assert res.flags[:6].all()
        assert res.n_samples == 300 and "observed" in res.reference
        cut = np.asarray(res.cutoff)
        # Cerioli's laws with the observed count for p: Beta for kept rows, F for the others
        w = np.asarray(res.weights)
        m = int(w.sum())
        want = [(lambda c: c.beta if wi else c.f)(cerioli_cutoffs(int(ki), m, 0.025))
                for ki, wi in zip(k, w)]
        np.testing.assert_allclose(cut, want, rtol=1e-10)
        assert list(res.to_frame().columns)[-1] == "n_observed"
    with pytest.raises(ValueError, match=r"nan_policy=.em.*not .ogk."):
        mh.outliers(X, method="ogk", nan_policy="em")


def test_outliers_missing_cells_clean_rate():
    """Clean data, 10 % MCAR cells, EM fit: the per-row rate is near alpha at n = 400."""
    flagged = total = 0
    for seed in range(5):
        rng = np.random.default_rng(100 + seed)
        X = rng.standard_normal((400, 3))
        X[rng.random(X.shape) < 0.1] = np.nan
        with warnings.catch_warnings():  # rows with every cell missing are named
            warnings.simplefilter("ignore", UserWarning)
            res = mh.outliers(X, method="empirical", alpha=0.05, nan_policy="em")
        flagged += res.n_flagged
        total += res.n_samples
    lo, hi = stats.binom.ppf([0.005, 0.995], total, 0.05)
    assert lo <= flagged <= hi, (flagged, total)
