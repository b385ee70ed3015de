"""`mahalanobis outliers`: flag the outlying rows of a table."""

from __future__ import annotations

import argparse
import sys
from typing import Any

import numpy as np
from scipy import stats

from ..covariance import available_methods
from ._common import add_progress_option, fit_metric, positive_int, progress_enabled
from ._io import (
    CLIError,
    atomic_write,
    output_format,
    read_table,
    select_numeric,
    stage_output,
    write_frame,
)

CUTOFFS = ("auto", "chi2", "beta", "f", "hardin_rocke", "cerioli")
HELP = "flag outlying rows of a CSV table by their Mahalanobis distance"
EPILOG = """\
examples:
  mahalanobis outliers data.csv
  mahalanobis outliers data.csv --id-column name --method mcd -o result.csv
  mahalanobis outliers data.csv --columns x1,x2,x3 --alpha 0.01 --json
  mahalanobis outliers data.csv --method mcd --level simultaneous --alpha 0.05
  mahalanobis outliers data.csv --method mcd --cutoff chi2     # robustbase's rule
  cat data.csv | mahalanobis outliers - --top 5 > result.csv
  mahalanobis outliers data.csv --method mcd -o result.csv --report report.html
  mahalanobis outliers 'big/*.csv' --dask local --method mcd -o result.parquet

The result has one row per input row: distance D, squared distance d2, p-value, the
outlier flag (d2 above the cutoff) and the rank by distance. --cutoff auto (default) is the
calibrated rule of mahalanobis.outliers(): the exact Beta law of in-sample distances for
--method empirical, Cerioli's (2010) reweighted MCD for --method mcd, a seeded Monte Carlo
calibration (cached) for other estimators, so that about alpha of clean rows are flagged at
the n and p in hand; --level simultaneous makes alpha the chance of flagging any clean row.
--cutoff chi2 is the asymptotic rule (robustbase's default), which flags more.
Without -o the result goes to standard output and the summary to standard error.
--report also writes the HTML report of 'mahalanobis report' (same method, cutoff,
level, alpha and seed; needs mahalanobis[plot]).
The last column, n_observed, is the number of coordinates the row was judged on.

Rows with missing (empty) cells are kept by default and judged on their observed
coordinates: the column n_observed says on how many. With --cutoff auto the p-value and
cutoff are those of mahalanobis.outliers(nan_policy=...) on that number (for --method mcd,
Cerioli's laws at each row's observed count); --cutoff chi2 uses the chi-squared law on
that number. --missing em (default) fits with the
missing cells (EM for --method empirical/em, the MCD with EM in its C-steps for mcd);
--missing marginal fits on the complete rows, then judges every row on its observed
coordinates; --missing omit (or --nan-policy omit) skips incomplete rows; --nan-policy raise
stops with an error.

--dask SCHEDULER|local processes data larger than memory with dask (mahalanobis[dask]):
'local' starts a cluster on this machine, anything else is a scheduler address. FILE may
then be a glob of CSV files or a Parquet file or folder; -o is required and may name a
.csv file, a .parquet folder or a folder of CSV parts; the result has no rank column
(that would need a global sort) and methods are empirical or mcd.
"""


_MISSING = ("em", "marginal", "omit")
#: methods that fit with missing cells (--missing em)
_EM_METHODS = ("empirical", "em", "mcd")


def add_parser(sub: Any) -> None:
    p = sub.add_parser("outliers", help=HELP, description=HELP[:1].upper() + HELP[1:] + ".",
                       epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("file", help="CSV file with a header row, or - for standard input")
    p.add_argument("--columns", type=_column_list, default=None,
                   help="comma-separated analysis columns (default: all but --id-column)")
    p.add_argument("--id-column", default=None, help="column holding row labels")
    p.add_argument("--method", default="empirical", choices=available_methods(),
                   help="scatter estimator (default: empirical)")
    p.add_argument("--alpha", type=float, default=0.025,
                   help="significance level of the cutoff (default: 0.025)")
    p.add_argument("--cutoff", default="auto", choices=CUTOFFS,
                   help="reference law of the cutoff (default: auto, calibrated; see below)")
    p.add_argument("--level", default="individual", choices=("individual", "simultaneous"),
                   help="alpha per row (default) or family-wise over all rows (Sidak)")
    p.add_argument("--missing", choices=_MISSING, default=None,
                   help="rows with missing cells (see below; default: em)")
    p.add_argument("--nan-policy", choices=("raise", "omit"), default=None,
                   help="rows with missing values: stop with an error or skip them "
                        "(overrides --missing)")
    p.add_argument("--random-state", type=int, default=None,
                   help="seed for randomised estimators (e.g. mcd)")
    p.add_argument("-o", "--output", default=None,
                   help="result file, .csv, .tsv or .json (default: standard output)")
    p.add_argument("--json", action="store_true", help="write the result as JSON")
    p.add_argument("--top", type=positive_int, default=10,
                   help="rows shown in the printed table (default: 10)")
    p.add_argument("-q", "--quiet", action="store_true", help="print no table or summary")
    p.add_argument("--report", default=None, metavar="FILE.html",
                   help="also write a self-contained HTML report to this file")
    p.add_argument("--pca", type=int, default=None, metavar="K",
                   help="with --report: add a robust PCA section with K components")
    p.add_argument("--dask", default=None, metavar="SCHEDULER",
                   help="process with dask: 'local' or a scheduler address (see below)")
    add_progress_option(p)
    p.set_defaults(run=run)


def _column_list(text: str) -> list[str]:
    cols = [c.strip() for c in text.split(",") if c.strip()]
    if not cols:
        raise argparse.ArgumentTypeError("expected comma-separated column names")
    return cols


def resolve_missing(missing: str | None, nan_policy: str | None) -> str:
    """The policy for missing cells: --nan-policy (raise/omit) wins, else --missing, else em."""
    if nan_policy is not None:
        return nan_policy
    return missing or "em"


def _fit_missing(X: Any, method: str, policy: str, complete: np.ndarray,
                 random_state: int | None, args: argparse.Namespace | None) -> Any:
    """The metric for data with missing cells: fitted with them (em) or on the complete rows
    (marginal)."""
    if policy == "marginal":
        if complete.sum() <= X.shape[1] + 1:
            raise CLIError(f"--missing marginal fits on the complete rows, and only "
                           f"{int(complete.sum())} are complete; use --missing em.")
        return fit_metric(X[complete], method, random_state=random_state, args=args)
    return fit_metric(X.to_numpy(dtype=float, na_value=np.nan), method,
                      random_state=random_state, args=args, nan_policy="em")


def analyse(df: Any, *, method: str, alpha: float, random_state: int | None,
            nan_policy: str | None, args: argparse.Namespace | None = None,
            missing: str | None = None, cutoff: str = "auto",
            level: str = "individual") -> tuple[Any, dict[str, Any]]:
    """Fit, score and flag; the result table (input order) and a summary record."""
    pd = sys.modules["pandas"]
    if not 0 < alpha < 1:
        raise CLIError(f"--alpha must lie in (0, 1); got {alpha}.")
    policy = resolve_missing(missing, nan_policy)
    X = df
    values = X.to_numpy(dtype=float, na_value=np.nan)
    finite = np.isfinite(values).all(axis=1)
    if np.isinf(values).any():
        bad = list(X.index[np.isinf(values).any(axis=1)][:5])
        raise CLIError(f"rows {bad} have infinite values; replace them by numbers or leave "
                       "the cells empty (missing).")
    p = X.shape[1]
    if not finite.all() and policy in ("em", "marginal"):
        empty = np.isnan(values).all(axis=1)
        X = X[~empty]  # rows with nothing observed cannot be judged
        if cutoff not in ("auto", "chi2"):
            raise CLIError(f"--cutoff {cutoff} needs complete rows; rows with missing cells "
                           "are judged on their observed count (--cutoff auto or chi2), or "
                           "skip them with --missing omit.")
        n = int(X.shape[0])
        if policy == "em" and method not in _EM_METHODS:
            raise CLIError(f"--missing em fits with missing cells for --method empirical, em "
                           f"or mcd, not {method}; use --missing marginal (fit {method} on "
                           "the complete rows, judge every row on its observed cells) or omit.")
        if cutoff == "auto":  # the calibrated laws of mahalanobis.outliers on each row's count
            from ..inference import outliers
            progress = args is not None and progress_enabled(args)
            try:
                out = outliers(X, method=method, alpha=alpha, level=level,
                               random_state=random_state, progress=progress,
                               nan_policy=policy)
            except ValueError as exc:
                raise CLIError(str(exc)) from None
            metric, d2 = out.metric, np.asarray(out.d2, dtype=float)
            k = np.asarray(out.n_observed, dtype=int)
            pval, cut, words = np.asarray(out.pvalue), np.asarray(out.cutoff), out.reference
            full = k == p
            cut_complete = float(np.max(cut[full] if full.any() else cut))
        else:  # --cutoff chi2: chi-squared on each row's observed count
            metric = _fit_missing(X, method, policy, finite[~empty], random_state, args)
            d2, k = metric.distance(X.to_numpy(dtype=float, na_value=np.nan), squared=True,
                                    nan_policy="marginal", return_counts=True)
            d2, k = np.asarray(d2, dtype=float), np.asarray(k, dtype=int)
            sidak = level == "simultaneous"
            a_row = float(-np.expm1(np.log1p(-alpha) / n)) if sidak else alpha
            cut = stats.chi2.isf(a_row, k)
            pval = stats.chi2.sf(d2, k)
            words = "chi-squared on each row's observed count"
            cut_complete = float(stats.chi2.isf(a_row, p))
    else:
        if not finite.all():
            bad = list(X.index[~finite][:5])
            if policy == "raise":
                raise CLIError(f"{int((~finite).sum())} row(s) have missing values (rows "
                               f"{bad}); pass --missing em or marginal to judge them on their "
                               "observed cells, or --missing omit to skip them.")
            X = X[finite]
        n = int(X.shape[0])
        k = np.full(n, p)
        if cutoff == "auto":
            from ..inference import outliers
            progress = args is not None and progress_enabled(args)
            try:
                out = outliers(X, method=method, alpha=alpha, level=level,
                               random_state=random_state, progress=progress)
            except ValueError as exc:
                raise CLIError(str(exc)) from None
            metric, d2 = out.metric, np.asarray(out.d2, dtype=float)
            pval, cut, words = np.asarray(out.pvalue), out.cutoff, out.reference
        else:
            from ..inference import cutoff as calibrated_cutoff
            from ..inference import pvalue as reference_pvalue
            metric = fit_metric(X, method, random_state=random_state, args=args)
            d2 = np.asarray(metric.distance(X, squared=True), dtype=float)
            h = None
            if cutoff == "hardin_rocke":
                h = getattr(metric, "h", None)
            elif cutoff == "cerioli":  # m: the rows kept by the reweighting (as the detector)
                w = getattr(metric, "weights", None)
                h = None if w is None else int(np.sum(w))
            if cutoff in ("hardin_rocke", "cerioli") and h is None:
                raise CLIError(f"--cutoff {cutoff} is for --method mcd (it needs the MCD "
                               "subset/reweighting); use --cutoff auto.")
            try:
                cut = np.asarray(calibrated_cutoff(p, alpha, method=cutoff, n=n, h=h,
                                                   multiplicity="sidak" if level == "simultaneous"
                                                   else None))
                pval = np.asarray(reference_pvalue(d2, p, method=cutoff, n=n, h=h))
            except ValueError as exc:
                raise CLIError(str(exc)) from None
            words = {"chi2": "chi-squared, {p} df", "beta": "Beta, in-sample, n={n}",
                     "f": "F, new point, n={n}", "hardin_rocke": "Hardin-Rocke F, h={h}",
                     "cerioli": "Cerioli Beta, m={h}"}[cutoff].format(p=p, n=n, h=h)
    res = pd.DataFrame(index=X.index)
    res["distance"] = np.sqrt(d2)
    res["d2"] = d2
    res["pvalue"] = pval
    res["outlier"] = d2 > cut
    res["rank"] = pd.Series(d2, index=X.index).rank(ascending=False, method="min").astype(int)
    res["n_observed"] = k
    cut_arr = np.asarray(cut, dtype=float)
    if (k == p).all():
        cut_lo, cut_hi = float(cut_arr.min()), float(cut_arr.max())
    else:  # the cutoff of a complete row (rows on fewer coordinates have their own)
        cut_lo = cut_hi = cut_complete
    summary = {"method": method, "n_rows": int(df.shape[0]), "n_used": int(n),
               "n_features": p, "alpha": alpha, "level": level, "cutoff": cutoff,
               "cutoff_d2": cut_lo, "cutoff_d2_max": cut_hi,
               "reference": words, "n_outliers": int(res["outlier"].sum()), "metric": metric,
               "n_incomplete": int((k < p).sum()), "missing": policy}
    return res, summary


def format_table(res: Any, top: int) -> str:
    shown = res.sort_values("d2", ascending=False).head(max(top, 0))
    lines = []
    label_w = max([len("row")] + [len(str(i)) for i in shown.index])
    lines.append(f"{'row':<{label_w}}  {'distance':>9}  {'d2':>10}  {'p-value':>9}  outlier")
    for idx, r in shown.iterrows():
        flag = "yes" if r["outlier"] else ""
        lines.append(f"{idx!s:<{label_w}}  {r['distance']:9.3f}  {r['d2']:10.3f}  "
                     f"{r['pvalue']:9.2e}  {flag}")
    return "\n".join(lines)


def format_summary(s: dict[str, Any], label: str) -> str:
    dropped = s["n_rows"] - s["n_used"]
    drop = f" ({dropped} skipped for missing values)" if dropped else ""
    if s.get("n_incomplete"):
        drop += (f" ({s['n_incomplete']} with missing cells judged on their observed "
                 f"coordinates, --missing {s['missing']})")
    pct = 100.0 * s["n_outliers"] / max(s["n_used"], 1)
    cut = f"{s['cutoff_d2']:.3f}"
    if s.get("cutoff_d2_max", s["cutoff_d2"]) > s["cutoff_d2"]:
        cut += f" (rows in the estimate; {s['cutoff_d2_max']:.3f} for the others)"
    ref = s.get("reference", f"chi-squared, {s['n_features']} df")
    lvl = ", family-wise" if s.get("level") == "simultaneous" else ""
    return (f"{label}: {s['n_used']} rows{drop} x {s['n_features']} columns, method "
            f"{s['method']}; cutoff d2 > {cut} ({ref}; alpha {s['alpha']:g}{lvl}); "
            f"{s['n_outliers']} outlier(s) ({pct:.1f}%)")


def run_dask(args: argparse.Namespace) -> int:
    """`outliers --dask`: the same analysis on a dask cluster, for data beyond memory."""
    if args.output in (None, "-"):
        raise CLIError("--dask needs -o/--output (a .csv file, a .parquet folder or a folder "
                       "for CSV parts): results of that size do not go to standard output.")
    if args.report is not None or args.json:
        raise CLIError("--report and --json are not available with --dask.")
    if args.cutoff not in ("auto", "chi2") or args.level != "individual":
        raise CLIError("--dask judges rows by the chi-squared cutoff at each row's level; "
                       "--cutoff and --level are for in-memory data.")
    if args.method not in ("empirical", "mcd"):
        raise CLIError(f"--method {args.method} is not available with --dask; use empirical "
                       "or mcd.")
    if args.missing in ("em", "marginal"):
        raise CLIError(f"--missing {args.missing} is not available with --dask; use --missing "
                       "omit (or --nan-policy omit/raise).")
    nan_policy = args.nan_policy or ("omit" if args.missing == "omit" else "raise")
    try:
        from .._dask._io import outliers_dask
    except ImportError as exc:
        raise CLIError(f"--dask needs the dask extra: pip install 'mahalanobis[dask]' ({exc}).") \
            from None
    summary = outliers_dask(args.file, scheduler=args.dask, columns=args.columns,
                            id_column=args.id_column, method=args.method, alpha=args.alpha,
                            output=args.output, nan_policy=nan_policy,
                            random_state=args.random_state, stage=stage_output)
    if not args.quiet:
        print(format_summary(summary, args.file))
        print(f"wrote {args.output}")
    return 0


def _report_missing(missing: str | None, nan_policy: str | None) -> str:
    policy = resolve_missing(missing, nan_policy)
    return "omit" if policy == "raise" else policy


def run(args: argparse.Namespace) -> int:
    if args.dask is not None:
        return run_dask(args)
    df = read_table(args.file, id_column=args.id_column)
    label = "standard input" if args.file == "-" else args.file
    X = select_numeric(df, args.columns, id_column=args.id_column, label=label)
    fmt = output_format(args.output, args.json)
    if args.report is not None and not args.report.lower().endswith((".html", ".htm")):
        raise CLIError(f"--report {args.report}: the report is HTML; name the file .html.")
    res, summary = analyse(X, method=args.method, alpha=args.alpha,
                           random_state=args.random_state, nan_policy=args.nan_policy,
                           args=args, missing=args.missing, cutoff=args.cutoff,
                           level=args.level)
    html = None
    if args.report is not None:  # built before anything is written: no partial outputs
        from ..report import build_report
        html = build_report(X, method=args.method, alpha=args.alpha, source=label,
                            random_state=args.random_state if args.random_state is not None
                            else 0, pca=args.pca, cutoff_method=args.cutoff,
                            level=args.level,
                            missing=_report_missing(args.missing, args.nan_policy))
    to_stdout = args.output in (None, "-")
    write_frame(res, args.output, fmt)
    if html is not None:
        atomic_write(args.report, lambda fh: fh.write(html))
    if not args.quiet:
        stream = sys.stderr if to_stdout else sys.stdout
        print(format_table(res, args.top), file=stream)
        print(format_summary(summary, label), file=stream)
        if not to_stdout:
            print(f"wrote {args.output}", file=stream)
        if html is not None:
            print(f"wrote {args.report}", file=stream)
    return 0
