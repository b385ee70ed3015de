"""Robust estimators beyond MCD: mahalanobis versus R's rrcov (CovOgk, CovSest, CovMMest,
CovMve, CovSde), time and objective in one run.

Data: N(0, S) with S equicorrelated (0.5), 10% of the rows shifted by 4 in every coordinate.
For each (n, p): wall time of each estimator (R timed inside R with system.time around the
call only, all estimators in one R process per size) and its objective where it has one:
OGK -- none, it is deterministic: the largest relative difference of the raw scatter from
rrcov's (our ``consistency=False`` estimate equals rrcov's); S -- the S-scale (rrcov
``crit``); MM -- the S-scale of its start (rrcov ``crit``); MVE -- the MVE objective (rrcov
``crit``); SDE -- none (random directions): the share of planted outliers with weight 0.
Lower objectives are better. Stahel-Donoho uses 1000 directions in both (rrcov's default for
p = 20 is 9.7 million). The default run stops at n = 1e4 (a minute or two, so that
`make bench` stays under 10 minutes); ``--full`` adds n = 1e5, about 10 minutes more, most of
it in R.

    python benchmarks/bench_robust.py            # default sizes, writes results/robust.md
    python benchmarks/bench_robust.py --full     # also n = 1e5, writes results/robust.md
    python benchmarks/bench_robust.py --quick    # small sizes, prints only
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from _common import have_r, machine_line, r_time, write_result

import mahalanobis as mh

DEFAULT = [(1000, 5), (1000, 20), (10000, 5), (10000, 20)]
FULL = [*DEFAULT, (100000, 5), (100000, 20)]
QUICK = [(1000, 5), (1000, 20)]
ESTIMATORS = ("ogk", "s_estimator", "mm_estimator", "mve", "stahel_donoho")


def make_data(n: int, p: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    S = 0.5 * np.ones((p, p)) + 0.5 * np.eye(p)
    X = rng.multivariate_normal(np.zeros(p), S, size=n)
    k = n // 10
    X[:k] += 4.0
    planted = np.zeros(n, dtype=bool)
    planted[:k] = True
    return X, planted


def n_dirs(p: int) -> int:
    return 1000


def run_ours(X: np.ndarray, planted: np.ndarray) -> dict[str, tuple[float, float]]:
    out = {}
    p = X.shape[1]
    for name in ESTIMATORS:
        kw: dict = {}
        if name == "ogk":
            kw = {"consistency": False}
        elif name == "stahel_donoho":
            kw = {"n_directions": n_dirs(p), "random_state": 0}
        elif name != "ogk":
            kw = {"random_state": 0}
        mh.fit(X[:200], method=name, **kw)      # warm-up: imports and caches, not timed
        t = time.perf_counter()
        r = mh.fit(X, method=name, **kw)
        t = time.perf_counter() - t
        if name == "ogk":
            obj = np.asarray(r.raw_cov)
        elif name in ("s_estimator", "mve"):
            obj = r.objective
        elif name == "mm_estimator":
            obj = r.scale
        else:
            obj = float(np.mean(np.asarray(r.weights)[planted] == 0))
        out[name] = (t, obj)
    return out


R_SCRIPT = """
suppressMessages(library(rrcov))
tm <- function(expr) system.time(expr)[["elapsed"]]
t <- tm(o <- CovOgk(X)); cat(sprintf("ogk_time=%.17g\\n", t))
write(sprintf("%.17g", o@raw.cov), file = "OGKFILE")
out <- function(name, t, obj) cat(sprintf("%s_time=%.17g\\n%s_obj=%.17g\\n", name, t, name, obj))
set.seed(1); t <- tm(s <- CovSest(X)); out("s_estimator", t, s@crit)
set.seed(1); t <- tm(m <- CovMMest(X)); out("mm_estimator", t, m@crit)
set.seed(1); t <- tm(v <- CovMve(X)); cat(sprintf("mve_time=%.17g\\nmve_obj=%.17g\\n", t, v@crit))
set.seed(1); t <- tm(d <- CovSde(X, nsamp = NDIR)); w <- d@wt
cat(sprintf("stahel_donoho_time=%.17g\\nstahel_donoho_obj=%.17g\\n", t, mean(w[seq_len(K)] == 0)))
"""


def run_r(X: np.ndarray, planted: np.ndarray, tmpdir: str) -> dict[str, tuple[float, object]]:
    p = X.shape[1]
    ogk_file = os.path.join(tmpdir, "ogk_rawcov.txt")
    script = (R_SCRIPT.replace("OGKFILE", ogk_file).replace("NDIR", str(n_dirs(p)))
              .replace("K)", f"{int(planted.sum())})"))
    res = r_time(script, {"X": X}, timeout=7200)
    out: dict[str, tuple[float, object]] = {}
    for name in ESTIMATORS:
        if name == "ogk":
            raw = np.loadtxt(ogk_file).reshape(p, p).T
            out[name] = (res["ogk_time"], raw)
        else:
            out[name] = (res[f"{name}_time"], res[f"{name}_obj"])
    return out


def main() -> None:
    import tempfile
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="small sizes, no results file")
    ap.add_argument("--full", action="store_true", help="also n = 1e5 (10 minutes more)")
    args = ap.parse_args()
    sizes = QUICK if args.quick else FULL if args.full else DEFAULT
    use_r = have_r("rrcov")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n, p in sizes:
            X, planted = make_data(n, p)
            ours = run_ours(X, planted)
            theirs = run_r(X, planted, tmp) if use_r else {}
            rows.append((n, p, ours, theirs))
            print(f"n={n} p={p}: " + "; ".join(
                f"{k}: {ours[k][0]:.3f}s" + (f" / R {theirs[k][0]:.3f}s" if theirs else "")
                for k in ESTIMATORS), flush=True)
    lines = ["# Robust estimators beyond MCD: mahalanobis versus rrcov", "",
             f"Machine: {machine_line()}. One run per size; data N(0, S), S equicorrelated 0.5, "
             "10% of the rows shifted by 4. Time ratio = rrcov / mahalanobis (> 1: "
             "mahalanobis is faster). Objective (lower is better): S-scale for S and MM "
             "(rrcov's crit), the MVE objective; for OGK (deterministic) the largest relative "
             "difference of the raw scatter from rrcov's; for Stahel-Donoho the share of "
             "planted outliers given weight 0 (higher is better). Stahel-Donoho: 1000 "
             "directions in both." + ("" if use_r else
                                                              " R/rrcov not installed: "
                                                              "mahalanobis only."), "",
             "| n | p | estimator | mahalanobis (s) | rrcov (s) | time ratio | objective "
             "(ours) | objective (rrcov) |", "|---:|---:|---|---:|---:|---:|---:|---:|"]
    for n, p, ours, theirs in rows:
        for k in ESTIMATORS:
            t, o = ours[k]
            if theirs:
                tr, orr = theirs[k]
                if k == "ogk":
                    diff = float(np.max(np.abs(o - orr)) / np.max(np.abs(orr)))
                    objs = (f"{diff:.1e} (rel. diff.)", "")
                else:
                    objs = (f"{o:.6g}", f"{orr:.6g}")
                lines.append(f"| {n} | {p} | {k} | {t:.3f} | {tr:.3f} | {tr / t:.1f} | "
                             f"{objs[0]} | {objs[1]} |")
            else:
                lines.append(f"| {n} | {p} | {k} | {t:.3f} | | | "
                             f"{'' if k == 'ogk' else f'{o:.6g}'} | |")
    text = "\n".join(lines)
    print(text)
    if not args.quick:
        write_result("robust", text)


if __name__ == "__main__":
    main()
