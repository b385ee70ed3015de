"""Missing data: EM (covariance.em), marginal distances (nan_policy="marginal") and
Metric.impute, against likelihoods and formulas written out here."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import optimize, stats

import mahalanobis as mh


def _data(n=40, p=3, frac=0.2, seed=0):
    rng = np.random.default_rng(seed)
    S = np.array([[1.0, 0.6, 0.3, 0.1], [0.6, 2.0, 0.5, 0.2], [0.3, 0.5, 1.5, 0.4],
                  [0.1, 0.2, 0.4, 1.0]])[:p, :p]
    X = rng.multivariate_normal(np.arange(p, dtype=float), S, n)
    X[rng.random(X.shape) < frac] = np.nan
    X[0] = np.arange(p, dtype=float)  # a complete row at least
    return X


def _loglik(X, m, S):
    """Observed-data normal log-likelihood, row by row, with explicit sub-matrices."""
    total = 0.0
    for x in X:
        o = ~np.isnan(x)
        if not o.any():
            continue
        d = x[o] - m[o]
        So = S[np.ix_(o, o)]
        total -= 0.5 * (o.sum() * np.log(2 * np.pi) + np.linalg.slogdet(So)[1]
                        + d @ np.linalg.solve(So, d))
    return total


def _unpack(theta, p):
    m = theta[:p]
    L = np.zeros((p, p))
    L[np.tril_indices(p)] = theta[p:]
    L[np.diag_indices(p)] = np.exp(np.diagonal(L))
    return m, L @ L.T


def test_em_is_the_maximum_of_the_observed_likelihood():
    X = _data()
    p = X.shape[1]
    r = mh.covariance.em(X, tol=1e-12)
    assert r.converged
    # direct maximisation from the naive start (observed means, identity), scipy BFGS
    th0 = np.concatenate([np.nanmean(X, axis=0), np.zeros(p * (p + 1) // 2)])
    res = optimize.minimize(lambda t: -_loglik(X, *_unpack(t, p)), th0, method="BFGS",
                            options={"gtol": 1e-9, "maxiter": 5000})
    m, S = _unpack(res.x, p)
    assert np.allclose(r.center, m, atol=1e-6)
    assert np.allclose(r.cov, S, atol=1e-6)
    assert r.loglik == pytest.approx(_loglik(X, r.center, np.asarray(r.cov)), rel=1e-12)
    one = X[1]  # the hand-written likelihood is scipy's normal density on the observed part
    o = ~np.isnan(one)
    assert _loglik(one[None], r.center, np.asarray(r.cov)) == pytest.approx(
        stats.multivariate_normal(r.center[o], np.asarray(r.cov)[np.ix_(o, o)]).logpdf(one[o]))
    assert r.loglik >= -res.fun - 1e-9


def test_em_with_nothing_missing_is_the_sample_estimate():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(50, 4)) @ rng.normal(size=(4, 4)) + 3.0
    r = mh.fit(X, method="em")
    assert r.converged and r.n_iter == 2 and r.n_patterns == 1
    assert np.allclose(r.center, X.mean(axis=0), rtol=1e-12, atol=0)
    assert np.allclose(r.cov, np.cov(X.T, bias=True), rtol=1e-12, atol=1e-14)
    assert r.missing_fraction == 0.0 and r.n_complete == 50


def test_em_diagnostics_and_summary():
    X = _data(n=60, p=4, frac=0.15, seed=3)
    r = mh.fit(X, method="em")
    assert np.all(np.diff(r.loglik_trace) >= -1e-9)  # EM never decreases the likelihood
    assert r.loglik == r.loglik_trace[-1]
    miss = np.isnan(X)
    assert np.array_equal(r.n_observed, 4 - miss.sum(axis=1))
    assert np.array_equal(r.missing_per_column, miss.sum(axis=0))
    assert r.n_complete == int((~miss.any(axis=1)).sum())
    assert r.missing_fraction == pytest.approx(miss.mean())
    assert r.n_patterns == len({tuple(row) for row in miss})
    assert "n_observed" in r.to_frame().columns
    assert "EMResult(method='em'" in repr(r)


def test_em_ridge_and_omit():
    X = _data(n=60, p=4, frac=0.15, seed=3)
    r = mh.covariance.em(X, reg=0.1)
    assert r.reg == 0.1 and r.reg_ > 0
    keep = ~np.isnan(X).any(axis=1)
    with pytest.warns(UserWarning, match="dropped"):
        mh.Metric(np.zeros(4), np.eye(4)).distance(X, nan_policy="omit")
    o = mh.covariance.em(X, nan_policy="omit")
    assert np.allclose(o.cov, np.cov(X[keep].T, bias=True), rtol=1e-12)


def test_em_errors_name_the_problem():
    X = _data(n=30, p=3, frac=0.0)
    Y = X.copy()
    Y[:, 1] = np.nan
    with pytest.raises(ValueError, match="column 1 is never observed"):
        mh.fit(Y, method="em")
    Y = X.copy()
    Y[:15, 0] = np.nan
    Y[15:, 2] = np.nan
    with pytest.raises(ValueError, match="columns 0 and 2 are never observed together"):
        mh.fit(Y, method="em")
    Y = X.copy()
    Y[3, 1] = np.inf
    with pytest.raises(ValueError, match="infinite value at row 3, column 1"):
        mh.fit(Y, method="em")
    with pytest.raises(ValueError, match="nan_policy"):
        mh.fit(X, method="em", nan_policy="raise")
    with pytest.raises(ValueError, match="max_iter"):
        mh.fit(X, method="em", max_iter=0)


def test_em_dataframe_names_columns():
    pd = pytest.importorskip("pandas")
    X = _data(n=30, p=3, frac=0.0)
    X[:, 1] = np.nan
    df = pd.DataFrame(X, columns=["a", "b", "c"])
    with pytest.raises(ValueError, match="column 'b' is never observed"):
        mh.fit(df, method="em")


def _direct_marginal(X, m, S):
    out = np.full(X.shape[0], np.nan)
    for i, x in enumerate(X):
        o = ~np.isnan(x)
        if o.any():
            d = x[o] - m[o]
            out[i] = d @ np.linalg.solve(S[np.ix_(o, o)], d)
    return out


@pytest.mark.filterwarnings("ignore:X.*no observed coordinate")
def test_marginal_distances_match_submatrix_formula():
    X = _data(n=200, p=4, frac=0.3, seed=5)
    rng = np.random.default_rng(2)
    A = rng.normal(size=(4, 4))
    m = mh.Metric(rng.normal(size=4), A @ A.T + np.eye(4))
    d2, k = m.distance(X, squared=True, nan_policy="marginal", return_counts=True)
    ref = _direct_marginal(X, m.center, np.asarray(m.cov))
    ok = ~np.isnan(ref)
    assert np.allclose(d2[ok], ref[ok], rtol=1e-10, atol=1e-12)
    assert np.array_equal(k, (~np.isnan(X)).sum(axis=1))
    comp = k == 4
    assert np.array_equal(d2[comp], m.distance(X[comp], squared=True))  # same kernel
    assert np.allclose(m.distance(X, nan_policy="marginal")[ok], np.sqrt(ref[ok]))
    pv = m.pvalue(X, nan_policy="marginal")
    assert np.allclose(pv[ok], stats.chi2.sf(ref[ok], k[ok]))
    flags = m.outliers(X, 0.1, nan_policy="marginal")
    assert np.array_equal(flags[ok], ref[ok] > stats.chi2.isf(0.1, k[ok]))


def test_marginal_from_precision_metric_and_empty_rows():
    m = mh.Metric.from_precision([0.0, 1.0, 2.0], np.array([[2.0, 0.5, 0.0], [0.5, 1.0, 0.2],
                                                          [0.0, 0.2, 1.5]]))
    X = np.array([[1.0, np.nan, 2.0], [np.nan] * 3, [0.5, 1.0, np.nan]])
    with pytest.warns(UserWarning, match="no observed coordinate"):
        d2, k = m.distance(X, squared=True, nan_policy="marginal", return_counts=True)
    ref = _direct_marginal(X, m.center, np.asarray(m.cov))
    assert np.allclose(d2[[0, 2]], ref[[0, 2]], rtol=1e-12)
    assert np.isnan(d2[1]) and list(k) == [2, 0, 2]
    with pytest.warns(UserWarning):
        assert not m.outliers(X, nan_policy="marginal")[1]


def test_return_counts_other_policies_and_frames():
    pd = pytest.importorskip("pandas")
    m = mh.Metric([0.0, 0.0], np.eye(2))
    X = np.array([[1.0, 2.0], [np.nan, 1.0], [3.0, 0.0]])
    with pytest.warns(UserWarning):
        d, k = m.distance(X, nan_policy="omit", return_counts=True)
    assert list(k) == [2, 2] and d.shape == (2,)
    df = pd.DataFrame(X, index=["a", "b", "c"], columns=["u", "v"])
    d, k = m.distance(df, nan_policy="marginal", return_counts=True)
    assert list(d.index) == ["a", "b", "c"] and k.name == "n_observed"
    assert d["b"] == pytest.approx(1.0) and k["b"] == 1


def test_impute_is_the_conditional_mean():
    rng = np.random.default_rng(4)
    A = rng.normal(size=(4, 4))
    S = A @ A.T + np.eye(4)
    mu = rng.normal(size=4)
    m = mh.Metric(mu, S)
    X = _data(n=50, p=4, frac=0.3, seed=6)
    X_hat, C = m.impute(X, return_cov=True)
    for i, x in enumerate(X):
        o, u = ~np.isnan(x), np.isnan(x)
        if not u.any():
            assert np.array_equal(X_hat[i], x) and not C[i].any()
            continue
        if not o.any():
            assert np.allclose(X_hat[i], mu)
            continue
        B = S[np.ix_(u, o)] @ np.linalg.inv(S[np.ix_(o, o)])
        assert np.allclose(X_hat[i, u], mu[u] + B @ (x[o] - mu[o]), rtol=1e-10)
        assert np.array_equal(X_hat[i, o], x[o])
        cc = S[np.ix_(u, u)] - B @ S[np.ix_(o, u)]
        assert np.allclose(C[i][np.ix_(u, u)], cc, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("frac", [0.1, 0.3])
def test_marginal_rule_calibrated_with_known_parameters(frac):
    # MCAR on clean normal data: every row, whatever its pattern, is flagged w.p. alpha
    rng = np.random.default_rng(10)
    p, n, alpha = 5, 4000, 0.05
    A = rng.normal(size=(p, p))
    S = A @ A.T + np.eye(p)
    X = rng.multivariate_normal(np.zeros(p), S, n)
    X[rng.random(X.shape) < frac] = np.nan
    keep = (~np.isnan(X)).any(axis=1)
    X = X[keep]
    rate = mh.Metric(np.zeros(p), S).outliers(X, alpha, nan_policy="marginal").mean()
    se = np.sqrt(alpha * (1 - alpha) / X.shape[0])
    assert abs(rate - alpha) < 3 * se


def test_marginal_rule_with_em_parameters_is_close():
    rng = np.random.default_rng(11)
    p, n, alpha = 4, 300, 0.05
    rates = []
    for _ in range(5):
        X = rng.multivariate_normal(np.zeros(p), np.eye(p) + 0.5, n)
        X[rng.random(X.shape) < 0.2] = np.nan
        X = X[(~np.isnan(X)).any(axis=1)]
        rates.append(mh.fit(X, method="em").outliers(X, alpha, nan_policy="marginal").mean())
    assert abs(np.mean(rates) - alpha) < 0.015


# --------------------------------------------------------------------------- MCD with NaN
def test_mcd_em_without_missing_cells_is_the_mcd():
    rng = np.random.default_rng(0)
    X = rng.multivariate_normal(np.zeros(4), np.eye(4) + 0.5, 200)
    X[:15] += 5
    r0 = mh.fit(X, method="mcd", random_state=1)
    r1 = mh.fit(X, method="mcd", nan_policy="em", random_state=1)
    assert type(r1).__name__ == "MCDMissingResult" and r1.algorithm == "FastMCD+EM"
    assert np.array_equal(r0.support, r1.support) and np.array_equal(r0.weights, r1.weights)
    for f in ("center", "cov", "raw_center", "raw_cov"):
        assert np.allclose(getattr(r0, f), getattr(r1, f), rtol=1e-12, atol=1e-14)
    assert r1.log_det_raw == pytest.approx(r0.log_det_raw, rel=1e-12)
    assert r1.missing_fraction == 0 and np.all(r1.n_observed == 4)


def test_mcd_em_flags_planted_rows_incomplete_ones_included():
    rng = np.random.default_rng(3)
    n, p = 300, 5
    X = rng.multivariate_normal(np.zeros(p), np.eye(p) * 0.5 + 0.5, n)
    out = np.zeros(n, dtype=bool)
    out[:30] = True
    X[out] += np.array([4.0, -4.0, 4.0, -4.0, 4.0])  # off the correlation structure
    Xm = X.copy()
    Xm[rng.random(X.shape) < 0.1] = np.nan
    Xm[0, :2] = np.nan  # an outlier with missing cells
    full = mh.fit(X, method="mcd", random_state=0).outliers(X)
    r = mh.fit(Xm, method="mcd", nan_policy="em", random_state=0)
    flags = r.outliers(Xm, nan_policy="marginal")
    assert flags[out].mean() >= full[out].mean() - 0.05
    assert flags[0]
    incomplete = np.isnan(Xm).any(axis=1)
    assert flags[out & incomplete].all()
    assert flags[~out].mean() < 0.05
    assert r.n_complete == int((~incomplete).sum()) and r.raw_distances.shape == (n,)
    assert "missing_fraction" in repr(r)


def test_mcd_em_errors():
    X = _data(n=40, p=3, frac=0.0)
    X[:, 2] = np.nan
    with pytest.raises(ValueError, match="column 2 is never observed"):
        mh.fit(X, method="mcd", nan_policy="em")
    with pytest.raises(ValueError, match="'raise', 'omit' or 'em'"):
        mh.fit(X, method="mcd", nan_policy="propagate")


# --------------------------------------------------------------------------- everywhere
@pytest.mark.parametrize("policy, method", [("marginal", "mcd"), ("em", "mcd"),
                                            ("em", "empirical")])
def test_detector_keeps_incomplete_rows(policy, method):
    pytest.importorskip("sklearn")
    from mahalanobis.ml import MahalanobisOutlierDetector
    rng = np.random.default_rng(7)
    X = rng.multivariate_normal(np.zeros(3), np.eye(3) + 0.5, 200)
    X[:10] += np.array([5.0, -5.0, 5.0])
    X[rng.random(X.shape) < 0.1] = np.nan
    X[0, 0] = np.nan
    det = MahalanobisOutlierDetector(method=method, nan_policy=policy, random_state=0).fit(X)
    pred = det.predict(X)
    assert pred.shape == (200,) and (pred[:10] == -1).all()
    assert (pred[10:] == -1).mean() < 0.08
    k = det.n_observed(X)
    d2 = det.distance(X, squared=True)
    ref = det.metric_.distance(X, squared=True, nan_policy="marginal")
    assert np.allclose(d2, ref) and k[0] <= 2
    # rows judged on all p coordinates score exactly as usual
    full = ~np.isnan(X).any(axis=1)
    assert np.allclose(-det.score_samples(X)[full], d2[full])
    with pytest.raises(ValueError, match="NaN"):
        MahalanobisOutlierDetector().fit(X)


def test_detector_em_rejects_other_methods():
    pytest.importorskip("sklearn")
    from mahalanobis.ml import MahalanobisOutlierDetector
    X = _data(n=50, p=3, frac=0.1)
    with pytest.raises(ValueError, match="nan_policy='marginal'"):
        MahalanobisOutlierDetector(method="ledoit_wolf", nan_policy="em").fit(X)
    with pytest.raises(ValueError, match="nan_policy must be one of"):
        MahalanobisOutlierDetector(nan_policy="omit").fit(X)


def test_report_missing_cells_shown():
    pytest.importorskip("matplotlib")
    pd = pytest.importorskip("pandas")
    from mahalanobis.report import build_report
    X = _data(n=60, p=3, frac=0.1, seed=8)
    X[1] = [9.0, np.nan, -9.0]
    df = pd.DataFrame(X, columns=["a", "b", "c"])
    html = build_report(df, method="empirical", missing="em", alpha=0.05)
    assert "observed" in html and "missing</td>" in html and "judged on its observed" in html
    with pytest.raises(ValueError, match="missing must be one of"):
        build_report(df, missing="drop")


def test_report_default_keeps_incomplete_rows_like_the_cli(tmp_path):
    """build_report's default is the CLI's --missing default (em): incomplete rows kept."""
    pytest.importorskip("matplotlib")
    pd = pytest.importorskip("pandas")
    from mahalanobis.cli import main
    from mahalanobis.report import build_report
    X = _data(n=60, p=3, frac=0.1, seed=8)
    X[1] = [9.0, np.nan, -9.0]  # an incomplete outlier
    df = pd.DataFrame(X, columns=["a", "b", "c"])
    html = build_report(df, method="mcd")
    assert html == build_report(df, method="mcd", missing="em")
    assert "60 rows × 3 columns" in html and "were left out" not in html
    assert "judged on its observed" in html
    csv = tmp_path / "x.csv"
    df.to_csv(csv, index=False)
    out = tmp_path / "r.html"
    assert main(["report", str(csv), "-o", str(out), "-q", "--method", "mcd"]) == 0
    assert "60 rows × 3 columns" in out.read_text()


def test_readme_missing_data_example():
    import doctest
    import re
    from pathlib import Path
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    section = readme.split("### Missing data", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    test = doctest.DocTestParser().get_doctest(code, {}, "README", "README.md", 0)
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
    runner.run(test)
    assert runner.failures == 0 and runner.tries > 5


def test_em_equivariant_under_scaling_and_shift():
    X = _data(n=80, p=3, frac=0.2, seed=12)
    a, b = np.array([2.0, -0.5, 10.0]), np.array([1.0, 100.0, -3.0])
    r = mh.fit(X, method="em", tol=1e-12)
    rt = mh.fit(X * a + b, method="em", tol=1e-12)
    assert np.allclose(rt.center, r.center * a + b, rtol=1e-9)
    assert np.allclose(rt.cov, np.asarray(r.cov) * np.outer(a, a), rtol=1e-8, atol=1e-10)
    assert rt.loglik == pytest.approx(r.loglik - float(np.isfinite(X).sum(axis=0)
                                                       @ np.log(np.abs(a))), rel=1e-9)


def test_em_keeps_feature_names():
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame(_data(n=40, p=3, frac=0.1), columns=["u", "v", "w"])
    r = mh.fit(df, method="em")
    assert r.feature_names == ("u", "v", "w")
    d = r.distance(df, nan_policy="marginal")
    assert list(d.index) == list(df.index)


def test_cli_report_missing_option(tmp_path):
    pytest.importorskip("matplotlib")
    pd = pytest.importorskip("pandas")
    from mahalanobis.cli import main
    X = _data(n=60, p=3, frac=0.1, seed=9)
    path, out = tmp_path / "na.csv", tmp_path / "r.html"
    pd.DataFrame(X, columns=["a", "b", "c"]).to_csv(path, index=False)
    incomplete = int(np.isnan(X).any(axis=1).sum())
    assert main(["report", str(path), "--method", "empirical", "--missing", "marginal",
                 "-o", str(out), "-q"]) == 0
    assert f"{incomplete} row(s) have missing cells" in out.read_text()


def test_mcd_em_column_missing_in_most_rows_does_not_collapse():
    # a column observed in 40 % of the rows: the subset must cover its share of them, else
    # a few clustered values make its variance (and the determinant) collapse
    rng = np.random.default_rng(0)
    X = rng.normal(size=(100, 3))
    X[:60, 2] = np.nan
    for seed in range(3):
        r = mh.fit(X, method="mcd", nan_policy="em", random_state=seed)
        assert np.isfinite(X[r.support, 2]).sum() >= int(r.h * 0.4)
        assert r.n_outliers <= 15
        assert 0.4 < float(np.asarray(r.cov)[2, 2]) < 2.5


# ------------------------------------------------ the compiled per-row kernel (mh_marginal)
def _submatrix_d2_and_impute(X, m, S):
    """D^2 on the observed coordinates and the conditional-mean row, one row at a time with
    explicit sub-matrices (the straightforward computation)."""
    d2 = np.full(X.shape[0], np.nan)
    Xh = X.copy()
    for i, x in enumerate(X):
        o = ~np.isnan(x)
        if not o.any():
            Xh[i] = m
            continue
        d = x[o] - m[o]
        So = S[np.ix_(o, o)]
        d2[i] = d @ np.linalg.solve(So, d)
        Xh[i, ~o] = m[~o] + S[np.ix_(~o, o)] @ np.linalg.solve(So, d)
    return d2, Xh


def _random_patterns(n, p, seed):
    """Rows with every count of missing cells 0..p (all and nothing observed included), runs
    of repeated patterns (the factor is reused) and MCAR cells."""
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((p + 3, p))
    S = A.T @ A / (p + 3) + 0.2 * np.eye(p)
    X = rng.multivariate_normal(rng.standard_normal(p), S, n)
    for i in range(p + 1):  # row i misses i random cells
        X[i, rng.choice(p, i, replace=False)] = np.nan
    X[p + 1:p + 9, : p // 2] = np.nan  # eight rows with one pattern (k = p // 2)
    X[p + 9:p + 13, 1:] = np.nan  # four rows with only the first cell observed
    rest = np.arange(p + 13, n)
    X[rest[:, None], np.arange(p)] = np.where(rng.random((rest.size, p)) < 0.3, np.nan,
                                              X[rest[:, None], np.arange(p)])
    return X, S, rng.standard_normal(p)


@pytest.mark.parametrize("p", [1, 2, 5, 13, 45])
def test_marginal_kernel_matches_submatrices(p):
    from mahalanobis import _kernels, _missing
    if getattr(_kernels.C, "mh_marginal", None) is None:
        pytest.skip("compiled kernels not built")
    X, S, c = _random_patterns(300, p, seed=p)
    m = mh.Metric(c, S)
    ref, ref_hat = _submatrix_d2_and_impute(X, c, S)
    d2, nobs, Xh = _missing.marginal_kernel(X, m._center, m._W, m._W_lower, impute=True)
    np.testing.assert_array_equal(nobs, p - np.isnan(X).sum(axis=1))
    np.testing.assert_array_equal(np.isnan(d2), np.isnan(ref))
    ok = ~np.isnan(ref)
    np.testing.assert_allclose(d2[ok], ref[ok], rtol=1e-11, atol=1e-12)
    np.testing.assert_allclose(Xh, ref_hat, rtol=1e-11, atol=1e-11)
    # the grouped numpy path gives the same numbers; complete rows the raise ones (exactly
    # for the register-blocked kernel, p <= 40; BLAS blocking may move the last bit above)
    grouped = _missing.marginal_sq(X, None, m._center, m._W, m._W_lower, m._sq)
    np.testing.assert_allclose(d2[ok], grouped[ok], rtol=1e-11, atol=1e-12)
    comp = nobs == p
    np.testing.assert_allclose(d2[comp], m.distance(X[comp], squared=True),
                               rtol=0 if p <= 40 else 1e-15)
    # the public paths use it: distances, p-values, flags, imputation
    np.testing.assert_allclose(m.distance(X, squared=True, nan_policy="marginal")[ok],
                               ref[ok], rtol=1e-11, atol=1e-12)
    pv = m.pvalue(X, nan_policy="marginal")
    np.testing.assert_allclose(pv[ok], stats.chi2.sf(ref[ok], nobs[ok]), rtol=1e-9)
    flags = m.outliers(X, 0.1, nan_policy="marginal")
    np.testing.assert_array_equal(flags[ok], ref[ok] > stats.chi2.isf(0.1, nobs[ok]))
    assert not flags[~ok].any()
    np.testing.assert_allclose(m.impute(X), ref_hat, rtol=1e-11, atol=1e-11)


def test_marginal_kernel_against_mpmath_and_layouts():
    """A tiny case in 50-digit arithmetic; Fortran-ordered and strided input give the same
    numbers as C order."""
    mpmath = pytest.importorskip("mpmath")
    mpmath.mp.dps = 50
    S = np.array([[2.0, 0.9, 0.3, 0.1], [0.9, 1.0, 0.4, 0.2], [0.3, 0.4, 1.5, -0.6],
                  [0.1, 0.2, -0.6, 0.8]])
    c = np.array([0.5, -1.0, 2.0, 0.0])
    X = np.array([[1.0, np.nan, 0.3, -2.0], [np.nan, np.nan, np.nan, 4.0],
                  [np.nan, 2.0, np.nan, np.nan], [3.0, 1.0, -1.0, 0.5],
                  [np.nan, np.nan, np.nan, np.nan], [0.0, np.nan, np.nan, 1.0]])
    m = mh.Metric(c, S)
    got = m.distance(X, squared=True, nan_policy="marginal")
    for i, x in enumerate(X):
        o = np.flatnonzero(~np.isnan(x))
        if not o.size:
            assert np.isnan(got[i])
            continue
        So = mpmath.matrix([[S[a, b] for b in o] for a in o])
        d = mpmath.matrix([x[a] - c[a] for a in o])
        exact = (d.T * mpmath.inverse(So) * d)[0]
        assert abs(got[i] - float(exact)) <= 1e-14 * float(exact) + 1e-15
    F = np.asfortranarray(X)
    np.testing.assert_array_equal(m.distance(F, squared=True, nan_policy="marginal"), got)
    wide = np.repeat(X, 2, axis=1)[:, ::2]  # a strided view
    np.testing.assert_array_equal(m.distance(wide, squared=True, nan_policy="marginal"), got)


def test_marginal_kernel_infinite_cell_named():
    m = mh.Metric(np.zeros(3), np.eye(3))
    X = np.array([[1.0, np.nan, 0.0], [0.0, np.inf, 1.0]])
    with pytest.raises(ValueError, match="row 1, column 1"):
        m.distance(X, nan_policy="marginal")
    with pytest.raises(ValueError, match="row 1, column 1"):
        m.impute(X)


@pytest.mark.parametrize("policy", ["em", "marginal"])
def test_robust_rule_with_missing_cells_is_calibrated(policy):
    """mh.outliers(method="mcd") with missing cells on clean data flags about alpha of the
    rows (Cerioli's laws on the observed count). The chi2(k) rule on the reweighted fit it
    replaced flagged 5-12 % at alpha = 2.5 % for n = 100 (benchmarks/results/missing.md);
    here 69 of these 800 rows, above the band."""
    flagged = total = 0
    for seed in range(8):
        rng = np.random.default_rng(700 + seed)
        X = rng.standard_normal((100, 4))
        X[rng.random(X.shape) < 0.1] = np.nan
        res = mh.outliers(X, method="mcd", alpha=0.025, nan_policy=policy, random_state=seed)
        flagged += res.n_flagged
        total += res.n_samples
    lo, hi = stats.binom.ppf([0.0005, 0.9995], total, 0.025)
    assert lo <= flagged <= hi, (flagged, total)
