"""`mahalanobis distance`: distances of the rows of a table to a centre and scatter given as
files, or to a reference data set (MATLAB's mahal(Y, X))."""

from __future__ import annotations

import argparse
import sys
from typing import Any

import numpy as np
from scipy import stats

from ..covariance import available_methods
from ..metric import Metric
from . import _common as cm
from ._io import CLIError, output_format, write_frame

HELP = "distances of rows to a centre and covariance, or to a reference data set"
EPILOG = """\
examples:
  mahalanobis distance Y.csv --reference X.csv            # like MATLAB mahal(Y, X)
  mahalanobis distance Y.csv --reference X.csv --method mcd --random-state 1
  mahalanobis distance Y.csv --center m.csv --cov S.csv -o d.csv
  mahalanobis distance Y.csv --center fit.json --cov fit.json   # {"center": [...], "cov": [[...]]}
  mahalanobis distance Y.csv --center m.npy --precision P.npy --json
  cat Y.csv | mahalanobis distance - --reference X.csv > d.csv

Centre and covariance files are .csv (one row or column of numbers; a p x p matrix; an
optional header row is ignored), .npy, or .json (a list, or an object with "center", "cov" or
"precision"). With --reference the centre and scatter are estimated from that table's columns
(the same names as in the input). The result has one row per input row: distance D, squared
distance d2 and the chi-squared p-value (p degrees of freedom).
"""


def add_parser(sub: Any) -> None:
    p = sub.add_parser("distance", help=HELP, description=HELP[:1].upper() + HELP[1:] + ".",
                       epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("file", help="CSV file of points (header row), or - for standard input")
    src = p.add_argument_group("the metric (give --reference, or --center with --cov or "
                               "--precision)")
    src.add_argument("--reference", default=None,
                     help="CSV table to estimate the centre and covariance from")
    src.add_argument("--method", default="empirical", choices=available_methods(),
                     help="estimator used on --reference (default: empirical)")
    src.add_argument("--random-state", type=int, default=None,
                     help="seed for randomised estimators (e.g. mcd)")
    src.add_argument("--center", default=None, help="file holding the centre (p values)")
    src.add_argument("--cov", default=None, help="file holding the p x p covariance")
    src.add_argument("--precision", default=None,
                     help="file holding the p x p precision (inverse covariance)")
    cm.add_input_options(p)
    cm.add_output_options(p)
    p.set_defaults(run=run)


def _metric(args: argparse.Namespace, columns: list[str]) -> tuple[Any, str, Any]:
    """The metric, a description, and the columns of the input to use."""
    given = [o for o in ("center", "cov", "precision") if getattr(args, o) is not None]
    if args.reference is not None:
        if given:
            raise CLIError(f"give either --reference or --{given[0]}, not both.")
        cm.check_stdin_once(args.file, args.reference)
        ref = cm.load(args.reference, args)
        cm.check_complete(ref, cm.label_of(args.reference))
        metric = cm.fit_metric(ref, args.method, random_state=args.random_state, args=args)
        return metric, (f"reference {cm.label_of(args.reference)} ({ref.shape[0]} rows, "
                        f"method {args.method})"), [str(c) for c in ref.columns]
    if args.center is None or (args.cov is None) == (args.precision is None):
        raise CLIError("give --reference FILE, or --center FILE with exactly one of --cov FILE "
                       "and --precision FILE.")
    center = cm.read_matrix(args.center, "--center", "center")
    if center.ndim == 2 and 1 in center.shape:
        center = center.ravel()
    if center.ndim != 1:
        raise CLIError(f"--center {args.center}: expected p numbers, got shape {center.shape}.")
    key = "cov" if args.cov is not None else "precision"
    path = args.cov if args.cov is not None else args.precision
    S = cm.read_matrix(path, f"--{key}", key)
    if S.ndim != 2 or S.shape != (center.size, center.size):
        raise CLIError(f"--{key} {path}: expected a {center.size} x {center.size} matrix "
                       f"(the centre has {center.size} values); got shape {S.shape}.")
    metric = (Metric(center, S) if key == "cov" else Metric.from_precision(center, S))
    return metric, f"centre {args.center} and {key} {path}", None


def run(args: argparse.Namespace) -> int:
    fmt = output_format(args.output, args.json)
    df = cm.load(args.file, args)
    label = cm.label_of(args.file)
    metric, what, ref_cols = _metric(args, [str(c) for c in df.columns])
    if ref_cols is not None and args.columns is None:
        missing = [c for c in ref_cols if c not in map(str, df.columns)]
        if missing:
            raise CLIError(f"{label} lacks column(s) {', '.join(map(repr, missing[:5]))} of "
                           "the reference; give both tables the same columns (or --columns).")
        df = df[ref_cols]
    if df.shape[1] != metric.n_features:
        raise CLIError(f"{label} has {df.shape[1]} columns but the metric has "
                       f"{metric.n_features}; choose the columns with --columns.")
    cm.check_complete(df, label)
    d2 = cm.chunked_distance(metric, df.to_numpy(dtype=float), args)
    pd = sys.modules["pandas"]
    res = pd.DataFrame(index=df.index)
    res["distance"] = np.sqrt(d2)
    res["d2"] = d2
    res["pvalue"] = stats.chi2.sf(d2, metric.n_features)
    write_frame(res, args.output, fmt)
    cm.say(args, f"{label}: {df.shape[0]} rows x {df.shape[1]} columns scored against {what}; "
                 f"largest distance {np.sqrt(d2.max()):.4g} (row {df.index[int(d2.argmax())]})")
    if args.output not in (None, "-"):
        cm.say(args, f"wrote {args.output}")
    return 0
