"""`mahalanobis chart`: Hotelling T^2 control chart, Phase I and Phase II monitoring."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

import numpy as np

from . import _common as cm
from ._io import CLIError, atomic_write, output_format, write_frame

HELP = "Hotelling T^2 control chart: Phase I on one file, Phase II monitoring of another"
EPILOG = """\
examples:
  mahalanobis chart phase1.csv                           # Phase I: T^2, UCL, signals
  mahalanobis chart phase1.csv --monitor new.csv -o chart.csv
  mahalanobis chart phase1.csv --subgroup-size 5 --alpha 0.005
  mahalanobis chart phase1.csv --robust --plot chart.svg
  cat new.csv | mahalanobis chart phase1.csv --monitor - --json

The result has one row per observation (or subgroup) with the T^2 statistic, the upper
control limit and the signal flag, and a column 'phase' (I for the reference data, II for
--monitor). --plot also draws the chart (.png, .svg or .pdf; needs mahalanobis[plot]).
"""


def add_parser(sub: Any) -> None:
    p = sub.add_parser("chart", help=HELP, description=HELP[:1].upper() + HELP[1:] + ".",
                       epilog=EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("file", help="Phase I (reference) CSV file, or - for standard input")
    p.add_argument("--monitor", default=None,
                   help="CSV file of new observations to chart against the Phase I limits")
    p.add_argument("--subgroup-size", type=int, default=1,
                   help="rows per rational subgroup (default: 1, individual observations)")
    p.add_argument("--alpha", type=float, default=0.0027,
                   help="false-alarm probability per point (default: 0.0027, like 3 sigma)")
    p.add_argument("--robust", action="store_true",
                   help="estimate the Phase I centre and scatter robustly (MCD; limits "
                        "calibrated by simulation once per size, then cached)")
    p.add_argument("--plot", default=None, help="also draw the chart into this image file")
    cm.add_input_options(p)
    cm.add_output_options(p)
    p.set_defaults(run=run)


def _frame(chart: Any, phase: str) -> Any:
    frame = chart.to_frame().copy()
    frame.insert(0, "phase", phase)
    return frame


def _signals(chart: Any, index: Any) -> str:
    sig = np.asarray(chart.signals, dtype=bool)
    lab = list(getattr(chart.statistic, "index", index if len(index) == sig.size else
                       range(sig.size)))
    rows = [str(lab[i]) for i in np.flatnonzero(sig)[:10]]
    more = " ..." if sig.sum() > 10 else ""
    return f"{int(sig.sum())} signal(s)" + (f" at {', '.join(rows)}{more}" if rows else "")


def _ucl(chart: Any) -> str:
    ucl = np.atleast_1d(np.asarray(chart.ucl, dtype=float))
    return f"{ucl[0]:.4g}" if np.all(ucl == ucl[0]) else f"{ucl.min():.4g}..{ucl.max():.4g}"


def run(args: argparse.Namespace) -> int:
    try:
        from ..control import T2Chart
    except ImportError:  # pragma: no cover - until mahalanobis.control ships
        raise CLIError("this installation has no mahalanobis.control (T^2 charts).") from None
    fmt = output_format(args.output, args.json)
    if not 0 < args.alpha < 1:
        raise CLIError(f"--alpha must lie in (0, 1); got {args.alpha}.")
    if args.subgroup_size < 1:
        raise CLIError(f"--subgroup-size must be at least 1; got {args.subgroup_size}.")
    if args.plot is not None:
        ext = os.path.splitext(args.plot)[1].lower()
        if ext not in (".png", ".svg", ".pdf"):
            raise CLIError(f"--plot {args.plot}: use a .png, .svg or .pdf file name.")
    cm.check_stdin_once(args.file, args.monitor)
    label = cm.label_of(args.file)
    X = cm.load(args.file, args)
    cm.check_complete(X, label)
    chart = T2Chart(X, subgroup_size=args.subgroup_size, alpha=args.alpha,
                    method="mcd" if args.robust else "empirical",
                    **({"progress": cm.progress_enabled(args)} if args.robust
                       else {}))  # type: ignore[arg-type]  # progress is a bool keyword
    frames = [_frame(chart, "I")]
    lines = [f"{label}: phase I, {X.shape[0]} rows x {X.shape[1]} columns, UCL {_ucl(chart)}, "
             f"{_signals(chart, X.index)}"]
    shown = chart
    if args.monitor is not None:
        new = cm.load(args.monitor, args, columns=[str(c) for c in X.columns])
        cm.check_complete(new, cm.label_of(args.monitor))
        mon = chart.monitor(new)
        frames.append(_frame(mon, "II"))
        lines.append(f"{cm.label_of(args.monitor)}: phase II, {new.shape[0]} rows, UCL "
                     f"{_ucl(mon)}, {_signals(mon, new.index)}")
        shown = mon
    pd = sys.modules["pandas"]
    res = pd.concat(frames)
    figure = None
    if args.plot is not None:
        from matplotlib.figure import Figure

        from ..plot import control_chart
        figure = Figure(figsize=(8, 3.8), layout="constrained")
        control_chart(shown, ax=figure.subplots())
    write_frame(res, args.output, fmt)
    if figure is not None:
        ext = os.path.splitext(args.plot)[1].lower()[1:]
        atomic_write(args.plot, lambda fh: figure.savefig(fh, format=ext), binary=True)
        lines.append(f"wrote {args.plot}")
    if args.output not in (None, "-"):
        lines.append(f"wrote {args.output}")
    for line in lines:
        cm.say(args, line)
    return 0
