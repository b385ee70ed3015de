"""Shared helpers for the benchmark scripts: timing, machine limits, R, markdown output."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
import tracemalloc
from collections.abc import Callable

import numpy as np

RESULTS_DIR = os.path.join(os.path.dirname(__file__), "results")


def median_time(fn: Callable[[], object], repeat: int = 5, warmup: int = 1,
                budget: float = 3.0) -> float:
    """Median wall time of fn() over `repeat` runs after `warmup` runs.

    Slow calls are repeated fewer times: when the warm-up run took t seconds, at most
    max(1, budget / t) timed runs follow (a call of a second or more is timed once or twice;
    its run-to-run spread is small next to the ratios reported), and a call longer than the
    whole budget is timed by its warm-up run alone.
    """
    t_warm = 0.0
    for _ in range(warmup):
        t0 = time.perf_counter()
        fn()
        t_warm = time.perf_counter() - t0
    if t_warm > budget:
        return t_warm
    if t_warm > 0:
        repeat = max(1, min(repeat, int(budget / t_warm)))
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def peak_extra_bytes(fn: Callable[[], object]) -> int:
    """Peak bytes allocated (tracemalloc) while fn() runs."""
    tracemalloc.start()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


def _fastest(fn: Callable[[], object], runs: int, clock: Callable[[], float] = time.perf_counter
             ) -> float:
    """Shortest time of fn() by `clock` over `runs` runs (after one warm-up run)."""
    fn()
    best = np.inf
    for _ in range(runs):
        t0 = clock()
        fn()
        best = min(best, clock() - t0)
    return float(best)


def dgemm_rate(n: int = 2000, rounds: int = 3) -> float:
    """DGEMM rate of this machine in flop/s: the larger of numpy's BLAS on all its threads
    (wall time) and the number of cores times its one-thread rate, each the fastest of several
    runs spread over `rounds` rounds a moment apart.

    The one-thread rate is timed by the CPU time of the calling thread (BLAS limited to one
    thread runs there), which does not advance while other processes hold the core: on a
    shared machine it stays near the hardware's rate where wall-time rates fall with the load.
    The cores times it is an upper bound of the all-thread rate (perfect scaling); the floor it
    gives is, if anything, too low.
    """
    rng = np.random.default_rng(0)
    A = rng.standard_normal((n, n))
    B = rng.standard_normal((n, n))
    flops = 2.0 * n**3
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover
        threadpool_limits = None
    best_all = best_one = 0.0
    for r in range(rounds):
        if r:
            time.sleep(0.5)
        best_all = max(best_all, flops / _fastest(lambda: A @ B, 3))
        if threadpool_limits is not None:
            with threadpool_limits(1, user_api="blas"):
                best_one = max(best_one, flops / _fastest(lambda: A @ B, 2, time.thread_time))
    return max(best_all, (os.cpu_count() or 1) * best_one)


def read_bandwidth(rounds: int = 3) -> float:
    """Read bandwidth (bytes/s): summing a 400 MB array on one thread (timed by that thread's
    CPU time, as the one-thread DGEMM rate) and split over one thread per core (wall time;
    numpy releases the GIL in the sum), the fastest of several runs."""
    from concurrent.futures import ThreadPoolExecutor
    a = np.ones(50_000_000)
    cores = os.cpu_count() or 1
    parts = np.array_split(a, cores)
    best = np.inf
    with ThreadPoolExecutor(cores) as pool:
        def split_sum() -> float:
            return float(sum(pool.map(np.sum, parts)))

        for r in range(rounds):
            if r:
                time.sleep(0.5)
            best = min(best, _fastest(lambda: a.sum(), 3, time.thread_time),
                       _fastest(split_sum, 3))
    return a.nbytes / best


def load_note() -> str:
    """"; load average X at start": the 1-minute load average (these 2-core machines may be
    shared, so timings are noisy when it is above 0)."""
    try:
        return f"; load average {os.getloadavg()[0]:.1f} at start"
    except OSError:  # pragma: no cover
        return ""


def have_r(*packages: str) -> bool:
    if shutil.which("Rscript") is None:
        return False
    if not packages:
        return True
    code = "quit(status = !all(sapply(c(%s), requireNamespace, quietly=TRUE)))" % ", ".join(
        f'"{p}"' for p in packages)
    return subprocess.run(["Rscript", "-e", code], capture_output=True).returncode == 0


def r_time(script: str, arrays: dict[str, np.ndarray], timeout: int = 1800) -> dict[str, float]:
    """Run an R snippet with arrays written as binary doubles; it must print `key=value` lines.

    Each array `name` is available in R as a numeric matrix `name` (read with readBin), so
    that reading the data is not part of what R times.
    """
    with tempfile.TemporaryDirectory() as tmp:
        loads = []
        for name, arr in arrays.items():
            arr = np.ascontiguousarray(arr, dtype=float)
            path = os.path.join(tmp, f"{name}.bin")
            arr.T.tofile(path)  # column-major for R
            r, c = arr.shape if arr.ndim == 2 else (arr.shape[0], 1)
            loads.append(f'{name} <- matrix(readBin("{path}", "double", {r * c}), {r}, {c})')
        src = "\n".join(loads) + "\n" + script
        out = subprocess.run(["Rscript", "-e", src], capture_output=True, text=True,
                             timeout=timeout)
        if out.returncode != 0:
            raise RuntimeError(out.stderr[-2000:])
    res = {}
    for line in out.stdout.splitlines():
        if "=" in line:
            k, v = line.strip().split("=", 1)
            try:
                res[k.strip()] = float(v)
            except ValueError:
                pass
    return res


def write_result(name: str, text: str) -> str:
    os.makedirs(RESULTS_DIR, exist_ok=True)
    path = os.path.join(RESULTS_DIR, f"{name}.md")
    with open(path, "w") as fh:
        fh.write(text.rstrip() + "\n")
    return path


def machine_line() -> str:
    import platform

    import scipy
    return (f"Python {platform.python_version()}, numpy {np.__version__}, scipy "
            f"{scipy.__version__}, {os.cpu_count()} cores; OPENBLAS_THREAD_TIMEOUT="
            f"{os.environ.get('OPENBLAS_THREAD_TIMEOUT', 'unset')}")
