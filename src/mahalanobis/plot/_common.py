"""Shared helpers of the plots: lazy matplotlib, data and label handling, fitted metrics."""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import stats

from .._validation import as_data, check_fraction

# One palette for every plot (colour-blind safe: Okabe-Ito).
CLASSICAL = "#0072B2"
ROBUST = "#D55E00"
POINTS = "#4d4d4d"
FLAGGED = "#CC0033"
CUTOFF = "#7f7f7f"


def require_matplotlib() -> Any:
    """Import matplotlib (the ``plot`` extra) or say how to install it.

    Returns
    -------
    module
        The ``matplotlib`` package.

    Raises
    ------
    ImportError
        When matplotlib is not installed, naming the extra to install.

    See Also
    --------
    mahalanobis.plot : The plots that need it.

    Examples
    --------
    >>> from mahalanobis.plot import require_matplotlib
    >>> require_matplotlib().__name__
    'matplotlib'
    """

    try:
        import matplotlib
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError("mahalanobis.plot needs matplotlib: pip install "
                          "'mahalanobis[plot]'") from None
    return matplotlib


def get_ax(ax: Any, figsize: tuple[float, float] = (6.0, 4.8)) -> Any:
    """The Axes to draw on: the given one, or a new pyplot figure's."""
    require_matplotlib()
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt
    _, ax = plt.subplots(figsize=figsize)
    return ax


def data_and_labels(X: Any, labels: Any, name: str = "X") -> tuple[np.ndarray, list[str],
                                                                   list[str]]:
    """Checked (n, p) values, one label per row (the DataFrame index, ``labels``, or the 0-based
    row position) and the column names."""
    data = as_data(X, name)
    n, p = data.values.shape
    columns = ([str(c) for c in data.columns] if data.columns is not None
               else [f"x{j + 1}" for j in range(p)])
    return data.values, row_labels(labels, n, data.index), columns


def row_labels(labels: Any, n: int, index: Any = None) -> list[str]:
    if labels is not None:
        out = [str(v) for v in (labels.tolist() if hasattr(labels, "tolist") else labels)]
        if len(out) != n:
            raise ValueError(f"labels has {len(out)} entries but there are {n} rows; pass one "
                             "label per row.")
        return out
    if index is not None:
        return [str(v) for v in index]
    return [str(i) for i in range(n)]


def as_1d(values: Any, name: str) -> np.ndarray:
    arr = np.asarray(values.to_numpy() if hasattr(values, "to_numpy") else values, dtype=float)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D (one value per row); got shape {arr.shape}.")
    if arr.size == 0:
        raise ValueError(f"{name} is empty; pass at least one value.")
    return arr


def resolve_metric(spec: Any, X: np.ndarray, method: str, random_state: Any,
                   name: str) -> Any:
    """``spec`` True fits ``method`` to X; a Metric is used as given; False/None gives None."""
    if spec is None or spec is False:
        return None
    if spec is True:
        from ..covariance import fit
        options = {} if method == "empirical" else {"random_state": random_state}
        return fit(X, method=method, **options)
    if hasattr(spec, "distance") and hasattr(spec, "center") and hasattr(spec, "cov"):
        if spec.n_features != X.shape[1]:
            raise ValueError(f"{name} has {spec.n_features} features but X has {X.shape[1]} "
                             "columns; pass a metric fitted on the same columns.")
        return spec
    raise ValueError(f"{name} must be True, False or a fitted Metric; got {type(spec).__name__}.")


def chi2_cutoff(p: int, alpha: float) -> float:
    """The D^2 cutoff chi2_{p, 1 - alpha}."""
    alpha = check_fraction(alpha, "alpha")
    return float(stats.chi2.isf(alpha, p))


def annotate(ax: Any, x: np.ndarray, y: np.ndarray, labels: list[str], mask: np.ndarray,
             score: np.ndarray, max_labels: int = 20) -> list[Any]:
    """Label the points of ``mask``, the ``max_labels`` largest ``score`` first."""
    idx = np.flatnonzero(mask)
    idx = idx[np.argsort(-score[idx], kind="stable")][:max_labels]
    out = []
    for i in idx:
        out.append(ax.annotate(labels[i], (x[i], y[i]), xytext=(3, 3),
                               textcoords="offset points", fontsize=8, color=FLAGGED))
    return out


def ellipse_xy(center: np.ndarray, cov: np.ndarray, d2: float, n_points: int = 200
               ) -> tuple[np.ndarray, np.ndarray]:
    """Points of the 2-D ellipse {x : (x - m)^T S^-1 (x - m) = d2}: m + sqrt(d2) L u, S = L L^T,
    u on the unit circle."""
    t = np.linspace(0.0, 2.0 * np.pi, n_points)
    L = np.linalg.cholesky(np.asarray(cov, dtype=float))
    pts = np.asarray(center, dtype=float)[:, None] + np.sqrt(d2) * (L @ np.vstack([np.cos(t),
                                                                                 np.sin(t)]))
    return pts[0], pts[1]
