"""`mahalanobis report`: a self-contained HTML report of a table's outliers."""

from __future__ import annotations

import argparse
from typing import Any

from ..covariance import available_methods
from . import _common as cm
from ._io import CLIError, atomic_write, read_table

HELP = "write a self-contained HTML report of the outliers of a CSV table"
EPILOG = """\
examples:
  mahalanobis report data.csv -o report.html
  mahalanobis report hbk.csv --method mcd --alpha 0.01 -o hbk.html
  mahalanobis report swiss.csv --id-column id --title "Swiss provinces" -o swiss.html
  cat data.csv | mahalanobis report - > report.html

The page holds a data summary, the method and cutoff used and why, diagnostics (condition
number; h and the consistency factors for MCD), a sortable table of the flagged rows, and
the plots (tolerance ellipses, Q-Q, distance-distance, index). It loads nothing from the
network; figures are inline SVG. Non-numeric columns are left out and listed. Rows with
missing (empty) cells are kept and judged on their observed coordinates (--missing em, the
default, or marginal: see 'mahalanobis outliers --help'), with a column 'observed' in the
table of flagged rows; --missing omit leaves them out and lists them. Needs
mahalanobis[plot].
"""

CUTOFFS = ("auto", "chi2", "beta", "f", "hardin_rocke", "cerioli")


def add_parser(sub: Any) -> None:
    p = sub.add_parser("report", help=HELP, description=HELP[:1].upper() + HELP[1:] + ".",
                       epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("file", help="CSV file with a header row, or - for standard input")
    p.add_argument("-o", "--output", default=None,
                   help="HTML file to write (default: standard output)")
    add_report_options(p, default_method="mcd" if "mcd" in available_methods()
                       else "empirical")
    p.add_argument("--missing", choices=("em", "marginal", "omit"), default="em",
                   help="rows with missing cells (default: em; see above)")
    p.add_argument("--title", default=None, help="heading of the report")
    cm.add_input_options(p)
    p.add_argument("-q", "--quiet", action="store_true", help="print no summary")
    cm.add_progress_option(p)
    p.set_defaults(run=run)


def add_report_options(p: argparse.ArgumentParser, *, default_method: str) -> None:
    p.add_argument("--method", default=default_method, choices=available_methods(),
                   help=f"scatter estimator (default: {default_method})")
    p.add_argument("--alpha", type=float, default=0.025,
                   help="significance level of the cutoff (default: 0.025)")
    p.add_argument("--cutoff", default="auto", choices=CUTOFFS,
                   help="reference distribution of the cutoff (default: auto, the calibrated "
                        "rule of mahalanobis.outliers)")
    p.add_argument("--level", default="individual", choices=("individual", "simultaneous"),
                   help="alpha per row (default) or family-wise over all rows (Sidak)")
    p.add_argument("--random-state", type=int, default=0,
                   help="seed for randomised estimators (default: 0, reproducible)")
    p.add_argument("--pca", type=int, default=None, metavar="K",
                   help="add a robust PCA section with K components (the outlier map)")


def write_html(text: str, path: str | None) -> None:
    import sys
    if path in (None, "-"):
        sys.stdout.write(text)
        sys.stdout.flush()
    else:
        if not path.lower().endswith((".html", ".htm")):
            raise CLIError(f"-o {path}: the report is HTML; name the file .html.")
        atomic_write(path, lambda fh: fh.write(text))


def run(args: argparse.Namespace) -> int:
    from ..report import build_report
    if not 0 < args.alpha < 1:
        raise CLIError(f"--alpha must lie in (0, 1); got {args.alpha}.")
    if args.output not in (None, "-") and not args.output.lower().endswith((".html", ".htm")):
        raise CLIError(f"-o {args.output}: the report is HTML; name the file .html.")
    df = read_table(args.file, id_column=args.id_column)
    label = cm.label_of(args.file)
    text = build_report(df, method=args.method, alpha=args.alpha, cutoff_method=args.cutoff,
                        level=args.level,
                        columns=args.columns, title=args.title, source=label,
                        random_state=args.random_state, pca=args.pca, missing=args.missing)
    write_html(text, args.output)
    if args.output not in (None, "-"):
        cm.say(args, f"wrote {args.output} ({len(text) // 1024} KiB)")
    return 0
