"""Shared test set-up."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True, scope="session")
def _calibration_cache(tmp_path_factory):
    """Monte Carlo calibrations (mh.outliers, robust charts) go to a temporary cache shared by
    the session, never to the user's ~/.cache/mahalanobis."""
    mp = pytest.MonkeyPatch()
    mp.setenv("MAHALANOBIS_CACHE_DIR", str(tmp_path_factory.mktemp("calibration-cache")))
    yield
    mp.undo()
