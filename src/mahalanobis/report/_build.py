"""Build the outlier report: fit, score, explain, draw, and lay out one HTML page."""

from __future__ import annotations

import io
import warnings
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats

from .._validation import check_choice, check_fraction, check_int
from .._version import __version__
from . import _html as h

__all__ = ["build_report"]

_CUTOFF_METHODS = ("auto", "chi2", "beta", "f", "hardin_rocke", "cerioli")
_MAX_TABLE_ROWS = 500

_WHY = {
    "auto": "The rows judged are the rows the estimate came from, so each is judged by the "
            "finite-sample law of its in-sample distance rather than the asymptotic "
            "chi-squared law, which flags well above {a} of clean rows at small and moderate "
            "n. {ref}.",
    "chi2": "Under multivariate normality the squared distance of a point to the true centre, "
            "in the metric of the true scatter, follows a chi-squared distribution with p "
            "degrees of freedom, so its upper {a} quantile is the cutoff. With estimated "
            "centre and scatter this is the usual large-sample approximation (Rousseeuw and "
            "van Zomeren 1990); for small n it flags slightly too many points with classical "
            "estimates and, for MCD, see the 'hardin_rocke' option.",
    "beta": "For classical estimates, n D² / (n - 1)² of a point of the sample follows a "
            "Beta(p/2, (n - p - 1)/2) distribution exactly under normality (Gnanadesikan and "
            "Kettenring 1972); the cutoff is its upper {a} quantile.",
    "f": "For a new point judged against classical estimates, D² follows a scaled F "
         "distribution; the cutoff is its upper {a} quantile.",
    "hardin_rocke": "For MCD distances the tail is heavier than chi-squared in small samples; "
                    "Hardin and Rocke (2005) approximate it by a scaled F distribution that "
                    "depends on n, p and h. The cutoff is its upper {a} quantile.",
    "cerioli": "Cerioli (2010) calibrates reweighted MCD distances with Beta (for points used "
               "in the fit) and F (for the others) distributions, controlling the error rate "
               "at {a}.",
}


def _frame(X: Any, *, labels: Any, id_column: str | None, columns: Any) -> tuple[Any, list[str]]:
    """A numeric DataFrame of the analysis columns and the names of columns left out."""
    import pandas as pd
    df = X.copy() if isinstance(X, pd.DataFrame) else pd.DataFrame(np.asarray(X))
    if not isinstance(X, pd.DataFrame):
        df.columns = [f"x{j + 1}" for j in range(df.shape[1])]
    if id_column is not None:
        if id_column not in df.columns:
            raise ValueError(f"id_column {id_column!r} is not a column of X; columns are "
                             f"{', '.join(map(str, df.columns[:10]))}.")
        df = df.set_index(id_column)
    if labels is not None:
        labels = list(labels)
        if len(labels) != df.shape[0]:
            raise ValueError(f"labels has {len(labels)} entries for {df.shape[0]} rows; pass "
                             "one label per row.")
        df.index = pd.Index(labels)
    if columns is not None:
        missing = [c for c in columns if c not in df.columns]
        if missing:
            raise ValueError(f"columns names {missing[:5]}, not in X; columns are "
                             f"{', '.join(map(str, df.columns[:12]))}.")
        df = df[list(columns)]
    ignored = [str(c) for c, dt in zip(df.columns, df.dtypes) if dt.kind not in "biuf"]
    if columns is not None and ignored:
        raise ValueError(f"column {ignored[0]!r} is not numeric; choose numeric columns.")
    df = df[[c for c, dt in zip(df.columns, df.dtypes) if dt.kind in "biuf"]].astype(float)
    if df.shape[1] == 0:
        raise ValueError("X has no numeric columns; pass a table of measurements.")
    return df, ignored


def _cutoff(method: str, p: int, alpha: float, n: int, h_: int | None,
            multiplicity: str | None = None) -> float:
    if multiplicity is None and method == "chi2":
        return float(stats.chi2.isf(alpha, p))
    if multiplicity is None and method == "beta":
        return float((n - 1) ** 2 / n * stats.beta.isf(alpha, p / 2, (n - p - 1) / 2))
    try:
        from ..inference import cutoff
    except ImportError:  # pragma: no cover - until mahalanobis.inference ships
        raise ValueError(f"cutoff_method={method!r} needs mahalanobis.inference.cutoff, which "
                         "is not available; use cutoff_method='chi2'.") from None
    kw: dict[str, Any] = {"n": n}
    if h_ is not None:
        kw["h"] = h_
    return float(cutoff(p, alpha, method=method, multiplicity=multiplicity, **kw))


def _svg(draw: Any, size: tuple[float, float], key: str, label: str) -> str:
    """Draw on a fresh Figure (no pyplot state) and return it as inline SVG."""
    import matplotlib
    from matplotlib.figure import Figure
    fig = Figure(figsize=size, layout="constrained")
    draw(fig)
    buf = io.StringIO()
    with matplotlib.rc_context({"svg.hashsalt": f"mahalanobis-{key}", "svg.fonttype": "path"}):
        fig.savefig(buf, format="svg", metadata={"Date": None})
    return h.inline_svg(buf.getvalue(), label)


def _figure(svg: str, caption: str, key: str, wide: bool = False) -> str:
    cls = ' class="wide"' if wide else ""
    return (f'<figure id="fig-{key}"{cls}>{svg}<figcaption>{h.esc(caption)}</figcaption>'
            "</figure>")


def _diagnostics(metric: Any, classical: Any, n: int) -> list[tuple[str, Any]]:
    rows: list[tuple[str, Any]] = [
        ("condition number of the scatter", metric.condition_number),
        ("log det of the scatter", metric.log_det),
    ]
    if metric is not classical:
        rows.append(("condition number, classical covariance", classical.condition_number))
    extra = (("h (subset size)", "h"), ("raw objective log det", "log_det_raw"),
             ("consistency factor, raw", "consistency_raw"),
             ("small-sample factor, raw", "small_sample_raw"),
             ("consistency factor, reweighted", "consistency_rew"),
             ("small-sample factor, reweighted", "small_sample_rew"),
             ("C-steps", "n_csteps"))
    for name, attr in extra:
        value = getattr(metric, attr, None)
        if value is not None:
            rows.append((name, value))
    hh = getattr(metric, "h", None)
    if hh is not None:
        rows.insert(2, ("h / n (coverage)", hh / n))
    weights = getattr(metric, "weights", None)
    if weights is not None:
        rows.append(("rows kept by reweighting", int(np.sum(np.asarray(weights) > 0))))
    return rows


def _fit_pair(Xv: np.ndarray, complete: np.ndarray, method: str, missing: str,
              random_state: Any) -> tuple[Any, Any]:
    """The classical and the chosen fit: on complete data as always; with missing cells,
    with them (missing="em") or on the complete rows ("marginal")."""
    from ..covariance import fit
    if complete.all() or missing == "marginal":
        Xc = Xv if complete.all() else Xv[complete]
        classical = fit(Xc, method="empirical")
        metric = classical if method == "empirical" else fit(
            Xc, method=method, random_state=random_state)
        return classical, metric
    classical = fit(Xv, method="empirical", nan_policy="em")
    if method in ("empirical", "em"):
        return classical, classical
    if method != "mcd":
        raise ValueError(f"missing='em' fits with missing cells for method 'empirical', 'em' "
                         f"or 'mcd', not {method!r}; use missing='marginal' (fit on the "
                         "complete rows) or 'omit'.")
    return classical, fit(Xv, method="mcd", nan_policy="em", random_state=random_state)


def build_report(X: ArrayLike, *, method: str = "mcd", alpha: float = 0.025,
                 cutoff_method: str = "auto", labels: ArrayLike | None = None,
                 id_column: str | None = None,
                 columns: Any = None, title: str | None = None, source: str | None = None,
                 random_state: Any = 0, max_pairs: int = 6, pca: int | None = None,
                 missing: str = "em", level: str = "individual") -> str:
    """A self-contained HTML report of the outliers of a table.

    The page holds a data summary, the method and cutoff used (and why), diagnostics of the
    fit (condition number; h and the consistency factors for MCD), a sortable table of the
    flagged rows, and the plots: tolerance ellipses (p = 2) or a pairs grid (p <= ``max_pairs``),
    the chi-squared Q-Q plot, the distance-distance plot (robust methods) and the index plot.
    Figures are inline SVG and the CSS and JavaScript are inline: the file fetches nothing.

    Parameters
    ----------
    X : DataFrame or array-like (n, p)
        Non-numeric columns are left out (and listed); rows with missing values are kept and
        judged on their observed coordinates (see ``missing``); rows with nothing observed
        are left out (and listed).
    method : str
        Scatter estimator for the distances, any of :func:`mahalanobis.available_methods`
        (default "mcd"); the classical fit is always computed for comparison.
    alpha : float
        Rows with D^2 above the upper-alpha cutoff are flagged (default 0.025).
    cutoff_method : {"auto", "chi2", "beta", "f", "hardin_rocke", "cerioli"}
        Reference distribution of the cutoff. "auto" (default) flags the rows of
        :func:`mahalanobis.outliers` (Cerioli's reweighted MCD for "mcd", the exact Beta law
        for "empirical", a Monte Carlo calibration otherwise); the others judge the distances
        of ``mahalanobis.fit(X, method)`` by :func:`mahalanobis.inference.cutoff` ("cerioli"
        with m = the rows kept by the reweighting, as ``MahalanobisOutlierDetector``). Rows
        with missing cells (``missing`` "em" or "marginal") are judged by the chi-squared law
        on their observed count under "auto".
    labels : sequence, optional
        Row labels (default: the index of X).
    id_column : str, optional
        The column of X holding the row labels.
    columns : sequence of str, optional
        The analysis columns (default: every numeric column).
    title : str, optional
        Heading of the page.
    source : str, optional
        The name of the data shown under it.
    random_state : int or Generator, default 0
        Seed of randomised estimators (MCD), so a report is reproducible.
    max_pairs : int, default 6
        Largest p drawn as a pairs grid of tolerance ellipses.
    level : {"individual", "simultaneous"}, default "individual"
        alpha per row, or family-wise over the n rows (Sidak).
    pca : int, optional
        Add a robust PCA section with this many components: ROBPCA's outlier map (score
        against orthogonal distances) and the rows beyond either cutoff.
    missing : {"em", "marginal", "omit"}, default "em"
        Rows with missing cells: kept and judged on their observed coordinates (their count
        is the column "observed" of the flagged table, missing cells show as "missing"), with
        the centre and scatter fitted with the missing cells (``"em"``, the default, as the
        CLI's ``--missing``: EM for "empirical"/"em", the MCD with EM in its C-steps for
        "mcd"; other methods need ``"marginal"`` or ``"omit"``) or on the complete rows
        (``"marginal"``); or left out and listed (``"omit"``). The Q-Q and index plots then
        show each row's D² as the chi-squared(p) quantile of its p-value; the ellipse and
        distance-distance plots show the complete rows.

    Returns
    -------
    str
        The HTML document.

    Raises
    ------
    ValueError
        When ``id_column``, ``labels`` or ``columns`` do not match X, X has no numeric
        columns (or a chosen column is not numeric), too few complete rows for its columns,
        or ``method``, ``alpha`` or ``cutoff_method`` is invalid.

    See Also
    --------
    mahalanobis.fit : The estimators behind ``method``.
    mahalanobis.plot : The figures of the report.

    Examples
    --------
    >>> import numpy as np
    >>> from mahalanobis.report import build_report
    >>> X = np.random.default_rng(0).standard_normal((40, 3))
    >>> X[:2] += 5                                    # two outliers
    >>> html = build_report(X, method="empirical", title="Demo")
    >>> html.startswith("<!DOCTYPE html>"), "<svg" in html, "Demo" in html
    (True, True, True)
    """
    from ..covariance import fit
    from ..plot import require_matplotlib

    require_matplotlib()
    alpha = check_fraction(alpha, "alpha")
    if pca is not None:
        check_int(pca, "pca", 1, "a positive number of components")
    max_pairs = check_int(max_pairs, "max_pairs", 0, "the most columns drawn as a pairs grid")
    check_choice(cutoff_method, "cutoff_method", _CUTOFF_METHODS)
    check_choice(missing, "missing", ("omit", "em", "marginal"))
    check_choice(level, "level", ("individual", "simultaneous"))
    multiplicity = "sidak" if level == "simultaneous" else None
    df, ignored = _frame(X, labels=labels, id_column=id_column, columns=columns)
    finite = np.isfinite(df.to_numpy()).all(axis=1)
    keep = finite if missing == "omit" else ~np.isnan(df.to_numpy()).all(axis=1)
    if missing != "omit" and np.isinf(df.to_numpy()).any():
        raise ValueError("X has infinite values; replace them by numbers or by NaN (missing).")
    dropped = [str(i) for i in df.index[~keep]]
    df = df[keep]
    complete = finite[keep]
    n, p = df.shape
    if int(complete.sum()) <= p and (missing != "em" or complete.all()):
        hint = "" if complete.all() else " (or missing='em')"
        raise ValueError(f"X has {int(complete.sum())} complete rows for {p} columns; a report "
                         f"needs more rows than columns{hint}.")
    Xv = df.to_numpy()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = None
        if complete.all():
            classical = fit(Xv, method="empirical")
            fitted = classical if method == "empirical" else fit(
                Xv, method=method, random_state=random_state)
            if cutoff_method == "auto":
                from ..inference import outliers
                res = outliers(Xv, method=method, alpha=alpha, level=level,
                               random_state=random_state)
        else:
            classical, fitted = _fit_pair(Xv, complete, method, missing, random_state)
            if cutoff_method == "auto":  # the calibrated laws on each row's observed count
                from ..inference import outliers
                res = outliers(Xv, method=method, alpha=alpha, level=level,
                               random_state=random_state, nan_policy=missing)
    k = np.full(n, p)
    if complete.all():
        dc = np.asarray(classical.distance(Xv), dtype=float)
        if res is not None:
            metric = classical if method == "empirical" else res.metric
            d2 = np.asarray(res.d2, dtype=float)
            cut_rows = np.broadcast_to(np.asarray(res.cutoff, dtype=float), d2.shape)
            cut = float(cut_rows.min())
            pval = np.asarray(res.pvalue, dtype=float)
            flagged = np.asarray(res.flags, dtype=bool)
        else:
            metric = fitted
            d2 = np.asarray(metric.distance(Xv, squared=True), dtype=float)
            hh = getattr(metric, "h", None)
            if cutoff_method == "cerioli":  # m, the rows kept by the reweighting (as the detector)
                w = getattr(metric, "weights", None)
                hh = None if w is None else int(np.sum(w))
            cut = _cutoff(cutoff_method, p, alpha, n, hh, multiplicity)
            cut_rows = np.broadcast_to(cut, d2.shape)
            pval = stats.chi2.sf(d2, p)
            if cutoff_method != "chi2":
                from ..inference import pvalue as reference_pvalue
                pval = np.asarray(reference_pvalue(d2, p, method=cutoff_method, n=n, h=hh))
            flagged = d2 > cut
        d2_plot = d2
    else:  # rows with missing cells: each judged on its k observed coordinates
        dc = np.asarray(classical.distance(Xv, nan_policy="marginal"), dtype=float)
        if res is not None:
            metric = res.metric
            d2, k = np.asarray(res.d2, dtype=float), np.asarray(res.n_observed)
            cut_rows = np.broadcast_to(np.asarray(res.cutoff, dtype=float), d2.shape)
            full = k == p
            cut = float(np.max(cut_rows[full] if full.any() else cut_rows))
            pval = np.asarray(res.pvalue, dtype=float)
            flagged = np.asarray(res.flags, dtype=bool)
        else:
            metric = fitted
            d2, k = metric.distance(Xv, squared=True, nan_policy="marginal",
                                    return_counts=True)
            d2, k = np.asarray(d2, dtype=float), np.asarray(k)
            hh = getattr(metric, "h", None)
            cuts = {int(kk): _cutoff(cutoff_method, int(kk), alpha, n, hh, multiplicity)
                    for kk in np.unique(np.append(k, p))}
            cut = cuts[p]
            cut_rows = np.array([cuts[int(kk)] for kk in k])
            pval = stats.chi2.sf(d2, k)
            flagged = d2 > cut_rows
        d2_plot = stats.chi2.isf(pval, p)  # on the chi2_p scale
    lab = [str(i) for i in df.index]
    robust = metric is not classical

    parts = [f"<h1>{h.esc(title or 'Mahalanobis outlier report')}</h1>"]
    parts.append(f'<p class="lead">{h.esc(source) + " · " if source else ""}{n} rows × {p} '
                 f"columns · method {h.esc(method)} · cutoff {h.esc(cutoff_method)}, "
                 f"alpha {alpha:g}</p>")
    parts.append('<div class="cards">'
                 f'<div class="card"><b>{n}</b><span>rows analysed</span></div>'
                 f'<div class="card"><b>{p}</b><span>variables</span></div>'
                 f'<div class="card flag"><b id="n-flagged">{int(flagged.sum())}</b>'
                 f"<span>rows flagged ({100 * flagged.mean():.1f}%)</span></div>"
                 f'<div class="card"><b>{h.fmt(cut)}</b><span>D² cutoff</span></div></div>')
    notes = []
    if not complete.all():
        notes.append(f"{int((~complete).sum())} row(s) have missing cells; each is judged on "
                     "its observed coordinates (column 'observed'), against the reference "
                     f"law on that number (missing='{missing}'). The Q-Q and index plots show "
                     "their D² as the chi-squared quantile with p df of their p-value; the "
                     "ellipse and distance-distance plots show the complete rows only.")
    if dropped:
        notes.append(f"{len(dropped)} row(s) with missing values were left out: "
                     f"{', '.join(dropped[:20])}{' …' if len(dropped) > 20 else ''}.")
    if ignored:
        notes.append(f"Non-numeric column(s) left out: {', '.join(ignored)}.")
    notes += [str(w.message) for w in caught]
    parts += [f'<p class="note">{h.esc(t)}</p>' for t in notes]

    # -- data summary
    parts.append("<h2>Data</h2>")
    desc = df.describe().T
    centre = np.asarray(metric.center)
    head = ["variable", "mean", "sd", "min", "median", "max"] + (
        [f"{method} centre"] if robust else [])
    rows = [[str(c), float(r["mean"]), float(r["std"]), float(r["min"]), float(r["50%"]),
             float(r["max"])] + ([float(centre[k])] if robust else [])
            for k, (c, r) in enumerate(desc.iterrows())]
    parts.append(h.table(head, rows))

    # -- method and cutoff
    parts.append("<h2>Method and cutoff</h2>")
    what = ("the classical mean and covariance" if not robust else
            f"the {h.esc(method)} estimate of location and scatter"
            + (" (minimum covariance determinant: the centre and covariance of the h rows "
               "with the smallest covariance determinant, reweighted and corrected for "
               "consistency, so that up to n − h outliers cannot pull them)"
               if method == "mcd" else ""))
    if res is not None and method in ("mcd", "irmcd"):
        what = ("Cerioli's (2010) reweighted MCD: the raw MCD (the h rows with the smallest "
                "covariance determinant, corrected for consistency and sample size), "
                "reweighted with the Hardin-Rocke F law of the raw distances")
    a_row = alpha if level == "individual" else float(-np.expm1(np.log1p(-alpha) / n))
    extra = ""
    if float(cut_rows.max()) > cut:
        extra = (f" for the rows in the reweighted estimate and {h.fmt(float(cut_rows.max()), 6)}"
                 " for the rows it left out")
    parts.append(f"<p>Each row's squared Mahalanobis distance D² is measured from {what}. "
                 f"A row is flagged when D² &gt; {h.fmt(cut, 6)}{extra}, the upper "
                 f"{a_row:.4g} quantile of the {h.esc(cutoff_method)} reference"
                 + (" (family-wise level " + f"{alpha:g} over the {n} rows, Sidak)"
                    if level == "simultaneous" else "") + ".</p>")
    why = _WHY[cutoff_method].format(a=f"{alpha:g}",
                                     ref=res.reference if res is not None else "")
    parts.append(f"<p>{h.esc(why)} At this level about "
                 f"{a_row * n:.1f} of {n} clean normal rows would be flagged by chance.</p>")
    if robust:
        classical_flags = dc ** 2 > stats.chi2.isf(alpha, k)
        masked = int(np.sum(flagged & ~classical_flags))
        parts.append(f"<p>The classical fit would flag {int(classical_flags.sum())} "
                     f"row(s); {masked} of the rows flagged here are hidden from it (masking)."
                     "</p>")

    # -- diagnostics
    parts.append("<h2>Diagnostics</h2>")
    diag = _diagnostics(fitted, classical, n)
    if res is not None and res.weights is not None:  # Cerioli's reweighting, not the fit's
        diag = [(k, v) for k, v in diag if not k.startswith(("rows kept", "consistency factor, "
                                                              "rew", "small-sample factor, rew"))]
        diag.append(("rows kept by the Hardin-Rocke reweighting", int(np.sum(res.weights))))
    parts.append(h.kv([("method", method), ("rows n", n), ("variables p", p), *diag]))

    # -- flagged rows
    parts.append(f"<h2>Flagged rows ({int(flagged.sum())})</h2>")
    if flagged.any():
        idx = np.flatnonzero(flagged)
        idx = idx[np.argsort(-d2[idx], kind="stable")]
        shown = idx[:_MAX_TABLE_ROWS]
        cols = [str(c) for c in df.columns]
        head = ["row", "D", "D²", "p-value", "classical D",
                *(["observed"] if not complete.all() else []), *cols]
        rows = [[lab[i], float(np.sqrt(d2[i])), float(d2[i]), float(pval[i]), float(dc[i])]
                + ([int(k[i])] if not complete.all() else [])
                + [float(v) if np.isfinite(v) else "missing" for v in Xv[i]] for i in shown]
        parts.append("<p>Click a column heading to sort.</p>")
        parts.append(h.table(head, rows, sortable=True, table_id="flagged"))
        if idx.size > shown.size:
            parts.append(f"<p>Showing the {shown.size} most outlying of {idx.size}.</p>")
    else:
        parts.append("<p>No row lies beyond the cutoff.</p>")

    # -- figures
    from .. import plot
    figs = []
    df = df[complete]  # the scatter plots need every coordinate
    if p == 2:
        figs.append(_figure(_svg(lambda f: plot.tolerance_ellipse(
            df, classical=classical, robust=metric if robust else False,
            level=1 - alpha, ax=f.subplots()), (5.2, 4.4), "ellipse", "tolerance ellipses"),
            f"Tolerance ellipses holding {100 * (1 - alpha):g}% of normal data: classical "
            "(dashed)" + (f" and {method} (solid)" if robust else "")
            + "; points outside are labelled.", "ellipse"))
    elif p <= max_pairs:
        figs.append(_figure(_svg(lambda f: plot.ellipse_pairs(
            df, classical=classical, robust=metric if robust else False, alpha=alpha,
            level=1 - alpha, fig=f), (1.75 * p + 0.6, 1.75 * p + 0.6), "pairs",
            "pairs of tolerance ellipses"),
            "Bivariate tolerance ellipses on every pair of variables; red points are flagged "
            "by the full p-variate distance.", "pairs", wide=True))
    figs.append(_figure(_svg(lambda f: plot.qq_plot(
        d2_plot, p, ax=f.subplots(), labels=lab, alpha=alpha), (5.0, 4.4), "qq", "Q-Q plot"),
        "Squared distances against chi-squared quantiles with a 95% simultaneous envelope; "
        "points above it are labelled.", "qq"))
    if robust:
        figs.append(_figure(_svg(lambda f: plot.distance_distance(
            df, classical=classical, robust=metric, alpha=alpha, ax=f.subplots()),
            (5.0, 4.4), "dd", "distance-distance plot"),
            "Robust against classical distances with both cutoffs: points above the "
            "horizontal line are flagged; those also left of the vertical one are masked in "
            "the classical fit.", "dd"))
    figs.append(_figure(_svg(lambda f: plot.index_plot(
        d2_plot, cutoff=cut, ax=f.subplots(), labels=lab), (9.0, 3.4), "index", "index plot"),
        "D² by row with the cutoff.", "index", wide=True))
    parts.append("<h2>Plots</h2>")
    parts.append(f'<div class="figs">{"".join(figs)}</div>')
    if pca is not None:
        from ._pca import pca_section
        parts.append(pca_section(df, pca, alpha, random_state))
    return h.page(title or "Mahalanobis outlier report", "\n".join(parts), __version__)
