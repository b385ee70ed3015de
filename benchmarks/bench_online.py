"""Streaming updates: single-point updates and removals, checked against batch fits.

    python benchmarks/bench_online.py [--quick | --full]

Adds n points (2e5 at p = 5 and 2e4 at p = 50 by default; --full: 1e6 and 1e5, about two
minutes; the rates per second do not depend on n) one at a time to an OnlineMetric (rank-one
Cholesky updates), checks centre, covariance and distances against a batch fit of all
points, removes all but the last 1000 one at a time (rank-one downdates) and checks against a
batch fit of those, and reports updates per second. A sliding window is compared with
refitting the window after every point (np.cov + Cholesky, the obvious alternative). Writes
the "online" section of benchmarks/results/extensions.md (not with --quick).
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np
from _common import RESULTS_DIR, load_note, machine_line

from mahalanobis.variants.online import OnlineMetric


def rel(a, b):
    return float(np.max(np.abs(np.asarray(a) - np.asarray(b))) / np.max(np.abs(b)))


def batch_d2(Y, X):
    S = np.cov(X.T)
    V = Y - X.mean(axis=0)
    return np.einsum("ij,ji->i", V, np.linalg.solve(S, V.T))


def write_section(name: str, text: str) -> str:
    """Replace (or append) the section between <!-- name:start --> and <!-- name:end -->."""
    path = os.path.join(RESULTS_DIR, "extensions.md")
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    old = open(path).read() if os.path.exists(path) else "## Extensions (issue 7)\n"
    block = f"{start}\n{text.strip()}\n{end}"
    if start in old and end in old:
        new = old[:old.index(start)] + block + old[old.index(end) + len(end):]
    else:
        new = old.rstrip() + "\n\n" + block + "\n"
    os.makedirs(RESULTS_DIR, exist_ok=True)
    with open(path, "w") as fh:
        fh.write(new.rstrip() + "\n")
    return path


def stream(n: int, p: int, keep: int, seed: int = 0) -> tuple[list[str], bool]:
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((p, p)) / np.sqrt(p) + np.eye(p)
    X = rng.standard_normal((n, p)) @ A + 100.0  # a common offset, as real streams have
    Y = rng.standard_normal((50, p)) @ A + 100.0
    om = OnlineMetric()
    t0 = time.perf_counter()
    for i in range(n):
        om.partial_fit(X[i:i + 1])
    t_add = time.perf_counter() - t0
    err_add = (rel(om.center, X.mean(axis=0)), rel(om.cov, np.cov(X.T)),
               rel(om.distance(Y, squared=True), batch_d2(Y, X)))
    t0 = time.perf_counter()
    for i in range(n - keep):
        om.remove(X[i:i + 1])
    t_rem = time.perf_counter() - t0
    rest = X[n - keep:]
    err_rem = (rel(om.center, rest.mean(axis=0)), rel(om.cov, np.cov(rest.T)),
               rel(om.distance(Y, squared=True), batch_d2(Y, rest)))
    ok = max(err_add + err_rem) < 1e-10
    rows = [f"| {p} | {n:.0e} single-point updates | {n / t_add:,.0f} /s | "
            f"{err_add[0]:.1e} | {err_add[1]:.1e} | {err_add[2]:.1e} |",
            f"| {p} | {n - keep:.0e} single-point removals (to the last {keep}) | "
            f"{(n - keep) / t_rem:,.0f} /s | {err_rem[0]:.1e} | {err_rem[1]:.1e} | "
            f"{err_rem[2]:.1e} |"]
    return rows, ok


def window_vs_refit(n: int, p: int, window: int, seed: int = 1) -> str:
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n + window, p))
    y = rng.standard_normal((1, p))
    om = OnlineMetric(window=window).partial_fit(X[:window])
    t0 = time.perf_counter()
    for i in range(window, window + n):
        om.partial_fit(X[i:i + 1])
        om.distance(y)
    t_on = (time.perf_counter() - t0) / n
    t0 = time.perf_counter()
    for i in range(window, window + n):
        W = X[i + 1 - window:i + 1]
        m = W.mean(axis=0)
        L = np.linalg.cholesky(np.cov(W.T))
        z = np.linalg.solve(L, (y - m).T)
        _ = float(np.sum(z * z))
    t_re = (time.perf_counter() - t0) / n
    err = rel(om.distance(y, squared=True), batch_d2(y, X[-window:]))
    return (f"| {p} | {window} | {t_on * 1e6:.0f} us | {t_re * 1e6:.0f} us | "
            f"{t_re / t_on:.1f}x | {err:.1e} |")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--full", action="store_true", help="1e6 updates at p = 5 (two minutes)")
    args = ap.parse_args(argv)
    n = 20_000 if args.quick else 1_000_000 if args.full else 200_000
    lines = ["### Streaming updates (OnlineMetric)", "", machine_line() + load_note(), "",
             "Single-point `partial_fit` / `remove` calls (input checking included), rank-one "
             "Cholesky update / downdate per point. Relative errors are max-abs over max-abs "
             "against a batch fit (np.cov, divisor n - 1) of the same points; data have a "
             "common offset of 100.", "",
             "| p | operation | rate | centre rel. err | cov rel. err | D^2 rel. err |",
             "|---|---|---|---|---|---|"]
    all_ok = True
    for p, nn in ((5, n), (50, n // 10)):
        rows, ok = stream(nn, p, keep=1000)
        lines += rows
        all_ok &= ok
        print("\n".join(rows), flush=True)
    lines += ["", "Sliding window: one point in (and the oldest out) plus one distance, per "
              "point, against refitting the window (np.cov + Cholesky + solve) after every "
              "point.", "",
              "| p | window | OnlineMetric per point | refit per point | speed-up | "
              "D^2 rel. err |", "|---|---|---|---|---|---|"]
    for p, w in ((5, 1000), (50, 1000), (50, 10_000)):
        row = window_vs_refit(2000 if not args.quick else 300, p, w)
        lines.append(row)
        print(row, flush=True)
    lines += ["", f"All streaming checks within 1e-10: {'yes' if all_ok else 'NO'}."]
    text = "\n".join(lines)
    if args.quick:
        print(text)
    else:
        print("wrote", write_section("online", text))
    return 0 if all_ok else 1


if __name__ == "__main__":
    sys.exit(main())
