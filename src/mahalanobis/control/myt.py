"""The Mason-Young-Tracy (MYT) decomposition of a T^2 signal.

For a deviation d = x - xbar (for a subgroup mean, sqrt(k) (xbar_j - xbarbar)) and scatter S,
T^2 = d' S^-1 d splits, for any ordering of the p variables, into p terms that sum to T^2
(Mason, Tracy & Young 1995, eq. 7):

    T^2 = T^2_1 + T^2_{2.1} + T^2_{3.1,2} + ... + T^2_{p.1,...,p-1},

where T^2_{j.1..q} = (d_j - b' d_{1..q})^2 / s^2_{j.1..q} is the squared standardised residual
of variable j regressed on variables 1..q, with b and s^2 from the partitioned S. Of the
p! orderings' terms this module computes (all from Cholesky factors, O(p^3) per point):

* the p unconditional terms T^2_j = d_j^2 / S_jj (each variable alone: is it out of range?);
* the p "last in" conditional terms T^2_{j.all others} = (S^-1 d)_j^2 / (S^-1)_jj (is the
  variable out of line with all the others?);
* the p terms of one ordering, which sum exactly to T^2: the squared whitened coordinates
  z = L^-1 d of the Cholesky factor L of S with its rows and columns in that order;
* optionally the p (p - 1) two-variable terms T^2_{i.j} = T^2_{(i,j)} - T^2_j (which pairs
  broke their relation?).

Each term has the critical value of its reference distribution (see :mod:`._limits`: MTY 1995
for new observations, MTY 1997 / Mason & Young 2002 for Phase I) and a p-value; the terms
are ranked by p-value.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from .. import _linalg
from ._limits import Reference

__all__ = ["MYTDecomposition", "myt_terms"]

_KIND_ORDER = ("unconditional", "conditional", "ordering", "pair")


def myt_terms(d: np.ndarray, S: np.ndarray, order: np.ndarray | None = None,
              L: np.ndarray | None = None, pairs: bool = False) -> dict[str, Any]:
    """The MYT terms of the deviation ``d`` under scatter ``S`` (see the module docstring).

    The raw terms, without critical values; :meth:`T2Chart.decompose` wraps them with
    limits and p-values.

    Parameters
    ----------
    d : ndarray of shape (p,)
        The deviation x - xbar (for a subgroup mean, sqrt(k) (xbar_j - xbarbar)).
    S : ndarray of shape (p, p)
        Symmetric positive definite scatter.
    order : ndarray of int, optional
        A permutation of range(p) for the ``ordering`` terms; default the natural order.
    L : ndarray of shape (p, p), optional
        Lower Cholesky factor of S (computed when not given).
    pairs : bool, default False
        Also compute the p (p - 1) two-variable terms T^2_{i.j}.

    Returns
    -------
    dict
        ``total`` (float, T^2), ``unconditional`` (p,), ``conditional`` (p,, last-in),
        ``ordering`` (p,, in ``order``, summing to ``total``), ``pairs`` ((p, p), entry
        [i, j] = T^2_{i.j}, NaN diagonal) or None.

    Raises
    ------
    SingularCovarianceError
        When S (or S reordered by ``order``) is not positive definite.

    See Also
    --------
    T2Chart.decompose : The decomposition of a chart point, with limits and p-values.

    Examples
    --------
    >>> import numpy as np
    >>> from mahalanobis.control import myt_terms
    >>> t = myt_terms(np.array([1.0, 2.0]), np.array([[1.0, 0.5], [0.5, 1.0]]))
    >>> round(t["total"], 6), t["unconditional"], t["ordering"].round(6)
    (4.0, array([1., 4.]), array([1., 3.]))
    """
    p = d.shape[0]
    if L is None:
        L = _linalg.cholesky(S, "cov")
    sd2 = np.diagonal(S)
    unconditional = d ** 2 / sd2
    W = _linalg.inverse_triangular(L, lower=True)           # W = L^-1, S^-1 = W' W
    z = W @ d
    total = float(z @ z)
    Pd = W.T @ z                                               # S^-1 d
    diagP = np.einsum("ij,ij->j", W, W)                        # diag(S^-1)
    conditional = Pd ** 2 / diagP
    if order is None or np.array_equal(order, np.arange(p)):
        ordering = z ** 2
    else:
        Lo = _linalg.cholesky(S[np.ix_(order, order)], "cov")
        ordering = _linalg.solve_triangular(Lo, d[order], lower=True) ** 2
    pair = None
    if pairs and p > 1:
        si = sd2[:, None]
        sj = sd2[None, :]
        det = si * sj - S ** 2
        with np.errstate(divide="ignore", invalid="ignore"):
            t2_ij = (d[:, None] ** 2 * sj - 2 * d[:, None] * d[None, :] * S
                     + d[None, :] ** 2 * si) / det
        pair = t2_ij - unconditional[None, :]
        np.fill_diagonal(pair, np.nan)
    return {"total": total, "unconditional": unconditional, "conditional": conditional,
            "ordering": ordering, "pairs": pair}


@dataclass(frozen=True, repr=False, eq=False)
class MYTDecomposition:
    """The MYT decomposition of the T^2 of one chart point (``T2Chart.decompose(i)``).

    A frozen result built by :meth:`T2Chart.decompose`; its fields are listed under
    Attributes. The repr lists the terms, strongest evidence first, a ``*`` marking those
    above their critical value.

    Attributes
    ----------
    observation : int or label
        The point's label (its position when the chart has no index).
    position : int
        Its 0-based position in the chart.
    statistic : float
        Its T^2.
    ucl : float
        The chart's limit for it; ``signal`` is ``statistic > ucl``.
    feature_names : tuple of str
    unconditional : ndarray (p,)
        T^2_j = d_j^2 / s_jj.
    unconditional_ucl : ndarray (p,)
        Their critical values.
    conditional : ndarray (p,)
        Last-in terms T^2_{j.all others}.
    conditional_ucl : ndarray (p,)
        Their critical values.
    order : tuple of str
        The ordering of ``ordering``.
    ordering : ndarray (p,)
        T^2_{order[0]}, T^2_{order[1].order[0]}, ..., summing to ``statistic``.
    ordering_ucl : ndarray (p,)
        Their critical values.
    pairs : ndarray (p, p) or None
        T^2_{i.j} (variable i given variable j), when asked for.
    pairs_ucl : float or None
        Their critical value.
    alpha : float
    reference : str
        "beta" (Phase I, MTY 1997), "f" (MTY 1995 / subgroup analogue) or "chi2" (known
        parameters).

    See Also
    --------
    T2Chart.decompose : Builds it.
    myt_terms : The raw terms.
    mahalanobis.plot.myt_plot : Draw the terms.

    Examples
    --------
    >>> import numpy as np
    >>> import mahalanobis as mh
    >>> X = np.random.default_rng(0).standard_normal((30, 3))
    >>> X[10] = [0.5, -0.5, 4.5]
    >>> mh.T2Chart(X).decompose(10)
    MYTDecomposition(observation=10, T2=12.6901, ucl=11.6119, signal=True, reference='beta')
      T2(x2): 12.66 (ucl 7.82)  *
      T2(x2 | all others): 12.02 (ucl 8.331)  *
      T2(x1 | x0): 0.4691 (ucl 8.068)
      T2(x1): 0.3851 (ucl 7.82)
      T2(x0): 0.1989 (ucl 7.82)
      T2(x0 | all others): 0.02539 (ucl 8.331)
      T2(x1 | all others): 0.001811 (ucl 8.331)
    """

    observation: Any
    position: int
    statistic: float
    ucl: float
    feature_names: tuple[str, ...]
    unconditional: np.ndarray
    unconditional_ucl: np.ndarray
    conditional: np.ndarray
    conditional_ucl: np.ndarray
    order: tuple[str, ...]
    ordering: np.ndarray
    ordering_ucl: np.ndarray
    alpha: float
    reference: str
    pairs: np.ndarray | None = None
    pairs_ucl: float | None = None
    _ref: Reference | None = field(default=None)

    @property
    def signal(self) -> bool:
        """Whether the point signals: ``statistic > ucl``.

        See Also
        --------
        MYTDecomposition.drivers : The variables behind the signal.

        Examples
        --------
        >>> import numpy as np
        >>> import mahalanobis as mh
        >>> X = np.random.default_rng(0).standard_normal((30, 3))
        >>> X[10] = [0.5, -0.5, 4.5]
        >>> chart = mh.T2Chart(X)
        >>> chart.decompose(10).signal, chart.decompose(0).signal
        (True, False)
        """
        return bool(self.statistic > self.ucl)

    def _rows(self) -> list[tuple[str, str, str, str, int, float, float]]:
        """(term, kind, variable, given, q, value, ucl) for every distinct term."""
        names = self.feature_names
        p = len(names)
        seen: dict[tuple[str, frozenset[str]], int] = {}
        rows: list[tuple[str, str, str, str, int, float, float]] = []

        def add(kind: str, var: str, given: list[str], value: float, ucl: float) -> None:
            key = (var, frozenset(given))
            if key in seen:
                return
            seen[key] = len(rows)
            if not given:
                label = f"T2({var})"
                g = ""
            elif len(given) == p - 1 and p > 2:
                label = f"T2({var} | all others)"
                g = ", ".join(given)
            else:
                g = ", ".join(given)
                label = f"T2({var} | {g})"
            rows.append((label, kind, var, g, len(given), float(value), float(ucl)))

        for j in range(p):
            add("unconditional", names[j], [], self.unconditional[j], self.unconditional_ucl[j])
        for j in range(p):
            add("conditional", names[j], [n for n in names if n != names[j]],
                self.conditional[j], self.conditional_ucl[j])
        for k in range(p):
            add("ordering", self.order[k], list(self.order[:k]), self.ordering[k],
                self.ordering_ucl[k])
        if self.pairs is not None:
            for i in range(p):
                for j in range(p):
                    if i != j:
                        add("pair", names[i], [names[j]], self.pairs[i, j],
                            self.pairs_ucl)  # type: ignore[arg-type]  # set with pairs
        return rows

    def _ranked(self) -> tuple[list[Any], np.ndarray]:
        rows = self._rows()
        q = np.array([r[4] for r in rows])
        value = np.array([r[5] for r in rows])
        ucl = np.array([r[6] for r in rows])
        assert self._ref is not None
        pval = self._ref.term_sf(value, q)
        rank = np.lexsort((-value / ucl, pval))
        return [rows[i] for i in rank], pval[rank]

    def to_frame(self) -> Any:
        """One row per distinct term, strongest evidence first (ascending p-value).

        Columns: term, kind ("unconditional", "conditional" = last in, "ordering", "pair"),
        variable, given, n_given, statistic, ucl, pvalue, signal.

        Returns
        -------
        pandas.DataFrame
            One row per distinct term, indexed by rank (1 = smallest p-value).

        Raises
        ------
        ImportError
            When pandas is not installed.

        See Also
        --------
        MYTDecomposition.signalling_terms : The labels of the signalling rows.

        Examples
        --------
        >>> import numpy as np
        >>> import mahalanobis as mh
        >>> X = np.random.default_rng(0).standard_normal((30, 3))
        >>> X[10] = [0.5, -0.5, 4.5]
        >>> frame = mh.T2Chart(X).decompose(10).to_frame()
        >>> frame[["term", "kind", "signal"]].head(2)
                             term           kind  signal
        rank
        1                  T2(x2)  unconditional    True
        2     T2(x2 | all others)    conditional    True
        """
        import pandas as pd
        rows, pval = self._ranked()
        frame = pd.DataFrame(rows, columns=["term", "kind", "variable", "given", "n_given",
                                            "statistic", "ucl"])
        frame["pvalue"] = pval
        frame["signal"] = frame["statistic"] > frame["ucl"]
        frame.index = pd.RangeIndex(1, len(frame) + 1, name="rank")
        return frame

    @property
    def drivers(self) -> tuple[str, ...]:
        """Variables with a signalling unconditional or conditional (last-in) term, strongest
        first: the variables out of range or out of line with the others.

        See Also
        --------
        MYTDecomposition.signalling_terms : All signalling terms.

        Examples
        --------
        >>> import numpy as np
        >>> import mahalanobis as mh
        >>> X = np.random.default_rng(0).standard_normal((30, 3))
        >>> X[10] = [0.5, -0.5, 4.5]
        >>> mh.T2Chart(X).decompose(10).drivers
        ('x2',)
        """
        rows, _ = self._ranked()
        out: list[str] = []
        for _, kind, var, _, _, value, ucl in rows:
            if kind in ("unconditional", "conditional") and value > ucl and var not in out:
                out.append(var)
        return tuple(out)

    @property
    def signalling_terms(self) -> tuple[str, ...]:
        """Labels of all terms above their critical value, strongest first.

        See Also
        --------
        MYTDecomposition.drivers : The variables behind them.

        Examples
        --------
        >>> import numpy as np
        >>> import mahalanobis as mh
        >>> X = np.random.default_rng(0).standard_normal((30, 3))
        >>> X[10] = [0.5, -0.5, 4.5]
        >>> mh.T2Chart(X).decompose(10).signalling_terms
        ('T2(x2)', 'T2(x2 | all others)')
        """

        rows, _ = self._ranked()
        return tuple(r[0] for r in rows if r[5] > r[6])

    def __repr__(self) -> str:
        rows, _ = self._ranked()
        lines = [f"MYTDecomposition(observation={self.observation!r}, "
                 f"T2={self.statistic:.6g}, ucl={self.ucl:.6g}, signal={self.signal}, "
                 f"reference={self.reference!r})"]
        for label, _, _, _, _, value, ucl in rows[:8]:
            flag = "  *" if value > ucl else ""
            lines.append(f"  {label}: {value:.4g} (ucl {ucl:.4g}){flag}")
        if len(rows) > 8:
            lines.append(f"  ... {len(rows) - 8} more terms (to_frame() lists all)")
        return "\n".join(lines)


def decompose_point(d: np.ndarray, S: np.ndarray, L: np.ndarray | None, ref: Reference,
                    alpha: float, names: tuple[str, ...], order: Any, pairs: bool,
                    observation: ArrayLike, position: int, statistic: float,
                    ucl: float) -> MYTDecomposition:
    """Build the :class:`MYTDecomposition` of one deviation vector."""
    p = d.shape[0]
    perm = _order_iv(order, names)
    terms = myt_terms(d, S, perm, L=L, pairs=pairs)
    q_all = np.full(p, p - 1)
    return MYTDecomposition(
        observation=observation, position=position, statistic=float(statistic),
        ucl=float(ucl), feature_names=names,
        unconditional=terms["unconditional"],
        unconditional_ucl=ref.term_ucl(np.zeros(p), alpha),
        conditional=terms["conditional"], conditional_ucl=ref.term_ucl(q_all, alpha),
        order=tuple(names[k] for k in perm), ordering=terms["ordering"],
        ordering_ucl=ref.term_ucl(np.arange(p), alpha), alpha=alpha, reference=ref.kind,
        pairs=terms["pairs"],
        pairs_ucl=float(ref.term_ucl(1, alpha)) if terms["pairs"] is not None else None,
        _ref=ref)


def _order_iv(order: Any, names: tuple[str, ...]) -> np.ndarray:
    p = len(names)
    if order is None:
        return np.arange(p)
    items = list(order)
    pos = {n: k for k, n in enumerate(names)}
    try:
        perm = np.array([pos[str(o)] if not isinstance(o, (int, np.integer)) else int(o)
                         for o in items], dtype=int)
    except KeyError as exc:
        raise ValueError(f"order names an unknown variable {exc.args[0]!r}; variables are "
                         f"{list(names)}.") from None
    if perm.size != p or not np.array_equal(np.sort(perm), np.arange(p)):
        raise ValueError(f"order must be a permutation of the {p} variables (names or "
                         f"positions 0..{p - 1}); got {items!r}.")
    return perm
