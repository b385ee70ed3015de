"""Calibration of outlier flags and robust chart limits on clean and contaminated normal data.

    python benchmarks/bench_calibration.py [--quick] [--full] [--charts-only | --no-charts]

Not a timing benchmark: it measures whether a flag at level alpha flags about alpha of clean
rows at the n and p in hand (issue 11). For each (n, p), data sets X ~ N(0, S) (S a fixed
random covariance) are drawn and each rule flags rows:

* ``mh.outliers`` -- our default (Cerioli's reweighted MCD, alpha = 0.025 per row);
* RMCD at ``level="simultaneous"`` (family-wise alpha = 0.05, Sidak) and IRMCD (family-wise
  0.05: test "no outlier" first, then each row at 0.05);
* the chi-squared rule (robustbase's default: reweighted MCD with chi2_{p, 0.975} weights,
  flags above chi2_{p, 0.975}) -- ``mh.outliers(X, reference="chi2")``;
* a bootstrap cutoff (Phaladiganon et al. 2011) of the same MCD distances;
* scikit-learn's ``MinCovDet`` with the chi2_{p, 0.975} cutoff and ``EllipticEnvelope``
  (contamination=0.025, which flags 2.5 % of every data set by construction).

Per-row false-positive rate (FPR) and family-wise rate (FW: share of data sets with any flag)
on clean data, with binomial 99 % bounds of the nominal rate (rows of one data set are
dependent, so the per-row bounds are only indicative), and power (share of planted outliers
flagged) when 10 % of the rows are shifted by sqrt(chi2_{p, 0.975}) + 3 along a random
direction in the metric of S.

The chart table: Phase I false-alarm rate per point of the robust T^2 chart (reweighted
MCD) with simulated limits (our default) and with Cerioli's limits (the previous default) at
m in {30, 50, 100, 200}, p in {2, 5, 10}, alpha in {0.0027, 0.01}.

The default run is short (two cells, one chart cell); ``--full`` runs the grid of the issue
(n in {30, 50, 100, 500, 2000, 10000} x p in {2, 5, 10, 20}) with fewer data sets for the
largest cells, which the table says.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

import numpy as np
from _common import machine_line, write_result
from scipy import stats

import mahalanobis as mh
from mahalanobis.control import T2Chart
from mahalanobis.inference import bootstrap_cutoff, cerioli_cutoffs

RULES = ["mh.outliers (default)", "Cerioli RMCD (formulas)", "RMCD simultaneous", "IRMCD",
         "chi2 rule (robustbase)", "bootstrap", "sklearn MinCovDet + chi2",
         "sklearn EllipticEnvelope"]
NOMINAL = {"mh.outliers (default)": ("row", 0.025), "Cerioli RMCD (formulas)": ("row", 0.025),
           "RMCD simultaneous": ("fw", 0.05),
           "IRMCD": ("fw", 0.05), "chi2 rule (robustbase)": ("row", 0.025),
           "bootstrap": ("row", 0.025), "sklearn MinCovDet + chi2": ("row", 0.025),
           "sklearn EllipticEnvelope": ("row", 0.025)}


def covariance(p, seed=0):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((p, p))
    return A @ A.T / p + np.eye(p)


def flags_of_all_rules(X, seed, sklearn_ok, only_default=False):
    """Boolean flags of every rule on X (rows x rules)."""
    n, p = X.shape
    out = {}
    default = mh.outliers(X, alpha=0.025, random_state=seed)
    out[RULES[0]] = np.asarray(default.flags)
    if only_default:
        return out
    res = mh.outliers(X, alpha=0.025, random_state=seed, reference="cerioli")
    out[RULES[1]] = np.asarray(res.flags)
    d2, w = np.asarray(res.d2), np.asarray(res.weights)
    m = int(w.sum())
    sim = cerioli_cutoffs(p, m, 0.05, n=n, multiplicity="sidak")
    out[RULES[2]] = d2 > sim.cutoffs(w)
    ind05 = cerioli_cutoffs(p, m, 0.05)
    out[RULES[3]] = (d2 > ind05.cutoffs(w)) if out[RULES[2]].any() else np.zeros(n, bool)
    chi = mh.outliers(X, alpha=0.025, reference="chi2", random_state=seed)
    out[RULES[4]] = np.asarray(chi.flags)
    bc = bootstrap_cutoff(np.asarray(chi.d2), alpha=0.025, n_boot=200, random_state=seed)
    out[RULES[5]] = np.asarray(chi.d2) > bc.cutoff
    if sklearn_ok:
        from sklearn.covariance import EllipticEnvelope, MinCovDet
        mcd = MinCovDet(random_state=seed).fit(X)
        out[RULES[6]] = mcd.mahalanobis(X) > stats.chi2.isf(0.025, p)
        ee = EllipticEnvelope(contamination=0.025, random_state=seed).fit(X)
        out[RULES[7]] = ee.predict(X) == -1
    return out


def bounds(rate, trials):
    lo, hi = stats.binom.ppf([0.005, 0.995], trials, rate) / trials
    return lo, hi


def outlier_cell(n, p, reps, power_reps, sklearn_ok, seed=0, only_default=False):
    S = covariance(p, seed=p)
    L = np.linalg.cholesky(S)
    rng = np.random.default_rng(1000 * n + p + seed)
    fp = {r: 0 for r in RULES}
    fw = {r: 0 for r in RULES}
    for k in range(reps):
        X = rng.standard_normal((n, p)) @ L.T
        for r, f in flags_of_all_rules(X, k, sklearn_ok, only_default).items():
            fp[r] += int(f.sum())
            fw[r] += int(f.any())
    hits = {r: 0 for r in RULES}
    n_out = max(1, n // 10)
    shift = np.sqrt(stats.chi2.isf(0.025, p)) + 3.0
    for k in range(power_reps):
        X = rng.standard_normal((n, p))
        u = rng.standard_normal(p)
        X[:n_out] += shift * u / np.linalg.norm(u)
        X = X @ L.T
        for r, f in flags_of_all_rules(X, 10_000 + k, sklearn_ok, only_default).items():
            hits[r] += int(f[:n_out].sum())
    rows = []
    for r in RULES:
        if (r.startswith("sklearn") and not sklearn_ok) or (only_default and r != RULES[0]):
            continue
        rows.append((r, fp[r] / (reps * n), fw[r] / reps,
                     hits[r] / max(1, power_reps * n_out) if power_reps else float("nan")))
    return rows


ALPHAS = (0.0027, 0.01)


def chart_cell(m, p, reps, n_cal, seed=0):
    """False alarms per point at each alpha in ALPHAS (a point signals at level a exactly when
    its p-value is below a), with simulated and with Cerioli limits."""
    rng = np.random.default_rng(7000 + 10 * m + p)
    sim = np.zeros(len(ALPHAS))
    old = np.zeros(len(ALPHAS))
    a = np.asarray(ALPHAS)[:, None]
    for k in range(reps):
        X = rng.standard_normal((m, p))
        c_sim = T2Chart(X, method="mcd", random_state=k, n_calibration=n_cal)
        c_old = T2Chart(X, method="mcd", random_state=k, calibration="cerioli")
        sim += (np.asarray(c_sim.pvalue)[None, :] < a).sum(axis=1)
        old += (np.asarray(c_old.pvalue)[None, :] < a).sum(axis=1)
    return sim / (reps * m), old / (reps * m)


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="tiny run; results/ untouched")
    ap.add_argument("--full", action="store_true", help="the whole grid of issue 11")
    ap.add_argument("--charts-only", action="store_true")
    ap.add_argument("--no-charts", action="store_true")
    ap.add_argument("--cells", default=None, help="e.g. 30x2,50x10: these (n, p) only")
    ap.add_argument("--only-default", action="store_true", help="only mh.outliers' default")
    ap.add_argument("--chart-cells", default=None, help="e.g. 30x2,50x5: these (m, p) only")
    args = ap.parse_args(argv)
    try:
        import sklearn  # noqa: F401
        sklearn_ok = True
    except ImportError:  # pragma: no cover
        sklearn_ok = False
    if "MAHALANOBIS_CACHE_DIR" not in os.environ:  # keep the user's cache out of it
        os.environ["MAHALANOBIS_CACHE_DIR"] = tempfile.mkdtemp(prefix="mh-calibration-")
    if args.full:
        cells = [(n, p) for n in (30, 50, 100, 500, 2000, 10000) for p in (2, 5, 10, 20)
                 if n >= 2 * p + 10]
        chart_cells = [(m, p) for m in (30, 50, 100, 200) for p in (2, 5, 10)]
    elif args.quick:
        cells, chart_cells = [(40, 2)], [(30, 2)]
    else:
        cells, chart_cells = [(50, 3), (100, 3)], [(30, 2)]
    if args.cells:
        cells = [tuple(int(v) for v in c.split("x")) for c in args.cells.split(",")]
    t0 = time.perf_counter()
    lines = ["## Calibration of outlier flags and robust chart limits (issue 11)", "",
             machine_line(), ""]
    if not args.charts_only:
        lines += ["### Outlier flags on clean N(0, S) data, and power with 10 % shifted rows",
                  "",
                  "Nominal: per-row rules alpha = 0.025 (FPR); family-wise rules 0.05 (FW). "
                  "99 % binomial bounds of the nominal rate in brackets (per-row bounds treat "
                  "rows as independent).", "",
                  "| n | p | data sets (clean / power) | rule | per-row FPR | family-wise rate "
                  "| power |", "|---:|---:|---|---|---:|---:|---:|"]
        for n, p in cells:
            if args.quick:
                reps, preps = 10, 3
            elif args.full:  # the whole grid on a busy machine: fewer data sets
                reps = int(np.clip(6000 // n, 10, 100))
                preps = int(np.clip(reps // 3, 5, 30))
            else:
                reps = int(np.clip(6000 // n, 20, 100))
                preps = int(np.clip(reps // 3, 5, 30))
            rows = outlier_cell(n, p, reps, preps, sklearn_ok and n <= 2000,
                                only_default=args.only_default)
            for r, fpr, fwr, pw in rows:
                kind, nom = NOMINAL[r]
                if kind == "row":
                    lo, hi = bounds(nom, reps * n)
                    fpr_s = f"**{fpr:.4f}** [{lo:.4f}, {hi:.4f}]"
                    fw_s = f"{fwr:.3f}"
                else:
                    lo, hi = bounds(nom, reps)
                    fpr_s = f"{fpr:.4f}"
                    fw_s = f"**{fwr:.3f}** [{lo:.3f}, {hi:.3f}]"
                lines.append(f"| {n} | {p} | {reps} / {preps} | {r} | {fpr_s} | {fw_s} | "
                             f"{pw:.3f} |")
                print(lines[-1], flush=True)
            print(f"outliers n={n} p={p}: {time.perf_counter() - t0:.0f} s", file=sys.stderr,
                  flush=True)
    if not args.no_charts:
        lines += ["", "### Robust Phase I T² chart (reweighted MCD): false alarms per point",
                  "",
                  "Simulated limits: our default (calibrated once per (m, p) from the stated "
                  "number of simulated Phase I samples, then cached); Cerioli limits: the "
                  "previous default. Evaluated on independent clean samples; 99 % binomial "
                  "bounds of alpha (points treated as independent) in brackets.", "",
                  "| m | p | alpha | charts | calibration samples | simulated limits | "
                  "Cerioli limits |", "|---:|---:|---:|---:|---:|---:|---:|"]
        if args.chart_cells:
            chart_cells = [tuple(int(v) for v in c.split("x"))
                           for c in args.chart_cells.split(",")]
        for m, p in chart_cells:
            if args.quick:
                reps, n_cal = 5, 50
            elif args.full:
                reps = int(np.clip(6000 // m, 30, 150))
                n_cal = int(np.clip(20000 // m, 200, 600))
            else:
                reps = int(np.clip(4500 // m, 30, 150))
                n_cal = int(np.clip(20000 // m, 200, 600))
            sims, olds = chart_cell(m, p, reps, n_cal)
            for alpha, sim, old in zip(ALPHAS, sims, olds):
                lo, hi = bounds(alpha, reps * m)
                lines.append(f"| {m} | {p} | {alpha:g} | {reps} | {n_cal} | **{sim:.4f}** "
                             f"[{lo:.4f}, {hi:.4f}] | {old:.4f} |")
                print(lines[-1], flush=True)
            print(f"charts m={m} p={p}: {time.perf_counter() - t0:.0f} s", file=sys.stderr,
                  flush=True)
    lines += ["", f"Run time {time.perf_counter() - t0:.0f} s."]
    text = "\n".join(lines)
    if args.quick:
        print(text)
    if not args.quick:
        name = "calibration" + ("_charts" if args.charts_only else "") + (
            "_default" if args.only_default else "")
        print("wrote", write_result(name, text), file=sys.stderr)


if __name__ == "__main__":
    main()
