"""The robust one-sample Hotelling test (reweighted MCD, Willems et al. 2002) against rrcov's
T2.test(method = "mcd") (tests/reference/t2_robust.R)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

import mahalanobis as mh
from conftest import load_reference
from mahalanobis.covariance import mcd_consistency
from mahalanobis.inference.hotelling import robust_t2, willems_approx

DATA = load_reference("t2_robust")


def test_willems_approximation_equals_rrcov():
    for g in DATA["getApprox_grid"]:
        d, q = willems_approx(g["p"], g["n"])
        assert d == pytest.approx(g["d"], rel=1e-12)
        assert q == pytest.approx(g["q"], rel=1e-12)


@pytest.mark.parametrize("rec", DATA["one_sample_mcd"],
                         ids=[f"{r['name']}-{r['mu_rule'][:6]}" for r in DATA["one_sample_mcd"]])
def test_robust_t2_equals_rrcov_given_the_mcd(rec):
    X = np.asarray(rec["X"], dtype=float)
    n, p = X.shape
    m = rec["mcd"]
    T2, F, _, q, pv = robust_t2(np.asarray(m["center"], float), np.asarray(m["cov"], float), n,
                                np.asarray(rec["mu"], float))
    assert T2 == pytest.approx(rec["T2"], rel=1e-12)
    assert F == pytest.approx(rec["F"], rel=1e-12)
    assert q == pytest.approx(rec["df2"], rel=1e-12)
    assert pv == pytest.approx(rec["p.value_upper_tail"], rel=1e-10)
    if p == 1:   # robustbase 0.95-0's p = 1 MCD differs (divisor h); see tests/reference
        return
    # end to end with this package's MCD: the same subset as rrcov's, the reweighted scatter
    # scaled by .MCDcons(p, 0.975) (robustbase >= 0.99) instead of .MCDcons(p, sum w / n)
    r = mh.hotelling_t2(X, mu=rec["mu"], method="mcd", random_state=0)
    sw = int(np.sum(m["raw.wt"]))
    conv = 1.0 if sw == n else mcd_consistency(p, 0.975) / mcd_consistency(p, sw / n)
    T2n, _, _, _, pvn = robust_t2(np.asarray(m["center"], float),
                                  np.asarray(m["cov"], float) * conv, n,
                                  np.asarray(rec["mu"], float))
    assert r.statistic == pytest.approx(T2n, rel=1e-10)
    assert r.pvalue == pytest.approx(pvn, rel=1e-8)
    assert r.df == (p, pytest.approx(rec["df2"], rel=1e-12)) and r.method == "mcd"


def test_robust_t2_result_and_errors():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((60, 3)) + np.array([0.0, 0.0, 1.0])
    X[:6] += 25                                     # outliers wreck the classical test
    r = mh.hotelling_t2(X, mu=[0, 0, 1], method="mcd", random_state=1)
    c = mh.hotelling_t2(X, mu=[0, 0, 1])
    assert r.pvalue > 0.1 and c.pvalue < 0.05
    assert "method='mcd'" in repr(r) and r.to_frame().loc[0, "method"] == "mcd"
    ci = r.simultaneous_intervals(0.95)
    assert np.all(ci.lower < [0, 0, 1]) and np.all([0, 0, 1] < ci.upper)
    with pytest.raises(ValueError, match="method='t2'"):
        r.simultaneous_intervals(method="bonferroni")
    with pytest.raises(ValueError, match="one-sample"):
        mh.hotelling_t2(X, X + 1, method="mcd")
    Y = X + rng.standard_normal(X.shape)
    paired = mh.hotelling_t2(X, Y, paired=True, method="mcd", random_state=1)
    assert paired.method == "mcd" and paired.n == 60


def test_robust_t2_size_at_the_normal():
    # seeded simulation on clean data: the rejection rate at 5% lies in the binomial bounds
    rng = np.random.default_rng(2)
    reps = 150
    pv = np.array([mh.hotelling_t2(rng.standard_normal((40, 2)), method="mcd",
                                   random_state=k).pvalue for k in range(reps)])
    lo, hi = stats.binom.interval(0.999, reps, 0.05)
    assert lo <= np.sum(pv < 0.05) <= hi
