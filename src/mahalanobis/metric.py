"""`Metric`: a location and a factored scatter, built once and used many times."""

from __future__ import annotations

import warnings
from typing import Any, Protocol, runtime_checkable

import numpy as np
from scipy import stats

from . import _linalg
from ._deprecation import keyword_only, renamed_parameters
from ._validation import (
    Data,
    apply_nan_policy,
    as_data,
    as_square_matrix,
    as_vector,
    check_choice,
    check_fraction,
    check_int,
    check_nan_policy,
    is_dask,
    readonly,
)
from .errors import SingularCovarianceError

__all__ = ["Metric", "MetricLike"]

_WHITEN_KINDS = ("cholesky", "zca", "pca")


def _wrap(values: np.ndarray, data: Data, name: str) -> Any:
    """A pandas Series with the input's index when the input was a DataFrame, else the array."""
    if data.index is None:
        return values
    import pandas as pd
    return pd.Series(values, index=data.index, name=name)


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
    """

    @property
    def n_features_in_(self) -> int: ...

    def distance(self, X: Any, *, squared: bool = False, nan_policy: str = "raise") -> Any: ...

    def pvalue(self, X: Any, *, nan_policy: str = "raise") -> Any: ...

    def outliers(self, X: Any, alpha: float = 0.025, *, nan_policy: str = "raise") -> Any: ...


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
    """

    _center: np.ndarray
    _W: np.ndarray

    #: Name of the estimator that produced the metric (None for given parameters).
    method: str | None = None

    def __init__(self, center: Any, cov: Any, *, n_samples: Any = None,
                 feature_names: Any = None) -> None:
        center = as_vector(center, "center")
        cov = as_square_matrix(cov, "cov", center.shape[0])
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
        self._center = readonly(np.array(center, dtype=float))
        self._cov = None if cov is None else readonly(np.array(cov, dtype=float))
        self._L = None if L is None else readonly(L)
        self._precision = None if precision is None else readonly(np.array(precision))
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

    @classmethod
    def from_precision(cls, center: Any, precision: Any, *, n_samples: Any = None,
                       feature_names: Any = None) -> Metric:
        """A metric from a precision (inverse covariance) matrix P: D^2 = (x-m)^T P (x-m)."""
        center = as_vector(center, "center")
        P = as_square_matrix(precision, "precision", center.shape[0])
        Lp, rcond = _linalg.cholesky(P, "precision", return_rcond=True)
        self = cls.__new__(cls)
        # P = Lp Lp^T, so D^2 = ||Lp^T (x - m)||^2: the whitening matrix is upper triangular.
        self._setup(center, precision=P, W=np.ascontiguousarray(Lp.T), W_lower=False,
                    log_det=-_linalg.log_det_from_cholesky(Lp), rcond=rcond,
                    feature_names=feature_names, n_samples=n_samples)
        self._freeze()
        return self

    @classmethod
    def from_cholesky(cls, center: Any, cholesky: Any, *, lower: bool = True,
                      n_samples: Any = None, feature_names: Any = None) -> Metric:
        """A metric from a triangular factor of the covariance: S = L L^T (or U^T U).

        Only the triangle named by ``lower`` is read. Columns with a negative diagonal are
        flipped (that leaves S unchanged); a zero on the diagonal is a singular scatter.
        """
        center = as_vector(center, "center")
        T = as_square_matrix(cholesky, "cholesky", center.shape[0], symmetric=False)
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
        """The location m, shape (p,)."""
        return self._center

    @property
    def n_features(self) -> int:
        """Number of features p."""
        return int(self._center.shape[0])

    @property
    def n_features_in_(self) -> int:
        """Number of features p (the name scikit-learn and the metric variants use)."""
        return int(self._center.shape[0])

    @property
    def feature_names(self) -> tuple[str, ...] | None:
        return self._feature_names

    @property
    def cholesky(self) -> np.ndarray:
        """Lower Cholesky factor L of the covariance, S = L L^T."""
        if self._L is None:
            self._cache("_L", readonly(_linalg.cholesky(np.asarray(self.cov), "cov")))
        return self._L

    @property
    def cov(self) -> np.ndarray:
        """The scatter matrix S, shape (p, p). For a metric built from a precision matrix it is
        computed on first access from the precision's factor."""
        if self._cov is None:
            if self._L is not None:
                S = self._L @ self._L.T
            else:
                Winv = _linalg.inverse_triangular(self._W, lower=self._W_lower)
                S = Winv @ Winv.T
            self._cache("_cov", readonly((S + S.T) / 2))
        return self._cov

    @property
    def precision(self) -> np.ndarray:
        """The precision matrix S^-1, computed on first access (never used for distances)."""
        if self._precision is None:
            P = self._W.T @ self._W
            self._cache("_precision", readonly((P + P.T) / 2))
        return self._precision

    @property
    def log_det(self) -> float:
        """log det S (natural log)."""
        return self._log_det

    @property
    def condition_number(self) -> float:
        """Exact 2-norm condition number of S (largest over smallest eigenvalue)."""
        if self._cond_exact is None:
            S = self._cov if self._cov is not None else self.precision
            self._cache("_cond_exact", _linalg.condition_number(np.asarray(S)))
        return self._cond_exact

    # ----------------------------------------------------------------- distances
    def _check_X(self, X: Any, nan_policy: str, name: str = "X",
                 check_finite: bool = True) -> Data:
        names = self._feature_names if _is_frame(X) and self._feature_names else None
        if names is not None and not set(names) <= set(map(str, X.columns)):
            names = None  # columns not named like ours: fall back to positions
        data = as_data(X, name, nan_policy=nan_policy, n_features=self.n_features,
                       feature_names=_match_names(X, names) if names else None,
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
            d2_kept, index, kept = apply_nan_policy(d2[:, None], data.index, finite_rows,
                                                    nan_policy, name)
            if kept is not None:
                d2 = np.ascontiguousarray(d2_kept[:, 0])
                data = Data(values=data.values, index=index, kept=kept, columns=data.columns,
                            n_input=data.n_input)
                _report_omitted(data, name)
        return d2, data

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
    def distance(self, X: Any, *, squared: bool = False, nan_policy: str = "raise") -> Any:
        """Mahalanobis distances of the rows of X to the centre.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n, p)
        squared : bool
            False returns D, True returns D^2.
        nan_policy : {"raise", "omit", "propagate"}
            Rows with NaN: an error (default), dropped (with a warning naming them), or NaN.

        Returns
        -------
        ndarray of shape (n,), or a pandas Series with X's index when X is a DataFrame.
        """
        if is_dask(X):
            from ._dask._score import metric_distance
            return metric_distance(self, X, squared=squared, nan_policy=nan_policy)
        d, data = self._sq_checked(X, nan_policy, take_sqrt=not squared)
        return _wrap(d, data, "d2" if squared else "distance")

    def pairwise(self, XA: Any, XB: Any = None, *, squared: bool = False,
                 nan_policy: str = "raise") -> Any:
        """Mahalanobis distances between every row of XA and every row of XB under this
        metric's scatter (the centre plays no part), or among the rows of XA.

        Both sets are whitened once; the squared distances of a block of pairs then come from
        one GEMM, ``|a|^2 + |b|^2 - 2 a.b``, clamped at 0, and pairs where that expansion
        cancels (close points) are recomputed directly, so every entry keeps its relative
        accuracy. Without XB the result is exactly symmetric with a zero diagonal.

        Returns an (n_A, n_B) array, or a DataFrame labelled by the inputs' indexes when either
        is a DataFrame. ``squared=True`` gives D^2.
        """
        check_nan_policy(nan_policy)
        A = self._check_X(XA, nan_policy, "XA")
        B = None if XB is None else self._check_X(XB, nan_policy, "XB")
        return self._pairwise_data(A, B, squared)

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
        if A.index is None and (B is None or B.index is None):
            return out
        import pandas as pd
        rows = A.index if A.index is not None else pd.RangeIndex(out.shape[0])
        cols = (rows if B is None else (B.index if B.index is not None
                                        else pd.RangeIndex(out.shape[1])))
        return pd.DataFrame(out, index=rows, columns=cols)

    @keyword_only(2, "kind")
    @renamed_parameters(method="kind")
    def whiten(self, X: Any, *, kind: str = "cholesky", nan_policy: str = "raise") -> Any:
        """Whitened coordinates z with ||z||^2 = D^2(x) and identity covariance under S.

        ``kind="cholesky"`` (default): z = L^-1 (x - m) with S = L L^T; coordinate k is the
        standardised residual of feature k given features 1..k-1. ``"zca"``: z = S^-1/2 (x - m),
        the whitening closest to the original coordinates. ``"pca"``: z = Lambda^-1/2 U^T (x - m)
        with components by decreasing variance.
        """
        check_choice(kind, "kind", _WHITEN_KINDS)
        data = self._check_X(X, nan_policy)
        A = data.values - self._center
        if kind == "cholesky":
            Z = _linalg.solve_triangular(np.asarray(self.cholesky), A.T, lower=True).T
            names = self._feature_names or (list(map(str, data.columns))
                                            if data.columns is not None else None)
        else:
            lam, U = np.linalg.eigh(np.asarray(self.cov))
            lam, U = lam[::-1], U[:, ::-1]
            Z = (A @ U) / np.sqrt(lam)
            if kind == "zca":
                Z = Z @ U.T
                names = self._feature_names or (list(map(str, data.columns))
                                                if data.columns is not None else None)
            else:
                names = [f"pc{k + 1}" for k in range(self.n_features)]
        if data.index is None:
            return Z
        import pandas as pd
        return pd.DataFrame(Z, index=data.index, columns=names)

    def pvalue(self, X: Any, *, nan_policy: str = "raise") -> Any:
        """Upper-tail chi-squared p-values P(chi2_p >= D^2): the chance that a point drawn from
        N(m, S) lies at least this far out, with m and S taken as known."""
        if is_dask(X):
            from ._dask._score import metric_pvalue
            return metric_pvalue(self, X, nan_policy=nan_policy)
        d2, data = self._sq_checked(X, nan_policy)
        return _wrap(stats.chi2.sf(d2, self.n_features), data, "pvalue")

    def outliers(self, X: Any, alpha: float = 0.025, *, nan_policy: str = "raise") -> Any:
        """Boolean mask of points with p-value below alpha, i.e. D^2 > chi2_{p, 1-alpha}."""
        alpha = check_fraction(alpha, "alpha")
        if is_dask(X):
            from ._dask._score import metric_outliers
            return metric_outliers(self, X, alpha=alpha, nan_policy=nan_policy)
        d2, data = self._sq_checked(X, nan_policy)
        cut = stats.chi2.isf(alpha, self.n_features)
        return _wrap(d2 > cut, data, "outlier")

    def ellipsoid(self, level: float = 0.95, kind: str = "chi2", *,
                  n: int | None = None) -> Any:
        """The ellipsoid {x : D^2(x) <= r2} holding probability ``level``.

        ``kind="chi2"`` treats the centre and scatter as known (the 95 % ellipse in p = 2 is
        D^2 = 5.991); ``"prediction"`` and ``"confidence"`` use F quantiles for a new
        observation and for the mean when they were estimated from ``n`` points (default
        ``n_samples``). See :class:`mahalanobis.Ellipsoid`.
        """
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


def _is_frame(X: Any) -> bool:
    from ._validation import is_dataframe
    return is_dataframe(X)


def _match_names(X: Any, names: tuple[str, ...]) -> list[Any]:
    """The DataFrame's own column labels in the order of ``names`` (labels may be non-str)."""
    by_str = {str(c): c for c in X.columns}
    return [by_str[n] for n in names]


def _direct_quadratic(A: np.ndarray, center: np.ndarray, P: np.ndarray) -> np.ndarray:
    """(x - m)^T P (x - m) accumulated in long double, for ill-conditioned precision input."""
    out = np.empty(A.shape[0])
    P_ld = P.astype(np.longdouble)
    rows = 4096
    for s in range(0, A.shape[0], rows):
        V = (A[s:s + rows] - center).astype(np.longdouble)
        out[s:s + rows] = np.einsum("ij,ij->i", V @ P_ld, V).astype(float)
    return out
