"""Monte Carlo calibration of D^2 cutoffs, computed once and cached on disk.

Some robust estimators have no known finite-sample law for their distances. For them the
cutoff is calibrated by simulation, as in Chenouri, Steiner & Variyath (2009) for robust
control charts: draw clean data sets of the size in hand from N(0, I_p), apply the same
procedure, and take quantiles of the pooled squared distances (per-row level) and of each
data set's largest one (family-wise level); :func:`new_point_law` does the same for the
distance of a new point to the fit (the prediction law). Seeded, and cached as small
``.npz`` files under :func:`cache_dir`. The implementation lives in the core layer
(``mahalanobis._calibration``) so that fitted estimators can use it; this is its public home.
"""

from __future__ import annotations

from .._calibration import (
    CACHE_ENV,
    SimulatedReference,
    cache_dir,
    new_point_law,
    simulate_reference,
)

__all__ = ["CACHE_ENV", "SimulatedReference", "cache_dir", "new_point_law",
           "simulate_reference"]
