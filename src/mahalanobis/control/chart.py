"""Hotelling T^2 control charts: Phase I (individuals or rational subgroups, optionally with
iterative removal of signals or a robust MCD estimate), Phase II monitoring, and known
parameters. Limits: see :mod:`._limits` (Tracy, Young & Mason 1992; Alt 1985; Montgomery,
*Introduction to Statistical Quality Control*, ch. 11; Cerioli 2010 for robust charts).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from .._deprecation import renamed_parameters
from .._linalg import mean_and_cov, moments
from .._validation import (
    Data,
    as_data,
    as_vector,
    check_bool,
    check_choice,
    check_fraction,
    check_int,
    check_random_state,
    check_sample_covariance,
    check_spread,
    is_dataframe,
)
from ..metric import Metric
from ._limits import Reference
from .myt import MYTDecomposition, decompose_point

__all__ = ["RemovalRound", "T2Chart"]


@dataclass(frozen=True, repr=False)
class RemovalRound:
    """One round of Phase I estimation (``T2Chart.rounds``).

    ``n_used`` points (or subgroups) gave the estimates; ``ucl`` is the Phase I limit for that
    many; ``removed`` are the 0-based positions of the points that signalled in this round
    and were left out of the next (empty in the last round, unless ``max_iter`` stopped it).
    Built by :class:`T2Chart`; a frozen record.

    Parameters
    ----------
    round : int
        1-based number of the round.
    n_used : int
        Points (subgroups) in the estimate of this round.
    ucl : float
        The Phase I upper control limit for ``n_used`` points.
    removed : ndarray of int
        0-based positions of the points that signalled in this round.

    See Also
    --------
    T2Chart : The chart whose ``rounds`` these are (``remove_signals=True``).

    Examples
    --------
    >>> import numpy as np
    >>> import mahalanobis as mh
    >>> X = np.random.default_rng(0).standard_normal((30, 3))
    >>> X[10] = [0.5, -0.5, 4.5]
    >>> mh.T2Chart(X, remove_signals=True).rounds[0]
    RemovalRound(round=1, n_used=30, ucl=11.6119, removed=[10])
    """

    round: int
    n_used: int
    ucl: float
    removed: np.ndarray

    def __repr__(self) -> str:
        return (f"RemovalRound(round={self.round}, n_used={self.n_used}, ucl={self.ucl:.6g}, "
                f"removed={self.removed.tolist()})")


def _ndim(X: Any) -> int:
    """np.ndim, or -1 for a ragged nested list (as_data then says what is wrong)."""
    try:
        return int(np.ndim(X))
    except ValueError:
        return -1


def _read(X: Any, name: str, k: int | None, *, n_features: int | None = None,
          columns: Any = None, check_finite: bool = True) -> tuple[np.ndarray, int, Any, Any]:
    """Checked data as (points, k, index, columns): points is (n, p) for k = 1 and
    (m, k, p) for subgroups. A 3-D array (m, k, p) fixes k from its shape; ``k=None`` accepts
    either k. Index labels of subgroups are those of their first rows. ``check_finite=False``
    leaves NaN/inf to the distance computation (which raises naming the rows)."""
    if not is_dataframe(X) and _ndim(X) == 3:
        arr = np.asarray(X)
        m3, k3, p3 = arr.shape
        if k not in (None, 1, k3):
            raise ValueError(f"{name} is a 3-D array with subgroups of {k3} rows but "
                             f"subgroup_size is {k}; pass subgroups of {k} rows (or, for a new "
                             f"chart, subgroup_size={k3}).")
        data = as_data(arr.reshape(m3 * k3, p3), name, n_features=n_features)
        if n_features is None:
            check_spread(data, name)
        vals = data.values.reshape(m3, k3, p3)
        return (vals if k3 > 1 else vals[:, 0, :]), k3, None, None
    feature_names = None
    if columns is not None and is_dataframe(X):
        feature_names = list(columns)  # matched by name; missing or extra is an error
    data = as_data(X, name, n_features=n_features, feature_names=feature_names,
                   check_finite=check_finite)
    if n_features is None:  # Phase I data: variances float64 can hold
        check_spread(data, name)
    k = 1 if k is None else k
    n, p = data.values.shape
    if k == 1:
        return data.values, 1, data.index, data.columns
    if n % k:
        raise ValueError(f"{name} has {n} rows, not a multiple of subgroup_size={k}: pass "
                         f"whole subgroups (m * {k} rows in order) or a 3-D array (m, k, p).")
    index = data.index[::k] if data.index is not None else None
    return data.values.reshape(n // k, k, p), k, index, data.columns


def _sq(metric: Metric, A: np.ndarray) -> np.ndarray:
    """Squared distances of the rows of a checked array (Cholesky path; no inverse); rows
    with NaN or inf raise a ValueError naming them."""
    return np.asarray(metric.distance(A, squared=True))


_METHODS = ("empirical", "mcd")


class T2Chart:
    """Hotelling T^2 control chart for individual observations or rational subgroups.

    ``T2Chart(X)`` is the Phase I chart of X; ``chart.monitor(X_new)`` the Phase II chart of new
    data against the Phase I estimates (a ``T2Chart`` with ``phase == "II"``).

    Statistics (each the squared Mahalanobis distance under a :class:`~mahalanobis.Metric`):

    * individuals: T^2_i = (x_i - xbar)' S^-1 (x_i - xbar), xbar and S the mean and covariance
      (divisor m - 1) of the m Phase I rows;
    * subgroups of size k: T^2_j = k (xbar_j - xbarbar)' S_p^-1 (xbar_j - xbarbar), S_p the
      pooled within-subgroup covariance (m (k - 1) degrees of freedom);
    * known parameters: T^2 = k (xbar_j - mu)' Sigma^-1 (xbar_j - mu) (k = 1 for individuals).

    Upper control limits (lower limits are 0):

    * individuals, Phase I: ((m - 1)^2/m) Beta_{1-alpha}(p/2, (m - p - 1)/2) (Tracy, Young &
      Mason 1992); Phase II: p (m + 1)(m - 1) / (m (m - p)) F_{1-alpha}(p, m - p);
    * subgroups: p (m -/+ 1)(k - 1) / (mk - m - p + 1) F_{1-alpha}(p, mk - m - p + 1) in
      Phase I / Phase II (Alt 1985; Montgomery, ch. 11);
    * known parameters: chi2_{1-alpha}(p);
    * ``method="mcd"`` (individuals): centre and covariance from the reweighted MCD
      (``mahalanobis.fit(X, method="mcd")``). With ``calibration="simulated"`` (default) the
      Phase I limit is calibrated by simulation, as Chenouri, Steiner & Variyath (2009, JQT
      41, 259-271) did for their robust chart: the same procedure is run on clean
      N(0, I_p) samples of m points (exact, the MCD being affine equivariant) and the limit
      is the 1 - alpha quantile of the pooled T^2 (``level="individual"``: false-alarm
      probability alpha per point) or of each sample's largest T^2
      (``level="simultaneous"``: probability alpha of any false alarm in Phase I). It is
      computed once per (m, p, method), seeded, and cached on disk (see
      :func:`mahalanobis.inference.calibration.simulate_reference`); ``limit ==
      "simulated"``. With ``calibration="cerioli"``: Cerioli's (2010, JASA 105, 147-156)
      finite-sample limits with m_w = the number of points kept by the reweighting: the Beta
      limit above with m = m_w for those points, the Phase II F limit with m = m_w for the
      points the reweighting left out (``limit == "cerioli"``); with the chi2 reweighting of
      the usual MCD these give several times alpha false alarms at small m. Phase II uses
      the F limit with m = m_w. If the robust fit reports no reweighting weights,
      chi2_{1-alpha}(p) is used (``limit == "chi2"``).

    ``remove_signals=True`` re-estimates without the points that signal, round after round,
    until none of the points in the estimate signals (or ``max_iter`` rounds); every round is
    recorded in ``rounds``. The points left out are then judged, against the final estimates,
    by the Phase II limit (they are independent of those estimates), so ``ucl`` becomes an
    array.

    Parameters
    ----------
    X : array-like or DataFrame of shape (n, p), or array of shape (m, k, p)
        Phase I data in time order; with ``subgroup_size=k`` consecutive blocks of k rows are
        the subgroups (n = m k).
    subgroup_size : int
        k; 1 for individual observations. A 3-D X sets it from its shape.
    alpha : float in (0, 1)
        False-alarm probability per plotted point (0.0027 matches 3-sigma Shewhart charts).
    method : {"empirical", "mcd"}, default="empirical"
        The Phase I estimator: the sample mean and covariance, or the reweighted MCD (robust;
        individual observations only).
    known_center, known_cov : array-like, optional
        Known mean and covariance (both or neither): nothing is estimated, limits are chi2.
    remove_signals : bool
        Iterative Phase I clean-up (see above).
    max_iter : int
        Most estimation rounds with ``remove_signals``; a UserWarning says so when points still
        signal after the last.
    random_state : int or Generator, optional
        For the MCD's random starts (``method="mcd"``).
    calibration : {"simulated", "cerioli"}, default="simulated"
        Phase I limits of robust charts (``method="mcd"``): see above.
    level : {"individual", "simultaneous"}, default="individual"
        Robust charts with simulated limits: alpha per point, or over the whole Phase I
        sample.
    n_calibration : int, optional
        Simulated Phase I samples (default: about 10^5 simulated points, 500 to 3000: the
        0.0027 limit then rests on about 270 simulated exceedances).
    progress : bool
        Progress bar while a calibration is simulated (needs the ``progress`` extra).

    Attributes
    ----------
    statistic : ndarray (n,) or Series
        T^2 of each point (each subgroup), a Series with X's index when X was a DataFrame
        (for subgroups: the label of each subgroup's first row).
    ucl : float or ndarray (n,)
        Upper control limit; an array when points are judged by different limits.
    lcl : float
        0.
    signals : ndarray of bool (n,) or Series
        Boolean mask, ``statistic > ucl``; ``signal_positions`` gives the 0-based positions.
    pvalue : ndarray (n,) or Series
        Probability of a T^2 at least this large for an in-control point.
    phase : {"I", "II"}
    alpha : float
    metric : Metric
        The centre and scatter used (S_p for subgroups); ``center`` and ``cov`` are its arrays.
    subgroup_size, n_features, feature_names
    limit : str
        "beta", "f" (subgroups or Phase II), "chi2" (known parameters), "simulated" or
        "cerioli" (robust), or "beta+f" (Phase I with points removed).
    n_reference : int
        m: points (subgroups) in the Phase I estimate (m_w for robust charts).
    in_estimate : ndarray of bool or None
        Phase I: which points are in the final estimate (None for known parameters/Phase II).
    rounds : tuple of RemovalRound
        The Phase I estimation rounds (empty for known parameters and Phase II).

    Raises
    ------
    ValueError
        When X has too few points for p features, a row count that is not a multiple of
        ``subgroup_size``, NaN/inf values, only one of ``known_center``/``known_cov``, or
        ``method="mcd"`` is combined with subgroups, known parameters or ``remove_signals``.
    SingularCovarianceError
        When the Phase I scatter is singular (constant or collinear columns).

    See Also
    --------
    T2Chart.monitor : Phase II chart of new data against these estimates.
    T2Chart.decompose : Which variables drive a signal (Mason-Young-Tracy).
    mahalanobis.plot.control_chart : Draw the chart.
    mahalanobis.hotelling_t2 : Hotelling's test for a mean.

    Examples
    --------
    >>> import numpy as np
    >>> import mahalanobis as mh
    >>> X = np.random.default_rng(0).standard_normal((30, 3))
    >>> X[10] = [0.5, -0.5, 4.5]                     # one point out of control
    >>> chart = mh.T2Chart(X)
    >>> chart
    T2Chart(phase='I', points=30, p=3, alpha=0.0027, limit='beta', ucl=11.6119, signals=1 at [10])
    >>> chart.signal_positions
    array([10])
    >>> chart.decompose(10).drivers                  # the third variable is out of range
    ('x2',)
    """

    in_estimate: np.ndarray | None

    @renamed_parameters(robust=("method", lambda v: "mcd" if v else "empirical"))
    def __init__(self, X: ArrayLike, *, subgroup_size: int = 1, alpha: float = 0.0027,
                 method: str = "empirical", known_center: ArrayLike | None = None,
                 known_cov: ArrayLike | None = None,
                 remove_signals: bool = False, max_iter: int = 20,
                 random_state: Any = None, calibration: str = "simulated",
                 level: str = "individual", n_calibration: int | None = None,
                 progress: bool = False) -> None:
        robust = check_choice(method, "method", _METHODS) == "mcd"
        self._calibration = (check_choice(calibration, "calibration", ("simulated", "cerioli")),
                             check_choice(level, "level", ("individual", "simultaneous")),
                             None if n_calibration is None
                             else check_int(n_calibration, "n_calibration", 20),
                             check_bool(progress, "progress"))
        remove_signals = check_bool(remove_signals, "remove_signals")
        if random_state is not None:
            check_random_state(random_state)  # a bad seed fails now, not in the MCD
        if level == "simultaneous" and not (robust and calibration == "simulated"):
            raise ValueError("level='simultaneous' is for robust charts with simulated limits "
                             "(method='mcd'); for a classical chart use the per-point alpha "
                             "1 - (1 - a)^(1/m) for a Phase I-wide false-alarm probability a.")
        k = check_int(subgroup_size, "subgroup_size", 1)
        alpha = check_fraction(alpha, "alpha")
        max_iter = check_int(max_iter, "max_iter", 1)
        known = (known_center is not None, known_cov is not None)
        if known[0] != known[1]:
            raise ValueError("known_center and known_cov go together: pass both (a chart with "
                             "known parameters) or neither (estimate them from X).")
        if known[0] and (robust or remove_signals):
            raise ValueError("method='mcd' and remove_signals re-estimate the parameters; with "
                             "known_center/known_cov nothing is estimated. Drop one or the "
                             "other.")
        if robust and remove_signals:
            raise ValueError("method='mcd' already discounts outlying points (MCD "
                             "reweighting); use either method='mcd' or remove_signals=True.")
        points, k, index, columns = _read(X, "X", k)
        if robust and k > 1:
            raise ValueError("method='mcd' is for individual observations (subgroup_size=1); "
                             "for subgroups use remove_signals=True to clean up Phase I.")
        p = points.shape[-1]
        names = (tuple(str(c) for c in columns) if columns is not None
                 else tuple(f"x{j}" for j in range(p)))
        self._set_common(k, alpha, names, columns, method)
        self.rounds: tuple[RemovalRound, ...] = ()
        m = points.shape[0]
        if known[0]:
            center = as_vector(known_center, "known_center")
            if center.shape[0] != p:
                raise ValueError(f"known_center has length {center.shape[0]} but X has {p} "
                                 "columns; pass one value per column of X.")
            metric = Metric(center, known_cov, feature_names=names)  # type: ignore[arg-type]
            refs, codes = (Reference.chi2(),), np.zeros(m, dtype=np.intp)
            self._phase2_ref = Reference.chi2()
            self.limit, self.n_reference, self.in_estimate = "chi2", m, None
            stat = self._statistic(metric, points)
        elif robust:
            metric, stat, refs, codes = self._robust(points, random_state)
        else:
            metric, stat, refs, codes = self._phase1(points, remove_signals, max_iter)
        self._finish("I", metric, points, stat, refs, codes, index)

    # ------------------------------------------------------------------ construction
    def _set_common(self, k: int, alpha: float, names: tuple[str, ...], columns: Any,
                    method: str) -> None:
        self.subgroup_size = k
        self.alpha = alpha
        self.feature_names = names
        self._columns = columns
        self.method = method

    robust = property(lambda self: self.method == "mcd",
                      doc="Deprecated: ``method == 'mcd'``.")

    def _statistic(self, metric: Metric, points: np.ndarray) -> np.ndarray:
        if self.subgroup_size == 1:
            return _sq(metric, points)
        return self.subgroup_size * _sq(metric, points.mean(axis=1))

    def _check_m(self, m: int, p: int, when: str) -> None:
        k = self.subgroup_size
        if k == 1 and m <= p + 1:
            raise ValueError(
                f"{when} {m} observations for {p} features: a Phase I T^2 chart of individuals "
                f"needs m > p + 1 (the Beta(p/2, (m-p-1)/2) limit). Collect more Phase I data, "
                "chart fewer variables, or pass known_center/known_cov.")
        if k > 1 and (m < 2 or m * (k - 1) < p):
            raise ValueError(
                f"{when} {m} subgroups of {k} for {p} features: a subgroup T^2 chart needs at "
                f"least 2 subgroups and m (k - 1) >= p (the pooled covariance's degrees of "
                "freedom). Collect more subgroups or chart fewer variables.")

    def _estimate(self, points: np.ndarray, used: np.ndarray) -> Metric:
        k, names = self.subgroup_size, self.feature_names
        if k == 1:
            A = points[used]
            mom = moments(A)  # one pass: mean, covariance and constant columns
            check_sample_covariance(Data(values=A, columns=self._columns), "X",
                                    constant=mom.constant)
            center, S = mom.mean, mom.scatter()
        else:
            G = points[used]
            means = G.mean(axis=1)
            center = means.mean(axis=0)
            R = (G - means[:, None, :]).reshape(-1, G.shape[2])
            _, S = mean_and_cov(R, np.zeros(R.shape[1]), ddof=0)
            S = S * R.shape[0] / (G.shape[0] * (k - 1))
        metric = Metric(center, S, feature_names=names)
        return metric

    def _refs_for(self, m: int) -> tuple[Reference, Reference]:
        """(Phase I reference of points in the estimate, Phase II reference) for m points."""
        k = self.subgroup_size
        if k == 1:
            return Reference.beta(m), Reference.f((m + 1) / m, m - 1)
        nu = m * (k - 1)
        return Reference.f((m - 1) / m, nu), Reference.f((m + 1) / m, nu)

    def _phase1(self, points: np.ndarray, remove: bool, max_iter: int) -> tuple[Any, ...]:
        m, p = points.shape[0], points.shape[-1]
        used = np.ones(m, dtype=bool)
        rounds: list[RemovalRound] = []
        for r in range(1, max_iter + 1):
            m_r = int(used.sum())
            self._check_m(m_r, p, "X has" if r == 1 else
                          f"after removing {m - m_r} signal(s), Phase I has")
            metric = self._estimate(points, used)
            stat = self._statistic(metric, points)
            ref_in, ref_out = self._refs_for(m_r)
            ucl = ref_in.ucl(p, self.alpha)
            sig = used & (stat > ucl)
            rounds.append(RemovalRound(r, m_r, ucl, np.flatnonzero(sig)))
            if not remove or not sig.any():
                break
            if r == max_iter:
                warnings.warn(f"remove_signals stopped after max_iter={max_iter} rounds with "
                              f"{int(sig.sum())} point(s) still signalling; raise max_iter "
                              "or look for a sustained shift.", UserWarning, stacklevel=3)
                break
            used &= ~sig
        self.rounds = tuple(rounds)
        self.in_estimate = used
        self.n_reference = m_r
        self._phase2_ref = ref_out
        codes = (~used).astype(np.intp)
        if used.all():
            self.limit = "beta" if self.subgroup_size == 1 else "f"
            return metric, stat, (ref_in,), codes
        self.limit = "beta+f" if self.subgroup_size == 1 else "f"
        return metric, stat, (ref_in, ref_out), codes

    def _robust(self, points: np.ndarray, random_state: Any) -> tuple[Any, ...]:
        from .. import covariance
        if "mcd" not in covariance.available_methods():
            raise ImportError("method='mcd' needs mahalanobis.covariance.mcd, which this "
                              "installation lacks; upgrade mahalanobis or use "
                              "remove_signals=True.")
        m, p = points.shape
        self._check_m(m, p, "X has")
        fitted = covariance.fit(points, method="mcd", random_state=random_state)
        metric = Metric(fitted.center, fitted.cov, feature_names=self.feature_names)
        stat = _sq(metric, points)
        w = getattr(fitted, "weights", None)
        if w is None:
            self.limit, self.n_reference, self.in_estimate = "chi2", m, None
            self._phase2_ref = Reference.chi2()
            return metric, stat, (Reference.chi2(),), np.zeros(m, dtype=np.intp)
        w = np.asarray(w, dtype=bool)
        m_w = int(w.sum())
        self._check_m(m_w, p, "the MCD reweighting kept")
        ref_in, ref_out = self._refs_for(m_w)
        self.n_reference, self.in_estimate = m_w, w
        self._phase2_ref = ref_out
        calibration, level, n_reps, progress = self._calibration
        if calibration == "simulated":
            sim = _simulated_limits(m, p, n_reps, progress)
            self.limit = "simulated"
            return (metric, stat, (Reference.simulated(sim, level, ref_in),),
                    np.zeros(m, dtype=np.intp))
        self.limit = "cerioli"
        return metric, stat, (ref_in, ref_out), (~w).astype(np.intp)

    def _finish(self, phase: str, metric: Metric, points: np.ndarray, stat: np.ndarray,
                refs: tuple[Reference, ...], codes: np.ndarray, index: Any) -> None:
        p = points.shape[-1]
        self.phase = phase
        self.metric = metric
        self.n_features = p
        self.lcl = 0.0
        self._points = points
        self._refs = refs
        self._codes = codes
        self._index = index
        limits = np.array([ref.ucl(p, self.alpha) for ref in refs])
        if len(refs) == 1:
            self.ucl: float | np.ndarray = float(limits[0])
            ucl_arr = np.broadcast_to(limits[0], stat.shape)
            sig = stat > limits[0]
        else:
            self.ucl = ucl_arr = limits[codes]
            sig = stat > ucl_arr
        self._stat, self._sig, self._ucl_arr = stat, sig, ucl_arr
        self._pval: np.ndarray | None = None
        self.statistic = self._wrap(stat, "t2")
        self.signals = self._wrap(sig, "signal")

    def _wrap(self, values: np.ndarray, name: str) -> Any:
        if self._index is None:
            return values
        import pandas as pd
        return pd.Series(values, index=self._index, name=name)

    @property
    def level(self) -> str:
        """"individual" (alpha per point) or "simultaneous" (over Phase I; robust charts).

        See Also
        --------
        T2Chart.pvalue : The per-point p-values judged at that level.

        Examples
        --------
        >>> import numpy as np
        >>> import mahalanobis as mh
        >>> X = np.random.default_rng(0).standard_normal((40, 2))
        >>> mh.T2Chart(X).level
        'individual'
        """
        return getattr(self, "_calibration", ("", "individual"))[1]

    # ------------------------------------------------------------------ properties
    @property
    def center(self) -> np.ndarray:
        """Centre of the chart: xbar (xbarbar for subgroups, or the known mean), shape (p,).

        See Also
        --------
        T2Chart.cov : The scatter of the chart.

        Examples
        --------
        >>> import numpy as np
        >>> import mahalanobis as mh
        >>> X = np.random.default_rng(0).standard_normal((30, 3))
        >>> mh.T2Chart(X).center.round(2)
        array([-0.07,  0.03,  0.36])
        """
        return self.metric.center

    @property
    def cov(self) -> np.ndarray:
        """Scatter of the chart: S (S_p for subgroups, or the known covariance), shape (p, p).

        See Also
        --------
        T2Chart.center : The centre of the chart.

        Examples
        --------
        >>> import numpy as np
        >>> import mahalanobis as mh
        >>> X = np.random.default_rng(0).standard_normal((30, 3))
        >>> mh.T2Chart(X).cov.shape
        (3, 3)
        """
        return self.metric.cov

    def _pvalues(self) -> np.ndarray:
        if self._pval is None:
            pval = np.empty(self._stat.shape)
            for c, ref in enumerate(self._refs):
                sel = self._codes == c
                pval[sel] = ref.sf(self._stat[sel], self.n_features)
            self._pval = pval
        return self._pval

    @property
    def pvalue(self) -> Any:
        """P(T^2 >= statistic) for an in-control point, per point (computed on first use).

        An ndarray of shape (n,), or a Series with X's index when X was a DataFrame; each
        point's p-value under the reference distribution of its limit.

        See Also
        --------
        T2Chart.signal_positions : The points above their limit.

        Examples
        --------
        >>> import numpy as np
        >>> import mahalanobis as mh
        >>> X = np.random.default_rng(0).standard_normal((30, 3))
        >>> X[10] = [0.5, -0.5, 4.5]
        >>> float(mh.T2Chart(X).pvalue[10]) < 0.0027
        True
        """
        return self._wrap(self._pvalues(), "pvalue")

    @property
    def signal_positions(self) -> np.ndarray:
        """0-based positions of the points above their control limit.

        See Also
        --------
        T2Chart.decompose : The variables behind one of them.

        Examples
        --------
        >>> import numpy as np
        >>> import mahalanobis as mh
        >>> X = np.random.default_rng(0).standard_normal((30, 3))
        >>> X[10] = [0.5, -0.5, 4.5]
        >>> mh.T2Chart(X).signal_positions
        array([10])
        """
        return np.flatnonzero(self._sig)

    @property
    def n_points(self) -> int:
        """Number of plotted points: rows for individuals, subgroups m otherwise.

        See Also
        --------
        T2Chart.to_frame : One row per point.

        Examples
        --------
        >>> import numpy as np
        >>> import mahalanobis as mh
        >>> X = np.random.default_rng(0).standard_normal((30, 3))
        >>> mh.T2Chart(X).n_points, mh.T2Chart(X, subgroup_size=5).n_points
        (30, 6)
        """
        return int(self._stat.shape[0])

    # ------------------------------------------------------------------ Phase II
    @renamed_parameters(new_X="X")
    def monitor(self, X: ArrayLike) -> T2Chart:
        """Phase II chart of new observations (or subgroups of the same size) against this
        chart's estimates, with the Phase II limit (F; chi2 for known parameters).

        Parameters
        ----------
        X : array-like or DataFrame of shape (n, p), or array of shape (m, k, p)
            New data in time order, with the chart's p columns (a DataFrame's columns are
            matched by name when the Phase I data had names) and its subgroup size.

        Returns
        -------
        T2Chart
            A chart with ``phase == "II"``, the same centre and scatter, and the Phase II
            limit for each new point.

        Raises
        ------
        ValueError
            When X has another number of columns or subgroup size, or NaN/inf values.

        See Also
        --------
        T2Chart : The Phase I chart.

        Examples
        --------
        >>> import numpy as np
        >>> import mahalanobis as mh
        >>> chart = mh.T2Chart(np.random.default_rng(0).standard_normal((30, 3)))
        >>> new = np.random.default_rng(1).standard_normal((5, 3))
        >>> new[2] += 5                                  # a shift at the third new point
        >>> chart.monitor(new)
        T2Chart(phase='II', points=5, p=3, alpha=0.0027, limit='f', ucl=20.2025, signals=1 at [2])
        """
        points, _, index, _ = _read(X, "X", self.subgroup_size,
                                    n_features=self.n_features, columns=self._columns,
                                    check_finite=self.subgroup_size > 1)
        k_new = points.shape[1] if points.ndim == 3 else 1
        if k_new != self.subgroup_size:
            raise ValueError(f"X has subgroups of {k_new} but the chart's are of "
                             f"{self.subgroup_size}; pass subgroups of the same size.")
        new = T2Chart.__new__(T2Chart)
        new._set_common(self.subgroup_size, self.alpha, self.feature_names, self._columns,
                        self.method)
        new.rounds, new.in_estimate = (), None
        new.limit = "chi2" if self._phase2_ref.kind == "chi2" else "f"
        new.n_reference = self.n_reference
        new._phase2_ref = self._phase2_ref
        stat = new._statistic(self.metric, points)
        new._finish("II", self.metric, points, stat, (self._phase2_ref,),
                    np.zeros(stat.shape[0], dtype=np.intp), index)
        return new

    # ------------------------------------------------------------------ MYT
    def _position(self, i: Any) -> int:
        n = self.n_points
        if isinstance(i, (int, np.integer)) and not isinstance(i, bool):
            pos = int(i)
            if not -n <= pos < n:
                raise ValueError(f"i={i} is out of range for a chart of {n} points; pass a "
                                 f"position in 0..{n - 1}.")
            return pos % n
        if self._index is not None:
            try:
                loc = self._index.get_loc(i)
            except KeyError:
                loc = None
            if isinstance(loc, (int, np.integer)):
                return int(loc)
        raise ValueError(f"i must be an integer position (0..{n - 1}) or a unique label of the "
                         f"chart's index; got {i!r}.")

    def decompose(self, i: Any, *, order: Any = None, pairs: bool = False) -> MYTDecomposition:
        """The Mason-Young-Tracy decomposition of the T^2 of point ``i``.

        Parameters
        ----------
        i : int or label
            An integer is a 0-based position (like ``.iloc``); any other value is looked up in
            the chart's index.
        order : sequence of names or positions, optional
            The ordering whose p terms T^2_{o1}, T^2_{o2.o1}, ... are reported (they sum to
            T^2). Default: the columns' order.
        pairs : bool
            Also compute the p (p - 1) two-variable terms T^2_{i.j}.

        Returns
        -------
        MYTDecomposition
            Unconditional, last-in conditional and ordering terms with critical values and
            p-values; ``to_frame()`` ranks them, ``drivers`` names the variables behind the
            signal. For subgroups, the deviation is sqrt(k) (xbar_j - xbarbar).

        Raises
        ------
        ValueError
            When ``i`` is neither a position in range nor a unique label of the chart's index,
            or ``order`` is not a permutation of the columns.

        See Also
        --------
        MYTDecomposition : The result.
        mahalanobis.plot.myt_plot : Draw its terms.

        Examples
        --------
        >>> import numpy as np
        >>> import mahalanobis as mh
        >>> X = np.random.default_rng(0).standard_normal((30, 3))
        >>> X[10] = [0.5, -0.5, 4.5]
        >>> d = mh.T2Chart(X).decompose(10)
        >>> d.signal, d.drivers, d.signalling_terms
        (True, ('x2',), ('T2(x2)', 'T2(x2 | all others)'))
        """
        pos = self._position(i)
        x = self._points[pos].mean(axis=0) if self.subgroup_size > 1 else self._points[pos]
        d = np.sqrt(self.subgroup_size) * (np.asarray(x, dtype=float) - self.center)
        ref = self._refs[self._codes[pos]]
        label = self._index[pos] if self._index is not None else pos
        return decompose_point(d, np.asarray(self.cov), np.asarray(self.metric.cholesky), ref,
                               self.alpha, self.feature_names, order, bool(pairs), label, pos,
                               float(self._stat[pos]), float(self._ucl_arr[pos]))

    # ------------------------------------------------------------------ display
    def to_frame(self) -> Any:
        """One row per point (subgroup): t2, ucl, lcl, pvalue, signal (and in_estimate for
        an estimated Phase I chart), indexed like the input.

        Returns
        -------
        pandas.DataFrame
            n_points rows, indexed by X's index (or a RangeIndex named "observation" or
            "subgroup").

        Raises
        ------
        ImportError
            When pandas is not installed.

        See Also
        --------
        T2Chart.signal_positions : Positions of the signalling points.

        Examples
        --------
        >>> import numpy as np
        >>> import mahalanobis as mh
        >>> X = np.random.default_rng(0).standard_normal((30, 3))
        >>> frame = mh.T2Chart(X).to_frame()
        >>> frame.shape, list(frame.columns)
        ((30, 6), ['t2', 'ucl', 'lcl', 'pvalue', 'signal', 'in_estimate'])
        """

        import pandas as pd
        index = (self._index if self._index is not None else
                 pd.RangeIndex(self.n_points,
                               name="observation" if self.subgroup_size == 1 else "subgroup"))
        cols: dict[str, Any] = {"t2": self._stat, "ucl": np.array(self._ucl_arr),
                                "lcl": np.zeros(self.n_points), "pvalue": self._pvalues(),
                                "signal": self._sig}
        if self.in_estimate is not None:
            cols["in_estimate"] = np.asarray(self.in_estimate, dtype=bool)
        return pd.DataFrame(cols, index=index)

    def __repr__(self) -> str:
        ucl = (f"{self.ucl:.6g}" if np.ndim(self.ucl) == 0 else
               f"{self._ucl_arr.min():.6g}..{self._ucl_arr.max():.6g}")
        sig = self.signal_positions
        shown = sig[:8].tolist()
        more = ", ..." if sig.size > 8 else ""
        what = "subgroups" if self.subgroup_size > 1 else "points"
        parts = [f"phase={self.phase!r}", f"{what}={self.n_points}", f"p={self.n_features}"]
        if self.subgroup_size > 1:
            parts.append(f"subgroup_size={self.subgroup_size}")
        parts += [f"alpha={self.alpha:g}", f"limit={self.limit!r}", f"ucl={ucl}",
                  f"signals={sig.size} at {shown}{more}".replace(" at []", "")]
        if self.phase == "I" and len(self.rounds) > 1:
            parts.append(f"rounds={len(self.rounds)}, n_reference={self.n_reference}")
        return f"T2Chart({', '.join(parts)})"


def _calibration_samples(m: int) -> int:
    """Default simulated Phase I samples of m points: about 10^5 points, 500 to 3000. The
    T^2 of one robust Phase I sample are dependent (a poor MCD fit inflates several at once:
    at m = 30, p = 10 the count of false alarms per sample has about twice the binomial
    variance), so the limit needs more simulated points than independent draws would."""
    return int(np.clip(np.ceil(100000 / m), 500, 3000))


def _simulated_limits(m: int, p: int, n_reps: int | None, progress: bool) -> Any:
    """The simulated null law of the robust Phase I T^2 (reweighted MCD) at (m, p)."""
    from .. import covariance
    from ..inference.calibration import simulate_reference
    calls = [0]

    def statistic(Z: np.ndarray) -> np.ndarray:
        calls[0] += 1
        fitted = covariance.fit(Z, method="mcd", random_state=calls[0])
        return _sq(Metric(fitted.center, fitted.cov), Z)

    if n_reps is None:  # about 1e5 simulated points: ~270 beyond the 0.0027 limit
        n_reps = _calibration_samples(m)
    return simulate_reference(statistic, key="T2Chart|mcd", n=m, p=p, n_reps=n_reps,
                              progress=progress)
