"""The outlier map of (robust) PCA: orthogonal against score distances (Hubert, Rousseeuw &
Vanden Branden 2005, Fig. 2)."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from ..pca import CATEGORIES, PCAResult
from . import _common as c

__all__ = ["outlier_map"]

#: Marker and colour of each kind of point (Okabe-Ito, as the other plots).
_STYLE = {
    "regular": ("o", c.POINTS, 14),
    "good leverage": ("s", c.CLASSICAL, 22),
    "orthogonal outlier": ("^", "#E69F00", 24),
    "bad leverage": ("D", c.FLAGGED, 22),
}


def outlier_map(pca: Any, X: ArrayLike | None = None, *, ax: Any = None,
                labels: ArrayLike | None = None,
                max_labels: int = 20) -> Any:
    """The PCA outlier map: each point's orthogonal distance to the PCA subspace (OD)
    against its score distance within it (SD), with both cutoffs.

    The lines split the plane into the four kinds of points: regular (lower left), good
    leverage points (far along the subspace, lower right), orthogonal outliers (off the
    subspace but projecting inside, upper left) and bad leverage points (upper right). The
    points beyond either cutoff are labelled, the farthest first.

    Parameters
    ----------
    pca : fitted mahalanobis.pca.PCA or ROBPCA, or a PCAResult
    X : array-like, optional
        Rows to draw (default: the training rows).
    ax : matplotlib Axes, optional
    labels : sequence, optional
        Row labels (default: the DataFrame index, else the row position).
    max_labels : int

    Returns
    -------
    matplotlib Axes
        The cutoffs are the lines with gid "cutoff-sd" and "cutoff-od" (no OD line when the
        number of components equals the rank of the data: every OD is 0 then).

    Raises
    ------
    ValueError
        For an unfitted estimator or labels of the wrong length.

    See Also
    --------
    mahalanobis.pca.ROBPCA, distance_distance

    Notes
    -----
    Hubert, M., Rousseeuw, P. J. & Vanden Branden, K. (2005), ROBPCA: a new approach to
    robust principal component analysis, Technometrics 47:64-79, Sect. 4.2 and Fig. 2.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from mahalanobis import plot
    >>> from mahalanobis.pca import ROBPCA
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((80, 5)) @ np.diag([4.0, 2.0, 0.3, 0.3, 0.3])
    >>> X[:4, 3] += 10
    >>> ax = plot.outlier_map(ROBPCA(n_components=2, random_state=0).fit(X))
    >>> [ln.get_gid() for ln in ax.lines]
    ['cutoff-sd', 'cutoff-od']
    """
    if isinstance(pca, PCAResult):
        if X is not None:
            raise ValueError("X is only used with a fitted estimator; a PCAResult already "
                             "holds its rows' distances.")
        res = pca
    elif hasattr(pca, "classify"):
        res = pca.classify(X)
    else:
        raise ValueError(f"pca must be a fitted mahalanobis.pca.PCA or ROBPCA, or a PCAResult; "
                         f"got {type(pca).__name__}.")
    sd, od = np.asarray(res.score_distance), np.asarray(res.orthogonal_distance)
    lab = c.row_labels(labels, sd.size, res.index)
    ax = c.get_ax(ax, (6.0, 4.8))
    for cat in CATEGORIES:
        m = res.category == cat
        if m.any():
            marker, color, size = _STYLE[cat]
            ax.scatter(sd[m], od[m], s=size, marker=marker, color=color, zorder=3,
                       label=f"{cat} ({int(m.sum())})")
    ax.axvline(res.sd_cutoff, color=c.CUTOFF, ls="--", lw=1, gid="cutoff-sd")
    if res.od_cutoff is not None:
        ax.axhline(res.od_cutoff, color=c.CUTOFF, ls="--", lw=1, gid="cutoff-od")
    flag = np.asarray(res.flags)
    score = sd / res.sd_cutoff + (od / res.od_cutoff if res.od_cutoff else 0.0)
    c.annotate(ax, sd, od, lab, flag, score, max_labels)
    ax.set_xlabel("score distance")
    ax.set_ylabel("orthogonal distance")
    ax.set_title(f"Outlier map ({res.method}, k = {res.n_components})")
    ax.legend(loc="upper right", fontsize=8, frameon=False)
    return ax
