"""Distance diagnostics: chi-squared Q-Q plot with a simultaneous envelope, distance-distance
plot, index plot."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats

from .._validation import check_choice, check_fraction, check_int, check_random_state
from . import _common as c

__all__ = ["distance_distance", "index_plot", "qq_band", "qq_plot"]


def qq_band(n: int, envelope: float = 0.95, *, n_sim: int = 2000,
            random_state: Any = 0) -> tuple[np.ndarray, np.ndarray]:
    """Simultaneous band for the n sorted values of a uniform sample, on the probability scale.

    The i-th order statistic U_(i) of n uniforms is Beta(i, n - i + 1). The band is the
    pointwise interval [B_i^-1(g/2), B_i^-1(1 - g/2)] at the level g for which the whole sorted
    sample lies inside every interval with probability ``envelope``: the "tail-sensitive" band
    of Aldor-Noiman, Brown, Buja, Rolke and Stine (2013, The American Statistician 67, 249-260).
    g is calibrated on ``n_sim`` simulated uniform samples (seeded by ``random_state``, so the
    band is reproducible). Map it through any quantile function to get the band of that
    distribution.

    Parameters
    ----------
    n : int
        Sample size (at least 1).
    envelope : float, default 0.95
        Simultaneous coverage of the band, in (0, 1).
    n_sim : int, default 2000
        Simulated samples for the calibration of g.
    random_state : int or Generator, default 0
        Seed of the simulation.

    Returns
    -------
    lower, upper : ndarray of shape (n,)
        The band of U_(1) <= ... <= U_(n) on the probability scale.

    Raises
    ------
    ValueError
        When ``envelope`` is not in (0, 1).

    See Also
    --------
    qq_plot : Draws the band around a Q-Q plot of D^2.

    Examples
    --------
    >>> from mahalanobis.plot import qq_band
    >>> lower, upper = qq_band(20)
    >>> lower[:3].round(4), upper[:3].round(4)
    (array([0.0001, 0.0038, 0.014 ]), array([0.2575, 0.3426, 0.4127]))
    """
    n = check_int(n, "n", 1, "the number of points")
    n_sim = check_int(n_sim, "n_sim", 1, "the number of simulated samples")
    check_random_state(random_state)
    envelope = check_fraction(envelope, "envelope")
    rng = check_random_state(random_state)
    i = np.arange(1, n + 1)
    worst = np.empty(n_sim)   # per simulated sample: its smallest pointwise two-sided p-value
    step = max(1, 200_000 // n)   # bounded memory whatever n
    for s in range(0, n_sim, step):
        U = np.sort(rng.random((min(step, n_sim - s), n)), axis=1)
        F = stats.beta.cdf(U, i, n - i + 1)
        worst[s:s + U.shape[0]] = 2.0 * np.minimum(F, 1.0 - F).min(axis=1)
    g = float(np.quantile(worst, 1.0 - envelope))
    g = min(max(g, 1e-12), 1.0 - envelope)
    return stats.beta.ppf(g / 2, i, n - i + 1), stats.beta.ppf(1 - g / 2, i, n - i + 1)


def qq_plot(d2: ArrayLike, p: int, *, envelope: float | None = 0.95, ax: Any = None,
            labels: ArrayLike | None = None, reference: str = "chi2", n_samples: int | None = None,
            alpha: float = 0.025, n_sim: int = 2000, random_state: Any = 0,
            max_labels: int = 10) -> Any:
    """Q-Q plot of squared distances D^2 against the quantiles of their reference distribution.

    Parameters
    ----------
    d2 : array-like of shape (n,)
        Squared Mahalanobis distances.
    p : int
        Number of variables (degrees of freedom).
    envelope : float or None
        Coverage of the simultaneous band drawn around the line (default 0.95; None for no
        band). The band comes from the Beta distribution of uniform order statistics,
        calibrated by simulation to hold simultaneously (see :func:`qq_band`): under the
        reference distribution the whole sorted sample lies inside it with this probability.
    reference : {"chi2", "beta"}
        ``"chi2"``: chi2_p, exact when centre and scatter are known, the usual approximation
        otherwise. ``"beta"``: the exact law of classical distances of a normal sample to its
        own mean and covariance, n D^2 / (n - 1)^2 ~ Beta(p/2, (n - p - 1)/2)
        (Gnanadesikan and Kettenring 1972); needs ``n_samples`` when it differs from len(d2).
    ax : matplotlib Axes, optional
        Drawn on a new figure when omitted.
    labels : sequence, optional
        Point labels; default the Series index or the 0-based position.
    n_samples : int, optional
        Sample size behind the distances, for ``reference="beta"`` (default len(d2)).
    alpha : float
        Points above the upper band (or, with no band, above chi2_{p, 1 - alpha}) are labelled.
    n_sim : int, default 2000
        Simulated samples for the calibration of the band.
    random_state : int or Generator, default 0
        Seed of that simulation.
    max_labels : int, default 10
        Most points labelled (the largest first).

    Returns
    -------
    matplotlib.axes.Axes
        The band is a PolyCollection labelled like "95% simultaneous envelope".

    Raises
    ------
    ValueError
        When d2 is not a non-empty 1-D array, p is not a positive integer, ``reference`` is
        unknown, or ``n_samples`` is too small for the Beta law.
    ImportError
        When matplotlib is not installed.

    See Also
    --------
    qq_band : The simultaneous band.
    index_plot : D^2 in row order.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> import mahalanobis as mh
    >>> from mahalanobis import plot
    >>> X = np.random.default_rng(0).standard_normal((60, 3))
    >>> ax = plot.qq_plot(mh.fit(X).distance(X, squared=True), 3, reference="beta")
    >>> ax.collections[0].get_label()
    '95% simultaneous envelope'
    """
    p = check_int(p, "p", 1, "the number of variables")
    alpha = check_fraction(alpha, "alpha")
    n_sim = check_int(n_sim, "n_sim", 1, "the number of simulated samples")
    max_labels = check_int(max_labels, "max_labels", 0)
    check_random_state(random_state)
    index = getattr(d2, "index", None)
    d2 = c.as_1d(d2, "d2")
    n = d2.size
    if int(p) != p or p < 1:
        raise ValueError(f"p must be a positive integer (the number of variables); got {p}.")
    check_choice(reference, "reference", ("chi2", "beta"))
    lab = c.row_labels(labels, n, index)
    order = np.argsort(d2, kind="stable")
    y = d2[order]
    probs = (np.arange(1, n + 1) - 0.5) / n
    if reference == "chi2":
        def ppf(q: Any) -> Any:
            return stats.chi2.ppf(q, p)
        ref_name = f"chi-squared({p}) quantiles"
    else:
        m = n if n_samples is None else int(n_samples)
        if m <= p + 1:
            raise ValueError(f"reference='beta' needs n_samples > p + 1; got {m} and p = {p}.")

        def ppf(q: Any) -> Any:
            return (m - 1) ** 2 / m * stats.beta.ppf(q, p / 2, (m - p - 1) / 2)
        ref_name = f"scaled Beta({p}/2, {m - p - 1}/2) quantiles"
    x = ppf(probs)
    ax = c.get_ax(ax, (5.5, 5.0))
    upper = None
    if envelope is not None:
        lo, hi = qq_band(n, envelope, n_sim=n_sim, random_state=random_state)
        lower_q, upper = ppf(lo), ppf(hi)
        ax.fill_between(x, lower_q, upper, color="#d9d9d9", alpha=0.8, lw=0,
                        label=f"{100 * envelope:g}% simultaneous envelope")
    top = max(float(x[-1]), float(np.nanmax(y)))
    ax.plot([0, top], [0, top], color=c.CUTOFF, lw=1, label="y = x", gid="identity")
    flag = y > upper if upper is not None else y > c.chi2_cutoff(p, alpha)
    ax.scatter(x[~flag], y[~flag], s=14, color=c.POINTS, zorder=3)
    ax.scatter(x[flag], y[flag], s=20, color=c.FLAGGED, marker="D", zorder=3)
    c.annotate(ax, x, y, [lab[k] for k in order], flag, y, max_labels)
    ax.set_xlabel(ref_name)
    ax.set_ylabel("squared distance D²")
    ax.set_title("Q-Q plot of squared distances")
    ax.legend(loc="upper left", fontsize=8, frameon=False)
    return ax


def distance_distance(X: ArrayLike, *, ax: Any = None, alpha: float = 0.025,
                      labels: ArrayLike | None = None,
                      classical: Any = True, robust: Any = True, random_state: Any = 0,
                      max_labels: int = 20) -> Any:
    """Distance-distance plot (Rousseeuw and van Zomeren 1990): robust against classical D.

    Points near the dashed line y = x are judged alike by both fits; points above the
    horizontal cutoff sqrt(chi2_{p, 1 - alpha}) but left of the vertical one are outliers masked
    in the classical fit. Points above the robust cutoff are labelled.

    ``classical`` and ``robust`` may be fitted Metrics (default: fit empirical and MCD).

    Parameters
    ----------
    X : array-like or DataFrame of shape (n, p)
        The data.
    ax : matplotlib Axes, optional
        Drawn on a new figure when omitted.
    alpha : float, default 0.025
        Level of the cutoffs sqrt(chi2_{p, 1 - alpha}).
    labels : sequence, optional
        Point labels; default the DataFrame index or the 0-based row position.
    classical : bool or Metric, default True
        The classical fit (True: mean and covariance of X).
    robust : bool or Metric, default True
        The robust fit (True: ``mahalanobis.fit(X, method="mcd")``).
    random_state : int or Generator, default 0
        Seed of the MCD fit when ``robust=True``.
    max_labels : int, default 20
        Most points labelled (the most outlying first).

    Returns
    -------
    matplotlib.axes.Axes
        The cutoffs are the lines with gid "cutoff-classical" and "cutoff-robust".

    Raises
    ------
    ValueError
        When X has NaN/inf values or too few rows, or ``alpha`` is not in (0, 1).
    ImportError
        When matplotlib is not installed.

    See Also
    --------
    tolerance_ellipse : The same comparison as ellipses, for two variables.
    mahalanobis.covariance.mcd : The robust fit.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from mahalanobis import plot
    >>> X = np.random.default_rng(0).standard_normal((60, 3))
    >>> X[:3] += 4                                    # three outliers
    >>> ax = plot.distance_distance(X)
    >>> sorted(line.get_gid() for line in ax.lines)
    ['cutoff-classical', 'cutoff-robust', 'identity']
    """
    max_labels = check_int(max_labels, "max_labels", 0)
    X, lab, _ = c.data_and_labels(X, labels)
    cl = c.resolve_metric(classical if classical is not False else True, X, "empirical",
                          random_state, "classical")
    rb = c.resolve_metric(robust if robust is not False else True, X, "mcd", random_state,
                          "robust")
    dc = np.asarray(cl.distance(X), dtype=float)
    dr = np.asarray(rb.distance(X), dtype=float)
    cut = np.sqrt(c.chi2_cutoff(X.shape[1], alpha))
    ax = c.get_ax(ax, (5.5, 5.0))
    out = dr > cut
    ax.scatter(dc[~out], dr[~out], s=14, color=c.POINTS, zorder=3)
    ax.scatter(dc[out], dr[out], s=20, color=c.FLAGGED, marker="D", zorder=3)
    top = max(float(dc.max()), float(dr.max()), cut) * 1.05
    ax.plot([0, top], [0, top], ":", color=c.CUTOFF, lw=1, gid="identity")
    ax.axhline(cut, color=c.ROBUST, lw=1, ls="--", gid="cutoff-robust")
    ax.axvline(cut, color=c.CLASSICAL, lw=1, ls="--", gid="cutoff-classical")
    c.annotate(ax, dc, dr, lab, out, dr, max_labels)
    ax.set_xlabel("classical distance")
    ax.set_ylabel(f"robust distance ({rb.method or 'given'})")
    ax.set_title(f"Distance-distance plot (cutoff √χ²({X.shape[1]}, {1 - alpha:g}) = "
                 f"{cut:.2f})", fontsize=10)
    return ax


def index_plot(d2: ArrayLike, *, cutoff: float, ax: Any = None, labels: ArrayLike | None = None,
               max_labels: int = 20) -> Any:
    """Squared distances D^2 against the row number, with the D^2 cutoff as a horizontal line
    (gid "cutoff") and the rows above it labelled.

    Parameters
    ----------
    d2 : array-like of shape (n,)
        Squared distances (a Series keeps its index as labels).
    cutoff : float
        The D^2 cutoff (e.g. :func:`mahalanobis.inference.cutoff`).
    ax : matplotlib Axes, optional
        Drawn on a new figure when omitted.
    labels : sequence, optional
        Point labels; default the Series index or the 0-based position.
    max_labels : int, default 20
        Most points labelled (the largest first).

    Returns
    -------
    matplotlib.axes.Axes
        The cutoff is the line with gid "cutoff"; the labels are ``ax.texts``.

    Raises
    ------
    ValueError
        When d2 is not a non-empty 1-D array, or ``cutoff`` is not a positive number.
    ImportError
        When matplotlib is not installed.

    See Also
    --------
    qq_plot : D^2 against its reference quantiles.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> import mahalanobis as mh
    >>> from mahalanobis import plot
    >>> from mahalanobis.inference import cutoff
    >>> X = np.random.default_rng(0).standard_normal((60, 3))
    >>> X[:3] += 4                                    # three outliers
    >>> ax = plot.index_plot(mh.fit(X).distance(X, squared=True), cutoff=cutoff(3, 0.025))
    >>> sorted(t.get_text() for t in ax.texts)
    ['0', '1', '2']
    """

    max_labels = check_int(max_labels, "max_labels", 0)
    index = getattr(d2, "index", None)
    d2 = c.as_1d(d2, "d2")
    cutoff = float(cutoff)
    if not np.isfinite(cutoff) or cutoff <= 0:
        raise ValueError(f"cutoff must be a positive D^2 value; got {cutoff}.")
    lab = c.row_labels(labels, d2.size, index)
    ax = c.get_ax(ax, (7.0, 3.8))
    pos = np.arange(d2.size)
    out = d2 > cutoff
    ax.vlines(pos, 0, d2, color="#c8c8c8", lw=0.8)
    ax.scatter(pos[~out], d2[~out], s=12, color=c.POINTS, zorder=3)
    ax.scatter(pos[out], d2[out], s=18, color=c.FLAGGED, marker="D", zorder=3)
    ax.axhline(cutoff, color=c.ROBUST, ls="--", lw=1, gid="cutoff",
               label=f"cutoff D² = {cutoff:.3g}")
    c.annotate(ax, pos, d2, lab, out, d2, max_labels)
    ax.set_xlabel("row")
    ax.set_ylabel("squared distance D²")
    ax.set_title("Distances by row")
    ax.legend(loc="upper right", fontsize=8, frameon=False)
    return ax
