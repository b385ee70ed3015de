"""What the metric variants share: input checking with ``nan_policy``, the not-fitted error,
and split-conformal p-values."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .._validation import as_data, check_fraction, check_nan_policy

__all__ = ["SplitConformal", "Variant", "check_rows", "conformal_pvalue", "split_conformal"]


def check_rows(X: Any, name: str, n_features: int | None, nan_policy: str) -> np.ndarray:
    """Rows to score as a float array: NaN/inf rows raise, are dropped or are kept (their
    results come out NaN), as ``nan_policy`` says."""
    check_nan_policy(nan_policy)
    return as_data(X, name, n_features=n_features, nan_policy=nan_policy).values


def split_conformal(fit_copy: Callable[[np.ndarray], Any], A: np.ndarray, calibration: Any,
                    seed: int) -> tuple[Any, np.ndarray]:
    """Split-conformal calibration (Lei et al. 2018): a copy of the metric fitted to a random
    share 1 - ``calibration`` of the rows of A and the sorted squared distances of the held-out
    rows under it. ``fit_copy(rows)`` returns the fitted copy."""
    calibration = check_fraction(calibration, "calibration")
    n = A.shape[0]
    n_cal = round(calibration * n)
    if n_cal < 1 or n - n_cal < 3:
        raise ValueError(f"calibration={calibration!r} leaves {n_cal} calibration and "
                         f"{n - n_cal} fitting points of {n}; fit more points or change "
                         "calibration.")
    perm = np.random.default_rng(seed).permutation(n)
    sub = fit_copy(A[perm[n_cal:]])
    scores = np.sort(sub.distance(A[perm[:n_cal]], squared=True))
    return sub, scores


def conformal_pvalue(scores: np.ndarray, s: np.ndarray) -> np.ndarray:
    """(1 + #{calibration scores >= s}) / (1 + n_cal): a valid p-value for a point exchangeable
    with the calibration points (NaN scores give NaN)."""
    n_ge = scores.size - np.searchsorted(scores, s, side="left")
    p = (1.0 + n_ge) / (1.0 + scores.size)
    return np.where(np.isnan(s), np.nan, p)


class Variant:
    """Base of the batch-fitted metric variants: the fitted attribute named by ``_fitted_attr``
    marks a fitted metric."""

    _fitted_attr: str

    def _check_fitted(self) -> None:
        if not hasattr(self, self._fitted_attr):
            raise ValueError(f"this {type(self).__name__} is not fitted yet; call fit(X) "
                             "first.")


class SplitConformal(Variant):
    """Split-conformal ``pvalue`` and ``outliers`` for a variant whose ``fit`` sets
    ``_calib = None``, ``_calib_seed`` and the fitted rows ``_calib_rows``, and which can fit a
    copy of itself to some rows (``_fit_copy``). The calibration is computed once, on first
    use."""

    calibration: float
    _calib: tuple[Any, np.ndarray] | None
    _calib_seed: int
    _calib_rows: np.ndarray

    def _fit_copy(self, rows: np.ndarray) -> Any:
        raise NotImplementedError  # pragma: no cover - every subclass defines it

    def _calibration(self) -> tuple[Any, np.ndarray]:
        if self._calib is None:
            self._calib = split_conformal(self._fit_copy, self._calib_rows, self.calibration,
                                          self._calib_seed)
        return self._calib

    def _conformal_pvalue(self, X: Any, nan_policy: str) -> np.ndarray:
        self._check_fitted()
        sub, scores = self._calibration()
        return conformal_pvalue(scores, sub.distance(X, squared=True, nan_policy=nan_policy))

    def _conformal_outliers(self, X: Any, alpha: Any, nan_policy: str) -> np.ndarray:
        alpha = check_fraction(alpha, "alpha")
        return self._conformal_pvalue(X, nan_policy) <= alpha
