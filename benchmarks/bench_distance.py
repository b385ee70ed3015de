"""Batch and all-pairs Mahalanobis distances against scipy, scikit-learn and R, in one run.

    python benchmarks/bench_distance.py [--quick]

Reports medians and ratios, the ratio to the machine's limit (measured DGEMM rate, n p^2
flops; or read bandwidth, 8 n p bytes, whichever is larger), and the extra memory of a batch.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
from _common import (
    dgemm_rate,
    have_r,
    machine_line,
    median_time,
    peak_extra_bytes,
    r_time,
    read_bandwidth,
    write_result,
)
from scipy.spatial.distance import cdist

import mahalanobis as mh


def problem(n, p, seed=0):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((p, p))
    S = A @ A.T / p + np.eye(p)
    m = rng.standard_normal(p)
    X = rng.standard_normal((n, p)) @ np.linalg.cholesky(S).T + m
    return X, m, S


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args(argv)
    scale = 10 if args.quick else 1
    gemm = dgemm_rate()
    bw = read_bandwidth()
    lines = ["## Distances (issue 2)", "", machine_line(),
             f"Measured DGEMM rate {gemm / 1e9:.0f} GFLOP/s, read bandwidth {bw / 1e9:.1f} GB/s.",
             "", "### D^2 of a batch to a centre", "",
             "| n x p | mahalanobis | scipy cdist | sklearn EmpiricalCovariance.mahalanobis "
             "| R stats::mahalanobis | vs scipy | vs sklearn | vs R | ratio to machine limit |",
             "|---|---|---|---|---|---|---|---|---|"]
    use_r = have_r() and not args.quick
    from sklearn.covariance import EmpiricalCovariance
    for n, p in [(1_000_000 // scale, 50), (100_000 // scale, 10), (1_000_000 // scale, 10)]:
        X, m, S = problem(n, p)
        metric = mh.Metric(m, S)
        VI = np.linalg.inv(S)
        ours = median_time(lambda: metric.distance(X, squared=True), repeat=7)
        ref = cdist(X[:2000], m[None], "mahalanobis", VI=VI)[:, 0] ** 2
        assert np.allclose(metric.distance(X[:2000], squared=True), ref, rtol=1e-10)
        t_scipy = median_time(lambda: cdist(X, m[None], "mahalanobis", VI=VI), repeat=3)
        ec = EmpiricalCovariance().fit(X[: 10 * p])
        ec.location_, ec.precision_, ec.covariance_ = m, VI, S
        t_sk = median_time(lambda: ec.mahalanobis(X), repeat=3)
        t_r = float("nan")
        if use_r:
            res = r_time("S <- matrix(Sv, %d, %d); m <- as.vector(mv)\n"
                         "t <- system.time(for (i in 1:3) d <- mahalanobis(X, m, S))[['elapsed']]"
                         "\ncat('t=', t / 3, '\\n')" % (p, p),
                         {"X": X, "Sv": S, "mv": m[:, None]})
            t_r = res.get("t", float("nan"))
        floor = max(n * p * p / gemm, 8.0 * n * p / bw)
        lines.append(
            f"| {n:.0e} x {p} | {ours * 1e3:.1f} ms | {t_scipy * 1e3:.0f} ms | {t_sk * 1e3:.0f} ms"
            f" | {t_r * 1e3:.0f} ms | {t_scipy / ours:.1f}x | {t_sk / ours:.1f}x | "
            f"{t_r / ours:.1f}x | {ours / floor:.1f}x |")
    lines += ["", "### Extra memory of a batch distance (beyond the output vector)", "",
              "| n x p | input | peak traced allocation | output | extra |",
              "|---|---|---|---|---|"]
    for n in (100_000 // scale, 1_000_000 // scale):
        X, m, S = problem(n, 50)
        metric = mh.Metric(m, S)
        peak = peak_extra_bytes(lambda: metric.distance(X, squared=True))
        lines.append(f"| {n:.0e} x 50 | {X.nbytes / 1e6:.0f} MB | {peak / 1e6:.2f} MB | "
                     f"{n * 8 / 1e6:.2f} MB | {(peak - n * 8) / 1e6:.2f} MB |")
    lines += ["", "### All pairs, 2000 x 2000", "",
              "| p | mahalanobis.pairwise | scipy cdist | vs scipy |", "|---|---|---|---|"]
    npair = 2000 // (2 if args.quick else 1)
    for p in (50, 200):
        XA, _, S = problem(npair, p, 1)
        XB, _, _ = problem(npair, p, 2)
        VI = np.linalg.inv(S)
        ours = median_time(lambda: mh.pairwise(XA, XB, cov=S), repeat=5)
        assert np.allclose(mh.pairwise(XA[:50], XB[:50], cov=S),
                           cdist(XA[:50], XB[:50], "mahalanobis", VI=VI), rtol=1e-9)
        t_scipy = median_time(lambda: cdist(XA, XB, "mahalanobis", VI=VI), repeat=1, warmup=0)
        lines.append(f"| {p} | {ours * 1e3:.1f} ms | {t_scipy * 1e3:.0f} ms | "
                     f"{t_scipy / ours:.0f}x |")
    text = "\n".join(lines)
    print(text)
    if not args.quick:
        write_result("distance", text)


if __name__ == "__main__":
    sys.exit(main())
