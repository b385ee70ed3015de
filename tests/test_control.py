"""Tests of mahalanobis.control: T^2 control charts and the MYT decomposition."""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from conftest import load_reference, reference_path
from mahalanobis.control import MYTDecomposition, RemovalRound, T2Chart, myt_terms

CHARTS_JSON = reference_path("charts")

RHO = np.array([[1.0, 0.7, 0.3, 0.0],
                [0.7, 1.0, 0.4, 0.1],
                [0.3, 0.4, 1.0, 0.2],
                [0.0, 0.1, 0.2, 1.0]])


def _normal(rng, n, p=4, cov=None):
    cov = RHO[:p, :p] if cov is None else cov
    return rng.multivariate_normal(np.zeros(p), cov, size=n)


def _t2(x, center, cov):
    d = np.atleast_2d(x) - center
    return np.einsum("ij,ij->i", d, np.linalg.solve(cov, d.T).T)


# ----------------------------------------------------------------------------- reference limits
def _records():
    if not CHARTS_JSON.exists():
        return []
    return load_reference("charts")["records"]


@pytest.mark.skipif(not CHARTS_JSON.exists(), reason="tests/reference/data/charts.json absent")
@pytest.mark.parametrize("rec", _records(),
                         ids=lambda r: f"m{r['m']}-p{r['p']}-a{r['alpha']}")
def test_limits_match_r_reference(rec):
    m, p, alpha = rec["m"], rec["p"], float(rec["alpha"])
    rng = np.random.default_rng(m * 100 + p)
    chart = T2Chart(rng.normal(size=(m, p)), alpha=alpha)
    assert chart.limit == "beta"
    np.testing.assert_allclose(chart.ucl, rec["individual"]["phase1_ucl"], rtol=1e-10)
    mon = chart.monitor(rng.normal(size=(2, p)))
    np.testing.assert_allclose(mon.ucl, rec["individual"]["phase2_ucl"], rtol=1e-10)
    known = T2Chart(rng.normal(size=(3, p)), alpha=alpha, known_center=np.zeros(p),
                    known_cov=np.eye(p))
    np.testing.assert_allclose(known.ucl, rec["known_params_ucl"], rtol=1e-10)
    np.testing.assert_allclose(known.monitor(rng.normal(size=(2, p))).ucl,
                               rec["known_params_ucl"], rtol=1e-10)
    for sub in rec["subgroups"]:
        k = sub["k"]
        g = T2Chart(rng.normal(size=(m * k, p)), subgroup_size=k, alpha=alpha)
        np.testing.assert_allclose(g.ucl, sub["phase1_ucl"], rtol=1e-10)
        np.testing.assert_allclose(g.monitor(rng.normal(size=(2 * k, p))).ucl,
                                   sub["phase2_ucl"], rtol=1e-10)


def test_limit_formulas_closed_form():
    m, p, alpha = 30, 3, 0.01
    X = np.random.default_rng(1).normal(size=(m, p))
    c = T2Chart(X, alpha=alpha)
    assert c.ucl == pytest.approx((m - 1) ** 2 / m * stats.beta.ppf(1 - alpha, p / 2,
                                                                      (m - p - 1) / 2))
    assert c.monitor(X[:1]).ucl == pytest.approx(
        p * (m + 1) * (m - 1) / (m * (m - p)) * stats.f.ppf(1 - alpha, p, m - p))


# ----------------------------------------------------------------------------- statistics
def test_individual_statistic_is_t2_and_labels_flow():
    rng = np.random.default_rng(2)
    X = _normal(rng, 40)
    df = pd.DataFrame(X, columns=list("abcd"),
                      index=pd.date_range("2024-01-01", periods=40, freq="h"))
    c = T2Chart(df)
    xbar, S = X.mean(0), np.cov(X, rowvar=False)
    np.testing.assert_allclose(c.statistic.to_numpy(), _t2(X, xbar, S), rtol=1e-12)
    assert c.statistic.index.equals(df.index)
    assert c.signals.dtype == bool and c.signals.index.equals(df.index)
    np.testing.assert_allclose(c.center, xbar)
    np.testing.assert_allclose(c.cov, S, rtol=1e-12)
    assert c.metric.feature_names == ("a", "b", "c", "d")
    frame = c.to_frame()
    assert list(frame.columns) == ["t2", "ucl", "lcl", "pvalue", "signal", "in_estimate"]
    assert frame.index.equals(df.index) and (frame["lcl"] == 0).all() and c.lcl == 0
    assert c.phase == "I" and "T2Chart(phase='I'" in repr(c)
    # Phase II with the columns in another order: matched by name.
    new = pd.DataFrame(rng.normal(size=(5, 4)), columns=list("dcba"), index=list("vwxyz"))
    mon = c.monitor(new)
    np.testing.assert_allclose(mon.statistic.to_numpy(),
                               _t2(new[list("abcd")].to_numpy(), xbar, S), rtol=1e-12)
    assert list(mon.statistic.index) == list("vwxyz") and mon.phase == "II"
    m, p = 40, 4
    scaled = mon.statistic.to_numpy() * m * (m - p) / (p * (m + 1) * (m - 1))
    np.testing.assert_allclose(mon.pvalue.to_numpy(), stats.f.sf(scaled, p, m - p), rtol=1e-10)
    np.testing.assert_allclose(c.pvalue.to_numpy(), stats.beta.sf(
        c.statistic.to_numpy() * m / (m - 1) ** 2, p / 2, (m - p - 1) / 2), rtol=1e-10)
    assert mon.in_estimate is None and mon.rounds == ()


def test_subgroup_statistic_pooled_covariance_and_3d_input():
    rng = np.random.default_rng(3)
    m, k, p = 15, 4, 3
    G = _normal(rng, m * k, p).reshape(m, k, p)
    c3 = T2Chart(G)
    c2 = T2Chart(G.reshape(m * k, p), subgroup_size=k)
    means = G.mean(axis=1)
    Sp = np.mean([np.cov(G[j], rowvar=False) for j in range(m)], axis=0)
    xbb = means.mean(0)
    expected = k * _t2(means, xbb, Sp)
    for c in (c2, c3):
        assert c.subgroup_size == k and c.n_points == m
        np.testing.assert_allclose(c.statistic, expected, rtol=1e-11)
        np.testing.assert_allclose(c.cov, Sp, rtol=1e-12)
    new = rng.normal(size=(2, k, p))
    np.testing.assert_allclose(c3.monitor(new).statistic,
                               k * _t2(new.mean(axis=1), xbb, Sp), rtol=1e-11)
    np.testing.assert_allclose(c2.monitor(new.reshape(-1, p)).statistic,
                               c3.monitor(new).statistic, rtol=1e-14)
    df = pd.DataFrame(G.reshape(m * k, p), index=[f"r{i}" for i in range(m * k)])
    cf = T2Chart(df, subgroup_size=k)
    assert list(cf.statistic.index[:3]) == ["r0", "r4", "r8"]


def test_known_parameters_use_chi2():
    rng = np.random.default_rng(4)
    mu, Sig = np.array([1.0, -1.0]), np.array([[2.0, 0.5], [0.5, 1.0]])
    X = rng.multivariate_normal(mu, Sig, size=30)
    c = T2Chart(X, known_center=mu, known_cov=Sig, alpha=0.01)
    np.testing.assert_allclose(c.statistic, _t2(X, mu, Sig), rtol=1e-12)
    assert c.limit == "chi2" and c.ucl == pytest.approx(stats.chi2.isf(0.01, 2))
    g = T2Chart(X, subgroup_size=3, known_center=mu, known_cov=Sig)
    np.testing.assert_allclose(g.statistic, 3 * _t2(X.reshape(10, 3, 2).mean(1), mu, Sig),
                               rtol=1e-12)


# ----------------------------------------------------------------------------- calibration
def _binom_ok(hits, n, alpha):
    lo, hi = stats.binom.interval(0.999, n, alpha)
    assert lo <= hits <= hi, f"{hits}/{n} false alarms, expected {alpha * n:.0f} ({lo}-{hi})"


def test_false_alarm_rate_individuals_phase1_and_phase2():
    # One Phase I sample per replication, its first point (Phase I) and one new point
    # (Phase II): independent trials, so binomial bounds apply.
    rng = np.random.default_rng(5)
    R, m, p, alpha = 3000, 20, 3, 0.05
    hits1 = hits2 = 0
    for _ in range(R):
        X = rng.normal(size=(m + 1, p))
        c = T2Chart(X[:m], alpha=alpha)
        hits1 += bool(c.signals[0])
        hits2 += bool(c.monitor(X[m:]).signals[0])
    _binom_ok(hits1, R, alpha)
    _binom_ok(hits2, R, alpha)


def test_false_alarm_rate_subgroups_phase2():
    rng = np.random.default_rng(6)
    R, m, k, p, alpha = 3000, 10, 4, 3, 0.05
    hits = 0
    for _ in range(R):
        G = rng.normal(size=(m + 1, k, p))
        hits += bool(T2Chart(G[:m], alpha=alpha).monitor(G[m:]).signals[0])
    _binom_ok(hits, R, alpha)


def test_false_alarm_rate_known_parameters():
    rng = np.random.default_rng(7)
    n, p, alpha = 200_000, 5, 0.0027
    c = T2Chart(rng.normal(size=(50, p)), known_center=np.zeros(p), known_cov=np.eye(p),
                alpha=alpha)
    mon = c.monitor(rng.normal(size=(n, p)))
    _binom_ok(int(mon.signals.sum()), n, alpha)


# ----------------------------------------------------------------------------- Phase I clean-up
def test_iterative_removal_removes_planted_shifts():
    rng = np.random.default_rng(8)
    X = _normal(rng, 60)
    planted = [7, 23, 41]
    X[7] += [6, 0, 0, 0]
    X[23] += [0, 0, -6, 0]
    X[41] += [0, 4, 4, 4]
    X[50] += [2.5, 0, 0, 0]  # a smaller shift, masked in round 1 by the others
    c = T2Chart(X, remove_signals=True)
    out = set(np.flatnonzero(~c.in_estimate))
    assert set(planted) <= out
    assert len(c.rounds) >= 2 and all(isinstance(r, RemovalRound) for r in c.rounds)
    assert c.rounds[-1].removed.size == 0
    assert c.n_reference == 60 - len(out) == c.rounds[-1].n_used
    assert set(c.signal_positions) == out  # removed points still signal (Phase II limit)
    keep = np.setdiff1d(np.arange(60), sorted(out))
    np.testing.assert_allclose(c.center, X[keep].mean(0), rtol=1e-12)
    # Points in the estimate are judged by the Beta limit, the others by the F limit.
    in_ucl, out_ucl = T2Chart(X[keep]).ucl, T2Chart(X[keep]).monitor(X[:1]).ucl
    np.testing.assert_allclose(c.ucl[keep], in_ucl)
    np.testing.assert_allclose(c.ucl[sorted(out)], out_ucl)
    assert c.limit == "beta+f"
    plain = T2Chart(X)
    assert len(plain.rounds) == 1 and plain.in_estimate.all()


def test_iterative_removal_subgroups_and_max_iter_warning():
    rng = np.random.default_rng(9)
    G = rng.normal(size=(25, 5, 3))
    G[4] += 3.0
    c = T2Chart(G, remove_signals=True)
    assert not c.in_estimate[4] and c.in_estimate.sum() == 24
    assert c.signals[4]
    X = _normal(rng, 40)
    X[:6] += np.linspace(4, 9, 6)[:, None]
    with pytest.warns(UserWarning, match="max_iter=1"):
        T2Chart(X, remove_signals=True, max_iter=1)


def test_robust_phase1_flags_outliers():
    pytest.importorskip("mahalanobis.covariance.mcd",
                        reason="mahalanobis.covariance.mcd not available yet")
    rng = np.random.default_rng(10)
    X = _normal(rng, 80)
    X[:8] += [3, -3, 3, 0]  # a cluster that inflates the classical covariance
    c = T2Chart(X, method="mcd", random_state=0)
    assert c.limit == "cerioli" and c.robust
    assert c.signals[:8].all()
    assert c.signals[8:].sum() <= 2
    assert not c.in_estimate[:8].any() and c.n_reference == c.in_estimate.sum()
    mon = c.monitor(X[:3])
    assert mon.limit == "f" and mon.signals.all()


# ----------------------------------------------------------------------------- MYT
def test_myt_terms_match_definitions():
    rng = np.random.default_rng(11)
    X = _normal(rng, 50)
    c = T2Chart(X)
    S, xbar = np.cov(X, rowvar=False), X.mean(0)
    for i in (0, 17, 49):
        dec = c.decompose(i, pairs=True)
        d = X[i] - xbar
        np.testing.assert_allclose(dec.ordering.sum(), c.statistic[i], rtol=1e-10)
        np.testing.assert_allclose(dec.unconditional, d ** 2 / np.diag(S), rtol=1e-12)
        for j in range(4):
            rest = [k for k in range(4) if k != j]
            t2_rest = _t2(d[rest], 0, S[np.ix_(rest, rest)])[0]
            assert dec.conditional[j] == pytest.approx(c.statistic[i] - t2_rest, rel=1e-9)
        for a, b in itertools.permutations(range(4), 2):
            t2_ab = _t2(d[[a, b]], 0, S[np.ix_([a, b], [a, b])])[0]
            assert dec.pairs[a, b] == pytest.approx(t2_ab - d[b] ** 2 / S[b, b], rel=1e-9,
                                                    abs=1e-12)
        # Any ordering's terms sum to T^2; its first term is unconditional, its last last-in.
        for order in ([3, 1, 0, 2], ["x2", "x0", "x3", "x1"]):
            o = c.decompose(i, order=order)
            np.testing.assert_allclose(o.ordering.sum(), c.statistic[i], rtol=1e-10)
            first = o.order[0]
            j0, jl = c.feature_names.index(first), c.feature_names.index(o.order[-1])
            assert o.ordering[0] == pytest.approx(dec.unconditional[j0], rel=1e-10)
            assert o.ordering[-1] == pytest.approx(dec.conditional[jl], rel=1e-10)


def test_myt_critical_values_follow_mty():
    rng = np.random.default_rng(12)
    m, p, alpha = 40, 4, 0.01
    c = T2Chart(_normal(rng, m), alpha=alpha)
    mon = c.monitor(_normal(rng, 3)).decompose(0)
    # MTY (1995): new observation.
    np.testing.assert_allclose(mon.unconditional_ucl, (m + 1) / m * stats.f.ppf(1 - alpha, 1,
                                                                               m - 1))
    q = np.arange(p)
    np.testing.assert_allclose(
        mon.ordering_ucl, (m + 1) * (m - 1) / (m * (m - q - 1)) * stats.f.ppf(1 - alpha, 1,
                                                                             m - q - 1))
    # MTY (1997), Mason & Young (2002): Phase I.
    ph1 = c.decompose(0)
    np.testing.assert_allclose(
        ph1.ordering_ucl, (m - 1) ** 2 / m * stats.beta.ppf(1 - alpha, 0.5, (m - q - 2) / 2))
    known = T2Chart(_normal(rng, 5), known_center=np.zeros(4), known_cov=RHO).decompose(0)
    np.testing.assert_allclose(known.conditional_ucl, stats.chi2.ppf(1 - 0.0027, 1))


def test_myt_ranks_the_shifted_variable_first():
    rng = np.random.default_rng(13)
    X = pd.DataFrame(_normal(rng, 60), columns=["temp", "pressure", "flow", "ph"])
    c = T2Chart(X)
    new = pd.DataFrame([[0.2, 0.1, 6.0, 0.0]], columns=X.columns, index=["batch-61"])
    mon = c.monitor(new)
    assert mon.signals.iloc[0]
    dec = mon.decompose("batch-61")
    assert isinstance(dec, MYTDecomposition) and dec.observation == "batch-61"
    assert dec.drivers[0] == "flow"
    assert c.feature_names[int(np.argmax(dec.unconditional))] == "flow"
    frame = dec.to_frame()
    assert frame.iloc[0]["variable"] == "flow" and frame.iloc[0]["signal"]
    assert frame["pvalue"].is_monotonic_increasing
    uncond = frame[frame["kind"] == "unconditional"].set_index("variable")
    assert uncond.loc["flow", "signal"] and not uncond.drop("flow")["signal"].any()
    assert "batch-61" in repr(dec)


def test_correlation_break_flagged_by_conditional_terms_only():
    rng = np.random.default_rng(14)
    cov = np.array([[1.0, 0.95], [0.95, 1.0]])
    X = _normal(rng, 100, 2, cov)
    c = T2Chart(X, alpha=0.0027)
    mon = c.monitor(np.array([[1.4, -1.4]]))  # each in range, the relation broken
    assert mon.signals[0]
    dec = mon.decompose(0, pairs=True)
    assert not (dec.unconditional > dec.unconditional_ucl).any()
    assert (dec.conditional > dec.conditional_ucl).all()
    frame = dec.to_frame()
    assert set(frame.loc[frame["signal"], "kind"]) <= {"conditional", "ordering", "pair"}
    assert frame.iloc[0]["kind"] != "unconditional"


def test_myt_terms_function_and_subgroups():
    rng = np.random.default_rng(15)
    G = rng.normal(size=(20, 5, 3))
    c = T2Chart(G)
    dec = c.decompose(3)
    d = np.sqrt(5) * (G[3].mean(0) - c.center)
    terms = myt_terms(d, np.asarray(c.cov))
    np.testing.assert_allclose(terms["total"], c.statistic[3], rtol=1e-12)
    np.testing.assert_allclose(dec.ordering, terms["ordering"], rtol=1e-12)
    assert dec.reference == "f"


# ----------------------------------------------------------------------------- errors
@pytest.mark.parametrize("alpha", [0, 1, 1.5, -0.1, "x", np.nan])
def test_bad_alpha(alpha):
    with pytest.raises(ValueError, match="alpha"):
        T2Chart(np.random.default_rng(0).normal(size=(20, 2)), alpha=alpha)


def test_errors():
    rng = np.random.default_rng(16)
    with pytest.raises(ValueError, match=r"m > p \+ 1"):
        T2Chart(rng.normal(size=(4, 3)))
    with pytest.raises(ValueError, match=r"m \(k - 1\) >= p"):
        T2Chart(rng.normal(size=(2, 2, 3)))
    with pytest.raises(ValueError, match="not a multiple of subgroup_size"):
        T2Chart(rng.normal(size=(10, 2)), subgroup_size=3)
    with pytest.raises(ValueError, match="subgroup_size"):
        T2Chart(rng.normal(size=(10, 2)), subgroup_size=0)
    with pytest.raises(ValueError, match="subgroup_size is 3"):
        T2Chart(rng.normal(size=(5, 4, 2)), subgroup_size=3)
    with pytest.raises(ValueError, match="known_center and known_cov"):
        T2Chart(rng.normal(size=(10, 2)), known_center=[0, 0])
    with pytest.raises(ValueError, match="known_center has length 3"):
        T2Chart(rng.normal(size=(10, 2)), known_center=[0, 0, 0], known_cov=np.eye(3))
    with pytest.raises(ValueError, match="method='mcd' is for individual"):
        T2Chart(rng.normal(size=(30, 2)), subgroup_size=3, method="mcd")
    with pytest.raises(ValueError, match="either method='mcd'"):
        T2Chart(rng.normal(size=(30, 2)), method="mcd", remove_signals=True)
    with pytest.raises(ValueError, match="must be 2-D"):
        T2Chart(rng.normal(size=10))
    c = T2Chart(rng.normal(size=(20, 3)))
    with pytest.raises(ValueError, match="3 were expected"):
        c.monitor(rng.normal(size=(5, 2)))
    with pytest.raises(ValueError, match="must be 2-D"):
        c.monitor(rng.normal(size=3))
    with pytest.raises(ValueError, match="out of range"):
        c.decompose(20)
    with pytest.raises(ValueError, match="permutation"):
        c.decompose(0, order=[0, 1])
    with pytest.raises(ValueError, match="unknown variable"):
        c.decompose(0, order=["x0", "x1", "zz"])
    g = T2Chart(rng.normal(size=(10, 3, 2)))
    with pytest.raises(ValueError, match="subgroups of 4"):
        g.monitor(rng.normal(size=(2, 4, 2)))
    with pytest.raises(ValueError, match="NaN"):
        c.monitor(np.array([[np.nan, 0.0, 0.0]]))


def test_no_warnings_on_clean_data():
    rng = np.random.default_rng(17)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        c = T2Chart(_normal(rng, 30), remove_signals=True)
        c.monitor(_normal(rng, 5)).decompose(0, pairs=True).to_frame()


def test_myt_matches_independent_implementation():
    # Values from the docstring example of the `tsquared` Python package (MYTDecomposition,
    # after Mason, Tracy & Young 1995), alpha = 0.05: an independent implementation.
    train = np.array([[10.0, 10.7], [10.4, 9.8], [9.7, 10.0], [9.7, 10.1], [11.7, 11.5],
                      [11.0, 10.8], [8.7, 8.8], [9.5, 9.3], [10.1, 9.4], [9.6, 9.6],
                      [10.5, 10.4], [9.2, 9.0], [11.3, 11.6], [10.1, 9.8], [8.5, 9.2]])
    test = np.array([[12.3, 12.5], [7.0, 7.3], [11.0, 9.0], [7.3, 9.1]])
    mon = T2Chart(train, alpha=0.05).monitor(test)
    np.testing.assert_allclose(mon.statistic, [8.51262745, 11.41034614, 23.14059036,
                                               21.59620748], rtol=1e-8)
    uncond = [[6.62432916, 8.51167315], [11.27012522, 9.92801556], [1.25223614, 1.3618677],
              [9.12880143, 1.10311284]]
    cond = [[9.54296667e-04, 1.88829829e+00], [1.48233057e+00, 1.40220913e-01],
            [2.17787227e+01, 2.18883542e+01], [2.04930946e+01, 1.24674060e+01]]
    for i in range(4):
        dec = mon.decompose(i)
        np.testing.assert_allclose(dec.unconditional, uncond[i], rtol=1e-7)
        np.testing.assert_allclose(dec.conditional, cond[i], rtol=1e-7)
        np.testing.assert_allclose(dec.unconditional_ucl, 4.906783932447382, rtol=1e-12)
        np.testing.assert_allclose(dec.conditional_ucl, 5.361288061175456, rtol=1e-12)
    # Point 3 (11, 9): both variables in range, their relation broken.
    assert mon.decompose(2).drivers and not (mon.decompose(2).unconditional > 4.9068).any()
