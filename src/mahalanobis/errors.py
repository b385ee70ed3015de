"""Exceptions and warnings raised by :mod:`mahalanobis`.

Every error is a :class:`ValueError` subclass, so ``except ValueError`` keeps working, and every
message names the argument at fault and says what to do about it. The vocabulary:

* a wrong *type* (``squared="no"``, ``alpha=True``, ``n_starts="10"``, ``method=3``) is an
  :class:`ArgumentTypeError`: a :class:`TypeError` that is also a :class:`ValueError`;
* a wrong *value* of the right type (``alpha=2.0``, ``n_starts=-1``, ``ddof=1.5``,
  ``method="mdc"``) is a plain :class:`ValueError`;
* data the computation cannot use (singular, on a hyperplane) is a
  :class:`SingularCovarianceError` or :class:`ExactFitError`.

This module imports nothing from the package: the numerics core and the input validation both
raise these types.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "ArgumentTypeError",
    "CholeskyDowndateWarning",
    "ExactFitError",
    "IllConditionedWarning",
    "SingularCovarianceError",
]


class ArgumentTypeError(TypeError, ValueError):
    """An argument of the wrong type (``squared="no"``, ``alpha=True``, ``random_state=1.5``).

    A :class:`TypeError`, and also a :class:`ValueError`, so that code catching the library's
    ValueError for bad input keeps catching it. The message names the argument, the type it
    got and what to pass instead.

    See Also
    --------
    SingularCovarianceError : The data, not an argument, are at fault.

    Examples
    --------
    >>> import numpy as np
    >>> import mahalanobis as mh
    >>> X = np.random.default_rng(0).standard_normal((20, 2))
    >>> try:
    ...     mh.fit(X, method="mcd", support_fraction="0.75")
    ... except mh.ArgumentTypeError as err:
    ...     print(isinstance(err, TypeError), isinstance(err, ValueError))
    True True
    """


class SingularCovarianceError(ValueError):
    """A scatter matrix is singular or not positive definite.

    Parameters
    ----------
    message : str
        What is singular and what to do about it.
    rank : int, optional
        Numerical rank of the matrix, when it was computed.
    min_eigenvalue : float, optional
        Smallest eigenvalue of the matrix, when it was computed.

    Attributes
    ----------
    rank : int or None
        Numerical rank of the matrix, when it was computed.
    min_eigenvalue : float or None
        Smallest eigenvalue of the matrix, when it was computed.

    See Also
    --------
    ExactFitError : The robust estimators' singular case, with the hyperplane.
    IllConditionedWarning : Nonsingular but close to it.

    Examples
    --------
    >>> import mahalanobis as mh
    >>> try:
    ...     mh.Metric([0.0, 0.0], [[1.0, 1.0], [1.0, 1.0]])
    ... except mh.SingularCovarianceError as err:
    ...     print(err.rank, err.min_eigenvalue)
    1 0.0
    """

    def __init__(self, message: str, *, rank: int | None = None,
                 min_eigenvalue: float | None = None) -> None:
        super().__init__(message)
        self.rank = rank
        self.min_eigenvalue = min_eigenvalue


class ExactFitError(SingularCovarianceError):
    """At least h observations lie exactly on a hyperplane (robust estimators).

    Parameters
    ----------
    message : str
        The explanation (how many rows, which hyperplane, what to do).
    hyperplane : ndarray of shape (n_features,)
        Unit normal vector of the hyperplane.
    offset : float
        Its constant.
    on_hyperplane : ndarray of bool, shape (n_samples,)
        Which observations lie on it.
    rank : int, optional
        Numerical rank of the scatter of those observations.

    Attributes
    ----------
    hyperplane : ndarray of shape (n_features,)
        Unit normal vector ``a`` of the hyperplane ``a @ x = b`` holding the points.
    offset : float
        The constant ``b`` of the hyperplane.
    on_hyperplane : ndarray of bool, shape (n_samples,)
        Which observations lie on it.

    See Also
    --------
    SingularCovarianceError : Its base class.
    mahalanobis.covariance.mrcd : A regularised robust estimator that never fails this way.

    Examples
    --------
    >>> import numpy as np
    >>> import mahalanobis as mh
    >>> X = np.column_stack([np.arange(20.0), 2 * np.arange(20.0)])
    >>> X[:3] += [[0, 5], [1, -3], [2, 7]]   # 17 of 20 rows on the line y = 2x
    >>> try:
    ...     mh.fit(X, method="mcd", random_state=0)
    ... except mh.ExactFitError as err:
    ...     print(err.on_hyperplane.sum(), abs(err.hyperplane @ [1.0, 2.0]) < 1e-12)
    17 True
    """

    def __init__(self, message: str, *, hyperplane: np.ndarray, offset: float,
                 on_hyperplane: np.ndarray, rank: int | None = None) -> None:
        super().__init__(message, rank=rank, min_eigenvalue=0.0)
        self.hyperplane = hyperplane
        self.offset = offset
        self.on_hyperplane = on_hyperplane


class IllConditionedWarning(RuntimeWarning):
    """A scatter matrix is so ill-conditioned that distances lose accuracy.

    Issued when the condition number of the *correlation* form of the matrix exceeds 1e10.
    Badly scaled columns alone (metres next to millimetres) do not trigger it: the Mahalanobis
    distance is invariant to column scaling and the Cholesky factorisation is too, so only
    near-collinearity costs accuracy.

    See Also
    --------
    SingularCovarianceError : Raised when the matrix is not positive definite at all.
    mahalanobis.Metric.condition_number : The exact condition number of a metric's scatter.

    Examples
    --------
    >>> import warnings
    >>> import mahalanobis as mh
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     m = mh.Metric([0.0, 0.0], [[1.0, 1 - 1e-12], [1 - 1e-12, 1.0]])
    >>> [w.category.__name__ for w in caught]
    ['IllConditionedWarning']
    """


class CholeskyDowndateWarning(RuntimeWarning):
    """A Cholesky downdate failed (the downdated matrix is not numerically positive definite);
    the factor was recomputed from the co-moment matrix instead (:class:`OnlineMetric`).

    The result stays right; the warning says that the removal cost a full refactorisation.

    See Also
    --------
    mahalanobis.OnlineMetric.remove : The downdate that can issue it.

    Examples
    --------
    >>> import warnings
    >>> import mahalanobis as mh
    >>> issubclass(mh.CholeskyDowndateWarning, RuntimeWarning)
    True
    >>> with warnings.catch_warnings():   # silence it for a block
    ...     warnings.simplefilter("ignore", mh.CholeskyDowndateWarning)
    """
