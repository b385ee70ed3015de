"""`mahalanobis outliers`: flag the outlying rows of a table."""

from __future__ import annotations

import argparse
import sys
from typing import Any

import numpy as np
from scipy import stats

from ..covariance import available_methods
from ._common import add_progress_option, fit_metric, positive_int
from ._io import (
    CLIError,
    atomic_write,
    output_format,
    read_table,
    select_numeric,
    write_frame,
)

HELP = "flag outlying rows of a CSV table by their Mahalanobis distance"
EPILOG = """\
examples:
  mahalanobis outliers data.csv
  mahalanobis outliers data.csv --id-column name --method mcd -o result.csv
  mahalanobis outliers data.csv --columns x1,x2,x3 --alpha 0.01 --json
  cat data.csv | mahalanobis outliers - --top 5 > result.csv
  mahalanobis outliers data.csv --method mcd -o result.csv --report report.html
  mahalanobis outliers 'big/*.csv' --dask local --method mcd -o result.parquet

The result has one row per input row: distance D, squared distance d2, chi-squared
p-value, the outlier flag (p-value < alpha, i.e. d2 above the chi-squared cutoff) and the
rank by distance. Without -o the result goes to standard output and the summary to
standard error. --report also writes the HTML report of 'mahalanobis report' (same method,
alpha and seed; needs mahalanobis[plot]).

--dask SCHEDULER|local processes data larger than memory with dask (mahalanobis[dask]):
'local' starts a cluster on this machine, anything else is a scheduler address. FILE may
then be a glob of CSV files or a Parquet file or folder; -o is required and may name a
.csv file, a .parquet folder or a folder of CSV parts; the result has no rank column
(that would need a global sort) and methods are empirical or mcd.
"""


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
                   help="significance level of the chi-squared cutoff (default: 0.025)")
    p.add_argument("--nan-policy", choices=("raise", "omit"), default="raise",
                   help="rows with missing values: stop with an error (default) or skip them")
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


def analyse(df: Any, *, method: str, alpha: float, random_state: int | None,
            nan_policy: str, args: argparse.Namespace | None = None
            ) -> tuple[Any, dict[str, Any]]:
    """Fit, score and flag; the result table (input order) and a summary record."""
    pd = sys.modules["pandas"]
    if not 0 < alpha < 1:
        raise CLIError(f"--alpha must lie in (0, 1); got {alpha}.")
    X = df
    finite = np.isfinite(X.to_numpy(dtype=float, na_value=np.nan)).all(axis=1)
    if not finite.all():
        bad = list(X.index[~finite][:5])
        if nan_policy == "raise":
            raise CLIError(f"{int((~finite).sum())} row(s) have missing or infinite values "
                           f"(rows {bad}); pass --nan-policy omit to skip them.")
        X = X[finite]
    metric = fit_metric(X, method, random_state=random_state, args=args)
    d2 = np.asarray(metric.distance(X, squared=True), dtype=float)
    p = X.shape[1]
    cutoff = float(stats.chi2.isf(alpha, p))
    res = pd.DataFrame(index=X.index)
    res["distance"] = np.sqrt(d2)
    res["d2"] = d2
    res["pvalue"] = stats.chi2.sf(d2, p)
    res["outlier"] = d2 > cutoff
    res["rank"] = pd.Series(d2, index=X.index).rank(ascending=False, method="min").astype(int)
    summary = {"method": method, "n_rows": int(df.shape[0]), "n_used": int(X.shape[0]),
               "n_features": p, "alpha": alpha, "cutoff_d2": cutoff,
               "n_outliers": int(res["outlier"].sum()), "metric": metric}
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
    pct = 100.0 * s["n_outliers"] / max(s["n_used"], 1)
    return (f"{label}: {s['n_used']} rows{drop} x {s['n_features']} columns, method "
            f"{s['method']}; cutoff d2 > {s['cutoff_d2']:.3f} (chi-squared, "
            f"{s['n_features']} df, alpha {s['alpha']:g}); {s['n_outliers']} outlier(s) "
            f"({pct:.1f}%)")


def run_dask(args: argparse.Namespace) -> int:
    """`outliers --dask`: the same analysis on a dask cluster, for data beyond memory."""
    if args.output in (None, "-"):
        raise CLIError("--dask needs -o/--output (a .csv file, a .parquet folder or a folder "
                       "for CSV parts): results of that size do not go to standard output.")
    if args.report is not None or args.json:
        raise CLIError("--report and --json are not available with --dask.")
    if args.method not in ("empirical", "mcd"):
        raise CLIError(f"--method {args.method} is not available with --dask; use empirical "
                       "or mcd.")
    try:
        from .._dask._io import outliers_dask
    except ImportError as exc:
        raise CLIError(f"--dask needs the dask extra: pip install 'mahalanobis[dask]' ({exc}).") \
            from None
    summary = outliers_dask(args.file, scheduler=args.dask, columns=args.columns,
                            id_column=args.id_column, method=args.method, alpha=args.alpha,
                            output=args.output, nan_policy=args.nan_policy,
                            random_state=args.random_state)
    if not args.quiet:
        print(format_summary(summary, args.file))
        print(f"wrote {args.output}")
    return 0


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
                           args=args)
    html = None
    if args.report is not None:  # built before anything is written: no partial outputs
        from ..report import build_report
        html = build_report(X, method=args.method, alpha=args.alpha, source=label,
                            random_state=args.random_state if args.random_state is not None
                            else 0, pca=args.pca)
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
