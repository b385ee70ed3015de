"""`mahalanobis pca`: robust (or classical) PCA with score and orthogonal distances."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from . import _common as cm
from ._io import CLIError, atomic_write, output_format, write_frame

HELP = "principal components with score and orthogonal distances (the PCA outlier map)"
EPILOG = """\
examples:
  mahalanobis pca data.csv
  mahalanobis pca data.csv -k 3 --id-column name -o pca.csv --plot map.svg
  mahalanobis pca spectra.csv --method classical --json

The result has one row per input row: the score distance SD (the Mahalanobis distance
within the k-dimensional PCA subspace), the orthogonal distance OD (to the subspace), the
category of the outlier map (regular, good leverage, orthogonal outlier, bad leverage), the
flag (not regular) and the scores PC1..PCk. Without -k the number of components is chosen by
rrcov's rule (80% of the variance). --method robpca (default) is ROBPCA (Hubert, Rousseeuw &
Vanden Branden 2005); it works for more columns than rows. --plot writes the outlier map
(.svg, .png or .pdf; needs mahalanobis[plot]).
"""


def add_parser(sub: Any) -> None:
    p = sub.add_parser("pca", help=HELP, description=HELP[:1].upper() + HELP[1:] + ".",
                       epilog=EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("file", help="CSV file with a header row, or - for standard input")
    p.add_argument("-k", "--components", type=int, default=None, metavar="K",
                   help="number of components (default: chosen from the eigenvalues)")
    p.add_argument("--method", default="robpca", choices=("robpca", "classical"),
                   help="robust ROBPCA (default) or classical PCA")
    p.add_argument("--alpha", type=float, default=0.025,
                   help="level of the SD and OD cutoffs (default: 0.025)")
    p.add_argument("--random-state", type=int, default=None,
                   help="seed of ROBPCA's MCD fits")
    p.add_argument("--plot", default=None, metavar="FILE",
                   help="also draw the outlier map to this file (.svg, .png, .pdf)")
    p.add_argument("--top", type=int, default=10,
                   help="rows shown in the printed table (default: 10)")
    cm.add_input_options(p)
    cm.add_output_options(p, "result")
    p.set_defaults(run=run)


def fit_pca(X: Any, method: str, k: int | None, alpha: float, random_state: int | None
            ) -> Any:
    """The fitted PCA or ROBPCA of a numeric table."""
    from ..pca import PCA, ROBPCA
    if k is not None and k < 1:
        raise CLIError(f"-k must be a positive number of components; got {k}.")
    if not 0 < alpha < 1:
        raise CLIError(f"--alpha must lie in (0, 1); got {alpha}.")
    est = PCA(n_components=k, alpha=alpha) if method == "classical" else \
        ROBPCA(n_components=k, alpha=alpha, random_state=random_state)
    return est.fit(X)


def run(args: argparse.Namespace) -> int:
    fmt = output_format(args.output, args.json)
    if args.plot is not None and not args.plot.lower().endswith((".svg", ".png", ".pdf")):
        raise CLIError(f"--plot {args.plot}: name the file .svg, .png or .pdf.")
    X = cm.load(args.file, args)
    label = cm.label_of(args.file)
    cm.check_complete(X, label)
    est = fit_pca(X, args.method, args.components, args.alpha, args.random_state)
    res = est.classify()
    table = res.to_frame()
    draw = None
    if args.plot is not None:               # drawn before anything is written
        from matplotlib.figure import Figure

        from ..plot import outlier_map, require_matplotlib
        require_matplotlib()
        fig = Figure(figsize=(6.0, 4.8), layout="constrained")
        outlier_map(res, ax=fig.subplots(), labels=[str(i) for i in X.index])

        def draw(fh: Any) -> None:
            fig.savefig(fh, format=args.plot.rsplit(".", 1)[1].lower())
    write_frame(table, args.output, fmt)
    if draw is not None:
        atomic_write(args.plot, draw, binary=True)
    counts = res.counts()
    od = "none (k = rank)" if res.od_cutoff is None else f"{res.od_cutoff:.4g}"
    summary = (f"{label}: {X.shape[0]} rows x {X.shape[1]} columns, {args.method}, "
               f"k = {est.n_components_} (rank {est.rank_}); cutoffs SD {res.sd_cutoff:.4g}, "
               f"OD {od}; " + ", ".join(f"{v} {c}" for c, v in counts.items()))
    if not args.quiet:
        stream = sys.stderr if args.output in (None, "-") else sys.stdout
        shown = table[table["flag"]].sort_values("score_distance", ascending=False)
        for idx, r in shown.head(max(args.top, 0)).iterrows():
            print(f"{idx!s:>12}  SD {r['score_distance']:9.3f}  OD "
                  f"{r['orthogonal_distance']:9.3f}  {r['category']}", file=stream)
        print(summary, file=stream)
        if args.output not in (None, "-"):
            print(f"wrote {args.output}", file=stream)
        if args.plot is not None:
            print(f"wrote {args.plot}", file=stream)
    return 0
