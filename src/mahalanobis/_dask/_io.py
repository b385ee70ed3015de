"""``outliers_dask``: the ``mahalanobis outliers`` command on tables larger than memory.

Reads CSV (one file or a glob) or Parquet with dask.dataframe, fits the metric in one pass
(``method="empirical"``) or by the distributed MCD (``method="mcd"``), then scores every row
and writes the result table in a second pass, counting the outliers in that same pass.

Output (``output=``):

* ``*.csv`` -- one CSV file, written partition after partition to a temporary file in the
  target folder and renamed into place at the end (a failure leaves no partial file and an
  existing file untouched);
* ``*.parquet`` -- a folder of Parquet part files;
* any other path -- a folder of CSV part files ``part-00000.csv``, ``part-00001.csv``, ...
  (one per input partition, in input order).

Folders are written under a temporary name in the same parent folder and renamed into place
when complete; an existing folder of that name is replaced only then.

Each result row holds the id column (``id_column=``, when given) or the 0-based position of the
row in the input (``row``), then ``distance``, ``d2``, ``pvalue`` and ``outlier``. Unlike the
in-memory command there is no ``rank`` column: ranks need a global sort.
"""

from __future__ import annotations

import glob
import os
import shutil
import tempfile
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
from scipy import stats

from .._validation import check_fraction, check_nan_policy
from ._common import Prepared, finite_rows, nan_error, prepare, require_dask_dataframe, to_float
from ._score import Scorer, scorer_of


def _read(path_or_glob: Any, blocksize: Any) -> Any:
    dd = require_dask_dataframe()
    paths = path_or_glob if isinstance(path_or_glob, (list, tuple)) else [path_or_glob]
    for pth in paths:
        if not glob.glob(str(pth)):
            raise ValueError(f"{pth}: no such file (or no file matches the pattern); pass a "
                             "CSV file, a glob such as 'data/*.csv', or a Parquet file/folder.")
    first = str(paths[0]).rstrip("/")
    if first.endswith(".parquet") or first.endswith(".pq") or os.path.isdir(first):
        return dd.read_parquet(path_or_glob)
    return dd.read_csv(path_or_glob, blocksize=blocksize)


def _select(df: Any, columns: Any, id_column: str | None) -> Any:
    cols = list(df.columns)
    if id_column is not None and id_column not in cols:
        raise ValueError(f"id_column {id_column!r} is not a column of the input; columns are "
                         f"{', '.join(map(str, cols[:10]))}.")
    if columns:
        missing = [c for c in columns if c not in cols]
        if missing:
            raise ValueError(f"columns names {', '.join(map(repr, missing))}, not in the input; "
                             f"columns are {', '.join(map(str, cols[:12]))}.")
        use = list(columns)
    else:
        use = [c for c in cols if c != id_column]
    bad = [str(c) for c in use if df[c].dtype.kind not in "biuf"]
    if bad:
        hint = "" if id_column else " or name it as the row labels with id_column"
        raise ValueError(f"column {bad[0]!r} of the input is not numeric; choose the analysis "
                         f"columns with columns=[...]{hint}.")
    return use


def _result_part(part: Any, scorer: Scorer, use: list[Any], id_column: str | None,
                 cut: float, nan_policy: str, offset: int) -> Any:
    import pandas as pd
    A = to_float(part[use])
    ok = finite_rows(A)
    pos = np.arange(offset, offset + A.shape[0])
    if not ok.all():
        if nan_policy == "raise":
            raise nan_error(part, ~ok, offset)
        A, pos, part = A[ok], pos[ok], part[ok]
    d2 = scorer.sq(A)
    p = A.shape[1]
    res = pd.DataFrame({id_column: part[id_column].to_numpy()} if id_column else {"row": pos})
    res["distance"] = np.sqrt(d2)
    res["d2"] = d2
    res["pvalue"] = stats.chi2.sf(d2, p)
    res["outlier"] = d2 > cut
    return res


def _fit(prep: Prepared, method: str, nan_policy: str, random_state: Any,
         options: dict[str, Any]) -> tuple[Any, tuple[int, ...]]:
    if method == "empirical":
        from ._empirical import fit_empirical
        metric, mom = fit_empirical(prep, nan_policy=nan_policy, **options)
        return metric, mom.sizes
    if method == "mcd":
        from ._mcd import fit_mcd
        return fit_mcd(prep, nan_policy=nan_policy, random_state=random_state, **options)
    raise ValueError(f"method must be 'empirical' or 'mcd' for dask input; got {method!r}.")


def _replace_dir(tmp: str, final: str) -> None:
    old = None
    if os.path.exists(final):
        if not os.path.isdir(final):
            raise ValueError(f"output {final} exists and is not a folder; remove it or choose "
                             "another name.")
        old = tempfile.mkdtemp(dir=os.path.dirname(final) or ".", prefix=".mahalanobis-old-")
        os.rmdir(old)
        os.replace(final, old)
    os.replace(tmp, final)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def outliers_dask(path_or_glob: Any, *, scheduler: str | None = None, columns: Any = None,
                  id_column: str | None = None, method: str = "empirical",
                  alpha: float = 0.025, output: str | None = None, blocksize: Any = "64MB",
                  nan_policy: str = "raise", random_state: Any = None,
                  n_workers: int | None = None, memory_limit: Any = "auto",
                  stage: Callable[[str, str], None] | None = None,
                  **options: Any) -> dict[str, Any]:
    """Flag the outlying rows of a large CSV/Parquet table with dask; returns a summary.

    Parameters
    ----------
    path_or_glob : str or list of str
        CSV file(s) or glob (``"data/*.csv"``), or a Parquet file or folder.
    scheduler : str, optional
        ``"local"`` starts a LocalCluster on this machine (loopback only; closed at the end),
        any other string is the address of a running scheduler (``"tcp://host:8786"``), None
        uses dask's current default (an active Client, else the threaded scheduler).
    columns : list of str, optional
        Analysis columns (default: every column except ``id_column``); all must be numeric.
    id_column : str, optional
        Column written next to the results as the row label (not analysed).
    method : {"empirical", "mcd"}
    alpha : float
        Rows with d2 above the chi-squared (p df) 1 - alpha quantile are outliers.
    output : str, optional
        Where to write the result table (see the module notes); None writes nothing.
    blocksize : str or int
        Bytes of CSV per partition.
    nan_policy : {"raise", "omit"}
        Rows with missing values: an error naming them, or skipped (fit and output).
    random_state : int, optional
        Seed of the MCD sample and subset search.
    n_workers, memory_limit :
        For ``scheduler="local"``: LocalCluster workers (default: dask's choice) and memory
        limit per worker.
    stage : callable, optional
        ``stage(tmp, output)`` takes over the finished temporary file or folder instead of the
        rename into place (the command line's all-or-none output transaction, which renames
        it together with the run's other outputs or deletes it if the run fails).
    options :
        Further estimator options (e.g. ``sample_size`` for the MCD).

    Returns
    -------
    dict with ``method``, ``n_rows`` (input rows), ``n_used``, ``n_features``, ``alpha``,
    ``cutoff_d2``, ``n_outliers``, ``output`` and ``metric`` (the fitted Metric): the keys
    of the in-memory command's summary.
    """
    alpha = check_fraction(alpha, "alpha")
    check_nan_policy(nan_policy, ("raise", "omit"))
    if scheduler is None:
        return _run(path_or_glob, columns, id_column, method, alpha, output, blocksize,
                    nan_policy, random_state, options, stage)
    from distributed import Client, LocalCluster
    if scheduler == "local":
        with LocalCluster(n_workers=n_workers, processes=True, host="127.0.0.1",
                          dashboard_address=None, memory_limit=memory_limit) as cluster, \
                Client(cluster) as client, client.as_current():
            return _run(path_or_glob, columns, id_column, method, alpha, output, blocksize,
                        nan_policy, random_state, options, stage)
    with Client(scheduler) as client, client.as_current():
        return _run(path_or_glob, columns, id_column, method, alpha, output, blocksize,
                    nan_policy, random_state, options, stage)


def _run(path_or_glob: Any, columns: Any, id_column: str | None, method: str, alpha: float,
         output: str | None, blocksize: Any, nan_policy: str, random_state: Any,
         options: dict[str, Any], stage: Callable[[str, str], None] | None = None
         ) -> dict[str, Any]:
    import dask
    import pandas as pd
    df = _read(path_or_glob, blocksize)
    use = _select(df, columns, id_column)
    prep = prepare(df[use], "X")
    metric, sizes = _fit(prep, method, nan_policy, random_state, options)
    p = len(use)
    cut = float(stats.chi2.isf(alpha, p))
    sc = scorer_of(metric)
    offsets = [0, *np.cumsum(sizes[:-1]).tolist()]
    parts = df.to_delayed()
    task = dask.delayed(_result_part, pure=True)
    res_parts = [task(part, sc, use, id_column, cut, nan_policy, off)
                 for part, off in zip(parts, offsets)]
    counts = [dask.delayed(lambda r: (len(r), int(r["outlier"].sum())))(r) for r in res_parts]
    writes: list[Any] = []
    tmp = None
    if output is not None:
        out_abs = os.path.abspath(output)
        parent = os.path.dirname(out_abs)
        if not os.path.isdir(parent):
            raise ValueError(f"cannot write {output}: folder {parent} does not exist.")
        ext = os.path.splitext(out_abs)[1].lower()
        if ext == ".csv" and os.path.isdir(out_abs):
            raise ValueError(f"cannot write {output}: it is a folder; name a .csv file.")
        if ext != ".csv" and os.path.lexists(out_abs) and not os.path.isdir(out_abs):
            raise ValueError(f"output {output} exists and is not a folder; remove it or "
                             "choose another name.")
        meta = pd.DataFrame({id_column or "row": pd.Series(dtype=df[id_column].dtype
                                                           if id_column else np.int64),
                             "distance": pd.Series(dtype=float), "d2": pd.Series(dtype=float),
                             "pvalue": pd.Series(dtype=float),
                             "outlier": pd.Series(dtype=bool)})
        dd = require_dask_dataframe()
        res = dd.from_delayed(res_parts, meta=meta, verify_meta=False)
        if ext == ".csv":
            fd, tmp = tempfile.mkstemp(dir=parent, prefix=".mahalanobis-", suffix=".csv")
            os.close(fd)
            writes = [res.to_csv(tmp, single_file=True, index=False, compute=False,
                                 float_format="%.10g")]
            kind = "file"
        else:
            tmp = tempfile.mkdtemp(dir=parent, prefix=".mahalanobis-")
            if ext == ".parquet":
                writes = [res.to_parquet(tmp, write_index=False, compute=False)]
            else:
                writes = [res.to_csv(os.path.join(tmp, "part-*.csv"), index=False,
                                     compute=False, float_format="%.10g",
                                     name_function=lambda i: f"{i:05d}")]
            kind = "folder"
    try:
        with warnings.catch_warnings():
            # to_parquet(compute=False) is an expression, the rest a task graph: dask warns
            # that it materialises the expression, which is what we want (one shared graph,
            # each partition read and scored once).
            warnings.filterwarnings("ignore", message="Computing mixed collections",
                                    category=UserWarning)
            counted, _ = dask.compute(counts, writes)
        if tmp is not None:
            if stage is not None:
                stage(tmp, out_abs)
            elif kind == "file":
                os.replace(tmp, out_abs)
            else:
                _replace_dir(tmp, out_abs)
            tmp = None
    finally:
        if tmp is not None:
            if os.path.isdir(tmp):
                shutil.rmtree(tmp, ignore_errors=True)
            elif os.path.exists(tmp):
                os.unlink(tmp)
    n_used = int(sum(c[0] for c in counted))
    return {"method": method, "n_rows": int(sum(sizes)), "n_used": n_used, "n_features": p,
            "alpha": alpha, "cutoff_d2": cut, "n_outliers": int(sum(c[1] for c in counted)),
            "output": output, "metric": metric}
