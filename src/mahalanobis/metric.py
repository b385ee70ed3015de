"""`Metric`: a location and a factored scatter, built once and used many times."""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np
from numpy.typing import ArrayLike, DTypeLike
from scipy import stats

from . import _array_api, _linalg, _missing
from ._deprecation import keyword_only, renamed_parameters
from ._validation import (
    Data,
    apply_nan_policy,
    as_data,
    as_square_matrix,
    as_vector,
    as_xp_data,
    as_xp_square_matrix,
    as_xp_vector,
    check_bool,
    check_choice,
    check_fraction,
    check_int,
    check_nan_policy,
    is_dask,
    readonly,
    wrap_like,
)
from .errors import SingularCovarianceError

__all__ = ["Metric", "MetricLike"]

_WHITEN_KINDS = ("cholesky", "zca", "pca")


_wrap = wrap_like  # Series with the input's index for DataFrame input


def _report_omitted(data: Data, name: str = "X") -> None:
    if data.kept is not None:
        dropped = data.dropped
        shown = dropped[:10].tolist()
        more = f" and {dropped.size - 10} more" if dropped.size > 10 else ""
        warnings.warn(f"{name}: dropped {dropped.size} row(s) with NaN or infinite values "
                      f"(positions {shown}{more}) as nan_policy='omit' asks.",
                      UserWarning, stacklevel=4)


@runtime_checkable
class MetricLike(Protocol):
    """What every metric of the package offers: :class:`Metric` and its fitted subclasses,
    and the variants of :mod:`mahalanobis.variants`.

    ``distance(X, *, squared=False, nan_policy="raise")``, ``pvalue(X, *, nan_policy=...)``,
    ``outliers(X, alpha=0.025, *, nan_policy=...)`` and ``n_features_in_`` (the number of
    features the rows of X must have). ``isinstance(obj, MetricLike)`` checks for them.

    See Also
    --------
    Metric : The Mahalanobis metric of a given or fitted centre and scatter.
    mahalanobis.variants : Kernel, functional, sketched and online metrics.

    Examples
    --------
    >>> import mahalanobis as mh
    >>> m = mh.Metric([0.0, 0.0], [[4.0, 2.0], [2.0, 2.0]])
    >>> isinstance(m, mh.MetricLike)
    True
    """

    @property
    def n_features_in_(self) -> int:
        """Number of features the rows of X must have.

        See Also
        --------
        Metric.n_features_in_ : The same for a Metric.

        Examples
        --------
        >>> import mahalanobis as mh
        >>> mh.Metric([0.0, 0.0], [[4.0, 2.0], [2.0, 2.0]]).n_features_in_
        2
        """
        ...

    def distance(self, X: ArrayLike, *, squared: bool = False, nan_policy: str = "raise") -> Any:
        """Distances (``squared=True``: D^2) of the rows of X, one per row.

        Parameters
        ----------
        X : array-like of shape (n, p)
            The points.
        squared : bool, default False
            Return D^2 instead of D.
        nan_policy : {"raise", "omit", "propagate"}, default "raise"
            What rows holding NaN do.

        Returns
        -------
        ndarray of shape (n,)
            The distances (a pandas Series for a DataFrame X).

        See Also
        --------
        Metric.distance : The same for a Metric.

        Examples
        --------
        >>> import mahalanobis as mh
        >>> mh.Metric([0.0, 0.0], [[4.0, 2.0], [2.0, 2.0]]).distance([[2.0, 1.0]])
        array([1.])
        """
        ...

    def pvalue(self, X: ArrayLike, *, nan_policy: str = "raise") -> Any:
        """Upper-tail p-values of the rows of X under the metric's reference distribution.

        Parameters
        ----------
        X : array-like of shape (n, p)
            The points.
        nan_policy : {"raise", "omit", "propagate"}, default "raise"
            What rows holding NaN do.

        Returns
        -------
        ndarray of shape (n,)
            The p-values, in [0, 1].

        See Also
        --------
        Metric.pvalue : The same for a Metric.

        Examples
        --------
        >>> import mahalanobis as mh
        >>> mh.Metric([0.0, 0.0], [[4.0, 2.0], [2.0, 2.0]]).pvalue([[2.0, 1.0]]).round(4)
        array([0.6065])
        """
        ...

    def outliers(self, X: ArrayLike, alpha: float = 0.025, *, nan_policy: str = "raise") -> Any:
        """Boolean mask of the rows of X whose p-value is below ``alpha``.

        Parameters
        ----------
        X : array-like of shape (n, p)
            The points.
        alpha : float, default 0.025
            Test level: the share of clean rows flagged.
        nan_policy : {"raise", "omit", "propagate"}, default "raise"
            What rows holding NaN do.

        Returns
        -------
        ndarray of bool, shape (n,)
            True for a flagged row.

        See Also
        --------
        Metric.outliers : The same for a Metric.

        Examples
        --------
        >>> import mahalanobis as mh
        >>> m = mh.Metric([0.0, 0.0], [[4.0, 2.0], [2.0, 2.0]])
        >>> m.outliers([[2.0, 1.0], [4.0, -2.0]])
        array([False,  True])
        """
        ...


class Metric:
    """A Mahalanobis metric: a centre m and a positive definite scatter S, factored once.

    ``D(x) = sqrt((x - m)^T S^-1 (x - m))``. The scatter is held as its Cholesky factor; no
    explicit inverse is ever used for a distance. Build it from a covariance
    (``Metric(center, cov)``), a precision matrix (:meth:`from_precision`) or a Cholesky factor
    (:meth:`from_cholesky`), or fit it to data with :func:`mahalanobis.fit`.

    Parameters
    ----------
    center : array-like of shape (p,)
        The location m.
    cov : array-like of shape (p, p)
        The scatter S, symmetric positive definite.
    n_samples : int, optional
        Number of points the parameters were estimated from (used by
        :meth:`ellipsoid` and the finite-sample cutoffs); None for known parameters.
    feature_names : sequence of str, optional
        Names of the p features; DataFrames passed later are matched by these names.

    Raises
    ------
    SingularCovarianceError
        When ``cov`` is not positive definite (the message gives its rank and advice).

    Warns
    -----
    IllConditionedWarning
        When the correlation form of ``cov`` has a condition number above 1e10.

    See Also
    --------
    mahalanobis.fit : Estimate the centre and scatter from data (returns a Metric).
    Metric.from_precision : A metric from a precision matrix.
    Metric.from_cholesky : A metric from a Cholesky factor.

    Examples
    --------
    >>> import mahalanobis as mh
    >>> m = mh.Metric([0.0, 0.0], [[4.0, 2.0], [2.0, 2.0]])
    >>> m
    Metric(n_features=2, log_det=1.38629)
    >>> m.distance([[2.0, 1.0], [0.0, 0.0], [4.0, -2.0]])
    array([1.        , 0.        , 4.47213595])
    """

    _center: np.ndarray
    _W: np.ndarray
    #: Array API namespace of a metric built from another library's arrays (None: NumPy).
    _xp: Any = None

    #: Name of the estimator that produced the metric (None for given parameters).
    method: str | None = None

    def __init__(self, center: ArrayLike, cov: ArrayLike, *, n_samples: Any = None,
                 feature_names: Any = None) -> None:
        if _array_api.is_foreign(center, cov):  # factored in that library, on its device
            self._setup_xp(center, cov=cov, feature_names=feature_names, n_samples=n_samples)
            self._freeze()
            return
        cov = as_square_matrix(cov, "cov")
        center = as_vector(center, "center", cov.shape[0])  # a wrong length blames the centre
        L, rcond = _linalg.cholesky(cov, "cov", return_rcond=True)
        self._setup(center, cov=cov, L=L, rcond=rcond, feature_names=feature_names,
                    n_samples=n_samples)
        self._freeze()

    def __setattr__(self, name: str, value: Any) -> None:
        if self.__dict__.get("_frozen", False):
            raise AttributeError(
                f"{type(self).__name__} is immutable: cannot set {name!r}. Build a new metric "
                "instead (mh.Metric(center, cov), or fit again).")
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable: cannot delete {name!r}.")

    def _freeze(self) -> None:
        object.__setattr__(self, "_frozen", True)

    def __getstate__(self) -> dict[str, Any]:
        # Caches of device copies hold library modules, which do not pickle: they are rebuilt.
        state = {k: v for k, v in self.__dict__.items() if k not in ("_factors", "_host_metric")}
        if state.get("_xp") is not None:
            state["_xp"] = True  # the namespace is found again from the arrays
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        if state.get("_xp") is True:
            self.__dict__["_xp"] = _array_api.namespace(self._center)

    def _cache(self, name: str, value: Any) -> Any:
        """Store a lazily computed value (the only mutation after construction)."""
        object.__setattr__(self, name, value)
        return value

    # ----------------------------------------------------------------- construction
    def _setup(self, center: np.ndarray, *, cov: np.ndarray | None = None,
               L: np.ndarray | None = None, precision: np.ndarray | None = None,
               W: np.ndarray | None = None, W_lower: bool = True,
               log_det: float | None = None, rcond: float | None = None,
               feature_names: Any = None, warn: bool = True, n_samples: Any = None) -> None:
        xp = _array_api.namespace(center) if _array_api.is_foreign(center) else None
        self._xp = xp  # Array API arrays are kept as they are (namespace, device, dtype)
        self._center = readonly(center if xp else np.array(center, dtype=float))
        self._cov = None if cov is None else readonly(cov if xp else np.array(cov, dtype=float))
        self._L = None if L is None else readonly(L)
        self._precision = None if precision is None else readonly(
            precision if xp else np.array(precision))
        if W is None:
            assert L is not None
            W, W_lower = _linalg.inverse_triangular(L, lower=True), True
        self._W = readonly(W)
        self._W_lower = bool(W_lower)
        if log_det is None:
            assert L is not None
            log_det = _linalg.log_det_from_cholesky(L)
        self._log_det = float(log_det)
        if rcond is None:
            rcond = _linalg.correlation_rcond(L) if L is not None else 1.0
        self._rcond = float(rcond)
        if warn:
            _linalg.warn_if_ill_conditioned(self._rcond, stacklevel=4)
        self._feature_names = None if feature_names is None else tuple(
            str(c) for c in feature_names)
        if self._feature_names is not None and len(self._feature_names) != center.shape[0]:
            raise ValueError(f"feature_names has {len(self._feature_names)} names but the "
                             f"metric has {center.shape[0]} features.")
        self._cond_exact: float | None = None
        if n_samples is not None:
            n_samples = check_int(n_samples, "n_samples", 1)
        #: Number of points the centre and scatter were estimated from (None: given).
        self.n_samples: int | None = n_samples
        #: Positions of input rows dropped before fitting (``nan_policy="omit"``).
        self.omitted: np.ndarray = np.empty(0, dtype=np.intp)

    def _setup_xp(self, center: Any, **kwargs: Any) -> None:
        """:meth:`_setup` for arrays of another library (see :func:`_xp_factorise`)."""
        setup = {k: kwargs.pop(k) for k in ("feature_names", "n_samples", "warn")
                 if k in kwargs}
        self._setup(**_xp_factorise(center, **kwargs), **setup)

    @classmethod
    def from_precision(cls, center: ArrayLike, precision: ArrayLike, *, n_samples: Any = None,
                       feature_names: Any = None) -> Metric:
        """A metric from a precision (inverse covariance) matrix P: D^2 = (x-m)^T P (x-m).

        Parameters
        ----------
        center : array-like of shape (p,)
            The location m.
        precision : array-like of shape (p, p)
            The precision matrix P = S^-1, symmetric positive definite.
        n_samples : int, optional
            Number of points the parameters were estimated from.
        feature_names : sequence of str, optional
            Names of the p features.

        Returns
        -------
        Metric
            The metric, factored from P (no inverse is formed).

        Raises
        ------
        SingularCovarianceError
            When ``precision`` is not positive definite.

        See Also
        --------
        Metric : The metric from a covariance.
        Metric.precision : The precision matrix of a metric.

        Examples
        --------
        >>> import mahalanobis as mh
        >>> m = mh.Metric.from_precision([0.0, 0.0], [[0.5, -0.5], [-0.5, 1.0]])
        >>> m.distance([[2.0, 1.0], [4.0, -2.0]])
        array([1.        , 4.47213595])
        >>> m.cov
        array([[4., 2.],
               [2., 2.]])
        """
        if _array_api.is_foreign(center, precision):
            self = cls.__new__(cls)
            self._setup_xp(center, precision=precision, feature_names=feature_names,
                           n_samples=n_samples)
            self._freeze()
            return self
        P = as_square_matrix(precision, "precision")
        center = as_vector(center, "center", P.shape[0])
        Lp, rcond = _linalg.cholesky(P, "precision", return_rcond=True)
        self = cls.__new__(cls)
        # P = Lp Lp^T, so D^2 = ||Lp^T (x - m)||^2: the whitening matrix is upper triangular.
        self._setup(center, precision=P, W=np.ascontiguousarray(Lp.T), W_lower=False,
                    log_det=-_linalg.log_det_from_cholesky(Lp), rcond=rcond,
                    feature_names=feature_names, n_samples=n_samples)
        self._freeze()
        return self

    @classmethod
    def from_cholesky(cls, center: ArrayLike, cholesky: ArrayLike, *, lower: bool = True,
                      n_samples: Any = None, feature_names: Any = None) -> Metric:
        """A metric from a triangular factor of the covariance: S = L L^T (or U^T U).

        Only the triangle named by ``lower`` is read. Columns with a negative diagonal are
        flipped (that leaves S unchanged); a zero on the diagonal is a singular scatter.

        Parameters
        ----------
        center : array-like of shape (p,)
            The location m.
        cholesky : array-like of shape (p, p)
            A triangular factor of the scatter S.
        lower : bool, default True
            True: ``cholesky`` is L with S = L L^T; False: it is U with S = U^T U.
        n_samples : int, optional
            Number of points the parameters were estimated from.
        feature_names : sequence of str, optional
            Names of the p features.

        Returns
        -------
        Metric
            The metric with that factor.

        Raises
        ------
        SingularCovarianceError
            When the factor has a zero on its diagonal.

        See Also
        --------
        Metric : The metric from a covariance.
        Metric.cholesky : The lower Cholesky factor of a metric.

        Examples
        --------
        >>> import mahalanobis as mh
        >>> m = mh.Metric.from_cholesky([0.0, 0.0], [[2.0, 0.0], [1.0, 1.0]])
        >>> m.cov
        array([[4., 2.],
               [2., 2.]])
        >>> m.distance([[2.0, 1.0]])
        array([1.])
        """
        if _array_api.is_foreign(center, cholesky):
            self = cls.__new__(cls)
            self._setup_xp(center, cholesky=cholesky, lower=lower, feature_names=feature_names,
                           n_samples=n_samples)
            self._freeze()
            return self
        T = as_square_matrix(cholesky, "cholesky", symmetric=False)
        center = as_vector(center, "center", T.shape[0])
        L = np.tril(T) if lower else np.triu(T).T
        d = np.diagonal(L)
        if np.any(d == 0):
            raise SingularCovarianceError(
                "cholesky has a zero on its diagonal, so the covariance it represents is "
                "singular; use a regularised estimator (method='ledoit_wolf', 'oas' or 'mrcd').",
                min_eigenvalue=0.0)
        L = L * np.sign(d)[None, :]
        self = cls.__new__(cls)
        self._setup(center, L=np.ascontiguousarray(L), cov=None, feature_names=feature_names,
                    n_samples=n_samples)
        self._freeze()
        return self

    # ----------------------------------------------------------------- properties
    @property
    def center(self) -> np.ndarray:
        """The location m, shape (p,).

        See Also
        --------
        Metric.cov : The scatter.

        Examples
        --------
        >>> import mahalanobis as mh
        >>> mh.Metric([1.0, 2.0], [[4.0, 2.0], [2.0, 2.0]]).center
        array([1., 2.])
        """
        return self._center

    @property
    def n_features(self) -> int:
        """Number of features p.

        See Also
        --------
        Metric.n_features_in_ : The same number under scikit-learn's name.

        Examples
        --------
        >>> import mahalanobis as mh
        >>> mh.Metric([0.0, 0.0], [[4.0, 2.0], [2.0, 2.0]]).n_features
        2
        """
        return int(self._center.shape[0])

    @property
    def n_features_in_(self) -> int:
        """Number of features p (the name scikit-learn and the metric variants use).

        See Also
        --------
        Metric.n_features : The same number.

        Examples
        --------
        >>> import mahalanobis as mh
        >>> mh.Metric([0.0, 0.0], [[4.0, 2.0], [2.0, 2.0]]).n_features_in_
        2
        """
        return int(self._center.shape[0])

    @property
    def feature_names(self) -> tuple[str, ...] | None:
        """Names of the p features (from ``feature_names=`` or the columns of a fitted
        DataFrame), or None. DataFrames passed later are matched to them by name.

        See Also
        --------
        Metric.n_features : Their number.

        Examples
        --------
        >>> import mahalanobis as mh
        >>> m = mh.Metric([0.0, 0.0], [[4.0, 2.0], [2.0, 2.0]], feature_names=["a", "b"])
        >>> m.feature_names
        ('a', 'b')
        """
        return self._feature_names

    @property
    def cholesky(self) -> np.ndarray:
        """Lower Cholesky factor L of the covariance, S = L L^T.

        See Also
        --------
        Metric.from_cholesky : A metric from such a factor.

        Examples
        --------
        >>> import mahalanobis as mh
        >>> mh.Metric([0.0, 0.0], [[4.0, 2.0], [2.0, 2.0]]).cholesky
        array([[2., 0.],
               [1., 1.]])
        """
        if self._L is None:
            self._cache("_L", readonly(_linalg.cholesky(np.asarray(self.cov), "cov")))
        return self._L  # type: ignore[return-value]  # set by _cache above

    @property
    def cov(self) -> np.ndarray:
        """The scatter matrix S, shape (p, p). For a metric built from a precision matrix it is
        computed on first access from the precision's factor.

        See Also
        --------
        Metric.precision : Its inverse.
        Metric.cholesky : Its Cholesky factor.

        Examples
        --------
        >>> import mahalanobis as mh
        >>> mh.Metric([0.0, 0.0], [[4.0, 2.0], [2.0, 2.0]]).cov
        array([[4., 2.],
               [2., 2.]])
        """
        if self._cov is None:
            if self._L is not None:
                S = self._L @ self._L.T
            else:
                Winv = _linalg.inverse_triangular(self._W, lower=self._W_lower)
                S = Winv @ Winv.T
            self._cache("_cov", readonly((S + S.T) / 2))
        return self._cov  # type: ignore[return-value]  # set by _cache above

    @property
    def precision(self) -> np.ndarray:
        """The precision matrix S^-1, computed on first access (never used for distances).

        See Also
        --------
        Metric.cov : The scatter itself.
        Metric.from_precision : A metric from a precision matrix.

        Examples
        --------
        >>> import mahalanobis as mh
        >>> mh.Metric([0.0, 0.0], [[4.0, 2.0], [2.0, 2.0]]).precision
        array([[ 0.5, -0.5],
               [-0.5,  1. ]])
        """
        if self._precision is None:
            P = self._W.T @ self._W
            self._cache("_precision", readonly((P + P.T) / 2))
        return self._precision  # type: ignore[return-value]  # set by _cache above

    @property
    def log_det(self) -> float:
        """log det S (natural log), from the Cholesky factor.

        See Also
        --------
        Metric.condition_number : How close S is to singular.

        Examples
        --------
        >>> import mahalanobis as mh
        >>> round(mh.Metric([0.0, 0.0], [[4.0, 2.0], [2.0, 2.0]]).log_det, 6)  # log 4
        1.386294
        """
        return self._log_det

    @property
    def condition_number(self) -> float:
        """Exact 2-norm condition number of S (largest over smallest eigenvalue).

        See Also
        --------
        Metric.log_det : The log-determinant of S.

        Examples
        --------
        >>> import mahalanobis as mh
        >>> round(mh.Metric([0.0, 0.0], [[4.0, 2.0], [2.0, 2.0]]).condition_number, 4)
        6.8541
        """
        if self._cond_exact is None and self._xp is not None:
            eig = self._xp.linalg.eigvalsh(self.cov)
            self._cache("_cond_exact", float(eig[-1] / eig[0]) if float(eig[0]) > 0 else np.inf)
        if self._cond_exact is None:
            S = self._cov if self._cov is not None else self.precision
            self._cache("_cond_exact", _linalg.condition_number(np.asarray(S)))
        return self._cond_exact  # type: ignore[return-value]  # set by _cache above

    # ----------------------------------------------------------------- distances
    def _check_X(self, X: Any, nan_policy: str, name: str = "X",
                 check_finite: bool = True) -> Data:
        names = self._feature_names if _is_frame(X) and self._feature_names else None
        data = as_data(X, name, nan_policy=nan_policy, n_features=self.n_features,
                       feature_names=names,  # matched by name; missing or extra is an error
                       check_finite=check_finite)
        _report_omitted(data, name)
        return data

    def _sq_checked(self, X: Any, nan_policy: str, name: str = "X",
                    take_sqrt: bool = False) -> tuple[np.ndarray, Data]:
        """Squared distances (or distances, ``take_sqrt``) of checked input, with
        ``nan_policy`` applied afterwards.

        A row holding NaN or inf always gives a non-finite result, and the kernel counts them:
        only when there are some are the rows inspected, so there is no separate pass over the
        data and no n x p temporary.
        """
        check_nan_policy(nan_policy)
        data = self._check_X(X, nan_policy, name, check_finite=False)
        d2, bad = self._sq_count(data.values, take_sqrt)
        if bad:
            suspect = np.flatnonzero(~np.isfinite(d2))
            finite_rows = np.ones(d2.shape[0], dtype=bool)
            finite_rows[suspect] = np.isfinite(data.values[suspect]).all(axis=1)
            over = suspect[finite_rows[suspect]]
            if over.size:  # finite points whose D^2 overflowed: D may still be representable
                d2[over] = self._overflowed(data.values[over], take_sqrt)
            d2_kept, index, kept = apply_nan_policy(d2[:, None], data.index, finite_rows,
                                                    nan_policy, name)
            if kept is not None:
                d2 = np.ascontiguousarray(d2_kept[:, 0])
                data = Data(values=data.values, index=index, kept=kept, columns=data.columns,
                            n_input=data.n_input)
                _report_omitted(data, name)
        return d2, data

    def _overflowed(self, A: np.ndarray, take_sqrt: bool) -> np.ndarray:
        """D (or D^2) of finite rows whose D^2 overflowed: the whitened deviations are taken
        divided by a power of two (exact), so D is right whenever float64 holds it; D^2
        beyond 1.8e308 is inf."""
        with np.errstate(over="ignore", invalid="ignore"):
            dev = A - self._center
            top = np.max(np.abs(dev), axis=1, initial=0.0)
            top[~np.isfinite(top)] = np.finfo(float).max
            scale = 2.0 ** np.ceil(np.log2(np.maximum(top, 1.0)))
            Z = _linalg.whiten_rows(dev / scale[:, None], np.zeros(A.shape[1]), self._W,
                                    self._W_lower)
            zt = np.max(np.abs(Z), axis=1, initial=0.0)
            zt[zt == 0] = 1.0
            d = np.sqrt(np.einsum("ij,ij->i", Z / zt[:, None], Z / zt[:, None])) * zt * scale
            return d if take_sqrt else d * d

    def _sq(self, A: np.ndarray) -> np.ndarray:
        """Squared distances of the rows of a checked float array (clamped at 0). Called
        unbound by the dask back end's Scorer too, which carries the same factor fields."""
        return Metric._sq_count(self, A)[0]

    def _sq_count(self, A: np.ndarray, take_sqrt: bool = False) -> tuple[np.ndarray, int]:
        """(squared) distances of the rows of a checked float array and the number of
        non-finite results: one fused kernel pass, or the refined path for an
        ill-conditioned scatter."""
        if self._rcond * _linalg.REFINE_CONDITION < 1.0:
            if self._cov is not None and self._L is not None:
                d2 = _linalg.refined_sq_distances(A, self._center, np.asarray(self._cov),
                                                  np.asarray(self._L))
            elif self._precision is not None:
                d2 = _direct_quadratic(A, self._center, np.asarray(self._precision))
            else:
                d2 = None
            if d2 is not None:
                np.maximum(d2, 0.0, out=d2)
                bad = int(d2.size - np.count_nonzero(np.isfinite(d2)))
                return (np.sqrt(d2, out=d2) if take_sqrt else d2), bad
        return _linalg.sq_distances(A, self._center, self._W, self._W_lower,
                                    take_sqrt=take_sqrt)

    @keyword_only(2, "squared")
    def distance(self, X: ArrayLike, *, squared: bool = False, nan_policy: str = "raise",
                 dtype: DTypeLike | None = None, return_counts: bool = False) -> Any:
        """Mahalanobis distances of the rows of X to the centre.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n, p)
            The points: NumPy, pandas, dask, or an Array API array (scored on its device).
        squared : bool
            False returns D, True returns D^2.
        nan_policy : {"raise", "omit", "propagate", "marginal"}
            Rows with NaN: an error (default), dropped (with a warning naming them), NaN, or
            ``"marginal"``: each row's D on its observed coordinates alone (the distance in
            the marginal law of those coordinates: sub-vector of the centre, sub-matrix of the
            scatter, factored once per missingness pattern). A row with nothing observed gets
            NaN (with a warning naming it).
        return_counts : bool
            Also return the number of coordinates each row was judged on: the result is then
            a pair ``(values, n_observed)`` (``n_observed`` an int array, or a Series for
            DataFrame input). Use it with ``nan_policy="marginal"``, where the count varies.

        dtype : {None, "float32", "float64"}
            Floating dtype of the computation and result. None: float64 for NumPy input, the
            input's own for Array API input (float32 stays float32).

        Returns
        -------
        ndarray of shape (n,)
            The distances; a pandas Series with X's index when X is a DataFrame; for an array
            of another library (PyTorch, JAX, CuPy...) an array of that library on X's device.

        Raises
        ------
        ValueError
            When X does not have p columns, or holds NaN with ``nan_policy="raise"``.

        See Also
        --------
        Metric.pvalue : The chi-squared p-values of the same distances.
        Metric.outliers : The rows beyond a chi-squared cutoff.
        mahalanobis.distance : The one-call form, fitting the metric too.

        Notes
        -----
        Arrays of other libraries are scored in their own namespace, on their own device (one
        GEMM per chunk with the inverse Cholesky factor, cached per library, device and dtype).
        float32 input is computed in float32: D^2 then has a relative error of about
        ``sqrt(p) * 6e-8`` plus ``6e-8 * |x - m| * |m| / D^2`` from rounding the data about
        the centre (about 1e-6 for standardised data); ``dtype="float64"`` computes in float64
        (where the device has it), which matches the NumPy result to 1e-12 for covariances
        with a correlation-form condition number below 1e5 (NumPy input above that gets one
        step of extended-precision refinement, Array API input does not).

        Examples
        --------
        >>> import mahalanobis as mh
        >>> m = mh.Metric([0.0, 0.0], [[4.0, 2.0], [2.0, 2.0]])
        >>> m.distance([[2.0, 1.0], [0.0, 0.0], [4.0, -2.0]])
        array([1.        , 0.        , 4.47213595])
        >>> m.distance([[4.0, -2.0]], squared=True)
        array([20.])
        """
        squared = check_bool(squared, "squared")
        return_counts = check_bool(return_counts, "return_counts")
        if nan_policy == "marginal" and not _array_api.is_foreign(X):
            d2, counts, data = _numpy_metric(self)._marginal_sq(X)
            d = d2 if squared else np.sqrt(d2)
            return _with_counts(_wrap(_np_dtype(d, dtype), data, "d2" if squared else
                                      "distance"), counts, data, return_counts)
        if self._xp is not None or _array_api.is_foreign(X):
            return _counted(_xp_distance(self, X, squared, nan_policy, dtype), self,
                            return_counts)
        if is_dask(X):
            from ._dask._score import metric_distance
            return metric_distance(self, X, squared=squared, nan_policy=nan_policy)
        d, data = self._sq_checked(X, nan_policy, take_sqrt=not squared)
        return _with_counts(_wrap(_np_dtype(d, dtype), data, "d2" if squared else "distance"),
                            None, data, return_counts, self.n_features)

    def pairwise(self, XA: ArrayLike, XB: ArrayLike | None = None, *, squared: bool = False,
                 nan_policy: str = "raise", dtype: DTypeLike | None = None) -> Any:
        """Mahalanobis distances between every row of XA and every row of XB under this
        metric's scatter (the centre plays no part), or among the rows of XA.

        Both sets are whitened once; the squared distances of a block of pairs then come from
        one GEMM, ``|a|^2 + |b|^2 - 2 a.b``, clamped at 0, and pairs where that expansion
        cancels (close points) are recomputed directly, so every entry keeps its relative
        accuracy. Without XB the result is exactly symmetric with a zero diagonal.

        Parameters
        ----------
        XA : array-like or DataFrame of shape (n_A, p)
            The first set of points.
        XB : array-like or DataFrame of shape (n_B, p), optional
            The second set; None gives the distances among the rows of XA.
        squared : bool, default False
            False returns D, True returns D^2.
        nan_policy : {"raise", "omit", "propagate"}, default "raise"
            Rows with NaN: an error, dropped (with a warning naming them), or rows of NaN.
        dtype : {None, "float32", "float64"}
            Floating dtype of the result (see :meth:`distance`).

        Returns
        -------
        ndarray of shape (n_A, n_B)
            The distances; a DataFrame labelled by the inputs' indexes when either is a
            DataFrame. Arrays of another library give an array of that library on their
            device, in their floating dtype unless ``dtype`` says otherwise.

        Raises
        ------
        ValueError
            When XA or XB does not have p columns, or holds NaN with ``nan_policy="raise"``.

        See Also
        --------
        mahalanobis.pairwise : The one-call form, fitting the scatter too.
        Metric.distance : Distances to the centre.

        Examples
        --------
        >>> import mahalanobis as mh
        >>> m = mh.Metric([0.0, 0.0], [[4.0, 2.0], [2.0, 2.0]])
        >>> m.pairwise([[2.0, 1.0], [0.0, 0.0], [4.0, -2.0]])
        array([[0.        , 1.        , 4.12310563],
               [1.        , 0.        , 4.47213595],
               [4.12310563, 4.47213595, 0.        ]])
        """
        squared = check_bool(squared, "squared")
        if self._xp is not None or _array_api.is_foreign(XA, XB):
            return _xp_pairwise(self, XA, XB, squared, nan_policy, dtype)
        check_nan_policy(nan_policy)
        A = self._check_X(XA, nan_policy, "XA")
        B = None if XB is None else self._check_X(XB, nan_policy, "XB")
        return _np_dtype(self._pairwise_data(A, B, squared), dtype)

    def _pairwise_data(self, A: Data, B: Data | None, squared: bool) -> Any:
        """:meth:`pairwise` of checked data."""
        # Centring by a common shift leaves differences unchanged but shrinks the norms, and
        # with them the cancellation in the expansion.
        finite = np.isfinite(A.values).all(axis=1)
        shift = A.values[finite].mean(axis=0) if finite.any() else self._center
        if self._rcond * _linalg.REFINE_CONDITION < 1.0 and self._L is not None:
            # ill-conditioned: S^-1 applied with iterative refinement, as for distance
            out = _linalg.refined_pairwise_sq(A.values, None if B is None else B.values,
                                              shift, np.asarray(self.cov), np.asarray(self._L))
            if not squared:
                np.sqrt(out, out=out)
        else:
            ZA = _linalg.whiten_rows(A.values, shift, self._W, self._W_lower)
            ZB = (None if B is None else
                  _linalg.whiten_rows(B.values, shift, self._W, self._W_lower))
            # near pairs are recomputed from the raw rows' exact differences
            out = _linalg.pairwise_sq(ZA, ZB, XA=A.values, XB=None if B is None else B.values,
                                      W=self._W, lower=self._W_lower, take_sqrt=not squared)
        out = self._pairwise_overflow(A, B, squared, out)
        if A.index is None and (B is None or B.index is None):
            return out
        import pandas as pd
        rows = A.index if A.index is not None else pd.RangeIndex(out.shape[0])
        cols = (rows if B is None else (B.index if B.index is not None
                                        else pd.RangeIndex(out.shape[1])))
        return pd.DataFrame(out, index=rows, columns=cols)

    def _pairwise_overflow(self, A: Data, B: Data | None, squared: bool,
                           out: np.ndarray) -> np.ndarray:
        """Entries that overflowed for finite points (D^2 beyond 1e308, or the expansion's
        inf - inf) come again from the points divided by a power of two (exact, and D(x/s) =
        D(x)/s): D is right whenever it is representable; D^2 beyond float64 is inf."""
        if np.isfinite(out).all():
            return out
        vals = [A.values] + ([] if B is None else [B.values])
        if not all(np.isfinite(v).all() for v in vals):
            return out  # NaN rows under nan_policy="propagate": NaN is their answer
        top = max(float(np.max(np.abs(v))) for v in vals)
        if not top > 1.0:
            return out
        scale = 2.0 ** math.ceil(math.log2(top))
        sA = Data(values=A.values / scale)
        sB = None if B is None else Data(values=B.values / scale)
        d = self._pairwise_data(sA, sB, False) * scale
        with np.errstate(over="ignore"):
            return d * d if squared else d

    @keyword_only(2, "kind")
    @renamed_parameters(method="kind")
    def whiten(self, X: ArrayLike, *, kind: str = "cholesky", nan_policy: str = "raise",
               dtype: DTypeLike | None = None) -> Any:
        """Whitened coordinates z with ||z||^2 = D^2(x) and identity covariance under S.

        ``kind="cholesky"`` (default): z = L^-1 (x - m) with S = L L^T; coordinate k is the
        standardised residual of feature k given features 1..k-1. ``"zca"``: z = S^-1/2 (x - m),
        the whitening closest to the original coordinates. ``"pca"``: z = Lambda^-1/2 U^T (x - m)
        with components by decreasing variance. Arrays of another library are whitened on their
        device and returned in their namespace (see :meth:`distance` for ``dtype``).

        When the correlation form of S has condition number above 1e5, the Cholesky kind (NumPy
        input) is refined: one step of iterative refinement of the triangular solve and a
        first-order correction of the computed factor towards the exact factor of S, so that z
        matches the exact L^-1 (x - m) to about 1e-13 at condition 1e8, as :meth:`distance`
        matches D^2 (plain whitening: about 1e-10).

        Parameters
        ----------
        X : array-like or DataFrame of shape (n, p)
            The points.
        kind : {"cholesky", "zca", "pca"}, default "cholesky"
            The whitening transform.
        nan_policy : {"raise", "omit", "propagate"}, default "raise"
            Rows with NaN: an error, dropped (with a warning naming them), or rows of NaN.
        dtype : {None, "float32", "float64"}
            Floating dtype of the result.

        Returns
        -------
        ndarray of shape (n, p)
            The whitened coordinates; a DataFrame with X's index when X is a DataFrame.

        Raises
        ------
        ValueError
            For an unknown ``kind``, or X with the wrong number of columns.

        See Also
        --------
        mahalanobis.whiten : The one-call form, fitting the metric too.
        Metric.distance : The norms of these rows.

        Examples
        --------
        >>> import mahalanobis as mh
        >>> m = mh.Metric([0.0, 0.0], [[4.0, 2.0], [2.0, 2.0]])
        >>> m.whiten([[2.0, 1.0], [4.0, -2.0]])
        array([[ 1.,  0.],
               [ 2., -4.]])
        """
        check_choice(kind, "kind", _WHITEN_KINDS)
        if self._xp is not None or _array_api.is_foreign(X):
            return _xp_whiten(self, X, kind, nan_policy, dtype)
        data = self._check_X(X, nan_policy)
        A = data.values - self._center
        if kind == "cholesky" and self._rcond * _linalg.REFINE_CONDITION < 1.0 and \
                self._cov is not None:
            Z = _refined_cholesky_whiten(A, np.asarray(self._cov), np.asarray(self.cholesky))
            names = self._feature_names or (list(map(str, data.columns))
                                            if data.columns is not None else None)
        elif kind == "cholesky":
            Z = _linalg.solve_triangular(np.asarray(self.cholesky), A.T, lower=True).T
            names = self._feature_names or (list(map(str, data.columns))
                                            if data.columns is not None else None)
        else:
            lam, U = np.linalg.eigh(np.asarray(self.cov))
            lam, U = lam[::-1], _sign_fixed(U[:, ::-1])
            Z = (A @ U) / np.sqrt(lam)
            if kind == "zca":
                Z = Z @ U.T
                names = self._feature_names or (list(map(str, data.columns))
                                                if data.columns is not None else None)
            else:
                names = [f"pc{k + 1}" for k in range(self.n_features)]
        if data.index is None:
            return _np_dtype(Z, dtype)
        import pandas as pd
        return pd.DataFrame(Z, index=data.index, columns=names)

    # ----------------------------------------------------------------- new observations
    def new_point_reference(self) -> tuple[str, int | None]:
        """The law ``reference="auto"`` judges a *new* observation's D^2 by: ``("f", n)`` --
        D^2 ~ p (n + 1)(n - 1) / (n (n - p)) F(p, n - p), the prediction law of a point
        independent of an estimate from n normal points --, ``("simulated", n)`` -- the law of
        a new point's D^2 under the same estimator at (n, p), by a seeded Monte Carlo
        simulation cached on disk (:func:`mahalanobis.inference.calibration.new_point_law`) --
        or ``("chi2", None)`` for known parameters. A metric from given parameters is "chi2";
        a classical fit with ``n_samples`` is "f" with n = n_samples; robust estimators
        override this (MCD fits and the reweighted MCD of :func:`mahalanobis.outliers`:
        "simulated" below 500 rows, Cerioli's F with n = the rows kept by the reweighting
        from there on).

        Returns
        -------
        tuple of (str, int or None)
            ``("f", n)``, ``("simulated", n)`` or ``("chi2", None)``.

        See Also
        --------
        Metric.prediction_reference : The same law in words.
        Metric.pvalue : The p-values under it.

        Examples
        --------
        >>> import numpy as np
        >>> import mahalanobis as mh
        >>> X = np.random.default_rng(0).standard_normal((50, 2))
        >>> mh.fit(X).new_point_reference()
        ('f', 50)
        >>> mh.Metric([0.0, 0.0], [[1.0, 0.0], [0.0, 1.0]]).new_point_reference()
        ('chi2', None)
        """
        n, p = self.n_samples, self.n_features
        if self.method == "empirical" and n is not None and n > p:
            return "f", int(n)
        return "chi2", None

    @property
    def prediction_reference(self) -> str:
        """In words, the law ``pvalue`` and ``outliers`` use for new observations by default.

        See Also
        --------
        Metric.new_point_reference : The same law as (kind, n).

        Examples
        --------
        >>> import mahalanobis as mh
        >>> mh.Metric([0.0, 0.0], [[1.0, 0.0], [0.0, 1.0]]).prediction_reference
        'chi2(p=2) (centre and scatter taken as known)'
        """
        return _law_words(*self.new_point_reference(), self.n_features)

    def _prediction_law(self, progress: bool = False) -> Any:
        """The simulated law of ``new_point_reference() == ("simulated", n)`` (an object with
        ``sf(d2)``, ``cutoff(alpha)`` and ``n_reps``); estimators that report "simulated"
        provide it."""
        raise NotImplementedError(f"{type(self).__name__} has no simulated prediction law; "
                                  "use reference='chi2' or 'f'.")

    def new_point_law(self, reference: str = "auto", *, progress: bool = False) -> Any:
        """The law of a new observation's D^2 that :meth:`pvalue` and :meth:`outliers` use.

        Parameters
        ----------
        reference : {"auto", "chi2", "f"}, default "auto"
            As in :meth:`pvalue` ("auto": :meth:`new_point_reference`).
        progress : bool
            Progress bar while a simulated law is computed (first use at an (n, p) only).

        Returns
        -------
        NewPointLaw
            ``kind`` ("chi2", "f" or "simulated"), ``n``, ``sf(d2)`` (p-values),
            ``cutoff(alpha)`` (the D^2 a new point from the fitted law exceeds with
            probability alpha) and ``description`` (in words).

        Raises
        ------
        ValueError
            For an unknown ``reference``, or "f" without ``n_samples``.

        See Also
        --------
        Metric.new_point_reference : Which law "auto" picks.

        Examples
        --------
        >>> import numpy as np
        >>> import mahalanobis as mh
        >>> law = mh.fit(np.random.default_rng(0).standard_normal((50, 2))).new_point_law()
        >>> law.kind, law.n, round(law.cutoff(0.05), 3)
        ('f', 50, 6.645)
        """
        kind, n = self._law(reference)
        p = self.n_features
        if kind == "simulated":
            sim = self._prediction_law(progress=progress)
            words = _law_words(kind, n, p).replace("(seeded", f"({sim.n_reps} fits; seeded")
            return NewPointLaw(kind, n, p, words, sim.sf, sim.cutoff)
        if kind == "f":
            assert n is not None
            scale = p * (n + 1.0) * (n - 1.0) / (n * (n - p))
            return NewPointLaw(kind, n, p, _law_words(kind, n, p),
                               lambda d2: stats.f.sf(np.asarray(d2) / scale, p, n - p),
                               lambda a: scale * stats.f.isf(a, p, n - p))
        return NewPointLaw(kind, n, p, _law_words(kind, n, p),
                           lambda d2: stats.chi2.sf(d2, p), lambda a: stats.chi2.isf(a, p))

    def _law(self, reference: str) -> tuple[str, int | None]:
        reference = check_choice(reference, "reference", ("auto", "chi2", "f"))
        if reference == "chi2":
            return "chi2", None
        kind, n = self.new_point_reference()
        if reference == "auto":
            return kind, n
        n = n if kind == "f" else self.n_samples
        if n is None or n <= self.n_features:
            raise ValueError("reference='f' needs the number of points the metric was "
                             "estimated from (n_samples > n_features); build the metric with "
                             "n_samples=... or use reference='chi2'.")
        return "f", int(n)

    def pvalue(self, X: ArrayLike, *, nan_policy: str = "raise",
               dtype: DTypeLike | None = None, return_counts: bool = False,
               reference: str = "auto") -> Any:
        """Upper-tail p-values P(T >= D^2) of new observations X: the chance that a new point
        from the fitted law lies at least this far out. Arrays of another library give
        p-values in that library (the F tail is computed on the host).

        Parameters
        ----------
        X : array-like or DataFrame of shape (n, p)
            The points.
        nan_policy : {"raise", "omit", "propagate", "marginal"}, default "raise"
            Rows with NaN: an error, dropped (with a warning naming them), NaN, or
            ``"marginal"``: each row judged on its observed coordinates, with the chi-squared
            law on their number.
        dtype : {None, "float32", "float64"}
            Floating dtype of the result.
        return_counts : bool, default False
            Also return the number of coordinates each row was judged on (see
            :meth:`distance`).
        reference : {"auto", "chi2", "f"}, default "auto"
            The law of a new observation's D^2: "auto" uses :meth:`new_point_reference` (the
            F prediction law for classical fits, the simulated law of the same estimator for
            MCD fits below 500 rows -- the first call at a new (n, p) simulates it once, a
            few seconds, then it is read from the cache --, chi-squared for given
            parameters); "chi2" treats the centre and scatter as known; "f" forces the F law
            (needs ``n_samples``). ``nan_policy="marginal"`` always uses chi-squared on the
            observed count.

        Returns
        -------
        ndarray of shape (n,)
            The p-values; a pandas Series with X's index when X is a DataFrame.

        Raises
        ------
        ValueError
            When X does not have p columns, or holds NaN with ``nan_policy="raise"``.

        See Also
        --------
        Metric.outliers : The rows whose p-value is below a level.
        Metric.prediction_reference : The law used, in words.
        mahalanobis.inference.pvalue : p-values under other reference distributions.

        Examples
        --------
        >>> import mahalanobis as mh
        >>> m = mh.Metric([0.0, 0.0], [[4.0, 2.0], [2.0, 2.0]])
        >>> m.pvalue([[2.0, 1.0], [0.0, 0.0]]).round(4)   # exp(-D^2 / 2) for p = 2
        array([0.6065, 1.    ])
        """
        return_counts = check_bool(return_counts, "return_counts")
        if nan_policy == "marginal" and not _array_api.is_foreign(X):
            d2, counts, data = _numpy_metric(self)._marginal_sq(X)
            pv = np.full(d2.shape, np.nan)
            ok = counts > 0
            pv[ok] = stats.chi2.sf(d2[ok], counts[ok])
            return _with_counts(_wrap(_np_dtype(pv, dtype), data, "pvalue"), counts, data,
                                return_counts)
        if return_counts:
            return _counted(self.pvalue(X, nan_policy=nan_policy, dtype=dtype,
                                        reference=reference), self, True)
        law = self.new_point_law(reference)
        kind, sf = law.kind, law.sf
        if self._xp is not None or _array_api.is_foreign(X) or is_dask(X):
            if kind != "chi2":  # the F / simulated tail on the host (or lazily, by block)
                return _other_pvalue(self, X, sf, nan_policy, dtype)
            if self._xp is not None or _array_api.is_foreign(X):
                return _xp_pvalue(self, X, nan_policy, dtype)
            from ._dask._score import metric_pvalue
            return metric_pvalue(self, X, nan_policy=nan_policy)
        d2, data = self._sq_checked(X, nan_policy)
        return _wrap(_np_dtype(np.asarray(sf(d2), dtype=float), dtype), data, "pvalue")

    def outliers(self, X: ArrayLike, alpha: float = 0.025, *, nan_policy: str = "raise",
                 dtype: DTypeLike | None = None, return_counts: bool = False,
                 reference: str = "auto") -> Any:
        """Boolean mask of new observations with p-value below alpha (same ``reference`` as
        :meth:`pvalue`): D^2 above the F prediction cutoff for fitted metrics, above
        chi2_{p, 1-alpha} for given parameters. To flag the rows a metric was fitted on, use
        :func:`mahalanobis.outliers` (in-sample laws). Arrays of another library give a boolean
        array of that library (the cutoff is one number computed on the host).

        Parameters
        ----------
        X : array-like or DataFrame of shape (n, p)
            The points.
        alpha : float, default 0.025
            Test level: the share of points from N(m, S) that are flagged.
        nan_policy : {"raise", "omit", "propagate", "marginal"}, default "raise"
            Rows with NaN: an error, dropped (with a warning naming them), never flagged, or
            ``"marginal"``: each row's D^2 on its k observed coordinates compared with
            chi2_{k, 1-alpha} (a row with nothing observed is not flagged).
        dtype : {None, "float32", "float64"}
            Floating dtype of the computation.
        return_counts : bool, default False
            Also return the number of coordinates each row was judged on (see
            :meth:`distance`).
        reference : {"auto", "chi2", "f"}, default "auto"
            As in :meth:`pvalue`.

        Returns
        -------
        ndarray of bool, shape (n,)
            True for a flagged point; a pandas Series with X's index when X is a DataFrame.

        Raises
        ------
        ValueError
            When ``alpha`` is not in (0, 1), or X does not have p columns.

        See Also
        --------
        Metric.pvalue : The p-values behind the mask.
        mahalanobis.outliers : Flag the rows a metric was fitted on (in-sample laws).
        mahalanobis.inference.cutoff : Cutoffs for estimated (and robust) metrics.

        Examples
        --------
        >>> import mahalanobis as mh
        >>> m = mh.Metric([0.0, 0.0], [[4.0, 2.0], [2.0, 2.0]])
        >>> m.outliers([[2.0, 1.0], [0.0, 0.0], [4.0, -2.0]])
        array([False, False,  True])
        """
        alpha = check_fraction(alpha, "alpha")
        return_counts = check_bool(return_counts, "return_counts")
        if nan_policy == "marginal" and not _array_api.is_foreign(X):
            d2, counts, data = _numpy_metric(self)._marginal_sq(X)
            # one chi-squared quantile per observed count (at most p + 1 of them)
            cuts = np.full(self.n_features + 1, np.inf)
            cuts[1:] = stats.chi2.isf(alpha, np.arange(1, self.n_features + 1))
            flags = d2 > cuts[counts]
            return _with_counts(_wrap(flags, data, "outlier"), counts, data, return_counts)
        if return_counts:
            return _counted(self.outliers(X, alpha, nan_policy=nan_policy, dtype=dtype,
                                          reference=reference), self, True)
        law = self.new_point_law(reference)
        kind, cut = law.kind, float(law.cutoff(alpha))
        if self._xp is not None or _array_api.is_foreign(X) or is_dask(X):
            if kind != "chi2":  # one host number compared on the device (or lazily)
                d2 = self.distance(X, squared=True, nan_policy=nan_policy, dtype=dtype)
                out = d2 > float(cut)
                return out.rename("outlier") if hasattr(out, "rename") else out
            if self._xp is not None or _array_api.is_foreign(X):
                return _xp_outliers(self, X, alpha, nan_policy, dtype)
            from ._dask._score import metric_outliers
            return metric_outliers(self, X, alpha=alpha, nan_policy=nan_policy)
        d2, data = self._sq_checked(X, nan_policy)
        return _wrap(d2 > cut, data, "outlier")

    def _marginal_sq(self, X: Any, name: str = "X") -> tuple[np.ndarray, np.ndarray, Data]:
        """D^2 of each row on its observed coordinates, the counts, and the checked data."""
        if is_dask(X):
            raise TypeError(f"nan_policy='marginal' is not available for dask input; compute "
                            f"{name} (or a partition of it) to NumPy first.")
        data = self._check_X(X, "propagate", name, check_finite=False)
        A = data.values
        fast = (_missing.marginal_kernel(A, self._center, self._W, self._W_lower, name=name)
                if self._rcond * _linalg.REFINE_CONDITION >= 1.0 else None)
        if fast is not None:  # one compiled pass (complete rows: the same kernel as _sq)
            d2, counts = fast[0], fast[1]
        else:  # no compiled kernels, or an ill-conditioned scatter (refined complete rows)
            _missing.check_no_inf(A, name)
            counts = A.shape[1] - np.count_nonzero(np.isnan(A), axis=1)
            d2 = _missing.marginal_sq(A, None, self._center, self._W, self._W_lower, self._sq)
        _warn_empty(np.flatnonzero(counts == 0), data, name)
        return d2, counts, data

    def impute(self, X: Any, *, return_cov: bool = False) -> Any:
        """Conditional-mean imputation: each missing (NaN) cell replaced by its expectation
        given the row's observed cells under N(center, cov) (the E-step of EM).

        Parameters
        ----------
        X : array-like or DataFrame of shape (n, p)
            NaN marks a missing cell; infinite values are an error.
        return_cov : bool
            Also return the conditional covariance of each row's imputed cells, an array of
            shape (n, p, p) that is zero outside the row's missing block (n p^2 numbers: for
            large n, impute in chunks).

        Returns
        -------
        X_imputed : ndarray of shape (n, p), or a DataFrame like X
            X with its NaN cells filled; observed cells unchanged. A row with nothing observed
            gets the centre.
        cov : ndarray of shape (n, p, p)
            Only with ``return_cov=True``.

        Raises
        ------
        ValueError
            For infinite values or a wrong number of columns.

        See Also
        --------
        mahalanobis.covariance.em : maximum-likelihood centre and scatter with missing cells.
        distance : ``nan_policy="marginal"`` for distances on the observed coordinates.

        Examples
        --------
        >>> import numpy as np
        >>> import mahalanobis as mh
        >>> m = mh.Metric([0.0, 0.0], [[1.0, 0.8], [0.8, 1.0]])
        >>> m.impute(np.array([[1.0, np.nan], [np.nan, -2.0]]))
        array([[ 1. ,  0.8],
               [-1.6, -2. ]])
        >>> X_hat, C = m.impute(np.array([[1.0, np.nan]]), return_cov=True)
        >>> np.round(C[0], 2)
        array([[0.  , 0.  ],
               [0.  , 0.36]])
        """
        if _array_api.is_foreign(X) or is_dask(X):
            raise TypeError("Metric.impute takes NumPy arrays or DataFrames; convert the input "
                            "(e.g. np.asarray(X)) first.")
        m = _numpy_metric(self)
        data = m._check_X(X, "propagate", "X", check_finite=False)
        fast = (None if return_cov or m._rcond * _linalg.REFINE_CONDITION < 1.0 else
                _missing.marginal_kernel(data.values, m._center, m._W, m._W_lower, impute=True))
        if fast is not None:  # one compiled pass
            out, E = fast[2], {}
        else:
            rows = _missing.missing_rows(data.values, "X")
            E = _missing.conditional(data.values, rows, m._center, np.asarray(m.precision),
                                     want_cov_rows=return_cov)
            out = E["X_hat"]
        if data.index is not None:
            import pandas as pd
            out = pd.DataFrame(out, index=data.index, columns=data.columns)
        return (out, E["cov_rows"]) if return_cov else out

    def ellipsoid(self, level: float = 0.95, kind: str = "chi2", *,
                  n: int | None = None) -> Any:
        """The ellipsoid {x : D^2(x) <= r2} holding probability ``level``.

        ``kind="chi2"`` treats the centre and scatter as known (the 95 % ellipse in p = 2 is
        D^2 = 5.991); ``"prediction"`` and ``"confidence"`` use F quantiles for a new
        observation and for the mean when they were estimated from ``n`` points (default
        ``n_samples``). See :class:`mahalanobis.Ellipsoid`.

        Parameters
        ----------
        level : float, default 0.95
            Probability content of the ellipsoid.
        kind : {"chi2", "prediction", "confidence"}, default "chi2"
            Which quantile gives the squared radius.
        n : int, optional
            Number of points the parameters were estimated from (``"prediction"`` and
            ``"confidence"`` only); default ``n_samples``.

        Returns
        -------
        Ellipsoid
            The ellipsoid, with its axes, radii and volume.

        Raises
        ------
        ValueError
            When ``level`` is not in (0, 1), or ``kind`` needs ``n`` and none is known.

        See Also
        --------
        mahalanobis.Ellipsoid.from_metric : The same, as a constructor.

        Examples
        --------
        >>> import mahalanobis as mh
        >>> m = mh.Metric([0.0, 0.0], [[4.0, 2.0], [2.0, 2.0]])
        >>> e = m.ellipsoid(0.95)
        >>> round(e.r2, 3)
        5.991
        >>> e.contains([[2.0, 1.0], [4.0, -2.0]])
        array([ True, False])
        """
        if self._xp is not None:
            raise _array_api.unsupported(self._center, "metric", "Metric.ellipsoid()")
        from .ellipsoid import Ellipsoid
        return Ellipsoid.from_metric(self, level, kind, n=n)

    # ----------------------------------------------------------------- display
    def __repr__(self) -> str:
        parts = [f"n_features={self.n_features}"]
        if self.method is not None:
            parts.append(f"method={self.method!r}")
        if self.n_samples is not None:
            parts.append(f"n_samples={self.n_samples}")
        parts.append(f"log_det={self._log_det:.6g}")
        return f"{type(self).__name__}({', '.join(parts)})"


def _numpy_metric(m: Metric) -> Metric:
    """The metric itself, or its NumPy copy when it was built from another library's arrays
    (for NumPy input)."""
    return m if m._xp is None else _host(m)


def _warn_empty(empty: np.ndarray, data: Data, name: str) -> None:
    if empty.size:
        labels = (list(data.index[empty[:5]]) if data.index is not None
                  else empty[:5].tolist())
        more = f" and {empty.size - 5} more" if empty.size > 5 else ""
        warnings.warn(f"{name}: {empty.size} row(s) have no observed coordinate (rows {labels}"
                      f"{more}); their distance and p-value are NaN and they are not flagged.",
                      UserWarning, stacklevel=4)


def _with_counts(values: Any, counts: np.ndarray | None, data: Data, return_counts: bool,
                 p: int = 0) -> Any:
    """``values``, or ``(values, n_observed)`` when ``return_counts``."""
    if not return_counts:
        return values
    if counts is None:
        counts = np.full(len(values), p, dtype=np.intp)
    return values, _wrap(np.asarray(counts, dtype=np.intp), data, "n_observed")


def _counted(values: Any, m: Metric, return_counts: bool) -> Any:
    """(values, n_observed) for policies other than "marginal": every kept row was judged on
    all p coordinates (for "propagate", rows with NaN give NaN whatever the count)."""
    if not return_counts:
        return values
    counts = np.full(len(values), m.n_features, dtype=np.intp)
    index = getattr(values, "index", None)
    if index is not None:
        import pandas as pd
        return values, pd.Series(counts, index=index, name="n_observed")
    return values, counts


def _other_pvalue(m: Metric, X: Any, sf: Any, nan_policy: str, dtype: Any) -> Any:
    """p-values sf(D^2) for arrays of another library (computed on the host, returned on
    their device) and for dask input (lazily, block by block)."""
    d2 = m.distance(X, squared=True, nan_policy=nan_policy,
                    **({} if is_dask(X) else {"dtype": dtype}))
    if is_dask(X):
        if hasattr(d2, "map_partitions"):  # a dask Series
            return d2.map_partitions(lambda s: s.pipe(lambda v: type(v)(
                sf(v.to_numpy()), index=v.index, name="pvalue")), meta=("pvalue", float))
        return d2.map_blocks(lambda b: sf(b).astype(float), dtype=float)
    xp, device = _array_api.namespace(d2), _array_api.device_of(d2)
    return _array_api.to_namespace(sf(_array_api.to_numpy(d2)), xp, device, d2.dtype)


@dataclass(frozen=True)
class NewPointLaw:
    """The law of a new observation's D^2 (:meth:`Metric.new_point_law`): ``kind`` "chi2",
    "f" or "simulated", ``n`` the rows of the estimate, ``sf(d2)`` and ``cutoff(alpha)``."""

    kind: str
    n: int | None
    p: int
    description: str
    _sf: Any = field(repr=False)
    _isf: Any = field(repr=False)

    def sf(self, d2: Any) -> np.ndarray:
        """P(D^2 >= d2) for a new point from the fitted law."""
        return np.asarray(self._sf(np.asarray(d2, dtype=float)), dtype=float)

    def cutoff(self, alpha: float = 0.025) -> float:
        """The D^2 a new point exceeds with probability alpha."""
        return float(self._isf(check_fraction(alpha, "alpha")))


def _law_words(kind: str, n: int | None, p: int) -> str:
    if kind == "simulated":
        return (f"Monte Carlo law of a new point's D^2 under this estimator at n={n}, p={p} "
                "(seeded, cached; exact for an affine-equivariant estimator)")
    if kind == "f":
        return (f"F prediction law: n(n-p) D^2/(p(n+1)(n-1)) ~ F(p, n-p), n={n}, p={p} "
                "(a new point, estimated centre and scatter)")
    return f"chi2(p={p}) (centre and scatter taken as known)"


def _is_frame(X: Any) -> bool:
    from ._validation import is_dataframe
    return is_dataframe(X)


def _sign_fixed(U: Any) -> Any:
    """Eigenvectors (columns) with the sign that makes each one's largest entry positive, so
    that PCA whitening does not depend on the eigensolver's arbitrary signs (NumPy and every
    Array API library give the same components)."""
    if not _array_api.is_foreign(U):
        return U * np.sign(U[np.argmax(np.abs(U), axis=0), np.arange(U.shape[1])])
    xp = _array_api.namespace(U)
    big = xp.take_along_axis(U, xp.argmax(xp.abs(U), axis=0)[None, :], axis=0)
    return U * xp.sign(big)


def _refined_cholesky_whiten(V: np.ndarray, S: np.ndarray, L: np.ndarray) -> np.ndarray:
    """Rows z = L*^-1 v of the centred rows V for an ill-conditioned S, where L* is the exact
    Cholesky factor of S and L the computed one (L L^T = S - R, |R| ~ eps |S|).

    Plain whitening by L is off by up to cond(S) * eps (7.8e-10 at condition 1e8); here
    (1) the triangular solve gets one step of iterative refinement, its residual v - L z
    accumulated in long double, and (2) the factor is corrected to first order:
    L* = L (I + F) with F the lower-triangular part of M = L^-1 R L^-T (its diagonal halved),
    R = S - L L^T formed in long double, so z = (I + F)^-1 L^-1 v. The error left is
    O(eps * cond(L)) from the long-double residuals and O(|F|^2), about 1e-13 at condition
    1e8 (tests/test_illcond.py)."""
    p = S.shape[0]
    L_ld = L.astype(np.longdouble)
    R = (S.astype(np.longdouble) - L_ld @ L_ld.T).astype(float)
    M = _linalg.solve_triangular(L, _linalg.solve_triangular(L, R, lower=True).T, lower=True)
    F = np.tril(M, -1) + np.diag(np.diag(M) / 2.0)
    out = np.empty_like(V)
    for s in range(0, V.shape[0], 4096):
        Vt = V[s:s + 4096].T
        Z = _linalg.solve_triangular(L, Vt, lower=True)
        r = (Vt.astype(np.longdouble) - L_ld @ Z.astype(np.longdouble)).astype(float)
        Z += _linalg.solve_triangular(L, r, lower=True)
        out[s:s + 4096] = _linalg.solve_triangular(np.eye(p) + F, Z, lower=True).T
    return out


def _direct_quadratic(A: np.ndarray, center: np.ndarray, P: np.ndarray) -> np.ndarray:
    """(x - m)^T P (x - m) accumulated in long double, for ill-conditioned precision input."""
    out = np.empty(A.shape[0])
    P_ld = P.astype(np.longdouble)
    rows = 4096
    for s in range(0, A.shape[0], rows):
        V = (A[s:s + rows] - center).astype(np.longdouble)
        out[s:s + rows] = np.einsum("ij,ij->i", V @ P_ld, V).astype(float)
    return out


# --------------------------------------------------------------------------- Array API
# Arrays of other libraries (PyTorch, JAX, CuPy, array-api-strict) are scored in their own
# namespace and on their own device; the kernels are in mahalanobis._array_api.
def _np_dtype(values: Any, dtype: Any) -> Any:
    """NumPy results in the asked-for dtype (computed in float64; float32 only casts)."""
    if dtype is not None and _array_api.check_dtype(dtype) == "float32":
        return values.astype(np.float32)
    return values


def _xp_factorise(center: Any, *, cov: Any = None, precision: Any = None,
                  cholesky: Any = None, lower: bool = True) -> dict[str, Any]:
    """Centre and factored scatter of a metric given as arrays of another library.

    Everything stays in that library, on the scatter's device, in its work dtype (float64
    where the device has it): the checks of :func:`as_xp_square_matrix`, then the Cholesky
    factor L, W = L^-1 and the singularity rule of :func:`mahalanobis._array_api.cholesky`.
    A precision P is factored as given (P = Lp Lp^T, log det S = -log det P), then S = P^-1
    from the inverse factor; a Cholesky factor is checked and multiplied out.
    """
    given = [a for a in (cov, precision, cholesky, center) if _array_api.is_foreign(a)]
    _array_api.namespace(*given)  # one library for all of them
    xp, dev, dt = _array_api.context(given[0])
    center = as_xp_vector(center, "center", xp, dev, dt)
    p = int(center.shape[0])
    log_det = None
    if precision is not None:
        P = as_xp_square_matrix(precision, "precision", xp, dev, dt, p)
        Lp, Wp, rcond = _array_api.cholesky(P, "precision")
        S = Wp.T @ Wp
        cov = (S + S.T) / 2
        log_det = -2.0 * float(xp.sum(xp.log(xp.linalg.diagonal(Lp))))
    elif cholesky is not None:
        T = as_xp_square_matrix(cholesky, "cholesky", xp, dev, dt, p, symmetric=False)
        Lg = xp.tril(T) if lower else xp.triu(T).T
        if bool(xp.any(xp.linalg.diagonal(Lg) == 0)):
            raise SingularCovarianceError(
                "cholesky has a zero on its diagonal, so the covariance it represents is "
                "singular; use a regularised estimator (method='ledoit_wolf', 'oas' or 'mrcd').",
                min_eigenvalue=0.0)
        cov = Lg @ Lg.T
    else:
        cov = as_xp_square_matrix(cov, "cov", xp, dev, dt, p)
    L, W, rc = _array_api.cholesky(cov, "cov")
    if precision is None:
        rcond = rc
        log_det = 2.0 * float(xp.sum(xp.log(xp.linalg.diagonal(L))))
    return dict(center=center, cov=cov, L=L, precision=None if precision is None else P,
                W=W, W_lower=True, log_det=log_det, rcond=rcond)


def _xp_factor(m: Metric, xp: Any, device: Any, dtype: Any, whitening: bool = False
               ) -> _array_api.Factor:
    """The metric's centre and whitening matrix in namespace xp, on ``device``, in ``dtype``:
    built once (p + p^2 numbers moved or cast) and cached on the metric. ``whitening`` asks
    for W = L^-1 of the covariance's Cholesky factor (a metric built from a NumPy precision
    matrix otherwise uses the precision's factor)."""
    key = (xp.__name__, str(device), str(dtype), whitening and not m._W_lower)
    cache = m.__dict__.get("_factors")
    if cache is None:
        cache = m._cache("_factors", {})
    f = cache.get(key)
    if f is None:
        W, lower = m._W, m._W_lower
        if whitening and not lower:
            W, lower = _linalg.inverse_triangular(np.asarray(m.cholesky), lower=True), True
        f = _array_api.Factor(xp, _array_api.to_namespace(m._center, xp, device, dtype),
                              _array_api.to_namespace(W, xp, device, dtype), lower)
        cache[key] = f
    return f


def _host(m: Metric) -> Metric:
    """A NumPy copy of a metric built from another library's arrays (for NumPy input)."""
    h = m.__dict__.get("_host_metric")
    if h is None:
        h = Metric.__new__(Metric)
        np64 = lambda a: None if a is None else _array_api.to_numpy(a).astype(float)  # noqa: E731
        h._setup(np64(m._center), cov=np64(m._cov),  # type: ignore[arg-type]  # center is set
                 L=np64(m._L), W=np64(m._W),
                 W_lower=m._W_lower, log_det=m._log_det, rcond=m._rcond,
                 feature_names=m._feature_names, warn=False, n_samples=m.n_samples)
        h._freeze()
        m._cache("_host_metric", h)
    return h


def _xp_data(m: Metric, X: Any, name: str, nan_policy: str, dtype: Any) -> Data:
    if nan_policy == "marginal":
        raise _array_api.unsupported(X, name, "nan_policy='marginal'")
    check_nan_policy(nan_policy)
    return as_xp_data(X, name, nan_policy=nan_policy, n_features=m.n_features,
                      dtype=_array_api.check_dtype(dtype), check_finite=False)


def _xp_apply_nan_policy(values: Any, data: Data, nan_policy: str, name: str) -> Any:
    """Apply ``nan_policy`` to per-row results after the fact (as :meth:`Metric._sq_checked`):
    one device reduction says whether any result is non-finite; only then does the row mask
    come to the host, to name the rows or drop them."""
    xp = _array_api.namespace(values)
    if nan_policy == "propagate":
        return values
    ok = xp.isfinite(values) if values.ndim == 1 else _array_api.rows_finite(xp, values)
    if bool(xp.all(ok)):
        return values
    finite_rows = _array_api.to_numpy(_array_api.rows_finite(xp, data.values))
    n = int(data.values.shape[0])
    _, _, kept = apply_nan_policy(np.empty((n, 0)), None, finite_rows, nan_policy, name)
    if kept is None:
        return values
    _report_omitted(Data(values=data.values, kept=kept, n_input=n), name)
    return values[xp.asarray(kept, device=_array_api.device_of(values))]


def _xp_sq(m: Metric, X: Any, nan_policy: str, dtype: Any) -> Any:
    """Squared distances of an Array API batch, on its device."""
    data = _xp_data(m, X, "X", nan_policy, dtype)
    xp = _array_api.namespace(data.values)
    f = _xp_factor(m, xp, _array_api.device_of(data.values), data.values.dtype)
    return _xp_apply_nan_policy(_array_api.sq_norms(f, data.values), data, nan_policy, "X")


def _xp_distance(m: Metric, X: Any, squared: bool, nan_policy: str, dtype: Any) -> Any:
    if not _array_api.is_foreign(X):
        return _host(m).distance(X, squared=squared, nan_policy=nan_policy, dtype=dtype)
    d2 = _xp_sq(m, X, nan_policy, dtype)
    return d2 if squared else _array_api.namespace(d2).sqrt(d2)


def _xp_pvalue(m: Metric, X: Any, nan_policy: str, dtype: Any) -> Any:
    if not _array_api.is_foreign(X):
        return _host(m).pvalue(X, nan_policy=nan_policy, dtype=dtype)
    d2 = _xp_sq(m, X, nan_policy, dtype)
    return _array_api.chi2_sf(_array_api.namespace(d2), d2, m.n_features)


def _xp_outliers(m: Metric, X: Any, alpha: float, nan_policy: str, dtype: Any) -> Any:
    if not _array_api.is_foreign(X):
        return _host(m).outliers(X, alpha, nan_policy=nan_policy, dtype=dtype)
    return _xp_sq(m, X, nan_policy, dtype) > float(stats.chi2.isf(alpha, m.n_features))


def _xp_whiten(m: Metric, X: Any, kind: str, nan_policy: str, dtype: Any) -> Any:
    if not _array_api.is_foreign(X):
        return _host(m).whiten(X, kind=kind, nan_policy=nan_policy, dtype=dtype)
    data = _xp_data(m, X, "X", nan_policy, dtype)
    A = data.values
    xp = _array_api.namespace(A)
    f = _xp_factor(m, xp, _array_api.device_of(A), A.dtype, whitening=True)
    if kind == "cholesky":
        Z = _array_api.whiten_rows(f, A)
    else:
        S = _array_api.to_namespace(m.cov if m._xp is not None else np.asarray(m.cov), xp,
                                    _array_api.device_of(A), A.dtype)
        lam, U = xp.linalg.eigh(S)
        lam, U = xp.flip(lam), _sign_fixed(xp.flip(U, axis=1))
        with _array_api.matmul_precision(xp):
            Z = ((A - f.center) @ U) / xp.sqrt(lam)
            if kind == "zca":
                Z = Z @ U.T
    return _xp_apply_nan_policy(Z, data, nan_policy, "X")


def _xp_pairwise(m: Metric, XA: Any, XB: Any, squared: bool, nan_policy: str,
                 dtype: Any) -> Any:
    """:meth:`Metric.pairwise` on Array API input: both sets whitened about a common shift on
    their device, then :func:`mahalanobis._array_api.pairwise_sq`."""
    if not _array_api.is_foreign(XA, XB):
        return _host(m).pairwise(XA, XB, squared=squared, nan_policy=nan_policy, dtype=dtype)
    check_nan_policy(nan_policy)
    if XB is not None and _array_api.is_foreign(XA) != _array_api.is_foreign(XB):
        raise TypeError("XA and XB must come from the same library: pass both as NumPy arrays "
                        "or both as arrays of one Array API library.")
    dtype = _array_api.check_dtype(dtype)
    if dtype is None and XB is not None:  # a common dtype: the wider of the two
        xp = _array_api.namespace(XA, XB)
        wide = xp.float64 in (XA.dtype, XB.dtype)
        dtype = "float64" if wide else None
    A = as_xp_data(XA, "XA", nan_policy=nan_policy, n_features=m.n_features, dtype=dtype)
    B = None if XB is None else as_xp_data(XB, "XB", nan_policy=nan_policy,
                                           n_features=m.n_features,
                                           dtype=dtype or str(A.values.dtype).rsplit(".")[-1])
    xp = _array_api.namespace(A.values)
    dev = _array_api.device_of(A.values)
    f = _xp_factor(m, xp, dev, A.values.dtype)
    finite = _array_api.rows_finite(xp, A.values)
    # centring by a common shift leaves differences unchanged but shrinks the norms
    shift = xp.mean(A.values[finite], axis=0) if bool(xp.any(finite)) else f.center
    fs = _array_api.Factor(xp, shift, f.W, f.W_lower)
    ZA = _array_api.whiten_rows(fs, A.values)
    ZB = None if B is None else _array_api.whiten_rows(fs, B.values)
    D = _array_api.pairwise_sq(xp, ZA, ZB)
    return D if squared else xp.sqrt(D)
