"""Hotelling T^2 control chart and the MYT decomposition of a signal."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from . import _common as c

__all__ = ["control_chart", "myt_plot"]


def control_chart(chart: Any, *, ax: Any = None, labels: ArrayLike | None = None,
                  max_labels: int = 10,
                  title: str | None = None) -> Any:
    """The T^2 statistic of each observation (or subgroup) in time order, with the upper control
    limit (line with gid "ucl") and the signals (points above it) marked and labelled.

    ``chart`` is a :class:`mahalanobis.control.T2Chart` or the result of its ``monitor()``: any
    object with ``statistic`` (n,), ``ucl`` (scalar or (n,)) and ``signals`` (bool, (n,)).

    Parameters
    ----------
    chart : T2Chart
        The chart to draw.
    ax : matplotlib Axes, optional
        Drawn on a new figure when omitted.
    labels : sequence, optional
        Point labels; default the chart's index or the 0-based position.
    max_labels : int, default 10
        Most signals labelled (the largest first).
    title : str, optional
        Axes title; default "T² control chart (phase I)" (or II).

    Returns
    -------
    matplotlib.axes.Axes
        The limit is the line with gid "ucl"; the signal labels are ``ax.texts``.

    Raises
    ------
    ValueError
        When ``chart`` has no ``statistic``, ``ucl`` and ``signals``.
    ImportError
        When matplotlib is not installed.

    See Also
    --------
    mahalanobis.control.T2Chart : The chart.
    myt_plot : The decomposition of one signal.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> import mahalanobis as mh
    >>> from mahalanobis import plot
    >>> X = np.random.default_rng(0).standard_normal((30, 3))
    >>> X[10] = [0.5, -0.5, 4.5]
    >>> ax = plot.control_chart(mh.T2Chart(X))
    >>> [t.get_text() for t in ax.texts]             # the signal is labelled
    ['10']
    """
    try:
        stat = c.as_1d(chart.statistic, "chart.statistic")
        ucl = np.broadcast_to(np.asarray(chart.ucl, dtype=float), stat.shape)
        signals = np.asarray(chart.signals, dtype=bool).reshape(stat.shape)
    except AttributeError as exc:
        raise ValueError("chart must be a T2Chart (or its monitor() result) with statistic, "
                         f"ucl and signals; {exc}.") from None
    index = getattr(chart.statistic, "index", None)
    lab = c.row_labels(labels, stat.size, index)
    ax = c.get_ax(ax, (7.5, 3.8))
    pos = np.arange(1, stat.size + 1)
    ax.plot(pos, stat, "-", color="#9a9a9a", lw=0.8, zorder=1)
    ax.scatter(pos[~signals], stat[~signals], s=14, color=c.POINTS, zorder=3)
    ax.scatter(pos[signals], stat[signals], s=28, color=c.FLAGGED, marker="D", zorder=4,
               label=f"signal ({int(signals.sum())})")
    if np.all(ucl == ucl[0]):
        ax.axhline(ucl[0], color=c.FLAGGED, ls="--", lw=1.2, gid="ucl",
                   label=f"UCL = {ucl[0]:.3g}")
    else:
        ax.step(pos, ucl, where="mid", color=c.FLAGGED, ls="--", lw=1.2, gid="ucl",
                label="UCL")
    c.annotate(ax, pos, stat, lab, signals, stat, max_labels)
    ax.set_xlabel("subgroup" if getattr(chart, "subgroup_size", 1) not in (1, None)
                  else "observation")
    ax.set_ylabel("Hotelling T²")
    phase = getattr(chart, "phase", None)
    ax.set_title(title or (f"T² control chart (phase {phase})" if phase else "T² control chart"))
    ax.set_ylim(bottom=0)
    ax.legend(loc="upper left", fontsize=8, frameon=False)
    return ax


_VALUE = ("contribution", "statistic", "t2", "value")
_LIMIT = ("ucl", "critical", "critical_value", "limit", "cutoff")
_SIGNAL = ("signal", "signals", "significant")
_TERM = ("term", "terms", "variable", "name")


def _first(frame: Any, names: tuple[str, ...]) -> str | None:
    for name in names:
        if name in frame.columns:
            return name
    return None


def myt_plot(decomposition: Any, *, ax: Any = None, max_terms: int = 15) -> Any:
    """Bar chart of the Mason-Young-Tracy decomposition of one T^2 signal.

    Each bar is one term, unconditional T^2_j or conditional T^2_{j.1...j-1}, sorted by size;
    terms above their critical value (tick marks, gid "critical") are red: those variables, or
    their relation to the others, drive the signal.

    ``decomposition`` is the result of ``T2Chart.decompose(i)`` (or any object whose
    ``to_frame()``, or a DataFrame itself, has a term label column or index, a value column
    ("statistic"/"contribution"), optionally a critical-value column ("ucl"/"critical") and a
    boolean "signal" column).

    Parameters
    ----------
    decomposition : MYTDecomposition or DataFrame
        The terms to draw.
    ax : matplotlib Axes, optional
        Drawn on a new figure when omitted.
    max_terms : int, default 15
        Most terms drawn (the largest).

    Returns
    -------
    matplotlib.axes.Axes
        One bar per term; the critical values are the collection with gid "critical".

    Raises
    ------
    ValueError
        When ``decomposition`` is neither an MYT result nor a DataFrame with a numeric
        column of term values.
    ImportError
        When matplotlib is not installed.

    See Also
    --------
    mahalanobis.control.T2Chart.decompose : The decomposition.
    control_chart : The chart the signal comes from.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> import mahalanobis as mh
    >>> from mahalanobis import plot
    >>> X = np.random.default_rng(0).standard_normal((30, 3))
    >>> X[10] = [0.5, -0.5, 4.5]
    >>> ax = plot.myt_plot(mh.T2Chart(X).decompose(10))
    >>> ax.get_title(), [t.get_text() for t in ax.get_yticklabels()][-1]   # largest on top
    ('MYT decomposition of observation 10', 'T2(x2)')
    """

    frame = decomposition.to_frame() if hasattr(decomposition, "to_frame") else decomposition
    if not hasattr(frame, "columns"):
        raise ValueError("decomposition must be an MYT result (T2Chart.decompose(i)) or a "
                         "DataFrame of terms; got " + type(decomposition).__name__ + ".")
    value = _first(frame, _VALUE)
    if value is None:
        numeric = [k for k in frame.columns if frame[k].dtype.kind in "fiu"]
        if not numeric:
            raise ValueError("decomposition has no numeric column of term values.")
        value = numeric[0]
    limit, signal, term = _first(frame, _LIMIT), _first(frame, _SIGNAL), _first(frame, _TERM)
    names = [str(t) for t in (frame[term] if term else frame.index)]
    vals = frame[value].to_numpy(dtype=float)
    lims = frame[limit].to_numpy(dtype=float) if limit else None
    if signal:
        sig = frame[signal].to_numpy(dtype=bool)
    elif lims is not None:
        sig = vals > lims
    else:
        sig = np.zeros(vals.size, dtype=bool)
    order = np.argsort(-vals, kind="stable")[:max_terms][::-1]
    ax = c.get_ax(ax, (6.0, max(2.5, 0.32 * order.size + 1.2)))
    y = np.arange(order.size)
    ax.barh(y, vals[order], color=[c.FLAGGED if s else c.CLASSICAL for s in sig[order]],
            height=0.65)
    if lims is not None:
        ax.scatter(lims[order], y, marker="|", s=260, color="black", zorder=3, gid="critical",
                   label="critical value")
        ax.legend(loc="lower right", fontsize=8, frameon=False)
    ax.set_yticks(y)
    ax.set_yticklabels([names[k] for k in order], fontsize=8)
    ax.set_xlabel("T² term")
    which = next((getattr(decomposition, a) for a in ("observation", "index", "i")
                  if isinstance(getattr(decomposition, a, None), (int, np.integer, str))), None)
    ax.set_title("MYT decomposition" + (f" of observation {which}" if which is not None else ""))
    return ax
