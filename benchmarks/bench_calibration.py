"""Calibration of outlier flags and robust chart limits on clean and contaminated normal data.

    python benchmarks/bench_calibration.py [--quick]
    python benchmarks/bench_calibration.py --full [--part outliers,small-n,charts,newpoint]

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

The default run (``make bench``) is short: two outlier cells and one chart cell, about a
minute. ``--full`` runs the grids of issue 11, each part into its own stored file
``results/calibration_full_<part>.md``: "outliers" (n in {30, 50, 100, 500, 2000, 10000} x
p in {2, 5, 10, 20}, every rule), "small-n" (the default, the simultaneous level and IRMCD
below n = 100, 300 data sets per cell), "charts" (the robust chart grid with the library's
default calibration, about 30000 evaluated points per cell, per-point and family-wise) and
"newpoint" (clean new points against ``mh.fit(X, method="mcd")``: the simulated law against
Cerioli's F law). The short run writes ``results/calibration.md`` as the stored full parts
followed by its own cells, so ``RESULTS.md`` keeps the full grids. Rates of units that share
a fit (rows of one data set, points of one chart) get a 99 % interval from the spread of the
per-fit counts besides the binomial bounds, which treat them as independent.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

import numpy as np
from _common import RESULTS_DIR, machine_line, write_result
from scipy import stats

import mahalanobis as mh
from mahalanobis.control import T2Chart
from mahalanobis.control._limits import Reference
from mahalanobis.control.chart import _calibration_samples
from mahalanobis.inference import bootstrap_cutoff, cerioli_cutoffs

RULES = ["mh.outliers (default)", "Cerioli RMCD (formulas)", "RMCD simultaneous", "IRMCD",
         "chi2 rule (robustbase)", "bootstrap", "sklearn MinCovDet + chi2",
         "sklearn EllipticEnvelope"]
NOMINAL = {"mh.outliers (default)": ("row", 0.025), "Cerioli RMCD (formulas)": ("row", 0.025),
           "RMCD simultaneous": ("fw", 0.05),
           "IRMCD": ("fw", 0.05), "chi2 rule (robustbase)": ("row", 0.025),
           "bootstrap": ("row", 0.025), "sklearn MinCovDet + chi2": ("row", 0.025),
           "sklearn EllipticEnvelope": ("row", 0.025)}


def parse_cells(spec):
    """The --cells / --chart-cells option: "30x2,50x10" -> [(30, 2), (50, 10)]."""
    return [tuple(int(v) for v in c.split("x")) for c in spec.split(",")]


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
#: Family-wise level of the robust chart's ``level="simultaneous"`` limits in the table.
FW_ALPHA = 0.05
Z99 = stats.norm.isf(0.005)


def cluster_ci(counts, size):
    """99 % interval of a rate measured as sum(counts) / (len(counts) * size) from the spread
    of the per-chart (per-data-set) counts: honest when the units of one chart are
    dependent (a poor fit inflates several at once), unlike binomial bounds."""
    counts = np.asarray(counts, dtype=float)
    rate = counts.mean() / size
    se = counts.std(ddof=1) / size / np.sqrt(counts.size)
    return rate - Z99 * se, rate + Z99 * se


def chart_cell(m, p, reps, n_cal=None):
    """Per-chart counts of false alarms at each alpha in ALPHAS (a point signals at level a
    exactly when its p-value is below a) with simulated and with Cerioli limits (the same
    fit), and whether each chart's largest T^2 exceeds the simultaneous limit at FW_ALPHA."""
    rng = np.random.default_rng(7000 + 10 * m + p)
    a = np.asarray(ALPHAS)[:, None]
    sim = np.zeros((reps, len(ALPHAS)), dtype=int)
    old = np.zeros((reps, len(ALPHAS)), dtype=int)
    any_fw = np.zeros(reps, dtype=bool)
    fw_ucl = None
    for k in range(reps):
        X = rng.standard_normal((m, p))
        c = T2Chart(X, method="mcd", random_state=k, n_calibration=n_cal)
        if fw_ucl is None:  # the limits depend on (m, p, alpha) only
            fw_ucl = T2Chart(X, method="mcd", random_state=k, n_calibration=n_cal,
                             level="simultaneous", alpha=FW_ALPHA).ucl
        t2 = np.asarray(c.statistic)
        sim[k] = (np.asarray(c.pvalue)[None, :] < a).sum(axis=1)
        mw, w = c.n_reference, np.asarray(c.in_estimate, dtype=bool)
        pv_old = np.where(w, Reference.beta(mw).sf(t2, p),
                          Reference.f((mw + 1) / mw, mw - 1).sf(t2, p))  # calibration="cerioli"
        old[k] = (pv_old[None, :] < a).sum(axis=1)
        any_fw[k] = t2.max() > fw_ucl
    return sim, old, any_fw


def chart_headers(note):
    """(per-point table head, family-wise table head) of the chart tables."""
    return (["### Robust Phase I T² chart (reweighted MCD): false alarms per point", "",
             note, "",
             "| m | p | alpha | charts | calibration samples | simulated limits [binomial] "
             "(99 % CI) | Cerioli limits |", "|---:|---:|---:|---:|---:|---|---:|"],
            ["", f"Over the whole Phase I sample (`level=\"simultaneous\"`, alpha = "
             f"{FW_ALPHA:g}: share of charts with any false alarm; 99 % binomial bounds over "
             "independent charts):", "",
             "| m | p | charts | calibration samples | family-wise rate |",
             "|---:|---:|---:|---:|---:|"])


def chart_table(chart_cells, reps_of, n_cal_of, note):
    lines, fw_lines = chart_headers(note)
    t0 = time.perf_counter()
    for m, p in chart_cells:
        reps, n_cal = reps_of(m), n_cal_of(m)
        sim, old, any_fw = chart_cell(m, p, reps, n_cal)
        shown_cal = n_cal if n_cal is not None else _calibration_samples(m)
        for j, alpha in enumerate(ALPHAS):
            lo, hi = bounds(alpha, reps * m)
            clo, chi = cluster_ci(sim[:, j], m)
            lines.append(f"| {m} | {p} | {alpha:g} | {reps} | {shown_cal} | "
                         f"**{sim[:, j].sum() / (reps * m):.4f}** [{lo:.4f}, {hi:.4f}] "
                         f"({max(clo, 0):.4f}, {chi:.4f}) | "
                         f"{old[:, j].sum() / (reps * m):.4f} |")
            print(lines[-1], flush=True)
        lo, hi = bounds(FW_ALPHA, reps)
        fw_lines.append(f"| {m} | {p} | {reps} | {shown_cal} | **{any_fw.mean():.3f}** "
                        f"[{lo:.3f}, {hi:.3f}] |")
        print(fw_lines[-1], flush=True)
        print(f"charts m={m} p={p}: {time.perf_counter() - t0:.0f} s", file=sys.stderr,
              flush=True)
    return lines + fw_lines


def outlier_table(cells, sklearn_ok, *, quick=False, full=False, only_default=False):
    lines = ["### Outlier flags on clean N(0, S) data, and power with 10 % shifted rows", "",
             "Nominal: per-row rules alpha = 0.025 (FPR); family-wise rules 0.05 (FW). "
             "99 % binomial bounds of the nominal rate in brackets (per-row bounds treat "
             "rows as independent).", "",
             "| n | p | data sets (clean / power) | rule | per-row FPR | family-wise rate "
             "| power |", "|---:|---:|---|---|---:|---:|---:|"]
    t0 = time.perf_counter()
    for n, p in cells:
        if quick:
            reps, preps = 10, 3
        elif full:  # the whole grid on a busy machine: fewer data sets
            reps = int(np.clip(6000 // n, 10, 100))
            preps = int(np.clip(reps // 3, 5, 30))
        else:
            reps = int(np.clip(6000 // n, 20, 100))
            preps = int(np.clip(reps // 3, 5, 30))
        rows = outlier_cell(n, p, reps, preps, sklearn_ok and n <= 2000,
                            only_default=only_default)
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
    return lines


def run_outliers_full(args, sklearn_ok):
    cells = [(n, p) for n in (30, 50, 100, 500, 2000, 10000) for p in (2, 5, 10, 20)
             if n >= 2 * p + 10]
    if args.cells:
        cells = parse_cells(args.cells)
    t0 = time.perf_counter()
    lines = ["## Calibration of outlier flags and robust chart limits (issue 11)", "",
             machine_line(), "", "`python benchmarks/bench_calibration.py --full --part "
             "outliers`.", ""]
    lines += outlier_table(cells, sklearn_ok, full=True)
    return [*lines, "", f"Run time {time.perf_counter() - t0:.0f} s."]


FULL_PARTS = ("outliers", "small-n", "charts", "newpoint")
SHORT_HEADER = "## Calibration: the short cells of the latest `make bench` run"


def full_path(part):
    return os.path.join(RESULTS_DIR, f"calibration_full_{part}.md")


def stored_full():
    """The stored --full sections, in order (each written by its own --full run)."""
    texts = []
    for part in FULL_PARTS:
        if os.path.exists(full_path(part)):
            with open(full_path(part)) as fh:
                texts.append(fh.read().strip())
    return texts


def chart_reps(m):
    """Evaluation charts: about 30000 points, 150 to 1000 charts."""
    return int(np.clip(np.ceil(30000 / m), 150, 1000))


CHART_NOTE = ("`T2Chart(X, method=\"mcd\")` with its default simulated limits (calibrated once "
            "per (m, p) from the stated number of simulated Phase I samples, the library's "
            "default, then cached) against Cerioli's limits on the same fits (the previous "
            "default, `calibration=\"cerioli\"`). Evaluated on independent clean samples "
            "(a point signals at level alpha when its p-value is below alpha). In brackets the "
            "99 % binomial bounds of alpha for charts x m independent points; in parentheses "
            "the 99 % confidence interval of the rate from the spread of the per-chart "
            "counts, which is the valid one here: the points of one chart share its fit, "
            "and a poor fit inflates several T² at once.")


def charts_header():
    return ["## Robust Phase I T² chart limits: the full grid (issue 11)", "",
            machine_line(), "",
            "`python benchmarks/bench_calibration.py --full --part charts` (seeded).", ""]


def run_charts_full(args):
    cells = [(m, p) for m in (30, 50, 100, 200) for p in (2, 5, 10)]
    if args.chart_cells:
        cells = parse_cells(args.chart_cells)
    t0 = time.perf_counter()
    lines = charts_header() + chart_table(cells, chart_reps, lambda m: None, CHART_NOTE)
    lines += ["", f"Run time {time.perf_counter() - t0:.0f} s."]
    return lines


def small_n_cell(n, p, reps):
    """Per-data-set counts of clean rows flagged by mh.outliers' default (alpha = 0.025 per
    row) and whether level="simultaneous" and method="irmcd" (family-wise 0.05) flag any."""
    S = covariance(p, seed=p)
    L = np.linalg.cholesky(S)
    rng = np.random.default_rng(5000 + 10 * n + p)
    rows = np.zeros(reps, dtype=int)
    fw_sim = np.zeros(reps, dtype=bool)
    fw_ir = np.zeros(reps, dtype=bool)
    for k in range(reps):
        X = rng.standard_normal((n, p)) @ L.T
        rows[k] = mh.outliers(X, alpha=0.025, random_state=k).n_flagged
        fw_sim[k] = mh.outliers(X, alpha=0.05, level="simultaneous", random_state=k).n_flagged
        fw_ir[k] = mh.outliers(X, alpha=0.05, method="irmcd", random_state=k).n_flagged
    return rows, fw_sim, fw_ir


def small_n_header(reps):
    return ["## mh.outliers below n = 100: per-row and family-wise rates (issue 11)", "",
             machine_line(), "",
             f"`python benchmarks/bench_calibration.py --full --part small-n` (seeded; {reps} "
             "clean data sets X ~ N(0, S) per cell). Below n = 100 the default "
             "(`mh.outliers(X)`, alpha = 0.025 per row), `level=\"simultaneous\"` and "
             "`method=\"irmcd\"` (both family-wise, alpha = 0.05) judge Cerioli's RMCD "
             "distances by their law simulated from the stated number of data sets (the "
             "library's default). Family-wise rate: share of clean data sets with any flag, "
             "99 % binomial bounds over independent data sets in brackets. Per-row rate: 99 % "
             "binomial bounds for independent rows in brackets, and in parentheses the 99 % "
             "confidence interval from the spread of the per-data-set counts (rows of one "
             "data set share its fit).", "",
             "| n | p | data sets | law samples | per-row rate [binomial] (99 % CI) | "
             "simultaneous: family-wise | IRMCD: family-wise |",
             "|---:|---:|---:|---:|---|---:|---:|"]


def run_small_n_full(args):
    cells = [(n, p) for n in (30, 50) for p in (2, 5, 10, 20) if n >= 2 * p + 10]
    if args.cells:
        cells = parse_cells(args.cells)
    reps = 300
    from mahalanobis.inference.outliers import rmcd_calibration_samples
    t0 = time.perf_counter()
    lines = small_n_header(reps)
    for n, p in cells:
        rows, fw_sim, fw_ir = small_n_cell(n, p, reps)
        lo, hi = bounds(0.025, reps * n)
        clo, chi = cluster_ci(rows, n)
        flo, fhi = bounds(0.05, reps)
        lines.append(f"| {n} | {p} | {reps} | {rmcd_calibration_samples(n)} | "
                     f"**{rows.mean() / n:.4f}** [{lo:.4f}, {hi:.4f}] ({max(clo, 0):.4f}, "
                     f"{chi:.4f}) | **{fw_sim.mean():.3f}** [{flo:.3f}, {fhi:.3f}] | "
                     f"**{fw_ir.mean():.3f}** [{flo:.3f}, {fhi:.3f}] |")
        print(lines[-1], flush=True)
        print(f"small-n n={n} p={p}: {time.perf_counter() - t0:.0f} s", file=sys.stderr,
              flush=True)
    return [*lines, "", f"Run time {time.perf_counter() - t0:.0f} s."]


NEWPOINT_ALPHA = 0.025


def newpoint_cell(n, p, reps, n_new=200):
    """Per-fit counts of clean new points flagged at NEWPOINT_ALPHA by the simulated law of a
    new point under mh.fit(X, "mcd") (what ``f.outliers(Y)`` uses below n = 500), by Cerioli's
    F with m = the rows kept by the reweighting (the previous default; the default from
    n = 500 on) and by chi2_p."""
    rng = np.random.default_rng(9000 + 10 * n + p)
    new = np.zeros(reps, dtype=int)
    old = np.zeros(reps, dtype=int)
    chi = np.zeros(reps, dtype=int)
    for k in range(reps):
        f = mh.fit(rng.standard_normal((n, p)), method="mcd", random_state=k)
        Y = rng.standard_normal((n_new, p))
        d2 = np.asarray(f.distance(Y, squared=True))
        new[k] = int(np.sum(d2 > f._prediction_law().cutoff(NEWPOINT_ALPHA)))
        m = int(np.sum(f.weights))
        cut_old = p * (m + 1) * (m - 1) / (m * (m - p)) * stats.f.isf(NEWPOINT_ALPHA, p, m - p)
        old[k] = int(np.sum(d2 > cut_old))
        chi[k] = int(np.sum(d2 > stats.chi2.isf(NEWPOINT_ALPHA, p)))
    return new, old, chi


def newpoint_header(n_new):
    return ["## New observations against an MCD fit: false positives (issue 11)", "",
             machine_line(), "",
             "`python benchmarks/bench_calibration.py --full --part newpoint` (seeded). "
             "`f = mh.fit(X, method=\"mcd\")` on clean X ~ N(0, I) of n rows, then "
             f"`f.outliers(Y, alpha={NEWPOINT_ALPHA})` on {n_new} independent clean new points "
             "Y per fit: the share of them flagged. \"simulated law\": the law of a new "
             "point's D² under the same MCD, simulated from the stated number of fits (the "
             "library's default), which `f.outliers`/`f.pvalue` use below n = 500; \"F, m\": "
             "Cerioli's F with m = the rows kept by the reweighting, the previous default and "
             "the default from n = 500 on; chi2 the asymptotic rule. In parentheses the 99 % "
             "confidence interval of the rate from the spread of the per-fit counts (all new "
             "points of one fit share its error, so binomial bounds would be far too "
             "narrow).", "",
             "| n | p | fits | law fits | simulated law: rate (99 % CI) | F, m | chi2 |",
             "|---:|---:|---:|---:|---|---:|---:|"]


def run_newpoint_full(args):
    cells = [(n, p) for n in (30, 50, 100, 500) for p in (2, 5, 10)]
    if args.cells:
        cells = parse_cells(args.cells)
    n_new = 200
    t0 = time.perf_counter()
    lines = newpoint_header(n_new)
    from mahalanobis._calibration import _new_point_reps
    for n, p in cells:
        reps = int(np.clip(np.ceil(12000 / n), 100, 400))
        new, old, chi = newpoint_cell(n, p, reps, n_new)
        lo, hi = cluster_ci(new, n_new)
        lines.append(f"| {n} | {p} | {reps} | {_new_point_reps(n)}"
                     f" | **{new.mean() / n_new:.4f}** ({max(lo, 0):.4f}, {hi:.4f}) | "
                     f"{old.mean() / n_new:.4f} | {chi.mean() / n_new:.4f} |")
        print(lines[-1], flush=True)
        print(f"newpoint n={n} p={p}: {time.perf_counter() - t0:.0f} s", file=sys.stderr,
              flush=True)
    return [*lines, "", f"Run time {time.perf_counter() - t0:.0f} s."]


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="tiny run; results/ untouched")
    ap.add_argument("--full", action="store_true", help="the whole grid of issue 11")
    ap.add_argument("--part", default=",".join(FULL_PARTS),
                    help="with --full: which of " + ", ".join(FULL_PARTS))
    ap.add_argument("--cells", default=None, help="e.g. 30x2,50x10: these (n, p) only")
    ap.add_argument("--chart-cells", default=None, help="e.g. 30x2,50x5: these (m, p) only")
    ap.add_argument("--out", default=None, help="with --full: write results/<OUT>.md instead "
                    "(a part of a grid run in several processes)")
    args = ap.parse_args(argv)
    try:
        import sklearn  # noqa: F401
        sklearn_ok = True
    except ImportError:  # pragma: no cover
        sklearn_ok = False
    if "MAHALANOBIS_CACHE_DIR" not in os.environ:  # keep the user's cache out of it
        os.environ["MAHALANOBIS_CACHE_DIR"] = tempfile.mkdtemp(prefix="mh-calibration-")
    if args.full:
        runners = {"outliers": lambda: run_outliers_full(args, sklearn_ok),
                   "small-n": lambda: run_small_n_full(args),
                   "charts": lambda: run_charts_full(args),
                   "newpoint": lambda: run_newpoint_full(args)}
        for part in args.part.split(","):
            text = "\n".join(runners[part]())
            name = args.out or f"calibration_full_{part}"
            print("wrote", write_result(name, text), file=sys.stderr)
        return
    t0 = time.perf_counter()
    if args.quick:
        cells, chart_cells, reps_c, n_cal = [(40, 2)], [(30, 2)], 5, 50
    else:
        cells, chart_cells, reps_c, n_cal = [(50, 3), (100, 3)], [(30, 2)], 150, 600
    if args.cells:
        cells = parse_cells(args.cells)
    lines = [SHORT_HEADER, "",
             "`make bench` runs `bench_calibration.py` without `--full`: a few cells that show "
             "the default against the others in every run (the sections above come from "
             "`--full` runs and are kept from them).", "", machine_line(), ""]
    lines += outlier_table(cells, sklearn_ok, quick=args.quick)
    note = ("Simulated limits from the stated number of simulated Phase I samples (fewer than "
            "the library's default, to keep this run short); Cerioli limits: the previous "
            "default. Evaluated on independent clean samples; 99 % binomial bounds of alpha "
            "in brackets, the 99 % interval from the per-chart counts in parentheses.")
    lines += ["", *chart_table(chart_cells, lambda m: reps_c, lambda m: n_cal, note)]
    lines += ["", f"Run time {time.perf_counter() - t0:.0f} s."]
    text = "\n".join(lines)
    if args.quick:
        print(text)
        return
    print("wrote", write_result("calibration", "\n\n".join([*stored_full(), text])),
          file=sys.stderr)


if __name__ == "__main__":
    main()
