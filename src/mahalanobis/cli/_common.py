"""Options and helpers shared by the subcommands: columns, outputs, progress, matrices."""

from __future__ import annotations

import argparse
import inspect
import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from ._io import CLIError, read_table, select_numeric


def column_list(text: str) -> list[str]:
    cols = [c.strip() for c in text.split(",") if c.strip()]
    if not cols:
        raise argparse.ArgumentTypeError("expected comma-separated column names")
    return cols


def positive_int(text: str) -> int:
    """An argparse type: a whole number >= 1."""
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}") \
            from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {v}")
    return v


def number_list(text: str) -> list[float]:
    try:
        return [float(v) for v in text.replace(";", ",").split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}") \
            from None


def add_input_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--columns", type=column_list, default=None,
                   help="comma-separated analysis columns (default: all but --id-column)")
    p.add_argument("--id-column", default=None, help="column holding row labels")


def add_output_options(p: argparse.ArgumentParser, what: str = "result") -> None:
    p.add_argument("-o", "--output", default=None,
                   help=f"{what} file, .csv, .tsv or .json (default: standard output)")
    p.add_argument("--json", action="store_true", help=f"write the {what} as JSON")
    p.add_argument("-q", "--quiet", action="store_true", help="print no summary")
    add_progress_option(p)


def add_progress_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--progress", action="store_true",
                   help="show a progress bar on standard error (default: only when it is a "
                        "terminal)")


def label_of(path: str) -> str:
    return "standard input" if path == "-" else path


def load(path: str, args: argparse.Namespace, *, columns: Any = "args") -> Any:
    """Read a CSV table and keep its numeric analysis columns."""
    id_column = getattr(args, "id_column", None)
    df = read_table(path, id_column=id_column)
    cols = getattr(args, "columns", None) if columns == "args" else columns
    return select_numeric(df, cols, id_column=id_column, label=label_of(path))


def check_stdin_once(*paths: str | None) -> None:
    if sum(1 for p in paths if p == "-") > 1:
        raise CLIError("only one input can come from standard input ('-').")


def check_complete(df: Any, label: str) -> None:
    finite = np.isfinite(df.to_numpy(dtype=float, na_value=np.nan)).all(axis=1)
    if not finite.all():
        bad = list(df.index[~finite][:5])
        raise CLIError(f"{label}: {int((~finite).sum())} row(s) have missing or infinite values "
                       f"(rows {bad}); remove them first.")


def summary_stream(args: argparse.Namespace) -> Any:
    """Where the summary goes: standard error when the result goes to standard output."""
    return sys.stderr if getattr(args, "output", None) in (None, "-") else sys.stdout


def say(args: argparse.Namespace, text: str) -> None:
    if not getattr(args, "quiet", False):
        print(text, file=summary_stream(args))


# ------------------------------------------------------------------ progress
def progress_enabled(args: argparse.Namespace) -> bool:
    if getattr(args, "quiet", False) and not getattr(args, "progress", False):
        return False
    if getattr(args, "progress", False):
        return True
    return bool(getattr(sys.stderr, "isatty", lambda: False)())


class _NoBar:
    def update(self, n: int = 1) -> None:
        pass


@contextmanager
def progress_bar(args: argparse.Namespace, total: int, desc: str) -> Iterator[Any]:
    """A tqdm bar on standard error when progress is on (see :func:`progress_enabled`)."""
    if not progress_enabled(args):
        yield _NoBar()
        return
    try:
        from tqdm.auto import tqdm
    except ImportError:
        if getattr(args, "progress", False):
            raise CLIError("--progress needs tqdm: pip install 'mahalanobis[progress]'") \
                from None
        yield _NoBar()
        return
    bar = tqdm(total=total, desc=desc, file=sys.stderr, leave=False, unit="row")
    try:
        yield bar
    finally:
        bar.close()


def fit_metric(X: Any, method: str, *, random_state: int | None,
               args: argparse.Namespace | None = None, **options: Any) -> Any:
    """``fit(X, method, **options)`` passing the seed, and a progress bar where the estimator
    offers one."""
    from ..covariance import fit, get_estimator
    params = inspect.signature(get_estimator(method)).parameters
    if random_state is not None and "random_state" in params:
        options["random_state"] = random_state
    if args is not None and "progress" in params and progress_enabled(args):
        options["progress"] = True
    return fit(X, method=method, **options)


def chunked_distance(metric: Any, X: np.ndarray, args: argparse.Namespace) -> np.ndarray:
    """D^2 of the rows of X, chunk by chunk under a progress bar."""
    n = X.shape[0]
    step = max(1, min(n, 65536))
    out = np.empty(n)
    with progress_bar(args, n, "distances") as bar:
        for s in range(0, n, step):
            out[s:s + step] = metric.distance(X[s:s + step], squared=True)
            bar.update(min(step, n - s))
    return out


# ------------------------------------------------------------------ centre/cov files
def read_matrix(path: str, option: str, key: str) -> np.ndarray:
    """A vector or matrix from .npy, .json (a list, or an object holding ``key``) or CSV.

    A CSV may have a header row of column names (ignored) or none.
    """
    if not os.path.exists(path):
        raise CLIError(f"{option} {path}: no such file.")
    ext = os.path.splitext(path)[1].lower()
    try:
        if ext == ".npy":
            arr = np.load(path, allow_pickle=False)
        elif ext == ".json":
            with open(path, encoding="utf-8") as fh:
                obj = json.load(fh)
            if isinstance(obj, dict):
                if key not in obj:
                    raise CLIError(f"{option} {path}: the JSON object has no {key!r} entry; "
                                   f"its keys are {', '.join(map(str, list(obj)[:8]))}.")
                obj = obj[key]
            arr = np.asarray(obj, dtype=float)
        else:
            import pandas as pd
            raw = pd.read_csv(path, header=None)
            first = pd.to_numeric(raw.iloc[0], errors="coerce")
            if first.isna().any():
                raw = raw.iloc[1:]
            arr = raw.apply(pd.to_numeric, errors="raise").to_numpy(dtype=float)
    except CLIError:
        raise
    except (ValueError, TypeError, json.JSONDecodeError) as exc:
        msg = " ".join(str(exc).split())[:120]
        raise CLIError(f"{option} {path}: not a numeric vector or matrix ({msg}).") from None
    except Exception as exc:  # pandas parser errors and the like
        raise CLIError(f"{option} {path}: cannot read it ({type(exc).__name__}).") from None
    return np.asarray(arr, dtype=float)
