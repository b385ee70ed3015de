"""MCD: mahalanobis FastMCD versus scikit-learn's MinCovDet and R robustbase's covMcd.

Data: 90% N(0, S) with S equicorrelated (0.5) plus 10% outliers shifted by 3 in every
coordinate (the first rows). For each (n, p) and each seed: wall time (R timed inside R
with system.time around covMcd only), the objective log det cov(X[raw subset]) (divisor h - 1,
computed the same way from each method's raw support), and the outliers found (points flagged
by the final weights, and the share of planted outliers among them). Medians over the seeds
(3 by default, to keep `make bench` under 10 minutes; `--seeds 5` for more), except for
scikit-learn's MinCovDet at n >= 1e5, which takes about 20 s a fit: there one seed (all
seeds with --full), and likewise at n p >= 1e6 (20000 x 50: 7 s a fit).

    python benchmarks/bench_mcd.py            # full run (3 seeds), writes results/mcd.md
    python benchmarks/bench_mcd.py --quick    # small sanity run, prints only
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from _common import have_r, machine_line, r_time, write_result

from mahalanobis.covariance.mcd import mcd

FULL = [(1000, 5), (10000, 10), (100000, 10), (20000, 50)]
QUICK = [(1000, 5), (3000, 10)]


def make_data(n: int, p: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    S = 0.5 * np.ones((p, p)) + 0.5 * np.eye(p)
    X = rng.multivariate_normal(np.zeros(p), S, size=n)
    k = n // 10
    X[:k] += 3.0
    planted = np.zeros(n, dtype=bool)
    planted[:k] = True
    return X, planted


def objective(X: np.ndarray, support: np.ndarray) -> float:
    return float(np.linalg.slogdet(np.cov(X[support], rowvar=False))[1])


def run_ours(X, planted, seed):
    t = time.perf_counter()
    r = mcd(X, random_state=seed)
    t = time.perf_counter() - t
    flagged = ~np.asarray(r.weights)
    return t, objective(X, r.support), flagged.sum(), flagged[planted].mean()


def run_sklearn(X, planted, seed):
    from sklearn.covariance import MinCovDet
    t = time.perf_counter()
    m = MinCovDet(random_state=seed).fit(X)
    t = time.perf_counter() - t
    flagged = ~m.support_
    return t, objective(X, m.raw_support_), flagged.sum(), flagged[planted].mean()


R_SCRIPT = """
suppressMessages(library(robustbase))
set.seed(SEED)
tm <- system.time(fit <- covMcd(X))[["elapsed"]]
crit <- determinant(cov(X[fit$best, , drop = FALSE]))$modulus[1]
flag <- fit$raw.weights == 0
cat(sprintf("time=%.17g\\ncrit=%.17g\\nflagged=%d\\nrecall=%.17g\\n", tm, crit, sum(flag),
            mean(flag[seq_len(K)])))
"""


def run_r(X, planted, seed):
    res = r_time(R_SCRIPT.replace("SEED", str(seed)).replace("K", str(int(planted.sum()))),
                 {"X": X})
    return res["time"], res["crit"], res["flagged"], res["recall"]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="small sanity run, no results file")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--full", action="store_true",
                    help="MinCovDet at n p >= 1e6 on every seed")
    args = ap.parse_args()
    sizes = QUICK if args.quick else FULL
    seeds = range(2 if args.quick else args.seeds)
    use_r = have_r("robustbase")
    try:
        import sklearn  # noqa: F401
        use_sk = True
    except ImportError:
        use_sk = False
    runners = {"mahalanobis": run_ours}
    if use_sk:
        runners["sklearn MinCovDet"] = run_sklearn
    if use_r:
        runners["R covMcd"] = run_r
    rows = []
    for n, p in sizes:
        res = {k: [] for k in runners}
        for seed in seeds:
            X, planted = make_data(n, p, seed)
            for name, fn in runners.items():
                if (name.startswith("sklearn") and n * p >= 1_000_000 and res[name]
                        and not args.full):
                    continue  # 7-20 s a fit: one seed unless --full
                res[name].append(fn(X, planted, seed))
        med = {k: np.median(np.array(v, dtype=float), axis=0) for k, v in res.items()}
        rows.append((n, p, med))
        print(f"n={n} p={p}: " + "; ".join(
            f"{k}: {m[0]:.3f}s obj={m[1]:.4f} flagged={m[2]:.0f} recall={m[3]:.2f}"
            for k, m in med.items()), flush=True)
    lines = ["# MCD benchmark", "",
             f"Machine: {machine_line()}. Median over {len(seeds)} seeds "
             f"({'all' if args.full else 'one'} for MinCovDet at n p >= 1e6); 90% N(0, S) + 10% "
             "shifted outliers. Objective: log det cov(X[raw subset]) (lower is better). "
             "Time ratio = other / mahalanobis (> 1 means mahalanobis is faster).", "",
             "| n | p | method | time (s) | time ratio | objective | flagged | planted found |",
             "|---:|---:|---|---:|---:|---:|---:|---:|"]
    for n, p, med in rows:
        ours = med["mahalanobis"][0]
        for k, m in med.items():
            lines.append(f"| {n} | {p} | {k} | {m[0]:.3f} | {m[0] / ours:.1f} | {m[1]:.4f} | "
                         f"{m[2]:.0f} | {m[3]:.2f} |")
    text = "\n".join(lines)
    print(text)
    if not args.quick:
        write_result("mcd", text)


if __name__ == "__main__":
    main()
