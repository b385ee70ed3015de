"""Glue to the optional compiled kernels (``_ckernels.c``), BLAS addresses and worker threads.

The C kernels are built by setuptools at install time (``setup.py``). They are loaded with
ctypes (whose calls release the GIL, so worker threads run them in parallel) and take scipy's
BLAS routines by address (``scipy.linalg.cython_blas``), so every hot loop uses one BLAS
library: scipy's OpenBLAS. When the extension is missing (no compiler at install time) or
``MAHALANOBIS_NO_CKERNELS=1`` is set, :data:`C` is None and :mod:`._linalg` runs its
numpy/scipy code paths, which compute the same numbers.

This module imports nothing of the package.
"""

from __future__ import annotations

import ctypes
import importlib.util
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from typing import Any

import numpy as np

__all__ = [
    "N_THREADS",
    "C",
    "as_kernel_input",
    "blas_address",
    "blas_single_thread",
    "kernels_info",
    "pointers",
    "run_parallel",
    "split_rows",
    "strides",
]

#: Worker threads for large inputs: one per core, at most four.
N_THREADS = max(1, min(4, os.cpu_count() or 1))

_P = ctypes.c_void_p
_I = ctypes.c_int64
_INT = ctypes.c_int
_D = ctypes.c_double

_SIGNATURES: dict[str, tuple[Any, list[Any]]] = {
    "mh_sqdist": (_I, [_P, _I, _I, _I, _I, _P, _P, _P, _INT, _INT, _P, _P, _I, _P, _I]),
    "mh_moments": (None, [_P, _I, _I, _I, _I, _INT, _INT, _P, _P, _P, _P, _P, _P, _P, _P, _P,
                          _I, _I]),
    "mh_moments_work": (_I, [_I, _I]),
    "mh_merge": (None, [_I, _INT] + [_P] * 14),
    "mh_pairwise_rows": (None, [_P, _P, _P, _P, _P, _P, _P, _INT, _I, _I, _I, _I, _I, _P, _I,
                                _INT, _D, _INT, _I, _P, _P]),
    "mh_mirror_upper": (None, [_P, _I, _I]),
    "mh_qn0": (_INT, [_P, _I, _I, _INT, _P, _P, _P, _I, _P, _P, _P]),
    "mh_qn0_rows": (_I, [_P, _I, _I, _I, _I, _INT, _P, _P, _P, _I, _P]),
}


def _load() -> Any:
    if os.environ.get("MAHALANOBIS_NO_CKERNELS", "") not in ("", "0"):
        return None
    try:
        spec = importlib.util.find_spec("mahalanobis._ckernels")
        if spec is None or not spec.origin:
            return None
        lib = ctypes.CDLL(spec.origin)
        for name, (restype, argtypes) in _SIGNATURES.items():
            fn = getattr(lib, name)
            fn.restype, fn.argtypes = restype, argtypes
    except (ImportError, OSError, AttributeError):  # pragma: no cover - depends on the build
        return None
    return lib


#: The compiled kernels (a ctypes library), or None when they are not available.
C: Any = _load()

_ADDRESSES: dict[str, int] = {}


def blas_address(name: str) -> int:
    """Address of scipy's BLAS routine ``name`` (``"dtrmm"``, ``"dsyrk"``, ``"dgemm"``) from
    the documented Cython BLAS API (``scipy.linalg.cython_blas.__pyx_capi__``)."""
    if name not in _ADDRESSES:
        from scipy.linalg import cython_blas
        capsule = cython_blas.__pyx_capi__[name]
        get_name = ctypes.pythonapi.PyCapsule_GetName
        get_name.restype, get_name.argtypes = ctypes.c_char_p, [ctypes.py_object]
        get_ptr = ctypes.pythonapi.PyCapsule_GetPointer
        get_ptr.restype, get_ptr.argtypes = ctypes.c_void_p, [ctypes.py_object,
                                                               ctypes.c_char_p]
        _ADDRESSES[name] = int(get_ptr(capsule, get_name(capsule)))
    return _ADDRESSES[name]


_CONTROLLER: Any = None
_CONTROLLER_LOCK = threading.Lock()


def blas_single_thread() -> Any:
    """A context limiting BLAS to one thread per call (threadpoolctl), or None without
    threadpoolctl (then callers run BLAS-based kernels on one Python thread)."""
    global _CONTROLLER
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:  # pragma: no cover - depends on the environment
        return None
    with _CONTROLLER_LOCK:
        if _CONTROLLER is None:
            _CONTROLLER = ThreadpoolController()
    return _CONTROLLER.limit(limits=1, user_api="blas")


_POOL: ThreadPoolExecutor | None = None


def _pool() -> ThreadPoolExecutor:
    global _POOL
    if _POOL is None:
        _POOL = ThreadPoolExecutor(N_THREADS, thread_name_prefix="mahalanobis")
    return _POOL


def split_rows(n: int, parts: int, align: int = 1) -> list[tuple[int, int]]:
    """``parts`` contiguous row ranges covering [0, n), boundaries multiples of ``align``."""
    per = -(-n // max(parts, 1))
    per = -(-per // align) * align
    return [(a, min(n, a + per)) for a in range(0, n, max(per, 1))]


def run_parallel(work: Callable[[int, int], Any], n: int, parallel: bool, *,
                 uses_blas: bool = False, align: int = 1,
                 ranges: list[tuple[int, int]] | None = None) -> list[Any]:
    """``work(lo, hi)`` over row ranges (``ranges``, default ``N_THREADS`` equal ones
    aligned to ``align``): on threads when ``parallel`` (and, for kernels that call BLAS, when
    BLAS can be pinned to one thread per call), else once over all rows. Results in row
    order."""
    if not parallel or N_THREADS < 2 or n < 2:
        return [work(0, n)]
    limit = blas_single_thread() if uses_blas else nullcontext()
    if limit is None:
        return [work(0, n)]
    ranges = ranges or split_rows(n, N_THREADS, align)
    with limit:
        return list(_pool().map(lambda r: work(*r), ranges))


def strides(A: np.ndarray) -> tuple[int, int]:
    """Element strides of a 2-D float64 array."""
    return A.strides[0] // 8, A.strides[1] // 8


def as_kernel_input(A: np.ndarray) -> np.ndarray:
    """A native float64 2-D array whose strides are whole elements (a view when possible)."""
    if A.dtype != np.float64 or not A.dtype.isnative or any(s % 8 for s in A.strides):
        return np.ascontiguousarray(A, dtype=np.float64)
    return A


def kernels_info() -> dict[str, Any]:
    """Which kernels run: ``{"compiled": bool, "threads": int, "blas": [...]}`` (the BLAS
    libraries loaded, from threadpoolctl when installed)."""
    info: dict[str, Any] = {"compiled": C is not None, "threads": N_THREADS,
                            "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE")}
    try:
        from threadpoolctl import threadpool_info
        info["blas"] = [{k: d.get(k) for k in ("filepath", "internal_api", "architecture",
                                                 "num_threads", "version")}
                        for d in threadpool_info() if d.get("user_api") == "blas"]
    except ImportError:  # pragma: no cover
        info["blas"] = []
    return info


def pointers(*arrays: np.ndarray | None) -> Sequence[int | None]:
    return [None if a is None else a.ctypes.data for a in arrays]
