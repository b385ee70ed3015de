"""Turning user input into checked float arrays.

Every public entry point passes its inputs through these helpers, so that bad input fails early
with a :class:`ValueError` that names the argument, says what was wrong and what to do — never a
traceback from inside LAPACK.

pandas is optional: DataFrames are recognised by duck typing and their index and columns are
kept in a :class:`Data` record so that outputs can carry the same labels.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from . import _array_api
from .errors import ArgumentTypeError, SingularCovarianceError

__all__ = [
    "ArgumentTypeError",
    "Data",
    "apply_nan_policy",
    "as_data",
    "as_square_matrix",
    "as_vector",
    "as_xp_data",
    "as_xp_square_matrix",
    "as_xp_vector",
    "check_bool",
    "check_choice",
    "check_fraction",
    "check_int",
    "check_nan_policy",
    "check_nonnegative",
    "check_numeric_frame",
    "check_random_state",
    "check_sample_covariance",
    "check_spread",
    "constant_columns_error",
    "is_dask",
    "is_dataframe",
    "match_columns",
    "readonly",
]

_NAN_POLICIES = ("raise", "omit", "propagate")


def is_dataframe(obj: Any) -> bool:
    """True for a pandas DataFrame (checked without importing pandas)."""
    return (hasattr(obj, "columns") and hasattr(obj, "index") and hasattr(obj, "to_numpy")
            and hasattr(obj, "dtypes"))


def _is_series(obj: Any) -> bool:
    return hasattr(obj, "index") and hasattr(obj, "to_numpy") and hasattr(obj, "dtype") and \
        not hasattr(obj, "columns")


def is_dask(obj: Any) -> bool:
    """A dask Array or DataFrame (checked without importing dask)."""
    return type(obj).__module__.split(".")[0] in ("dask", "dask_expr")


@dataclass(frozen=True)
class Data:
    """A checked 2-D float array and the labels that came with it.

    ``values`` holds only the kept rows (after ``nan_policy="omit"``); ``kept`` is the boolean
    mask of kept rows over the input, or None when every row was kept. ``index`` and ``columns``
    are the pandas labels of the kept rows and of the columns, or None for array input.
    """

    values: np.ndarray
    index: Any = None
    columns: Any = None
    kept: np.ndarray | None = None
    n_input: int = 0

    @property
    def dropped(self) -> np.ndarray:
        """Positions (0-based) of the rows dropped by ``nan_policy="omit"``."""
        if self.kept is None:
            return np.empty(0, dtype=np.intp)
        return np.flatnonzero(~self.kept)


def readonly(a: Any) -> np.ndarray:
    """A read-only view of an array (results never share writable memory with callers).

    Arrays of other libraries (Array API input) have no read-only flag and are returned as
    they are: they stay in their own namespace and on their own device."""
    if not isinstance(a, np.ndarray) and _array_api.is_foreign(a):
        return a
    v = np.asarray(a).view()
    v.setflags(write=False)
    return v


def check_nan_policy(nan_policy: str, policies: tuple[str, ...] = _NAN_POLICIES) -> str:
    """``nan_policy`` as :func:`check_choice` checks it (one of ``policies``)."""
    return check_choice(nan_policy, "nan_policy", policies)


def check_bool(value: Any, name: str) -> bool:
    """True or False (numpy bools too); anything else, "no" or 0 included, is a TypeError
    naming ``name``."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    raise ArgumentTypeError(f"{name} must be True or False; got {value!r} "
                    f"({type(value).__name__}).")


def check_choice(value: Any, name: str, choices: tuple[str, ...] | list[str]) -> str:
    """One of ``choices`` (strings); another type (``method=3``) is an
    :class:`~mahalanobis.errors.ArgumentTypeError`, an unknown string a ValueError, both
    listing the choices."""
    listed = ", ".join(map(repr, choices))
    if not isinstance(value, str):
        raise ArgumentTypeError(f"{name} must be a string, one of {listed}; got {value!r} "
                                f"({type(value).__name__}).")
    if value not in choices:
        raise ValueError(f"{name} must be one of {listed}; got {value!r}.")
    return value


def check_fraction(value: Any, name: str, *, low: float = 0.0, high: float = 1.0,
                   low_open: bool = True, high_open: bool = True, hint: str = "") -> float:
    """A real number in an interval, with a message naming ``name`` otherwise (a bool or a
    string is a TypeError: ``alpha=True`` is not a level). ``hint`` (a sentence saying what
    the argument means or what to pass) ends both messages."""
    tail = f" {hint}" if hint else ""
    if isinstance(value, (bool, np.bool_, str, bytes)) or (not isinstance(
            value, (int, float, np.integer, np.floating)) and np.ndim(value) != 0):
        raise ArgumentTypeError(f"{name} must be a number; got {value!r} "
                                f"({type(value).__name__}).{tail}")
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ArgumentTypeError(f"{name} must be a number; got {value!r} "
                                f"({type(value).__name__}).{tail}") from None
    lo_ok = v > low if low_open else v >= low
    hi_ok = v < high if high_open else v <= high
    if not (np.isfinite(v) and lo_ok and hi_ok):
        lb = "(" if low_open else "["
        rb = ")" if high_open else "]"
        raise ValueError(f"{name} must lie in {lb}{low:g}, {high:g}{rb}; got {value!r}.{tail}")
    return v


def check_random_state(random_state: Any) -> np.random.Generator:
    """An int, None, a Generator or a legacy RandomState, as a numpy Generator."""
    if isinstance(random_state, np.random.Generator):
        return random_state
    if isinstance(random_state, np.random.RandomState):
        return np.random.default_rng(random_state.randint(0, 2**31 - 1))
    if isinstance(random_state, (bool, np.bool_)):
        raise ArgumentTypeError(f"random_state must be None, an int >= 0 or a numpy Generator; got "
                        f"{random_state!r}.")
    if random_state is None:
        return np.random.default_rng()
    if isinstance(random_state, (int, np.integer)):
        if random_state < 0:
            raise ValueError(f"random_state must be None, an int >= 0 or a numpy Generator; "
                             f"got {random_state}. Pass a non-negative seed.")
        return np.random.default_rng(int(random_state))
    raise ArgumentTypeError("random_state must be None, an int >= 0 or a numpy Generator; got "
                    f"{random_state!r} ({type(random_state).__name__}).")


def _non_numeric_frame_columns(df: Any) -> list[str]:
    bad = []
    for col, dtype in zip(df.columns, df.dtypes):
        kind = getattr(dtype, "kind", "O")
        if kind not in "biuf":  # bool, int, unsigned, float
            bad.append(str(col))
    return bad


def check_numeric_frame(df: Any, name: str) -> None:
    """A ValueError naming the non-numeric columns of a (pandas or dask) DataFrame, if any."""
    bad = _non_numeric_frame_columns(df)
    if bad:
        shown = ", ".join(repr(c) for c in bad[:5])
        more = f" (and {len(bad) - 5} more)" if len(bad) > 5 else ""
        raise ValueError(
            f"{name} has non-numeric column(s) {shown}{more}; select numeric columns "
            "(e.g. df.select_dtypes('number')) or encode them as numbers.")


def check_int(value: Any, name: str, minimum: int | None = None, why: str = "") -> int:
    """An integer (a whole float is accepted; a bool or a string is a TypeError, a fraction a
    ValueError), at least ``minimum``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(
            value, (int, np.integer, float, np.floating)):
        raise ArgumentTypeError(
            f"{name} must be an integer; got {value!r} ({type(value).__name__}).")
    if not np.isfinite(value) or value != np.floor(value):
        raise ValueError(f"{name} must be an integer; got {value!r}.")
    v = int(value)
    if minimum is not None and v < minimum:
        reason = f" ({why})" if why else ""
        raise ValueError(f"{name} must be at least {minimum}{reason}; got {v}.")
    return v


def check_nonnegative(value: Any, name: str) -> float:
    """A finite number >= 0, with a message naming ``name`` otherwise."""
    if isinstance(value, (bool, np.bool_, str, bytes)):
        raise ArgumentTypeError(f"{name} must be a number >= 0 or None; got {value!r} "
                        f"({type(value).__name__}).")
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number >= 0 or None; got {value!r}.") from None
    if not (np.isfinite(v) and v >= 0):
        raise ValueError(f"{name} must be a finite number >= 0 or None; got {value!r}.")
    return v


def constant_columns_error(name: str, const: np.ndarray, columns: Any, p: int) -> ValueError:
    """The error for constant columns (positions ``const``), named when labels are known."""
    names = ([str(columns[i]) for i in const] if columns is not None
             else [f"column {i}" for i in const])
    return SingularCovarianceError(
        f"{name} has constant column(s) {', '.join(names[:5])}: their variance is zero, so "
        "the covariance is singular. Drop them (they carry no information for a distance).",
        rank=p - len(const), min_eigenvalue=0.0)


def _to_float_array(X: Any, name: str) -> np.ndarray:
    if is_dataframe(X):
        check_numeric_frame(X, name)
        return X.to_numpy(dtype=float, na_value=np.nan)
    if _is_series(X):
        X = X.to_numpy()
    if _array_api.is_foreign(X):
        raise _array_api.unsupported(X, name)
    try:
        arr = np.asarray(X)
    except ValueError as exc:  # ragged nested lists
        raise ValueError(f"{name} could not be read as an array ({exc}); "
                         "pass a rectangular array-like of numbers.") from None
    if arr.dtype.kind in "biuf":
        return arr.astype(float, copy=False)
    if arr.dtype.kind == "c":
        raise ValueError(f"{name} has complex values; Mahalanobis distances need real data.")
    try:
        return arr.astype(float)
    except (TypeError, ValueError):
        flat = arr.reshape(-1)
        for pos, v in enumerate(flat):
            try:
                float(v)
            except (TypeError, ValueError):
                where = np.unravel_index(pos, arr.shape) if arr.ndim else ()
                raise ValueError(
                    f"{name} has a non-numeric value {str(v)!r} at position "
                    f"{tuple(map(int, where))}; pass numbers only (convert or drop text "
                    "columns).") from None
        raise


def _unnamed_columns(cols: list[Any]) -> bool:
    """Columns labelled 0, 1, ..., p-1 (a frame built from an array): not names."""
    return all(isinstance(c, (int, np.integer)) and not isinstance(c, (bool, np.bool_))
               and int(c) == i for i, c in enumerate(cols))


def match_columns(X: Any, feature_names: Any, name: str = "X") -> Any:
    """A DataFrame's columns reordered to ``feature_names`` (matched by name, as strings).

    Labels are matched, never guessed: a frame with the fitted names in any order is reordered;
    a frame lacking some of them, or holding others, is a ValueError naming them. A frame whose
    columns are the default 0..p-1 (built from an array) is positional, like an array.
    """
    names = [str(c) for c in feature_names]
    cols = list(X.columns)
    by_str: dict[str, Any] = {}
    for c in cols:
        by_str.setdefault(str(c), c)
    if [str(c) for c in cols] == names:
        return X
    if _unnamed_columns(cols) and not set(names) <= set(by_str):
        return X
    missing = [c for c in names if c not in by_str]
    extra = [str(c) for c in cols if str(c) not in set(names)]
    if missing or extra or len(by_str) != len(cols):
        parts = []
        if missing:
            parts.append(f"lacks column(s) {missing[:5]}")
        if extra:
            parts.append(f"has column(s) {extra[:5]} not seen in fitting")
        if len(by_str) != len(cols):
            parts.append("has duplicate column names")
        shown = f"{names}" if len(names) <= 8 else f"{names[:8]} (and {len(names) - 8} more)"
        raise ValueError(
            f"{name} {' and '.join(parts)}; columns are matched by name, so pass a DataFrame "
            f"with exactly the fitted columns {shown} (in any order), or a plain array to "
            "match by position.")
    return X[[by_str[c] for c in names]]


def as_data(X: Any, name: str = "X", *, nan_policy: str = "raise", min_samples: int = 1,
            n_features: int | None = None, feature_names: Any = None,
            check_finite: bool = True) -> Data:
    """Check a 2-D data matrix (n_samples, n_features) and keep its labels.

    Parameters
    ----------
    nan_policy : {"raise", "omit", "propagate"}
        What to do with rows holding NaN or infinity: raise an error naming them, drop them
        (``Data.kept`` says which were kept), or keep them (their results become NaN).
    min_samples : int
        Fewer rows than this (after dropping) is an error.
    n_features : int, optional
        Required number of columns.
    feature_names : sequence, optional
        Column names the data must have (when ``X`` is a DataFrame); columns are reordered to
        match.
    check_finite : bool
        False skips the NaN/inf scan; the caller then applies ``nan_policy`` to the rows whose
        results came out non-finite (:func:`apply_nan_policy`), which saves a pass over the data
        and the n x p boolean temporary of a full scan.
    """
    check_nan_policy(nan_policy)
    index = columns = None
    if is_dataframe(X):
        if feature_names is not None:
            X = match_columns(X, feature_names, name)
        index, columns = X.index, X.columns
    arr = _to_float_array(X, name)
    n, _ = _check_matrix_shape(arr.shape, name, n_features)
    kept = None
    if check_finite:
        finite_rows = _finite_rows(arr)
        if not finite_rows.all():
            arr, index, kept = apply_nan_policy(arr, index, finite_rows, nan_policy, name)
    _check_min_samples(arr.shape[0], min_samples, name, kept is not None)
    return Data(values=arr, index=index, columns=columns, kept=kept, n_input=n)


def _check_matrix_shape(shape: tuple[int, ...], name: str,
                        n_features: int | None) -> tuple[int, int]:
    """(n, p) of a data matrix's shape, or the error for a wrong number of dimensions or
    columns."""
    if len(shape) != 2:
        if len(shape) == 1:
            raise ValueError(
                f"{name} must be 2-D (n_samples, n_features); got a 1-D array of length "
                f"{shape[0]}. Use {name}.reshape(-1, 1) for a single feature or "
                f"{name}.reshape(1, -1) for a single sample.")
        raise ValueError(f"{name} must be 2-D (n_samples, n_features); got {len(shape)} "
                         f"dimensions with shape {tuple(shape)}.")
    n, p = int(shape[0]), int(shape[1])
    if p == 0:
        raise ValueError(f"{name} has no columns; pass at least one feature.")
    if n_features is not None and p != n_features:
        raise ValueError(f"{name} has {p} columns but {n_features} were expected (the "
                         "dimension of the centre and scatter); pass data with matching columns.")
    return n, p


def _check_min_samples(n_rows: int, min_samples: int, name: str, dropped: bool) -> None:
    if n_rows < max(min_samples, 1):
        what = "after dropping rows with NaN" if dropped else ""
        if n_rows == 0:
            raise ValueError(f"{name} is empty {what}".rstrip() + "; pass at least "
                             f"{max(min_samples, 1)} row(s) of data.")
        raise ValueError(f"{name} has {n_rows} row(s) {what}".rstrip()
                         + f"; at least {min_samples} are needed.")


def _finite_rows(arr: np.ndarray) -> np.ndarray:
    """Boolean mask of rows with only finite values, scanned in chunks (bounded memory)."""
    n, p = arr.shape
    out = np.empty(n, dtype=bool)
    rows = max(1, (1 << 20) // max(p, 1))
    for s in range(0, n, rows):
        np.all(np.isfinite(arr[s:s + rows]), axis=1, out=out[s:s + rows])
    return out


def apply_nan_policy(arr: np.ndarray, index: Any, finite_rows: np.ndarray, nan_policy: str,
                     name: str) -> tuple[np.ndarray, Any, np.ndarray | None]:
    """Raise for, drop or keep the rows that are not all finite; returns (arr, index, kept)."""
    bad_rows = np.flatnonzero(~finite_rows)
    if bad_rows.size == 0 or nan_policy == "propagate":
        return arr, index, None
    labels = list(index[bad_rows[:5]]) if index is not None else bad_rows[:5].tolist()
    more = f" and {bad_rows.size - 5} more" if bad_rows.size > 5 else ""
    if nan_policy == "raise":
        raise ValueError(
            f"{name} has NaN or infinite values in {bad_rows.size} row(s) (rows {labels}"
            f"{more}); pass nan_policy='omit' to drop those rows, or impute them first.")
    arr = arr[finite_rows]
    if index is not None:
        index = index[finite_rows]
    return arr, index, finite_rows


def as_vector(v: Any, name: str, length: int | None = None) -> np.ndarray:
    """A finite 1-D float vector, optionally of a given length."""
    if _is_series(v):
        v = v.to_numpy()
    arr = _to_float_array(v, name)
    if arr.ndim == 2 and 1 in arr.shape:
        raise ValueError(f"{name} must be 1-D; got shape {arr.shape}. Pass {name}.ravel() "
                         "if it is a single point.")
    if arr.ndim != 1:
        raise ValueError(f"{name} must be a 1-D vector; got shape {arr.shape}.")
    if length is not None and arr.shape[0] != length:
        raise ValueError(f"{name} has length {arr.shape[0]} but {length} was expected (the "
                         "number of features); pass a vector with one value per feature.")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} has NaN or infinite values; pass finite numbers.")
    return arr


def as_square_matrix(S: Any, name: str, n_features: int | None = None, *,
                     symmetric: bool = True, sym_rtol: float = 1e-8) -> np.ndarray:
    """A finite, square (and, by default, symmetric) float matrix.

    Asymmetry below ``sym_rtol`` relative to the largest entry is rounding and is removed by
    averaging with the transpose; larger asymmetry is an error.
    """
    if is_dataframe(S):
        S = S.to_numpy(dtype=float)
    arr = _to_float_array(S, name)
    if arr.ndim == 0:
        raise ValueError(f"{name} must be a square 2-D matrix; got a scalar. For one feature "
                         f"pass [[value]].")
    if arr.ndim != 2 or arr.shape[0] != arr.shape[1]:
        raise ValueError(f"{name} must be a square 2-D matrix; got shape {arr.shape}.")
    p = arr.shape[0]
    if p == 0:
        raise ValueError(f"{name} is empty; pass a p x p matrix with p >= 1.")
    if n_features is not None and p != n_features:
        raise ValueError(f"{name} is {p} x {p} but the data have {n_features} features; pass a "
                         f"{n_features} x {n_features} matrix.")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} has NaN or infinite entries; pass a finite matrix.")
    if symmetric:
        scale = np.max(np.abs(arr)) if arr.size else 0.0
        asym = np.max(np.abs(arr - arr.T)) if p > 1 else 0.0
        if asym > sym_rtol * scale:
            raise ValueError(
                f"{name} is not symmetric (max |{name} - {name}.T| = {asym:.3g}, largest entry "
                f"{scale:.3g}); pass a symmetric matrix, e.g. ({name} + {name}.T) / 2 if the "
                "asymmetry is rounding.")
        if asym > 0:
            arr = (arr + arr.T) / 2.0
    return arr


def check_sample_covariance(data: Data, name: str = "X",
                            constant: np.ndarray | None = None) -> None:
    """Errors for data whose sample covariance must be singular: n <= p, constant columns
    (``constant``: their mask when the caller already knows it, e.g. from
    ``_linalg.moments``; else found here)."""
    n, p = data.values.shape
    if n <= p:
        raise SingularCovarianceError(
            f"{name} has {n} rows for {p} features: a sample covariance needs more rows than "
            "features (n_samples > n_features). Use method='ledoit_wolf', 'oas', 'mrcd' or "
            "'modified_cholesky', or select fewer columns.", rank=min(n - 1, p))
    if constant is not None:
        const = np.flatnonzero(constant)
    elif _array_api.is_foreign(data.values):  # p booleans come to the host
        xp = _array_api.namespace(data.values)
        const = np.flatnonzero(_array_api.to_numpy(
            xp.max(data.values, axis=0) == xp.min(data.values, axis=0)))
    else:
        const = np.flatnonzero(np.ptp(data.values, axis=0) == 0)
    if const.size:
        raise constant_columns_error(name, const, data.columns, p)


#: Column spreads beyond these limits give variances float64 cannot hold (their squares pass
#: 1e300, or fall below 1e-300, near the limits of normal doubles, 1.8e308 and 2.2e-308).
SPREAD_MAX = 1e150
SPREAD_MIN = 1e-150


def check_spread(data: Data | np.ndarray, name: str = "X", columns: Any = None) -> None:
    """A ValueError for columns whose spread (max - min) is beyond float64's reach for a
    covariance: above :data:`SPREAD_MAX` (the variance would overflow) or, when not zero,
    below :data:`SPREAD_MIN` (it would underflow). Distances do not depend on the units of a
    column, so the advice is to rescale it. Non-finite values are skipped (their rows are the
    NaN policy's business)."""
    A = data.values if isinstance(data, Data) else data
    if columns is None and isinstance(data, Data):
        columns = data.columns
    if _array_api.is_foreign(A) or A.ndim != 2 or A.shape[0] < 2:
        return
    with np.errstate(invalid="ignore", over="ignore"):
        lo, hi = np.min(A, axis=0), np.max(A, axis=0)  # fits' data are finite: two passes
        if not (np.isfinite(lo).all() and np.isfinite(hi).all()):
            fin = np.where(np.isfinite(A), A, np.nan)
            lo, hi = np.nanmin(fin, axis=0), np.nanmax(fin, axis=0)
        spread = hi - lo
    big = np.flatnonzero(~(spread <= SPREAD_MAX) & np.isfinite(lo))
    small = np.flatnonzero((spread > 0) & (spread < SPREAD_MIN))
    for cols, what, why in ((big, "above", "overflow"), (small, "below", "underflow")):
        if cols.size:
            names = ([repr(str(columns[j])) for j in cols[:5]] if columns is not None
                     else [f"column {j}" for j in cols[:5]])
            limit = SPREAD_MAX if what == "above" else SPREAD_MIN
            raise ValueError(
                f"{name} has column(s) {', '.join(names)} whose values spread over "
                f"{float(spread[cols[0]]):.3g}, {what} {limit:g}: their variance (the "
                f"spread squared) would {why} float64, whose normal numbers run from 2.2e-308 "
                "to 1.8e308, so no covariance of these data can be stored. Column spreads "
                f"from {SPREAD_MIN:g} to {SPREAD_MAX:g} work. Rescale those columns (other "
                "units, or divide by a power of ten): distances, p-values and outlier flags "
                "do not change under rescaling.")


# --------------------------------------------------------------------------- Array API input
def as_xp_data(X: Any, name: str = "X", *, nan_policy: str = "raise", min_samples: int = 1,
               n_features: int | None = None, dtype: str | None = None,
               check_finite: bool = True) -> Data:
    """:func:`as_data` for an array of another library (PyTorch, JAX, CuPy, ...).

    ``values`` stays in the array's namespace and on its device, cast to the floating dtype of
    :func:`mahalanobis._array_api.result_dtype` (float32 input stays float32 unless
    ``dtype="float64"``). The NaN scan is one reduction on the device; only when a row is not
    finite does the row mask come to the host (to name the rows or record ``kept``).
    """
    check_nan_policy(nan_policy)
    xp = _array_api.namespace(X)
    n, _ = _check_matrix_shape(tuple(X.shape), name, n_features)
    dt = _array_api.result_dtype(xp, X, dtype)
    if X.dtype != dt:
        X = xp.astype(X, dt)
    kept = None
    if check_finite and n:
        finite = _array_api.rows_finite(xp, X)
        if not bool(xp.all(finite)):
            _, _, kept = apply_nan_policy(np.empty((n, 0)), None, _array_api.to_numpy(finite),
                                          nan_policy, name)
            if kept is not None:
                X = X[xp.asarray(kept, device=_array_api.device_of(X))]
    _check_min_samples(int(X.shape[0]), min_samples, name, kept is not None)
    return Data(values=X, kept=kept, n_input=n)


def as_xp_vector(v: Any, name: str, xp: Any, device: Any, dtype: Any,
                 length: int | None = None) -> Any:
    """:func:`as_vector` for Array API input: a finite 1-D vector in namespace ``xp`` on
    ``device`` (NumPy vectors and lists are moved there; they are p numbers)."""
    if not _array_api.is_foreign(v):
        v = as_vector(v, name, length)
    arr = _array_api.to_namespace(v, xp, device, dtype)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be a 1-D vector; got shape {tuple(arr.shape)}.")
    if length is not None and arr.shape[0] != length:
        raise ValueError(f"{name} has length {arr.shape[0]} but {length} was expected (the "
                         "number of features); pass a vector with one value per feature.")
    if not bool(xp.all(xp.isfinite(arr))):
        raise ValueError(f"{name} has NaN or infinite values; pass finite numbers.")
    return arr


def as_xp_square_matrix(S: Any, name: str, xp: Any, device: Any, dtype: Any,
                        n_features: int | None = None, *, symmetric: bool = True,
                        sym_rtol: float = 1e-8) -> Any:
    """:func:`as_square_matrix` for Array API input, in namespace ``xp`` on ``device``: the
    same checks (shape, finite, symmetric up to ``sym_rtol``, then symmetrised), each a
    reduction on the device with one scalar read back."""
    if not _array_api.is_foreign(S):
        S = as_square_matrix(S, name, n_features, symmetric=symmetric, sym_rtol=sym_rtol)
    arr = _array_api.to_namespace(S, xp, device, dtype)
    shape = tuple(arr.shape)
    if len(shape) != 2 or shape[0] != shape[1] or shape[0] == 0:
        raise ValueError(f"{name} must be a square 2-D matrix; got shape {shape}.")
    p = shape[0]
    if n_features is not None and p != n_features:
        raise ValueError(f"{name} is {p} x {p} but the data have {n_features} features; pass a "
                         f"{n_features} x {n_features} matrix.")
    if not bool(xp.all(xp.isfinite(arr))):
        raise ValueError(f"{name} has NaN or infinite entries; pass a finite matrix.")
    if symmetric and p > 1:
        scale = float(xp.max(xp.abs(arr)))
        asym = float(xp.max(xp.abs(arr - arr.T)))
        if asym > sym_rtol * scale:
            raise ValueError(
                f"{name} is not symmetric (max |{name} - {name}.T| = {asym:.3g}, largest entry "
                f"{scale:.3g}); pass a symmetric matrix, e.g. ({name} + {name}.T) / 2 if the "
                "asymmetry is rounding.")
        arr = (arr + arr.T) / 2.0
    return arr


def call_with_options(estimator: Any, X: Any, options: dict[str, Any], method: str,
                      hint: str = "") -> Any:
    """``estimator(X, **options)``, with an unknown option reported as a ValueError naming the
    method (``hint`` is appended to the message) instead of Python's TypeError."""
    try:
        return estimator(X, **options)
    except TypeError as exc:
        if "unexpected keyword argument" in str(exc):
            raise ValueError(f"method={method!r} does not take that option ({exc}){hint}."
                             ) from None
        raise


def wrap_like(values: np.ndarray, data: Data, name: str) -> Any:
    """A pandas Series with the input's index when the input was a DataFrame, else the array."""
    if data.index is None:
        return values
    import pandas as pd
    return pd.Series(values, index=data.index, name=name)
