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


def median_time(fn: Callable[[], object], repeat: int = 5, warmup: int = 1) -> float:
    """Median wall time of fn() over `repeat` runs after `warmup` runs."""
    for _ in range(warmup):
        fn()
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


def dgemm_rate(n: int = 3000) -> float:
    """Measured DGEMM rate of numpy's BLAS on this machine, in flop/s."""
    rng = np.random.default_rng(0)
    A = rng.standard_normal((n, n))
    B = rng.standard_normal((n, n))
    t = median_time(lambda: A @ B, repeat=3)
    return 2.0 * n**3 / t


def read_bandwidth() -> float:
    """Measured read bandwidth (bytes/s): summing a 400 MB array."""
    a = np.ones(50_000_000)
    t = median_time(lambda: a.sum(), repeat=3)
    return a.nbytes / t


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
