"""Tolerance ellipses: classical and robust (MCD) overlaid, for p = 2 and as a pairs grid."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats

from .._validation import check_fraction, check_int, check_random_state
from . import _common as c

__all__ = ["ellipse_pairs", "tolerance_ellipse"]


def tolerance_ellipse(X: ArrayLike, *, classical: Any = True, robust: Any = True,
                      level: float = 0.975, ax: Any = None, labels: ArrayLike | None = None,
                      random_state: Any = 0, max_labels: int = 20) -> Any:
    """Scatter plot of two variables with classical and robust tolerance ellipses.

    Each ellipse is the set {x : D^2(x) = chi2_{2, level}}: under normality it holds a fraction
    ``level`` of the points. Points outside the robust ellipse (or the classical one when
    ``robust=False``) are drawn in red and labelled. A classical ellipse stretched towards a
    cluster of outliers next to a tight robust one is the picture of masking.

    Parameters
    ----------
    X : array-like or DataFrame of shape (n, 2)
    classical, robust : bool or Metric
        Draw the classical (mean, covariance) and the robust (``fit(X, method="mcd")``)
        ellipse; pass a fitted :class:`~mahalanobis.Metric` to draw that one instead.
    level : float
        Probability content of the ellipses (default 0.975).
    ax : matplotlib Axes, optional
        Drawn on a new figure when omitted.
    labels : sequence, optional
        Point labels; default the DataFrame index or the 0-based row position.
    random_state : int or Generator
        Seed of the MCD fit when ``robust=True``.
    max_labels : int, default 20
        Most points labelled (the most outlying first).

    Returns
    -------
    matplotlib.axes.Axes
        The ellipses are Line2D objects labelled "classical ..." and "robust ..." (see
        ``ax.get_legend_handles_labels()``); the point labels are ``ax.texts``.

    Raises
    ------
    ValueError
        When X has not exactly 2 columns or has NaN/inf values, ``level`` is not in (0, 1),
        or both ``classical`` and ``robust`` are False.
    ImportError
        When matplotlib is not installed.

    See Also
    --------
    ellipse_pairs : The same on every pair of variables.
    distance_distance : Robust against classical distances, for any p.
    mahalanobis.Ellipsoid : The region itself.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from mahalanobis import plot
    >>> X = np.random.default_rng(0).standard_normal((60, 2))
    >>> X[:4] += [4.0, -4.0]                         # four outliers
    >>> ax = plot.tolerance_ellipse(X)
    >>> ax.get_legend_handles_labels()[1]
    ['outside robust ellipse', 'classical 97.5% ellipse', 'robust (mcd) 97.5% ellipse']
    >>> len(ax.texts)                                # the four outliers are labelled
    4
    """
    level = check_fraction(level, "level")
    max_labels = check_int(max_labels, "max_labels", 0)
    check_random_state(random_state)
    X, lab, cols = c.data_and_labels(X, labels)
    if X.shape[1] != 2:
        raise ValueError(f"X has {X.shape[1]} columns; tolerance_ellipse draws p = 2. Use "
                         "ellipse_pairs(X) for more columns, or select two.")
    level = check_fraction(level, "level")
    ax = c.get_ax(ax, (6.0, 5.0))
    cl = c.resolve_metric(classical, X, "empirical", random_state, "classical")
    rb = c.resolve_metric(robust, X, "mcd", random_state, "robust")
    if cl is None and rb is None:
        raise ValueError("classical and robust are both False; draw at least one ellipse.")
    cut = float(stats.chi2.ppf(level, 2))
    judge = rb if rb is not None else cl
    d2 = np.asarray(judge.distance(X, squared=True), dtype=float)
    out = d2 > cut
    ax.scatter(X[~out, 0], X[~out, 1], s=16, color=c.POINTS, zorder=2)
    ax.scatter(X[out, 0], X[out, 1], s=22, color=c.FLAGGED, marker="D", zorder=3,
               label="outside robust ellipse" if rb is not None else "outside ellipse")
    pct = f"{100 * level:g}%"
    for metric, name, colour, style in ((cl, "classical", c.CLASSICAL, "--"),
                                        (rb, "robust", c.ROBUST, "-")):
        if metric is None:
            continue
        ex, ey = c.ellipse_xy(metric.center, metric.cov, cut)
        kind = name if name == "classical" else f"robust ({metric.method or 'given'})"
        ax.plot(ex, ey, style, color=colour, lw=1.8, label=f"{kind} {pct} ellipse", gid=name)
        ax.plot(*metric.center, marker="+", color=colour, ms=10, mew=2)
    c.annotate(ax, X[:, 0], X[:, 1], lab, out, d2, max_labels)
    ax.set_xlabel(cols[0])
    ax.set_ylabel(cols[1])
    ax.set_title("Tolerance ellipses")
    ax.legend(loc="best", fontsize=8, frameon=False)
    return ax


def ellipse_pairs(X: ArrayLike, *, classical: Any = True, robust: Any = True, level: float = 0.975,
                  alpha: float = 0.025, fig: Any = None, labels: ArrayLike | None = None,
                  random_state: Any = 0, max_features: int = 8) -> Any:
    """A pairs grid for p > 2: each off-diagonal panel shows two variables with the classical
    and robust tolerance ellipses of their bivariate marginal (chi2_{2, level}).

    Points flagged by the full p-variate robust distance (D^2 > chi2_{p, 1 - alpha}) are red in
    every panel, so outliers that no pair of variables reveals still stand out.

    Parameters
    ----------
    X : array-like or DataFrame of shape (n, p)
        The data, 2 <= p <= ``max_features``.
    classical : bool or Metric, default True
        Draw the classical ellipses (True: mean and covariance of X); a fitted Metric is
        used as given.
    robust : bool or Metric, default True
        Draw the robust ellipses (True: ``mahalanobis.fit(X, method="mcd")``).
    level : float, default 0.975
        Probability content of the ellipses.
    alpha : float, default 0.025
        Level of the p-variate robust cutoff that colours the points.
    fig : matplotlib Figure, optional
        Drawn on a new figure when omitted.
    labels : sequence, optional
        Point labels; default the DataFrame index or the 0-based row position.
    random_state : int or Generator, default 0
        Seed of the MCD fit when ``robust=True``.
    max_features : int, default 8
        Most columns drawn.

    Returns
    -------
    ndarray of Axes of shape (p, p)
        ``axes[0, 0].figure`` is the figure.

    Raises
    ------
    ValueError
        When X has fewer than 2 or more than ``max_features`` columns or NaN/inf values, or
        ``level`` is not in (0, 1).
    ImportError
        When matplotlib is not installed.

    See Also
    --------
    tolerance_ellipse : One pair, larger.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from mahalanobis import plot
    >>> X = np.random.default_rng(0).standard_normal((60, 3))
    >>> plot.ellipse_pairs(X).shape
    (3, 3)
    """

    max_features = check_int(max_features, "max_features", 2)
    X, _, cols = c.data_and_labels(X, labels)
    p = X.shape[1]
    if p < 2:
        raise ValueError("X has 1 column; ellipse_pairs needs at least 2.")
    if p > max_features:
        raise ValueError(f"X has {p} columns; a pairs grid of more than {max_features} is "
                         "unreadable. Select columns, or raise max_features.")
    level = check_fraction(level, "level")
    c.require_matplotlib()
    if fig is None:
        import matplotlib.pyplot as plt
        fig = plt.figure(figsize=(1.9 * p + 0.5, 1.9 * p + 0.5))
    axes = fig.subplots(p, p, squeeze=False)
    cl = c.resolve_metric(classical, X, "empirical", random_state, "classical")
    rb = c.resolve_metric(robust, X, "mcd", random_state, "robust")
    judge = rb if rb is not None else cl
    flagged = (np.asarray(judge.distance(X, squared=True)) > c.chi2_cutoff(p, alpha)
               if judge is not None else np.zeros(X.shape[0], dtype=bool))
    cut2 = float(stats.chi2.ppf(level, 2))
    for i in range(p):
        for j in range(p):
            ax = axes[i, j]
            ax.tick_params(labelsize=6)
            if i == j:
                ax.hist(X[:, i], bins="auto", color="#bbbbbb")
                ax.text(0.5, 0.88, cols[i], transform=ax.transAxes, ha="center", fontsize=8,
                        fontweight="bold")
            else:
                ax.scatter(X[~flagged, j], X[~flagged, i], s=5, color=c.POINTS)
                ax.scatter(X[flagged, j], X[flagged, i], s=7, color=c.FLAGGED)
                for metric, colour, style, gid in ((cl, c.CLASSICAL, "--", "classical"),
                                                   (rb, c.ROBUST, "-", "robust")):
                    if metric is None:
                        continue
                    k = [j, i]
                    ex, ey = c.ellipse_xy(np.asarray(metric.center)[k],
                                          np.asarray(metric.cov)[np.ix_(k, k)], cut2)
                    ax.plot(ex, ey, style, color=colour, lw=1.0, gid=gid)
            if i < p - 1:
                ax.set_xticklabels([])
            else:
                ax.set_xlabel(cols[j], fontsize=7)
            if j > 0:
                ax.set_yticklabels([])
            else:
                ax.set_ylabel(cols[i], fontsize=7)
    fig.suptitle(f"Pairwise tolerance ellipses ({100 * level:g}%): classical dashed, "
                 "robust solid", fontsize=9)
    return axes
