"""Behaviour of the robust estimators beyond MCD: breakdown, efficiency at the normal,
consistency, exact fits and p > n, and the common result API (seeded simulations)."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from scipy import stats

import mahalanobis as mh
from mahalanobis.covariance import (
    mm_estimator,
    mve,
    ogk,
    s_estimator,
    spatial_sign,
    stahel_donoho,
    tyler,
)
from mahalanobis.covariance.tyler import spatial_median_efficiency

NEW = ("ogk", "s_estimator", "mm_estimator", "mve", "stahel_donoho", "tyler", "spatial_sign")
RANDOM = {"s_estimator", "mm_estimator", "mve", "stahel_donoho"}


def _fit(method: str, X: np.ndarray, **kw):
    if method in RANDOM:
        kw.setdefault("random_state", 0)
    return mh.fit(X, method=method, **kw)


def _contaminate(n: int, p: int, frac: float, seed: int, far: float = 1e3) -> np.ndarray:
    """N(0, I) data with a share ``frac`` of the rows replaced: half a tight far cluster, half
    scattered far points (the two hardest kinds for location and scatter)."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    m = round(frac * n)
    k = m // 2
    X[:k] = far + 0.01 * rng.standard_normal((k, p))
    X[k:m] = far * rng.standard_normal((m - k, p))
    return X


# --------------------------------------------------------------------------- breakdown
@pytest.mark.parametrize("method", ["s_estimator", "mm_estimator", "mve", "stahel_donoho",
                                    "ogk"])
def test_bounded_with_20_percent_far_outliers(method):
    X = _contaminate(200, 4, 0.2, seed=1)
    r = _fit(method, X)
    ev = np.linalg.eigvalsh(r.cov)
    assert np.max(np.abs(r.center)) < 0.5
    assert 0.3 < ev[0] and ev[-1] < 3.0
    # every outlier is far in the robust metric, while the classical fit is ruined
    assert np.min(r.distance(X[:40], squared=True)) > 1e3
    c = mh.fit(X)
    assert np.max(np.abs(c.center)) > 50


def test_s_estimator_bounded_with_40_percent():
    # 50% breakdown point: with 40% of the rows replaced the estimate stays in a bounded set
    # however far the outliers are (here the same for outliers at 1e3 and at 1e6)
    fits = [s_estimator(_contaminate(300, 3, 0.4, seed=2, far=far), random_state=0)
            for far in (1e3, 1e6)]
    for r in fits:
        ev = np.linalg.eigvalsh(r.cov)
        assert r.breakdown_point == 0.5
        assert np.max(np.abs(r.center)) < 0.5 and 0.2 < ev[0] and ev[-1] < 10.0
    np.testing.assert_allclose(fits[0].cov, fits[1].cov, rtol=1e-6)


def test_tyler_is_not_robust_to_a_cluster_but_to_heavy_tails():
    # documented: breakdown point 1/p for the shape; heavy tails are its strength
    rng = np.random.default_rng(3)
    X = rng.standard_t(1.5, size=(2000, 3)) @ np.diag([1.0, 3.0, 9.0])
    r = tyler(X)
    sd = np.sqrt(np.diag(r.shape))
    np.testing.assert_allclose(sd / sd[0], [1, 3, 9], rtol=0.08)
    assert r.breakdown_point == pytest.approx(1 / 3)


# --------------------------------------------------------------------------- efficiency
def _s_from_truth(X: np.ndarray):
    """The S-estimate's own iteration from the (consistent) sample mean and covariance: on
    clean normal data this is the minimum the random search finds (checked below), without
    the cost of the search."""
    s_mod = sys.modules["mahalanobis.covariance.s_estimator"]
    n, p = X.shape
    C = np.cov(X.T)
    mu, V, s, _, _ = s_mod.s_iterate(X, X.mean(axis=0), C / np.linalg.det(C) ** (1 / p),
                                     s_mod.Loss.s_loss("bisquare", p, n, 0.5))
    return mu, V, s


def _mm_from_truth(X: np.ndarray) -> np.ndarray:
    from mahalanobis.covariance._rho import mm_constant
    mu, V, s = _s_from_truth(X)
    return sys.modules["mahalanobis.covariance.mm_estimator"].mm_iterate(
        X, mu, V, s, mm_constant(X.shape[1]))[0]


LOCATIONS = {"s_estimator": lambda X: _s_from_truth(X)[0], "mm_estimator": _mm_from_truth,
             "tyler": lambda X: tyler(X).center}


@pytest.mark.parametrize("method", sorted(LOCATIONS))
def test_location_efficiency_at_the_normal(method):
    # For N(mu, I) data and a translation-equivariant T, T - xbar is independent of xbar
    # (Basu), so Var T = 1/n + Var(T - xbar) exactly and the efficiency 1 / (n Var T) is
    # estimated from the small Var(T - xbar): 60 samples of n = 500, p = 5 pin it to about 1%.
    n, p, reps = 500, 5, 60
    rng = np.random.default_rng(7)
    D = []
    for _ in range(reps):
        X = rng.standard_normal((n, p))
        D.append(LOCATIONS[method](X) - X.mean(axis=0))
    eff = 1.0 / (1.0 + n * float(np.mean(np.var(np.array(D), axis=0))))
    X0 = np.random.default_rng(0).standard_normal((n, p))
    r = _fit(method, X0, **({"n_starts": 20} if method in RANDOM else {}))
    assert eff == pytest.approx(r.efficiency, rel=0.03)
    # the shortcut is the estimator: same centre as the full random search
    np.testing.assert_allclose(LOCATIONS[method](X0), r.center, atol=1e-7)


def test_efficiency_values():
    # Lopuhaa (1989) / rrcov's loceff.bw; Brown (1983) for the spatial median
    X = np.random.default_rng(0).standard_normal((100, 5))
    assert s_estimator(X, n_starts=20, random_state=0).efficiency == pytest.approx(0.8463,
                                                                                 abs=1e-4)
    r = mm_estimator(X, n_starts=20, random_state=0)
    assert r.shape_efficiency == pytest.approx(0.95, abs=1e-8)
    assert r.efficiency == pytest.approx(0.9643, abs=1e-4)
    assert spatial_median_efficiency(2) == pytest.approx(np.pi / 4)
    assert spatial_median_efficiency(1) == pytest.approx(2 / np.pi)
    loc = mm_estimator(X, n_starts=20, random_state=0, efficiency_of="location")
    assert loc.efficiency == pytest.approx(0.95, abs=1e-8)


# --------------------------------------------------------------------------- consistency
def test_ogk_consistency_factor_calibrates_flags():
    # rrcov leaves the reweighted OGK scatter too small: at the chi2 0.975 cutoff it flags
    # about 5% of clean normal points; with the factor the rate is the nominal 2.5%.
    X = np.random.default_rng(11).standard_normal((4000, 5))
    cut = stats.chi2.ppf(0.975, 5)
    rates = {c: float(np.mean(ogk(X, consistency=c).distance(X, squared=True) > cut))
             for c in (True, False)}
    lo, hi = stats.binom.interval(0.999, 4000, 0.025)
    assert lo / 4000 <= rates[True] <= hi / 4000
    assert rates[False] > 0.04


@pytest.mark.parametrize("method", NEW)
def test_consistent_at_the_normal(method):
    # every scatter is made consistent: distances comparable with chi2_p
    X = np.random.default_rng(5).standard_normal((3000, 4)) @ np.diag([1.0, 2.0, 0.5, 3.0])
    kw = {"n_directions": 300} if method == "stahel_donoho" else {}
    r = _fit(method, X, **kw)
    np.testing.assert_allclose(np.sqrt(np.diag(r.cov)), [1.0, 2.0, 0.5, 3.0], rtol=0.08)
    assert np.median(r.distance(X, squared=True)) == pytest.approx(stats.chi2.ppf(0.5, 4),
                                                                   rel=0.1)


# --------------------------------------------------------------------------- exact fit, p > n
def _on_plane(n: int = 60, p: int = 3, share: float = 0.7, seed: int = 4) -> np.ndarray:
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    m = int(share * n)
    X[:m, 2] = 2.0 * X[:m, 0] - X[:m, 1] + 1.0       # 70% on the plane 2x0 - x1 - x2 = -1
    return X


@pytest.mark.parametrize("method", ["s_estimator", "mm_estimator", "mve", "stahel_donoho"])
def test_exact_fit_is_reported_with_the_hyperplane(method):
    X = _on_plane()
    with pytest.raises(mh.ExactFitError) as err:
        _fit(method, X)
    a = err.value.hyperplane
    a = a / a[0]
    np.testing.assert_allclose(a, [1.0, -0.5, -0.5], atol=1e-6)
    assert err.value.on_hyperplane[:42].all()


def test_zero_scale_column_errors():
    X = np.random.default_rng(0).standard_normal((50, 3))
    X[:30, 1] = 5.0
    for f in (ogk, s_estimator):
        with pytest.raises(mh.ExactFitError, match="column 1"):
            f(X)


@pytest.mark.parametrize("method", ["s_estimator", "mm_estimator", "mve", "stahel_donoho",
                                    "tyler"])
def test_p_above_n_gives_advice(method):
    X = np.random.default_rng(0).standard_normal((10, 20))
    with pytest.raises(mh.SingularCovarianceError, match="mrcd"):
        _fit(method, X)


def test_ogk_raw_works_for_p_above_n():
    X = np.random.default_rng(0).standard_normal((15, 30))
    r = ogk(X, reweight=False)
    assert r.reweighted is False and np.linalg.eigvalsh(r.cov)[0] > 0
    with pytest.raises(mh.SingularCovarianceError, match="reweight=False"):
        ogk(X)


# --------------------------------------------------------------------------- API
@pytest.mark.parametrize("method", NEW)
def test_result_api(method):
    import pandas as pd
    rng = np.random.default_rng(8)
    df = pd.DataFrame(rng.standard_normal((80, 3)), columns=["a", "b", "c"],
                      index=[f"r{i}" for i in range(80)])
    df.iloc[3, 1] = np.nan
    kw = {"n_directions": 200} if method == "stahel_donoho" else {}
    r = _fit(method, df, nan_policy="omit", **kw)
    assert isinstance(r, mh.FitResult) and r.method == method
    assert r.n_samples == 79 and list(r.omitted) == [3]
    assert type(r).__name__ in repr(r) and f"method={method!r}" in repr(r)
    frame = r.to_frame()
    assert list(frame.index[:3]) == ["r0", "r1", "r2"] and len(frame) == 79
    with pytest.raises(AttributeError, match="immutable"):
        r.center = np.zeros(3)
    assert mh.covariance.get_estimator(method).__name__ == method
    if method in RANDOM:   # same seed, same result
        again = _fit(method, df, nan_policy="omit", **kw)
        np.testing.assert_array_equal(again.cov, r.cov)


def test_s_estimator_options():
    X = _contaminate(150, 3, 0.1, seed=9)
    for rho in ("bisquare", "rocke"):
        for algorithm in ("fast_s", "mve_start"):
            r = s_estimator(X, rho=rho, algorithm=algorithm, random_state=0)
            assert r.rho == rho and r.algorithm == algorithm
            assert np.max(np.abs(r.center)) < 0.5
            assert r.weights[:15].max() == 0
    with pytest.raises(ValueError, match="rho must be one of"):
        s_estimator(X, rho="huber")
    with pytest.raises(ValueError, match="breakdown_point"):
        s_estimator(X, breakdown_point=0.7)


def test_mve_and_sde_options():
    X = _contaminate(120, 3, 0.15, seed=10)
    r = mve(X, support_fraction=0.75, random_state=1)
    assert r.h == mh.covariance.h_alpha_n(0.75, 120, 3) and r.support.sum() == r.h
    assert not r.support[:18].any()
    raw = mve(X, reweight=False, random_state=1)
    np.testing.assert_array_equal(raw.cov, raw.raw_cov)
    with pytest.raises(ValueError, match="support_fraction"):
        mve(X, support_fraction=0.3)
    s = stahel_donoho(X, n_directions=50, random_state=2)
    assert s.n_directions == 50 and s.n_attempts >= 50
    assert spatial_sign(X, scale="mad").scale == "mad"
