"""`FitResult`: the common base of every estimator's result.

An estimator's result is a :class:`~mahalanobis.Metric` (so it measures distances at once) that
also carries what the fit found: the estimator's name, the number of points used, the rows it
dropped and the estimator's own diagnostics (weights, objective, correction factors...).
Results are built in one place, :meth:`FitResult._build`, which checks that every declared
diagnostic is given, makes arrays read-only and freezes the object; users never assemble one
attribute by attribute.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from .. import _array_api, _linalg
from .._validation import Data, readonly
from ..metric import Metric

__all__ = ["FitResult"]


class FitResult(Metric):
    """A fitted :class:`~mahalanobis.Metric` with the diagnostics of its estimator.

    Returned by :func:`mahalanobis.fit` and every estimator in :mod:`mahalanobis.covariance`;
    never built directly (use :class:`~mahalanobis.Metric` for given parameters). Immutable.

    Attributes
    ----------
    method : str
        The estimator's name, as accepted by ``mh.fit(X, method=...)``.
    n_samples : int
        Number of rows the estimate was computed from (after dropping rows with NaN).
    omitted : ndarray of int
        Positions of input rows dropped by ``nan_policy="omit"`` (empty when none were).

    See Also
    --------
    mahalanobis.fit : Returns one.
    mahalanobis.Metric : The distance methods it inherits.

    Examples
    --------
    >>> import numpy as np
    >>> import mahalanobis as mh
    >>> X = np.random.default_rng(0).standard_normal((100, 3))
    >>> X[7, 1] = np.nan
    >>> r = mh.fit(X, nan_policy="omit")          # row 7 dropped
    >>> r.method, r.n_samples, r.n_features, r.omitted
    ('empirical', 99, 3, array([7]))
    >>> r.h = 5
    Traceback (most recent call last):
    ...
    AttributeError: ...
    """

    #: Diagnostics every result of this class carries, in the order its repr shows them.
    _fields: ClassVar[tuple[str, ...]] = ()
    #: Of those, the ones the one-line repr shows.
    _repr_fields: ClassVar[tuple[str, ...]] = ()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise TypeError(
            f"{type(self).__name__} is returned by an estimator (mh.fit(X, method=...)); it is "
            "not built by hand. For a metric from given parameters use mh.Metric(center, cov).")

    @classmethod
    def _build(cls, center: Any, *, method: str, n_samples: int, data: Data | None = None,
               cov: Any = None, L: np.ndarray | None = None, rcond: float | None = None,
               precision: Any = None, W: np.ndarray | None = None, W_lower: bool = True,
               log_det: float | None = None, feature_names: Any = None, warn: bool = True,
               omitted: Any = None, **fields: Any) -> Any:
        """The one constructor of results: a factored scatter (``cov`` and/or its Cholesky
        factor ``L``; a ``precision`` matrix; or a triangular whitening matrix ``W`` with
        ``W^T W = S^-1`` and ``log_det``), the fit information (``data`` gives the dropped
        rows, the feature names and the row labels; else ``omitted`` and ``feature_names``)
        and every diagnostic named in ``_fields``."""
        missing = [f for f in cls._fields if f not in fields]
        extra = [f for f in fields if f not in cls._fields]
        if missing or extra:  # pragma: no cover - a programming error in an estimator
            raise TypeError(f"{cls.__name__}._build: missing {missing}, unexpected {extra}")
        self = cls.__new__(cls)
        if feature_names is None and data is not None and data.columns is not None:
            feature_names = [str(c) for c in data.columns]
        if _array_api.is_foreign(center, cov):  # Array API fit: factored on its device
            self._setup_xp(center, cov=cov, feature_names=feature_names, warn=warn,
                           n_samples=n_samples)
        else:
            self._setup_numpy(center, cov=cov, L=L, rcond=rcond, precision=precision, W=W,
                              W_lower=W_lower, log_det=log_det, feature_names=feature_names,
                              warn=warn, n_samples=n_samples)
        self.method = method
        if data is not None:
            omitted = data.dropped
        if omitted is not None:
            self.omitted = readonly(np.asarray(omitted, dtype=np.intp))
        self._index = None if data is None else data.index
        for name, value in fields.items():
            if isinstance(value, np.ndarray):
                value = readonly(value)
            setattr(self, name, value)
        self._freeze()
        return self

    def _setup_numpy(self, center: Any, *, cov: Any, L: np.ndarray | None,
                     rcond: float | None, precision: Any, W: np.ndarray | None, W_lower: bool,
                     log_det: float | None, **setup: Any) -> None:
        """The factorisation behind :meth:`_build` for NumPy estimates."""
        center = np.asarray(center, dtype=float)
        if cov is not None and L is None:
            cov = np.asarray(cov, dtype=float)
            L, rcond = _linalg.cholesky((cov + cov.T) / 2, "cov", return_rcond=True)
        if precision is not None:
            precision = np.asarray(precision, dtype=float)
            Lp, rcond = _linalg.cholesky(precision, "precision", return_rcond=True)
            W, W_lower = np.ascontiguousarray(Lp.T), False
            log_det = -_linalg.log_det_from_cholesky(Lp)
        elif W is not None and rcond is None:
            P = W.T @ W
            _, rcond = _linalg.cholesky((P + P.T) / 2, "precision", return_rcond=True)
        self._setup(center, cov=cov, L=L, precision=precision, W=W, W_lower=W_lower,
                    log_det=log_det, rcond=rcond, **setup)

    # ----------------------------------------------------------------- display
    def _row_fields(self) -> list[str]:
        """Diagnostics with one value per fitted row (shown by :meth:`to_frame`)."""
        n = self.n_samples
        return [f for f in self._fields
                if isinstance(getattr(self, f), np.ndarray) and getattr(self, f).shape == (n,)]

    def to_frame(self) -> Any:
        """The per-row diagnostics as a pandas DataFrame, one row per fitted observation
        (indexed like the input DataFrame, else 0..n-1): weights, subset membership and
        distances, whichever the estimator reports.

        Returns
        -------
        pandas.DataFrame
            One column per per-row diagnostic (none for the empirical estimate), e.g.
            ``support``, ``weights`` and ``raw_distances`` for the MCD.

        See Also
        --------
        mahalanobis.Metric.distance : The distances under the final estimate.

        Examples
        --------
        >>> import numpy as np
        >>> import mahalanobis as mh
        >>> X = np.random.default_rng(0).standard_normal((100, 3))
        >>> X[:5] += 6
        >>> frame = mh.fit(X, method="mcd", random_state=0).to_frame()
        >>> frame.shape, list(frame.columns)
        ((100, 3), ['support', 'weights', 'raw_distances'])
        """
        import pandas as pd
        cols = {f: np.asarray(getattr(self, f)) for f in self._row_fields()}
        index = self._index if self._index is not None else pd.RangeIndex(self.n_samples or 0)  # type: ignore[attr-defined]
        return pd.DataFrame(cols, index=index)

    def __repr__(self) -> str:
        parts = [f"method={self.method!r}", f"n_samples={self.n_samples}",
                 f"n_features={self.n_features}"]
        for f in self._repr_fields:
            v = getattr(self, f)
            parts.append(f"{f}={v:.6g}" if isinstance(v, float) else f"{f}={v!r}")
        parts.append(f"log_det={self.log_det:.6g}")
        return f"{type(self).__name__}({', '.join(parts)})"
