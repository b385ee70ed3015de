"""`outliers()`: the main job in one call -- fit, then flag the rows with calibrated cutoffs.

Because the rows being judged are the rows the estimate came from (in-sample), their squared
distances do not follow the chi-squared law of a point judged against known parameters, and
at small and moderate n the chi-squared rule flags far more clean rows than its level says.
``outliers`` uses the finite-sample law of each procedure:

* ``method="empirical"``: the exact law of in-sample distances to the sample mean and
  covariance, n D^2 / (n - 1)^2 ~ Beta(p/2, (n - p - 1)/2) (Wilks 1963; Gnanadesikan &
  Kettenring 1972).
* ``method="mcd"``: Cerioli's (2010) reweighted MCD (RMCD), in full. (1) The raw MCD (the
  h-subset's mean and covariance, scaled by the consistency factor c(p, h/n) and the
  small-sample factor of Pison, Van Aelst & Willems 2002). (2) Reweighting weights from the
  Hardin & Rocke (2005) scaled-F law of the raw distances at level 0.025 (not chi-squared):
  w_i = 1 when d2_i <= p m / (m - p + 1) F_{0.975}(p, m - p + 1), m their small-sample degrees
  of freedom. (3) The mean and covariance (divisor w - 1) of the w = sum(w_i) kept rows, the
  covariance scaled by k = c(p, 0.975) = 0.975 / P(chi2_{p+2} <= chi2_{p, 0.975}).
  (4) Rows with w_i = 1 are judged by the scaled Beta (w - 1)^2 / w Beta(p/2, (w - p - 1)/2),
  rows with w_i = 0 by the scaled F (w^2 - 1) p / (w (w - p)) F(p, w - p) (Cerioli 2010,
  eqs. 14-15; the procedure of R's CerioliOutlierDetection package). Below n = 100 these
  Beta/F laws are off (measured: 1.7 % of clean rows at n = 30, p = 2; 5.7 % at n = 30,
  p = 10, for 2.5 %), so ``reference="auto"`` judges the same RMCD distances by their law
  simulated at the n and p in hand -- exact, the procedure being affine equivariant -- once,
  seeded and cached; ``reference="cerioli"`` forces the formulas.
* ``method="irmcd"``: Cerioli's iterated RMCD: the hypothesis "no outlier at all" is tested at
  the family-wise level alpha (Sidak over the n rows); only if it is rejected are the rows
  tested one by one at level alpha. Its family-wise rate on clean data is alpha, and its power
  that of the per-row test.
* any other estimator of :func:`mahalanobis.fit` (OGK, S, MM, MVE, Stahel-Donoho, Tyler,
  spatial sign, MRCD, shrinkage...): a Monte Carlo calibration of the cutoff at the n and p in
  hand (see :mod:`mahalanobis.inference.calibration`; seeded, cached on disk).

``level="simultaneous"`` controls the chance of flagging any clean row (Sidak: each row at
1 - (1 - alpha)^(1/n)); ``"individual"`` the expected share of clean rows flagged.
``reference="chi2"`` gives the asymptotic rule (robustbase's default: reweighted MCD with
chi2_{p, 0.975} weights, flags above chi2_{p, 1 - alpha}), for comparison.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import stats

from .. import covariance
from .._calibration import NEW_POINT_SIMULATE_BELOW
from .._validation import as_data, check_choice, check_fraction, check_int, wrap_like
from ..errors import SingularCovarianceError
from ..metric import Metric
from .calibration import new_point_law, simulate_reference
from .cutoffs import cerioli_cutoffs, hardin_rocke

__all__ = ["OutlierResult", "RMCDMetric", "outliers", "rmcd"]

_LEVELS = ("individual", "simultaneous")
_REFERENCES = ("auto", "beta", "cerioli", "chi2", "simulated")
#: Level of the Hardin-Rocke test that sets the RMCD reweighting weights (Cerioli 2010).
RMCD_DELTA = 0.025
#: Below this many rows ``reference="auto"`` judges RMCD distances by their simulated law:
#: Cerioli's Beta/F approximation is off there (benchmarks/RESULTS.md, "Calibration").
RMCD_SIMULATE_BELOW = 100


@dataclass(frozen=True, repr=False, eq=False)
class OutlierResult:
    """Rows flagged as outliers, with the distances, p-values and cutoffs behind the flags.

    Attributes
    ----------
    flags : ndarray of bool or Series
        True for the rows flagged at ``alpha`` (``d2 > cutoff``).
    distance, d2 : ndarray or Series
        Mahalanobis distance D and its square to the fitted centre and scatter.
    pvalue : ndarray or Series
        Per-row p-value under the reference law (before any family-wise adjustment): a row
        is flagged when it is below ``alpha_row``.
    cutoff : float or ndarray
        The D^2 cutoff: one number, or one per row when rows have different laws (RMCD).
    reference : str
        The reference law used, in words.
    metric : Metric
        The fitted centre and scatter the distances are measured with.
    method, level : str
    alpha : float
        The requested level (per row, or family-wise for ``level="simultaneous"``/``"irmcd"``).
    alpha_row : float
        The level each row is tested at (alpha, or Sidak's 1 - (1 - alpha)^(1/n)).
    weights : ndarray of bool or None
        RMCD: the rows kept by the reweighting step (None for other methods).
    omitted : ndarray of int
        Positions of input rows dropped by ``nan_policy="omit"``.
    n_observed : ndarray of int or Series, or None
        With ``nan_policy="marginal"``/``"em"``: the number of coordinates each row was
        judged on (None otherwise).

    See Also
    --------
    mahalanobis.outliers : The function that returns it.
    mahalanobis.Metric.outliers : Flags for new observations.

    Examples
    --------
    >>> import numpy as np
    >>> import mahalanobis as mh
    >>> X = np.random.default_rng(0).standard_normal((200, 3))
    >>> X[:4] += 8                                   # four outliers
    >>> r = mh.outliers(X, random_state=0)
    >>> r.n_flagged, r.n_samples, bool(r.flags[:4].all())
    (8, 200, True)
    """

    flags: Any
    distance: Any
    d2: Any
    pvalue: Any
    cutoff: Any
    reference: str
    metric: Metric
    method: str
    level: str
    alpha: float
    alpha_row: float
    weights: np.ndarray | None = None
    omitted: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.intp))
    n_observed: Any = None

    @property
    def n_flagged(self) -> int:
        """Number of rows flagged.

        See Also
        --------
        OutlierResult.n_samples : The number of rows judged.

        Examples
        --------
        >>> import numpy as np
        >>> import mahalanobis as mh
        >>> X = np.random.default_rng(0).standard_normal((200, 3))
        >>> X[:4] += 8
        >>> mh.outliers(X, random_state=0).n_flagged
        8
        """
        return int(np.sum(np.asarray(self.flags)))

    @property
    def n_samples(self) -> int:
        """Number of rows judged.

        See Also
        --------
        OutlierResult.n_flagged : How many of them are flagged.

        Examples
        --------
        >>> import numpy as np
        >>> import mahalanobis as mh
        >>> X = np.random.default_rng(0).standard_normal((200, 3))
        >>> mh.outliers(X, method="empirical").n_samples
        200
        """
        return int(np.asarray(self.flags).shape[0])

    def to_frame(self) -> Any:
        """One row per observation: distance, d2, pvalue, cutoff, flag (and weight for RMCD),
        indexed as X was.

        Returns
        -------
        pandas.DataFrame
            Columns distance, d2, pvalue, cutoff, flag (and weight for the RMCD).

        See Also
        --------
        OutlierResult : The fields behind the columns.

        Examples
        --------
        >>> import numpy as np
        >>> import mahalanobis as mh
        >>> X = np.random.default_rng(0).standard_normal((200, 3))
        >>> X[:4] += 8
        >>> df = mh.outliers(X, random_state=0).to_frame()
        >>> list(df.columns), df.shape
        (['distance', 'd2', 'pvalue', 'cutoff', 'flag', 'weight'], (200, 6))
        """
        import pandas as pd
        index = getattr(self.flags, "index", None)
        cols = {"distance": np.asarray(self.distance), "d2": np.asarray(self.d2),
                "pvalue": np.asarray(self.pvalue),
                "cutoff": np.broadcast_to(np.asarray(self.cutoff, dtype=float),
                                          (self.n_samples,)),
                "flag": np.asarray(self.flags)}
        if self.weights is not None:
            cols["weight"] = np.asarray(self.weights).astype(int)
        if self.n_observed is not None:
            cols["n_observed"] = np.asarray(self.n_observed)
        return pd.DataFrame(cols, index=index)

    def __repr__(self) -> str:
        cut = np.asarray(self.cutoff)
        if cut.ndim == 0:
            cut_s = f"{float(cut):.4g}"
        else:
            vals = np.unique(np.round(cut, 10))
            cut_s = ("per row: " + ", ".join(f"{v:.4g}" for v in vals[:3])
                     + (", ..." if vals.size > 3 else ""))
        return (f"OutlierResult(method={self.method!r}, level={self.level!r}, "
                f"alpha={self.alpha:g}, n_flagged={self.n_flagged} of {self.n_samples}, "
                f"cutoff={cut_s}, reference={self.reference!r})")


# --------------------------------------------------------------------------- RMCD
@dataclass(frozen=True, repr=False, eq=False)
class _RMCD:
    center: np.ndarray
    cov: np.ndarray
    weights: np.ndarray
    d2: np.ndarray
    raw: Any


class RMCDMetric(Metric):
    """The centre and scatter of Cerioli's reweighted MCD (``outliers(X).metric``), which
    judges new observations by their own law.

    A :class:`~mahalanobis.Metric` with ``n_samples`` = m, the rows kept by the Hardin-Rocke
    reweighting. Its :meth:`new_point_reference` is ``("simulated", n)`` below 500 rows:
    the law of a new independent point's D^2 under the same RMCD procedure at (n, p),
    simulated once on clean N(0, I_p) data (exact: the procedure is affine equivariant),
    seeded and cached; from 500 rows on Cerioli's F prediction law with m (``("f", m)``).

    Parameters
    ----------
    center, cov : array-like
        The RMCD estimates.
    n_rows : int
        Rows of the data the estimate came from (n).
    n_kept : int
        Rows kept by the reweighting (m).
    options : dict
        Options of the MCD step (as passed to :func:`outliers`).

    See Also
    --------
    outliers : Returns it as ``result.metric``.
    mahalanobis.Metric.new_point_law : The law, with ``sf`` and ``cutoff``.

    Examples
    --------
    >>> import numpy as np
    >>> import mahalanobis as mh
    >>> X = np.random.default_rng(0).standard_normal((600, 2))
    >>> mh.outliers(X, random_state=0).metric.new_point_reference()
    ('f', 578)
    """

    _rmcd_setup: tuple[int, dict[str, Any]]

    def __init__(self, center: Any, cov: Any, *, n_rows: int, n_kept: int,
                 options: dict[str, Any] | None = None) -> None:
        super().__init__(center, cov, n_samples=n_kept)
        object.__setattr__(self, "_rmcd_setup", (int(n_rows), dict(options or {})))

    def new_point_reference(self) -> tuple[str, int | None]:
        """``("simulated", n)`` below 500 rows, else ``("f", m)`` (see the class notes).

        Returns
        -------
        tuple of (str, int)

        See Also
        --------
        mahalanobis.Metric.new_point_reference : The rule for other metrics.

        Examples
        --------
        >>> import numpy as np
        >>> import mahalanobis as mh
        >>> X = np.random.default_rng(0).standard_normal((60, 2))
        >>> mh.outliers(X, random_state=0).metric.new_point_reference()
        ('simulated', 60)
        """
        n = self._rmcd_setup[0]
        if n < NEW_POINT_SIMULATE_BELOW:
            return "simulated", n
        return "f", int(self.n_samples or 0)

    def _prediction_law(self, progress: bool = False) -> Any:
        n, options = self._rmcd_setup
        opts = dict(sorted(options.items()))

        def fit(Z: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
            r = _rmcd_fit(Z, opts, seed)
            return r.center, r.cov

        return new_point_law(fit, key=f"rmcd|{opts!r}", n=n, p=self.n_features,
                             progress=progress)


def _sidak(alpha: float, n: int) -> float:
    return float(-np.expm1(np.log1p(-alpha) / n))


def _rmcd_fit(A: np.ndarray, options: dict[str, Any], random_state: Any,
              progress: bool = False) -> _RMCD:
    """Steps 1-3 of Cerioli's RMCD on the rows of A."""
    n, p = A.shape
    raw = covariance.mcd(A, reweight=False, random_state=random_state, progress=progress,
                         **options)
    hr = hardin_rocke(n, p, int(raw.h))
    w = np.asarray(raw.raw_distances) <= hr.cutoff(RMCD_DELTA)
    m = int(w.sum())
    if m <= p + 1:  # pragma: no cover - needs pathological data
        raise SingularCovarianceError(
            f"X: the RMCD reweighting kept only {m} rows for {p} features; the reweighted "
            "estimate needs more than p + 1. Use method='mrcd' or more data.", rank=m - 1)
    B = A[w]
    center = B.mean(axis=0)
    C = B - center
    k = covariance.mcd_consistency(p, 1.0 - RMCD_DELTA)
    cov = (C.T @ C) * (k / (m - 1.0))
    metric = Metric(center, cov)
    d2 = np.asarray(metric.distance(A, squared=True))
    return _RMCD(center=center, cov=cov, weights=w, d2=d2, raw=raw)


def rmcd(X: Any, alpha: float = 0.025, *, level: str = "individual", random_state: Any = None,
         progress: bool = False, nan_policy: str = "raise", **options: Any) -> OutlierResult:
    """Cerioli's (2010) reweighted-MCD outlier test; ``outliers(X, method="mcd")``.

    Parameters
    ----------
    X : array-like or DataFrame of shape (n, p), n > p + 1
        The data; every row is judged.
    alpha : float in (0, 1)
        Test level: per row, or family-wise with ``level="simultaneous"``.
    level : {"individual", "simultaneous"}
        alpha per row, or family-wise over the n rows (Sidak).
    random_state : None, int or Generator
        Seed for FastMCD's random starts.
    progress : bool
        Progress bar for the MCD search.
    nan_policy : {"raise", "omit"}
        Rows with NaN or inf: an error, or dropped.
    **options
        Options of :func:`mahalanobis.covariance.mcd` (``support_fraction``, ``n_starts``,
        ``deterministic``, ``correction``).

    Returns
    -------
    OutlierResult

    Raises
    ------
    ValueError
        For bad arguments; SingularCovarianceError when n <= p + 1.

    See Also
    --------
    outliers : the general entry point.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).standard_normal((60, 3))
    >>> X[:3] += 6
    >>> res = rmcd(X, random_state=0)
    >>> bool(res.flags[:3].all()), res.n_flagged
    (True, 3)
    """
    return outliers(X, method="mcd", alpha=alpha, level=level, reference="cerioli",
                    random_state=random_state, progress=progress, nan_policy=nan_policy,
                    **options)


def _rmcd_result(A: np.ndarray, alpha: float, level: str, method: str, options: dict,
                 random_state: Any, progress: bool, sim: Any = None) -> tuple[Any, ...]:
    n, p = A.shape
    fitted = _rmcd_fit(A, options, random_state, progress)
    w, d2 = fitted.weights, fitted.d2
    m = int(w.sum())
    metric = RMCDMetric(fitted.center, fitted.cov, n_rows=n, n_kept=m, options=options)
    if sim is not None:  # small n: the RMCD distances' law by simulation (exact: equivariant)
        ind_c, sim_c = sim.cutoff(alpha), sim.cutoff(alpha, "simultaneous")
        pval = sim.sf(d2)
        if method == "irmcd":
            a_row, cut = (alpha, ind_c) if np.any(d2 > sim_c) else (_sidak(alpha, n), sim_c)
        elif level == "simultaneous":
            a_row, cut = _sidak(alpha, n), sim_c
        else:
            a_row, cut = alpha, ind_c
        words = (f"{'iterated ' if method == 'irmcd' else ''}Cerioli (2010) RMCD (m={m} rows "
                 f"kept by the Hardin-Rocke reweighting), its law at n={n}, p={p} by Monte "
                 f"Carlo ({sim.n_reps} clean N(0, I) data sets; exact for this affine-"
                 "equivariant procedure)")
        return d2, pval, float(cut), a_row, words, metric, w
    ind = cerioli_cutoffs(p, m, alpha)
    pval = ind.pvalue(d2, w)
    sim = cerioli_cutoffs(p, m, _sidak(alpha, n))
    if method == "irmcd":
        # Cerioli (2010, Sec. 4): test "no outlier" at the family-wise level, then each row.
        if np.any(d2 > sim.cutoffs(w)):
            a_row, cut = alpha, ind.cutoffs(w)
        else:
            a_row, cut = sim.alpha, sim.cutoffs(w)
    elif level == "simultaneous":
        a_row, cut = sim.alpha, sim.cutoffs(w)
    else:
        a_row, cut = alpha, ind.cutoffs(w)
    words = (f"Cerioli (2010) RMCD: (m-1)^2/m Beta(p/2, (m-p-1)/2) for the m={m} rows kept by "
             f"the Hardin-Rocke reweighting, (m^2-1)p/(m(m-p)) F(p, m-p) for the {n - m} "
             "left out")
    if method == "irmcd":
        words = "iterated " + words
    return d2, pval, cut, a_row, words, metric, w


def _takes(method: str, name: str) -> bool:
    return name in inspect.signature(covariance.get_estimator(method)).parameters


def _fit(A: np.ndarray, method: str, options: dict, random_state: Any) -> Any:
    opts = dict(options)
    if _takes(method, "random_state"):
        opts["random_state"] = random_state
    return covariance.fit(A, method=method, **opts)


def outliers(X: Any, *, method: str = "mcd", alpha: float = 0.025, level: str = "individual",
             reference: str = "auto", random_state: Any = None, progress: bool = False,
             nan_policy: str = "raise", n_calibration: int | None = None,
             **options: Any) -> OutlierResult:
    """Fit a location and scatter to X and flag its outlying rows, with calibrated cutoffs.

    The rows judged are the rows that gave the estimate, so each is judged by the
    finite-sample law of its in-sample distance (see the module notes): the exact Beta law for
    ``method="empirical"``, Cerioli's (2010) reweighted MCD for ``"mcd"`` (the default) and
    ``"irmcd"`` (its Beta/F laws from n = 100 on, its simulated law below), and a seeded,
    cached Monte Carlo calibration for other estimators. A flag at
    level alpha then flags about alpha of clean rows at the n and p in hand (or, with
    ``level="simultaneous"``, any clean row with probability about alpha).

    Parameters
    ----------
    X : array-like or DataFrame of shape (n, p)
        The data; every row is judged against the fit to all of them (in-sample).
    method : str, default="mcd"
        "mcd" (Cerioli's RMCD), "irmcd" (iterated RMCD: family-wise alpha on clean data,
        per-row power), "empirical", or any other method of :func:`mahalanobis.fit`.
    alpha : float in (0, 1), default=0.025
        Test level.
    level : {"individual", "simultaneous"}
        alpha per row, or family-wise over the n rows (Sidak). "irmcd" is family-wise by
        construction.
    reference : {"auto", "beta", "cerioli", "chi2", "simulated"}
        The law the distances are judged by: "auto" picks the calibrated one for the method
        ("cerioli" for "mcd"/"irmcd" from n = 100 rows, "simulated" below);
        "chi2" is the asymptotic rule (robustbase's default; with "mcd": the usual reweighted
        MCD and chi2_{p, 1-alpha}); "simulated" forces the Monte Carlo calibration.
    random_state : None, int or Generator
        Seed of the estimator's random starts (the calibration has its own fixed seed).
    progress : bool
        Progress bars for the fit and any calibration (needs the ``progress`` extra).
    nan_policy : {"raise", "omit", "marginal", "em"}
        Rows with NaN or inf: an error, or dropped (``result.omitted``). With "marginal" or
        "em" rows with missing (NaN) cells are kept and each is judged on its k observed
        coordinates (``result.n_observed``; a row with nothing observed is never flagged).
        The centre and scatter come from the complete rows ("marginal", any method) or from
        all rows with their missing cells ("em": EM for "empirical"/"em", the MCD with EM in
        its C-steps for "mcd"). "mcd"/"irmcd": Cerioli's RMCD with k for p -- Hardin-Rocke
        reweighting per observed count, the EM (or complete-row) estimate of the kept rows,
        the Beta law for kept rows and the F law for the others (for "em" the raw and final
        scales are set by the median of the rows' probabilities, as the complete-data
        consistency factors are approximate for incomplete rows); measured within binomial
        bounds of alpha from n = 100 (``benchmarks/RESULTS.md``, "Missing data"). Other
        methods: chi-squared with k degrees of freedom, treating the estimate as known
        (close to alpha from n = 200). Data without missing cells take the calibrated path
        above.
    n_calibration : int, optional
        Simulated data sets for a Monte Carlo calibration (default: see
        :func:`mahalanobis.inference.calibration.simulate_reference`).
    **options
        Options of the estimator (e.g. ``support_fraction=0.75`` for "mcd").

    Returns
    -------
    OutlierResult
        ``flags``, ``distance``, ``d2``, ``pvalue``, ``cutoff`` (per row where it differs),
        ``reference`` (in words), ``metric``, ``n_flagged``, ``to_frame()``.

    Raises
    ------
    ValueError
        For an unknown method, level or reference, a reference that does not fit the method,
        alpha outside (0, 1), or NaN in X with ``nan_policy="raise"``.
    SingularCovarianceError
        When n <= p + 1 (use method="mrcd") or the data lie on a hyperplane.

    See Also
    --------
    mahalanobis.MahalanobisOutlierDetector : the same rules as a scikit-learn estimator.
    mahalanobis.inference.cerioli_cutoffs : the RMCD cutoffs alone.

    Notes
    -----
    Cerioli, A. (2010). Multivariate outlier detection with high-breakdown estimators. JASA
    105, 147-156. Hardin, J. & Rocke, D. M. (2005). The distribution of robust distances.
    JCGS 14, 928-946. Chenouri, S., Steiner, S. H. & Variyath, A. M. (2009). A multivariate
    robust control chart for individual observations. JQT 41, 259-271.

    Examples
    --------
    >>> import numpy as np
    >>> import mahalanobis as mh
    >>> X = np.random.default_rng(1).standard_normal((100, 3))
    >>> X[:5] += 5
    >>> res = mh.outliers(X, random_state=0)
    >>> res.n_flagged >= 5, bool(res.flags[:5].all())
    (True, True)
    >>> mh.outliers(X, method="empirical").reference[:36]
    'exact Beta: n D^2/(n-1)^2 ~ Beta(p/2'
    """
    alpha = check_fraction(alpha, "alpha")
    level = check_choice(level, "level", _LEVELS)
    reference = check_choice(reference, "reference", _REFERENCES)
    names = ("irmcd", *covariance.available_methods())
    method = check_choice(method, "method", names)
    nan_policy = check_choice(nan_policy, "nan_policy", ("raise", "omit", "marginal", "em"))
    if n_calibration is not None:
        n_calibration = check_int(n_calibration, "n_calibration", 20)
    if nan_policy in ("marginal", "em"):
        data = as_data(X, "X", nan_policy="propagate", min_samples=2)
        if np.isinf(data.values).any():
            raise ValueError("X has infinite values; replace them by numbers or by NaN "
                             "(missing).")
        if np.isnan(data.values).any():
            return _missing_result(data, method, alpha, level, nan_policy, options,
                                   random_state)
        nan_policy = "raise"
    data = as_data(X, "X", nan_policy=nan_policy, min_samples=2)
    A = data.values
    n, p = A.shape
    if reference == "auto":
        rmcd_ref = "cerioli" if n >= RMCD_SIMULATE_BELOW else "simulated"
        reference = {"empirical": "beta", "mcd": rmcd_ref, "irmcd": rmcd_ref}.get(
            method, "simulated")
    if method == "irmcd" and reference not in ("cerioli", "simulated"):
        raise ValueError("method='irmcd' is Cerioli's iterated RMCD: use reference='auto' (or "
                         "'cerioli' or 'simulated').")
    if reference == "cerioli" and method not in ("mcd", "irmcd"):
        raise ValueError(f"reference='cerioli' is for method='mcd' or 'irmcd'; got "
                         f"method={method!r}. Use reference='auto'.")
    if reference == "beta" and method != "empirical":
        raise ValueError("reference='beta' is the exact law for method='empirical' (sample "
                         f"mean and covariance); for method={method!r} use reference='auto'.")
    weights = None
    if reference == "cerioli" or (reference == "simulated" and method in ("mcd", "irmcd")):
        sim = None
        if reference == "simulated":
            sim = _simulated("rmcd", n, p, options, n_calibration, progress)
        d2, pval, cut, a_row, words, metric, weights = _rmcd_result(
            A, alpha, level, method, options, random_state, progress, sim)
    else:
        a_row = _sidak(alpha, n) if level == "simultaneous" else alpha
        metric = _fit(A, method, options, random_state)
        d2 = np.asarray(metric.distance(A, squared=True))
        if reference == "chi2":
            cut = float(stats.chi2.isf(a_row, p))
            pval = stats.chi2.sf(d2, p)
            words = f"chi2(p={p}) (asymptotic; known centre and scatter)"
        elif reference == "beta":
            if n <= p + 1:
                raise SingularCovarianceError(
                    f"X has {n} rows for {p} features: the Beta law needs n > p + 1.",
                    rank=n - 1)
            cut = float((n - 1.0) ** 2 / n * stats.beta.isf(a_row, p / 2.0, (n - p - 1) / 2.0))
            pval = stats.beta.sf(np.clip(d2 * n / (n - 1.0) ** 2, 0, 1), p / 2.0,
                                 (n - p - 1) / 2.0)
            words = f"exact Beta: n D^2/(n-1)^2 ~ Beta(p/2, (n-p-1)/2), n={n}"
        else:
            ref = _simulated(method, n, p, options, n_calibration, progress)
            cut = ref.cutoff(alpha, level)
            pval = ref.sf(d2)
            words = (f"Monte Carlo calibration of method={method!r} at n={n}, p={p} "
                     f"({ref.n_reps} clean N(0, I) data sets)")
    d2 = np.asarray(d2, dtype=float)
    flags = d2 > cut
    pval = np.asarray(pval, dtype=float)
    omitted = (np.flatnonzero(~data.kept) if data.kept is not None
               else np.empty(0, dtype=np.intp))
    return OutlierResult(flags=wrap_like(flags, data, "outlier"),
                         distance=wrap_like(np.sqrt(d2), data, "distance"),
                         d2=wrap_like(d2, data, "d2"), pvalue=wrap_like(pval, data, "pvalue"),
                         cutoff=cut,
                         reference=words, metric=metric, method=method, level=level,
                         alpha=alpha, alpha_row=float(a_row), weights=weights,
                         omitted=omitted)


def _rmcd_missing(A: np.ndarray, nan_policy: str, options: dict,
                  random_state: Any) -> tuple[Metric, np.ndarray]:
    """Cerioli's RMCD with missing cells: the metric and the reweighting weights.

    "marginal": the RMCD of the complete rows (incomplete rows get weight 0: they did not
    enter the estimate). "em": (1) the raw MCD with EM in its C-steps, (2) weights from the
    Hardin-Rocke law of each row's raw marginal D^2 at its observed count k_i, (3) the EM
    estimate of the kept rows (divisor w - 1), scaled by c(p, 0.975), as step (3) of the
    complete-data RMCD."""
    n, p = A.shape
    complete = ~np.isnan(A).any(axis=1)
    if nan_policy == "marginal":
        fitted = _rmcd_fit(A[complete], options, random_state)
        w = np.zeros(n, dtype=bool)
        w[complete] = fitted.weights
        center, cov = fitted.center, fitted.cov
    else:
        from .._missing import missing_rows
        from ..covariance.em import em_fit
        raw: Any = covariance.mcd(A, nan_policy="em", reweight=False,
                                  random_state=random_state, **options)
        k = np.asarray(raw.n_observed)
        d2_raw = np.asarray(raw.raw_distances)
        d2_raw = d2_raw / _median_consistency(d2_raw, k)
        cut = np.full(p + 1, -np.inf)  # nothing observed: never kept
        for kk in np.unique(k[k > 0]):
            cut[kk] = _hardin_rocke_cut(n, int(kk), int(raw.h))
        w = d2_raw <= cut[k]
        m = int(w.sum())
        if m <= p + 1:  # pragma: no cover - needs pathological data
            raise SingularCovarianceError(
                f"X: only {m} rows pass the RMCD reweighting with missing cells, for {p} "
                "features (more than p + 1 are needed); use nan_policy='marginal', "
                "method='mrcd' or more data.", rank=m - 1)
        B = A[w]
        fit = em_fit(B, missing_rows(B), tol=1e-9, max_iter=500,
                     start=(np.asarray(raw.raw_center), np.asarray(raw.raw_cov)))
        center = fit["center"]
        cov = fit["cov"] * (m / (m - 1.0) * covariance.mcd_consistency(p, 1.0 - RMCD_DELTA))
    return Metric(center, cov, n_samples=int(w.sum())), w


def _hardin_rocke_cut(n: int, k: int, h: int) -> float:
    """The RMCD reweighting cutoff for a row judged on k coordinates: Hardin & Rocke's law
    with k for p. Their degrees of freedom are undefined for one coordinate (Croux &
    Haesbroeck's asymptotic variance has a zero factor there); k = 1 borrows those of k = 2
    with its own consistency factor."""
    if k >= 2:
        return hardin_rocke(n, k, h).cutoff(RMCD_DELTA)
    from dataclasses import replace
    q = stats.chi2.ppf(h / n, 1)
    c1 = (h / n) / stats.chi2.cdf(q, 3) if h < n else 1.0
    return replace(hardin_rocke(n, 2, h), p=1, c_alpha=float(c1)).cutoff(RMCD_DELTA)


def _median_consistency(d2: np.ndarray, k: np.ndarray, sf: Any = None) -> float:
    """The factor s with median_i sf_i(d2_i / s) = 1/2, sf_i the survival function of row i's
    law (default chi2 with k_i df). The MCD's complete-data consistency factors are only
    approximate for rows judged on k_i < p coordinates (its subsets trim each row's
    marginal, not a p-dimensional ellipsoid); the median of the rows' probabilities is what
    they should make 1/2, and a median is unmoved by any minority of outliers."""
    ok = k > 0
    d, kk = d2[ok], k[ok]
    if d.size == 0:
        return 1.0
    if sf is None:
        def sf(x: np.ndarray) -> np.ndarray:
            return np.asarray(stats.chi2.sf(x, kk))

    def excess(log_s: float) -> float:
        return 0.5 - float(np.median(sf(d / np.exp(log_s))))

    from scipy.optimize import brentq
    lo, hi = -1.0, 1.0
    while excess(lo) < 0:
        lo -= 1.0
    while excess(hi) > 0:
        hi += 1.0
    return float(np.exp(brentq(excess, lo, hi, xtol=1e-6)))


def _cerioli_by_count(d2: np.ndarray, k: np.ndarray, w: np.ndarray, m: int,
                      a_row: float) -> tuple[np.ndarray, np.ndarray]:
    """Cerioli's (2010) laws with each row's observed count k_i for p: (cutoffs, p-values).
    Kept rows (w) by (m-1)^2/m Beta(k/2, (m-k-1)/2), the others by (m^2-1)k/(m(m-k))
    F(k, m-k); rows with nothing observed: cutoff inf, p-value NaN."""
    ks = np.arange(1, k.max() + 1) if k.max() > 0 else np.arange(1, 2)
    beta_c = (m - 1.0) ** 2 / m
    f_c = (m * m - 1.0) * ks / (m * (m - ks))
    cut_in = np.concatenate([[np.inf], beta_c * stats.beta.isf(a_row, ks / 2, (m - ks - 1) / 2)])
    cut_out = np.concatenate([[np.inf], f_c * stats.f.isf(a_row, ks, m - ks)])
    cut = np.where(w, cut_in[k], cut_out[k])
    pval = np.full(d2.shape, np.nan)
    kin, kout = w & (k > 0), ~w & (k > 0)
    pval[kin] = stats.beta.sf(d2[kin] / beta_c, k[kin] / 2, (m - k[kin] - 1) / 2)
    pval[kout] = stats.f.sf(d2[kout] * m * (m - k[kout]) / ((m * m - 1.0) * k[kout]),
                            k[kout], m - k[kout])
    return cut, pval


def _missing_result(data: Any, method: str, alpha: float, level: str, nan_policy: str,
                    options: dict, random_state: Any) -> OutlierResult:
    """Rows with missing cells kept: each judged on its k observed coordinates (Cerioli's
    laws with k for p for "mcd"/"irmcd", chi2 with k df for the other methods)."""
    A = data.values
    n, p = A.shape
    complete = ~np.isnan(A).any(axis=1)
    rmcd = method in ("mcd", "irmcd")
    if nan_policy == "marginal" and int(complete.sum()) <= p + 1:
        raise ValueError(f"X has {int(complete.sum())} complete rows for {p} columns; "
                         "nan_policy='marginal' fits on the complete rows: use "
                         "nan_policy='em'.")
    if nan_policy == "em" and method not in ("empirical", "em", "mcd", "irmcd"):
        raise ValueError(f"nan_policy='em' fits with missing cells for method "
                         f"'empirical', 'em' or 'mcd', not {method!r}; use "
                         "nan_policy='marginal' (fit on the complete rows).")
    weights = None
    if rmcd:
        metric, weights = _rmcd_missing(A, nan_policy, options, random_state)
    elif nan_policy == "marginal":
        metric = _fit(A[complete], method, options, random_state)
    else:
        metric = _fit(A, method, {**options, "nan_policy": "em"}, random_state)
    d2, k = metric.distance(A, squared=True, nan_policy="marginal", return_counts=True)
    d2, k = np.asarray(d2, dtype=float), np.asarray(k)
    ok = k > 0
    source = ("centre and scatter from the complete rows" if nan_policy == "marginal" else
              "centre and scatter fitted with the missing cells")
    if rmcd:
        assert weights is not None
        m = int(weights.sum())
        if nan_policy == "em":  # the scale by the median of the laws used (see above)
            kin = weights[ok]

            def law_sf(x: np.ndarray) -> np.ndarray:
                return _cerioli_by_count(x, k[ok], kin, m, alpha)[1]

            s_final = _median_consistency(d2, k, law_sf)
            d2 = d2 / s_final
            metric = Metric(metric.center, np.asarray(metric.cov) * s_final, n_samples=m)
        cut_ind, pval = _cerioli_by_count(d2, k, weights, m, alpha)
        a_sim = _sidak(alpha, n)
        cut_sim, _ = _cerioli_by_count(d2, k, weights, m, a_sim)
        # irmcd: the family-wise test first, as for complete data
        family = method == "irmcd" and not np.any(d2[ok] > cut_sim[ok])
        simultaneous = family or (method != "irmcd" and level == "simultaneous")
        a_row, cut = (a_sim, cut_sim) if simultaneous else (alpha, cut_ind)
        words = (f"{'iterated ' if method == 'irmcd' else ''}Cerioli (2010) RMCD laws with each "
                 f"row's k observed coordinates for p (m={m} rows kept by the reweighting; "
                 f"nan_policy={nan_policy!r}: {source}): (m-1)^2/m Beta(k/2, (m-k-1)/2) for "
                 "kept rows, (m^2-1)k/(m(m-k)) F(k, m-k) for the others")
    else:
        a_row = _sidak(alpha, n) if level == "simultaneous" else alpha
        cut = np.full(n, np.inf)
        cut[ok] = stats.chi2.isf(a_row, k[ok])
        pval = np.full(n, np.nan)
        pval[ok] = stats.chi2.sf(d2[ok], k[ok])
        words = (f"chi2(k) on each row's k observed coordinates (nan_policy={nan_policy!r}: "
                 f"{source})")
    flags = ok & (d2 > cut)
    return OutlierResult(flags=wrap_like(flags, data, "outlier"),
                         distance=wrap_like(np.sqrt(d2), data, "distance"),
                         d2=wrap_like(d2, data, "d2"), pvalue=wrap_like(pval, data, "pvalue"),
                         cutoff=cut, weights=weights,
                         reference=words, metric=metric, method=method, level=level,
                         alpha=alpha, alpha_row=float(a_row),
                         n_observed=wrap_like(k, data, "n_observed"))


def rmcd_calibration_samples(n: int) -> int:
    """Simulated data sets for the RMCD law below n = 100: 40000 / n, 400 to 1500. The
    family-wise cutoff is a quantile of one largest D^2 per data set: at n = 30 its 0.05 level
    rests on about 67 simulated exceedances."""
    return int(np.clip(np.ceil(40000 / n), 400, 1500))


def _simulated(method: str, n: int, p: int, options: dict, n_reps: int | None,
               progress: bool) -> Any:
    opts = dict(sorted(options.items()))
    calls = [0]
    if method == "rmcd":  # Cerioli's RMCD procedure itself
        if n_reps is None:
            n_reps = rmcd_calibration_samples(n)

        def rmcd_d2(Z: np.ndarray) -> np.ndarray:
            calls[0] += 1
            return _rmcd_fit(Z, opts, calls[0]).d2

        return simulate_reference(rmcd_d2, key=f"outliers|rmcd|{opts!r}", n=n, p=p,
                                  n_reps=n_reps, progress=progress)
    seeded = _takes(method, "random_state")

    def statistic(Z: np.ndarray) -> np.ndarray:
        calls[0] += 1
        o = dict(opts)
        if seeded:  # each simulated fit its own seed, so the calibration is reproducible
            o["random_state"] = calls[0]
        return np.asarray(covariance.fit(Z, method=method, **o).distance(Z, squared=True))

    return simulate_reference(statistic, key=f"outliers|{method}|{opts!r}", n=n, p=p,
                              n_reps=n_reps, progress=progress)
