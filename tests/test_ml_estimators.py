"""The scikit-learn estimator contract for every estimator of mahalanobis.ml."""

from __future__ import annotations

import pytest

pytest.importorskip("sklearn")

from sklearn.utils.estimator_checks import parametrize_with_checks

import mahalanobis as mh
from mahalanobis.ml import (
    MahalanobisClassifier,
    MahalanobisKernel,
    MahalanobisKMeans,
    MahalanobisOOD,
    MahalanobisOutlierDetector,
    MahalanobisWhitener,
    MTSSelector,
)

_HAVE = set(mh.available_methods())

ESTIMATORS = [
    # contamination= needs nothing beyond the scatter; the calibrated cutoffs are checked in
    # test_ml_outlier.py (they need mahalanobis.inference).
    MahalanobisOutlierDetector(method="empirical", contamination=0.1),
    MahalanobisWhitener(),
    MahalanobisWhitener(kind="zca"),
    MahalanobisWhitener(kind="pca"),
    MahalanobisClassifier(),
    MahalanobisClassifier(covariance="per_class"),
    MahalanobisOOD(),
    MahalanobisOOD(normalize=False, relative=True),
    MahalanobisKMeans(n_clusters=3, n_init=2, random_state=0),
    MahalanobisKMeans(n_clusters=3, covariance="shared", n_init=2, random_state=0),
    MahalanobisKernel(),
    MTSSelector(),
]
if "mcd" in _HAVE:
    ESTIMATORS.append(MahalanobisOutlierDetector(method="mcd", contamination=0.1,
                                                 random_state=0))
if "ledoit_wolf" in _HAVE:
    ESTIMATORS.append(MahalanobisClassifier(covariance="per_class", method="ledoit_wolf"))
    ESTIMATORS.append(MahalanobisWhitener(method="ledoit_wolf"))

@parametrize_with_checks(ESTIMATORS)
def test_sklearn_contract(estimator, check):
    check(estimator)
