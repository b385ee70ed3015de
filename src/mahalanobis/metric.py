"""`Metric`: a location and a factored scatter, built once and used many times."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from scipy import stats

from . import _linalg
from ._validation import (
    Data,
    apply_nan_policy,
    as_data,
    as_square_matrix,
    as_vector,
    check_choice,
    check_fraction,
    check_nan_policy,
    is_dask,
)
from .errors import SingularCovarianceError

__all__ = ["Metric"]

_WHITEN_METHODS = ("cholesky", "zca", "pca")


def _readonly(a: np.ndarray) -> np.ndarray:
    a = np.asarray(a)
    v = a.view()
    v.setflags(write=False)
    return v


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

    def __init__(self, center: Any, cov: Any, *, feature_names: Any = None) -> None:
        center = as_vector(center, "center")
        cov = as_square_matrix(cov, "cov", center.shape[0])
        L, rcond = _linalg.cholesky(cov, "cov", return_rcond=True)
        self._setup(center, cov=cov, L=L, rcond=rcond, feature_names=feature_names)

    # ----------------------------------------------------------------- construction
    def _setup(self, center: np.ndarray, *, cov: np.ndarray | None = None,
               L: np.ndarray | None = None, precision: np.ndarray | None = None,
               W: np.ndarray | None = None, W_lower: bool = True,
               log_det: float | None = None, rcond: float | None = None,
               feature_names: Any = None, warn: bool = True) -> None:
        self._center = _readonly(np.array(center, dtype=float))
        self._cov = None if cov is None else _readonly(np.array(cov, dtype=float))
        self._L = None if L is None else _readonly(L)
        self._precision = None if precision is None else _readonly(np.array(precision))
        if W is None:
            assert L is not None
            W, W_lower = _linalg.inverse_triangular(L, lower=True), True
        self._W = _readonly(W)
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
        self.n_samples: int | None = None
        self.method: str | None = None
        self.omitted: np.ndarray = np.empty(0, dtype=np.intp)

    @classmethod
    def from_precision(cls, center: Any, precision: Any, *, feature_names: Any = None) -> Metric:
        """A metric from a precision (inverse covariance) matrix P: D^2 = (x-m)^T P (x-m)."""
        center = as_vector(center, "center")
        P = as_square_matrix(precision, "precision", center.shape[0])
        Lp, rcond = _linalg.cholesky(P, "precision", return_rcond=True)
        self = cls.__new__(cls)
        # P = Lp Lp^T, so D^2 = ||Lp^T (x - m)||^2: the whitening matrix is upper triangular.
        self._setup(center, precision=P, W=np.ascontiguousarray(Lp.T), W_lower=False,
                    log_det=-_linalg.log_det_from_cholesky(Lp), rcond=rcond,
                    feature_names=feature_names)
        return self

    @classmethod
    def from_cholesky(cls, center: Any, cholesky: Any, *, lower: bool = True,
                      feature_names: Any = None) -> Metric:
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
        self._setup(center, L=np.ascontiguousarray(L), cov=None, feature_names=feature_names)
        return self

    @classmethod
    def _from_whitening(cls, center: np.ndarray, W: np.ndarray, *, lower: bool,
                        log_det: float, feature_names: Any = None, warn: bool = True) -> Metric:
        """A metric from a triangular whitening matrix W with W^T W = S^-1 (for estimators
        that produce a factored precision directly, such as the modified Cholesky one)."""
        self = cls.__new__(cls)
        P = W.T @ W
        _, rcond = _linalg.cholesky((P + P.T) / 2, "precision", return_rcond=True)
        self._setup(center, W=W, W_lower=lower, log_det=log_det, rcond=rcond,
                    feature_names=feature_names, warn=warn)
        return self

    def _set_fit_info(self, method: str, n_samples: int, data: Data | None = None) -> None:
        self.method = method
        self.n_samples = int(n_samples)
        if data is not None:
            self.omitted = data.dropped
            if data.columns is not None and self._feature_names is None:
                self._feature_names = tuple(str(c) for c in data.columns)

    # ----------------------------------------------------------------- properties
    @property
    def center(self) -> np.ndarray:
        """The location m, shape (p,)."""
        return self._center

    @property
    def n_features(self) -> int:
        return int(self._center.shape[0])

    @property
    def feature_names(self) -> tuple[str, ...] | None:
        return self._feature_names

    @property
    def cholesky(self) -> np.ndarray:
        """Lower Cholesky factor L of the covariance, S = L L^T."""
        if self._L is None:
            self._L = _readonly(_linalg.cholesky(np.asarray(self.cov), "cov"))
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
            self._cov = _readonly((S + S.T) / 2)
        return self._cov

    @property
    def precision(self) -> np.ndarray:
        """The precision matrix S^-1, computed on first access (never used for distances)."""
        if self._precision is None:
            P = self._W.T @ self._W
            self._precision = _readonly((P + P.T) / 2)
        return self._precision

    @property
    def log_det(self) -> float:
        """log det S (natural log)."""
        return self._log_det

    @property
    def condition_number(self) -> float:
        """Exact 2-norm condition number of S (largest over smallest eigenvalue)."""
        if self._cond_exact is None:
            if self._cov is not None:
                self._cond_exact = _linalg.condition_number(np.asarray(self._cov))
            else:
                self._cond_exact = _linalg.condition_number(np.asarray(self.precision))
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

    def _sq_checked(self, X: Any, nan_policy: str, name: str = "X") -> tuple[np.ndarray, Data]:
        """Squared distances of checked input, with ``nan_policy`` applied afterwards.

        A row holding NaN or inf always gives a non-finite D^2, so only the rows whose result is
        not finite are inspected: no separate pass over the data and no n x p temporary.
        """
        check_nan_policy(nan_policy)
        data = self._check_X(X, nan_policy, name, check_finite=False)
        d2 = self._sq(data.values)
        np.maximum(d2, 0.0, out=d2)
        suspect = np.flatnonzero(~np.isfinite(d2))
        if suspect.size:
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
        """Squared distances of the rows of a checked float array."""
        if self._rcond * _linalg.REFINE_CONDITION < 1.0:
            if self._cov is not None and self._L is not None:
                return _linalg.refined_sq_distances(A, self._center, np.asarray(self._cov),
                                                    np.asarray(self._L))
            if self._precision is not None:
                return _direct_quadratic(A, self._center, np.asarray(self._precision))
        return _linalg.sq_norms_of_whitened(A, self._center, self._W, self._W_lower)

    def distance(self, X: Any, squared: bool = False, *, nan_policy: str = "raise") -> Any:
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
            from . import _dask
            return _dask.metric_distance(self, X, squared=squared, nan_policy=nan_policy)
        d2, data = self._sq_checked(X, nan_policy)
        if not squared:
            np.sqrt(d2, out=d2)
        return _wrap(d2, data, "d2" if squared else "distance")

    def whiten(self, X: Any, method: str = "cholesky", *, nan_policy: str = "raise") -> Any:
        """Whitened coordinates z with ||z||^2 = D^2(x) and identity covariance under S.

        ``method="cholesky"`` (default): z = L^-1 (x - m) with S = L L^T; coordinate k is the
        standardised residual of feature k given features 1..k-1. ``"zca"``: z = S^-1/2 (x - m),
        the whitening closest to the original coordinates. ``"pca"``: z = Lambda^-1/2 U^T (x - m)
        with components by decreasing variance.
        """
        check_choice(method, "method", _WHITEN_METHODS)
        data = self._check_X(X, nan_policy)
        A = data.values - self._center
        if method == "cholesky":
            Z = _linalg.solve_triangular(np.asarray(self.cholesky), A.T, lower=True).T
            names = self._feature_names or (list(map(str, data.columns))
                                            if data.columns is not None else None)
        else:
            lam, U = np.linalg.eigh(np.asarray(self.cov))
            lam, U = lam[::-1], U[:, ::-1]
            Z = (A @ U) / np.sqrt(lam)
            if method == "zca":
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
            from . import _dask
            return _dask.metric_pvalue(self, X, nan_policy=nan_policy)
        d2, data = self._sq_checked(X, nan_policy)
        return _wrap(stats.chi2.sf(d2, self.n_features), data, "pvalue")

    def outliers(self, X: Any, alpha: float = 0.025, *, nan_policy: str = "raise") -> Any:
        """Boolean mask of points with p-value below alpha, i.e. D^2 > chi2_{p, 1-alpha}."""
        alpha = check_fraction(alpha, "alpha")
        if is_dask(X):
            from . import _dask
            return _dask.metric_outliers(self, X, alpha=alpha, nan_policy=nan_policy)
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
        from .inference.ellipsoid import Ellipsoid
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
