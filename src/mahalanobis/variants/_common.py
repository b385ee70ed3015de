"""What the metric variants share: input checking with ``nan_policy`` and split-conformal
p-values."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .._validation import as_data, check_fraction, check_nan_policy

__all__ = ["check_rows", "conformal_pvalue", "split_conformal"]


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
