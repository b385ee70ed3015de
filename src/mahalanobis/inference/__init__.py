"""Inference built on Mahalanobis distances: cutoffs and p-values for D^2 (chi-squared, Beta,
F, Hardin-Rocke, Cerioli), Hotelling's T^2 tests (classical and robust), distances among
groups, leverage, confidence ellipsoids, bootstrap cutoffs and ``outliers()``, the main job
in one call (calibrated flags)."""

from ..ellipsoid import Ellipsoid
from .bootstrap import BootstrapCutoff, ConfidenceInterval, bootstrap_cutoff
from .cutoffs import (
    CerioliCutoffs,
    HardinRocke,
    cerioli_cutoffs,
    cutoff,
    hardin_rocke,
    pvalue,
)
from .group import GroupDistance, GroupDistances, adjust_pvalues, group_distance, group_distances
from .hotelling import HotellingResult, SimultaneousIntervals, hotelling_t2
from .leverage import leverage
from .outliers import OutlierResult, outliers, rmcd

__all__ = [
    "BootstrapCutoff",
    "CerioliCutoffs",
    "ConfidenceInterval",
    "Ellipsoid",
    "GroupDistance",
    "GroupDistances",
    "HardinRocke",
    "HotellingResult",
    "OutlierResult",
    "SimultaneousIntervals",
    "adjust_pvalues",
    "bootstrap_cutoff",
    "cerioli_cutoffs",
    "cutoff",
    "group_distance",
    "group_distances",
    "hardin_rocke",
    "hotelling_t2",
    "leverage",
    "outliers",
    "pvalue",
    "rmcd",
]
