"""Distances (issue 2): the extra memory of a batch distance, and the test problem the other
distance benchmarks use.

    python benchmarks/bench_distance.py [--quick]

The timings of batch and all-pairs distances against scipy's cdist, scikit-learn and R's
``stats::mahalanobis`` are measured once, in bench_limits.py (the issue-17 table, with the
machine's floor); this script adds what that table does not show: the memory a batch needs
beyond its output vector (tracemalloc peak), which must not grow with n.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
from _common import machine_line, peak_extra_bytes, write_result

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
    lines = ["## Distances (issue 2)", "", machine_line(), "",
             "Batch and all-pairs timings against scipy's cdist, scikit-learn and R's "
             "`stats::mahalanobis` are in the issue-17 table above (measured once, with the "
             "machine's floor).", "",
             "### Extra memory of a batch distance (beyond the output vector)", "",
             "| n x p | input | peak traced allocation | output | extra |",
             "|---|---|---|---|---|"]
    for n in (100_000 // scale, 1_000_000 // scale):
        X, m, S = problem(n, 50)
        metric = mh.Metric(m, S)
        peak = peak_extra_bytes(lambda: metric.distance(X, squared=True))
        lines.append(f"| {n:.0e} x 50 | {X.nbytes / 1e6:.0f} MB | {peak / 1e6:.2f} MB | "
                     f"{n * 8 / 1e6:.2f} MB | {(peak - n * 8) / 1e6:.2f} MB |")
    text = "\n".join(lines)
    print(text)
    if not args.quick:
        write_result("distance", text)


if __name__ == "__main__":
    sys.exit(main())
