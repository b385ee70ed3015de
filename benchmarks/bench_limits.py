"""Speed at the hardware's limit (issue 17): every task against its best peer and the machine's
floor, and scaling tables with fitted slopes and peak memory.

    python benchmarks/bench_limits.py [--quick] [--full]

The floor of a task is max(flops / DGEMM rate, bytes read / read bandwidth), both measured at
the start of the run on this machine (the fastest of several runs; the DGEMM rate is the larger
of numpy's all-thread rate and the cores times its one-thread rate timed by CPU time, see
_common.dgemm_rate):
n p^2 flops for a covariance fit, a batch of D^2 or a triangular whitening; 2 nA nB p for all
pairs; 8 n p bytes for reading X once. Ratios are ours over the floor (1.0 would be the
hardware's limit). Peak memory is the largest traced allocation (tracemalloc) during one call,
beyond the input. Which BLAS library ran (scipy's or numpy's OpenBLAS and its kernel, from
threadpoolctl) and OPENBLAS_CORETYPE are recorded.

Peers run in the same process: np.cov and scikit-learn for the covariance fit; scipy's cdist,
scikit-learn's ``EmpiricalCovariance.mahalanobis`` and R's ``stats::mahalanobis`` (R at 1e6
rows only) for D^2; a whiten + GEMM numpy schedule and scipy's cdist for all pairs (cdist on
the first 100 rows of XA, times 20: its cost is linear in the rows); scikit-learn for the
shrinkage estimators; R's robustbase and rrcov for MCD and MRCD. Every measurement is made once
and reused: the n = 1e6, p = 10 rows of the scaling table are the task table's, and the
FastMCD rows of the MCD table are the scaling table's. ``--full`` adds R's DetMCD at 1e6 rows
(about 70 s). Writes benchmarks/results/limits.md (not with --quick).
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np
from _common import (
    dgemm_rate,
    have_r,
    load_note,
    machine_line,
    median_time,
    peak_extra_bytes,
    r_time,
    read_bandwidth,
    write_result,
)
from bench_distance import problem
from scipy.spatial.distance import cdist

import mahalanobis as mh
from mahalanobis import _kernels, _linalg


def best_of(fn, repeat=5):
    """Median of `repeat` timed runs after a warm-up (seconds)."""
    return median_time(fn, repeat=repeat)


def timed(fn, repeat=5):
    """(median wall seconds, median CPU seconds of this process, all threads) of `repeat` runs
    after a warm-up. CPU time over (cores x floor) is the ratio to the floor that other
    processes on a shared machine disturb least."""
    fn()
    walls, cpus = [], []
    for _ in range(repeat):
        c0, t0 = time.process_time(), time.perf_counter()
        fn()
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    return float(np.median(walls)), float(np.median(cpus))


def ms(t):
    return f"{t * 1e3:.1f} ms" if t < 10 else f"{t:.1f} s"


def slope(ns, ts):
    """Least-squares slope of log t against log n."""
    return float(np.polyfit(np.log(ns), np.log(ts), 1)[0])


#: Measurements shared between the tables: (task, n, p) -> (seconds, peak bytes).
MEASURED: dict = {}
#: Their CPU seconds (see :func:`timed`).
CPU: dict = {}


def measured(key, fn, repeat=5, peak_offset=0):
    """(median time, peak extra bytes beyond ``peak_offset``) of fn(), measured once per key;
    its median CPU time goes to CPU[key]."""
    if key not in MEASURED:
        t, CPU[key] = timed(fn, repeat)
        MEASURED[key] = (t, max(peak_extra_bytes(fn) - peak_offset, 0))
    return MEASURED[key]


def fit_time(X):
    return measured(("fit", *X.shape), lambda: mh.fit(X))


def distance_time(X, metric):
    return measured(("distance", *X.shape), lambda: metric.distance(X, squared=True), 7,
                    8 * X.shape[0])


class Floor:
    def __init__(self):
        self.gemm = dgemm_rate()
        self.bw = read_bandwidth()

    def __call__(self, flops, nbytes):
        return max(flops / self.gemm, nbytes / self.bw)


def task_table(F, quick):
    from sklearn.covariance import EmpiricalCovariance
    s = 10 if quick else 1
    rows = []

    cores = os.cpu_count() or 1

    def add(task, ours, peer_text, floor, extra="", cpu=None):
        cpu_text = "" if cpu is None else f" (CPU {cpu / (cores * floor):.1f}x)"
        rows.append(f"| {task} | {ours_text(ours)}{extra} | {peer_text} | {ms(floor)} | "
                    f"{ours[0] / floor:.1f}x{cpu_text} |")

    def ours_text(o):
        t, peak = o
        return f"{ms(t)} (peak {peak / 1e6:.0f} MB)" if peak is not None else ms(t)

    # covariance fit
    n = 1_000_000 // s
    for p in (10, 50):
        X, _, _ = problem(n, p)
        t, peak = fit_time(X)
        t_np = best_of(lambda: np.cov(X, rowvar=False), 3)
        t_sk = best_of(lambda: EmpiricalCovariance().fit(X), 3)
        add(f"covariance fit {n:.0e} x {p} (`mh.fit`)", (t, peak),
            f"np.cov {ms(t_np)}, sklearn {ms(t_sk)} ({t_np / t:.1f}x / {t_sk / t:.1f}x)",
            F(n * p * p, 8 * n * p), cpu=CPU[("fit", n, p)])
    # batch distances
    use_r = have_r() and not quick
    for n, p, fn in [(10_000, 10, True), (1_000_000 // s, 10, False), (1_000_000 // s, 50, False),
                     (10_000_000 // s, 5, True), (200_000 // s, 200, True)]:
        X, m, S = problem(n, p)
        metric = mh.Metric(m, S)
        t, peak = distance_time(X, metric)
        VI = np.linalg.inv(S)
        ref = cdist(X[:2000], m[None], "mahalanobis", VI=VI)[:, 0] ** 2
        assert np.allclose(metric.distance(X[:2000], squared=True), ref, rtol=1e-10)
        t_sc = best_of(lambda: cdist(X, m[None], "mahalanobis", VI=VI), 3)
        ec = EmpiricalCovariance().fit(X[: 10 * p])
        ec.location_, ec.precision_, ec.covariance_ = m, VI, S
        t_sk = best_of(lambda: ec.mahalanobis(X), 3)
        peers = [("scipy cdist", t_sc), ("sklearn", t_sk)]
        if use_r and n == 1_000_000:
            reps = 3 if p < 50 else 1  # R takes 3.5 s a call at 1e6 x 50
            res = r_time("S <- matrix(Sv, %d, %d); m <- as.vector(mv)\n"
                         "t <- system.time(for (i in 1:%d) d <- mahalanobis(X, m, S))"
                         "[['elapsed']]\ncat('t=', t / %d, '\\n')" % (p, p, reps, reps),
                         {"X": X, "Sv": S, "mv": m[:, None]})
            peers.append(("R", res.get("t", float("nan"))))
        extra = ""
        if fn:
            t_fn = best_of(lambda: mh.distance(X, m, S, squared=True), 7)
            extra = f"; `mh.distance` {ms(t_fn)} ({t_fn / t:.2f}x)"
        add(f"D^2 {n:.0e} x {p} (`Metric.distance`)", (t, peak),
            ", ".join(f"{k} {ms(v)}" for k, v in peers) + " ("
            + " / ".join(f"{v / t:.1f}x" for _, v in peers) + ")",
            F(n * p * p, 8 * n * p), extra, cpu=CPU[("distance", n, p)])
    # all pairs
    na = 2000
    for p in (50, 200):
        XA, _, S = problem(na, p, 1)
        XB, _, _ = problem(na, p, 2)
        t, cpu = timed(lambda: mh.pairwise(XA, XB, cov=S))

        def whiten_gemm():
            W = np.linalg.inv(np.linalg.cholesky(S))
            ZA, ZB = XA @ W.T, XB @ W.T
            D = (ZA * ZA).sum(1)[:, None] + (ZB * ZB).sum(1)[None, :] - 2 * ZA @ ZB.T
            return np.sqrt(np.maximum(D, 0, out=D), out=D)

        t_np = best_of(whiten_gemm)
        assert np.allclose(mh.pairwise(XA[:50], XB[:50], cov=S),
                           cdist(XA[:50], XB[:50], "mahalanobis", VI=np.linalg.inv(S)),
                           rtol=1e-9)
        part = max(1, na // 20)
        t_cd = na / part * best_of(lambda: cdist(XA[:part], XB, "mahalanobis",
                                                 VI=np.linalg.inv(S)), 1)
        add(f"all pairs {na}^2, p = {p} (`mh.pairwise`)", (t, None),
            f"whiten + GEMM in numpy {ms(t_np)}, scipy cdist {ms(t_cd)} ({t_np / t:.1f}x / "
            f"{t_cd / t:.0f}x)",
            F(2.0 * na * na * p, 8.0 * na * na), cpu=cpu)
    # shrinkage
    from sklearn.covariance import OAS, LedoitWolf
    n, p = 100_000 // s, 200
    X, _, _ = problem(n, p)
    for label, fn, ref in [("Ledoit-Wolf", mh.covariance.ledoit_wolf, LedoitWolf),
                           ("OAS", mh.covariance.oas, OAS)]:
        t, cpu = timed(lambda: fn(X))
        peak = peak_extra_bytes(lambda: fn(X))
        t_ref = best_of(lambda: ref().fit(X), 3)
        add(f"{label} {n:.0e} x {p}", (t, peak), f"sklearn {ms(t_ref)} ({t_ref / t:.1f}x)",
            F(n * p * p, 8 * n * p), cpu=cpu)
    del X
    # Hotelling, two samples
    n, p = 1_000_000 // s, 10
    X, _, _ = problem(n, p, 3)
    Y, _, _ = problem(n, p, 4)
    t, cpu = timed(lambda: mh.hotelling_t2(X, Y))
    t_np = best_of(lambda: (np.cov(X, rowvar=False), np.cov(Y, rowvar=False)), 3)
    add(f"Hotelling two-sample 2 x {n:.0e} x {p}", (t, None),
        f"two `np.cov` calls {ms(t_np)} ({t_np / t:.1f}x)", F(2 * n * p * p, 16 * n * p),
        cpu=cpu)
    from mahalanobis.control import T2Chart
    chart = T2Chart(X[:1000])
    t, cpu = timed(lambda: chart.monitor(Y))
    add(f"T^2 chart Phase II {n:.0e} x {p}", (t, None), "-", F(n * p * p, 8 * n * p), cpu=cpu)
    return rows


def mcd_measure(n, det=False, p=10):
    """(time, peak extra bytes, raw objective) of FastMCD (``det``: DetMCD) on problem(n, p, 5),
    measured once. Runs of a second or more are timed once; DetMCD at 1e6 rows (20 s) is timed
    in the same run as its peak memory is traced (tracemalloc adds little to a run of large
    numpy operations)."""
    key = ("detmcd" if det else "fastmcd", n, p)
    if key not in MEASURED:
        X, _, _ = problem(n, p, 5)

        def run():
            return mh.covariance.mcd(X, deterministic=det, random_state=1)

        if det and n >= 1_000_000:
            import tracemalloc
            tracemalloc.start()
            t0 = time.perf_counter()
            r = run()
            t = time.perf_counter() - t0
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
        else:
            t0 = time.perf_counter()
            r = run()
            t = time.perf_counter() - t0
            if t < 1.0:
                t = best_of(run, 3)
            peak = peak_extra_bytes(run)
        MEASURED[key] = (t, peak, r.log_det_raw)
    return MEASURED[key]


def mcd_rows(quick, full=False):
    """FastMCD and DetMCD against R's covMcd (one run each: these are long). R's DetMCD at
    1e6 rows (about 70 s) only with --full."""
    rows = []
    use_r = have_r("robustbase") and not quick
    for n, p, det in [(100_000, 10, False), (1_000_000, 10, False), (100_000, 10, True),
                      (1_000_000, 10, True)]:
        if quick:
            n //= 100
        t, peak, obj = mcd_measure(n, det, p)
        nbytes = 8 * n * p
        t_r = obj_r = float("nan")
        if use_r and (full or not (det and n >= 1_000_000)):
            X, _, _ = problem(n, p, 5)
            res = r_time("suppressMessages(library(robustbase)); set.seed(1)\n"
                         "tm <- system.time(fit <- covMcd(X, nsamp = %s))[['elapsed']]\n"
                         "cat(sprintf('t=%%.6f\\nobj=%%.10f\\n', tm, fit$crit))"
                         % ("'deterministic'" if det else "500"), {"X": X})
            t_r, obj_r = res.get("t", float("nan")), res.get("obj", float("nan"))
        skipped = "- (with --full)" if use_r else "-"
        ratio = f"{t_r / t:.2f}x" if t_r == t_r else "-"
        obj_r_text = f"{obj_r:.4f}" if obj_r == obj_r else "-"
        rows.append(f"| {'DetMCD' if det else 'FastMCD'} {n:.0e} x {p} | {ms(t)} | "
                    f"{peak / 1e6:.0f} MB ({peak / nbytes:.1f}x the input) | "
                    f"{obj:.4f} | {ms(t_r) if t_r == t_r else skipped} | "
                    f"{obj_r_text} | {ratio} |")
    return rows


def mrcd_rows(quick):
    """MRCD against rrcov's CovMrcd (alpha = 0.5 in both), one run each."""
    rows = []
    use_r = have_r("rrcov") and not quick
    for n, p in [(1000, 50), (100, 200)]:
        if quick:
            n, p = n // 4, p // 4
        rng = np.random.default_rng(0)
        X = rng.standard_normal((n, p)) @ (np.eye(p) + 0.3)
        X[: n // 10] += 4.0
        mh.covariance.mrcd(X[: n // 2], support_fraction=0.5)    # warm-up
        t0 = time.perf_counter()
        r = mh.covariance.mrcd(X, support_fraction=0.5)
        t = time.perf_counter() - t0
        t_r = ld_r = float("nan")
        same = "-"
        if use_r:
            res = r_time("suppressMessages(library(rrcov))\n"
                         "tm <- system.time(fit <- CovMrcd(X, alpha = 0.5))[['elapsed']]\n"
                         "cat(sprintf('t=%.6f\\nld=%.12f\\n', tm, "
                         "determinant(fit@cov)$modulus))\n"
                         "cat(sprintf('b%d=1\\n', fit@best))", {"X": X})
            t_r, ld_r = res["t"], res["ld"]
            best = sorted(int(k[1:]) - 1 for k in res if k[:1] == "b" and k[1:].isdigit())
            same = "yes" if np.array_equal(np.flatnonzero(r.support), best) else "no"
        rows.append(f"| MRCD n = {n}, p = {p} | {ms(t)} | {r.log_det:.6f} | "
                    f"{ms(t_r) if t_r == t_r else '-'} | {ld_r:.6f} | {same} | "
                    f"{t_r / t:.2f}x |")
    return rows


def _scaling_rows(F, shapes, label):
    """Rows "size | fit | peak | ratio | distance | peak | ratio" and the two time lists."""
    fit_t, d_t = [], []
    lines = ["| " + label + " | `mh.fit` | peak | ratio to floor | `Metric.distance` | peak | "
             "ratio to floor |", "|---|---|---|---|---|---|---|"]
    for n, p in shapes:
        X, m, S = problem(n, p)
        tf, pf = fit_time(X)
        td, pd_ = distance_time(X, mh.Metric(m, S))
        del X
        fl = F(n * p * p, 8 * n * p)
        fit_t.append(tf)
        d_t.append(td)
        size = f"{n:.0e}" if label == "n" else str(p)
        lines.append(f"| {size} | {ms(tf)} | {pf / 1e6:.1f} MB | {tf / fl:.1f}x | {ms(td)} | "
                     f"{pd_ / 1e6:.1f} MB | {td / fl:.1f}x |")
    return lines, fit_t, d_t


def scaling(F, quick):
    ns = [10_000, 100_000, 1_000_000, 10_000_000][: 3 if quick else 4]
    rows, fit_t, d_t = _scaling_rows(F, [(n, 10) for n in ns], "n")
    lines = ["#### Time against n at p = 10", "", *rows, "",
             f"Fitted slope of log time on log n: fit {slope(ns, fit_t):.2f}, distances "
             f"{slope(ns, d_t):.2f} (1 is linear).", ""]
    ps = [5, 20, 50, 100, 200, 500]
    n = 100_000 if not quick else 10_000
    rows, fit_t, d_t = _scaling_rows(F, [(n, p) for p in ps], "p")
    lines += [f"#### Time against p at n = {n:.0e}", "", *rows, "",
              "Fitted slope of log time on log p (p = 50..500, where arithmetic dominates): fit "
              f"{slope(ps[2:], fit_t[2:]):.2f}, distances {slope(ps[2:], d_t[2:]):.2f} (2 is "
              "the n p^2 arithmetic).", ""]
    lines += mcd_scaling(quick)
    return lines


def mcd_scaling(quick):
    ns = [1_000, 10_000, 100_000, 1_000_000][: 3 if quick else 4]
    mt = []
    lines = ["#### FastMCD time against n at p = 10", "", "| n | time | peak | peak / input |",
             "|---|---|---|---|"]
    for n in ns:
        t, pk, _ = mcd_measure(n)
        mt.append(t)
        lines.append(f"| {n:.0e} | {ms(t)} | {pk / 1e6:.1f} MB | {pk / (80 * n):.1f}x |")
    lines += ["", f"Fitted slope of log time on log n (n >= 1e4): {slope(ns[1:], mt[1:]):.2f}.",
              ""]
    return lines


def kernel_note():
    info = _kernels.kernels_info()
    blas = "; ".join(f"{os.path.basename(d['filepath'])} ({d['internal_api']} "
                     f"{d.get('version')}, kernel {d.get('architecture')}, "
                     f"{d.get('num_threads')} threads)" for d in info["blas"])
    return (f"Compiled kernels: {'yes' if info['compiled'] else 'no (numpy fallback)'}; worker "
            f"threads {info['threads']}; OPENBLAS_CORETYPE="
            f"{os.environ.get('OPENBLAS_CORETYPE', 'unset')}. BLAS libraries loaded: {blas}. "
            "The hot loops call scipy's OpenBLAS only (through scipy.linalg.cython_blas), "
            "pinned to one thread per worker thread; numpy's OpenBLAS is not used in them. "
            f"Direct (register-blocked) kernels up to p = {_linalg.DIRECT_MAX_DISTANCE} "
            f"(distances) and p = {_linalg.DIRECT_MAX_MOMENTS} (co-moments); co-moments exact "
            f"for n p^2 <= {_linalg.EXACT_MAX_WORK:.2g}.")


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--no-mcd", action="store_true")
    ap.add_argument("--full", action="store_true", help="also R's DetMCD at 1e6 rows (~70 s)")
    args = ap.parse_args(argv)
    F = Floor()
    lines = ["## Speed at the hardware's limit (issue 17)", "", machine_line() + load_note(),
             f"Measured DGEMM rate {F.gemm / 1e9:.0f} GFLOP/s, read bandwidth "
             f"{F.bw / 1e9:.1f} GB/s (each the fastest of several runs; the DGEMM rate is the "
             "larger of the all-thread rate and the cores times the one-thread rate, the "
             "bandwidth the larger of one thread's and one thread per core's; one-thread "
             "rates are timed by the thread's CPU time, which the load of other processes "
             "does not inflate). "
             "Floor = max(flops / DGEMM rate, bytes / bandwidth). In parentheses after the "
             "ratio: CPU seconds (all threads) over cores x floor, which other processes on "
             "a shared machine disturb less than the wall time.",
             "", kernel_note(), "",
             "| task | mahalanobis | best peer (peer / ours) | floor | ours / floor |",
             "|---|---|---|---|---|"]
    lines += task_table(F, args.quick)
    if not args.no_mcd:
        lines += ["", "### MCD at a million rows", "",
                  "Ours: median of 3 runs below a second, else one run (DetMCD at 1e6 rows: "
                  "time and peak from one traced run); the FastMCD rows are the scaling "
                  "table's. R: robustbase covMcd, one run, timed inside R. Objective: log det "
                  "of the raw subset's covariance (robustbase `crit`; lower is better).", "",
                  "| task | mahalanobis | peak extra memory | objective | R covMcd | R objective "
                  "| R / ours |", "|---|---|---|---|---|---|---|"]
        lines += mcd_rows(args.quick, args.full)
        lines += ["", "### MRCD against rrcov", "",
                  "One run each, support_fraction = alpha = 0.5 in both; log det of the final "
                  "covariance; 'same subset': our best h-subset equals rrcov's `best`.", "",
                  "| task | mahalanobis | log det | rrcov CovMrcd | rrcov log det | same subset "
                  "| rrcov / ours |", "|---|---|---|---|---|---|---|"]
        lines += mrcd_rows(args.quick)
    lines += ["", "### Scaling", ""]
    lines += scaling(F, args.quick)
    text = "\n".join(lines)
    print(text)
    if not args.quick:
        print("wrote", write_result("limits", text))
    return 0


if __name__ == "__main__":
    sys.exit(main())
