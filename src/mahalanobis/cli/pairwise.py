"""`mahalanobis pairwise`: the matrix of Mahalanobis distances between rows."""

from __future__ import annotations

import argparse
import sys
from typing import Any

import numpy as np

from ..covariance import available_methods
from ..distance import pairwise
from . import _common as cm
from ._io import CLIError, output_format, write_frame

HELP = "all pairwise Mahalanobis distances between the rows of one or two tables"
EPILOG = """\
examples:
  mahalanobis pairwise data.csv --id-column name -o dist.csv
  mahalanobis pairwise A.csv B.csv --squared
  mahalanobis pairwise data.csv --cov S.csv --long --json
  mahalanobis pairwise data.csv --method mcd --random-state 0 > dist.csv

The scatter is the covariance of the first table (estimated by --method), or the matrix
given by --cov/--precision (.csv, .npy or .json). The result is an nA x nB matrix with the
row labels of both tables, or with --long one row per pair (row, col, distance).
"""

MAX_CELLS = 50_000_000


def add_parser(sub: Any) -> None:
    p = sub.add_parser("pairwise", help=HELP, description=HELP[:1].upper() + HELP[1:] + ".",
                       epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("file", help="CSV file (header row), or - for standard input")
    p.add_argument("other", nargs="?", default=None,
                   help="second CSV file: distances from rows of FILE to rows of OTHER")
    p.add_argument("--method", default="empirical", choices=available_methods(),
                   help="estimator of the scatter, fitted on FILE (default: empirical)")
    p.add_argument("--random-state", type=int, default=None, help="seed for mcd and the like")
    p.add_argument("--cov", default=None, help="file holding the p x p covariance")
    p.add_argument("--precision", default=None, help="file holding the p x p precision")
    p.add_argument("--squared", action="store_true", help="squared distances D^2")
    p.add_argument("--long", action="store_true", help="one row per pair instead of a matrix")
    cm.add_input_options(p)
    cm.add_output_options(p, "matrix")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    fmt = output_format(args.output, args.json)
    cm.check_stdin_once(args.file, args.other)
    A = cm.load(args.file, args)
    cm.check_complete(A, cm.label_of(args.file))
    B = None
    if args.other is not None:
        B = cm.load(args.other, args, columns=[str(c) for c in A.columns])
        cm.check_complete(B, cm.label_of(args.other))
    nB = A.shape[0] if B is None else B.shape[0]
    if A.shape[0] * nB > MAX_CELLS:
        raise CLIError(f"{A.shape[0]} x {nB} distances is more than {MAX_CELLS:,}; split the "
                       "input or use the library (mahalanobis.pairwise) chunk by chunk.")
    if args.cov is not None and args.precision is not None:
        raise CLIError("give --cov or --precision, not both.")
    p = A.shape[1]
    kw: dict[str, Any] = {}
    for key in ("cov", "precision"):
        path = getattr(args, key)
        if path is not None:
            S = cm.read_matrix(path, f"--{key}", key)
            if S.shape != (p, p):
                raise CLIError(f"--{key} {path}: expected a {p} x {p} matrix for the {p} "
                               f"columns; got shape {S.shape}.")
            kw[key] = S
    how = f"--{next(iter(kw))}" if kw else f"method {args.method} on {cm.label_of(args.file)}"
    if not kw:
        kw["cov"] = np.asarray(cm.fit_metric(A, args.method, random_state=args.random_state,
                                             args=args).cov)
    # C order: DataFrame.to_numpy() is often Fortran-ordered, which mahalanobis.pairwise
    # mishandled when this was written (reported to the lead)
    XA = np.ascontiguousarray(A.to_numpy(dtype=float))
    XB = XA if B is None else np.ascontiguousarray(B.to_numpy(dtype=float))
    D = np.empty((XA.shape[0], XB.shape[0]))
    step = max(1, 2_000_000 // max(XB.shape[0], 1))
    n = XA.shape[0]
    with cm.progress_bar(args, n, "pairwise") as bar:
        if B is None and step >= n:   # one block: exactly symmetric with a zero diagonal
            D[:] = pairwise(XA, None, squared=args.squared, **kw)
            bar.update(n)
        else:
            for s in range(0, n, step):
                D[s:s + step] = pairwise(XA[s:s + step], XB, squared=args.squared, **kw)
                bar.update(min(step, n - s))
    pd = sys.modules["pandas"]
    cols = A.index if B is None else B.index
    res = pd.DataFrame(D, index=A.index, columns=cols)
    name = "d2" if args.squared else "distance"
    if args.long:
        res = res.rename_axis(index="row", columns="col").stack().rename(name).reset_index()
        res = res.set_index("row")
    write_frame(res, args.output, fmt)
    cm.say(args, f"{D.shape[0]} x {D.shape[1]} {'squared ' if args.squared else ''}distances, "
                 f"scatter from {how}")
    if args.output not in (None, "-"):
        cm.say(args, f"wrote {args.output}")
    return 0
