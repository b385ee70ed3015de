"""Mahalanobis-Taguchi System (MTS) feature selection with two-level orthogonal arrays."""

from __future__ import annotations

from typing import Any, cast

import numpy as np
from numpy.typing import ArrayLike
from sklearn.base import BaseEstimator
from sklearn.feature_selection import SelectorMixin
from sklearn.utils.validation import check_is_fitted

from .. import _linalg
from .._validation import check_fraction, check_int, check_nonnegative
from ._common import validate_data

__all__ = ["MTSSelector", "hadamard", "orthogonal_array"]


def _is_prime(q: int) -> bool:
    if q < 2:
        return False
    return all(q % d for d in range(2, int(q**0.5) + 1))


def _paley(q: int) -> np.ndarray:
    """Hadamard matrix of order q + 1 by Paley's first construction (q prime, q = 3 mod 4):
    the Plackett-Burman designs L12, L20, L24, ... (Plackett & Burman 1946)."""
    residues = np.zeros(q, dtype=bool)
    residues[(np.arange(1, q) ** 2) % q] = True
    chi = np.where(residues, 1, -1)
    chi[0] = 0
    i, j = np.meshgrid(np.arange(q), np.arange(q), indexing="ij")
    Q = chi[(j - i) % q]  # Jacobsthal matrix, antisymmetric for q = 3 mod 4
    H = np.ones((q + 1, q + 1), dtype=int)
    H[1:, 1:] = Q + np.eye(q, dtype=int)
    H[1:, 0] = -1
    # Normalise so the first column is all +1 (flip rows).
    return H * H[:, :1]


def hadamard(n: int) -> np.ndarray:
    """A Hadamard matrix of order n (H H^T = n I, entries +-1), first row and column all +1.

    Built by Sylvester doubling from 1, 2 or a Paley matrix of order q + 1 (q prime, q = 3 mod
    4): orders 1, 2, 4, 8, 12, 16, 20, 24, 32, 40, 44, 48, ... Other orders raise ValueError.

    Parameters
    ----------
    n : int
        The order (a positive integer of the list above).

    Returns
    -------
    ndarray of int of shape (n, n)
        Entries +1 and -1, H H^T = n I, first row and column all +1.

    Raises
    ------
    ValueError
        When n is not a positive integer or has no construction here.

    See Also
    --------
    orthogonal_array : The two-level array made from it.
    scipy.linalg.hadamard : Sylvester orders (powers of 2) only.

    Examples
    --------
    >>> from mahalanobis.ml import hadamard
    >>> hadamard(4)
    array([[ 1,  1,  1,  1],
           [ 1, -1, -1,  1],
           [ 1,  1, -1, -1],
           [ 1, -1,  1, -1]])
    >>> hadamard(12).shape
    (12, 12)
    """
    n = check_int(n, "n", 1, "the order of the matrix")
    n = int(n)
    m, doublings = n, 0
    while True:
        if m in (1, 2) or (m % 4 == 0 and _is_prime(m - 1) and (m - 1) % 4 == 3):
            break
        if m % 2:
            raise ValueError(f"no Hadamard construction for order {n} here (Sylvester doubling "
                             "of a Paley matrix); use mahalanobis.ml.orthogonal_array, which "
                             "picks the next available order.")
        m //= 2
        doublings += 1
    H = np.ones((1, 1), dtype=int) if m == 1 else (
        np.array([[1, 1], [1, -1]]) if m == 2 else _paley(m - 1))
    for _ in range(doublings):
        H = np.block([[H, H], [H, -H]])
    H = H * H[:1, :]  # first row all +1 as well (flip columns)
    return H * H[:, :1]


def _available_order(n_factors: int) -> int:
    n = 4 * ((n_factors + 1 + 3) // 4)
    while True:
        try:
            hadamard(n)
            return n
        except ValueError:
            n += 4


def orthogonal_array(n_factors: int) -> np.ndarray:
    """Two-level orthogonal array L_n with at least ``n_factors`` columns, levels 1 and 2.

    n is the smallest Hadamard order >= n_factors + 1 available (Sylvester or Paley /
    Plackett-Burman): L4, L8, L12, L16, L20, L24, L32, L40, L44, L48, ... The array is a
    normalised Hadamard matrix without its first column, +1 -> level 1 and -1 -> level 2,
    cut to ``n_factors`` columns; in any two columns every pair of levels occurs n/4 times.
    The first run has every factor at level 1.

    Parameters
    ----------
    n_factors : int
        Number of two-level factors (columns), at least 1.

    Returns
    -------
    ndarray of int, shape (n, n_factors)
        Levels 1 and 2, one run per row.

    Raises
    ------
    ValueError
        When ``n_factors`` is not a positive integer.

    See Also
    --------
    hadamard : The matrix it is cut from.
    MTSSelector : Uses it to score variables.

    Examples
    --------
    >>> from mahalanobis.ml import orthogonal_array
    >>> orthogonal_array(3)
    array([[1, 1, 1],
           [2, 2, 1],
           [1, 2, 2],
           [2, 1, 2]])
    >>> orthogonal_array(11).shape                    # Plackett-Burman L12
    (12, 11)
    """
    n_factors = check_int(n_factors, "n_factors", 1)
    H = hadamard(_available_order(int(n_factors)))
    return np.where(H[:, 1:n_factors + 1] > 0, 1, 2)


class MTSSelector(SelectorMixin, BaseEstimator):
    """Feature selection by the Mahalanobis-Taguchi System (Taguchi & Jugulum 2002).

    1. The *Mahalanobis space* is built from the normal group (``y == 0``): its means and
       standard deviations standardise the data and its correlation matrix R defines the
       scaled distance ``MD = z^T R^-1 z / k`` over the k variables used (about 1 for normal
       observations).
    2. A two-level orthogonal array L_n (:func:`orthogonal_array`, n >= p + 1 runs) assigns
       each variable to level 1 (used) or level 2 (left out) in every run.
    3. For each run, the larger-the-better signal-to-noise ratio over the t abnormal
       observations (``y != 0``) is ``eta = -10 log10(mean_j 1 / MD_j)`` (Taguchi's
       ``1 / y_j^2`` with ``y_j = sqrt(MD_j)`` the scaled distance).
    4. The gain of a variable is ``mean(eta | level 1) - mean(eta | level 2)``; variables with
       gain above ``threshold`` (positive gain: they increase the separation of abnormal from
       normal) are selected.

    Runs that leave every variable out (possible when p is well below n - 1) are skipped for
    all variables, which keeps the two level means comparable.

    Parameters
    ----------
    threshold : float, default=0.0
        Select variables whose gain (in dB) exceeds it.
    reg : float, default=0.0
        Ridge added to the correlation matrix of the normal group (R + reg I), for normal
        groups with nearly collinear variables.
    normal_class : label, optional
        The label of the normal group in ``y``; every other label is abnormal. Default: 0
        when ``y`` has a 0 (or False) label, else the most frequent label (the normal group
        is the majority in MTS studies).

    Attributes
    ----------
    gains_ : ndarray of shape (p,)
        Gain in S/N ratio (dB) of each variable.
    sn_ratios_ : ndarray of shape (n_runs,)
        eta for every run of the array (NaN for skipped runs).
    orthogonal_array_ : ndarray of shape (n_runs, p)
    mean_, scale_ : ndarray of shape (p,)
        Means and standard deviations of the normal group.
    correlation_ : ndarray of shape (p, p)
        Correlation matrix of the normal group (the Mahalanobis space).
    normal_class_ : label
        The label taken as the normal group.

    References
    ----------
    Taguchi, G. & Jugulum, R. (2002). The Mahalanobis-Taguchi Strategy: A Pattern Technology
    System. Wiley.
    Woodall, W. H. et al. (2003). A review and analysis of the Mahalanobis-Taguchi system.
    Technometrics 45, 1-15.

    See Also
    --------
    orthogonal_array : The design of the runs.
    sklearn.feature_selection.SelectFromModel : Selection from a fitted model's weights.

    Examples
    --------
    >>> import numpy as np
    >>> from mahalanobis.ml import MTSSelector
    >>> rng = np.random.default_rng(0)
    >>> normal, abnormal = rng.standard_normal((60, 4)), rng.standard_normal((20, 4))
    >>> abnormal[:, :2] += 3                          # the first two variables carry the signal
    >>> X, y = np.vstack([normal, abnormal]), np.repeat([0, 1], [60, 20])
    >>> selector = MTSSelector(threshold=5.0).fit(X, y)
    >>> selector.gains_.round(2), selector.get_support()
    (array([10.69, 17.27, -0.3 ,  4.45]), array([ True,  True, False, False]))
    >>> selector.transform(X).shape
    (80, 2)
    """

    def __init__(self, threshold: float = 0.0, reg: float = 0.0,
                 normal_class: Any = None) -> None:
        self.threshold = threshold
        self.reg = reg
        self.normal_class = normal_class

    def fit(self, X: ArrayLike, y: ArrayLike) -> MTSSelector:
        """Build the Mahalanobis space from the normal rows and score variables on the others.

        ``y`` marks normal (``normal_class``: by default 0 or False, else the most frequent
        label) and abnormal (any other label, e.g. several fault types) observations.

        Parameters
        ----------
        X : array-like of shape (n, p)
            Normal and abnormal observations.
        y : array-like of shape (n,)
            ``normal_class`` for normal rows, anything else for abnormal ones.

        Returns
        -------
        MTSSelector
            self, with ``gains_``, ``sn_ratios_``, the Mahalanobis space and the
            selection (``get_support()``).

        Raises
        ------
        ValueError
            When ``threshold`` or ``reg`` is invalid, the normal group has no more rows
            than features, there are no abnormal rows, or X has NaN/inf values.

        See Also
        --------
        MTSSelector.transform : Keep the selected columns.

        Examples
        --------
        >>> import numpy as np
        >>> from mahalanobis.ml import MTSSelector
        >>> rng = np.random.default_rng(0)
        >>> normal, abnormal = rng.standard_normal((60, 4)), rng.standard_normal((20, 4))
        >>> abnormal[:, :2] += 3                          # the first two variables carry the signal
        >>> X, y = np.vstack([normal, abnormal]), np.repeat([0, 1], [60, 20])
        >>> MTSSelector().fit(X, y).gains_.round(1)
        array([10.7, 17.3, -0.3,  4.5])
        """

        check_fraction(self.threshold, "threshold", low=-np.inf, high=np.inf,
                       hint="threshold is a gain in dB.")
        check_nonnegative(self.reg, "reg")
        X, y = cast("tuple[np.ndarray, np.ndarray]",
                    validate_data(self, X, y, ensure_min_samples=2, dtype=np.float64))
        from sklearn.utils.multiclass import check_classification_targets
        check_classification_targets(y)  # labels, not a continuous target
        y = np.asarray(y)
        labels, counts = np.unique(y, return_counts=True)
        if self.normal_class is not None:
            if self.normal_class not in set(labels.tolist()):
                raise ValueError(f"normal_class={self.normal_class!r} is not a label of y "
                                 f"(labels {labels[:8].tolist()}); pass one of them.")
            self.normal_class_ = self.normal_class
        elif (labels == 0).any():
            self.normal_class_ = labels[labels == 0][0].item()
        else:
            self.normal_class_ = labels[int(np.argmax(counts))].item()
        is_normal = y == self.normal_class_
        normal, abnormal = X[is_normal], X[~is_normal]
        n0, p = normal.shape
        if n0 <= p:
            raise ValueError(f"the normal group (y == {self.normal_class_!r}) has {n0} rows for "
                             f"{p} features; the Mahalanobis space needs more normal rows than "
                             "features.")
        if abnormal.shape[0] == 0:
            raise ValueError(f"y has no abnormal observations (y != {self.normal_class_!r}); MTS "
                             "scores variables by how far they move abnormal observations from "
                             "the normal ones.")
        self.mean_ = normal.mean(axis=0)
        scale = normal.std(axis=0, ddof=1)
        if np.any(scale == 0):
            bad = np.flatnonzero(scale == 0)[:5].tolist()
            raise ValueError(f"features {bad} are constant in the normal group; drop them "
                             "before MTS (they cannot be standardised).")
        self.scale_ = scale
        Zn = (normal - self.mean_) / scale
        R = Zn.T @ Zn / (n0 - 1)
        R = (R + R.T) / 2 + self.reg * np.eye(p)
        self.correlation_ = R
        Za = (abnormal - self.mean_) / scale
        oa = orthogonal_array(p)
        eta = np.full(oa.shape[0], np.nan)
        for r, run in enumerate(oa):
            used = np.flatnonzero(run == 1)
            if used.size == 0:
                continue
            L = _linalg.cholesky(R[np.ix_(used, used)], "correlation of the normal group")
            W = _linalg.inverse_triangular(L, lower=True)
            md = _linalg.sq_norms_of_whitened(Za[:, used], np.zeros(used.size), W,
                                              lower=True) / used.size
            with np.errstate(divide="ignore"):
                eta[r] = -10.0 * np.log10(np.mean(1.0 / md))
        ok = np.isfinite(eta)
        gains = np.empty(p)
        for j in range(p):
            lv1 = ok & (oa[:, j] == 1)
            lv2 = ok & (oa[:, j] == 2)
            gains[j] = eta[lv1].mean() - eta[lv2].mean() if lv1.any() and lv2.any() else 0.0
        self.orthogonal_array_ = oa
        self.sn_ratios_ = eta
        self.gains_ = gains
        return self

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        return tags

    def _get_support_mask(self) -> np.ndarray:
        check_is_fitted(self)
        return self.gains_ > self.threshold  # type: ignore[has-type]
