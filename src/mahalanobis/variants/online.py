"""Streaming location and scatter: `OnlineMetric`, with O(p^2) work per point.

The state is the (weighted) count, the mean m and the co-moment matrix
M = sum_i w_i (x_i - m)(x_i - m)^T, together with the lower Cholesky factor of M, kept up to
date by rank-one updates and downdates (:mod:`mahalanobis._cholupdate`). A distance therefore
needs one triangular solve, O(p^2), after every single-point update.

Update formulas
---------------
Adding a chunk B (m rows, mean b, co-moment M_B) to a state (n, m_A, M_A) uses the pairwise
update of Chan, Golub & LeVeque (1979, eq. 2.1; 1983, eq. 1.5b):

    n' = n + m,   d = b - m_A,   m' = m_A + d m / n',   M' = M_A + M_B + d d^T n m / n',

which for m = 1 is Welford's (1962) update M' = M + (n / n') (x - m)(x - m)^T. Removing one
point is the exact inverse: m' = m + (m - x) / n', M' = M - (n / n') (x - m)(x - m)^T with
n' = n - 1, a rank-one *downdate* of the factor. With exponential forgetting (factor
lambda in (0, 1)) every earlier weight is multiplied by lambda before a point of weight 1 is
added: W' = lambda W + 1, m' = m + (x - m) / W', M' = lambda M + (lambda W / W') (x - m)(x - m)^T
(the weighted form of Welford's update; West 1979).

Accuracy. The weighted sum of x - K about a fixed shift K (the first point) and the
co-moment M are accumulated with compensated (TwoSum / Neumaier) summation, and the mean is
K + S / W. Plain running means lose accuracy when most of a long stream is removed again (the
rounding errors of the large intermediate sums stay in the small final one, amplified by the
ratio of the counts); with compensation 1e6 single-point updates followed by 999 000 removals
still match a batch fit of the last 1000 points to about 1e-13 (benchmarks/bench_online.py).

The covariance is M / (n - 1) without forgetting (as ``numpy.cov`` and
:func:`mahalanobis.covariance.empirical`), and M / (W - V2 / W) with forgetting, where W and V2
are the sum of the weights and of their squares: the unbiased divisor for reliability weights,
the one ``numpy.cov(..., aweights=w)`` uses, which reduces to n - 1 for equal weights.

References
----------
Welford, B. P. (1962). Note on a method for calculating corrected sums of squares and
products. Technometrics 4(3), 419-420.
West, D. H. D. (1979). Updating mean and variance estimates: an improved method.
Communications of the ACM 22(9), 532-535.
Chan, T. F., Golub, G. H. & LeVeque, R. J. (1979). Updating formulae and a pairwise algorithm
for computing sample variances. Stanford CS report STAN-CS-79-773; (1983) Algorithms for
computing the sample variance: analysis and recommendations. The American Statistician 37(3),
242-247.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from scipy.linalg import lapack

from .. import _array_api, _linalg
from .._cholupdate import CholeskyDowndateWarning, chol_downdate, chol_update
from .._linalg import mean_and_cov
from .._validation import as_data, as_xp_data, check_bool, check_fraction, check_int, check_spread
from ..errors import SingularCovarianceError
from ..metric import Metric
from ._common import check_rows

__all__ = ["CholeskyDowndateWarning", "OnlineMetric"]

class _Sum:
    """An array accumulated with compensated (Neumaier / Kahan-Babuska) summation.

    ``hi + lo`` holds the running sum with an error of about eps * |sum| + N eps^2 max|term|,
    instead of the N eps max|partial sum| of plain accumulation: removing most of a long stream
    then costs no accuracy (with plain sums the error of the big intermediate sums would remain
    in the small final one).
    """

    __slots__ = ("hi", "lo")

    def __init__(self, shape: tuple[int, ...], like: Any = None) -> None:
        if like is None:
            self.hi = np.zeros(shape)
            self.lo = np.zeros(shape)
        else:  # an Array API array: the sums live in its namespace, on its device
            xp = _array_api.namespace(like)
            dev = _array_api.device_of(like)
            self.hi = xp.zeros(shape, dtype=like.dtype, device=dev)
            self.lo = xp.zeros(shape, dtype=like.dtype, device=dev)

    def add(self, term: np.ndarray) -> None:
        s = self.hi + term
        bp = s - self.hi
        # TwoSum (Knuth): the exact rounding error of hi + term
        self.lo += (self.hi - (s - bp)) + (term - bp)
        self.hi = s

    def scale(self, f: float) -> None:
        self.hi *= f
        self.lo *= f

    def value(self) -> np.ndarray:
        return self.hi + self.lo

    def set(self, value: np.ndarray) -> None:
        self.hi = np.array(value, dtype=float)
        self.lo = np.zeros_like(self.hi)

    def copy(self) -> _Sum:
        out = _Sum(self.hi.shape)
        out.hi, out.lo = self.hi.copy(), self.lo.copy()
        return out


#: The factor is recomputed from the co-moment matrix after this many rank-one modifications,
#: which bounds the drift between the two (O(p^3) once per this many O(p^2) updates).
REFACTOR_EVERY = 10_000


class OnlineMetric:
    """Mahalanobis metric estimated from a stream: mean, covariance and distances after every
    update, at O(p^2) per point.

    Parameters
    ----------
    forgetting : float in (0, 1), optional
        Exponential forgetting factor lambda: a point seen k updates ago has weight lambda^k.
        The effective memory is about 1 / (1 - lambda) points.
    window : int, optional
        Keep only the ``window`` most recent points (a sliding window). Their values are stored
        (``window x p`` floats); each new point beyond the window removes the oldest by an
        exact downdate.

    Attributes
    ----------
    n_samples : int
        Number of points the current estimate represents (for ``forgetting``, all points seen).
    weight_sum : float
        Sum of the weights (equals ``n_samples`` without forgetting).
    center, cov, cholesky : ndarray
        Current mean, covariance and the lower Cholesky factor of the covariance.

    See Also
    --------
    mahalanobis.fit : The batch estimate (same numbers as ``method="empirical"``).
    OnlineMetric.to_metric : A frozen :class:`~mahalanobis.Metric` of the current state.

    Notes
    -----
    The factor of the co-moment matrix is modified by rank-one updates (adding points) and
    downdates (removing points), each O(p^2); see :mod:`mahalanobis._cholupdate`. A downdate
    that would leave a matrix that is not numerically positive definite is reported with a
    :class:`CholeskyDowndateWarning` and the factor is recomputed from the co-moment matrix,
    which is kept alongside. Every ``REFACTOR_EVERY`` modifications the factor is also
    recomputed, which bounds rounding drift. Until more than p points (of full rank) have been
    seen there is no factor and :meth:`distance` raises ``SingularCovarianceError``.

    Examples
    --------
    >>> import numpy as np
    >>> import mahalanobis as mh
    >>> X = np.random.default_rng(0).standard_normal((200, 3))
    >>> om = mh.OnlineMetric()
    >>> for chunk in np.array_split(X, 4):
    ...     d = om.partial_fit(chunk).distance(chunk)   # distances under the current estimate
    >>> om
    OnlineMetric(n_features=3, n_samples=200)
    >>> bool(np.allclose(om.cov, np.cov(X.T)))
    True
    """

    def __init__(self, forgetting: float | None = None, window: int | None = None) -> None:
        if forgetting is not None:
            forgetting = check_fraction(forgetting, "forgetting")
        if window is not None:
            window = check_int(window, "window", 2, "the number of most recent points kept")
        if forgetting is not None and window is not None:
            raise ValueError("pass forgetting= or window=, not both: they are two different "
                             "ways of discounting old points.")
        self.forgetting = forgetting
        self.window = window
        self._p: int | None = None
        #: A 0-d array of the library, device and work dtype of Array API batches (else None).
        self._like: Any = None
        self._reset_state()

    def _reset_state(self) -> None:
        self.n_samples = 0
        self.weight_sum = 0.0
        self._w2 = 0.0  # sum of squared weights
        # Sums are kept about a shift K (the first point): S = sum_i w_i (x_i - K) and the
        # co-moment M, both with compensated summation; the mean is K + S / W.
        self._K: np.ndarray | None = None
        self._S: _Sum | None = None if self._p is None else _Sum((self._p,), self._like)
        self._Mc: _Sum | None = None if self._p is None else _Sum((self._p, self._p),
                                                                   self._like)
        self._L: np.ndarray | None = None
        self._mods = 0
        self._buf: np.ndarray | None = None
        self._head = 0  # index of the oldest point in the ring buffer

    # ----------------------------------------------------------------- input
    def _check(self, X: Any, name: str = "X") -> np.ndarray:
        if _array_api.is_foreign(X) or self._like is not None:
            return self._check_xp(X, name)
        A = as_data(X, name, n_features=self._p).values
        check_spread(A, name)  # variances float64 can hold
        if self._p is None:
            if self.window is not None and self.window <= A.shape[1]:
                raise ValueError(f"window={self.window} is not larger than the {A.shape[1]} "
                                 "features, so the window's covariance is always singular; "
                                 f"use window > {A.shape[1]} (many times more is wiser).")
            self._p = A.shape[1]
            self._S = _Sum((self._p,))
            self._Mc = _Sum((self._p, self._p))
        if self._K is None:
            self._K = A[0].copy()
        return A

    def _check_xp(self, X: Any, name: str) -> Any:
        """Batches of an Array API library: checked on their device, in float64 where it has
        it; the running sums and the factor then live there too (:meth:`partial_fit` only)."""
        if self.forgetting is not None or self.window is not None:
            raise _array_api.unsupported(X, name, "OnlineMetric with forgetting= or window= "
                                         "(updated point by point on the host)")
        if self._p is not None and (self._like is None or not _array_api.is_foreign(X)
                                    or not _array_api.same_library(
                                        _array_api.namespace(self._like), X)):
            lib = "NumPy" if self._like is None else _array_api.library_name(self._like)
            raise TypeError(f"OnlineMetric holds a state built from {lib} batches; pass every "
                            "batch from that one library (or start a new OnlineMetric).")
        A = as_xp_data(X, name, n_features=self._p).values
        xp, dev, wd = _array_api.context(A)
        if self._p is None:
            self._p = int(A.shape[1])
            self._like = xp.zeros((), dtype=wd, device=dev)
            self._S = _Sum((self._p,), self._like)
            self._Mc = _Sum((self._p, self._p), self._like)
        if self._K is None:
            self._K = xp.astype(A[0, :], wd, copy=True)
        return A

    @property
    def _mean(self) -> np.ndarray:
        assert self._K is not None and self._S is not None
        if self.weight_sum == 0:
            return self._K.copy() if self._like is None else self._K * 1
        return self._K + self._S.value() / self.weight_sum

    @property
    def _M(self) -> np.ndarray:
        assert self._Mc is not None
        return self._Mc.value()

    # ----------------------------------------------------------------- factor upkeep
    def _refactor(self) -> None:
        """Recompute the factor of M (None while M is singular)."""
        self._mods = 0
        assert self._p is not None
        if self.n_samples <= self._p:
            self._L = None
            return
        try:
            M = self._M
            if self._like is not None:  # on the batches' device
                self._L = _array_api.cholesky((M + M.T) / 2, "co-moment matrix")[0]
            else:
                self._L = np.asfortranarray(_linalg.cholesky((M + M.T) / 2, "co-moment matrix"))
        except SingularCovarianceError:
            self._L = None

    def _rank_one(self, v: np.ndarray, sign: int) -> None:
        """L L^T += sign v v^T on the factor, then the bookkeeping; M is updated by the caller."""
        if self._L is None:
            assert self._p is not None
            if self.n_samples > self._p:
                self._refactor()
            return
        if sign > 0:
            self._L = chol_update(self._L, v)
        else:
            L = chol_downdate(self._L, v)
            if L is None:
                assert self._p is not None
                if self.n_samples > self._p:
                    warnings.warn(
                        "OnlineMetric: a Cholesky downdate failed (removing a point would leave "
                        "the co-moment matrix not numerically positive definite); the factor "
                        "was recomputed from the co-moment matrix.",
                        CholeskyDowndateWarning, stacklevel=4)
                self._refactor()
                return
            self._L = L
        self._mods += 1
        if self._mods >= REFACTOR_EVERY:
            self._refactor()

    # ----------------------------------------------------------------- single points
    def _add_one(self, x: np.ndarray) -> None:
        assert self._S is not None and self._Mc is not None and self._K is not None
        lam = self.forgetting
        delta = x - self._mean
        if lam is None:
            n = self.weight_sum
            n_new = n + 1.0
            coef = n / n_new
        else:
            W = lam * self.weight_sum
            n_new = W + 1.0
            coef = W / n_new
            self._S.scale(lam)
            self._Mc.scale(lam)
            self._w2 = lam * lam * self._w2
            if self._L is not None:
                self._L *= np.sqrt(lam)
        self._S.add(x - self._K)
        self._Mc.add(coef * np.outer(delta, delta))
        self.weight_sum = n_new
        self._w2 += 1.0
        self.n_samples += 1
        if coef > 0:
            self._rank_one(np.sqrt(coef) * delta, +1)

    def _remove_one(self, x: np.ndarray) -> None:
        assert self._S is not None and self._Mc is not None and self._K is not None
        n = self.weight_sum
        if self.n_samples <= 1:
            self._reset_state()
            return
        n_new = n - 1.0
        delta = x - self._mean
        coef = n / n_new
        self._S.add(self._K - x)
        self._Mc.add(-coef * np.outer(delta, delta))
        self.weight_sum = n_new
        self._w2 -= 1.0
        self.n_samples -= 1
        self._rank_one(np.sqrt(coef) * delta, -1)

    # ----------------------------------------------------------------- public updates
    def fit(self, X: ArrayLike, y: ArrayLike | None = None) -> OnlineMetric:
        """Forget everything seen so far and start again from the rows of X; returns self.

        Parameters
        ----------
        X : array-like of shape (n, p)
            The first points.
        y : None
            Ignored (scikit-learn convention).

        Returns
        -------
        OnlineMetric
            self.

        Raises
        ------
        ValueError
            For rows with NaN or a wrong number of columns.

        See Also
        --------
        OnlineMetric.partial_fit : Add points without forgetting.

        Examples
        --------
        >>> import numpy as np
        >>> import mahalanobis as mh
        >>> X = np.random.default_rng(0).standard_normal((200, 3))
        >>> mh.OnlineMetric().fit(X).n_samples
        200
        """
        self._p = None
        self._like = None
        self._reset_state()
        return self.partial_fit(X)

    def partial_fit(self, X: ArrayLike) -> OnlineMetric:
        """Add the rows of X (n, p) to the estimate, in order; returns self.

        Batches of an Array API library (PyTorch, JAX, CuPy, ...) are reduced on their device:
        the running sums and the Cholesky factor then stay there (in float64 where the device
        has it), each batch is merged by the pairwise formula below and the factor recomputed
        (O(p^3) on the device, no per-row updates), and :meth:`distance`, :meth:`pvalue` and
        :meth:`outliers` score arrays of that library. Every batch must come from that one
        library; ``forgetting``, ``window``, :meth:`remove` and :meth:`merge`, which work
        point by point on the host, take NumPy arrays only.

        Without forgetting or a window, a chunk is merged by the pairwise formula of Chan,
        Golub & LeVeque (its mean and co-moment by a two-pass pass over the chunk); the factor
        gets one rank-one update per row plus one for the shift of the mean, or is recomputed
        when the chunk has at least p rows (then O(p^3) is cheaper than m O(p^2) updates).

        Parameters
        ----------
        X : array-like of shape (n, p) or (p,)
            The new points (one point may be given as a 1-D array).

        Returns
        -------
        OnlineMetric
            self, so calls chain.

        Raises
        ------
        ValueError
            For rows with NaN, a wrong number of columns, or a batch of another library than
            the earlier ones.

        See Also
        --------
        OnlineMetric.remove : The exact inverse.
        OnlineMetric.merge : Combine two streams.

        Examples
        --------
        >>> import numpy as np
        >>> import mahalanobis as mh
        >>> X = np.random.default_rng(0).standard_normal((200, 3))
        >>> om = mh.OnlineMetric().partial_fit(X[:100]).partial_fit(X[100:])
        >>> bool(np.allclose(om.center, X.mean(axis=0)))
        True
        """
        A = self._check(X)
        if self.forgetting is not None:
            for x in A:
                self._add_one(x)
            return self
        if self.window is not None:
            for x in A:
                self._add_window(x)
            return self
        if A.shape[0] == 1 and self._like is None:
            self._add_one(A[0].copy())
            return self
        self._add_chunk(A)
        return self

    def _add_chunk(self, A: np.ndarray) -> None:
        assert self._S is not None and self._Mc is not None and self._p is not None
        assert self._K is not None
        m = A.shape[0]
        b, S_b = (_array_api.mean_and_cov if self._like is not None else mean_and_cov)(A, ddof=0)
        M_b = S_b * m
        n = self.weight_sum
        n_new = n + m
        d = b - self._mean
        coef = n * m / n_new
        self._S.add((b - self._K) * m)
        self._Mc.add(M_b + coef * (d[:, None] * d[None, :]))
        self.weight_sum = n_new
        self._w2 += m
        self.n_samples += m
        if self._L is None or m >= self._p or self._like is not None:
            self._refactor()
            return
        for v in A - b:
            self._rank_one(v, +1)
        if coef > 0:
            self._rank_one(np.sqrt(coef) * d, +1)

    def _add_window(self, x: np.ndarray) -> None:
        assert self.window is not None and self._p is not None
        if self._buf is None:
            self._buf = np.empty((self.window, self._p))
        if self.n_samples == self.window:
            old = self._buf[self._head].copy()
            self._buf[self._head] = x
            self._head = (self._head + 1) % self.window
            self._remove_one(old)
            if self._buf is None:  # pragma: no cover - window >= 2, never emptied here
                raise RuntimeError("window buffer lost")
        else:
            self._buf[(self._head + self.n_samples) % self.window] = x
        self._add_one(x.copy())

    def remove(self, X: ArrayLike) -> OnlineMetric:
        """Remove the rows of X, points previously added, from the estimate (exact downdate);
        returns self.

        The caller is responsible for X holding points that were added: removing others gives
        the statistics of a signed sample, and a failing downdate is then reported with a
        :class:`CholeskyDowndateWarning`. Not available with ``forgetting`` (the weights of
        old points are not kept) or ``window`` (the window removes points itself).

        Parameters
        ----------
        X : array-like of shape (n, p) or (p,)
            Points that were added before.

        Returns
        -------
        OnlineMetric
            self.

        Raises
        ------
        ValueError
            With ``forgetting`` or ``window``, or when X has more rows than the estimate
            holds.
        TypeError
            For Array API input (removal works on the host).

        Warns
        -----
        CholeskyDowndateWarning
            When a downdate fails and the factor is recomputed.

        See Also
        --------
        OnlineMetric.partial_fit : Add points.

        Examples
        --------
        >>> import numpy as np
        >>> import mahalanobis as mh
        >>> X = np.random.default_rng(0).standard_normal((200, 3))
        >>> om = mh.OnlineMetric().fit(X).remove(X[150:])
        >>> om.n_samples, bool(np.allclose(om.cov, np.cov(X[:150].T)))
        (150, True)
        """
        if self.forgetting is not None or self.window is not None:
            what = "forgetting" if self.forgetting is not None else "window"
            raise ValueError(f"remove() is not available with {what}=: that mode discounts old "
                             "points itself. Use OnlineMetric() without it to remove points.")
        if self._like is not None or _array_api.is_foreign(X):
            raise _array_api.unsupported(X, "X", "OnlineMetric.remove()")
        A = self._check(X)
        if A.shape[0] > self.n_samples:
            raise ValueError(f"X has {A.shape[0]} rows but the estimate holds only "
                             f"{self.n_samples} points; remove only points that were added.")
        for x in A:
            self._remove_one(x.copy())
        return self

    def merge(self, other: OnlineMetric) -> OnlineMetric:
        """A new OnlineMetric for the union of the two samples (neither is modified).

        Chan, Golub & LeVeque's pairwise combination: W = W_a + W_b, d = m_b - m_a,
        m = m_a + d W_b / W, M = M_a + M_b + d d^T W_a W_b / W. With forgetting the two weighted
        samples are combined as they stand (both must use the same factor).

        Parameters
        ----------
        other : OnlineMetric
            The other stream's estimate (same number of features and forgetting factor).

        Returns
        -------
        OnlineMetric
            A new estimate of the union.

        Raises
        ------
        ValueError
            When ``other`` is not an OnlineMetric, either has a window, the forgetting factors
            or the numbers of features differ.

        See Also
        --------
        OnlineMetric.partial_fit : Add points to one stream.

        Examples
        --------
        >>> import numpy as np
        >>> import mahalanobis as mh
        >>> X = np.random.default_rng(0).standard_normal((200, 3))
        >>> a, b = mh.OnlineMetric().fit(X[:100]), mh.OnlineMetric().fit(X[100:])
        >>> both = a.merge(b)
        >>> both.n_samples, bool(np.allclose(both.cov, np.cov(X.T)))
        (200, True)
        """
        if not isinstance(other, OnlineMetric):
            raise ValueError(f"other must be an OnlineMetric; got {type(other).__name__}.")
        if self._like is not None or other._like is not None:
            raise _array_api.unsupported(self._like if self._like is not None else other._like,
                                         "other", "OnlineMetric.merge()")
        if self.window is not None or other.window is not None:
            raise ValueError("merge() is not defined for window= metrics (the union of two "
                             "windows is not a window); merge metrics without a window.")
        if self.forgetting != other.forgetting:
            raise ValueError(f"merge() needs the same forgetting factor on both sides; got "
                             f"{self.forgetting!r} and {other.forgetting!r}.")
        if self._p is not None and other._p is not None and self._p != other._p:
            raise ValueError(f"other has {other._p} features but this metric has {self._p}.")
        out = OnlineMetric(forgetting=self.forgetting)
        if other.n_samples == 0 or self.n_samples == 0:
            src = self if other.n_samples == 0 else other
            out._p = src._p
            out._reset_state()
            if src._p is not None:
                out._copy_from(src)
            return out
        Wa, Wb = self.weight_sum, other.weight_sum
        W = Wa + Wb
        d = other._mean - self._mean
        out._p = self._p
        out._reset_state()
        assert self._K is not None
        mean = self._mean + d * (Wb / W)
        out._K = self._K.copy()
        assert out._S is not None and out._Mc is not None
        out._S.set((mean - out._K) * W)
        out._Mc.set(self._M + other._M + np.outer(d, d) * (Wa * Wb / W))
        out.weight_sum = W
        out._w2 = self._w2 + other._w2
        out.n_samples = self.n_samples + other.n_samples
        out._refactor()
        return out

    def _copy_from(self, src: OnlineMetric) -> None:
        assert src._S is not None and src._Mc is not None and src._K is not None
        self._K, self._S, self._Mc = src._K.copy(), src._S.copy(), src._Mc.copy()
        self._L = None if src._L is None else src._L.copy(order="F")
        self.weight_sum, self._w2, self.n_samples = src.weight_sum, src._w2, src.n_samples

    # ----------------------------------------------------------------- results
    def _divisor(self) -> float:
        if self.forgetting is None:
            return self.weight_sum - 1.0
        return self.weight_sum - self._w2 / self.weight_sum

    def _need(self, what: str) -> None:
        if self.n_samples < 2:
            raise ValueError(f"OnlineMetric has {self.n_samples} point(s): {what} needs at "
                             "least 2; call partial_fit(X) first.")

    @property
    def n_features(self) -> int | None:
        """Number of features p, or None before the first :meth:`partial_fit`.

        See Also
        --------
        OnlineMetric.n_features_in_ : The same, raising before any data.

        Examples
        --------
        >>> import numpy as np
        >>> import mahalanobis as mh
        >>> om = mh.OnlineMetric()
        >>> om.n_features is None, om.partial_fit(np.ones((1, 3))).n_features
        (True, 3)
        """
        return self._p

    @property
    def n_features_in_(self) -> int:
        """Number of features (after the first :meth:`partial_fit`).

        See Also
        --------
        OnlineMetric.n_features : None instead of an error before any data.

        Examples
        --------
        >>> import numpy as np
        >>> import mahalanobis as mh
        >>> mh.OnlineMetric().partial_fit(np.ones((1, 3))).n_features_in_
        3
        """
        if self._p is None:
            raise AttributeError("OnlineMetric has seen no data yet: call partial_fit(X).")
        return self._p

    @property
    def center(self) -> np.ndarray:
        """Current (weighted) mean, shape (p,) (a copy).

        See Also
        --------
        OnlineMetric.cov : The current covariance.

        Examples
        --------
        >>> import mahalanobis as mh
        >>> mh.OnlineMetric().fit([[0.0, 0.0], [2.0, 4.0]]).center
        array([1., 2.])
        """
        if self.n_samples == 0:
            raise ValueError("OnlineMetric has no points yet; call partial_fit(X) first.")
        m = self._mean
        return m if self._like is not None else m.copy()

    @property
    def comoment(self) -> np.ndarray:
        """Co-moment matrix sum_i w_i (x_i - m)(x_i - m)^T (a copy).

        See Also
        --------
        OnlineMetric.cov : The co-moment over the covariance divisor.

        Examples
        --------
        >>> import mahalanobis as mh
        >>> mh.OnlineMetric().fit([[0.0, 0.0], [2.0, 4.0]]).comoment
        array([[2., 4.],
               [4., 8.]])
        """
        self._need("the co-moment matrix")
        return self._M

    @property
    def cov(self) -> np.ndarray:
        """Current covariance: M / (n - 1), or M / (W - V2 / W) with forgetting (a copy).

        See Also
        --------
        OnlineMetric.comoment : The co-moment matrix M.
        OnlineMetric.cholesky : Its Cholesky factor.

        Examples
        --------
        >>> import mahalanobis as mh
        >>> mh.OnlineMetric().fit([[0.0, 0.0], [2.0, 4.0], [1.0, 1.0]]).cov
        array([[1. , 2. ],
               [2. , 4.333...]])
        """
        self._need("a covariance")
        M = self._M
        return (M + M.T) / (2.0 * self._divisor())

    def _factor(self) -> np.ndarray:
        self._need("a distance")
        if self._L is None:
            raise SingularCovarianceError(
                f"OnlineMetric: the covariance of the {self.n_samples} point(s) seen so far is "
                f"singular (it needs more than {self._p} points in general position); add more "
                "points with partial_fit before asking for distances.")
        return self._L

    @property
    def cholesky(self) -> np.ndarray:
        """Lower Cholesky factor of :attr:`cov` (from the maintained factor, no new O(p^3)).

        See Also
        --------
        OnlineMetric.cov : The covariance it factors.

        Examples
        --------
        >>> import numpy as np
        >>> import mahalanobis as mh
        >>> om = mh.OnlineMetric().fit(np.random.default_rng(0).standard_normal((200, 3)))
        >>> bool(np.allclose(om.cholesky @ om.cholesky.T, om.cov))
        True
        """
        return self._factor() / float(np.sqrt(self._divisor()))

    def distance(self, X: ArrayLike, *, squared: bool = False, nan_policy: str = "raise"
                 ) -> np.ndarray:
        """Mahalanobis distances of the rows of X under the current estimate.

        D^2 = (x - m)^T cov^-1 (x - m) = div * ||L^-1 (x - m)||^2 with M = L L^T and div the
        covariance divisor: one triangular solve, O(p^2) per row. ``squared=True`` gives D^2.

        Parameters
        ----------
        X : array-like of shape (n, p)
            The points.
        squared : bool, default False
            Return D^2 instead of D.
        nan_policy : {"raise", "omit", "propagate"}, default "raise"
            Rows with NaN: an error, dropped, or NaN.

        Returns
        -------
        ndarray of shape (n,)
            The distances (an array of X's library for Array API input).

        Raises
        ------
        ValueError
            With fewer than 2 points seen, or bad rows.
        SingularCovarianceError
            While the covariance is singular (p or fewer points seen).

        See Also
        --------
        mahalanobis.Metric.distance : The same for a fixed metric.

        Examples
        --------
        >>> import numpy as np
        >>> import mahalanobis as mh
        >>> X = np.random.default_rng(0).standard_normal((200, 3))
        >>> mh.OnlineMetric().fit(X).distance(X[:2]).round(4)
        array([0.7599, 0.7272])
        """
        squared = check_bool(squared, "squared")
        L = self._factor()
        if self._like is not None or _array_api.is_foreign(X):
            return self.to_metric().distance(X, squared=squared, nan_policy=nan_policy)
        A = check_rows(X, "X", self._p, nan_policy)
        Z, info = lapack.dtrtrs(L, (A - self._mean).T, lower=1)
        if info != 0:  # pragma: no cover - the factor has a positive diagonal
            raise SingularCovarianceError("OnlineMetric: the Cholesky factor is singular; "
                                          "add more points with partial_fit.")
        d2 = np.einsum("ij,ij->j", Z, Z) * self._divisor()
        return d2 if squared else np.sqrt(d2)

    def pvalue(self, X: ArrayLike, *, nan_policy: str = "raise") -> Any:
        """P-values of the rows of X under the current estimate (:meth:`Metric.pvalue` of
        :meth:`to_metric`).

        Parameters
        ----------
        X : array-like of shape (n, p)
            The points.
        nan_policy : {"raise", "omit", "propagate"}, default "raise"
            Rows with NaN: an error, dropped, or NaN.

        Returns
        -------
        ndarray of shape (n,)
            Chi-squared p-values.

        See Also
        --------
        OnlineMetric.outliers : The rows flagged at a level.

        Examples
        --------
        >>> import numpy as np
        >>> import mahalanobis as mh
        >>> X = np.random.default_rng(0).standard_normal((200, 3))
        >>> mh.OnlineMetric().fit(X).pvalue(X[:2]).round(4)
        array([0.9016, 0.9125])
        """
        return self.to_metric().pvalue(X, nan_policy=nan_policy)

    def outliers(self, X: ArrayLike, alpha: float = 0.025, *, nan_policy: str = "raise") -> Any:
        """Boolean mask of rows flagged at level alpha under the current estimate
        (:meth:`Metric.outliers` of :meth:`to_metric`).

        Parameters
        ----------
        X : array-like of shape (n, p)
            The points.
        alpha : float, default 0.025
            Test level.
        nan_policy : {"raise", "omit", "propagate"}, default "raise"
            Rows with NaN: an error, dropped, or never flagged.

        Returns
        -------
        ndarray of bool, shape (n,)
            True for a flagged row.

        See Also
        --------
        OnlineMetric.pvalue : The p-values behind the mask.

        Examples
        --------
        >>> import numpy as np
        >>> import mahalanobis as mh
        >>> X = np.random.default_rng(0).standard_normal((200, 3))
        >>> mh.OnlineMetric().fit(X).outliers([[0.0, 0.0, 0.0], [5.0, 5.0, 5.0]])
        array([False,  True])
        """
        return self.to_metric().outliers(X, alpha, nan_policy=nan_policy)

    def to_metric(self) -> Metric:
        """A :class:`~mahalanobis.Metric` with the current centre and covariance; it knows
        ``n_samples`` (so new points get the F reference) unless a forgetting factor makes
        the effective sample size fractional.

        Returns
        -------
        Metric
            An immutable snapshot of the current estimate.

        See Also
        --------
        mahalanobis.Metric : What it returns.

        Examples
        --------
        >>> import numpy as np
        >>> import mahalanobis as mh
        >>> X = np.random.default_rng(0).standard_normal((200, 3))
        >>> mh.OnlineMetric().fit(X).to_metric().n_samples
        200
        """
        n = None if self.forgetting is not None else self.n_samples
        return Metric(self.center, self.cov, n_samples=n)

    def __repr__(self) -> str:
        parts = [f"n_samples={self.n_samples}"]
        if self._p is not None:
            parts.insert(0, f"n_features={self._p}")
        if self.forgetting is not None:
            parts.append(f"forgetting={self.forgetting:g}")
            parts.append(f"weight_sum={self.weight_sum:.6g}")
        if self.window is not None:
            parts.append(f"window={self.window}")
        return f"OnlineMetric({', '.join(parts)})"
