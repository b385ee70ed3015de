"""Arrays from other libraries: the Array API standard (PyTorch, JAX, CuPy, array-api-strict).

NumPy input never comes here: :func:`is_foreign` is a type check of a few nanoseconds, and
everything NumPy-shaped (ndarrays, lists, pandas objects, dask collections) keeps the NumPy
kernels of :mod:`mahalanobis._linalg`. An array of another library ("foreign") is computed on
in its own namespace and on its own device, through ``array_api_compat.array_namespace``,
and results come back in that namespace, on that device, in its floating dtype:

- dtype rules (:func:`result_dtype`, :func:`work_dtype`): float32 input gives float32
  distances; integer and boolean input, the default float dtype of the device. Scatter
  matrices are accumulated and factored in the *work* dtype, float64 wherever the device has
  it (not on JAX without ``jax_enable_x64``, Apple's MPS, or array-api-strict's
  ``"no_float64"`` device: there float32).
- linear algebra through the namespace's ``linalg`` extension: :func:`cholesky` keeps the
  package's one singularity rule (a failed factorisation, a factor with NaN -- JAX and CuPy
  return NaN instead of raising -- or a correlation-form reciprocal condition number below
  ``p * eps``), with the rank and smallest eigenvalue in the error as for NumPy input;
  triangular solves use the library's own ``solve_triangular`` (PyTorch, JAX, CuPy) and fall
  back to the standard's general ``linalg.solve`` where a namespace has none
  (:func:`inverse_triangular`).
- kernels (:func:`sq_norms`, :func:`whiten_rows`, :func:`pairwise_sq`, :func:`comoments`)
  work chunk by chunk with bounded temporaries, never leave the device, and never write into
  their input (JAX arrays are immutable: results are assembled with ``concat``).
- only scalars cross to the host on the hot path (a threshold, a "was anything NaN?" flag);
  p x p matrices cross only on error paths (to report the rank of a singular scatter).

A function that has no Array API path raises :func:`unsupported` (a ``TypeError`` naming the
function and saying how to convert), instead of silently copying device data to the host.

This module imports nothing of the package except the core kernels and error types.
"""

from __future__ import annotations

import importlib
import math
import sys
from contextlib import nullcontext
from types import ModuleType
from typing import Any

import numpy as np

from .errors import SingularCovarianceError

__all__ = [
    "CHUNK_BYTES_ACCELERATOR",
    "CHUNK_BYTES_CPU",
    "Factor",
    "add_diagonal",
    "check_dtype",
    "chi2_sf",
    "cholesky",
    "chunk_rows",
    "comoments",
    "context",
    "device_of",
    "has_float64",
    "inverse_triangular",
    "is_cpu",
    "is_foreign",
    "library_name",
    "matmul_precision",
    "mean_and_cov",
    "median",
    "namespace",
    "pairwise_sq",
    "result_dtype",
    "row_sq_norms",
    "rows_finite",
    "same_library",
    "scatter_and_fourth_moment",
    "sq_norms",
    "to_namespace",
    "to_numpy",
    "trace_and_fro2",
    "unsupported",
    "whiten_rows",
    "work_dtype",
]

#: Top-level modules of libraries whose arrays take the Array API path.
_FOREIGN_MODULES = frozenset({"torch", "jax", "jaxlib", "cupy", "array_api_strict", "ndonnx",
                              "mlx", "sparse"})
#: Modules whose objects are NumPy-shaped input (kept on the NumPy path).
_NUMPY_MODULES = frozenset({"numpy", "builtins", "pandas", "dask", "dask_expr", "xarray"})

#: Target bytes of one chunk temporary on a CPU device (cache-sized, like the NumPy kernels)
#: and on an accelerator (large enough that a chunk's GEMM outweighs kernel launches).
CHUNK_BYTES_CPU = 4 * 1024 * 1024
CHUNK_BYTES_ACCELERATOR = 256 * 1024 * 1024

_INSTALL = ("arrays from PyTorch, JAX, CuPy and other Array API libraries need the "
            "array-api-compat package: pip install 'mahalanobis[array-api]'")


# --------------------------------------------------------------------------- detection
def is_foreign(*objs: Any) -> bool:
    """True when any argument is an array of a non-NumPy Array API library.

    NumPy arrays, Python scalars and sequences, pandas and dask objects are not foreign. The
    check reads only the type's module name (no import, no namespace lookup), so the NumPy
    path pays a few tens of nanoseconds for it.
    """
    for x in objs:
        t = type(x)
        if t is np.ndarray or x is None:
            continue
        mod = t.__module__.partition(".")[0]
        if mod in _NUMPY_MODULES:
            continue
        if mod in _FOREIGN_MODULES or hasattr(x, "__array_namespace__"):
            return True
    return False


def _compat() -> ModuleType:
    try:
        import array_api_compat
    except ImportError:  # pragma: no cover - installed with the dev extra
        raise ImportError(_INSTALL) from None
    return array_api_compat


def namespace(*arrays: Any) -> ModuleType:
    """The Array API namespace of ``arrays`` (``array_api_compat.array_namespace``).

    Non-array arguments (None, Python scalars) are ignored. Arrays of two libraries are a
    ``TypeError`` that says to convert one of them.
    """
    compat = _compat()
    arrs = [a for a in arrays if a is not None and not isinstance(a, (int, float, bool))]
    try:
        return compat.array_namespace(*arrs)
    except TypeError as exc:
        libs = sorted({library_name(a) for a in arrs})
        raise TypeError(
            f"the arrays come from different libraries ({', '.join(libs)}): pass all of them "
            "from one library (convert with that library's asarray), e.g. torch.as_tensor(a, "
            f"device=X.device) for a PyTorch computation ({exc}).") from None


def library_name(x: Any) -> str:
    """Short name of the library an array comes from ("torch", "jax", "cupy", ...)."""
    mod = type(x).__module__.partition(".")[0]
    return {"jaxlib": "jax"}.get(mod, mod)


def same_library(xp: ModuleType, x: Any) -> bool:
    """True when the array x belongs to the namespace xp."""
    try:
        return namespace(x) is xp
    except TypeError:
        return False


def device_of(x: Any) -> Any:
    """The device an array lives on (``array_api_compat.device``)."""
    return _compat().device(x)


def is_cpu(x: Any) -> bool:
    """True for an array on a host CPU device (chunk sizes and a few fallbacks depend on it)."""
    compat = _compat()
    if compat.is_cupy_array(x):
        return False
    dev = compat.device(x)
    if compat.is_torch_array(x):
        return dev.type == "cpu"
    if compat.is_jax_array(x):
        return getattr(dev, "platform", "cpu") == "cpu"
    return True


# --------------------------------------------------------------------------- dtypes
_F64_CACHE: dict[tuple[str, ...], bool] = {}


def has_float64(xp: ModuleType, device: Any) -> bool:
    """Whether float64 arrays can be made on ``device`` (the inspection API, then a probe)."""
    key: tuple[str, ...] = (xp.__name__, str(device))
    if _native(xp) == "jax":  # float64 follows a switch that can change at run time
        key += (str(importlib.import_module("jax").config.jax_enable_x64),)
    if key not in _F64_CACHE:
        ok = False
        try:
            info = xp.__array_namespace_info__()
            ok = "float64" in info.dtypes(device=device, kind="real floating")
        except Exception:
            ok = True
        if ok:
            try:
                ok = xp.zeros(1, dtype=xp.float64, device=device).dtype == xp.float64
            except Exception:
                ok = False
        _F64_CACHE[key] = ok
    return _F64_CACHE[key]


def context(x: Any) -> tuple[ModuleType, Any, Any]:
    """(namespace, device, work dtype) of an array: where and how its statistics are computed."""
    xp = namespace(x)
    dev = device_of(x)
    return xp, dev, work_dtype(xp, dev)


def work_dtype(xp: ModuleType, device: Any) -> Any:
    """The dtype scatter matrices are accumulated and factored in: float64 where available."""
    return xp.float64 if has_float64(xp, device) else xp.float32


def check_dtype(dtype: Any, xp: ModuleType | None = None) -> str | None:
    """``dtype=`` of the Array API functions as "float32", "float64" or None (keep input's)."""
    if dtype is None:
        return None
    name = getattr(dtype, "__name__", None) or str(dtype)
    name = name.rsplit(".", 1)[-1].replace("'>", "").replace("<class '", "")
    if name in ("float32", "float64", "float", "double"):
        return {"float": "float64", "double": "float64"}.get(name, name)
    raise ValueError(f"dtype must be float32 or float64 (a name, numpy or the array library's "
                     f"dtype) or None to keep the input's floating dtype; got {dtype!r}.")


def result_dtype(xp: ModuleType, x: Any, dtype: str | None = None) -> Any:
    """Floating dtype of the results for input x: ``dtype`` when given, else float32 for
    float32 (and half-precision) input, float64 for float64 input, and the work dtype for
    integer or boolean input. float64 on a device without it is an error naming the device."""
    dev = device_of(x)
    if dtype == "float64" or (dtype is None and x.dtype == xp.float64):
        if not has_float64(xp, dev):
            raise ValueError(f"dtype=float64 was asked for but device {dev!r} of this "
                             f"{library_name(x)} array has no float64; use dtype='float32' "
                             "(or, for JAX, enable jax_enable_x64).")
        return xp.float64
    if dtype == "float32" or xp.isdtype(x.dtype, "real floating"):
        return xp.float32
    if xp.isdtype(x.dtype, ("integral", "bool")):
        return work_dtype(xp, dev)
    raise ValueError(f"X has dtype {x.dtype}; Mahalanobis distances need real numbers "
                     "(pass a real floating or integer array).")


# --------------------------------------------------------------------------- conversion
def to_numpy(x: Any) -> np.ndarray:
    """A host NumPy copy of any array (device transfers included)."""
    if isinstance(x, np.ndarray):
        return x
    compat = _compat()
    if compat.is_torch_array(x):
        return x.detach().cpu().numpy()
    if compat.is_cupy_array(x):
        return x.get()
    try:
        return np.asarray(x)
    except (TypeError, ValueError, RuntimeError):  # not on the host: move it there first
        xp = namespace(x)
        host = xp.__array_namespace_info__().default_device()
        return np.asarray(compat.to_device(x, host))


def to_namespace(a: Any, xp: ModuleType, device: Any, dtype: Any = None) -> Any:
    """``a`` (a NumPy array or an array of any library) in namespace xp on ``device``.

    Within one library this is ``asarray`` plus ``to_device``; across libraries it goes
    through a host NumPy copy. Used for p-sized and p x p operands (centres, factors), never
    for data.
    """
    compat = _compat()
    if not isinstance(a, np.ndarray) and is_foreign(a) and same_library(xp, a):
        if device_of(a) != device:
            a = compat.to_device(a, device)
        return a if dtype is None or a.dtype == dtype else xp.astype(a, dtype)
    host = to_numpy(a)
    if not host.flags.writeable:  # read-only results of the package: some libraries warn
        host = np.array(host)
    return xp.asarray(host, dtype=dtype, device=device)


# --------------------------------------------------------------------------- errors
#: Public entry points that take Array API input (named in the error for the others).
SUPPORTED = ("mh.distance, mh.pairwise, mh.whiten, mh.Metric (distance, pvalue, outliers, "
             "whiten, pairwise), mh.fit with method='empirical', 'ledoit_wolf', 'oas' or "
             "'ridge', ml.MahalanobisOOD and OnlineMetric.partial_fit")


def _caller_name() -> str:
    """Name of the outermost function of this package on the stack: the one the user called."""
    frame: Any = sys._getframe(1)
    name = None
    while frame is not None:
        mod = frame.f_globals.get("__name__", "")
        if mod.startswith("mahalanobis.") and not mod.startswith(
                ("mahalanobis._deprecation", "mahalanobis._validation",
                 "mahalanobis._array_api")):
            code = frame.f_code
            qual = getattr(code, "co_qualname", code.co_name)
            name = qual.replace(".__init__", "")
        frame = frame.f_back
    return f"{name}()" if name else "this function"


def unsupported(x: Any, argument: str = "X", what: str | None = None) -> TypeError:
    """The error for a foreign array given to a function without an Array API path.

    It names the function (``what``, else the outermost function of the package on the
    stack), the argument and the library, and says how to convert: the package never copies
    device data to the host behind the user's back.
    """
    lib = library_name(x)
    func = what or _caller_name()
    how = {"torch": f"{argument}.detach().cpu().numpy()", "cupy": f"cupy.asnumpy({argument})"
           }.get(lib, f"numpy.asarray({argument})")
    return TypeError(
        f"{func} has no Array API path: it takes NumPy arrays, not the {lib} array given as "
        f"{argument}. Convert it to NumPy first ({how}) and the results back if needed. "
        f"Functions that take {lib} arrays directly: {SUPPORTED}.")


# --------------------------------------------------------------------------- linear algebra
def _native(xp: ModuleType) -> str:
    compat = _compat()
    for name, test in (("torch", compat.is_torch_namespace), ("jax", compat.is_jax_namespace),
                       ("cupy", compat.is_cupy_namespace), ("numpy", compat.is_numpy_namespace)):
        if test(xp):
            return name
    return "other"


def _solve_triangular(xp: ModuleType) -> Any:
    """The library's triangular solver as f(T, B, lower) -> T^-1 B, or None (a gap)."""
    lib = _native(xp)
    if lib == "torch":
        torch = importlib.import_module("torch")
        return lambda T, B, lower: torch.linalg.solve_triangular(T, B, upper=not lower)
    if lib == "jax":
        jsl = importlib.import_module("jax.scipy.linalg")
        return lambda T, B, lower: jsl.solve_triangular(T, B, lower=lower)
    if lib == "cupy":  # pragma: no cover - needs a GPU
        csl = importlib.import_module("cupyx.scipy.linalg")
        return lambda T, B, lower: csl.solve_triangular(T, B, lower=lower)
    if lib == "numpy":
        from scipy.linalg import solve_triangular
        return lambda T, B, lower: solve_triangular(T, B, lower=lower, check_finite=False)
    return None


def inverse_triangular(xp: ModuleType, T: Any, lower: bool = True) -> Any:
    """T^-1 for a nonsingular triangular T, by the library's triangular solve against I.

    The standard has no triangular solve; where a namespace lacks one (array-api-strict) the
    general ``linalg.solve`` is used (LU with partial pivoting: on a triangular matrix it
    pivots on the diagonal, so its backward error is that of the triangular solve). The result
    is exactly triangular (the other triangle is zeroed).
    """
    p = T.shape[0]
    eye = xp.eye(p, dtype=T.dtype, device=device_of(T))
    solve = _solve_triangular(xp)
    W = xp.linalg.solve(T, eye) if solve is None else solve(T, eye, lower)
    return xp.tril(W) if lower else xp.triu(W)


def _rcond_exact(xp: ModuleType, L: Any, W: Any) -> float:
    """Reciprocal 1-norm condition number of the correlation form R of S = L L^T, exactly.

    With d = sqrt(diag S), R = (D^-1 L)(D^-1 L)^T and R^-1 = (W D)^T (W D) for W = L^-1: one
    p x p product on the device instead of LAPACK's ``dpocon`` estimate (which is a lower bound
    of ||R^-1||_1: the exact value can only be smaller, i.e. stricter, than the NumPy path's).
    """
    if L.shape[0] == 1:
        return 1.0
    d = xp.sqrt(xp.sum(L * L, axis=1))
    LR = L / d[:, None]
    R = LR @ LR.T
    WD = W * d[None, :]
    Rinv = WD.T @ WD
    nr = xp.max(xp.sum(xp.abs(R), axis=0))
    ni = xp.max(xp.sum(xp.abs(Rinv), axis=0))
    value = float(1.0 / (nr * ni))
    return value if math.isfinite(value) else 0.0


def cholesky(S: Any, name: str = "cov") -> tuple[Any, Any, float]:
    """Lower Cholesky factor L of S, its inverse W = L^-1 and the rcond of S's correlation form.

    The package's one singularity rule, as :func:`mahalanobis._linalg.cholesky` applies it to
    NumPy input: a factorisation that fails, a factor with non-finite entries (JAX and CuPy
    return NaN for a matrix that is not positive definite), or a reciprocal condition number
    below ``p * eps`` (eps of S's dtype) raise :class:`SingularCovarianceError` with the
    numerical rank and smallest eigenvalue (computed on a host copy of S: error path only).
    """
    xp = namespace(S)
    p = S.shape[0]
    try:
        L = xp.linalg.cholesky(S)
        ok = bool(xp.all(xp.isfinite(L)))
    except Exception as exc:
        if type(exc).__name__ not in ("LinAlgError", "RuntimeError", "_LinAlgError",
                                      "ValueError"):
            raise
        ok = False
    if not ok:
        raise _singular(S, name, "not positive definite")
    if bool(xp.any(xp.linalg.diagonal(L) <= 0)):
        raise _singular(S, name, "not positive definite")
    W = inverse_triangular(xp, L, lower=True)
    rcond = _rcond_exact(xp, L, W)
    if rcond < p * float(xp.finfo(S.dtype).eps):
        raise _singular(S, name, "singular to working precision")
    return L, W, rcond


def _singular(S: Any, name: str, what: str) -> SingularCovarianceError:
    from ._linalg import _singular_error
    host = to_numpy(S).astype(float)
    return _singular_error((host + host.T) / 2, name, what)


# --------------------------------------------------------------------------- kernels
def chunk_rows(x: Any, p: int) -> int:
    """Rows per chunk for an (n, p) array x: about 4 MiB per chunk temporary on a CPU, 256 MiB
    on an accelerator."""
    itemsize = 8 if "64" in str(x.dtype) else 4
    budget = CHUNK_BYTES_CPU if is_cpu(x) else CHUNK_BYTES_ACCELERATOR
    return int(max(256, budget // (itemsize * max(p, 1))))


def matmul_precision(xp: ModuleType) -> Any:
    """A context giving full float32 precision to matrix products: JAX may otherwise use
    reduced-precision passes (TF32, bfloat16) for float32 on GPUs and TPUs."""
    if _native(xp) == "jax":
        jax = importlib.import_module("jax")
        return jax.default_matmul_precision("highest")
    return nullcontext()


class Factor:
    """A centre and a triangular whitening matrix W (W^T W = S^-1) in one namespace, on one
    device, in one dtype: what a batch of distances needs. Built once per (library, device,
    dtype) and cached by :class:`~mahalanobis.Metric`."""

    __slots__ = ("W", "W_lower", "center", "xp", "zero_center")

    def __init__(self, xp: ModuleType, center: Any, W: Any, W_lower: bool) -> None:
        self.xp, self.center, self.W, self.W_lower = xp, center, W, W_lower
        #: A zero centre (pairwise shifts, the OOD metric) saves the centring pass.
        self.zero_center = not bool(xp.any(center != 0))

    def centred(self, X: Any) -> Any:
        return X if self.zero_center else X - self.center


def row_sq_norms(xp: ModuleType, Z: Any) -> Any:
    """Squared l2 norms of the rows of Z (``vecdot``: no n x p temporary)."""
    return xp.vecdot(Z, Z, axis=-1)


def rows_finite(xp: ModuleType, X: Any) -> Any:
    """Boolean (n,) mask of rows of X with only finite values.

    One reduction (row sums) answers for almost every row without an n x p boolean
    temporary; only rows whose sum is not finite (a NaN or inf, or a float32 overflow) are
    looked at entry by entry."""
    ok = xp.isfinite(xp.sum(X, axis=1))
    if bool(xp.all(ok)):
        return ok
    return xp.all(xp.isfinite(X), axis=1)


def sq_norms(f: Factor, X: Any) -> Any:
    """||W (x_i - c)||^2 for every row of X, chunk by chunk: one centring and one GEMM per
    chunk on X's device, in the factor's dtype (the caller casts X to it). X is not modified.
    """
    xp = f.xp
    n, p = X.shape
    if n == 0:
        return xp.zeros(0, dtype=f.W.dtype, device=device_of(X))
    rows = chunk_rows(X, p)
    Wt = f.W.T
    parts = []
    with matmul_precision(xp):
        for s in range(0, n, rows):
            Z = f.centred(X[s:min(n, s + rows), :]) @ Wt
            parts.append(row_sq_norms(xp, Z))
    return parts[0] if len(parts) == 1 else xp.concat(parts)


def whiten_rows(f: Factor, X: Any) -> Any:
    """Rows W (x_i - c), shape (n, p), computed chunk by chunk (one GEMM each)."""
    xp = f.xp
    n, p = X.shape
    rows = chunk_rows(X, p)
    Wt = f.W.T
    with matmul_precision(xp):
        parts = [f.centred(X[s:min(n, s + rows), :]) @ Wt for s in range(0, n, rows)]
    if not parts:
        return xp.zeros((0, p), dtype=f.W.dtype, device=device_of(X))
    return parts[0] if len(parts) == 1 else xp.concat(parts, axis=0)


#: Pairs whose expansion ||a||^2 + ||b||^2 - 2 a.b is below this fraction of
#: ||a||^2 + ||b||^2 are recomputed directly (as in the NumPy kernel); float32 cancels sooner,
#: so there the threshold is scaled by eps32 / eps64.
NEAR_PAIR_RTOL = 1e-6


def pairwise_sq(xp: ModuleType, ZA: Any, ZB: Any | None) -> Any:
    """Squared Euclidean distances between the rows of whitened sets (ZB None: ZA with itself).

    The expansion ||a||^2 + ||b||^2 - 2 a.b by one GEMM, clamped at 0; entries where it
    cancels (close pairs) are recomputed as ||a - b||^2 from the rows themselves, so every
    entry keeps its relative accuracy; the self-distance matrix is symmetrised with a zero
    diagonal. Works on immutable arrays (JAX): the corrections are merged with ``where``.
    """
    symmetric = ZB is None
    ZB_: Any = ZA if symmetric else ZB
    na2 = row_sq_norms(xp, ZA)
    nb2 = na2 if symmetric else row_sq_norms(xp, ZB_)
    with matmul_precision(xp):
        G = ZA @ ZB_.T
    scale = na2[:, None] + nb2[None, :]
    D = scale - 2.0 * G
    rtol = NEAR_PAIR_RTOL * (1.0 if ZA.dtype == xp.float64 else
                             float(xp.finfo(xp.float32).eps / xp.finfo(xp.float64).eps))
    near = D < min(rtol, 0.5) * scale
    if symmetric:
        near = near & ~xp.eye(D.shape[0], dtype=xp.bool, device=device_of(D))
    if bool(xp.any(near)):
        ii, jj = xp.nonzero(near)
        diff = xp.take(ZA, ii, axis=0) - xp.take(ZB_, jj, axis=0)
        exact = xp.sum(diff * diff, axis=1)
        D = _put(xp, D, near, exact)
    D = xp.clip(D, min=0.0) if hasattr(xp, "clip") else xp.where(D > 0, D, 0.0)
    if symmetric:
        D = 0.5 * (D + D.T)
        D = xp.where(xp.eye(D.shape[0], dtype=xp.bool, device=device_of(D)),
                     xp.zeros((), dtype=D.dtype, device=device_of(D)), D)
    return D


def _put(xp: ModuleType, a: Any, mask: Any, values: Any) -> Any:
    """a with a[mask] = values (row-major order of the True entries), for mutable arrays in
    place and for JAX through ``.at[].set``."""
    if _native(xp) == "jax":
        return a.at[mask].set(values)
    a[mask] = values
    return a


def comoments(X: Any, dtype: Any, center: Any = None) -> tuple[Any, Any]:
    """Centre and co-moment matrix sum (x - c)(x - c)^T of X, accumulated in ``dtype``.

    The corrected two-pass algorithm of :func:`mahalanobis._linalg.comoments` (Chan, Golub &
    LeVeque 1983), chunk by chunk on X's device: pass 1 sums the rows (unless ``center`` is
    given), pass 2 adds B^T B for each centred chunk B (cast to ``dtype`` first, so float32
    data are accumulated in float64 where the device has it) and s = sum B; the mean is then
    corrected by s / n and s s^T / n subtracted, so a large common offset costs no accuracy.
    """
    center, M, _ = _comoment_pass(X, dtype, center, fourth=False)
    return center, M


def scatter_and_fourth_moment(X: Any, assume_centered: bool, fourth: bool = True
                              ) -> tuple[Any, Any, float]:
    """Centre, biased scatter S = M / n and q4 = sum_k ||x_k - m||^4 of X, in the work dtype
    of X's device: the Array API twin of the Ledoit-Wolf pass of
    :mod:`mahalanobis.covariance.shrinkage` (one extra O(n p) reduction per chunk for q4)."""
    xp, dev, wd = context(X)
    center = xp.zeros(X.shape[1], dtype=wd, device=dev) if assume_centered else None
    center, M, q4 = _comoment_pass(X, wd, center, fourth=fourth)
    S = M / X.shape[0]
    return center, (S + S.T) / 2, q4


def _comoment_pass(X: Any, dtype: Any, center: Any, fourth: bool) -> tuple[Any, Any, float]:
    xp = namespace(X)
    n, p = X.shape
    rows = chunk_rows(X, p)
    dev = device_of(X)
    estimated = center is None
    q4 = xp.zeros((), dtype=dtype, device=dev)
    with matmul_precision(xp):
        if estimated:
            total = xp.zeros(p, dtype=dtype, device=dev)
            for s in range(0, n, rows):
                total = total + xp.sum(xp.astype(X[s:min(n, s + rows), :], dtype), axis=0)
            center = total / n
        acc = xp.zeros((p, p), dtype=dtype, device=dev)
        resid = xp.zeros(p, dtype=dtype, device=dev)
        for s in range(0, n, rows):
            B = xp.astype(X[s:min(n, s + rows), :], dtype) - center
            acc = acc + B.T @ B
            resid = resid + xp.sum(B, axis=0)
            if fourth:
                r = xp.sum(B * B, axis=1)
                q4 = q4 + xp.sum(r * r)
    if estimated:
        acc = acc - resid[:, None] * resid[None, :] / n
        center = center + resid / n
    return center, (acc + acc.T) / 2, float(q4)


def add_diagonal(S: Any, value: float) -> Any:
    """S + value * I as a new array (NumPy or any Array API namespace)."""
    if not is_foreign(S):
        C = np.array(S, dtype=float)
        C.flat[:: C.shape[0] + 1] += value
        return C
    xp = namespace(S)
    return S + value * xp.eye(S.shape[0], dtype=S.dtype, device=device_of(S))


def trace_and_fro2(S: Any) -> tuple[float, float]:
    """trace(S) and ||S||_F^2 as Python floats (two reductions; only the scalars leave the
    device)."""
    if not is_foreign(S):
        return float(np.trace(S)), float(np.sum(S * S))
    xp = namespace(S)
    return float(xp.sum(xp.linalg.diagonal(S))), float(xp.sum(S * S))


def chi2_sf(xp: ModuleType, d2: Any, df: int) -> Any:
    """Upper-tail chi-squared probabilities P(chi2_df >= d2) in d2's namespace and dtype.

    chi2.sf(x, k) = Q(k/2, x/2), the regularised upper incomplete gamma function, which
    PyTorch (``torch.special.gammaincc``), JAX and CuPy (``scipy.special.gammaincc``) compute
    on the device. The standard has no special functions: for other namespaces the values
    go through SciPy on the host (a documented gap; array-api-strict is on the CPU anyway).
    """
    lib = _native(xp)
    a = 0.5 * df
    if lib == "torch":
        torch = importlib.import_module("torch")
        return torch.special.gammaincc(torch.full_like(d2, a), 0.5 * d2)
    if lib == "jax":
        jsp = importlib.import_module("jax.scipy.special")
        return jsp.gammaincc(a, 0.5 * d2)
    if lib == "cupy":  # pragma: no cover - needs a GPU
        csp = importlib.import_module("cupyx.scipy.special")
        return csp.gammaincc(a, 0.5 * d2)
    from scipy import stats
    host = stats.chi2.sf(to_numpy(d2), df)
    return xp.asarray(host, dtype=d2.dtype, device=device_of(d2))


def mean_and_cov(X: Any, center: Any = None, ddof: int = 1) -> tuple[Any, Any]:
    """Centre and scatter (divisor n - ddof) of X from :func:`comoments`, in the work dtype of
    X's device (float64 where it has it); the Array API twin of
    :func:`mahalanobis._linalg.mean_and_cov`."""
    xp = namespace(X)
    center, M = comoments(X, work_dtype(xp, device_of(X)), center)
    return center, M / (X.shape[0] - ddof)


def median(X: Any) -> Any:
    """Column medians of X (the mean of the two middle values for even n), in the work dtype:
    the standard has no median, so by one sort along the rows on X's device."""
    xp = namespace(X)
    n = X.shape[0]
    Xs = xp.sort(xp.astype(X, work_dtype(xp, device_of(X))), axis=0)
    mid = n // 2
    return Xs[mid, :] if n % 2 else (Xs[mid - 1, :] + Xs[mid, :]) / 2
