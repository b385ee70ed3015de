"""Input and output for the command line: CSV in, CSV/JSON out, written atomically."""

from __future__ import annotations

import io
import json
import math
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
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
    """Read a CSV file (or standard input for '-') into a DataFrame.

    Nothing is guessed: a file that is not UTF-8 is named with the byte offset of the first bad
    byte; a row with more fields than the header (which pandas would silently turn into row
    labels) or fewer (whose last cells pandas would read as missing), a first line of numbers
    only (a file without a header, whose first row would be lost as column names) and a
    semicolon- or tab-separated file are errors saying how to fix them.
    """
    pd = require_pandas()
    source: Any
    if path == "-":
        raw = sys.stdin.buffer.read() if hasattr(sys.stdin, "buffer") else \
            sys.stdin.read().encode("utf-8", "surrogateescape")
        label = "standard input"
        _check_utf8([raw], label)
        text = raw.decode("utf-8-sig")
        if not text.strip():
            raise CLIError("standard input is empty; pipe a CSV file with a header row.")
        source = io.StringIO(text)
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
    except UnicodeDecodeError:
        _check_utf8(_file_chunks(path), label)
        raise  # pragma: no cover - the scan finds the byte pandas stumbled on
    except pd.errors.ParserError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CLIError(f"{label} is not a readable CSV file ({first}); every row needs as "
                       "many comma-separated fields as the header has names.") from None
    _check_layout(df, pd, label, source)
    if df.shape[0] == 0:
        raise CLIError(f"{label} has a header but no rows of data.")
    if id_column is not None:
        if id_column not in df.columns:
            raise CLIError(f"--id-column {id_column!r} is not a column of {label}; columns are "
                           f"{', '.join(map(str, df.columns[:10]))}.")
        df = df.set_index(id_column)
    return df


def _file_chunks(path: str, size: int = 1 << 20) -> Any:
    with open(path, "rb") as fh:
        while chunk := fh.read(size):
            yield chunk


def _check_utf8(chunks: Any, label: str) -> None:
    """A CLIError naming the byte offset and line of the first byte that is not UTF-8."""
    import codecs
    decoder = codecs.getincrementaldecoder("utf-8")()
    offset = lines = 0
    for chunk in chunks:
        try:
            decoder.decode(chunk)
        except UnicodeDecodeError as exc:
            at = offset + max(exc.start, 0)
            line = lines + chunk[:max(exc.start, 0)].count(b"\n") + 1
            bad = chunk[exc.start:exc.start + 1].hex() if exc.start < len(chunk) else "end"
            raise CLIError(
                f"{label} is not UTF-8 text: byte 0x{bad} at byte offset {at} (line {line}); "
                "save the file as UTF-8 (e.g. iconv -f latin1 -t utf-8).") from None
        offset += len(chunk)
        lines += chunk.count(b"\n")
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        raise CLIError(f"{label} is not UTF-8 text: it ends inside a multi-byte character "
                       f"(byte offset {offset}); save the file as UTF-8.") from None


def _looks_numeric(name: Any) -> bool:
    try:
        float(str(name))
    except ValueError:
        return False
    return True


def _check_layout(df: Any, pd: Any, label: str, source: Any) -> None:
    """Errors for the CSV layouts pandas reads without complaint but wrongly."""
    cols = [str(c) for c in df.columns]
    if len(cols) == 1 and (";" in cols[0] or "\t" in cols[0]):
        sep = "semicolon" if ";" in cols[0] else "tab"
        raise CLIError(f"{label} looks {sep}-separated (header {cols[0][:40]!r}); the command "
                       "line reads comma-separated files with a decimal point: convert it "
                       "(e.g. in a spreadsheet, save as CSV with commas).")
    if not (isinstance(df.index, pd.RangeIndex) and df.index.equals(pd.RangeIndex(len(df)))):
        line = _first_long_row(source, df.shape[1])
        where = f" (line {line})" if line else ""
        raise CLIError(
            f"{label}: a row has more fields than the header has names{where}, so its first "
            "field would be taken as a row label and the columns shifted; give every column a "
            "name in the header, or remove the extra fields (a trailing comma?).")
    if df.shape[1] > 1 and bool(df.iloc[:, -1].isna().any()):
        # a row with fewer fields than the header reads as missing trailing cells; only a
        # file with empty cells in the last column can hold one, so only then is it scanned
        line = _first_row(source, lambda r: 0 < len(r) < df.shape[1])
        if line:
            raise CLIError(
                f"{label}: line {line} has fewer fields than the header has names, so its "
                "last cells would be read as missing; keep the commas of empty cells (e.g. "
                "1.2,,3.4) or fix the line.")
    if cols and all(_looks_numeric(c) for c in cols):
        raise CLIError(
            f"{label}: the first line ({','.join(cols[:6])}{',...' if len(cols) > 6 else ''}) "
            "holds only numbers, so it looks like data, not a header, and would be lost as "
            "column names; add a header line of column names (e.g. x1,x2,...) as the first "
            "line.")


def _first_long_row(source: Any, n_names: int) -> int | None:
    """The line number of the first row with more fields than the header, if found."""
    return _first_row(source, lambda r: len(r) > n_names)


def _first_row(source: Any, bad: Any) -> int | None:
    """The line number of the first data row (after the header) for which ``bad(fields)``."""
    import csv
    try:
        if isinstance(source, io.StringIO):
            source.seek(0)
            rows = csv.reader(source)
            return next((i + 1 for i, r in enumerate(rows) if i and bad(r)), None)
        with open(source, encoding="utf-8-sig", newline="") as fh:
            return next((i + 1 for i, r in enumerate(csv.reader(fh)) if i and bad(r)), None)
    except (OSError, csv.Error, UnicodeDecodeError):  # pragma: no cover - best effort
        return None


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


#: Outputs written during one run: (temporary file, target) pairs, renamed together at the end
#: of :func:`output_transaction` (all or none); None outside a transaction.
_STAGED: list[tuple[str, str]] | None = None


@contextmanager
def output_transaction() -> Iterator[None]:
    """All files a run writes appear together at its end, or none of them does.

    Inside, :func:`atomic_write` writes each output to a temporary file in the target's folder
    (and :func:`stage_output` takes files or folders written elsewhere, e.g. by dask);
    when the block ends without error the temporary files are renamed onto their targets (a
    failing rename puts back what the earlier renames replaced); on any error or interrupt they
    are deleted, leaving the filesystem as it was.
    """
    global _STAGED
    outer, _STAGED = _STAGED, []
    staged = _STAGED
    try:
        yield
        _commit(staged)
    finally:
        for tmp, _ in staged:
            _unlink(tmp)
        _STAGED = outer


def stage_output(tmp: str, path: str) -> None:
    """Hand a finished temporary file or folder ``tmp`` (in ``path``'s folder) to the running
    :func:`output_transaction`, which renames it onto ``path`` with the run's other outputs,
    or deletes it if the run fails. Outside a transaction it is renamed at once."""
    if _STAGED is None:
        _commit([(tmp, path)])
        return
    _STAGED.append((tmp, path))


def _commit(staged: list[tuple[str, str]]) -> None:
    backups: list[tuple[str | None, str]] = []
    try:
        for tmp, path in staged:
            backup = None
            if os.path.isdir(tmp) and os.path.lexists(path):
                if not os.path.isdir(path):
                    raise CLIError(f"cannot write {path}: it exists and is not a folder; remove "
                                   "it or choose another name.")
                backup = _temp_name(path, ".bak")
                os.replace(path, backup)  # the old folder, moved aside to put it back
            elif os.path.exists(path):
                backup = _temp_name(path, ".bak")
                os.link(path, backup)  # a second name for the old file, to put it back
            backups.append((backup, path))
            os.replace(tmp, path)
    except BaseException:
        for backup, path in reversed(backups):
            if backup is None:
                _unlink(path)
            else:
                if os.path.isdir(backup):
                    _unlink(path)
                os.replace(backup, path)
        raise
    finally:
        for backup, _ in backups:
            if backup is not None:
                _unlink(backup)


def _temp_name(path: str, suffix: str) -> str:
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(os.path.abspath(path)),
                               prefix=".mahalanobis-", suffix=suffix)
    os.close(fd)
    os.unlink(tmp)
    return tmp


def _unlink(path: str) -> None:
    """Remove a file or a folder (with its files), if it is there."""
    try:
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path)
        else:
            os.unlink(path)
    except OSError:
        pass


def atomic_write(path: str, write: Callable[[Any], None], *, binary: bool = False) -> None:
    """Write a file through a temporary file in the same folder and a rename, so that a failure
    leaves no partial output (and an existing file untouched). Inside
    :func:`output_transaction` the rename waits for the end of the run."""
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise CLIError(f"cannot write {path}: folder {folder} does not exist.")
    if os.path.isdir(path):
        raise CLIError(f"cannot write {path}: it is a folder; name a file.")
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".mahalanobis-", suffix=".tmp")
    except PermissionError:
        raise CLIError(f"cannot write {path}: no permission to create files in {folder}.") \
            from None
    try:
        with os.fdopen(fd, "wb" if binary else "w", newline=None if binary else "") as fh:
            write(fh)
        try:  # the permissions of a normal new file (mkstemp makes it private)
            mode = os.stat(path).st_mode & 0o7777 if os.path.exists(path) else 0o666 & ~_umask()
            os.chmod(tmp, mode)
        except OSError:  # pragma: no cover - e.g. filesystems without modes
            pass
        if _STAGED is not None:
            _STAGED.append((tmp, path))
            return
        os.replace(tmp, path)
    except BaseException:
        _unlink(tmp)
        raise


def check_outputs(args: Any, outputs: tuple[str, ...] = ("output", "report", "plot")) -> None:
    """Refuse an output path that names an input file, or that two outputs share."""
    given = [(name, getattr(args, name)) for name in outputs
             if isinstance(getattr(args, name, None), str) and getattr(args, name) != "-"]
    inputs = [(name, v) for name, v in vars(args).items()
              if name not in outputs and isinstance(v, str) and v != "-" and os.path.isfile(v)]
    for i, (oname, out) in enumerate(given):
        flag = _flag(oname)
        for iname, inp in inputs:
            if _same_file(out, inp):
                what = "the input file" if iname == "file" else f"the {_flag(iname)} file"
                raise CLIError(f"{flag} {out} is {what}; writing it would destroy the data. "
                               f"Name another output file.")
        for oname2, out2 in given[:i]:
            if _same_file(out, out2):
                raise CLIError(f"{flag} and {_flag(oname2)} both name {out}; give each output "
                               "its own file.")


def _flag(dest: str) -> str:
    return "-o/--output" if dest == "output" else "--" + dest.replace("_", "-")


def _same_file(a: str, b: str) -> bool:
    try:
        if os.path.exists(a) and os.path.exists(b):
            return os.path.samefile(a, b)
    except OSError:  # pragma: no cover
        pass
    return os.path.normcase(os.path.realpath(a)) == os.path.normcase(os.path.realpath(b))


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
