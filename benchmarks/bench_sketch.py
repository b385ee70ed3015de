"""Sketched, kernel and functional distances (issue 7): accuracy tables, with timings.

    python benchmarks/bench_sketch.py [--quick | --full]

By default 100 sketches per configuration (k up to 200) for the coverage and 5000 queries in
the table of where the sketch wins; --full: 200 sketches, also k = 400 and 800 (their draws
cost as much as all the others together), and 20 000 queries (a 1.6 GB query matrix).

* SketchedMetric: relative error |Dhat / D - 1| of the Gaussian sketch against the exact
  regularised distance, for p = 5000, n = 200, over k and over seeds (a fresh sketch per seed,
  200 query points independent of the sketch), next to the stated per-point bound eps_0.95
  (the exact chi2_k quantile) and the observed fraction within it; time per 1000 distances.
* KernelMetric: AUROC of inlier-vs-outlier scores on a two-moons manifold (outliers in the
  gaps), linear vs RBF vs Nystroem, and the linear kernel vs x'(S + reg I)^-1 x.
* FunctionalMetric: grid refinement, uniform and non-uniform grids, against a 4001-point grid.

Writes the "sketch", "kernel" and "functional" sections of benchmarks/results/extensions.md
(not with --quick).
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
from _common import machine_line
from bench_online import load_note, write_section

from mahalanobis.variants.functional import FunctionalMetric
from mahalanobis.variants.kernel import KernelMetric
from mahalanobis.variants.sketched import SketchedMetric


def factor_data(n, p, rng, q=10):
    F = rng.standard_normal((p, q))
    return rng.standard_normal((n, q)) @ F.T + 0.5 * rng.standard_normal((n, p))


def sketch_section(quick: bool, full: bool = False) -> str:
    rng = np.random.default_rng(0)
    n, p = (200, 5000) if not quick else (100, 1000)
    seeds = 40 if quick else 200 if full else 100
    X, Y = factor_data(n, p, rng), factor_data(1000, p, rng)
    Yq = Y[:20]  # query points for the coverage check, one draw per (sketch, point)
    base = SketchedMetric().fit(X)
    exact, exact_q = base.exact_distance(Y), base.exact_distance(Yq)
    t0 = time.perf_counter()
    for _ in range(5):
        base.exact_distance(Y)
    t_exact = (time.perf_counter() - t0) / 5 * 1e3
    lines = ["### Random-projection sketch (SketchedMetric)", "", machine_line() + load_note(),
             "",
             f"n = {n}, p = {p} (10 factors + noise), reg = 0.1 (ridge = 0.1 x average "
             f"variance). Error = |Dhat / D - 1| against the exact regularised distance "
             "D = sqrt((y - m)^T (S + r I)^-1 (y - m)), for query points not in the fit. "
             "The stated bound eps_0.95 is exact for one query point chosen independently of "
             "the sketch: P(|Dhat / D - 1| > eps_0.95) = 0.05, from Dhat^2 / D^2 ~ chi2_k / k "
             "(median of s sketches: binomial tail). Coverage: the fraction of "
             f"{seeds} independent sketches x 20 query points within eps_0.95. Errors of all "
             f"1000 query points under the first 10 sketches give the median and 95th "
             f"percentile. Exact distance of 1000 points from the thin SVD: {t_exact:.1f} ms.",
             "", "| k | sketches | median error | 95th pct error | stated eps_0.95 | coverage "
             "(target 0.95) | draw sketch | 1000 distances |", "|---|---|---|---|---|---|---|---|"]
    configs = [(25, 1), (50, 1), (100, 1), (200, 1), *([(400, 1), (800, 1)] if full else []),
               (50, 5), (100, 5)]
    for k, s in configs:
        sm = SketchedMetric(k=k, n_sketches=s).fit(X)
        bound = sm.error_bound(0.05)
        errs, within, draws, dists = [], [], [], []
        for seed in range(seeds):
            t0 = time.perf_counter()
            sm.resketch(seed)
            draws.append(time.perf_counter() - t0)
            within.append(np.abs(sm.distance(Yq) / exact_q - 1) <= bound)
            if seed < 10:
                t0 = time.perf_counter()
                d = sm.distance(Y)
                dists.append(time.perf_counter() - t0)
                errs.append(np.abs(d / exact - 1))
        e = np.concatenate(errs)
        cov = np.mean(within)
        row = (f"| {k} | {s} | {np.median(e):.3f} | {np.quantile(e, 0.95):.3f} | "
               f"{bound:.3f} | {cov:.3f} | {np.median(draws) * 1e3:.0f} ms | "
               f"{np.median(dists) * 1e3:.1f} ms |")
        lines.append(row)
        print(row, flush=True)
    lines += ["", regime_table(quick, full)]
    lines += ["", "Coverage is a mean of dependent events (the 20 points share each sketch), so "
              f"its spread is wider than binomial; with {seeds} sketches its standard error is "
              f"about {0.14 / np.sqrt(seeds):.2f}-{0.28 / np.sqrt(seeds):.2f}. A sketch pays "
              "for distances when k x sketches < min(n, p): the exact "
              "distance already costs O(p min(n, p)) per point; it pays in memory (k x p "
              "instead of min(n, p) x p) and for dense covariances (n > p) where the exact "
              "distance costs O(p^2)."]
    return "\n".join(lines)


def regime_table(quick: bool, full: bool = False) -> str:
    """Where the sketch wins: high dimension, many training rows, many queries. The exact
    regularised distance from the thin SVD costs O(p min(n, p)) per query; the sketch O(k p)."""
    rng = np.random.default_rng(1)
    n, p, nq = (300, 2000, 2000) if quick else (1000, 10_000, 20_000 if full else 5000)
    X = factor_data(n, p, rng)
    Q = factor_data(nq, p, rng)
    t0 = time.perf_counter()
    base = SketchedMetric(k=25).fit(X)
    t_fit = time.perf_counter() - t0
    t0 = time.perf_counter()
    exact = base.exact_distance(Q)
    t_exact = time.perf_counter() - t0
    rows = [f"#### Where the sketch wins: n = {n}, p = {p}, {nq} queries", "",
            f"Fit (thin SVD of the centred data, shared by both): {t_fit:.2f} s. Exact "
            f"regularised distances of the {nq} queries: {t_exact * 1e3:.0f} ms "
            f"(model {min(n, p) * p * 8 / 1e6:.0f} MB: the r x p basis).", "",
            "| k | sketches | queries time | speed-up over exact | model size | median error "
            "| 95th pct error |", "|---|---|---|---|---|---|---|"]
    for k, s in [(25, 1), (50, 1), (100, 1), (50, 5)]:
        sm = SketchedMetric(k=k, n_sketches=s).fit(X)
        t0 = time.perf_counter()
        d = sm.distance(Q)
        t = time.perf_counter() - t0
        err = np.abs(d / exact - 1)
        rows.append(f"| {k} | {s} | {t * 1e3:.0f} ms | {t_exact / t:.1f}x | "
                    f"{k * s * p * 8 / 1e6:.1f} MB | {np.median(err):.3f} | "
                    f"{np.quantile(err, 0.95):.3f} |")
    rows += ["", "Use the sketch when p is large (>= 1e4), the fitted data has many rows "
             "(min(n, p) >> k x sketches) and many points are scored: each query costs k x p "
             "instead of min(n, p) x p, and the model is k x p numbers instead of min(n, p) x p. "
             "For a single query, or when n is small, the exact distance from the same fit is "
             "as fast and has no error."]
    return "\n".join(rows)


def moons(n, rng, noise=0.05):
    t = rng.uniform(0.0, np.pi, n)
    lab = rng.integers(0, 2, n)
    x = np.where(lab == 0, np.cos(t), 1.0 - np.cos(t))
    y = np.where(lab == 0, np.sin(t), 0.5 - np.sin(t))
    return np.c_[x, y] + noise * rng.standard_normal((n, 2))


def gap_points(n, rng, min_dist=0.3):
    ref = moons(20_000, np.random.default_rng(99), noise=0.0)[::20]
    out = []
    while len(out) < n:
        c = rng.uniform([-1.5, -1.0], [2.5, 1.5], (500, 2))
        d = np.min(((c[:, None, :] - ref[None, :, :]) ** 2).sum(-1), axis=1)
        out.extend(c[d > min_dist**2])
    return np.array(out[:n])


def auroc(inl, outl):
    s = np.r_[inl, outl]
    ranks = np.argsort(np.argsort(s)) + 1.0
    n1, n2 = len(inl), len(outl)
    return (ranks[n1:].sum() - n2 * (n2 + 1) / 2) / (n1 * n2)


def kernel_section(quick: bool) -> str:
    n = 1000 if not quick else 300
    lines = ["### Kernel Mahalanobis distance (KernelMetric)", "",
             f"Two moons (noise 0.05), {n} fitted points; 500 new inliers vs 500 outliers "
             "uniform in the bounding box at least 0.3 from the moons. AUROC of the distance "
             "(1 = perfect separation), mean over 3 seeds; RBF gamma by the median heuristic, "
             "reg = 1e-3.", "",
             "| model | AUROC | fit | 1000 distances | conformal FPR at alpha=0.05 |",
             "|---|---|---|---|---|"]
    models = [("linear kernel (= ridge Mahalanobis)", dict(kernel="linear")),
              ("RBF, exact", dict(kernel="rbf")),
              ("RBF, Nystroem m=100", dict(kernel="rbf", n_components=100)),
              ("polynomial degree 3", dict(kernel="poly", degree=3))]
    for name, kw in models:
        aucs, fits, dists, fprs = [], [], [], []
        for seed in range(3):
            rng = np.random.default_rng(seed)
            X, inl, outl = moons(n, rng), moons(500, rng), gap_points(500, rng)
            t0 = time.perf_counter()
            km = KernelMetric(random_state=seed, **kw).fit(X)
            fits.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            di = km.distance(inl)
            dists.append((time.perf_counter() - t0) / 0.5)
            aucs.append(auroc(di, km.distance(outl)))
            fprs.append(np.mean(km.outliers(inl, alpha=0.05)))
        row = (f"| {name} | {np.mean(aucs):.3f} | {np.median(fits) * 1e3:.0f} ms | "
               f"{np.median(dists) * 1e3:.1f} ms | {np.mean(fprs):.3f} |")
        lines.append(row)
        print(row, flush=True)
    rng = np.random.default_rng(5)
    X = rng.standard_normal((300, 4)) @ rng.standard_normal((4, 4)) + 3.0
    Y = rng.standard_normal((100, 4)) * 2 + 3.0
    reg = 1e-3
    S = np.cov(X.T) + reg * np.eye(4)
    V = Y - X.mean(axis=0)
    ref = np.einsum("ij,ji->i", V, np.linalg.solve(S, V.T))
    err = np.max(np.abs(KernelMetric("linear", reg=reg).fit(X).distance(Y, squared=True) / ref
                        - 1))
    lines += ["", f"Linear kernel vs (y - xbar)^T (S + reg I)^-1 (y - xbar), S with divisor "
              f"n - 1, n = 300, p = 4: max relative error of D^2 = {err:.1e}."]
    return "\n".join(lines)


def functional_section() -> str:
    rng = np.random.default_rng(0)
    K = 20
    j = np.arange(1, K + 1)
    lam = 1.0 / ((j - 0.5) * np.pi) ** 2
    C = rng.standard_normal((80, K)) * np.sqrt(lam)
    Cn = rng.standard_normal((200, K)) * np.sqrt(lam) * 1.3

    def curves(Cf, t):
        return Cf @ (np.sqrt(2.0) * np.sin(np.outer(j - 0.5, np.pi * t))) + np.cos(3.0 * t)

    grids = {"uniform 101": np.linspace(0, 1, 101), "uniform 401": np.linspace(0, 1, 401),
             "t^1.5, 101": np.linspace(0, 1, 101) ** 1.5,
             "t^1.5, 401": np.linspace(0, 1, 401) ** 1.5,
             "random 401": np.sort(np.r_[0.0, 1.0, rng.uniform(0, 1, 399)])}
    ref_t = np.linspace(0, 1, 4001)
    methods = [("fpca, k=4", dict(method="fpca", n_components=4)),
               ("rkhs, alpha=1e-3", dict(method="rkhs", alpha=1e-3)),
               ("rkhs, default alpha", dict(method="rkhs"))]
    lines = ["### Functional distances: grid refinement (FunctionalMetric)", "",
             "80 Brownian-motion-like curves (20 Karhunen-Loeve terms) plus a mean cos(3t), "
             "distances of 200 new curves to the mean; max relative difference from the same "
             "curves on a uniform 4001-point grid (trapezoid weights).", "",
             "| method | " + " | ".join(grids) + " |", "|---" * (len(grids) + 1) + "|"]
    for name, kw in methods:
        ref = FunctionalMetric(grid=ref_t, **kw).fit(curves(C, ref_t)).distance(
            curves(Cn, ref_t))
        cells = []
        for t in grids.values():
            d = FunctionalMetric(grid=t, **kw).fit(curves(C, t)).distance(curves(Cn, t))
            cells.append(f"{np.max(np.abs(d / ref - 1)):.1e}")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--full", action="store_true", help="200 sketches, 20 000 queries")
    args = ap.parse_args(argv)
    sections = {"sketch": sketch_section(args.quick, args.full),
                "kernel": kernel_section(args.quick), "functional": functional_section()}
    for name, text in sections.items():
        if args.quick:
            print(text, "\n")
        else:
            print("wrote", write_section(name, text))
    return 0


if __name__ == "__main__":
    sys.exit(main())
