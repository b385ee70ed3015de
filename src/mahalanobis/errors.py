"""Exceptions and warnings raised by :mod:`mahalanobis`.

Every error is a :class:`ValueError` subclass, so ``except ValueError`` keeps working, and every
message names the argument at fault and says what to do about it.

This module imports nothing from the package: the numerics core and the input validation both
raise these types.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "CholeskyDowndateWarning",
    "ExactFitError",
    "IllConditionedWarning",
    "SingularCovarianceError",
]


class SingularCovarianceError(ValueError):
    """A scatter matrix is singular or not positive definite.

    Attributes
    ----------
    rank : int or None
        Numerical rank of the matrix, when it was computed.
    min_eigenvalue : float or None
        Smallest eigenvalue of the matrix, when it was computed.
    """

    def __init__(self, message: str, *, rank: int | None = None,
                 min_eigenvalue: float | None = None) -> None:
        super().__init__(message)
        self.rank = rank
        self.min_eigenvalue = min_eigenvalue


class ExactFitError(SingularCovarianceError):
    """At least h observations lie exactly on a hyperplane (robust estimators).

    Attributes
    ----------
    hyperplane : ndarray of shape (n_features,)
        Unit normal vector ``a`` of the hyperplane ``a @ x = b`` holding the points.
    offset : float
        The constant ``b`` of the hyperplane.
    on_hyperplane : ndarray of bool, shape (n_samples,)
        Which observations lie on it.
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
    """


class CholeskyDowndateWarning(RuntimeWarning):
    """A Cholesky downdate failed (the downdated matrix is not numerically positive definite);
    the factor was recomputed from the co-moment matrix instead (:class:`OnlineMetric`)."""
