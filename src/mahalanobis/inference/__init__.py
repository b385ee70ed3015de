"""Inference built on Mahalanobis distances: cutoffs and p-values for D^2 (chi-squared, Beta,
F, Hardin-Rocke, Cerioli), Hotelling's T^2 tests, group distances, leverage, confidence
ellipsoids and bootstrap cutoffs."""

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
from .group import GroupDistance, group_distance
from .hotelling import HotellingResult, SimultaneousIntervals, hotelling_t2
from .leverage import leverage

__all__ = [
    "BootstrapCutoff",
    "CerioliCutoffs",
    "ConfidenceInterval",
    "Ellipsoid",
    "GroupDistance",
    "HardinRocke",
    "HotellingResult",
    "SimultaneousIntervals",
    "bootstrap_cutoff",
    "cerioli_cutoffs",
    "cutoff",
    "group_distance",
    "hardin_rocke",
    "hotelling_t2",
    "leverage",
    "pvalue",
]
