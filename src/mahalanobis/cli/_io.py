"""Input and output for the command line: CSV in, CSV/JSON out, written atomically."""

from __future__ import annotations

import io
import json
import math
import os
import sys
import tempfile
from collections.abc import Callable
from typing import Any


class CLIError(Exception):
    """Bad input at the command line: reported as one line on stderr, exit status 2."""


def require_pandas() -> Any:
    try:
        import pandas as pd
    except ImportError:  # pragma: no cover - depends on the environment
        raise CLIError("the command line needs pandas: pip install 'mahalanobis[pandas]'") \
            from None
    return pd


def read_table(path: str, *, id_column: str | None = None) -> Any:
    """Read a CSV file (or standard input for '-') into a DataFrame."""
    pd = require_pandas()
    source: Any
    if path == "-":
        text = sys.stdin.read()
        if not text.strip():
            raise CLIError("standard input is empty; pipe a CSV file with a header row.")
        source = io.StringIO(text)
        label = "standard input"
    else:
        if not os.path.exists(path):
            raise CLIError(f"{path}: no such file.")
        if os.path.isdir(path):
            raise CLIError(f"{path} is a directory; pass a CSV file.")
        source, label = path, path
    try:
        df = pd.read_csv(source)
    except pd.errors.EmptyDataError:
        raise CLIError(f"{label} is empty; pass a CSV file with a header row.") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CLIError(f"{label} is not a readable CSV file ({first}).") from None
    if df.shape[0] == 0:
        raise CLIError(f"{label} has a header but no rows of data.")
    if id_column is not None:
        if id_column not in df.columns:
            raise CLIError(f"--id-column {id_column!r} is not a column of {label}; columns are "
                           f"{', '.join(map(str, df.columns[:10]))}.")
        df = df.set_index(id_column)
    return df


def select_numeric(df: Any, columns: list[str] | None, *, id_column: str | None,
                   label: str) -> Any:
    """The analysis columns: --columns when given, else all; any non-numeric one is an error."""
    if columns:
        missing = [c for c in columns if c not in df.columns]
        if missing:
            raise CLIError(f"--columns names {', '.join(map(repr, missing))}, not in {label}; "
                           f"columns are {', '.join(map(str, df.columns[:12]))}.")
        df = df[columns]
    bad = [str(c) for c, dt in zip(df.columns, df.dtypes) if dt.kind not in "biuf"]
    if bad:
        hint = "" if id_column else " or name it as labels with --id-column"
        raise CLIError(f"column {bad[0]!r} of {label} is not numeric; choose the analysis "
                       f"columns with --columns{hint}.")
    return df


def atomic_write(path: str, write: Callable[[Any], None], *, binary: bool = False) -> None:
    """Write a file through a temporary file in the same folder and a rename, so that a failure
    leaves no partial output (and an existing file untouched)."""
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise CLIError(f"cannot write {path}: folder {folder} does not exist.")
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".mahalanobis-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb" if binary else "w", newline=None if binary else "") as fh:
            write(fh)
        try:  # the permissions of a normal new file (mkstemp makes it private)
            mode = os.stat(path).st_mode & 0o7777 if os.path.exists(path) else 0o666 & ~_umask()
            os.chmod(tmp, mode)
        except OSError:  # pragma: no cover - e.g. filesystems without modes
            pass
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def output_format(path: str | None, json_flag: bool) -> str:
    if json_flag:
        return "json"
    if path is None or path == "-":
        return "csv"
    ext = os.path.splitext(path)[1].lower()
    if ext == ".json":
        return "json"
    if ext in (".csv", ".txt", ""):
        return "csv"
    if ext == ".tsv":
        return "tsv"
    raise CLIError(f"-o {path}: unknown output format {ext!r}; use .csv, .tsv or .json.")


def write_frame(df: Any, path: str | None, fmt: str) -> None:
    """Write a result table to a file (atomically) or to standard output."""
    def dump(fh: Any) -> None:
        if fmt == "json":
            data = df
            pd = sys.modules["pandas"]
            if not (isinstance(df.index, pd.RangeIndex) and df.index.name is None):
                # keep the row labels as a field of each record
                data = df.reset_index(names=df.index.name or "row")
            # json.dump writes floats with repr: shortest round-trip form, no precision lost
            # on small p-values (pandas' double_precision caps decimals, not digits)
            json.dump([{str(k): _json_value(v) for k, v in rec.items()}
                       for rec in data.to_dict(orient="records")], fh, indent=1,
                      allow_nan=False)
            fh.write("\n")
        else:
            df.to_csv(fh, sep="\t" if fmt == "tsv" else ",", float_format="%.10g",
                      lineterminator="\n")

    if path is None or path == "-":
        dump(sys.stdout)
        sys.stdout.flush()
    else:
        atomic_write(path, dump)


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _json_value(v: Any) -> Any:
    """A JSON-ready scalar: numpy scalars as Python ones, NaN and missing as null."""
    if hasattr(v, "item"):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    return str(v)
