"""`mahalanobis test`: Hotelling's T^2 test of a mean vector or of two means."""

from __future__ import annotations

import argparse
import sys
from typing import Any

import numpy as np

from . import _common as cm
from ._io import CLIError, output_format, read_table, select_numeric, write_frame

HELP = "Hotelling's T^2 test: one-sample (--mu), two-sample (--group) or paired"
EPILOG = """\
examples:
  mahalanobis test data.csv --mu 0,0,0                    # one sample: is the mean mu?
  mahalanobis test iris.csv --group Species --columns Sepal.Length,Sepal.Width
  mahalanobis test data.csv --group site --method yao     # unequal covariances
  mahalanobis test data.csv --columns pre1,pre2 --paired-with post1,post2
  mahalanobis test data.csv --group arm --json -o t2.json

Two-sample: the --group column must hold exactly two values; the difference is first group
minus second (in order of appearance). --method pooled (default; equal covariances, exact
under normality), nel_van_der_merwe, krishnamoorthy_yu, yao, johansen or random_projection.
The result row holds T^2 (statistic), the F statistic, its degrees of freedom and the p-value.
"""


def add_parser(sub: Any) -> None:
    p = sub.add_parser("test", help=HELP, description=HELP[:1].upper() + HELP[1:] + ".",
                       epilog=EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("file", help="CSV file with a header row, or - for standard input")
    p.add_argument("--group", default=None,
                   help="column with two group labels: two-sample test")
    p.add_argument("--mu", type=cm.number_list, default=None,
                   help="comma-separated null mean (one-sample) or mean difference "
                        "(default: 0)")
    p.add_argument("--paired-with", type=cm.column_list, default=None,
                   help="second measurement columns, matched to --columns: paired test")
    p.add_argument("--method", default="pooled",
                   help="two-sample procedure (default: pooled; see below)")
    p.add_argument("--random-state", type=int, default=None,
                   help="seed for --method random_projection")
    cm.add_input_options(p)
    cm.add_output_options(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..inference import hotelling_t2
    fmt = output_format(args.output, args.json)
    label = cm.label_of(args.file)
    df = read_table(args.file, id_column=args.id_column)
    kw: dict[str, Any] = {"method": args.method}
    if args.random_state is not None:
        kw["random_state"] = args.random_state
    if args.group is not None:
        if args.paired_with is not None:
            raise CLIError("--group and --paired-with exclude each other; give one.")
        if args.group not in df.columns:
            raise CLIError(f"--group {args.group!r} is not a column of {label}; columns are "
                           f"{', '.join(map(str, df.columns[:12]))}.")
        groups = df[args.group]
        levels = list(dict.fromkeys(groups.dropna().tolist()))
        if len(levels) != 2:
            shown = ", ".join(map(str, levels[:6]))
            raise CLIError(f"--group {args.group!r} must hold exactly 2 groups for a "
                           f"two-sample test; it holds {len(levels)} ({shown}). Select two "
                           "groups first.")
        X = select_numeric(df.drop(columns=[args.group]), args.columns,
                           id_column=args.id_column, label=label)
        a, b = (X[(groups == lv).to_numpy()] for lv in levels)
        kind = f"two-sample ({levels[0]} - {levels[1]})"
        res = hotelling_t2(a, b, mu=args.mu, **kw)
        sizes = f"n1 = {a.shape[0]}, n2 = {b.shape[0]}"
    elif args.paired_with is not None:
        if not args.columns or len(args.columns) != len(args.paired_with):
            raise CLIError("--paired-with needs --columns with as many columns (the first "
                           "measurement of each variable).")
        X = select_numeric(df, args.columns, id_column=args.id_column, label=label)
        Y = select_numeric(df, args.paired_with, id_column=args.id_column, label=label)
        Y.columns = X.columns
        kind = "paired"
        res = hotelling_t2(X, Y, mu=args.mu, paired=True, **kw)
        sizes = f"n = {X.shape[0]}"
    else:
        if args.mu is None:
            raise CLIError("give --mu (one-sample test), --group (two-sample test) or "
                           "--paired-with (paired test).")
        X = select_numeric(df, args.columns, id_column=args.id_column, label=label)
        kind = "one-sample"
        res = hotelling_t2(X, mu=args.mu, **kw)
        sizes = f"n = {X.shape[0]}"
    if args.mu is not None and len(args.mu) != X.shape[1]:  # pragma: no cover - library checks
        raise CLIError(f"--mu has {len(args.mu)} values for {X.shape[1]} columns.")
    pd = sys.modules["pandas"]
    table = res.to_frame()
    table.insert(0, "p", res.p)
    table.index = pd.Index([kind], name="test")
    write_frame(table, args.output, fmt)
    est = np.asarray(res.estimate)
    names = [str(c) for c in X.columns]
    diff = ", ".join(f"{n} {v:+.4g}" for n, v in zip(names[:8], est[:8]))
    cm.say(args, f"{label}: Hotelling T² {kind}, {sizes}, p = {res.p}: T² = "
                 f"{res.statistic:.4g}, F = {res.f_statistic:.4g} on ({res.df[0]:.4g}, "
                 f"{res.df[1]:.4g}) df, p-value = {res.pvalue:.4g}; estimate: {diff}")
    if args.output not in (None, "-"):
        cm.say(args, f"wrote {args.output}")
    return 0
