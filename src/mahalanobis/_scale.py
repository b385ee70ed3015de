"""Robust univariate scales, as R's robustbase 0.95-0 computes them: Qn, Sn, scaleTau2, MAD.

* :func:`qn` -- Rousseeuw & Croux (1993), the k-th order statistic of the pairwise distances
  |x_i - x_j| (i < j), k = C(floor(n/2) + 1, 2), times 2.21914 and a finite-sample factor. It
  is found in O(n log n) time and O(n) memory by the selection algorithm of Croux & Rousseeuw
  (1992, "Time-efficient algorithms for two highly robust estimators of scale"), the algorithm
  of robustbase's ``qn_sn.c`` (after Johnson & Mizoguchi 1978): a weighted high median of the
  row medians of the implicit sorted matrix y_i - y_j splits the candidates until at most n
  remain. Every count of that search is vectorised over the rows.
* :func:`sn` -- Rousseeuw & Croux (1993), lomed_i himed_j |x_i - x_j| times 1.1926 and a
  finite-sample factor; each inner high median is the r-th smallest of two sorted lists, found
  by a bisection vectorised over i (O(n log n)).
* :func:`scale_tau2` -- Maronna & Zamar (2002), the tau-scale of robustbase ``scaleTau2``;
  :func:`tau2_rows` is the same for every row of a matrix (the kernel of OGK).
* :func:`mad` -- the median absolute deviation, R's ``mad`` (constant 1.4826).

These are the core's kernels: no dependence on the rest of the package but the error types.
"""

from __future__ import annotations

import functools
import math
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import ArrayLike
from scipy import special, stats

from . import _kernels
from ._validation import check_bool, check_fraction, check_int, check_nan_policy

__all__ = ["LocationScale", "mad", "median_rows", "qn", "qn_columns", "scale_tau2", "select_rows",
           "sn", "tau2_rows"]

#: 1 / (sqrt(2) Phi^-1(5/8)) rounded to 6 digits, robustbase's Qn constant.
QN_CONSTANT = 2.21914
#: 1 / (c Phi^-1(3/4)) with c the asymptotic lomed/himed factor, rounded, robustbase's Sn constant.
SN_CONSTANT = 1.1926
#: R's rounded MAD constant 1 / Phi^-1(3/4).
MAD_CONSTANT = 1.4826

_QN_SMALL = (0.399356, 0.99365, 0.51321, 0.84401, 0.6122, 0.85877, 0.66993, 0.87344,
             0.72014, 0.88906, 0.75743)
_SN_SMALL = (0.743, 1.851, 0.954, 1.351, 0.993, 1.198, 1.005, 1.131)


class LocationScale(NamedTuple):
    """A location and a scale estimate of one sample."""

    location: float
    scale: float


def _as_sample(x: ArrayLike, name: str, nan_policy: str) -> np.ndarray | None:
    """A 1-D float array; None when ``nan_policy="propagate"`` meets a NaN (result NaN)."""
    check_nan_policy(nan_policy, ("raise", "omit", "propagate"))
    a = np.asarray(x, dtype=float)
    if a.ndim != 1:
        a = np.squeeze(a)
        if a.ndim != 1:
            raise ValueError(f"{name} must be 1-D (one sample); got shape {np.shape(x)}. Apply "
                             "the scale to each column, e.g. np.apply_along_axis(f, 0, X).")
    bad = ~np.isfinite(a)
    if bad.any():
        if nan_policy == "raise":
            raise ValueError(f"{name} has {int(bad.sum())} NaN or infinite value(s); pass "
                             "nan_policy='omit' to drop them.")
        if nan_policy == "propagate":
            return None
        a = a[~bad]
    if a.size == 0:
        what = " after dropping NaN and infinite values" if bad.any() else ""
        raise ValueError(f"{name} is empty{what}; a scale needs at least one value.")
    return a


def _no_pairs(a: np.ndarray | None) -> float:
    """Qn and Sn of a sample with no pair of values: 0 for one value, NaN for a NaN that
    ``nan_policy="propagate"`` met (or no value)."""
    return 0.0 if a is not None and a.size == 1 else float("nan")


# --------------------------------------------------------------------------- Qn
def _whimed(a: np.ndarray, w: np.ndarray) -> float:
    """Weighted high median: the smallest a_j with sum(w_i : a_i <= a_j) > sum(w) / 2
    (robustbase ``whimed_i``)."""
    order = np.argsort(a, kind="stable")
    cw = np.cumsum(w[order])
    return float(a[order][int(np.argmax(2 * cw > cw[-1]))])


def _round32(v: np.ndarray) -> np.ndarray:
    return v.astype(np.float32).astype(float)


def _count_rows(y: np.ndarray, trial: float, greater: bool, cast: bool) -> np.ndarray:
    """For every i, #{m : c(y_i - y_m) < trial} (``greater=False``) or #{m : c(y_i - y_m) >
    trial} (``greater=True``), with c the single-precision rounding of qn_sn.c when ``cast``.

    For fixed i the first set is a suffix of m and the second a prefix (y is sorted). Its
    boundary is located by searchsorted on y_i - trial up to a margin that covers every
    rounding, then fixed exactly by a bisection on the rounded differences themselves."""
    n = y.size
    i = np.arange(n)
    big = 2.0 * float(np.max(np.abs(y))) + abs(trial)
    margin = big * (2.0 ** -21 if cast else 2.0 ** -49) + 1e-300
    t = y - trial
    lo = np.searchsorted(y, t - margin, side="left")
    hi = np.searchsorted(y, t + margin, side="right")

    def pred(m: np.ndarray, rows: np.ndarray) -> np.ndarray:
        v = y[rows] - y[m]
        if cast:
            v = _round32(v)
        return v < trial if not greater else ~(v > trial)

    # first index in [lo, hi] where pred holds (pred is false below, true above)
    act = np.flatnonzero(lo < hi)
    while act.size:
        mid = (lo[act] + hi[act]) // 2
        ok = pred(mid, i[act])
        hi[act] = np.where(ok, mid, hi[act])
        lo[act] = np.where(ok, lo[act], mid + 1)
        act = act[lo[act] < hi[act]]
    return (n - lo) if not greater else lo


def _qn_order_statistic(y: np.ndarray, k: int, cast: bool) -> float:
    """k-th smallest (1-based) of y_j - y_i over i < j, for sorted y: robustbase's ``qn0``
    (compiled when the kernels are built: the same steps, ~100x faster at n = 1000)."""
    lib = _kernels.C
    if lib is not None and y.size >= 2:
        r = _qn_compiled(lib, y, k, cast)
        if r is not None:
            return r
    return _qn_order_statistic_numpy(y, k, cast)


def _qn_compiled(lib: Any, y: np.ndarray, k: int, cast: bool) -> float | None:
    n = y.size
    y = np.ascontiguousarray(y, dtype=float)
    iwork = np.empty(4 * n, dtype=np.int64)
    dwork = np.empty(2 * n)
    cap = min(n * n, 8 * n + 64)
    cand = np.empty(cap)
    ncand = np.zeros(1, dtype=np.int64)
    kfinal = np.zeros(1, dtype=np.int64)
    out = np.zeros(1)
    rc = lib.mh_qn0(*_kernels.pointers(y), n, k, int(cast),
                    *_kernels.pointers(iwork, dwork, cand), cap,
                    *_kernels.pointers(ncand, kfinal, out))
    if rc == 1:
        return float(out[0])
    if rc == 0:
        c = cand[: int(ncand[0])]
        return float(np.partition(c, int(kfinal[0]))[int(kfinal[0])])
    return None  # pragma: no cover - more final candidates than expected


def _qn_order_statistic_numpy(y: np.ndarray, k: int, cast: bool) -> float:
    """The numpy schedule of :func:`_qn_order_statistic`."""
    n = y.size
    nl, nr = n * (n + 1) // 2, n * n
    knew = k + nl
    h = n // 2 + 1
    k_l = int(5 - 1.75 * (n % 2) + (0.3939 - 0.0067 * (n % 2)) * (n * (n - 1)))
    i = np.arange(n)
    left = n - i + 1
    right = np.full(n, n) if k >= k_l else np.where(i <= h, n, n - (i - h))
    while nr - nl > n:
        rows = i[1:][left[1:] <= right[1:]]
        weight = right[rows] - left[rows] + 1
        work = y[rows] - y[n - (left[rows] + weight // 2)]
        if cast:  # qn_sn.c: work[j] = (float)(y[i] - y[n - jh])
            work = _round32(work)
        trial = _whimed(work, weight)
        p = _count_rows(y, trial, False, cast)
        q = n + 1 - _count_rows(y, trial, True, cast)
        sump, sumq = int(p.sum()), int((q - 1).sum())
        if knew <= sump:
            right, nr = p, sump
        elif knew > sumq:
            left, nl = q, sumq
        else:
            return trial
    lengths = np.maximum(right[1:] - left[1:] + 1, 0)
    rows = np.repeat(i[1:], lengths)
    starts = np.cumsum(lengths) - lengths
    jj = np.repeat(left[1:], lengths) + (np.arange(rows.size) - np.repeat(starts, lengths))
    work = y[rows] - y[n - jj]
    knew = min(max(knew - (nl + 1), 0), work.size - 1)
    return float(np.partition(work, knew)[knew])


def qn(x: ArrayLike, *, k: int | None = None, finite_correction: bool | None = None,
       exact: bool = True, nan_policy: str = "raise") -> float:
    """The Qn scale of Rousseeuw & Croux (1993), as robustbase's ``Qn``.

    Qn = 2.21914 * Q0 * f_n, Q0 the k-th smallest of the n(n-1)/2 distances |x_i - x_j|,
    i < j, with k = C(floor(n/2) + 1, 2) (about the first quartile), and f_n robustbase's
    finite-sample factor. 50% breakdown point, 82% Gaussian efficiency, no symmetry assumed.

    Parameters
    ----------
    x : array-like of shape (n,)
        The sample.
    k : int, optional
        Which order statistic (1-based). A non-default k uses the constant
        1 / (sqrt(2) Phi^-1(((k - 1/2) / C(n, 2) + 1) / 2)) and no finite-sample factor, as
        robustbase.
    finite_correction : bool, optional
        Apply f_n (default: when k is the default).
    exact : bool
        True (default): Q0 is the exact order statistic. False reproduces robustbase 0.95-0's
        C code bit for bit, which rounds the differences of its search to single precision
        and can return Q0 rounded to float32 (relative change below 6e-8).
    nan_policy : {"raise", "omit", "propagate"}

    Returns
    -------
    float
        0 for n = 1, NaN for n = 0.

    Raises
    ------
    ValueError
        For NaN with ``nan_policy="raise"``, a 2-D x, or k outside [1, n(n-1)/2].

    See Also
    --------
    sn, scale_tau2, mad

    Notes
    -----
    Rousseeuw, P. J. & Croux, C. (1993), Alternatives to the median absolute deviation, JASA
    88:1273-1283. The O(n log n) selection is that of Croux & Rousseeuw (1992), Computational
    Statistics 1:411-428, as in robustbase's ``qn_sn.c``: nothing of size n^2 is formed.
    f_n is tabulated for n <= 12 and 1 / (1 + a/n + b/n^2 + ...) above (robustbase
    ``Qn.finite.c``).

    Examples
    --------
    >>> import numpy as np
    >>> from mahalanobis.covariance import qn
    >>> x = np.random.default_rng(0).standard_normal(1000)
    >>> round(qn(x), 6)
    0.967867
    >>> qn([1.0, 2.0, 4.0, 7.0, 100.0]) < 10     # the outlier does not inflate it
    True
    """
    exact = check_bool(exact, "exact")
    if finite_correction is not None:
        finite_correction = check_bool(finite_correction, "finite_correction")
    if k is not None:
        k = check_int(k, "k", 1, "the order statistic of the pairwise distances")
    a = _as_sample(x, "x", nan_policy)
    if a is None or a.size < 2:
        return _no_pairs(a)
    n = a.size
    h = n // 2 + 1
    default_k = h * (h - 1) // 2
    n_pairs = n * (n - 1) // 2
    if k is None:
        k = default_k
    elif isinstance(k, bool) or int(k) != k or not 1 <= k <= n_pairs:
        raise ValueError(f"k must be an integer in [1, n(n-1)/2 = {n_pairs}]; got {k!r}.")
    k = int(k)
    dflt = k == default_k
    if finite_correction is None:
        finite_correction = dflt
    constant = QN_CONSTANT if dflt else \
        1.0 / (math.sqrt(2.0) * stats.norm.ppf(((k - 0.5) / n_pairs + 1.0) / 2.0))
    y = np.sort(a)
    # far from unit scale, work on y times a power of two (exact): robustbase's float casts
    # (exact=False) would underflow below 1e-38, and the search's margins assume a scale
    top = float(np.max(np.abs(y)))
    unit = 2.0 ** -math.floor(math.log2(top)) if top > 0 and not 2**-30 < top < 2**30 else 1.0
    r = constant * _qn_order_statistic(y * unit, k, not exact) / unit
    if not finite_correction:
        return float(r)
    return float(_qn_finite_sample(r, n))


def _qn_finite_sample(r: Any, n: int) -> Any:
    """Qn's finite-sample correction f_n applied to r (robustbase ``Qn.finite.c``)."""
    if n <= 12:
        return r * _QN_SMALL[n - 2]
    if n % 2:
        c = (1.60188 + (-2.1284 - 5.172 / n) / n) / n + 1.0
    else:
        c = (3.67561 + (1.9654 + (6.987 - 77.0 / n) / n) / n) / n + 1.0
    return r / c


def qn_columns(A: np.ndarray, *, exact: bool = True) -> np.ndarray:
    """``qn(A[:, j])`` (default k, finite-sample factor) of every column of the finite 2-D
    array A, in one compiled call when the kernels are built (no per-column Python work)."""
    n, m = A.shape
    lib = _kernels.C
    if lib is None or n < 2 or m == 0:
        return np.array([qn(A[:, j], exact=exact) for j in range(m)])
    Y = np.ascontiguousarray(np.sort(A.T, axis=1))   # (m, n), each row sorted
    h = n // 2 + 1
    cap = min(n * n, 8 * n + 64)
    out = np.empty(m)
    iwork, dwork, cand = np.empty(4 * n, dtype=np.int64), np.empty(2 * n), np.empty(cap)
    failed = lib.mh_qn0_rows(Y.ctypes.data, m, n, n, h * (h - 1) // 2, int(not exact),
                             *_kernels.pointers(iwork, dwork, cand), cap, out.ctypes.data)
    if failed:  # pragma: no cover - more final candidates than expected
        return np.array([qn(A[:, j], exact=exact) for j in range(m)])
    return np.asarray(_qn_finite_sample(QN_CONSTANT * out, n), dtype=float)


# --------------------------------------------------------------------------- Sn
def _sn_inner(y: np.ndarray) -> np.ndarray:
    """a_i = himed_j |y_i - y_j| (the floor(n/2) + 1-th smallest, j = i included) for sorted
    y: the r-th smallest (r = floor(n/2)) of the two sorted lists A_t = y_i - y_{i-1-t} and
    B_t = y_{i+1+t} - y_i, by bisection on the number a taken from A, for all i at once."""
    n = y.size
    r = n // 2
    i = np.arange(n)
    na, nb = i, n - 1 - i
    lo = np.maximum(0, r - nb)
    hi = np.minimum(r, na)

    def A(t: np.ndarray, rows: np.ndarray) -> np.ndarray:
        return y[rows] - y[np.clip(rows - 1 - t, 0, n - 1)]

    def B(t: np.ndarray, rows: np.ndarray) -> np.ndarray:
        return y[np.clip(rows + 1 + t, 0, n - 1)] - y[rows]

    act = np.flatnonzero(lo < hi)
    while act.size:
        mid = (lo[act] + hi[act]) // 2
        rows = i[act]
        # g(mid): more elements of A are needed
        g = (mid < na[act]) & (r - mid - 1 >= 0) & (A(mid, rows) < B(r - mid - 1, rows))
        lo[act] = np.where(g, mid + 1, lo[act])
        hi[act] = np.where(g, hi[act], mid)
        act = act[lo[act] < hi[act]]
    a = lo
    fa = np.where(a > 0, A(a - 1, i), -np.inf)
    fb = np.where(r - a > 0, B(r - a - 1, i), -np.inf)
    return np.maximum(fa, fb)


def sn(x: ArrayLike, *, finite_correction: bool = True, nan_policy: str = "raise") -> float:
    """The Sn scale of Rousseeuw & Croux (1993), as robustbase's ``Sn``.

    Sn = 1.1926 * lomed_i himed_j |x_i - x_j| * c_n: for each point the high median of its
    distances to all points, then the low median of those. 50% breakdown point, 58% Gaussian
    efficiency, no symmetry assumed.

    Parameters
    ----------
    x : array-like of shape (n,)
        The sample.
    finite_correction : bool
        robustbase's c_n: tabulated for n <= 9, n / (n - 0.9) for odd n, 1 for even n.
    nan_policy : {"raise", "omit", "propagate"}

    Returns
    -------
    float
        0 for n = 1, NaN for n = 0.

    Raises
    ------
    ValueError
        For NaN with ``nan_policy="raise"`` or a 2-D x.

    See Also
    --------
    qn, scale_tau2, mad

    Notes
    -----
    Rousseeuw & Croux (1993), JASA 88:1273-1283. O(n log n): each inner high median is the
    r-th smallest element of two sorted lists (the distances to the left and to the right
    neighbours), found by bisection for all points at once. Equal to the definition (and to
    robustbase's ``sn0``) bit for bit: every value is an exact difference of two inputs.

    Examples
    --------
    >>> import numpy as np
    >>> from mahalanobis.covariance import sn
    >>> x = np.random.default_rng(0).standard_normal(1000)
    >>> round(sn(x), 6)
    0.96091
    """
    finite_correction = check_bool(finite_correction, "finite_correction")
    a = _as_sample(x, "x", nan_policy)
    if a is None or a.size < 2:
        return _no_pairs(a)
    n = a.size
    a2 = _sn_inner(np.sort(a))
    k = (n + 1) // 2 - 1
    r = SN_CONSTANT * float(np.partition(a2, k)[k])
    if not finite_correction:
        return r
    if n <= 9:
        return r * _SN_SMALL[n - 2]
    return r * n / (n - 0.9) if n % 2 else r


# --------------------------------------------------------------------------- scaleTau2
@functools.lru_cache(maxsize=16)
def _tau_es2(c2: float) -> float:
    """E[min(Z, b)^2] for Z ~ N(0, 1), b = c2 Phi^-1(3/4) (robustbase ``Es2``)."""
    b = c2 * float(special.ndtri(0.75))
    phi = math.exp(-0.5 * b * b) / math.sqrt(2.0 * math.pi)
    return float(2.0 * ((1.0 - b * b) * special.ndtr(b) - b * phi + b * b) - 1.0)


def select_rows(M: np.ndarray, ks: tuple[int, ...]) -> np.ndarray:
    """The order statistics ``ks`` (0-based, increasing) of every row of M, shape
    (len(ks), rows). Long rows (n >= 40000, where ``np.partition`` runs out of cache) use a
    sampling selection: the order statistics of a fixed sample of about 4 sqrt(n) positions
    bracket the answer, one pass over all rows counts the values below the bracket and a
    partition of the few inside it finishes exactly (Floyd & Rivest 1975); a missed bracket
    falls back to ``np.partition``."""
    r, n = M.shape
    if n < 40_000:
        P = np.partition(M, ks, axis=1)
        return P[:, list(ks)].T
    s = int(4 * math.sqrt(n)) + 64
    S = np.sort(M[:, np.linspace(0, n - 1, s).astype(np.intp)], axis=1)
    d = int(2.5 * math.sqrt(s)) + 4
    lo = S[:, max(0, ks[0] * s // n - d)][:, None]
    hi = S[:, min(s - 1, -(-ks[-1] * s // n) + d)][:, None]
    below = np.count_nonzero(M < lo, axis=1)
    inside = (M >= lo) & (M <= hi)
    count = np.count_nonzero(inside, axis=1)
    vals = M[inside]                                   # the windows, row after row
    start = np.concatenate([[0], np.cumsum(count)[:-1]])
    out = np.empty((len(ks), r))
    for t in range(r):
        kk = [k - int(below[t]) for k in ks]
        if kk[0] >= 0 and kk[-1] < count[t]:
            P = np.partition(vals[start[t]:start[t] + count[t]], kk)
            out[:, t] = P[kk]
        else:
            out[:, t] = np.partition(M[t], ks)[list(ks)]
    return out


def median_rows(M: np.ndarray) -> np.ndarray:
    """R's median of every row of a 2-D array (mean of the two middle values for even
    length)."""
    m = M.shape[1]
    h = m // 2
    if m % 2:
        return select_rows(M, (h,))[0]
    lo, hi = select_rows(M, (h - 1, h))
    return (lo + hi) / 2.0


def tau2_rows(M: np.ndarray, c1: float = 4.5, c2: float = 3.0,
              consistency: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """(location, scale) of robustbase's ``scaleTau2(x, mu.too = TRUE)`` (one iteration) for
    every row x of M; a row whose MAD is 0 gets scale 0 and its median as location. Rows are
    processed in blocks of about 2 MB, with the temporaries updated in place."""
    M = np.asarray(M, dtype=float)
    m, n = M.shape
    nes2 = n * _tau_es2(c2) if consistency else float(n)
    out_mu = np.empty(m)
    out_s = np.empty(m)
    step = max(1, (1 << 18) // max(n, 1))
    for a in range(0, m, step):
        B = M[a:a + step]
        mu0 = median_rows(B)
        U = B - mu0[:, None]
        np.abs(U, out=U)
        s0 = median_rows(U)
        ok = s0 > 0
        s0_ = np.where(ok, s0, 1.0)[:, None]
        np.divide(U, s0_ * c1, out=U)          # w = max(0, 1 - (|x - mu0| / (c1 s0))^2)^2
        np.multiply(U, U, out=U)
        np.subtract(1.0, U, out=U)
        np.maximum(U, 0.0, out=U)
        np.multiply(U, U, out=U)
        mu = np.einsum("ij,ij->i", B, U) / U.sum(axis=1)
        np.subtract(B, mu[:, None], out=U)     # rho = min(((x - mu) / s0)^2, c2^2)
        np.divide(U, s0_, out=U)
        np.multiply(U, U, out=U)
        np.minimum(U, c2 * c2, out=U)
        sig = s0 * np.sqrt(U.sum(axis=1) / nes2)
        out_mu[a:a + step] = np.where(ok, mu, mu0)
        out_s[a:a + step] = np.where(ok, sig, 0.0)
    return out_mu, out_s


def scale_tau2(x: ArrayLike, *, c1: float = 4.5, c2: float = 3.0,
               consistency: bool | str = True, iterations: int | bool = 1,
               tol: float = 1e-7, return_location: bool = False,
               nan_policy: str = "raise") -> Any:
    """The tau-scale of Maronna & Zamar (2002), as robustbase's ``scaleTau2``.

    A weighted mean mu (bisquare weights with tuning ``c1`` around the median, in units of the
    raw MAD s0) and the scale s = s0 sqrt(mean(min(((x - mu)/s0)^2, c2^2)) / E), E the
    Gaussian expectation that makes it consistent. 50% breakdown point, 80% Gaussian
    efficiency; the scale of OGK (:func:`~mahalanobis.covariance.ogk`).

    Parameters
    ----------
    x : array-like of shape (n,)
        The sample.
    c1, c2 : float
        Tuning constants of the location weights and of the truncated square.
    consistency : bool or "finite_sample"
        Divide by n E (True), by (n - 2) E (robustbase's ``"finiteSample"``; +inf for n = 2)
        or by n (False).
    iterations : int or True
        Number of fixed-point steps s0 <- s (True: until |s - s0| <= tol s).
    tol : float
        Relative tolerance of the fixed-point iteration.
    return_location : bool
        Also return mu: a :class:`LocationScale` ``(location, scale)``.
    nan_policy : {"raise", "omit", "propagate"}

    Returns
    -------
    float or LocationScale
        0 (and the median) when the MAD is 0.

    Raises
    ------
    ValueError
        For NaN with ``nan_policy="raise"``, a 2-D x or ``iterations`` below 1.

    See Also
    --------
    qn, sn, mad

    Notes
    -----
    Maronna, R. A. & Zamar, R. H. (2002), Robust estimates of location and dispersion for
    high-dimensional datasets, Technometrics 44:307-317, Sect. 4. E = E[min(Z, c2 Phi^-1(3/4))^2]
    = 0.9247153921761315 for c2 = 3 (robustbase's closed form).

    Examples
    --------
    >>> import numpy as np
    >>> from mahalanobis.covariance import scale_tau2
    >>> x = np.random.default_rng(0).standard_normal(1000)
    >>> round(scale_tau2(x), 6)
    0.96049
    >>> round(scale_tau2(x, return_location=True).location, 6)
    -0.061202
    """
    if consistency not in (True, False, "finite_sample"):
        raise ValueError("consistency must be True, False or 'finite_sample'; got "
                         f"{consistency!r}.")
    if iterations is True:
        iterations = 100_000
    iterations = check_int(iterations, "iterations", 1, "or True to iterate to convergence")
    c1 = check_fraction(c1, "c1", high=np.inf)
    c2 = check_fraction(c2, "c2", high=np.inf)
    tol = check_fraction(tol, "tol", high=np.inf)
    return_location = check_bool(return_location, "return_location")
    a = _as_sample(x, "x", nan_policy)
    nan = LocationScale(float("nan"), float("nan")) if return_location else float("nan")
    if a is None or a.size == 0:
        return nan
    n = a.size
    mu0 = float(np.median(a))
    dev = np.abs(a - mu0)
    s0 = float(np.median(dev))
    if s0 <= 0:
        return LocationScale(mu0, 0.0) if return_location else 0.0
    if consistency is False:
        nes2 = float(n)
    else:
        nes2 = (n - 2 if consistency == "finite_sample" else n) * _tau_es2(c2)
    s = s0
    left = int(iterations)
    while True:
        w = np.maximum(0.0, 1.0 - (dev / (s * c1)) ** 2) ** 2
        mu = float(np.sum(a * w) / np.sum(w))
        rho = np.minimum(((a - mu) / s) ** 2, c2 * c2)
        with np.errstate(divide="ignore"):
            s_new = s * math.sqrt(float(np.sum(rho)) / nes2) if nes2 > 0 else math.inf
        left -= 1
        if left <= 0 or not np.isfinite(s_new) or abs(s_new - s) <= tol * s_new:
            break
        s = s_new
    return LocationScale(mu, s_new) if return_location else s_new


# --------------------------------------------------------------------------- MAD
def mad(x: ArrayLike, *, center: float | None = None, constant: float = MAD_CONSTANT,
        nan_policy: str = "raise") -> float:
    """Median absolute deviation, R's ``mad``: constant * median(|x - center|).

    Parameters
    ----------
    x : array-like of shape (n,)
        The sample.
    center : float, optional
        Default: the median of x.
    constant : float
        1.4826 (R's rounded 1 / Phi^-1(3/4)) makes it consistent for the normal sd.
    nan_policy : {"raise", "omit", "propagate"}

    Returns
    -------
    float
        NaN for n = 0.

    Raises
    ------
    ValueError
        For NaN with ``nan_policy="raise"`` or a 2-D x.

    See Also
    --------
    qn, sn, scale_tau2

    Notes
    -----
    Hampel (1974), JASA 69:383-393. 50% breakdown point, 37% Gaussian efficiency.

    Examples
    --------
    >>> from mahalanobis.covariance import mad
    >>> mad([1.0, 2.0, 3.0, 4.0, 100.0])
    1.4826
    """
    constant = check_fraction(constant, "constant", high=np.inf)
    if center is not None:
        center = check_fraction(center, "center", low=-np.inf, high=np.inf)
    a = _as_sample(x, "x", nan_policy)
    if a is None or a.size == 0:
        return float("nan")
    c = float(np.median(a)) if center is None else float(center)
    return float(constant * np.median(np.abs(a - c)))
