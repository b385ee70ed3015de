"""ROBPCA: robust principal components (Hubert, Rousseeuw & Vanden Branden 2005), as rrcov's
``PcaHubert``.

1. Reduce the data to the affine subspace they span (classical SVD; this is what makes it
   work for p > n).
2. If that subspace is small (rank <= min(n/5, kmax)): PCA of the reweighted MCD scatter.
3. Otherwise, the projection-pursuit branch: the Stahel-Donoho outlyingness of every point
   over directions through pairs of points (with the univariate MCD as location and scale),
   the h least outlying points, their classical PCA, the number of components k, an extra
   reweighting on the orthogonal distances, then C-steps and the reweighted MCD in the
   k-dimensional subspace; its eigenvectors are the robust loadings.
4. Score distances (Mahalanobis within the subspace) and orthogonal distances to it, with
   their cutoffs, classify every point (the outlier map).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from itertools import combinations
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats

from .._validation import (
    as_data,
    check_bool,
    check_fraction,
    check_int,
    check_random_state,
    check_spread,
)
from ..covariance import h_alpha_n, mcd
from ._common import _PCABase, class_pc, k_rule

__all__ = ["ROBPCA"]

MAX_DIRECTIONS = 250


# --------------------------------------------------------------------------- univariate MCD
def unimcd(Y: np.ndarray, h: int) -> tuple[np.ndarray, np.ndarray]:
    """rrcov's ``unimcd`` for every column of Y (n, m) at once: the reweighted univariate MCD
    location and scale (t, s). The window sums and sums of squares use rrcov's recursive
    updates, evaluated in the same order (they decide near-ties), starting from long-double
    sums as R's ``sum``."""
    Y = np.atleast_2d(np.asarray(Y, dtype=float).T).T
    n, m = Y.shape
    if h >= n:
        return Y.mean(axis=0), Y.std(axis=0, ddof=1)
    order = np.argsort(Y, axis=0, kind="stable")
    y = np.take_along_axis(Y, order, axis=0)
    L = n - h + 1
    ay = np.empty((L, m))
    sq = np.empty((L, m))
    ay[0] = np.sum(y[:h].astype(np.longdouble), axis=0).astype(float)
    for s in range(1, L):
        ay[s] = (ay[s - 1] - y[s - 1]) + y[s + h - 1]
    ay2 = ay * ay / h
    sq[0] = np.sum((y[:h] ** 2).astype(np.longdouble), axis=0).astype(float) - ay2[0]
    for s in range(1, L):
        sq[s] = (((sq[s - 1] - y[s - 1] ** 2) + y[s + h - 1] ** 2) - ay2[s]) + ay2[s - 1]
    sqmin = sq.min(axis=0)
    tmcd = np.empty(m)
    smcd = np.empty(m)
    q1 = stats.chi2.ppf(h / n, 1)
    q975 = stats.chi2.ppf(0.975, 1)
    for j in range(m):
        ties = np.flatnonzero(sq[:, j] == sqmin[j])
        mean0 = ay[ties[(ties.size + 1) // 2 - 1], j] / h
        var0 = sqmin[j] / (h - 1)
        res = (y[:, j] - mean0) ** 2 / var0
        var0 *= np.partition(res, h - 1)[h - 1] / q1
        w = (y[:, j] - mean0) ** 2 / var0 < q975
        yw = y[w, j]
        tmcd[j] = float(np.sum(yw.astype(np.longdouble)) / yw.size)
        smcd[j] = math.sqrt(float(np.sum(((yw - tmcd[j]) ** 2).astype(np.longdouble)))
                            / (yw.size - 1))
    return tmcd, smcd


def direction_pairs(n: int, max_directions: int = MAX_DIRECTIONS) -> np.ndarray:
    """0-based row pairs (i, j) whose differences x_i - x_j are ROBPCA's directions: all of
    them in ``combn`` order when there are at most ``max_directions``, else rrcov's
    ``extradir`` sequence (a fixed linear congruential generator, not R's RNG)."""
    if n * (n - 1) // 2 <= max_directions:
        return np.array(list(combinations(range(n), 2)), dtype=np.intp).reshape(-1, 2)
    seed = 0.0

    def uniran() -> float:
        nonlocal seed
        seed = math.floor(seed * 5761) + 999
        quot = math.floor(seed / 65536)
        seed = math.floor(seed) - math.floor(quot * 65536)
        return seed / 65536

    out = np.empty((max_directions, 2), dtype=np.intp)
    for r in range(max_directions):
        a = math.floor(uniran() * n)
        b = math.floor(uniran() * n)
        while b == a:
            b = math.floor(uniran() * n)
        out[r] = (a, b)
    return out


def outlyingness(X: np.ndarray, h: int, max_directions: int = MAX_DIRECTIONS
                 ) -> np.ndarray:
    """rrcov's ``outl``: the largest |a^T x - t| / s over the directions a through pairs of
    points, (t, s) the univariate MCD of the projections."""
    pairs = direction_pairs(X.shape[0], max_directions)
    B = X[pairs[:, 0]] - X[pairs[:, 1]]
    nrm = np.sqrt(np.einsum("ij,ij->i", B, B))
    A = B[nrm > 1e-12] / nrm[nrm > 1e-12, None]
    Y = X @ A.T
    t, s = unimcd(Y, h)
    ok = s >= 1e-12
    if not ok.all():
        # an exact fit in some direction: rrcov stops when the points it rests on coincide
        j = int(np.flatnonzero(~ok)[0])
        on = np.abs(Y[:, j] - t[j]) < 1e-12 * max(1.0, float(np.max(np.abs(Y[:, j]))))
        if np.linalg.matrix_rank(X[on] - X[on].mean(axis=0)) == 0:
            raise ValueError(f"X: at least {int(on.sum())} observations are identical; "
                             "ROBPCA cannot separate them. Remove duplicates or reduce "
                             "support_fraction.")
    Z = np.zeros_like(Y)
    Z[:, ok] = np.abs(Y[:, ok] - t[ok]) / s[ok]
    return Z.max(axis=1)


def _default_mcd(random_state: Any) -> Callable[[np.ndarray, float, int], Any]:
    def fit(X: np.ndarray, support_fraction: float, n_starts: int) -> tuple[np.ndarray,
                                                                             np.ndarray]:
        r = mcd(X, support_fraction=support_fraction, n_starts=n_starts,
                random_state=random_state)
        return np.asarray(r.center), np.asarray(r.cov)
    return fit


def _eigh_desc(S: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    ev, V = np.linalg.eigh((S + S.T) / 2)
    return ev[::-1], V[:, ::-1]


def robpca(A: np.ndarray, *, k: int = 0, kmax: int = 10, support_fraction: float | None = None,
           use_mcd: bool = True, max_directions: int = MAX_DIRECTIONS,
           mcd_fit: Callable[[np.ndarray, float, int], tuple[np.ndarray, np.ndarray]]
           ) -> dict[str, Any]:
    """rrcov's ``PcaHubert.default`` step for step; ``mcd_fit(X, support_fraction, n_starts)``
    returns the reweighted MCD (center, cov) it uses (the only random part)."""
    n, _p = A.shape
    xsvd = class_pc(A)
    r = xsvd.rank
    kmax = max(min(math.floor(kmax), r), 1)
    k = max(math.floor(k), 0)
    if k > kmax:
        raise ValueError(f"n_components={k} exceeds kmax = {kmax} (the rank of the centred "
                         f"data is {r}); pass at most {kmax}.")
    if support_fraction is None:                       # rrcov with alpha missing
        h = min(h_alpha_n(0.75, n, kmax), n)
        floor_h = (n + kmax + 1) // 2 if k == 0 else (n + k + 1) // 2
        h = max(h, floor_h)
        if h > n:  # pragma: no cover - only for tiny n
            h = h_alpha_n(0.75, n, kmax if k == 0 else k)
        alpha = h / n
    else:
        alpha = support_fraction
        h = h_alpha_n(alpha, n, kmax if k == 0 else k)
    X = xsvd.scores
    center, rot = xsvd.center, xsvd.loadings
    out: dict[str, Any] = {"rank": r, "h": h, "alpha": alpha}
    if r <= min(n // 5, kmax) and use_mcd:
        mc, mS = mcd_fit(X, alpha, 500)
        ev, U = _eigh_desc(mS)
        k = min(k, r) if k else k_rule(ev, r, kmax)
        out.update(branch="mcd", eig0=ev, scores=(X - mc) @ U[:, :k], eigenvalues=ev[:k],
                   loadings=rot @ U[:, :k], center=center + rot @ mc, k=k,
                   quan=h_alpha_n(alpha, n, r))
        return out
    outl = outlyingness(X, h, max_directions)
    H0 = np.argsort(outl, kind="stable")[:h]
    hs = class_pc(X[H0])
    kmax = min(hs.rank, kmax)
    eig0 = hs.eigenvalues
    if k == 0:
        k = k_rule(hs.eigenvalues, hs.rank, kmax)
    if k != r:                                          # extra reweighting step
        k = min(hs.rank, k)
        XRc = X - hs.center
        Pk = hs.loadings[:, :k]
        R = XRc - (XRc @ Pk) @ Pk.T
        odh = np.sqrt(np.einsum("ij,ij->i", R, R))
        t, s = unimcd((odh ** (2.0 / 3.0))[:, None], h)
        cut = (t[0] + s[0] * stats.norm.ppf(0.975)) ** 1.5
        hs = class_pc(X[odh <= cut])
        k = min(hs.rank, k)
    center = center + rot @ hs.center
    rot = (rot @ hs.loadings)[:, :k]
    X2 = ((X - hs.center) @ hs.loadings)[:, :k]
    ev = hs.eigenvalues
    # projectMCD: C-steps in the k-dimensional subspace, then the reweighted MCD there
    mah = np.sum(X2 * X2 / ev[:k], axis=1)
    oldobj = float(np.prod(ev[:k]))
    for _ in range(100):
        sub = class_pc(X2[np.argsort(mah, kind="stable")[:h]])
        obj = float(np.prod(sub.eigenvalues))
        X2 = (X2 - sub.center) @ sub.loadings
        center = center + rot @ sub.center
        rot = rot @ sub.loadings
        mah = np.sum(X2 * X2 / sub.eigenvalues, axis=1)
        if sub.rank == k and abs(oldobj - obj) < 1e-12:
            break
        oldobj = obj
        if sub.rank < k:
            k = sub.rank
    mc, mS = mcd_fit(X2, alpha, 250)
    ev2, P6 = _eigh_desc(mS)
    out.update(branch="projection", eig0=eig0, scores=(X2 - mc) @ P6, eigenvalues=ev2,
               loadings=rot @ P6, center=center + rot @ mc, k=k, quan=h, outlyingness=outl)
    return out


class ROBPCA(_PCABase):
    """Robust principal components (Hubert, Rousseeuw & Vanden Branden 2005), as rrcov
    ``PcaHubert``.

    Parameters
    ----------
    n_components : int, optional
        k. None: rrcov's rule on the robust eigenvalues (the smallest k with 80% of the
        robust variance, stopping at the first eigenvalue below 1e-3 of the largest).
    kmax : int
        Largest k considered (rrcov ``kmax``, 10).
    support_fraction : float in [0.5, 1], optional
        Share of points the robust fits rest on (rrcov ``alpha``). None reproduces rrcov's
        default: h = h_alpha_n(0.75, n, kmax), raised to floor((n + k + 1)/2) when smaller
        (rrcov gives a different h when ``alpha = 0.75`` is passed explicitly:
        h_alpha_n(0.75, n, k)).
    alpha : float
        Level of the cutoffs: SD above sqrt(chi2_k(1 - alpha)) and OD above the Wilson-
        Hilferty cutoff (median and MAD of OD^(2/3)) are flagged.
    mcd : bool
        Use the MCD branch when the data span few dimensions (rrcov ``mcd``).
    max_directions : int
        Directions through pairs of points for the outlyingness (rrcov ``maxdir``).
    random_state : None, int or numpy Generator
        Seeds the MCD fits (the only random part).

    Attributes
    ----------
    center_, loadings_, eigenvalues_, n_components_, rank_
        Robust centre, the k robust loadings (orthonormal columns), their robust
        eigenvalues, k, and the rank of the centred data.
    h_ : int
        Subset size; ``branch_`` "mcd" or "projection".
    all_eigenvalues_ : ndarray
        The robust eigenvalues k was chosen from (rrcov ``eig0``).
    outlyingness_ : ndarray or None
        Stahel-Donoho outlyingness of the training rows (projection branch).
    sd_cutoff_, od_cutoff_, result_
        As :class:`PCA`.

    See Also
    --------
    PCA, mahalanobis.plot.outlier_map, mahalanobis.covariance.mcd

    Notes
    -----
    Hubert, M., Rousseeuw, P. J. & Vanden Branden, K. (2005), ROBPCA: a new approach to
    robust principal component analysis, Technometrics 47:64-79; rrcov 1.7-2 ``PcaHubert``
    (after LIBRA). Given the same MCD fits the loadings (up to sign), eigenvalues, scores,
    distances and cutoffs equal rrcov's to 1e-8 on rrcov's test data, both branches
    (tests/test_pca.py). The MCD here scales its reweighted scatter by ``.MCDcons(p, 0.975)``
    (robustbase >= 0.99) where rrcov 1.7-2 used ``.MCDcons(p, sum(w)/n)``, which changes
    the robust eigenvalues by that ratio. rrcov's final check "MCD objective below the
    C-steps' objective" compares a log-determinant with a determinant and always takes the
    MCD; so does this code.

    Examples
    --------
    >>> import numpy as np
    >>> from mahalanobis.pca import ROBPCA
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((100, 6)) @ np.diag([4.0, 2.0, 0.3, 0.3, 0.3, 0.3])
    >>> X[:8, 3] += 12                                  # orthogonal outliers
    >>> pca = ROBPCA(n_components=2, random_state=0).fit(X)
    >>> pca.branch_, pca.classify().counts()["orthogonal outlier"] >= 8
    ('mcd', True)
    """

    _method = "robpca"

    def __init__(self, n_components: int | None = None, *, kmax: int = 10,
                 support_fraction: float | None = None, alpha: float = 0.025, mcd: bool = True,
                 max_directions: int = MAX_DIRECTIONS, random_state: Any = None) -> None:
        super().__init__(n_components, alpha=alpha)
        self.kmax = kmax
        self.support_fraction = support_fraction
        self.mcd = mcd
        self.max_directions = max_directions
        self.random_state = random_state

    def fit(self, X: ArrayLike, y: ArrayLike | None = None, *, _mcd_fit: Any = None) -> ROBPCA:
        """Fit to X (n, p); returns self.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n, p)
            Training data (p > n allowed); a DataFrame's columns become
            ``feature_names_in_``.
        y : None
            Ignored (scikit-learn convention).

        Returns
        -------
        ROBPCA
            The fitted estimator (``center_``, ``loadings_``, ``eigenvalues_``, ``h_``,
            ``branch_``, the cutoffs and ``result_``).

        Raises
        ------
        ValueError
            When X has fewer than 3 rows or NaN/inf values, or ``n_components``, ``kmax``,
            ``support_fraction``, ``alpha`` or ``max_directions`` is out of range.

        See Also
        --------
        ROBPCA.classify : Distances and outlier-map classification of (new) rows.
        mahalanobis.covariance.mcd : The robust fits inside.

        Examples
        --------
        >>> import numpy as np
        >>> from mahalanobis.pca import ROBPCA
        >>> X = np.random.default_rng(0).standard_normal((100, 5)) @ np.diag([5.0, 3, 1, 0.3, 0.1])
        >>> X[:3, 4] += 5                               # three orthogonal outliers
        >>> pca = ROBPCA(n_components=2, random_state=0).fit(X)
        >>> pca.h_, pca.branch_, pca.classify().counts()["orthogonal outlier"]
        (77, 'mcd', 4)
        """
        check_bool(self.mcd, "mcd")
        self._check_params()
        kmax = check_int(self.kmax, "kmax", 1)

        k = 0 if self.n_components is None else check_int(self.n_components, "n_components",
                                                          1)
        sf = None if self.support_fraction is None else check_fraction(
            self.support_fraction, "support_fraction", low=0.5, high=1.0, low_open=False,
            high_open=False)
        data = as_data(X, "X", min_samples=3)
        check_spread(data)  # variances float64 can hold
        A = data.values
        rng = check_random_state(self.random_state)
        out = robpca(A, k=k, kmax=kmax, support_fraction=sf, use_mcd=bool(self.mcd),
                     max_directions=check_int(self.max_directions, "max_directions", 1),
                     mcd_fit=_mcd_fit or _default_mcd(rng))
        kk = out["k"]
        self.center_ = out["center"]
        self.loadings_ = out["loadings"][:, :kk]
        self.eigenvalues_ = out["eigenvalues"][:kk]
        self.all_eigenvalues_ = out["eig0"]
        self.n_components_ = kk
        self.rank_ = out["rank"]
        self.h_ = int(out["quan"])
        self.branch_ = out["branch"]
        self.outlyingness_ = out.get("outlyingness")
        self.n_features_in_ = A.shape[1]
        if data.columns is not None:
            self.feature_names_in_ = np.asarray([str(c) for c in data.columns], dtype=object)
        self._finish(A, out["scores"][:, :kk].copy(), data.index, "medmad")
        return self
