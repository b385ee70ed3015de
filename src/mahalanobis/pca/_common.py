"""Shared pieces of classical and robust PCA: rrcov's ``.classPC``, its rule for the number of
components, the score and orthogonal distances with their cutoffs, the four-way
classification of the outlier map, and the fitted-estimator base class."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats

from .._validation import as_data, check_fraction

__all__ = ["CATEGORIES", "ClassPC", "PCAResult", "class_pc", "k_rule", "od_cutoff"]

#: The four kinds of points of the outlier map (Hubert, Rousseeuw & Vanden Branden 2005).
CATEGORIES = ("regular", "good leverage", "orthogonal outlier", "bad leverage")


@dataclass(frozen=True)
class ClassPC:
    """rrcov's ``.classPC``: classical PCA of centred data (no scaling)."""

    rank: int
    eigenvalues: np.ndarray
    loadings: np.ndarray
    center: np.ndarray
    scores: np.ndarray


def _signflip(V: np.ndarray) -> np.ndarray:
    """Negate each column whose entry of largest modulus (the first on ties) is negative."""
    idx = np.argmax(np.abs(V), axis=0)
    s = np.where(V[idx, np.arange(V.shape[1])] < 0, -1.0, 1.0)
    return V * s


def class_pc(x: np.ndarray, *, signflip: bool = True) -> ClassPC:
    """Classical PCA as rrcov's ``.classPC`` (mean-centred, unscaled): by SVD when n > p
    (rank = #{sv >= max(n, p) eps sv_1}, robustbase ``rankMM``), else by the eigen
    decomposition of X X^T (rank = #{lambda > n eps max lambda}); eigenvalues with divisor
    n - 1, loadings sign-flipped so that the largest entry of each is positive."""
    n, p = x.shape
    if n <= 1:
        raise ValueError("PCA needs at least 2 rows.")
    center = x.mean(axis=0)
    xc = x - center
    if n > p:
        _, sv, vt = np.linalg.svd(xc, full_matrices=False)
        rank = int(np.sum(sv >= max(n, p) * np.finfo(float).eps * sv[0])) if sv[0] > 0 else 0
        loadings = vt[:rank].T
        eig = sv[:rank] ** 2 / (n - 1)
    else:
        ev, U = np.linalg.eigh(xc @ xc.T)
        ev, U = ev[::-1], U[:, ::-1]
        rank = int(np.sum(ev > n * ev[0] * np.finfo(float).eps)) if ev[0] > 0 else 0
        ev, U = ev[:rank], U[:, :rank]
        eig = ev / (n - 1)
        loadings = (xc.T @ U) / np.sqrt(ev)
    if rank == 0:
        raise ValueError("X: all points coincide (the centred data are 0); PCA needs "
                         "variation.")
    if signflip:
        loadings = _signflip(loadings)
    return ClassPC(rank=rank, eigenvalues=eig, loadings=loadings, center=center,
                   scores=xc @ loadings)


def k_rule(eigenvalues: np.ndarray, rank: int, kmax: int) -> int:
    """rrcov's choice of k: the first k with l_k / l_1 <= 1e-3 (or the rank), at most kmax;
    then the smallest k whose cumulative share of the total is >= 0.8, if k explains more
    than 80%."""
    ev = np.asarray(eigenvalues, dtype=float)
    small = np.flatnonzero(ev / ev[0] <= 1e-3)
    k = min(min(rank, int(small[0]) + 1), kmax) if small.size else min(rank, kmax)
    cum = np.cumsum(ev[:k]) / ev.sum()
    if cum[k - 1] > 0.8:
        k = int(np.flatnonzero(cum >= 0.8)[0]) + 1
    return k


def od_cutoff(od: np.ndarray, alpha: float, how: str) -> float:
    """Cutoff of the orthogonal distances: od^(2/3) is about normal (Wilson & Hilferty 1931;
    Hubert, Rousseeuw & Vanden Branden 2005, Sect. 4.2), so the cutoff is
    (t + s z_(1-alpha))^(3/2) with (t, s) the median and MAD (robust, rrcov's "medmad") or
    the mean and standard deviation (classical) of od^(2/3)."""
    x = np.asarray(od, dtype=float) ** (2.0 / 3.0)
    if how == "classic":
        t, s = float(np.mean(x)), float(np.std(x, ddof=1))
    else:
        t = float(np.median(x))
        s = 1.4826 * float(np.median(np.abs(x - t)))
    return float(max(t + s * stats.norm.ppf(1 - alpha), 0.0) ** 1.5)


def categories(sd: np.ndarray, od: np.ndarray, sd_cut: float, od_cut: float | None
               ) -> np.ndarray:
    """The outlier map's four kinds of points (no orthogonal distances when k = rank)."""
    far_sd = sd > sd_cut
    far_od = od > od_cut if od_cut is not None else np.zeros(sd.shape, dtype=bool)
    out = np.empty(sd.shape, dtype=object)
    out[~far_sd & ~far_od] = CATEGORIES[0]
    out[far_sd & ~far_od] = CATEGORIES[1]
    out[~far_sd & far_od] = CATEGORIES[2]
    out[far_sd & far_od] = CATEGORIES[3]
    return out


@dataclass(frozen=True, repr=False, eq=False)
class PCAResult:
    """Score and orthogonal distances of a set of rows in a fitted (robust) PCA, with the
    outlier map's classification (returned by ``classify``).

    A frozen result built by :meth:`PCA.classify` / :meth:`ROBPCA.classify` (and ``result_``
    of a fitted PCA); its fields are listed under Attributes.

    Attributes
    ----------
    scores : ndarray (n, k)
        Coordinates in the k-dimensional PCA subspace.
    score_distance : ndarray (n,)
        SD: the Mahalanobis distance within the subspace, sqrt(sum_j score_j^2 / l_j).
    orthogonal_distance : ndarray (n,)
        OD: the Euclidean distance to the subspace, ||x - center - P score||.
    sd_cutoff : float
        sqrt(chi2_k(1 - alpha)).
    od_cutoff : float or None
        The Wilson-Hilferty cutoff of the OD (None when k equals the rank of the data: then
        every OD is 0).
    category : ndarray of str
        "regular", "good leverage" (SD only), "orthogonal outlier" (OD only) or
        "bad leverage" (both).
    flags : ndarray of bool
        True for points that are not regular.
    alpha : float
        Level of the cutoffs.
    method : str
        "classical" or "robpca".
    n_components : int
        k.
    index : Index or None
        Row labels (a DataFrame's index) for :meth:`to_frame`.

    See Also
    --------
    PCA.classify, ROBPCA.classify : Build it.
    mahalanobis.plot.outlier_map : Draw it.
    CATEGORIES : The four kinds of points, in order.

    Examples
    --------
    >>> import numpy as np
    >>> from mahalanobis.pca import PCA
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((100, 5)) @ np.diag([5.0, 3.0, 1.0, 0.3, 0.1])
    >>> X[:3, 4] += 5                               # three orthogonal outliers
    >>> pca = PCA(n_components=2).fit(X)
    >>> pca.classify()
    PCAResult(method='classical', n_components=2, n=100, sd_cutoff=2.716, od_cutoff=2.443;
              regular: 93, good leverage: 3, orthogonal outlier: 4, bad leverage: 0)
    """

    scores: np.ndarray
    score_distance: np.ndarray
    orthogonal_distance: np.ndarray
    sd_cutoff: float
    od_cutoff: float | None
    category: np.ndarray
    alpha: float
    method: str
    n_components: int
    index: Any = None

    @property
    def flags(self) -> np.ndarray:
        """Points outside either cutoff (rrcov's ``flag`` negated): ndarray of bool (n,).

        See Also
        --------
        PCAResult.counts : How many of each kind.

        Examples
        --------
        >>> import numpy as np
        >>> from mahalanobis.pca import PCA
        >>> rng = np.random.default_rng(0)
        >>> X = rng.standard_normal((100, 5)) @ np.diag([5.0, 3.0, 1.0, 0.3, 0.1])
        >>> X[:3, 4] += 5                               # three orthogonal outliers
        >>> pca = PCA(n_components=2).fit(X)
        >>> np.flatnonzero(pca.classify().flags)
        array([ 0,  1,  2, 49, 54, 70, 94])
        """
        return self.category != CATEGORIES[0]

    def counts(self) -> dict[str, int]:
        """Number of points of each kind.

        Returns
        -------
        dict of str to int
            One entry per kind of :data:`CATEGORIES`, in that order.

        See Also
        --------
        PCAResult.flags : Which points are not regular.

        Examples
        --------
        >>> import numpy as np
        >>> from mahalanobis.pca import PCA
        >>> rng = np.random.default_rng(0)
        >>> X = rng.standard_normal((100, 5)) @ np.diag([5.0, 3.0, 1.0, 0.3, 0.1])
        >>> X[:3, 4] += 5                               # three orthogonal outliers
        >>> pca = PCA(n_components=2).fit(X)
        >>> pca.classify().counts()
        {'regular': 93, 'good leverage': 3, 'orthogonal outlier': 4, 'bad leverage': 0}
        """
        return {c: int(np.sum(self.category == c)) for c in CATEGORIES}

    def to_frame(self) -> Any:
        """One row per point: score_distance, orthogonal_distance, category, flag and the
        scores PC1..PCk.

        Returns
        -------
        pandas.DataFrame
            Indexed like the classified data (a RangeIndex for arrays).

        Raises
        ------
        ImportError
            When pandas is not installed.

        See Also
        --------
        PCAResult.counts : The category totals.

        Examples
        --------
        >>> import numpy as np
        >>> from mahalanobis.pca import PCA
        >>> rng = np.random.default_rng(0)
        >>> X = rng.standard_normal((100, 5)) @ np.diag([5.0, 3.0, 1.0, 0.3, 0.1])
        >>> X[:3, 4] += 5                               # three orthogonal outliers
        >>> pca = PCA(n_components=2).fit(X)
        >>> pca.classify().to_frame().round(2).head(2)
           score_distance  orthogonal_distance            category  flag   PC1   PC2
        0            0.24                 4.81  orthogonal outlier  True  1.08 -0.02
        1            1.51                 4.64  orthogonal outlier  True  2.59  4.18
        """
        import pandas as pd
        cols: dict[str, Any] = {"score_distance": self.score_distance,
                                "orthogonal_distance": self.orthogonal_distance,
                                "category": self.category, "flag": self.flags}
        for j in range(self.scores.shape[1]):
            cols[f"PC{j + 1}"] = self.scores[:, j]
        return pd.DataFrame(cols, index=self.index)

    def __repr__(self) -> str:
        od = "none (k = rank)" if self.od_cutoff is None else f"{self.od_cutoff:.4g}"
        parts = ", ".join(f"{c}: {v}" for c, v in self.counts().items())
        return (f"PCAResult(method={self.method!r}, n_components={self.n_components}, "
                f"n={self.score_distance.size}, sd_cutoff={self.sd_cutoff:.4g}, "
                f"od_cutoff={od}; {parts})")


class _PCABase:
    """What classical and robust PCA share once fitted: center_, loadings_ (p, k),
    eigenvalues_ (k,), the cutoffs and the distances of new rows."""

    center_: np.ndarray
    loadings_: np.ndarray
    eigenvalues_: np.ndarray
    n_components_: int
    rank_: int
    sd_cutoff_: float
    od_cutoff_: float | None
    result_: PCAResult
    _method = "pca"

    def __init__(self, n_components: int | None = None, *, alpha: float = 0.025) -> None:
        self.n_components = n_components
        self.alpha = alpha

    # ------------------------------------------------------------------ helpers
    def _check_fitted(self) -> None:
        if not hasattr(self, "loadings_"):
            raise ValueError(f"this {type(self).__name__} is not fitted yet; call fit(X) "
                             "first.")

    def _data(self, X: ArrayLike) -> Any:
        self._check_fitted()
        return as_data(X, "X", n_features=self.center_.shape[0],
                       feature_names=getattr(self, "feature_names_in_", None))

    def _check_params(self) -> float:
        return check_fraction(self.alpha, "alpha")

    def _finish(self, A: np.ndarray, scores: np.ndarray, index: Any, od_how: str) -> None:
        """Cutoffs from the training distances (rrcov ``pca.distances``) and the result."""
        sd = self._sd(scores)
        od = self._od(A, scores)
        k = self.n_components_
        self.sd_cutoff_ = float(np.sqrt(stats.chi2.ppf(1 - self.alpha, k)))
        self.od_cutoff_ = None if k == self.rank_ else od_cutoff(od, self.alpha, od_how)
        self.result_ = self._result(scores, sd, od, index)

    def _sd(self, scores: np.ndarray) -> np.ndarray:
        return np.sqrt(np.sum(scores * scores / self.eigenvalues_, axis=1))

    def _od(self, A: np.ndarray, scores: np.ndarray) -> np.ndarray:
        R = A - self.center_ - scores @ self.loadings_.T
        return np.sqrt(np.einsum("ij,ij->i", R, R))

    def _result(self, scores: np.ndarray, sd: np.ndarray, od: np.ndarray, index: Any
                ) -> PCAResult:
        cat = categories(sd, od, self.sd_cutoff_, self.od_cutoff_)
        for a in (scores, sd, od, cat):
            a.setflags(write=False)
        return PCAResult(scores=scores, score_distance=sd, orthogonal_distance=od,
                         sd_cutoff=self.sd_cutoff_, od_cutoff=self.od_cutoff_, category=cat,
                         alpha=float(self.alpha), method=self._method,
                         n_components=self.n_components_, index=index)

    # ------------------------------------------------------------------ public
    def transform(self, X: ArrayLike) -> np.ndarray:
        """Scores (X - center_) @ loadings_, shape (n, n_components_).

        Parameters
        ----------
        X : array-like or DataFrame of shape (n, p)
            Rows to project, with the training data's p columns.

        Returns
        -------
        ndarray of shape (n, n_components_)
            Coordinates in the PCA subspace.

        Raises
        ------
        ValueError
            When the estimator is not fitted, or X has another number of columns or
            NaN/inf values.

        See Also
        --------
        PCA.score_distance : The Mahalanobis distance of the scores.

        Examples
        --------
        >>> import numpy as np
        >>> from mahalanobis.pca import PCA
        >>> rng = np.random.default_rng(0)
        >>> X = rng.standard_normal((100, 5)) @ np.diag([5.0, 3.0, 1.0, 0.3, 0.1])
        >>> X[:3, 4] += 5                               # three orthogonal outliers
        >>> pca = PCA(n_components=2).fit(X)
        >>> pca.transform(X[:2]).round(2)
        array([[ 1.08, -0.02],
               [ 2.59,  4.18]])
        """
        A = self._data(X).values
        return (A - self.center_) @ self.loadings_

    def scores(self, X: ArrayLike) -> np.ndarray:
        """The same as :meth:`transform`.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n, p)
            Rows to project.

        Returns
        -------
        ndarray of shape (n, n_components_)
            Coordinates in the PCA subspace.

        Raises
        ------
        ValueError
            As :meth:`transform`.

        See Also
        --------
        PCA.transform : The same.

        Examples
        --------
        >>> import numpy as np
        >>> from mahalanobis.pca import PCA
        >>> rng = np.random.default_rng(0)
        >>> X = rng.standard_normal((100, 5)) @ np.diag([5.0, 3.0, 1.0, 0.3, 0.1])
        >>> X[:3, 4] += 5                               # three orthogonal outliers
        >>> pca = PCA(n_components=2).fit(X)
        >>> pca.scores(X[:1]).round(2)
        array([[ 1.08, -0.02]])
        """
        return self.transform(X)

    def fit_transform(self, X: ArrayLike, y: Any = None) -> np.ndarray:
        """Fit, then the scores of X.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n, p)
            Training data.
        y : None
            Ignored (scikit-learn convention).

        Returns
        -------
        ndarray of shape (n, n_components_)
            Scores of the training rows.

        Raises
        ------
        ValueError
            As :meth:`fit`.

        See Also
        --------
        PCA.fit, PCA.transform : The two steps.

        Examples
        --------
        >>> import numpy as np
        >>> from mahalanobis.pca import PCA
        >>> X = np.random.default_rng(0).standard_normal((100, 5))
        >>> PCA(n_components=2).fit_transform(X).shape
        (100, 2)
        """
        return self.fit(X).transform(X)

    def score_distance(self, X: ArrayLike) -> np.ndarray:
        """SD: the Mahalanobis distance within the PCA subspace, sqrt(sum score_j^2 / l_j).

        Parameters
        ----------
        X : array-like or DataFrame of shape (n, p)
            Rows to measure.

        Returns
        -------
        ndarray of shape (n,)
            Score distances (compare with ``sd_cutoff_``).

        Raises
        ------
        ValueError
            As :meth:`transform`.

        See Also
        --------
        PCA.orthogonal_distance : The distance to the subspace.
        PCA.classify : Both distances with the outlier map's classification.

        Examples
        --------
        >>> import numpy as np
        >>> from mahalanobis.pca import PCA
        >>> rng = np.random.default_rng(0)
        >>> X = rng.standard_normal((100, 5)) @ np.diag([5.0, 3.0, 1.0, 0.3, 0.1])
        >>> X[:3, 4] += 5                               # three orthogonal outliers
        >>> pca = PCA(n_components=2).fit(X)
        >>> pca.score_distance(X[:2]).round(3)
        array([0.237, 1.51 ])
        """
        return self._sd(self.transform(X))

    def orthogonal_distance(self, X: ArrayLike) -> np.ndarray:
        """OD: the Euclidean distance of each row to the PCA subspace.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n, p)
            Rows to measure.

        Returns
        -------
        ndarray of shape (n,)
            Orthogonal distances (compare with ``od_cutoff_``).

        Raises
        ------
        ValueError
            As :meth:`transform`.

        See Also
        --------
        PCA.score_distance : The distance within the subspace.

        Examples
        --------
        >>> import numpy as np
        >>> from mahalanobis.pca import PCA
        >>> rng = np.random.default_rng(0)
        >>> X = rng.standard_normal((100, 5)) @ np.diag([5.0, 3.0, 1.0, 0.3, 0.1])
        >>> X[:3, 4] += 5                               # three orthogonal outliers
        >>> pca = PCA(n_components=2).fit(X)
        >>> pca.orthogonal_distance(X[:3]).round(2)
        array([4.81, 4.64, 5.29])
        """
        A = self._data(X).values
        return self._od(A, (A - self.center_) @ self.loadings_)

    def classify(self, X: ArrayLike | None = None) -> PCAResult:
        """SD, OD and the outlier map's classification of the rows of X (of the training
        data when X is None), against the cutoffs fitted on the training data.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n, p), optional
            Rows to classify; None gives ``result_`` (the training rows).

        Returns
        -------
        PCAResult
            Scores, both distances, both cutoffs and each row's category.

        Raises
        ------
        ValueError
            As :meth:`transform`.

        See Also
        --------
        mahalanobis.plot.outlier_map : Draw the classification.

        Examples
        --------
        >>> import numpy as np
        >>> from mahalanobis.pca import PCA
        >>> rng = np.random.default_rng(0)
        >>> X = rng.standard_normal((100, 5)) @ np.diag([5.0, 3.0, 1.0, 0.3, 0.1])
        >>> X[:3, 4] += 5                               # three orthogonal outliers
        >>> pca = PCA(n_components=2).fit(X)
        >>> pca.classify(X[:5]).counts()
        {'regular': 2, 'good leverage': 0, 'orthogonal outlier': 3, 'bad leverage': 0}
        """

        self._check_fitted()
        if X is None:
            return self.result_
        data = self._data(X)
        A = data.values
        S = (A - self.center_) @ self.loadings_
        return self._result(S, self._sd(S), self._od(A, S), data.index)

    fit: Any

    def __repr__(self) -> str:
        args = [f"n_components={self.n_components!r}"]
        if hasattr(self, "n_components_"):
            args.append(f"fitted: n_components_={self.n_components_}")
        return f"{type(self).__name__}({', '.join(args)})"
