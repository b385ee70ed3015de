"""The report's robust PCA section: ROBPCA with k components, the outlier map and the points
of each kind."""

from __future__ import annotations

from typing import Any

import numpy as np

from . import _html as h
from ._build import _figure, _svg

__all__ = ["pca_section"]

_MAX_ROWS = 200


def pca_section(df: Any, k: int, alpha: float, random_state: Any) -> str:
    """HTML of the section: method, cutoffs, counts, the outlier map and the table of the
    points outside a cutoff."""
    from ..pca import CATEGORIES, ROBPCA
    from ..plot import outlier_map
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"pca must be a positive number of components; got {k!r}.")
    est = ROBPCA(n_components=int(k), alpha=alpha, random_state=random_state).fit(df)
    res = est.classify()
    lab = [str(i) for i in df.index]
    counts = res.counts()
    od = "none (k equals the rank of the data)" if res.od_cutoff is None else h.fmt(
        res.od_cutoff)
    parts = [f"<h2>Robust PCA (ROBPCA, k = {est.n_components_})</h2>"]
    parts.append(
        "<p>ROBPCA (Hubert, Rousseeuw and Vanden Branden 2005) finds a k-dimensional subspace "
        "that fits the bulk of the data. The <em>score distance</em> is the Mahalanobis "
        "distance of a row's projection within that subspace, the <em>orthogonal "
        "distance</em> its distance to the subspace. Rows far along the subspace are good "
        "leverage points, rows off it orthogonal outliers, rows that are both bad leverage "
        "points.</p>")
    parts.append(h.kv([("components k", est.n_components_), ("rank of the data", est.rank_),
                       ("subset size h", est.h_), ("branch", est.branch_),
                       ("score distance cutoff", res.sd_cutoff),
                       ("orthogonal distance cutoff", od),
                       *[(c, counts[c]) for c in CATEGORIES]]))
    fig = _svg(lambda f: outlier_map(res, ax=f.subplots(), labels=lab), (6.0, 4.6),
               "pcamap", "PCA outlier map")
    caption = ("Orthogonal against score distances with both cutoffs; the rows beyond either "
               "are labelled.")
    parts.append(f'<div class="figs">{_figure(fig, caption, "pcamap")}</div>')
    idx = np.flatnonzero(res.flags)
    if idx.size:
        idx = idx[np.argsort(-(res.score_distance[idx] / res.sd_cutoff), kind="stable")]
        rows = [[lab[i], float(res.score_distance[i]), float(res.orthogonal_distance[i]),
                 str(res.category[i])] for i in idx[:_MAX_ROWS]]
        parts.append(h.table(["row", "score distance", "orthogonal distance", "kind"], rows,
                             sortable=True, table_id="pca-flagged"))
    return "\n".join(parts)
