"""Subset size and correction factors of the MCD, as R's robustbase computes them.

* :func:`h_alpha_n` -- robustbase's ``h.alpha.n``: the size h of the MCD subset.
* :func:`mcd_consistency` -- robustbase's ``.MCDcons(p, alpha)``: the consistency factor of
  Croux & Haesbroeck (1999) that makes the covariance of the ``alpha`` fraction of a normal
  sample closest to its centre consistent for the full covariance,
  ``alpha / P(chi2_{p+2} <= chi2_{p, alpha})``.
* :func:`mcd_small_sample` -- robustbase's ``.MCDcnp2`` and ``.MCDcnp2.rew``: the
  finite-sample correction factors of Pison, Van Aelst & Willems (2002), fitted to simulations
  (log-linear in p and n, linear in alpha between 0.5, 0.875 and 1), with robustbase's
  simulated lookup table for small n at alpha = 0.5.

Values agree with robustbase 0.95-0 to rounding (tests/reference/data/mcd_factors.json).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

from .._deprecation import renamed_parameters
from .._validation import check_bool, check_fraction, check_int

__all__ = ["h_alpha_n", "mcd_consistency", "mcd_small_sample"]


def _check_fnp(support_fraction: float, n: int, p: int) -> tuple[float, int, int]:
    """The arguments (support_fraction, n, p) of the MCD's subset size and factors, checked."""
    return (check_fraction(support_fraction, "support_fraction", low=0.5, low_open=False,
                           high_open=False),
            check_int(n, "n", 1, "the number of points"),
            check_int(p, "p", 1, "the number of features"))


@renamed_parameters(alpha="support_fraction")
def h_alpha_n(support_fraction: float, n: int, p: int) -> int:
    """Size of the MCD subset: ``floor(2 n2 - n + 2 (n - n2) support_fraction)`` with
    ``n2 = (n + p + 1) // 2`` (robustbase's ``h.alpha.n``, whose ``alpha`` is the
    support fraction). 0.5 gives the subset of maximal breakdown point, 1 gives h = n.

    Parameters
    ----------
    support_fraction : float
        Share of the points in the subset, in [0.5, 1] (rrcov/robustbase ``alpha``).
    n : int
        Number of points.
    p : int
        Number of features.

    Returns
    -------
    int
        The subset size h.

    See Also
    --------
    mcd : Uses it for its subset size.
    mcd_consistency : The consistency factor at the same fraction.

    Examples
    --------
    >>> from mahalanobis.covariance import h_alpha_n
    >>> h_alpha_n(0.5, 100, 3), h_alpha_n(0.75, 100, 3), h_alpha_n(1.0, 100, 3)
    (52, 76, 100)
    """
    support_fraction, n, p = _check_fnp(support_fraction, n, p)
    n2 = (n + p + 1) // 2
    return math.floor(2 * n2 - n + 2 * (n - n2) * support_fraction)


@renamed_parameters(alpha="fraction")
def mcd_consistency(p: int, fraction: float) -> float:
    """Croux-Haesbroeck consistency factor ``1 / (P(chi2_{p+2} <= q) / fraction)``, q the
    fraction-quantile of chi2_p (robustbase ``.MCDcons``). Equals 1 at fraction = 1.

    Parameters
    ----------
    p : int
        Number of features.
    fraction : float
        Share of the points the scatter was computed from (h / n), in (0, 1].

    Returns
    -------
    float
        The factor that makes the scatter of the ``fraction`` most central normal points
        consistent for the covariance (>= 1).

    See Also
    --------
    mcd_small_sample : The finite-sample correction applied on top.
    h_alpha_n : The subset size.

    Examples
    --------
    >>> from mahalanobis.covariance import mcd_consistency
    >>> round(mcd_consistency(3, 0.5), 4), mcd_consistency(3, 1.0)
    (2.4574, 1.0)
    """
    p = check_int(p, "p", 1, "the number of features")
    fraction = check_fraction(fraction, "fraction", high_open=False)
    if fraction >= 1.0:
        return 1.0
    q = stats.chi2.ppf(fraction, p)
    return float(fraction / stats.gamma.cdf(q / 2.0, p / 2.0 + 1.0))


# robustbase's simulated tables MCDcnp2s$sim.0 and $sim.rew (1 / fp.500.n), used at alpha = 0.5:
# p -> (n_min, values for n = n_min, n_min + 1, ...).
_SIM_RAW = {
    1: (1, [1, 3.075819]),
    2: (4, [3.15342, 1.799889, 2.258497]),
    3: (6, [2.12777, 2.718898, 1.993509, 2.220433, 1.820585]),
    4: (8, [2.950549, 2.145387, 2.382224, 1.927077, 2.032489, 1.8371]),
    5: (10, [2.229573, 2.494447, 2.016117, 2.190061, 1.877996, 1.978964, 1.767284]),
    6: (12, [2.580264, 2.109121, 2.240741, 1.944719, 2.043397, 1.821808, 1.89725]),
    7: (14, [2.165233, 2.320281, 2.007836, 2.086471, 1.884052, 1.950563, 1.76926]),
    8: (16, [2.340443, 2.048262, 2.161097, 1.926082, 1.995422]),
    9: (18, [2.093386, 2.185793, 1.948989]),
}
_SIM_REW = {
    1: (1, [1, 0.984724]),
    2: (4, [2.216302, 1.418526, 1.635601]),
    3: (6, [1.73511, 2.06681, 1.545905, 1.659655, 1.456835]),
    4: (8, [2.388892, 1.847626, 1.96998, 1.630723, 1.701272, 1.521008]),
    5: (10, [1.968153, 2.168931, 1.784373, 1.894409, 1.667912, 1.693007, 1.545176]),
    6: (12, [2.275891, 1.866587, 2.014249, 1.750567, 1.829363, 1.650019, 1.689043]),
    7: (14, [1.95771, 2.074066, 1.847385, 1.905408, 1.71393, 1.768425, 1.63908]),
    8: (16, [2.164121, 1.871024, 1.979485, 1.782417, 1.84489]),
    9: (18, [1.938822, 2.050409, 1.834863]),
}

# (a, b) of fp(n) = 1 - exp(a) / n^b for p = 1, 2, at alpha = 0.5 and 0.875.
_LOW_P = {
    False: {1: ((0.262024211897096, 0.604756680630497), (-0.351584646688712, 1.01646567502486)),
            2: ((0.673292623522027, 0.691365864961895), (0.446537815635445, 1.06690782995919))},
    True: {1: ((1.11098143415027, 1.5182890270453), (-0.66046776772861, 0.88939595831888)),
           2: ((3.11101712909049, 1.91401056721863), (0.79473550581058, 1.10081930350091))},
}
# Columns (c1, c2, c3) of robustbase's coeffqpkwad500 / 875 (raw) and coeffrewqpkwad (rew).
_HIGH_P = {
    False: (((-1.42764571687802, 1.26263336932151, 2), (-1.06141115981725, 1.28907991440387, 3)),
            ((-0.455179464070565, 1.11192541278794, 2),
             (-0.294241208320834, 1.09649329149811, 3))),
    True: (((-1.02842572724793, 1.67659883081926, 2), (-0.26800273450853, 1.35968562893582, 3)),
           ((-0.544482443573914, 1.25994483222292, 2),
            (-0.343791072183285, 1.25159004257133, 3))),
}


def _fp_high_p(cols: tuple, p: int, n: int) -> float:
    # Solve the 2 x 2 system A c = y of robustbase: y = log(-c1 / p^c2), A = [1, -log(c3 p^2)].
    y = np.array([math.log(-c[0] / p ** c[1]) for c in cols])
    A = np.array([[1.0, -math.log(c[2] * p * p)] for c in cols])
    coef = np.linalg.solve(A, y)
    return 1.0 - math.exp(coef[0]) / n ** coef[1]


@renamed_parameters(alpha="support_fraction")
def mcd_small_sample(p: int, n: int, support_fraction: float, reweighted: bool = False) -> float:
    """Pison-Van Aelst-Willems finite-sample factor (robustbase ``.MCDcnp2``, or
    ``.MCDcnp2.rew`` when ``reweighted``): 1 / fp(support_fraction, n), fp interpolated
    linearly in the support fraction between the fitted fp(0.5, n), fp(0.875, n) and
    fp(1, n) = 1.

    Parameters
    ----------
    p : int
        Number of features.
    n : int
        Number of points.
    support_fraction : float
        The MCD's support fraction, in [0.5, 1].
    reweighted : bool, default False
        The factor of the reweighted (True) or the raw (False) estimate.

    Returns
    -------
    float
        The factor (> 0; tends to 1 as n grows).

    See Also
    --------
    mcd_consistency : The asymptotic consistency factor.
    mcd : Applies both (``correction=True``).

    Examples
    --------
    >>> from mahalanobis.covariance import mcd_small_sample
    >>> round(float(mcd_small_sample(3, 50, 0.5)), 4)
    1.1863
    >>> round(float(mcd_small_sample(3, 50, 0.5, reweighted=True)), 4)
    1.0134
    """
    support_fraction, n, p = _check_fnp(support_fraction, n, p)
    reweighted = check_bool(reweighted, "reweighted")
    if p > 2:
        c500, c875 = _HIGH_P[reweighted]
        fp500 = _fp_high_p(c500, p, n)
        fp875 = _fp_high_p(c875, p, n)
    else:
        (a5, b5), (a8, b8) = _LOW_P[reweighted][p]
        fp500 = 1.0 - math.exp(a5) / n ** b5
        fp875 = 1.0 - math.exp(a8) / n ** b8
    if support_fraction == 0.5:
        table = (_SIM_REW if reweighted else _SIM_RAW).get(p)
        if table is not None and table[0] <= n < table[0] + len(table[1]):
            fp500 = 1.0 / table[1][n - table[0]]
    if support_fraction <= 0.875:
        fp = fp500 + (fp875 - fp500) / 0.375 * (support_fraction - 0.5)
    else:
        fp = fp875 + (1.0 - fp875) / 0.125 * (support_fraction - 0.875)
    return 1.0 / fp
